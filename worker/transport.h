/*
 * transport: reaching rtq-claim, through ssh or as a local child.
 *
 * A request (struct proto_req, common/proto.h) is one run of "rtq-claim OP
 * FILE WORDS...": in local mode a child process, otherwise "ssh HOST 'command line'", where
 * every word is quoted for the remote shell so that no task text is ever
 * run on the master.  ssh connection sharing (ControlMaster=auto, a
 * ControlPath in a private directory, ControlPersist) makes each call after
 * the first a new channel on one connection, unless the user's own ssh
 * configuration already sets a ControlPath.  On the master, rtq-claim is
 * looked up on PATH, then in ~/.local/bin and ~/bin; RTQ_CLAIM names it.
 *
 * Requests that change the file go through one "rtq-claim serve" session
 * per transport when the master's rtq-claim has it: a request is a line
 * written to its stdin and the reply lines are read back, so a claim costs
 * a round trip on an open channel instead of an ssh login.  A session that
 * breaks is closed and re-opened by the next call; an rtq-claim without
 * serve is used one call per request, and rtq says so once.  A session
 * that gives no reply within RTQ_REPLY_TIMEOUT seconds (120) is dropped
 * and the request retried (its SEQ makes the retry safe), and ssh's
 * ServerAlive options end a connection to a master that stopped
 * answering.  A request too long for one argument (a task line over 64
 * KiB) goes as a one-request session on standard input.
 *
 * A worker holds one ssh connection to its master (tp_conn_own): a
 * ControlMaster of its own process, at DIR/PID-HASH (PID the process, or
 * the rtq that started it as a -j slot: tp_conn_share), whose channels
 * carry its serve session and its one-shot calls, and those of all its
 * slots.  The first ssh that finds no master becomes it (ControlMaster
 * auto, ControlPersist); slots take turns at that (a lock file beside the
 * socket), so that two do not log in at once.  A master that refuses one
 * more channel (sshd's MaxSessions, 10 by default) makes ssh fall back to a
 * connection of its own for that session, and rtq says so once.  The
 * process that owns the connection ends it when it is done (tp_free,
 * tp_conn_end); one killed leaves it to ControlPersist.  Queue commands
 * and a user's own ControlPath keep the sharing described above, with the
 * serve session on a connection of its own.
 */
#ifndef RTQ_TRANSPORT_H
#define RTQ_TRANSPORT_H

#include <sys/types.h>

#include <poll.h>

#include "buf.h"
#include "proto.h"

/* What became of a request; the error codes of rtq-claim map onto these. */
enum tp_result {
	TP_OK = 0,
	TP_RETRY = -1,		/* ssh failed, master busy or out of disk */
	TP_FATAL = -2,		/* no task file, no rtq-claim: give up */
	TP_SOFT = -3		/* the file has a line rtq cannot use */
};

struct tp {
	char		*host;		/* NULL: local mode */
	char		*file;		/* the task file, as the master sees it */
	char		**ssh;		/* ssh command and its options */
	int		 nssh;
	int		 mux_at, mux_n;	/* our ControlMaster words in ssh[] */
	char		*mux_dir;	/* where our control sockets are */
	char		*own;		/* tp_conn_own: the socket, else NULL */
	pid_t		 owner;		/* the process that ends it */
	int		 serr;		/* a session's ssh's stderr, a file */
	off_t		 serr_off;	/* what of it was shown */
	char		*claim;		/* rtq-claim to run (local: a path) */
	int		 claim_is_cmd;	/* remote: RTQ_CLAIM, used as given */
	struct buf	 errout;	/* stderr of the last call */
	/* the serve session: one rtq-claim for all requests */
	int		 serve;		/* 1 use, 0 not yet, -1 unavailable */
	pid_t		 spid;
	int		 sin, sout;
	struct buf	 sbuf;		/* unread reply bytes */
	int		 reply_ms;	/* a silent session is dropped after */
	int		 answered;	/* rtq-claim replied once (maybe error) */
	/*
	 * A one-call request waits (for the lock, say) until intr_fd is
	 * readable and intr(intr_arg) says to give up: then the call is
	 * ended and reported as TP_RETRY, "interrupted".  intr NULL: never.
	 */
	int		 intr_fd;
	int		(*intr)(void *);
	void		*intr_arg;
	int		 intr_wakes;	/* a signal only wakes a held wait */
	/*
	 * hold_ms > 0: the serve session is opened with it, so a "wait" is
	 * held on the master until the file changes (or hold_ms pass) and
	 * comes back as a fresh answer: the caller asks again at once.
	 */
	int		 hold_ms;
	int		 woke;		/* the held wait was woken */
	/*
	 * Requests sent without waiting (tp_async_send): bytes not yet
	 * written, and replies not yet read.  A call that waits writes
	 * these first and reads their replies before its own.
	 */
	struct buf	 aq;
	size_t		 aq_off;
	int		 apending;
	char		 aerr[512];	/* the last error reply to one */
};

struct tp_reply {
	struct proto_reply p;		/* decoded; its strings point into raw */
	struct buf	 raw;		/* what rtq-claim printed */
};
/*
 * Set up a transport to FILE on HOST (NULL: local).  self is argv[0] of
 * rtq, to find rtq-claim next to it.  Returns 0 or -1 with err.
 */
int	tp_init(struct tp *, const char *host, const char *file,
	    const char *self, char *err, size_t errlen);

/*
 * Run one request, with standard input from in (a seekable file, sent
 * again on a retry), or -1.  Requests that may go through a serve session
 * (PROTO_F_SERVE, and no input) do, once one is open.  Returns TP_OK with
 * the reply decoded (an error reply is not TP_OK), or a TP_* error with a
 * message in err.  r must be freed with tp_reply_free in every case.
 */
int	tp_call(struct tp *, const struct proto_req *, int in,
	    struct tp_reply *, char *err, size_t errlen);

/*
 * Start a request that takes no words and leave it running, with a pipe
 * to its stdin (*in) and from its stdout (*out): lock, serve.  Returns the
 * pid, or -1 with err.
 */
pid_t	tp_spawn(struct tp *, enum proto_op, int *in, int *out,
	    char *err, size_t errlen);

/*
 * Run a shell command line on the master (remote mode only), stdin from
 * in (-1: /dev/null).  Returns 0 with its output and exit status, or -1.
 */
int	tp_shell(struct tp *, const char *cmd, int in, struct buf *out,
	    struct buf *errout, int *status);

/* Where "FILE" or "HOST:FILE" is, for messages. */
const char *tp_where(const struct tp *, char *out, size_t outlen);

/*
 * Requests that need no answer (log), sent on the serve session without
 * waiting.  tp_async_send queues q and its body: 0, or -1 when no session
 * is open or TP_AQ_MAX bytes already wait.  tp_async_fds fills up to two
 * pollfds (how many); tp_async_io writes and reads what it can without
 * waiting: 0, 1 when an error reply came (its message in t->aerr), -1
 * when the session broke (closed; what was queued is lost).
 */
#define TP_AQ_MAX	(256 * 1024)
int	tp_async_send(struct tp *, const struct proto_req *, const char *body,
	    size_t n);
int	tp_async_fds(struct tp *, struct pollfd *);
int	tp_async_io(struct tp *);

/*
 * A worker's transport: one ssh connection of this process for everything
 * (see the top).  Returns 0, or -1 when t keeps the old ways (local mode,
 * RTQ_SSH_MUX=0, the user's own ControlPath, a socket path too long).
 */
int	tp_conn_own(struct tp *);

/*
 * Before forking -j slots: their tp_conn_own use this process's
 * connection to host (NULL: local, nothing to do), which tp_conn_end,
 * called here once they are gone, ends.
 */
void	tp_conn_share(const char *host, const char *self);
void	tp_conn_end(void);

void	tp_reply_free(struct tp_reply *);
/*
 * Close the serve session, if open, and release everything; the owner of
 * a connection (tp_conn_own) ends it.
 */
void	tp_free(struct tp *);

#endif
