/*
 * taskfile: the task-file model, with no I/O.
 *
 * A task file is a byte buffer split into lines.  Each line is classified
 * (blank, comment, header, registration, orphan report, pending task, init
 * line, running, done, failed) from its own bytes alone, so any line can be
 * looked at without the others.  Tags are read only from the shell comment
 * of the task text: the part from the first '#' that starts a shell word,
 * outside quotes and escapes.  Annotations follow the task text, each
 *
 *	" # worker W # (MM-DD HH:MM:SS ..."		running
 *	" # worker W # (MM-DD HH:MM:SS ... MM-DD HH:MM:SS) #STATUS"
 *
 * and the task text is everything before the first " # worker ".  These are
 * the bytes the original runtask.sh writes, so both tools read each other's
 * files.  Line endings (LF, CRLF, none on the last line) are kept as they are.
 */
#ifndef RTQ_TASKFILE_H
#define RTQ_TASKFILE_H

#include <stddef.h>

#include "buf.h"

#define TF_TIMELEN	14	/* "MM-DD HH:MM:SS" */
#define TF_MAXID	999999999L

enum tf_kind {
	TF_BLANK,
	TF_COMMENT,
	TF_HEADER,		/* "#LASTWORKER N" on line 1 */
	TF_REGISTRATION,	/* "# worker W: NAME (time)" */
	TF_ORPHAN,		/* "#?line:N# ..." */
	TF_INIT,		/* carries the #! tag */
	TF_PENDING,
	TF_RUNNING,
	TF_DONE,
	TF_FAILED,		/* ended not ok, uncommented: to be retried */
	TF_GIVENUP,		/* ended not ok, commented: failed for good
				   (no attempt left), or killed */
	TF_PAUSE		/* "#PAUSED ...": nothing below is claimed */
};

/* A buffer split into lines: line i is buf[off[i] .. off[i+1]). */
struct tf_file {
	const char	*buf;
	size_t		 size;
	size_t		*off;		/* nline + 1 entries */
	size_t		 cap;		/* room in off */
	size_t		 nline;
	const char	*eol;		/* "\n" or "\r\n": for lines we add */
};

/* One line, looked at. Pointers point into the line's bytes. */
struct tf_item {
	enum tf_kind	 kind;
	const char	*text;		/* task text (no leading '#'), or line */
	size_t		 textlen;
	const char	*ann;		/* first " # worker " annotation, or NULL */
	size_t		 annlen;
	const char	*tags;		/* shell comment of the text, or NULL */
	size_t		 tagslen;
	long		 worker;	/* worker of the last annotation, or -1 */
	int		 open;		/* last annotation has no end yet */
	const char	*status;	/* status of the last annotation */
	size_t		 statuslen;
	long		 id;		/* header: N; registration: W */
};

enum tf_tagkind {
	TF_TAG_INIT,		/* #! */
	TF_TAG_WORKER,		/* #@i */
	TF_TAG_SEQ,		/* #:name */
	TF_TAG_PAR		/* #+name */
};

struct tf_tag {
	enum tf_tagkind	 kind;
	long		 id;
	const char	*name;
	size_t		 namelen;
};

/* One annotation of a task line. */
struct tf_ann {
	long		 worker;
	int		 open;		/* no end time: running */
	const char	*status;	/* "ok", "error1", ...; NULL when open */
	size_t		 statuslen;
	const char	*start;		/* "MM-DD HH:MM:SS", or NULL */
	const char	*end;		/* the same, when ended, or NULL */
};

/*
 * Split buf into lines.  The file keeps pointers into buf, which must
 * outlive it.  Returns 0, or -1 with a message in err (NUL bytes, out of
 * memory).
 */
int	 tf_split(struct tf_file *, const char *buf, size_t size,
	    char *err, size_t errlen);
void	 tf_free(struct tf_file *);

/* Bytes of line i without its line ending. */
size_t	 tf_linelen(const struct tf_file *, size_t i);

/*
 * Classify one line (its bytes without the line ending).  lineno is 1-based
 * and only decides whether a "#LASTWORKER" line is the header.  Returns 0, or
 * -1 with a message in err when the line's tags are malformed.
 */
int	 tf_classify(const char *s, size_t len, size_t lineno,
	    struct tf_item *, char *err, size_t errlen);

/*
 * Find the shell comment in s: the first '#' that starts a word outside
 * quotes and escapes.  Returns a pointer to it, or NULL.
 */
const char *tf_comment(const char *s, size_t len);

/*
 * Iterate over the tags of a comment: *p starts at the comment and is
 * advanced.  Returns 1 with the tag filled in, 0 at the end, -1 with a
 * message in err on a malformed tag (e.g. "#@x").
 */
int	 tf_tag_next(const char **p, const char *end, struct tf_tag *,
	    char *err, size_t errlen);

/*
 * Iterate over the annotations of a line: *p starts at item.ann and is
 * advanced.  Returns 1 with the annotation filled in, 0 at the end.
 */
int	 tf_ann_next(const char **p, const char *end, struct tf_ann *);

/* Whether status bytes say "ok". */
int	 tf_status_ok(const char *status, size_t len);

/* Whether the item (task or init line) may run on worker w (#@ tags). */
int	 tf_affinity(const struct tf_item *, long w);

/* Whether worker w has an ended, failed annotation on this line. */
int	 tf_tried_by(const struct tf_item *, long w);

/*
 * Text length with trailing white space removed: what annotations follow.
 */
size_t	 tf_rstrip(const char *s, size_t len);

/*
 * Parse a duration: a number of seconds, or a number with a unit s, m, h
 * or d ("90", "90s", "1.5h").  Returns 0 with *secs > 0, or -1.
 */
int	 tf_duration(const char *s, size_t len, double *secs);

/*
 * The per-line timeout of a task: a "#timeout=DURATION" token in its shell
 * comment (runtask.sh ignores it).  Returns 1 with *secs, 0 when there is
 * none, -1 when it is malformed.
 */
int	 tf_timeout(const char *text, size_t len, double *secs);

/*
 * The per-line retry limit: a "#retries=N" token in its shell comment, N
 * from 0 to TF_MAXRETRIES.  Returns 1 with *n, 0 when there is none, -1
 * when it is malformed.
 */
#define TF_MAXRETRIES	1000
int	 tf_retries(const char *text, size_t len, long *n);

/*
 * The failed attempts of a line: its ended annotations whose status is not
 * "ok", "#lost" excepted (the worker went away; the task did not fail).
 */
size_t	 tf_failures(const struct tf_item *);

/* Whether status bytes are exactly word ("killed", "lost", ...). */
int	 tf_status_is(const char *status, size_t len, const char *word);

/* Parse a decimal worker id (0..TF_MAXID). Returns 0 or -1. */
int	 tf_parse_id(const char *s, size_t len, long *);

#endif
