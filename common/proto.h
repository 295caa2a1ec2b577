/*
 * proto: the exchange between rtq and rtq-claim, version 1, defined once.
 *
 * A request is an operation and its words.  It travels in one of two
 * encodings: as rtq-claim's command line ("rtq-claim OP FILE WORDS...",
 * one process per request), or as one line of a serve session ("OP
 * WORDS...\n", the file given once when the session started).  In a line
 * the words are separated by single spaces and the last word the operation
 * takes runs to the end of the line, so a task text or a worker name may
 * hold spaces; no word holds a LF or a NUL, and only a task text may hold
 * a CR (a task line may: it is carried back as it came).  The one request
 * with bytes after its line is log (PROTO_F_BODY): SIZE raw bytes of a
 * task's output follow it, in a session as on standard input.  proto_ops[] is the table
 * of operations: adding one is an entry there, its fields in struct
 * proto_req, and its handler in rtq-claim.
 *
 * Every reply starts with a head line, which may follow lines a login
 * script printed (they are skipped):
 *
 *	RTQ1 work POS FIN N	followed by N item lines "init|task LINE TEXT":
 *				at most one init line, first; more than one
 *				task only to a next with ",b=K" (a batch)
 *	RTQ1 wait POS FIN 0	nothing claimable now; ask again later (a
 *				session opened with HOLD_MS holds this reply
 *				until the file changes, an empty line comes,
 *				or HOLD_MS pass, and answers anew)
 *	RTQ1 none POS FIN 0	nothing this worker could ever run
 *	RTQ1 id W		registered as worker W
 *	RTQ1 ok [WORDS]		done; WORDS: "added N" (add), "kept N" (put),
 *				"SIZE" (cat, logs, logread: SIZE bytes follow;
 *				also in a session),
 *				"rtq-claim VERSION protocol N" (version, and
 *				the answer to a session's hello line),
 *				"tally DONE FAILED KILLED BLOCKED RETRY PENDING
 *				RUNNING PAUSED" (tally: struct proto_tally);
 *				status's report follows a plain "ok"
 *	RTQ1 locked		the lock is held until stdin closes
 *	RTQ1 lost		this worker was declared lost (its lease ran
 *				out); its task went to others
 *	RTQ1 kill LINE		(to a heartbeat) rtq --kill asked to stop the
 *				task on LINE: stop it, report it "killed"
 *	RTQ1 error CODE MESSAGE	failed; CODE is rtq-claim's exit status
 *
 * FIN says what became of the reported item: none, done, repeat (it had
 * been finished already), orphan (its line was gone; an orphan report was
 * appended).  rtq-claim(1) documents all of this for people.
 *
 * Nothing here does I/O: requests and replies are encoded into and decoded
 * from memory, and decoded strings point into the caller's buffer.
 */
#ifndef RTQ_PROTO_H
#define RTQ_PROTO_H

#include <stddef.h>

#include "buf.h"

#define PROTO_MAGIC	"RTQ1"
#define PROTO_VERSION	1
#define PROTO_MAXWORDS	8	/* words of a request after OP and FILE */
#define PROTO_MAXLINES	256	/* lines of one kill request */
#define PROTO_MAXRETRIES 1000	/* ",r=N" of a worker word */
/*
 * A batch: the tasks one next may claim (",b=K" of the worker word), and
 * the items a next or finish may report after its own (",n=R": R item
 * lines follow the request line, in a serve session only).
 */
#define PROTO_MAXBATCH	256
#define PROTO_MAXITEMS	(PROTO_MAXBATCH + 1)	/* of a reply: init, tasks */

/*
 * rtq-claim's exit statuses, and the CODE of an error reply.  Library code
 * on the master (tfio) returns the same codes.
 */
enum proto_code {
	PROTO_EOK = 0,
	PROTO_EIO = 1,		/* could not write or lock: disk full, ... */
	PROTO_EUSAGE = 2,	/* a malformed or unknown request */
	PROTO_EFILE = 3,	/* task file missing, not a file, unreadable */
	PROTO_EDATA = 4,	/* content rtq cannot use */
	PROTO_EBUSY = 5		/* the worker id is another live process's */
};

/* The status of a reported item: 0..255, or one of these. */
#define PROTO_ST_RELEASE (-1)	/* not run: give the task back */
#define PROTO_ST_LOST	(-2)	/* its worker was declared lost */
#define PROTO_ST_KILLED	(-3)	/* stopped by rtq --kill: not retried */
#define PROTO_ST_START	(-4)	/* a queued task of a batch starts now */

enum proto_op {
	PROTO_REGISTER, PROTO_NEXT, PROTO_FINISH, PROTO_RESET, PROTO_ADD,
	PROTO_CAT, PROTO_PUT, PROTO_LOCK, PROTO_STATUS, PROTO_HEARTBEAT,
	PROTO_BYE, PROTO_SERVE, PROTO_VERSION_OP, PROTO_TALLY, PROTO_KILL,
	PROTO_PAUSE, PROTO_RESUME,
	PROTO_LOG, PROTO_LOGS, PROTO_LOGREAD,
	PROTO_NOPS
};

#define PROTO_F_SERVE	0x01	/* may be a request in a serve session */
#define PROTO_F_STDIN	0x02	/* reads its standard input */
#define PROTO_F_NOFILE	0x04	/* takes no FILE */
#define PROTO_F_WORKER	0x08	/* made by a worker: carries its id */
#define PROTO_F_BODY	0x10	/* SIZE bytes follow the request (log) */

struct proto_opdef {
	const char	*name;
	int		 minw, maxw;	/* words after FILE */
	int		 flags;		/* PROTO_F_* */
	const char	*args;		/* for the usage, after "OP FILE" */
};

/* The operations, indexed by enum proto_op. */
extern const struct proto_opdef proto_ops[PROTO_NOPS];

/* A reported item: an init line or a task, and how it ended. */
struct proto_item {
	int		 init;		/* an init line, else a task */
	size_t		 line;		/* 1-based */
	int		 status;	/* 0..255, PROTO_ST_RELEASE, _LOST,
					   _KILLED */
	const char	*log;		/* a failed task's log, or NULL */
	const char	*text;		/* one line: no LF, no NUL */
	/*
	 * Batches: when the task started and ended, in ms before the request
	 * was sent (",s=MS", ",e=MS" after the status); times 0: not sent,
	 * the master's time of the request is taken.
	 */
	int		 times;
	long long	 ago_start, ago_end;
};

struct proto_req {
	enum proto_op	 op;
	long		 worker;	/* register: id wanted, -1 any */
	long long	 seq;		/* next, finish: -1 when not sent */
	size_t		 pos;		/* next */
	int		 has_item;	/* next: an item is reported */
	struct proto_item item;		/* next (has_item), finish */
	const char	*name;		/* register: may be "" */
	long		 lease;		/* heartbeat: seconds, 0 not sent */
	size_t		 from;		/* reset: from this line, 0 all */
	int		 failed;	/* reset: --failed */
	const char	*command;	/* add: NULL reads standard input */
	int		 json, color;	/* status */
	int		 width;		/* status: columns, 0 any */
	int		 all;		/* status: list workers that left */
	long		 hold;		/* serve: ms a "wait" may be held, 0 */
	/* log, logs, logread: a task's output on the master (logs.h) */
	size_t		 log_line;	/* the task's line (logs: 0 running) */
	int		 log_err;	/* the stream: 1 err, 0 log */
	long long	 log_cap;	/* log: the cap of a stream */
	long long	 log_off;	/* log, logread: stream offset */
	long long	 log_size;	/* log: bytes that follow; logread: max */
	int		 log_end;	/* log: the last chunk of the attempt */
	long		 retries;	/* next, finish: the worker's retry
					   limit; -1 not sent (no limit) */
	unsigned long long machine;	/* next: the worker's process (its -j
					   slots share it); 0 not sent */
	long		 batch;		/* next: claim up to this many tasks
					   (",b=K"); 0 not sent: one */
	int		 nmore;		/* next, finish: items that follow
					   (",n=R"), in more[] */
	struct proto_item *more;	/* decoded by proto_decode_more */
	size_t		 lines[PROTO_MAXLINES];	/* kill */
	int		 nlines;
};

/*
 * A request encoded as words: op and words[0..n-1] (after FILE).  The
 * strings are owned by the struct (proto_words_free).
 */
struct proto_words {
	const char	*op;
	const char	*w[PROTO_MAXWORDS];
	int		 n;
	struct buf	 store;
};

enum proto_kind {
	PROTO_WORK, PROTO_WAIT, PROTO_NONE, PROTO_ID, PROTO_OK,
	PROTO_LOCKED, PROTO_ERROR, PROTO_LOST, PROTO_KILLREQ
};

enum proto_fin {
	PROTO_FIN_NONE,			/* nothing to finish */
	PROTO_FIN_DONE,			/* annotated */
	PROTO_FIN_REPEAT,		/* already finished: no change */
	PROTO_FIN_ORPHAN		/* line gone: orphan report appended */
};

/* What follows "ok" in the head line. */
enum proto_okw {
	PROTO_OK_PLAIN,			/* nothing (status: a report follows) */
	PROTO_OK_ADDED,			/* "added N" */
	PROTO_OK_KEPT,			/* "kept N" */
	PROTO_OK_SIZE,			/* "N", then N bytes (cat) */
	PROTO_OK_VERSION,		/* "rtq-claim VERSION protocol N" */
	PROTO_OK_TALLY			/* "tally N N N N N N N N" */
};

/* What a tally counts (see claim_tally); the order of the words. */
struct proto_tally {
	long long	 done, failed, killed, blocked, retry, pending,
			 running, paused;
};

struct proto_reply {
	enum proto_kind	 kind;
	/* work, wait, none; kill: the line to stop */
	size_t		 pos;
	enum proto_fin	 fin;
	int		 nitems;	/* 0..PROTO_MAXITEMS (work: 1 or
					   more: an init line, then tasks) */
	struct proto_item item[PROTO_MAXITEMS];	/* init, line, text
					   (textlen) only */
	size_t		 textlen[PROTO_MAXITEMS];
	/* id */
	long		 id;
	/* ok */
	enum proto_okw	 okw;
	long long	 count;		/* added, kept, size */
	char		 version[32];	/* VERSION (ok rtq-claim ...) */
	int		 protocol;
	struct proto_tally tally;	/* ok tally */
	/* error */
	int		 code;		/* enum proto_code */
	const char	*msg;
	/* decoded: what follows the head and the items */
	const char	*body;
	size_t		 bodylen;
};

/* Set q to a request of op with nothing else in it (no worker, no SEQ). */
void	proto_req_init(struct proto_req *q, enum proto_op op);

/* The operation named s, or -1. */
int	proto_op_find(const char *s);

/*
 * Decode a request from rtq-claim's command line: op, then the words after
 * FILE.  q's strings point into argv.  Returns 0, or -1 with a message for
 * the user in *msg.
 */
int	proto_decode_argv(struct proto_req *q, const char *op, int argc,
	    char *const *argv, const char **msg);

/*
 * Decode a serve-session request: the line (len bytes, without its
 * newline) is split in place, and q's strings point into it.  Operations
 * not allowed in a session are refused.  Returns 0, or -1 with *msg.
 */
int	proto_decode_line(struct proto_req *q, char *line, size_t len,
	    const char **msg);

/*
 * Encode a request as words (the command-line encoding).  Returns 0, or -1
 * when q cannot be sent (a text or name holding a line break; memory).
 * w must be freed with proto_words_free, also after a failure.
 */
int	proto_encode_words(const struct proto_req *q, struct proto_words *w);
void	proto_words_free(struct proto_words *);

/*
 * Encode a request as a serve-session line, with its newline, into out,
 * followed by the lines of its more[] items (",n=R").
 */
int	proto_encode_line(const struct proto_req *q, struct buf *out);

/*
 * Decode one of the item lines that follow a request with ",n=R"
 * ("init|task LINE STATUS TEXT", no newline; split in place; its strings
 * point into line).  Returns 0, or -1 with *msg.
 */
int	proto_decode_more(char *line, struct proto_item *it, const char **msg);

/* The first line of a serve session, with its newline. */
const char *proto_hello(void);
/* Whether line (without its newline) is a hello this side speaks. */
int	proto_hello_ok(const char *line);

/*
 * Encode a reply: its head line and item lines, each with its newline.
 * Line breaks in an error message become spaces.  Returns 0 or -1.
 */
int	proto_encode_reply(const struct proto_reply *, struct buf *out);

/*
 * Where the head line starts in s (len bytes): the first line that begins
 * with "RTQ1 ", after anything a login script printed.  NULL if none.
 */
const char *proto_find_head(const char *s, size_t len);

/*
 * Decode the head line (line, without its newline, NUL-terminated) into r.
 * Returns 0, or -1 when it is not a version 1 reply.
 */
int	proto_decode_head(const char *line, struct proto_reply *r);

/* Decode item line i (NUL-terminated, no newline) of r.  Returns 0, -1. */
int	proto_decode_item(const char *line, struct proto_reply *r, int i);

/*
 * Decode a whole reply in buf (len bytes, NUL-terminated after them): find
 * the head, cut the head and item lines at their newlines (in place), and
 * point r->body at what follows.  Returns 0, or -1 (no head, a malformed
 * line, items missing).
 */
int	proto_decode_reply(char *buf, size_t len, struct proto_reply *r);

/* The name of a FIN value ("none", ...). */
const char *proto_fin_name(enum proto_fin);

#endif
