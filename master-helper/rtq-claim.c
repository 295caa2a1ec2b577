/*
 * rtq-claim: the master side of rtq.  Locks a task file, rewrites it, and
 * prints the reply; never runs a task.  See rtq-claim(1).  Its requests,
 * their words and its replies are defined in common/proto.h, which also
 * gives the usage.
 *
 * Every subcommand takes the lock, reads the file, computes a patch with the
 * pure functions of common/claim.c, and commits it with tfio; when the file
 * changed under it (an unlocked append), it re-reads and recomputes.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "claim.h"
#include "clock.h"
#include "edit.h"
#include "expire.h"
#include "fdio.h"
#include "proto.h"
#include "taskfile.h"
#include "live.h"
#include "logs.h"
#include "status.h"
#include "tfio.h"
#include "version.h"

#define REDO_MAX	1000
#define HOLD_MAX	60000	/* ms a "wait" may be held at most */

static int	 serving;		/* Print a reply on standard output. */
static void
reply_put(const struct proto_reply *r)
{
	struct buf	 b = BUF_INIT;

	if (proto_encode_reply(r, &b) == 0)
		fwrite(b.s, 1, b.len, stdout);
	buf_free(&b);
}

static int
fail(int code, const char *msg)
{
	struct proto_reply	 r;

	if (!serving)
		fprintf(stderr, "rtq-claim: %s\n", msg);
	memset(&r, 0, sizeof(r));
	r.kind = PROTO_ERROR;
	r.code = code;
	r.msg = msg;
	reply_put(&r);
	return code;
}

/* A reply that is just its kind: ok, locked, lost. */
static void
reply_kind(enum proto_kind k)
{
	struct proto_reply	 r;

	memset(&r, 0, sizeof(r));
	r.kind = k;
	reply_put(&r);
}

/* "RTQ1 ok SIZE", before the bytes of cat */
static void
reply_size(size_t n)
{
	struct proto_reply	 r;

	memset(&r, 0, sizeof(r));
	r.kind = PROTO_OK;
	r.okw = PROTO_OK_SIZE;
	r.count = (long long)n;
	reply_put(&r);
}

/* "RTQ1 ok rtq-claim VERSION protocol N": version, and a session's hello */
static void
version_reply(void)
{
	struct proto_reply	 r;

	memset(&r, 0, sizeof(r));
	r.kind = PROTO_OK;
	r.okw = PROTO_OK_VERSION;
	snprintf(r.version, sizeof(r.version), "%s", RTQ_VERSION);
	r.protocol = PROTO_VERSION;
	reply_put(&r);
}

/* The usage, one line an operation, from the table in proto.c. */
static void
usage_print(FILE *fp)
{
	const struct proto_opdef *d;
	int			 i;

	for (i = 0; i < PROTO_NOPS; i++) {
		d = &proto_ops[i];
		fprintf(fp, "%s rtq-claim %s%s%s%s\n", i == 0 ? "usage:" :
		    "      ", d->name, d->flags & PROTO_F_NOFILE ? "" :
		    " FILE", *d->args ? " " : "", d->args);
	}
}

static int
usage(const char *msg)
{
	if (msg != NULL)
		fprintf(stderr, "rtq-claim: %s\n", msg);
	usage_print(stderr);
	serving = 1;		/* said on stderr already */
	fail(PROTO_EUSAGE, msg != NULL ? msg : "usage");
	return PROTO_EUSAGE;
}

/* What one subcommand does to the file: fill the patch, remember a reply. */
struct job {
	struct proto_req	 q;
	int			 hold;		/* a "wait" is not replied */
	int			 held;		/* and this one was not */
	const char		*cmd;		/* its name */
	/* register */
	long			 want;
	const char		*name;
	long			 id;
	/* next, finish */
	struct claim_req	 req;
	struct claim_reply	 rep;
	struct claim_fin	 fins[PROTO_MAXBATCH];	/* items after */
	char			 stamps[2 * PROTO_MAXITEMS][TF_TIMELEN + 1];
	int			 has_worker;	/* req.worker is set */
	long long		 seq;		/* WORKER/SEQ; -1: none */
	int			 retry;		/* seq seen before */
	long			 lease;		/* heartbeat: seconds */
	/* put: the copy the person edited, then their version */
	size_t			 nbase;
	long			 kept;
	/* add: the lines to append, each ending in '\n' */
	struct buf		 add;
	long			 nadd;
	/* reset */
	size_t			 k;
	int			 failed_only;
	long			 changed;
	/* tally */
	struct proto_tally	 tally;
	/* kill, pause, resume: what was done, a line each */
	struct buf		 report;
	long			 kill_w[PROTO_MAXLINES];
	/* next: the live workers, and those of W's process */
	long			*live, *sibs;
	size_t			 kill_line;	/* heartbeat: stop it */
};

/* Append the job's lines, in the file's line endings. */
static int
add_lines(struct job *j, const struct tf_file *f, struct patch *p,
    char *err, size_t errlen)
{
	struct buf	 b = BUF_INIT;
	const char	*s = j->add.s, *end = j->add.s + j->add.len, *nl;
	int		 r;

	if (f->size > 0 && f->buf[f->size - 1] != '\n')
		buf_adds(&b, f->eol);
	for (; s < end; s = nl + 1) {
		nl = memchr(s, '\n', (size_t)(end - s));
		buf_add(&b, s, (size_t)(nl - s));
		buf_adds(&b, f->eol);
	}
	r = j->nadd == 0 ? 0 : b.s == NULL ? -1 :
	    patch_replace(p, f->size, 0, b.s, b.len);
	buf_free(&b);
	if (r == -1) {
		snprintf(err, errlen, "out of memory");
		return TFIO_EDATA;
	}
	return 0;
}

/* All of standard input into b.  Returns 0 or -1. */
static int
read_stdin(struct buf *b)
{
	return fdio_read_all(STDIN_FILENO, b);
}

/*
 * Read the lines to add: the command given, or standard input, one task a
 * line.  Blank lines are skipped, a CR before the newline dropped.  Returns
 * 0, or -1 with a message (a NUL byte, a line break in the command).
 */
static int
read_add(struct job *j, const char *cmd, const char **msg)
{
	static char	 m[128];
	struct buf	 in = BUF_INIT;
	const char	*s, *nl, *end;
	size_t		 len, lineno = 0;

	if (cmd != NULL) {
		*msg = "add: the command holds a line break or is blank";
		if (strpbrk(cmd, "\r\n") != NULL || tf_rstrip(cmd,
		    strlen(cmd)) == 0)
			return -1;
		buf_adds(&j->add, cmd);
		buf_addc(&j->add, '\n');
		j->nadd = 1;
		return j->add.s == NULL ? -1 : 0;
	}
	if (read_stdin(&in) == -1) {
		*msg = "add: cannot read standard input";
		buf_free(&in);
		return -1;
	}
	end = in.s + in.len;
	for (s = in.s; s != NULL && s < end; s = nl + 1) {
		lineno++;
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			nl = end;
		len = (size_t)(nl - s);
		if (len > 0 && s[len - 1] == '\r')
			len--;
		if (memchr(s, '\0', len) != NULL) {
			snprintf(m, sizeof(m), "add: line %zu of standard "
			    "input holds a NUL byte; nothing added", lineno);
			*msg = m;
			buf_free(&in);
			return -1;
		}
		if (tf_rstrip(s, len) == 0)
			continue;
		buf_add(&j->add, s, len);
		buf_addc(&j->add, '\n');
		j->nadd++;
	}
	buf_free(&in);
	*msg = "add: out of memory";
	return buf_failed(&j->add) ? -1 : 0;
}

/*
 * Read put's standard input: the size of the original copy, a newline,
 * that copy, then the edited one.  Returns 0, or -1 with *msg.
 */
static int
read_put(struct job *j, const char **msg)
{
	char	*nl, *end;
	size_t	 skip;

	*msg = "put: expected on standard input the size of the original copy, "
	    "a newline, that copy, then the edited one";
	if (read_stdin(&j->add) == -1 || j->add.len == 0 ||
	    (nl = memchr(j->add.s, '\n', j->add.len)) == NULL)
		return -1;
	skip = (size_t)(nl + 1 - j->add.s);
	j->nbase = (size_t)strtoull(j->add.s, &end, 10);
	if (end != nl || j->nbase > j->add.len - skip)
		return -1;
	memmove(j->add.s, nl + 1, j->add.len - skip);
	j->add.len -= skip;
	return 0;
}

static int
job_run(struct job *j, const struct tf_file *f, struct patch *p, char *err,
    size_t errlen)
{
	struct buf	 out = BUF_INIT;
	int		 r = 0;

	switch (j->q.op) {
	case PROTO_REGISTER:
		j->id = claim_register(f, j->want, j->name, j->req.now, p, err,
		    errlen);
		return j->id == -1 ? TFIO_EDATA : 0;
	case PROTO_RESET:
		j->changed = claim_reset(f, j->k, j->failed_only, p, err,
		    errlen);
		return j->changed == -1 ? TFIO_EDATA : 0;
	case PROTO_ADD:
		return add_lines(j, f, p, err, errlen);
	case PROTO_PUT:
		j->kept = edit_merge(j->add.s, j->nbase, j->add.s + j->nbase,
		    j->add.len - j->nbase, f->buf, f->size, &out, err, errlen);
		if (j->kept == -1 || patch_replace(p, 0, f->size, out.s,
		    out.len) == -1)
			r = TFIO_EDATA;
		buf_free(&out);
		return r;
	case PROTO_TALLY:
		if (claim_tally(f, j->live, j->req.nlive, &j->tally, NULL,
		    NULL) == -1) {
			snprintf(err, errlen, "out of memory");
			return TFIO_EIO;
		}
		return 0;
	case PROTO_KILL:
		buf_reset(&j->report);
		return claim_kill(f, j->q.lines, (size_t)j->q.nlines,
		    j->req.now, p, j->kill_w, &j->report, err, errlen) == -1 ?
		    TFIO_EDATA : 0;
	case PROTO_PAUSE:
	case PROTO_RESUME:
		buf_reset(&j->report);
		return claim_pause(f, j->q.op == PROTO_PAUSE, j->req.now, p,
		    &j->report, err, errlen) == -1 ? TFIO_EIO : 0;
	default:
		claim_reply_free(&j->rep);
		return claim_next(f, &j->req, p, &j->rep, err, errlen) == -1 ?
		    TFIO_EDATA : 0;
	}
}

/* Whether a tally says that nothing can run any more. */
static int
settled(const struct proto_tally *t)
{
	return t->pending + t->retry + t->running == 0;
}

/* The reply to a request carried out. */
static void
job_reply(const struct job *j)
{
	static const enum proto_kind answers[] = { PROTO_WORK, PROTO_WAIT,
	    PROTO_NONE };
	const struct claim_reply *c = &j->rep;
	struct proto_reply	 r;
	size_t			 k;

	memset(&r, 0, sizeof(r));
	r.kind = PROTO_OK;
	switch (j->q.op) {
	case PROTO_REGISTER:
		r.kind = PROTO_ID;
		r.id = j->id;
		break;
	case PROTO_ADD:
		r.okw = PROTO_OK_ADDED;
		r.count = j->nadd;
		break;
	case PROTO_PUT:
		r.okw = PROTO_OK_KEPT;
		r.count = j->kept;
		break;
	case PROTO_TALLY:
		r.okw = PROTO_OK_TALLY;
		r.tally = j->tally;
		break;
	case PROTO_HEARTBEAT:
		if (j->kill_line > 0) {
			r.kind = PROTO_KILLREQ;
			r.pos = j->kill_line;
		}
		break;
	case PROTO_NEXT:
		r.kind = answers[c->answer];
		r.pos = c->pos;
		r.fin = c->fin;
		if (c->init_line > 0) {
			r.item[r.nitems].init = 1;
			r.item[r.nitems].line = c->init_line;
			r.item[r.nitems].text = c->init_text.s;
			r.textlen[r.nitems++] = c->init_text.len;
		}
		if (c->task_line > 0) {
			r.item[r.nitems].line = c->task_line;
			r.item[r.nitems].text = c->task_text.s;
			r.textlen[r.nitems++] = c->task_text.len;
		}
		for (k = 0; k < c->nmore && r.nitems < PROTO_MAXITEMS; k++) {
			size_t from = k > 0 ? c->more_end[k - 1] : 0;

			r.item[r.nitems].line = c->more_line[k];
			r.item[r.nitems].text = c->more_text.s + from;
			r.textlen[r.nitems++] = c->more_end[k] - from;
		}
		break;
	default:
		break;
	}
	reply_put(&r);
	if (j->q.op == PROTO_KILL || j->q.op == PROTO_PAUSE ||
	    j->q.op == PROTO_RESUME)
		fwrite(j->report.s, 1, j->report.len, stdout);
}

typedef int (*compute_fn)(void *, const struct tf_file *, struct patch *,
    char *, size_t);

/*
 * Compute a patch over the file as read and commit it; when the file
 * changed meanwhile (an unlocked append, an editor), re-read and compute
 * again.  Returns 0 or a TFIO_E* code with err.
 */
static int
rewrite(struct tfio *t, compute_fn fn, void *ctx, char *err, size_t errlen)
{
	struct tf_file	 f;
	struct patch	 p = PATCH_INIT;
	int		 r, tries;

	for (tries = 0; ; tries++) {
		if (tf_split(&f, t->data.s, t->data.len, err, errlen) == -1) {
			r = TFIO_EDATA;
			break;
		}
		patch_reset(&p);
		r = fn(ctx, &f, &p, err, errlen);
		tf_free(&f);
		if (r != 0)
			break;
		if ((r = tfio_commit(t, &p, err, errlen)) != -1)
			break;
		if (tries == REDO_MAX) {
			snprintf(err, errlen, "%s: the file kept changing "
			    "while being rewritten; nothing done", t->path);
			r = TFIO_EIO;
			break;
		}
		if ((r = tfio_reread(t, err, errlen)) != 0)
			break;
	}
	patch_free(&p);
	return r;
}

static int
job_fn(void *ctx, const struct tf_file *f, struct patch *p, char *err,
    size_t errlen)
{
	return job_run(ctx, f, p, err, errlen);
}

struct lost_ctx {
	const long	*ids;
	size_t		 n;
	const char	*now;
};

static int
lost_fn(void *ctx, const struct tf_file *f, struct patch *p, char *err,
    size_t errlen)
{
	struct lost_ctx	*c = ctx;

	return claim_lost(f, c->ids, c->n, c->now, p, err, errlen) == -1 ?
	    TFIO_EDATA : 0;
}

/*
 * Release the running tasks of the workers but except whose lease ran out
 * (stamped now).  Returns 0 or a TFIO_E* code.
 */
static int
release_lost(struct tfio *t, long except, const char *now, char *err,
    size_t errlen)
{
	struct lost_ctx	 c;
	long		 ids[256];
	int		 r = 0;

	c.ids = ids;
	c.now = now;
	while ((c.n = live_expire(t->live, t->now, except, ids, 256)) > 0) {
		/* then read what was written: a request finding nothing to
		 * change would not notice that the file is not what it read */
		if ((r = rewrite(t, lost_fn, &c, err, errlen)) != 0 ||
		    (r = tfio_reread(t, err, errlen)) != 0)
			break;
	}
	return r;
}

/*
 * Liveness, for a request of worker w: a worker declared lost is told so
 * (and heard from again); otherwise note that we heard from it, and release
 * the tasks of workers whose lease ran out.  Returns 0, 1 (reply "lost"),
 * or a TFIO_E* code.
 */
static int
liveness(struct tfio *t, struct job *j, char *err, size_t errlen)
{
	struct live	*lv = t->live;
	struct live_ent	*e = NULL;
	long		 w = j->req.worker;
	int		 bye = j->q.op == PROTO_BYE;

	if (!bye && (e = live_get(lv, w)) != NULL && e->lost) {
		e->lost = 0;
		live_touch(lv, w, t->now, j->lease);
		return 1;
	}
	if (bye)
		live_drop(lv, w);
	else if ((e = live_touch(lv, w, t->now, j->lease)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return TFIO_EIO;
	} else if (j->q.op == PROTO_HEARTBEAT && e->kill > 0)
		j->kill_line = e->kill;
	else if (j->seq >= 0 && e->seq >= 0 && j->seq < e->seq) {
		/*
		 * Older than a request already applied: a delayed copy, or
		 * another process that says it is W.  Never applied.
		 */
		snprintf(err, errlen, "request %ld/%lld is older than one "
		    "already applied for worker %ld (another process with "
		    "this worker id, or a delayed request); not applied", w,
		    j->seq, w);
		return PROTO_EBUSY;
	} else if (j->seq >= 0 && e->seq == j->seq) {
		/*
		 * The same request again: it was applied, and its reply lost
		 * on the way.  (SEQ is recorded only once a request has been
		 * applied: see transact.)
		 */
		j->req.fin_line = 0;
		j->retry = 1;
	}
	if (!bye && e != NULL) {
		if (j->q.machine != 0)
			e->machine = j->q.machine;
		/* a report ends what a kill asked for */
		if (j->req.fin_line > 0 && !j->req.fin_init)
			e->kill = 0;
	}
	return release_lost(t, w, j->req.now, err, errlen);
}

/*
 * For a claim of worker w: the live workers (heard from within their
 * lease, not lost) and those of them in w's process, from the table.
 * Returns 0 or TFIO_EIO (memory).
 */
static int
others(struct tfio *t, struct job *j, char *err, size_t errlen)
{
	struct live	*lv = t->live;
	struct live_ent	*me = live_get(lv, j->req.worker);
	size_t		 i;

	free(j->live);
	free(j->sibs);
	j->live = calloc(lv->n + 1, sizeof(long));
	j->sibs = calloc(lv->n + 1, sizeof(long));
	if (j->live == NULL || j->sibs == NULL) {
		snprintf(err, errlen, "out of memory");
		return TFIO_EIO;
	}
	j->req.nlive = live_ids(lv, t->now, j->live);
	j->req.nsibs = 0;
	for (i = 0; i < j->req.nlive; i++) {
		struct live_ent *e = live_get(lv, j->live[i]);

		if (me != NULL && me->machine != 0 && e != me &&
		    e->machine == me->machine)
			j->sibs[j->req.nsibs++] = e->w;
	}
	j->req.live = j->live;
	j->req.sibs = j->sibs;
	return 0;
}

/* A request failed: the reply says why, naming the file for TFIO_EDATA. */
static int
fail_file(int r, const struct tfio *t, const char *err)
{
	char	 msg[PATH_MAX + TFIO_ERRLEN];

	if (r != TFIO_EDATA || t->path == NULL)
		return fail(r, err);
	if ((size_t)snprintf(msg, sizeof(msg), "%s: %s", t->path, err) >=
	    sizeof(msg))
		return fail(r, err);	/* cannot be: t->path < PATH_MAX */
	return fail(r, msg);
}

/*
 * Whether whoever reads our replies is gone (its end of the pipe or of
 * the ssh channel closed): a person's command given up with Ctrl-C while
 * it waited for the lock must then not be carried out.
 */
static int
caller_gone(void)
{
	struct pollfd	 p;

	p.fd = STDOUT_FILENO;
	p.events = POLLOUT;
	p.revents = 0;
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP));
}

/*
 * May a worker register as want?  Not while a live worker (heard from
 * within its lease, not declared lost) has that id: two processes with
 * one id would both run every task.  Returns 0 or PROTO_EBUSY with err.
 */
static int
id_free(struct tfio *t, long want, char *err, size_t errlen)
{
	struct live_ent	*e;

	if (want < 0 || (e = live_get(t->live, want)) == NULL || e->lost ||
	    t->now - e->seen > e->lease)
		return 0;
	snprintf(err, errlen, "worker id %ld is in use by a live worker "
	    "(heard from %lld s ago, lease %ld s): choose another id, or "
	    "none", want, t->now - e->seen, e->lease);
	return PROTO_EBUSY;
}

/*
 * After a kill: each running line's worker is told on its next heartbeat
 * (the table says which line); one that sends none is named.
 */
static void
kill_tell(struct tfio *t, struct job *j)
{
	struct live_ent	*e;
	int		 k;

	for (k = 0; k < j->q.nlines; k++) {
		if (j->kill_w[k] < 0)
			continue;
		if ((e = live_get(t->live, j->kill_w[k])) != NULL && !e->lost)
			e->kill = j->q.lines[k];
		else
			buf_printf(&j->report, "line %zu: worker %ld sends no "
			    "heartbeats here (lost, or a runtask.sh worker): "
			    "it cannot be told; the line will not be retried\n",
			    j->q.lines[k], j->kill_w[k]);
	}
}

/* A time ms before now (the request's), as the file holds it. */
static const char *
stamp_ago(struct job *j, size_t k, long long now, long long ms)
{
	clock_stamp(now - (ms + 500) / 1000, j->stamps[k]);
	return j->stamps[k];
}

/* The start and end times of a batch's items, from the times they carry. */
static void
batch_stamps(struct job *j, long long now)
{
	const struct proto_item *it = &j->q.item;
	size_t			 k;

	if (j->q.has_item && it->times) {
		j->req.fin_start = stamp_ago(j, 0, now, it->ago_start);
		j->req.fin_end = stamp_ago(j, 1, now, it->ago_end);
	}
	for (k = 0; k < j->req.nmore; k++) {
		it = &j->q.more[k];
		if (!it->times)
			continue;
		j->fins[k].start = stamp_ago(j, 2 + 2 * k, now, it->ago_start);
		j->fins[k].end = stamp_ago(j, 3 + 2 * k, now, it->ago_end);
	}
}

/*
 * Lock, read the clock, check liveness, read, compute, commit (again if
 * changed), save the table once, reply.
 */
static int
transact(const char *path, struct job *j)
{
	struct tfio	 t;
	char		 err[TFIO_ERRLEN], err2[TFIO_ERRLEN];
	char		 stamp[TF_TIMELEN + 1];
	const char	*given = j->req.now;
	long long	 now;
	int		 r, s, lost = 0;

	/* one reading of the clock for all of the request */
	if (clock_now(&now, err, sizeof(err)) == -1)
		return fail(PROTO_EUSAGE, err);
	clock_stamp(now, stamp);
	j->req.now = stamp;
	batch_stamps(j, now);
	if ((r = tfio_open(&t, path, now, 0, err, sizeof(err))) != 0)
		goto out;
	if ((j->q.op == PROTO_ADD || j->q.op == PROTO_PUT ||
	    j->q.op == PROTO_RESET || j->q.op == PROTO_KILL ||
	    j->q.op == PROTO_PAUSE || j->q.op == PROTO_RESUME) &&
	    caller_gone()) {
		/* given up while the lock was held (Ctrl-C): change nothing */
		snprintf(err, sizeof(err), "the caller went away while the "
		    "lock was held; nothing done");
		r = PROTO_EIO;
		goto save;
	}
	if ((r = tfio_carry_prev(&t, err, sizeof(err))) != 0)
		goto save;
	if (j->has_worker) {
		if ((r = liveness(&t, j, err, sizeof(err))) == 1) {
			lost = 1;
			r = 0;
			goto save;
		}
		if (r != 0)
			goto save;
	}
	if (j->q.op == PROTO_REGISTER && (r = id_free(&t, j->want, err,
	    sizeof(err))) != 0)
		goto save;
	/* no worker may ask any more: failed includes lost (expire.h) */
	if ((j->q.op == PROTO_RESET || j->q.op == PROTO_TALLY) &&
	    (r = release_lost(&t, -1, j->req.now, err, sizeof(err))) != 0)
		goto save;
	if ((j->q.op == PROTO_NEXT || j->q.op == PROTO_TALLY) &&
	    (r = others(&t, j, err, sizeof(err))) != 0)
		goto save;
	if (j->q.op != PROTO_HEARTBEAT && j->q.op != PROTO_BYE)
		r = rewrite(&t, job_fn, j, err, sizeof(err));
	if (r == 0 && j->q.op == PROTO_REGISTER) {
		/* a new process: heard from now, with no request yet */
		struct live_ent *e = live_touch(t.live, j->id, t.now, 0);

		if (e != NULL) {
			e->seq = -1;
			e->lost = 0;
		}
	}
	if (r == 0 && j->has_worker && j->seq >= 0) {
		struct live_ent *e = live_get(t.live, j->req.worker);

		if (e != NULL)
			e->seq = j->seq;	/* applied: a repeat is a retry */
	}
	if (r == 0 && j->q.op == PROTO_KILL)
		kill_tell(&t, j);
save:
	/*
	 * The table, once (see tfio.h): when the worker was heard from, its
	 * SEQ, and what the previous versions did; a failed request still
	 * records that its worker was heard from.  A retry of a request whose
	 * table could not be saved is applied again: claim_next makes that
	 * harmless.
	 */
	if ((s = tfio_save(&t, r == 0 ? err : err2, sizeof(err))) != 0 &&
	    r == 0)
		r = s;
out:
	j->held = 0;
	if (r != 0)
		fail_file(r, &t, err);
	else if (lost)
		reply_kind(PROTO_LOST);
	else if (j->hold && ((j->q.op == PROTO_NEXT &&
	    j->rep.answer == CLAIM_WAIT) || (j->q.op == PROTO_TALLY &&
	    !settled(&j->tally))))
		j->held = 1;		/* see serve_held */
	else
		job_reply(j);
	tfio_close(&t);
	j->req.now = given;
	return r;
}

static int
cmd_lock(const char *path)
{
	struct tfio	 t;
	char		 err[TFIO_ERRLEN], c;
	ssize_t		 n;
	int		 r;

	if ((r = tfio_open(&t, path, 0, TFIO_LOCKONLY, err, sizeof(err))) !=
	    0) {
		tfio_close(&t);
		return fail(r, err);
	}
	reply_kind(PROTO_LOCKED);
	fflush(stdout);
	/* hold it until our caller goes away: EOF (or an error) on stdin */
	while ((n = read(STDIN_FILENO, &c, 1)) != 0)
		if (n == -1 && errno != EINTR)
			break;
	tfio_close(&t);
	return 0;
}

/* The file as it is (no lock: every change is a rename), after "RTQ1 ok". */
static int
cmd_cat(const char *path)
{
	struct tfio	 t;
	char		 err[TFIO_ERRLEN];
	int		 r;

	if ((r = tfio_peek(&t, path, err, sizeof(err))) != 0) {
		tfio_close(&t);
		return fail(r, err);
	}
	reply_size(t.data.len);
	fwrite(t.data.s, 1, t.data.len, stdout);
	tfio_close(&t);
	return 0;
}

static int
cmd_status(const char *path, const struct proto_req *q)
{
	struct tfio	 t;
	struct tf_file	 f;
	struct buf	 out = BUF_INIT, view = BUF_INIT;
	char		 err[TFIO_ERRLEN], stamp[TF_TIMELEN + 1];
	long long	 now;
	int		 r, flags = 0;

	if (q->json)
		flags |= STATUS_JSON;
	if (q->color)
		flags |= STATUS_COLOR;
	if (q->all)
		flags |= STATUS_ALL;
	if (clock_now(&now, err, sizeof(err)) == -1)
		return fail(PROTO_EUSAGE, err);
	if ((r = tfio_peek(&t, path, err, sizeof(err))) != 0) {
		tfio_close(&t);
		return fail(r, err);
	}
	/* as the next request will leave it: leases that ran out, released */
	clock_stamp(now, stamp);
	if (expire_view(&t, now, stamp, &view, err, sizeof(err)) == -1 ||
	    tf_split(&f, view.s, view.len, err, sizeof(err)) == -1) {
		buf_free(&view);
		tfio_close(&t);
		return fail(TFIO_EDATA, err);
	}
	{
		struct logs l;

		if (logs_open(&l, path, 0, err, sizeof(err)) == 0)
			status_set_logs(&l);
		r = status_format(&f, t.live, t.path, (time_t)now, flags,
		    q->width, &out, err, sizeof(err));
		status_set_logs(NULL);
		logs_close(&l);
	}
	if (r == 0) {
		reply_kind(PROTO_OK);
		fwrite(out.s, 1, out.len, stdout);
	} else
		r = fail_file(TFIO_EDATA, &t, err);
	buf_free(&out);
	tf_free(&f);
	buf_free(&view);
	tfio_close(&t);
	return r;
}

/* ------------------------------------------------------------------ */
/* tasks' output (logs.h) */

/*
 * log: write a chunk of a task's output, whose q->log_size bytes are
 * read from in.  *l is opened (and its directory made) at the first
 * chunk and kept for the next ones.  Returns 0, or the code of the error
 * replied; -1 when the bytes could not be read (the caller stops).
 */
static int
cmd_log(const char *path, const struct proto_req *q, FILE *in,
    struct logs *l)
{
	char		 err[TFIO_ERRLEN], *data;
	size_t		 n = (size_t)q->log_size;
	int		 r;

	if ((data = malloc(n + 1)) == NULL)
		return fail(PROTO_EIO, "log: out of memory");
	if (fread(data, 1, n, in) != n) {
		free(data);
		return -1;
	}
	r = l->dir == NULL || l->dirfd == -1 ? logs_open(l, path, 1, err,
	    sizeof(err)) : 0;
	if (r == 0 && logs_write(l, q->log_line, q->worker, q->log_err,
	    q->log_cap, q->log_off, data, n, q->log_end, err, sizeof(err)) ==
	    0)
		reply_kind(PROTO_OK);
	else {
		logs_close(l);	/* opened afresh by the next chunk */
		r = fail(PROTO_EIO, err);
	}
	free(data);
	return r;
}

/* The word for an annotation's state: running, ok, error1, lost... */
static void
ann_state(const struct tf_ann *a, struct buf *b)
{
	if (a->open || a->status == NULL)
		buf_adds(b, "running");
	else
		buf_add(b, a->status, a->statuslen);
}

/*
 * logs LINE: "tasks PENDING RUNNING", then the attempts of LINE, one a
 * line, "LINE WORKER STATE" (oldest first); LINE 0: the running tasks.
 */
static int
cmd_logs(const char *path, size_t line)
{
	struct tfio	 t;
	struct tf_file	 f;
	struct tf_item	 it;
	struct tf_ann	 a;
	struct buf	 out = BUF_INIT, body = BUF_INIT;
	char		 err[TFIO_ERRLEN];
	const char	*p;
	size_t		 i, pending = 0, running = 0;
	int		 r;

	if ((r = tfio_peek(&t, path, err, sizeof(err))) != 0) {
		tfio_close(&t);
		return fail(r, err);
	}
	if (tf_split(&f, t.data.s, t.data.len, err, sizeof(err)) == -1) {
		tfio_close(&t);
		return fail(TFIO_EDATA, err);
	}
	if (line > f.nline) {
		snprintf(err, sizeof(err), "%s: there is no line %zu", t.path,
		    line);
		r = fail(PROTO_EDATA, err);
		goto out;
	}
	for (i = 0; i < f.nline; i++) {
		if (tf_classify(f.buf + f.off[i], tf_linelen(&f, i), i + 1,
		    &it, err, sizeof(err)) == -1)
			continue;
		if (line == i + 1 && it.kind != TF_PENDING && it.kind !=
		    TF_RUNNING && it.kind != TF_DONE && it.kind != TF_FAILED &&
		    it.kind != TF_GIVENUP) {
			snprintf(err, sizeof(err), "%s: line %zu is not a task",
			    t.path, line);
			r = fail(PROTO_EDATA, err);
			goto out;
		}
		pending += it.kind == TF_PENDING;
		running += it.kind == TF_RUNNING;
		if (line == 0 && it.kind == TF_RUNNING)
			buf_printf(&body, "%zu %ld running\n", i + 1,
			    it.worker);
		if (line != i + 1 || it.ann == NULL)
			continue;
		for (p = it.ann; tf_ann_next(&p, it.ann + it.annlen, &a) ==
		    1; ) {
			buf_printf(&body, "%zu %ld ", i + 1, a.worker);
			ann_state(&a, &body);
			buf_addc(&body, '\n');
		}
	}
	buf_printf(&out, "tasks %zu %zu\n", pending, running);
	if (body.len > 0)
		buf_add(&out, body.s, body.len);
	if (out.s == NULL)
		r = fail(PROTO_EIO, "out of memory");
	else {
		reply_size(out.len);
		fwrite(out.s, 1, out.len, stdout);
	}
out:
	buf_free(&out);
	buf_free(&body);
	tf_free(&f);
	tfio_close(&t);
	return r;
}

/* logread: "NEXT 1|0" (the log exists), then the bytes. */
static int
cmd_logread(const char *path, const struct proto_req *q)
{
	struct logs	 l;
	struct buf	 data = BUF_INIT, out = BUF_INIT;
	char		 err[TFIO_ERRLEN];
	long long	 next = q->log_off;
	int		 r, ex = 0;
	size_t		 max = q->log_size > 0 && q->log_size < (1 << 20) ?
	    (size_t)q->log_size : (1 << 20);

	if ((r = logs_open(&l, path, 0, err, sizeof(err))) == -1) {
		logs_close(&l);
		return fail(PROTO_EFILE, err);
	}
	if (r == 0 && (ex = logs_read(&l, q->log_line, q->worker, q->log_err,
	    q->log_off, max, &data, &next, err, sizeof(err))) == -1) {
		logs_close(&l);
		buf_free(&data);
		return fail(PROTO_EIO, err);
	}
	buf_printf(&out, "%lld %d\n", next, ex);
	if (data.len > 0)
		buf_add(&out, data.s, data.len);
	if (out.s == NULL)
		r = fail(PROTO_EIO, "out of memory");
	else {
		r = 0;
		reply_size(out.len);
		fwrite(out.s, 1, out.len, stdout);
	}
	buf_free(&data);
	buf_free(&out);
	logs_close(&l);
	return r;
}

/*
 * Fill j from a decoded request; add and put read their standard input.
 * Returns 0, or -1 with a usage message in *msg.
 */
static int
job_parse(struct job *j, const struct proto_req *q, const char **msg)
{
	const struct proto_item *it = &q->item;
	int			 k;

	j->q = *q;
	j->cmd = proto_ops[q->op].name;
	j->want = q->worker;
	j->name = q->name;
	j->seq = q->seq;
	j->lease = q->lease;
	j->req.worker = q->worker;
	j->has_worker = (proto_ops[q->op].flags & PROTO_F_WORKER) != 0;
	j->req.no_claim = q->op == PROTO_FINISH;
	j->req.pos = q->pos;
	j->req.retries = q->retries;
	j->req.batch = q->batch > 0 ? (size_t)q->batch : 1;
	for (k = 0; k < q->nmore; k++) {
		j->fins[k].line = q->more[k].line;
		j->fins[k].init = q->more[k].init;
		j->fins[k].text = q->more[k].text;
		j->fins[k].textlen = strlen(q->more[k].text);
		j->fins[k].status = q->more[k].status;
		j->fins[k].log = q->more[k].log;
	}
	j->req.more = j->fins;
	j->req.nmore = (size_t)q->nmore;
	if (q->has_item) {
		j->req.fin_init = it->init;
		j->req.fin_line = it->line;
		j->req.fin_status = it->status;
		j->req.fin_log = it->log;
		j->req.fin_text = it->text;
		j->req.fin_textlen = strlen(it->text);
	}
	j->k = q->from;
	j->failed_only = q->failed;
	switch (q->op) {
	case PROTO_PUT:
		return read_put(j, msg);
	case PROTO_ADD:
		return read_add(j, q->command, msg);
	case PROTO_REGISTER:
	case PROTO_NEXT:
	case PROTO_FINISH:
	case PROTO_RESET:
	case PROTO_HEARTBEAT:
	case PROTO_BYE:
	case PROTO_TALLY:
	case PROTO_KILL:
	case PROTO_PAUSE:
	case PROTO_RESUME:
		return 0;
	default:
		*msg = "unknown subcommand";
		return -1;
	}
}

static void
job_free(struct job *j)
{
	claim_reply_free(&j->rep);
	buf_free(&j->add);
	buf_free(&j->report);
	free(j->live);
	free(j->sibs);
}

/* The task file's stat, or zeros when it cannot be had (then "changed"). */
static void
file_id(const char *path, struct stat *st)
{
	if (stat(path, st) == -1)
		memset(st, 0, sizeof(*st));
}

/*
 * A "wait" for a session opened with a hold: instead of sending the
 * worker to sleep, watch the task file (a stat every HOLD_TICK ms, no
 * lock held) and answer the request anew when it changed, when the
 * worker sent a line (an empty one wakes us: it is stopping), or when
 * hold_ms passed; the last answer is replied whatever it is.  The request
 * keeps its SEQ, so a report it carried is not applied twice.
 */
#define HOLD_TICK	25
static void
serve_held(const char *path, const char *real, struct job *j, long hold_ms)
{
	struct pollfd	 p;
	struct stat	 seen, now;
	long		 left = hold_ms;

	while (j->held) {
		file_id(real, &seen);
		p.fd = STDIN_FILENO;
		p.events = POLLIN;
		for (;;) {
			if (left <= 0 || poll(&p, 1, HOLD_TICK) != 0) {
				j->hold = 0;	/* the last round: reply */
				break;
			}
			left -= HOLD_TICK;
			file_id(real, &now);
			if (!tfio_same_version(&seen, &now))
				break;
		}
		transact(path, j);
	}
}

/*
 * The q->nmore item lines that follow a request, read from stdin into
 * store and decoded into items (q->more).  Returns 0; -1 with *msg for a
 * malformed item (the lines were all read: the session goes on); -2 when
 * the input ended first.
 */
static int
read_more(struct proto_req *q, struct buf *store, struct proto_item *items,
    const char **msg)
{
	char	*line = NULL, *p;
	size_t	 cap = 0, at[PROTO_MAXBATCH];
	ssize_t	 n;
	int	 k, r = 0;

	buf_reset(store);
	for (k = 0; k < q->nmore; k++) {
		if ((n = getline(&line, &cap, stdin)) <= 0 ||
		    line[n - 1] != '\n') {
			free(line);
			return -2;
		}
		line[n - 1] = '\0';
		at[k] = store->len;
		if (memchr(line, '\0', (size_t)n - 1) != NULL) {
			*msg = "serve: an item holds a NUL byte";
			r = -1;
		}
		if (buf_add(store, line, (size_t)n) == -1) {
			*msg = "out of memory";
			r = -1;
		}
	}
	free(line);
	for (k = 0; r == 0 && k < q->nmore; k++) {
		p = store->s + at[k];
		r = proto_decode_more(p, &items[k], msg);
	}
	q->more = items;
	return r;
}

/*
 * serve [HOLD_MS]: one request per line on stdin, one reply per request on
 * stdout, the lock taken and released for each.  The first line must be
 * the hello of our protocol version (proto_hello).  An empty line is no
 * request and gets no reply (it ends a held wait).
 */
static int
cmd_serve(const char *path, long hold_ms)
{
	struct proto_req q;
	struct job	 j;
	char		*line = NULL, *real, m[128];
	const char	*msg;
	size_t		 cap = 0;
	ssize_t		 n;
	int		 hello = 0, r;
	struct logs	 logs = { NULL, -1 };
	static struct proto_item more[PROTO_MAXBATCH];
	struct buf	 store = BUF_INIT;

	serving = 1;
	if ((real = tfio_expand(path, m, sizeof(m))) == NULL)
		hold_ms = 0;
	if (hold_ms > HOLD_MAX)
		hold_ms = HOLD_MAX;
	while ((n = getline(&line, &cap, stdin)) > 0) {
		/* a line cut short by a broken connection is not a request */
		if (line[n - 1] != '\n')
			break;
		line[--n] = '\0';
		if (!hello) {
			if (!proto_hello_ok(line)) {
				snprintf(m, sizeof(m), "serve: this rtq-claim "
				    "speaks protocol %d; the request was not "
				    "\"%.*s\"", PROTO_VERSION,
				    (int)strlen(proto_hello()) - 1,
				    proto_hello());
				fail(PROTO_EUSAGE, m);
				break;
			}
			version_reply();
			fflush(stdout);
			hello = 1;
			continue;
		}
		if (n == 0)
			continue;
		memset(&j, 0, sizeof(j));
		j.hold = hold_ms > 0;
		r = proto_decode_line(&q, line, (size_t)n, &msg);
		if (r == 0 && q.nmore > 0 && (r = read_more(&q, &store,
		    more, &msg)) == -2)
			break;		/* cut short: not a request */
		if (r == -1) {
			fail(PROTO_EUSAGE, msg);
			/* bytes that may follow cannot be told from requests */
			if (strncmp(line, "log", 4) == 0)
				break;
		} else if (q.op == PROTO_LOG) {
			if (cmd_log(path, &q, stdin, &logs) == -1)
				break;
		} else if (q.op == PROTO_LOGS)
			cmd_logs(path, q.log_line);
		else if (q.op == PROTO_LOGREAD)
			cmd_logread(path, &q);
		else if (job_parse(&j, &q, &msg) == -1)
			fail(PROTO_EUSAGE, msg);
		else if (transact(path, &j) == 0 && j.held)
			serve_held(path, real, &j, hold_ms);
		job_free(&j);
		if (fflush(stdout) == EOF)
			break;
	}
	free(line);
	free(real);
	buf_free(&store);
	logs_close(&logs);
	return 0;
}


int
main(int argc, char *argv[])
{
	struct proto_req q;
	struct job	 j;
	const char	*path, *msg;
	int		 r;

	signal(SIGXFSZ, SIG_IGN);	/* a file size limit: EFBIG, not death */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		return usage(NULL);
	if (strcmp(argv[1], "--version") == 0)
		argv[1] = (char *)proto_ops[PROTO_VERSION_OP].name;
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage_print(stdout);
		return 0;
	}
	if (proto_op_find(argv[1]) == PROTO_VERSION_OP) {
		if (proto_decode_argv(&q, argv[1], argc - 2, argv + 2, &msg)
		    == -1)
			return usage(msg);
		version_reply();
		return 0;
	}
	if (proto_op_find(argv[1]) == -1)
		return usage("unknown subcommand");
	if (argc < 3)
		return usage("missing TASKFILE");
	path = argv[2];
	if (proto_decode_argv(&q, argv[1], argc - 3, argv + 3, &msg) == -1)
		return usage(msg);
	if (q.nmore > 0)
		return usage("items after a request (,n=R) come in a serve "
		    "session only");
	switch (q.op) {
	case PROTO_LOCK:
		return cmd_lock(path);
	case PROTO_STATUS:
		return cmd_status(path, &q);
	case PROTO_CAT:
		return cmd_cat(path);
	case PROTO_SERVE:
		return cmd_serve(path, q.hold);
	case PROTO_LOG: {
		struct logs l = { NULL, -1 };

		r = cmd_log(path, &q, stdin, &l);
		logs_close(&l);
		return r == -1 ? fail(PROTO_EUSAGE, "log: fewer bytes than "
		    "SIZE on standard input") : r;
	}
	case PROTO_LOGS:
		return cmd_logs(path, q.log_line);
	case PROTO_LOGREAD:
		return cmd_logread(path, &q);
	default:
		break;
	}
	memset(&j, 0, sizeof(j));
	if (job_parse(&j, &q, &msg) == -1) {
		job_free(&j);
		return usage(msg);
	}
	r = transact(path, &j);
	job_free(&j);
	return r;
}
