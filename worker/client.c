/*
 * client: a worker's requests to rtq-claim.  See client.h.
 */
#define _DEFAULT_SOURCE
#include <sys/socket.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "proto.h"
#include "sig.h"
#include "slurm.h"

#define BACKOFF_MAX	60

/*
 * The last refusal said (TP_SOFT: the file has a line rtq cannot use),
 * so that a worker polling a file that stays so says it once, not at
 * every poll; cleared when a claim goes through.
 */
static char soft_said[2048];

/*
 * After a stop (SIGTERM, the end of the process that started a worker in
 * a Slurm job), the report of the task stopped is tried until then, the
 * worker's lease from the stop: past it the master gives the task to
 * another worker as lost anyway, and a worker told to stop must not
 * linger, retrying.  0: no such limit.
 */
static double report_by;

/*
 * client_call; with quiet_busy, an id in use (PROTO_EBUSY) is not said:
 * the caller does something about it.
 */
static int
call(struct worker *w, const struct proto_req *q, int in, struct tp_reply *r,
    int quiet_busy)
{
	/* a result in hand is worth waiting for after a first Ctrl-C */
	int	 must = ((w->has_prev && !w->prev_init) || w->br_n > 0) &&
	    (q->op == PROTO_NEXT || q->op == PROTO_FINISH);
	char	 err[2048];
	int	 rv, delay = 1, told = 0;
	double	 give_up = w->retry_for > 0 && !w->tp.answered ? now_sec() +
	    w->retry_for : 0;

	for (;;) {
		rv = tp_call(&w->tp, q, in, r, err, sizeof(err));
		if (w->tp.answered && !w->retry_always)
			give_up = 0;	/* the master is there: keep trying */
		if (rv == TP_OK) {
			if (q->op == PROTO_NEXT)
				soft_said[0] = '\0';	/* claims go again */
			return rv;
		}
		if (rv == TP_SOFT) {
			if (strcmp(err, soft_said) != 0) {
				say("%s", err);
				if (q->op == PROTO_NEXT)
					say("no claims from %s until that is "
					    "fixed; asking again every %g s",
					    w->where, w->o->poll);
			}
			snprintf(soft_said, sizeof(soft_said), "%s", err);
			return rv;
		}
		if (rv == TP_FATAL) {
			if (!quiet_busy || r->p.kind != PROTO_ERROR ||
			    r->p.code != PROTO_EBUSY)
				say("%s", err);
			return rv;
		}
		tp_reply_free(r);
		if (got_hard || (got_int && !must))
			return TP_RETRY;	/* asked to stop */
		if (must && report_by > 0 && now_sec() + delay > report_by) {
			say("%s; giving up after %ld s (the lease)", err,
			    w->o->lease);
			return TP_FATAL;
		}
		if (give_up > 0 && now_sec() + delay > give_up) {
			say("%s; giving up after %d s", err, w->retry_for);
			return TP_FATAL;
		}
		say("%s; retrying in %d s", err, delay);
		/*
		 * Jitter, so that workers refused together spread out.  With
		 * a result in hand, a first Ctrl-C does not end the wait.
		 */
		if (got_int && !got_hard && must && !told) {
			say("Ctrl-C: still trying to report line %zu (Ctrl-C "
			    "again to give up)", w->prev_line);
			told = 1;
		}
		if (sig_nap_until(delay * 500 + (int)(random() % (delay *
		    1000)), must))
			return TP_RETRY;
		if (delay < BACKOFF_MAX)
			delay *= 2;
	}
}

int
client_call(struct worker *w, const struct proto_req *q, int in,
    struct tp_reply *r)
{
	return call(w, q, in, r, 0);
}

/*
 * The host name, which Slurm job it is part of (slurm.h), and its IPv4
 * addresses but loopback, for a worker name.
 */
static void
default_name(char *out, size_t len)
{
	struct ifaddrs	*ifa, *i;
	char		 host[256], addr[INET_ADDRSTRLEN];
	size_t		 n;

	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	snprintf(out, len, "%s", host);
	slurm_name(out, len);
	if (getifaddrs(&ifa) == -1)
		return;
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
			continue;
		if (inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)
		    i->ifa_addr)->sin_addr, addr, sizeof(addr)) == NULL ||
		    strncmp(addr, "127.", 4) == 0)
			continue;
		n = strlen(out);
		snprintf(out + n, len - n, " %s", addr);
	}
	freeifaddrs(ifa);
}

int
client_register(struct worker *w, long want, int fallback)
{
	struct proto_req q;
	struct tp_reply	 r;
	char		 name[1024];
	int		 rv;

	if (w->o->name != NULL)
		snprintf(name, sizeof(name), "%s", w->o->name);
	else
		default_name(name, sizeof(name));
	name[strcspn(name, "\r\n")] = '\0';
	proto_req_init(&q, PROTO_REGISTER);
	q.worker = want;
	q.name = name;
	rv = call(w, &q, -1, &r, fallback && want >= 0);
	if (rv == TP_FATAL && fallback && want >= 0 &&
	    r.p.kind == PROTO_ERROR && r.p.code == PROTO_EBUSY) {
		/* a live worker has it: two of us would run every task twice */
		tp_reply_free(&r);
		if (client_register(w, -1, 0) == -1)
			return -1;
		say("worker id %ld is in use in %s; registered as %ld instead",
		    want, w->where, w->id);
		return 0;
	}
	if (rv != TP_OK) {
		tp_reply_free(&r);
		return -1;
	}
	if (r.p.kind != PROTO_ID) {
		say("unexpected reply to register from %s", w->where);
		tp_reply_free(&r);
		return -1;
	}
	w->id = r.p.id;
	say_worker(w->id);
	w->pos = 0;
	w->has_prev = 0;
	tp_reply_free(&r);
	return 0;
}

void
client_set_prev(struct worker *w, int init, size_t line, int status,
    const char *t)
{
	free(w->prev_text);
	w->prev_text = strdup(t);
	w->has_prev = w->prev_text != NULL;
	w->prev_init = init;
	w->prev_line = line;
	w->prev_status = status;
}

/* ms from then to now, for the times a batch's task carries */
static long long
ago(double then)
{
	double	 d = (now_sec() - then) * 1000.0;

	return d > 0 ? (long long)d : 0;
}

/* The previous item, as a request reports it. */
static void
prev_item(const struct worker *w, struct proto_req *q)
{
	q->has_item = 1;
	q->item.init = 0;
	q->item.line = w->prev_line;
	q->item.status = w->prev_status;
	q->item.text = w->prev_text;
	/* a log path a status word cannot carry is left out */
	q->item.log = w->prev_status > 0 && w->prev_log[0] != '\0' &&
	    strpbrk(w->prev_log, " \t\r\n") == NULL ? w->prev_log : NULL;
	if (w->prev_batch) {
		q->item.times = 1;
		q->item.ago_start = ago(w->prev_t0);
		q->item.ago_end = ago(w->prev_t1);
	}
}

/*
 * The items a request reports: the previous result, the batch's results
 * not reported, the start of the queued task running now (start), and
 * the queued tasks given back (release).  The first is q's own item, the
 * others go to more[] (PROTO_MAXBATCH of them at most).
 */
static void
batch_items(const struct worker *w, struct proto_req *q,
    struct proto_item *more, int start, int release)
{
	struct proto_item *it;
	size_t		 k, n = 0, total;

	if (w->has_prev && !w->prev_init)
		prev_item(w, q);
	total = w->br_n + (start && w->started > 0) +
	    (release ? w->bq_n - w->bq_at : 0);
	for (k = 0; k < total && n < PROTO_MAXBATCH + !q->has_item; k++) {
		it = !q->has_item ? &q->item : &more[n++];
		memset(it, 0, sizeof(*it));
		if (k < w->br_n) {
			const struct bitem *b = &w->br[k];

			it->line = b->line;
			it->text = b->text;
			it->status = b->status;
			it->log = b->log;
			it->times = 1;
			it->ago_start = ago(b->t0);
			it->ago_end = ago(b->t1);
		} else if (start && w->started > 0 && k == w->br_n) {
			it->line = w->started;
			it->text = w->started_text;
			it->status = PROTO_ST_START;
			it->times = 1;
			it->ago_start = ago(w->started_t0);
		} else {
			const struct bitem *b = &w->bq[w->bq_at + k - w->br_n -
			    (start && w->started > 0)];

			it->line = b->line;
			it->text = b->text;
			it->status = b->status == PROTO_ST_KILLED ?
			    PROTO_ST_KILLED : PROTO_ST_RELEASE;
		}
		q->has_item = 1;
	}
	q->more = more;
	q->nmore = (int)n;
}

static void
bitem_free(struct bitem *b)
{
	free(b->text);
	free(b->log);
	memset(b, 0, sizeof(*b));
}

/* Forget the queued tasks. */
static void
bq_clear(struct worker *w)
{
	size_t	 k;

	for (k = 0; k < w->bq_n; k++)
		bitem_free(&w->bq[k]);
	free(w->bq);
	w->bq = NULL;
	w->bq_at = w->bq_n = 0;
}

/* Forget the results not reported. */
static void
br_clear(struct worker *w)
{
	size_t	 k;

	for (k = 0; k < w->br_n; k++)
		bitem_free(&w->br[k]);
	w->br_n = 0;
}

/* What a request that went through reported is off our hands. */
static void
batch_reported(struct worker *w, int start, int release)
{
	br_clear(w);
	if (start)
		w->started = 0;
	if (release)
		bq_clear(w);
}

int
client_next(struct worker *w, struct tp_reply *r)
{
	static struct proto_item more[PROTO_MAXBATCH];
	struct proto_req q;
	double		 t0 = now_sec();
	int		 rv;

	proto_req_init(&q, PROTO_NEXT);
	q.worker = w->id;
	q.seq = ++w->seq;
	q.pos = w->pos;
	q.retries = w->o->retries;
	q.machine = w->machine;
	/* a batch needs a serve session: the items go after the line */
	if (w->tp.serve == -1 && w->o->batch != 1) {
		say("the rtq-claim of %s has no serve session: claims go one "
		    "task at a time (--batch)", w->where);
		w->batch = 1;
		w->o->batch = 1;
		w->prev_batch = 0;
	}
	if (w->batch > 1 && w->tp.serve == 1)
		q.batch = w->batch;
	if (w->tp.serve == 1)
		batch_items(w, &q, more, 0, 0);
	else if (w->has_prev && !w->prev_init)
		prev_item(w, &q);
	rv = client_call(w, &q, -1, r);
	if (rv == TP_OK)
		batch_reported(w, 0, 0);
	if (rv == TP_OK && r->p.kind == PROTO_WORK)
		client_batch_tune(w, (now_sec() - t0) * 1000.0);
	return rv;
}

/*
 * Send the results in hand alone (finish): the previous one, a batch's,
 * the start of the task running now (start), the queued tasks given back
 * (release); tried once, or (once 0) as client_call tries.  Returns 0 or
 * -1.
 */
static int
finish_prev(struct worker *w, int start, int release, int once)
{
	static struct proto_item more[PROTO_MAXBATCH];
	struct proto_req q;
	struct tp_reply	 r;
	char		 err[1024];
	int		 rv = -1, st;

	proto_req_init(&q, PROTO_FINISH);
	q.worker = w->id;
	q.seq = ++w->seq;
	q.retries = w->o->retries;
	batch_items(w, &q, more, start, release);
	if (!q.has_item)
		return 0;
	/* once: while a task runs, which must not wait for the master */
	st = once ? tp_call(&w->tp, &q, -1, &r, err, sizeof(err)) :
	    client_call(w, &q, -1, &r);
	if (st == TP_OK && (!once || r.p.kind != PROTO_ERROR)) {
		if (w->has_prev && !w->prev_init)
			w->has_prev = 0;
		batch_reported(w, start, release);
		rv = 0;
	}
	tp_reply_free(&r);
	return rv;
}

int
client_queue(struct worker *w, const struct tp_reply *r, int from)
{
	struct bitem	*b;
	int		 k;

	bq_clear(w);
	if (r->p.nitems <= from)
		return 0;
	if ((b = calloc((size_t)(r->p.nitems - from), sizeof(*b))) == NULL)
		return -1;
	w->bq = b;
	for (k = from; k < r->p.nitems; k++, b++) {
		b->line = r->p.item[k].line;
		if ((b->text = strdup(r->p.item[k].text)) == NULL)
			return -1;
		w->bq_n++;
	}
	return 0;
}

void
client_batch_push(struct worker *w)
{
	struct bitem	*b, *nb;

	if (!w->has_prev || w->prev_init)
		return;
	if ((nb = realloc(w->br, (w->br_n + 1) * sizeof(*nb))) == NULL)
		return;		/* it goes with the next request as it is */
	w->br = nb;
	b = &w->br[w->br_n];
	memset(b, 0, sizeof(*b));
	b->line = w->prev_line;
	b->status = w->prev_status;
	b->t0 = w->prev_t0;
	b->t1 = w->prev_t1;
	if ((b->text = strdup(w->prev_text)) == NULL)
		return;
	if (w->prev_status > 0 && w->prev_log[0] != '\0' &&
	    strpbrk(w->prev_log, " \t\r\n") == NULL)
		b->log = strdup(w->prev_log);
	w->br_n++;
	w->has_prev = 0;
}

void
client_batch_flush(struct worker *w)
{
	sig_atomic_t	 hard = got_hard;

	if (w->br_n == 0 && w->started == 0)
		return;
	finish_prev(w, 1, 0, 1);
	if (hard)
		got_hard = 1;
}

void
client_batch_release(struct worker *w)
{
	sig_atomic_t	 hard = got_hard;
	size_t		 n = w->bq_n - w->bq_at;

	if (n == 0)
		return;
	if (finish_prev(w, 1, 1, 1) == 0)
		say("gave back the %zu task%s of the batch not started", n,
		    n == 1 ? "" : "s");
	if (hard)
		got_hard = 1;
}

void
client_batch_drop(struct worker *w)
{
	bq_clear(w);
	br_clear(w);
	w->started = 0;
}

/*
 * Auto: the claim's cost should be at most a tenth of the batch's run
 * time, so K is 9 claims' worth of tasks, at most twice the last K and
 * PROTO_MAXBATCH / 2 (so that a report of a whole batch, its results and
 * the tasks given back, fits one request).
 */
#define BATCH_MAX	(PROTO_MAXBATCH / 2)
void
client_batch_tune(struct worker *w, double ms)
{
	double	 k;

	w->claim_ms = ms;
	if (w->o->batch > 0) {
		w->batch = w->o->batch < BATCH_MAX ? w->o->batch : BATCH_MAX;
		return;
	}
	if (w->task_ms <= 0)
		return;		/* no task ran yet: keep K */
	k = 9.0 * ms / (w->task_ms > 0.05 ? w->task_ms : 0.05);
	if (k > 2.0 * (double)w->batch)
		k = 2.0 * (double)w->batch;
	if (k > BATCH_MAX)
		k = BATCH_MAX;
	w->batch = k < 1 ? 1 : (long)(k + 0.999);
}

int
client_report_prev(struct worker *w)
{
	if ((!w->has_prev || w->prev_init) && w->br_n == 0 &&
	    w->bq_at == w->bq_n)
		return 0;
	if (got_hard && report_by == 0)
		report_by = now_sec() + (double)w->o->lease;
	got_hard = 0;	/* the report must get through, in time */
	if (finish_prev(w, 0, 1, 0) == 0)
		return 0;
	if (w->has_prev && !w->prev_init)
		say("line %zu of %s was not reported: it stays marked running "
		    "until the master has not heard from worker %ld for %ld s, "
		    "then another worker runs it", w->prev_line, w->where,
		    w->id, w->o->lease);
	else
		say("the results and queued tasks of a batch were not "
		    "reported to %s: they stay marked running until the "
		    "master has not heard from worker %ld for %ld s, then "
		    "other workers run them", w->where, w->id, w->o->lease);
	return -1;
}

void
client_flush_prev(struct worker *w)
{
	sig_atomic_t	 hard = got_hard;

	if ((!w->has_prev || w->prev_init) && w->br_n == 0)
		return;
	finish_prev(w, 0, 0, 0);
	if (hard)
		got_hard = 1;	/* a stop that came before is kept */
}

int
client_heartbeat(struct worker *w, size_t *kill_line)
{
	struct proto_req q;
	struct tp_reply	 r;
	char		 err[1024];
	int		 rv = 0;

	proto_req_init(&q, PROTO_HEARTBEAT);
	q.worker = w->id;
	q.lease = w->o->lease;
	if (tp_call(&w->tp, &q, -1, &r, err, sizeof(err)) == TP_OK) {
		if (r.p.kind == PROTO_LOST)
			rv = 1;
		else if (r.p.kind == PROTO_KILLREQ && kill_line != NULL) {
			*kill_line = r.p.pos;
			rv = 2;
		}
	}
	tp_reply_free(&r);
	return rv;
}

int
client_tally(struct worker *w, struct proto_tally *t)
{
	struct proto_req q;
	struct tp_reply	 r;
	int		 rv;

	proto_req_init(&q, PROTO_TALLY);
	if ((rv = client_call(w, &q, -1, &r)) == TP_OK &&
	    r.p.okw != PROTO_OK_TALLY) {
		say("unexpected reply to tally from %s", w->where);
		rv = TP_FATAL;
	}
	if (rv == TP_OK)
		*t = r.p.tally;
	tp_reply_free(&r);
	return rv == TP_OK ? 0 : -1;
}


void
client_goodbye(struct worker *w)
{
	struct proto_req q;
	struct tp_reply	 r;
	char		 err[1024];

	if (w->id < 0)
		return;
	proto_req_init(&q, PROTO_BYE);
	q.worker = w->id;
	tp_call(&w->tp, &q, -1, &r, err, sizeof(err));
	tp_reply_free(&r);
}

void
client_say_lost(const struct worker *w)
{
	say("the master declared worker %ld lost (not heard from for more "
	    "than %ld s): its task went to another worker", w->id,
	    w->o->lease);
}
