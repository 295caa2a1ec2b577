/*
 * logview: rtq --log and rtq --follow, reading tasks' output kept on the
 * master (master-helper/logs.h) through rtq-claim's "logs" (the attempts
 * of a line, or the running tasks) and "logread" (a stream's bytes from
 * an offset).  A follower asks every FOLLOW_MS; over ssh the requests go
 * through one serve session.  The worker writes a task's last chunks
 * before it reports the task, so once the file says a task ended, what is
 * left to read of its output is all there.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "fdio.h"
#include "proto.h"
#include "sig.h"
#include "worker.h"

#define FOLLOW_MS	200
#define READ_MAX	(1 << 20)

struct attempt {
	size_t		 line;
	long		 worker;
	char		 state[32];	/* running, ok, error1, lost... */
};

struct listing {
	size_t		 pending, running;
	struct attempt	*a;
	size_t		 n;
};

/* Ask for the attempts of line (0: the running tasks).  0 or -1 (said). */
static int
list(struct worker *w, size_t line, struct listing *ls)
{
	struct proto_req q;
	struct tp_reply	 r;
	const char	*p, *end, *nl;
	struct attempt	*a;
	int		 rv;

	memset(ls, 0, sizeof(*ls));
	proto_req_init(&q, PROTO_LOGS);
	q.log_line = line;
	if ((rv = client_call(w, &q, -1, &r)) != TP_OK) {
		tp_reply_free(&r);
		return -1;
	}
	p = r.p.body;
	end = p + r.p.bodylen;
	if (sscanf(p, "tasks %zu %zu", &ls->pending, &ls->running) != 2) {
		say("unexpected reply from rtq-claim for %s (an older "
		    "version without logs?)", w->where);
		tp_reply_free(&r);
		return -1;
	}
	for (; p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL;
	    p = nl + 1) {
		struct attempt	 x;

		memset(&x, 0, sizeof(x));
		if (sscanf(p, "%zu %ld %31s", &x.line, &x.worker, x.state) !=
		    3)
			continue;
		if ((a = realloc(ls->a, (ls->n + 1) * sizeof(*a))) == NULL)
			break;
		ls->a = a;
		ls->a[ls->n++] = x;
	}
	tp_reply_free(&r);
	return 0;
}

/*
 * Read a stream of attempt (line, worker) from *off: the bytes to out,
 * *off moved on.  Returns 1 (bytes came), 0 (none now), 2 (no such log),
 * -1 (said).
 */
static int
read_some(struct worker *w, size_t line, long worker, long long *off,
    struct buf *out)
{
	struct proto_req q;
	struct tp_reply	 r;
	const char	*nl;
	long long	 next;
	int		 exists, rv;
	size_t		 n;

	proto_req_init(&q, PROTO_LOGREAD);
	q.log_line = line;
	q.worker = worker;
	q.log_off = *off;
	q.log_size = READ_MAX;
	if (client_call(w, &q, -1, &r) != TP_OK) {
		tp_reply_free(&r);
		return -1;
	}
	if ((nl = memchr(r.p.body, '\n', r.p.bodylen)) == NULL ||
	    sscanf(r.p.body, "%lld %d", &next, &exists) != 2) {
		say("unexpected reply from rtq-claim for %s", w->where);
		tp_reply_free(&r);
		return -1;
	}
	n = r.p.bodylen - (size_t)(nl + 1 - r.p.body);
	if (n > 0)
		buf_add(out, nl + 1, n);
	rv = !exists ? 2 : n > 0 || next != *off ? 1 : 0;
	*off = next;
	tp_reply_free(&r);
	return rv;
}

/* The exit status a task's state says: ok 0, errorN N, else 1. */
static int
state_status(const char *s)
{
	if (strcmp(s, "ok") == 0)
		return 0;
	if (strncmp(s, "error", 5) == 0 && atoi(s + 5) > 0)
		return atoi(s + 5);
	return 1;
}

static int
out(const struct buf *b)
{
	if (b->len > 0 && fdio_write_all(STDOUT_FILENO, b->s, b->len) == -1)
		return -1;
	return 0;
}

/* All of an attempt's output to standard output.  0, 1 (said). */
static int
print_all(struct worker *w, const struct attempt *a)
{
	struct buf	 b = BUF_INIT;
	long long	 off = 0;
	int		 r;

	while ((r = read_some(w, a->line, a->worker, &off, &b)) == 1) {
		if (out(&b) == -1)
			break;
		buf_reset(&b);
	}
	buf_free(&b);
	if (r == 2) {
		say("no output of line %zu (worker %ld) is kept on the master "
		    "(that worker ran with --no-logs, or is an older rtq)",
		    a->line, a->worker);
		return 1;
	}
	return r == -1 ? 1 : 0;
}

int
do_log(struct worker *w)
{
	struct listing	 ls;
	size_t		 i, from, to;
	int		 rv = 0;

	if (list(w, w->o->log_line, &ls) == -1)
		return 1;
	if (ls.n == 0) {
		say("line %zu of %s has not run yet: no output to show",
		    w->o->log_line, w->where);
		free(ls.a);
		return 1;
	}
	from = ls.n - 1;
	to = ls.n;
	if (w->o->all)
		from = 0;
	else if (w->o->attempt > 0) {
		if ((size_t)w->o->attempt > ls.n) {
			say("line %zu ran %zu time%s: there is no attempt %ld",
			    w->o->log_line, ls.n, ls.n == 1 ? "" : "s",
			    w->o->attempt);
			free(ls.a);
			return 1;
		}
		from = (size_t)w->o->attempt - 1;
		to = from + 1;
	}
	for (i = from; i < to; i++) {
		if (w->o->all) {
			printf("%s== line %zu, attempt %zu, worker %ld: %s ==\n",
			    i > from ? "\n" : "", ls.a[i].line, i + 1,
			    ls.a[i].worker, ls.a[i].state);
			fflush(stdout);
		}
		rv |= print_all(w, &ls.a[i]);
	}
	free(ls.a);
	return rv;
}

/* --follow FILE LINE */
static int
follow_one(struct worker *w)
{
	struct listing	 ls;
	struct buf	 b = BUF_INIT;
	long		 worker = -1;
	long long	 off = 0;
	int		 r, st = -1;

	for (;;) {
		if (list(w, w->o->log_line, &ls) == -1)
			return 1;
		if (ls.n > 0) {
			struct attempt *a = &ls.a[ls.n - 1];

			if (a->worker != worker) {
				/* a new attempt: from its start */
				worker = a->worker;
				off = 0;
			}
			if (strcmp(a->state, "running") != 0)
				st = state_status(a->state);
		}
		free(ls.a);
		while (worker >= 0 && (r = read_some(w, w->o->log_line,
		    worker, &off, &b)) == 1) {
			if (out(&b) == -1)
				return 0;
			buf_reset(&b);
		}
		if (st >= 0 || (worker >= 0 && r == -1))
			break;
		if (sig_nap(FOLLOW_MS))
			return got_hard ? sig_stop_code() : 130;
	}
	buf_free(&b);
	return st >= 0 ? st : 1;
}

/* A task followed by --follow FILE, and its line not yet printed. */
struct followed {
	size_t		 line;
	long		 worker;
	long long	 off;
	struct buf	 part;
	int		 seen;		/* running at the last listing */
};

/* Print the complete lines of b after "[LINE] "; keep the rest in part. */
static void
print_lines(struct followed *f, const struct buf *b, int flush)
{
	struct buf	 o = BUF_INIT;
	const char	*s, *e, *nl;

	buf_add(&f->part, b->s, b->len);
	s = f->part.s;
	e = s + f->part.len;
	while (s < e && ((nl = memchr(s, '\n', (size_t)(e - s))) != NULL ||
	    flush)) {
		if (nl == NULL)
			nl = e - 1;
		buf_printf(&o, "[%zu] ", f->line);
		buf_add(&o, s, (size_t)(nl + 1 - s));
		if (*nl != '\n')
			buf_addc(&o, '\n');
		s = nl + 1;
	}
	(void)out(&o);
	buf_free(&o);
	memmove(f->part.s, s, (size_t)(e - s));
	f->part.len = (size_t)(e - s);
}

/* --follow FILE: every running task, until nothing runs or waits */
static int
follow_all(struct worker *w)
{
	struct listing	 ls;
	struct followed	*f = NULL, *nf;
	struct buf	 b = BUF_INIT;
	size_t		 nfol = 0, i, k;
	int		 r, done;

	for (;;) {
		if (list(w, 0, &ls) == -1)
			return 1;
		done = ls.pending == 0 && ls.running == 0;
		for (k = 0; k < nfol; k++)
			f[k].seen = 0;
		for (i = 0; i < ls.n; i++) {
			for (k = 0; k < nfol && (f[k].line != ls.a[i].line ||
			    f[k].worker != ls.a[i].worker); k++)
				;
			if (k == nfol) {
				if ((nf = realloc(f, (nfol + 1) *
				    sizeof(*f))) == NULL)
					break;
				f = nf;
				memset(&f[k], 0, sizeof(f[k]));
				f[k].line = ls.a[i].line;
				f[k].worker = ls.a[i].worker;
				nfol++;
			}
			f[k].seen = 1;
		}
		free(ls.a);
		for (k = 0; k < nfol; k++) {
			while ((r = read_some(w, f[k].line, f[k].worker,
			    &f[k].off, &b)) == 1) {
				print_lines(&f[k], &b, 0);
				buf_reset(&b);
			}
			if (!f[k].seen) {
				/* ended: its last line, and it is dropped */
				print_lines(&f[k], &b, 1);
				buf_free(&f[k].part);
				f[k--] = f[--nfol];
			}
		}
		if (done && nfol == 0)
			break;
		if (sig_nap(FOLLOW_MS)) {
			free(f);
			return got_hard ? sig_stop_code() : 130;
		}
	}
	free(f);
	buf_free(&b);
	return 0;
}

int
do_follow(struct worker *w)
{
	return w->o->log_line > 0 ? follow_one(w) : follow_all(w);
}
