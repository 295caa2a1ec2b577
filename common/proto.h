/*
 * proto: the line-based exchange between rtq and rtq-claim, version 1.
 *
 * A request is a subcommand and its words (on rtq-claim's command line, or
 * one per line in a serve session).  Every reply starts with a head line
 *
 *	RTQ1 work POS FIN N	followed by N item lines "init|task LINE TEXT"
 *	RTQ1 wait POS FIN 0	nothing claimable now; ask again later
 *	RTQ1 none POS FIN 0	nothing this worker could ever run
 *	RTQ1 id W		registered as worker W
 *	RTQ1 ok			done
 *	RTQ1 locked		the lock is held until stdin closes
 *	RTQ1 lost		this worker was declared lost (its lease ran
 *				out); its task went to others
 *	RTQ1 error CODE MESSAGE	failed; CODE is rtq-claim's exit status
 *
 * FIN says what became of the reported item: none, done, repeat (it had
 * been finished already), orphan (its line was gone; an orphan report was
 * appended).  Texts run to the end of their line.  rtq-claim(1) documents
 * this for people.
 */
#ifndef RTQ_PROTO_H
#define RTQ_PROTO_H

#include <stddef.h>

#define PROTO_MAGIC	"RTQ1"
#define PROTO_VERSION	1

enum proto_kind {
	PROTO_WORK, PROTO_WAIT, PROTO_NONE, PROTO_ID, PROTO_OK,
	PROTO_LOCKED, PROTO_ERROR, PROTO_LOST
};

struct proto_head {
	enum proto_kind	 kind;
	size_t		 pos;
	char		 fin[16];
	int		 nitems;
	long		 id;
	int		 code;
	const char	*msg;		/* points into the parsed line */
};

/*
 * Parse a head line (without its newline).  Returns 0, or -1 when it is
 * not a version 1 reply.
 */
int	proto_head(const char *line, struct proto_head *);

/*
 * Parse an item line: sets *init, *lineno and *text (pointing into line).
 * Returns 0 or -1.
 */
int	proto_item(const char *line, int *init, size_t *lineno,
	    const char **text);

/* Parse a status word: a number 0..255, "release" or "lost". */
int	proto_status(const char *s, int *status);
/*
 * The same, and "N,log=PATH" (a failed task's log on the worker, no white
 * space): *log points at PATH, or is NULL.
 */
int	proto_status_log(const char *s, int *status, const char **log);

#endif
