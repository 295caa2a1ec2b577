/*
 * rtq-claim: the master side of rtq.  Locks a task file, rewrites it, and
 * prints the reply; never runs a task.  See rtq-claim(1).
 *
 *	rtq-claim register FILE [ID|-] [NAME]
 *	rtq-claim next FILE WORKER POS [init|task LINE STATUS TEXT]
 *	rtq-claim finish FILE WORKER init|task LINE STATUS TEXT
 *	rtq-claim reset FILE [K] [--failed]
 *	rtq-claim add FILE [COMMAND]
 *	rtq-claim cat FILE
 *	rtq-claim put FILE < SIZE NEWLINE ORIGINAL EDITED
 *	rtq-claim lock FILE
 *	rtq-claim status FILE [--json] [--color]
 *	rtq-claim heartbeat FILE WORKER [LEASE]
 *	rtq-claim bye FILE WORKER
 *	rtq-claim serve FILE
 *	rtq-claim version
 *
 * Every subcommand takes the lock, reads the file, computes a patch with the
 * pure functions of common/claim.c, and commits it with tfio; when the file
 * changed under it (an unlocked append), it re-reads and recomputes.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "claim.h"
#include "edit.h"
#include "proto.h"
#include "taskfile.h"
#include "live.h"
#include "status.h"
#include "tfio.h"
#include "version.h"

#define REDO_MAX	1000
#define EX_USAGE	2

static const char usage_text[] =
    "usage: rtq-claim register FILE [ID|-] [NAME]\n"
    "       rtq-claim next FILE WORKER POS [init|task LINE STATUS TEXT]\n"
    "       rtq-claim finish FILE WORKER init|task LINE STATUS TEXT\n"
    "       rtq-claim reset FILE [K] [--failed]\n"
    "       rtq-claim add FILE [COMMAND]\n"
    "       rtq-claim cat FILE\n"
    "       rtq-claim put FILE < SIZE NEWLINE ORIGINAL EDITED\n"
    "       rtq-claim lock FILE\n"
    "       rtq-claim status FILE [--json] [--color]\n"
    "       rtq-claim heartbeat FILE WORKER [LEASE]\n"
    "       rtq-claim bye FILE WORKER\n"
    "       rtq-claim serve FILE\n"
    "       rtq-claim version\n";

static int	 serving;		/* in a serve session: no stderr */

static int
fail(int code, const char *msg)
{
	if (!serving)
		fprintf(stderr, "rtq-claim: %s\n", msg);
	printf(PROTO_MAGIC " error %d %s\n", code, msg);
	return code;
}

static int
usage(const char *msg)
{
	if (msg != NULL)
		fprintf(stderr, "rtq-claim: %s\n", msg);
	fputs(usage_text, stderr);
	printf(PROTO_MAGIC " error %d %s\n", EX_USAGE, msg ? msg : "usage");
	return EX_USAGE;
}

static void
now_stamp(char out[TF_TIMELEN + 1])
{
	time_t		 t = time(NULL);
	struct tm	 tm;

	localtime_r(&t, &tm);
	claim_stamp(&tm, out);
}

static int
parse_num(const char *s, long *v)
{
	size_t	 len = strlen(s);

	return tf_parse_id(s, len, v);
}

/* What one subcommand does to the file: fill the patch, remember a reply. */
struct job {
	const char		*cmd;
	/* register */
	long			 want;
	const char		*name;
	long			 id;
	/* next, finish */
	struct claim_req	 req;
	struct claim_reply	 rep;
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
	char	 chunk[65536];
	ssize_t	 n;

	while ((n = read(STDIN_FILENO, chunk, sizeof(chunk))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || buf_add(b, chunk, (size_t)n) == -1)
			return -1;
	}
	return 0;
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
	return 0;
}

static int
job_run(struct job *j, const struct tf_file *f, struct patch *p, char *err,
    size_t errlen)
{
	if (strcmp(j->cmd, "register") == 0) {
		j->id = claim_register(f, j->want, j->name, j->req.now, p, err,
		    errlen);
		return j->id == -1 ? TFIO_EDATA : 0;
	}
	if (strcmp(j->cmd, "reset") == 0) {
		j->changed = claim_reset(f, j->k, j->failed_only, p, err,
		    errlen);
		return j->changed == -1 ? TFIO_EDATA : 0;
	}
	if (strcmp(j->cmd, "add") == 0)
		return add_lines(j, f, p, err, errlen);
	if (strcmp(j->cmd, "put") == 0) {
		struct buf out = BUF_INIT;
		int r = 0;

		j->kept = edit_merge(j->add.s, j->nbase, j->add.s + j->nbase,
		    j->add.len - j->nbase, f->buf, f->size, &out, err, errlen);
		if (j->kept == -1 || patch_replace(p, 0, f->size, out.s,
		    out.len) == -1)
			r = TFIO_EDATA;
		buf_free(&out);
		return r;
	}
	claim_reply_free(&j->rep);
	return claim_next(f, &j->req, p, &j->rep, err, errlen) == -1 ?
	    TFIO_EDATA : 0;
}

static void
job_reply(const struct job *j)
{
	static const char *fins[] = { "none", "done", "repeat", "orphan" };
	static const char *answers[] = { "work", "wait", "none" };
	const struct claim_reply *r = &j->rep;

	if (strcmp(j->cmd, "register") == 0) {
		printf(PROTO_MAGIC " id %ld\n", j->id);
		return;
	}
	if (strcmp(j->cmd, "add") == 0) {
		printf(PROTO_MAGIC " ok added %ld\n", j->nadd);
		return;
	}
	if (strcmp(j->cmd, "put") == 0) {
		printf(PROTO_MAGIC " ok kept %ld\n", j->kept);
		return;
	}
	if (strcmp(j->cmd, "next") != 0) {
		printf(PROTO_MAGIC " ok\n");
		return;
	}
	printf(PROTO_MAGIC " %s %zu %s %d\n", answers[r->answer], r->pos,
	    fins[r->fin], (r->init_line > 0) + (r->task_line > 0));
	if (r->init_line > 0)
		printf("init %zu %.*s\n", r->init_line, (int)r->init_text.len,
		    r->init_text.s);
	if (r->task_line > 0)
		printf("task %zu %.*s\n", r->task_line, (int)r->task_text.len,
		    r->task_text.s);
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
 * Liveness, for a request of worker w: a worker declared lost is told so
 * (and heard from again); otherwise note that we heard from it, and release
 * the tasks of workers whose lease ran out.  Returns 0, 1 (reply "lost"),
 * or a TFIO_E* code.
 */
static int
liveness(struct tfio *t, struct job *j, struct live *lvp, char *err,
    size_t errlen)
{
	struct live_ent	*e;
	struct lost_ctx	 c;
	long		 ids[256];
	long long	 now = (long long)time(NULL);
	long		 w = j->req.worker;
	int		 r = 0, bye = strcmp(j->cmd, "bye") == 0;
#define lv (*lvp)

	if (!bye && (e = live_get(&lv, w)) != NULL && e->lost) {
		e->lost = 0;
		live_touch(&lv, w, now, j->lease);
		return 1;
	}
	if (bye)
		live_drop(&lv, w);
	else if ((e = live_touch(&lv, w, now, j->lease)) != NULL &&
	    j->seq >= 0 && e->seq == j->seq) {
		/*
		 * The same request again: it was applied, and its reply lost
		 * on the way.  (SEQ is recorded only once a request has been
		 * applied: see transact.)
		 */
		j->req.fin_line = 0;
		j->retry = 1;
	}
	c.ids = ids;
	c.now = j->req.now;
	while ((c.n = live_expire(&lv, now, w, ids, 256)) > 0)
		if ((r = rewrite(t, lost_fn, &c, err, errlen)) != 0)
			break;
	return r;
#undef lv
}

struct prev_ctx {
	struct live	*lv;
	int		 fd;
};

/* tfio: the previous versions changed; record them before going on */
static void
prev_saved(struct tfio *t, void *arg)
{
	struct prev_ctx	*c = arg;

	(void)t;
	live_save(c->fd, c->lv);
}

/* Lock, check liveness, read, compute, commit (again if changed), reply. */
static int
transact(const char *path, struct job *j)
{
	struct tfio	 t;
	struct live	 lv;
	struct prev_ctx	 pc;
	char		 err[1024], msg[1200];
	int		 r, lockfd;

	memset(&lv, 0, sizeof(lv));
	if ((r = tfio_open(&t, path, err, sizeof(err))) != 0)
		goto out;
	/* the table in the lock file: liveness, and the previous inode */
	lockfd = t.reallockfd != -1 ? t.reallockfd : t.lockfd;
	live_load(lockfd, &lv);
	t.prev = lv.prev;
	t.prev_next = &lv.prev_next;
	pc.lv = &lv;
	pc.fd = lockfd;
	t.prev_saved = prev_saved;
	t.prev_ctx = &pc;
	if ((r = tfio_carry_prev(&t, err, sizeof(err))) != 0)
		goto save;
	if (j->has_worker) {
		if ((r = liveness(&t, j, &lv, err, sizeof(err))) == 1) {
			printf(PROTO_MAGIC " lost\n");
			r = 0;
			goto save;
		}
		if (r != 0)
			goto save;
	}
	if (strcmp(j->cmd, "heartbeat") != 0 && strcmp(j->cmd, "bye") != 0)
		r = rewrite(&t, job_fn, j, err, sizeof(err));
	if (r == 0 && j->has_worker && j->seq >= 0) {
		struct live_ent *e = live_get(&lv, j->req.worker);

		if (e != NULL)
			e->seq = j->seq;	/* applied: a repeat is a retry */
	}
	if (r == 0)
		job_reply(j);
save:
	live_save(lockfd, &lv);
	if (r == 0)
		goto done;
out:
	if (r == 0)
		job_reply(j);
	else if (r == TFIO_EDATA && t.path != NULL) {
		snprintf(msg, sizeof(msg), "%s: %s", t.path, err);
		fail(r, msg);
	} else
		fail(r, err);
done:
	live_free(&lv);
	tfio_close(&t);
	return r;
}

static int
parse_item(struct claim_req *q, char **av)
{
	long	 line;

	if (strcmp(av[0], "init") == 0)
		q->fin_init = 1;
	else if (strcmp(av[0], "task") != 0)
		return -1;
	if (parse_num(av[1], &line) == -1 || line == 0 ||
	    proto_status_log(av[2], &q->fin_status, &q->fin_log) == -1)
		return -1;
	q->fin_line = (size_t)line;
	if (strpbrk(av[3], "\r\n") != NULL)
		return -1;
	q->fin_text = av[3];
	q->fin_textlen = strlen(av[3]);
	return 0;
}

static int
cmd_lock(const char *path)
{
	struct tfio	 t;
	char		 err[1024], c;
	ssize_t		 n;
	int		 r;

	if ((r = tfio_open(&t, path, err, sizeof(err))) != 0) {
		tfio_close(&t);
		return fail(r, err);
	}
	printf(PROTO_MAGIC " locked\n");
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
	char		 err[1024];
	int		 r;

	if ((r = tfio_peek(&t, path, err, sizeof(err))) != 0) {
		tfio_close(&t);
		return fail(r, err);
	}
	printf(PROTO_MAGIC " ok %zu\n", t.data.len);
	fwrite(t.data.s, 1, t.data.len, stdout);
	tfio_close(&t);
	return 0;
}

static int
cmd_status(const char *path, int argc, char **argv)
{
	struct tfio	 t;
	struct tf_file	 f;
	struct live	 lv;
	struct buf	 out = BUF_INIT;
	char		 err[1024];
	int		 r, i, flags = 0;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			flags |= STATUS_JSON;
		else if (strcmp(argv[i], "--color") == 0)
			flags |= STATUS_COLOR;
		else
			return usage("status: expected --json or --color");
	}
	if ((r = tfio_peek(&t, path, err, sizeof(err))) != 0) {
		tfio_close(&t);
		return fail(r, err);
	}
	if (tf_split(&f, t.data.s, t.data.len, err, sizeof(err)) == -1) {
		tfio_close(&t);
		return fail(TFIO_EDATA, err);
	}
	memset(&lv, 0, sizeof(lv));
	if (t.lockfd != -1)
		live_load(t.lockfd, &lv);
	r = status_format(&f, &lv, t.path, time(NULL), flags, &out, err,
	    sizeof(err));
	if (r == 0) {
		printf(PROTO_MAGIC " ok\n");
		fwrite(out.s, 1, out.len, stdout);
	} else {
		char msg[1200];

		snprintf(msg, sizeof(msg), "%s: %s", t.path, err);
		fail(TFIO_EDATA, msg);
	}
	buf_free(&out);
	live_free(&lv);
	tf_free(&f);
	tfio_close(&t);
	return r == 0 ? 0 : TFIO_EDATA;
}

/* "W" or "W/SEQ": a worker id and the request's sequence number. */
static int
parse_worker(const char *s, long *w, long long *seq)
{
	const char	*slash = strchr(s, '/');
	char		*end;

	*seq = -1;
	if (slash == NULL)
		return parse_num(s, w);
	if (tf_parse_id(s, (size_t)(slash - s), w) == -1 ||
	    slash[1] < '0' || slash[1] > '9')
		return -1;
	*seq = strtoll(slash + 1, &end, 10);
	return *end == '\0' ? 0 : -1;
}

/*
 * Fill j from the words of a request (after "SUBCOMMAND FILE").  Returns 0,
 * or -1 with a usage message in *msg.
 */
static int
job_parse(struct job *j, const char *cmd, int argc, char **argv,
    const char **msg)
{
	long	 v;
	int	 i;

	j->cmd = cmd;
	j->want = -1;
	j->seq = -1;
	if (strcmp(cmd, "register") == 0) {
		*msg = "register: ID must be a number from 0 to 999999999";
		if (argc > 2)
			return -1;
		if (argc >= 1 && strcmp(argv[0], "-") != 0 &&
		    parse_num(argv[0], &j->want) == -1)
			return -1;
		j->name = argc == 2 ? argv[1] : "";
		*msg = "register: NAME holds a line break";
		return strpbrk(j->name, "\r\n") != NULL ? -1 : 0;
	}
	if (strcmp(cmd, "next") == 0 || strcmp(cmd, "finish") == 0) {
		int fin = strcmp(cmd, "finish") == 0;

		*msg = fin ? "finish: expected WORKER init|task LINE STATUS "
		    "TEXT" : "next: expected WORKER POS [init|task LINE "
		    "STATUS TEXT]";
		if ((fin && argc != 5) || (!fin && argc != 2 && argc != 6))
			return -1;
		*msg = "WORKER must be a number from 0 to 999999999, "
		    "optionally followed by /SEQ";
		if (parse_worker(argv[0], &j->req.worker, &j->seq) == -1)
			return -1;
		j->has_worker = 1;
		if (fin) {
			j->req.no_claim = 1;
			i = 1;
		} else {
			*msg = "POS must be a line number";
			if (parse_num(argv[1], &v) == -1)
				return -1;
			j->req.pos = (size_t)v;
			i = 2;
		}
		*msg = "the reported item must be init|task, a line number, "
		    "a status (0-255, release, lost) and one line of text";
		return argc > i && parse_item(&j->req, argv + i) == -1 ? -1 : 0;
	}
	if (strcmp(cmd, "heartbeat") == 0 || strcmp(cmd, "bye") == 0) {
		*msg = "heartbeat: expected WORKER [LEASE]; bye: WORKER";
		if (argc < 1 || argc > (cmd[0] == 'h' ? 2 : 1) ||
		    parse_num(argv[0], &j->req.worker) == -1)
			return -1;
		j->has_worker = 1;
		if (argc == 2 && (parse_num(argv[1], &j->lease) == -1 ||
		    j->lease == 0))
			return -1;
		return 0;
	}
	if (strcmp(cmd, "put") == 0) {
		char *nl, *end;

		*msg = "put: expected on standard input the size of the "
		    "original copy, a newline, that copy, then the edited one";
		if (argc != 0 || read_stdin(&j->add) == -1 || j->add.len == 0 ||
		    (nl = memchr(j->add.s, '\n', j->add.len)) == NULL)
			return -1;
		j->nbase = (size_t)strtoull(j->add.s, &end, 10);
		if (end != nl || j->nbase > j->add.len - (size_t)(nl + 1 -
		    j->add.s))
			return -1;
		memmove(j->add.s, nl + 1, j->add.len - (size_t)(nl + 1 -
		    j->add.s));
		j->add.len -= (size_t)(nl + 1 - j->add.s);
		return 0;
	}
	if (strcmp(cmd, "add") == 0) {
		*msg = "add: expected at most one COMMAND (quote it)";
		if (argc > 1)
			return -1;
		return read_add(j, argc == 1 ? argv[0] : NULL, msg);
	}
	if (strcmp(cmd, "reset") == 0) {
		*msg = "reset: K must be a line number";
		for (i = 0; i < argc; i++) {
			if (strcmp(argv[i], "--failed") == 0)
				j->failed_only = 1;
			else if (parse_num(argv[i], &v) == 0)
				j->k = (size_t)v;
			else
				return -1;
		}
		return 0;
	}
	*msg = "unknown subcommand";
	return -1;
}

/*
 * serve: one request per line on stdin, one reply per request on stdout,
 * the lock taken and released for each.  The first line must be
 * "hello VERSION"; the words of a request are separated by single spaces
 * and its last word (a task text, a name) runs to the end of the line.
 */
static int
cmd_serve(const char *path)
{
	static const struct { const char *cmd; int maxw; } reqs[] = {
		{ "register", 2 }, { "next", 6 }, { "finish", 5 },
		{ "reset", 2 }, { "heartbeat", 2 }, { "bye", 1 }
	};
	char		*line = NULL, *words[8], *p, now[TF_TIMELEN + 1];
	const char	*msg;
	size_t		 cap = 0, k;
	ssize_t		 n;
	struct job	 j;
	int		 nw, maxw, hello = 0;

	serving = 1;
	while ((n = getline(&line, &cap, stdin)) > 0) {
		/* a line cut short by a broken connection is not a request */
		if (line[n - 1] != '\n')
			break;
		line[--n] = '\0';
		if (!hello) {
			if (strcmp(line, "hello 1") != 0) {
				fail(EX_USAGE, "serve: this rtq-claim speaks "
				    "protocol 1; the request was not "
				    "\"hello 1\"");
				break;
			}
			printf(PROTO_MAGIC " ok rtq-claim %s protocol %d\n",
			    RTQ_VERSION, PROTO_VERSION);
			fflush(stdout);
			hello = 1;
			continue;
		}
		if ((p = strchr(line, ' ')) != NULL)
			*p++ = '\0';
		maxw = -1;
		for (k = 0; k < sizeof(reqs) / sizeof(reqs[0]); k++)
			if (strcmp(line, reqs[k].cmd) == 0)
				maxw = reqs[k].maxw;
		nw = 0;
		while (p != NULL && nw < maxw) {
			words[nw++] = p;
			if (nw < maxw && (p = strchr(p, ' ')) != NULL)
				*p++ = '\0';
		}
		memset(&j, 0, sizeof(j));
		now_stamp(now);
		j.req.now = now;
		if (maxw == -1 || job_parse(&j, line, nw, words, &msg) == -1)
			fail(EX_USAGE, maxw == -1 ? "serve: unknown request" :
			    msg);
		else
			transact(path, &j);
		claim_reply_free(&j.rep);
		if (fflush(stdout) == EOF)
			break;
	}
	free(line);
	return 0;
}


int
main(int argc, char *argv[])
{
	struct job	 j;
	char		 now[TF_TIMELEN + 1];
	const char	*cmd, *path, *msg;
	int		 r;

	signal(SIGXFSZ, SIG_IGN);	/* a file size limit: EFBIG, not death */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		return usage(NULL);
	cmd = argv[1];
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf(PROTO_MAGIC " ok rtq-claim %s protocol %d\n",
		    RTQ_VERSION, PROTO_VERSION);
		return 0;
	}
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (argc < 3)
		return usage("missing TASKFILE");
	path = argv[2];
	argc -= 3;
	argv += 3;
	if (strcmp(cmd, "lock") == 0)
		return argc == 0 ? cmd_lock(path) : usage("lock: extra words");
	if (strcmp(cmd, "status") == 0)
		return cmd_status(path, argc, argv);
	if (strcmp(cmd, "cat") == 0)
		return argc == 0 ? cmd_cat(path) : usage("cat: extra words");
	if (strcmp(cmd, "serve") == 0)
		return argc == 0 ? cmd_serve(path) :
		    usage("serve: extra words");
	memset(&j, 0, sizeof(j));
	now_stamp(now);
	j.req.now = now;
	if (job_parse(&j, cmd, argc, argv, &msg) == -1)
		return usage(msg);
	r = transact(path, &j);
	claim_reply_free(&j.rep);
	buf_free(&j.add);
	return r;
}
