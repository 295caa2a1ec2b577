/*
 * status: the summary of a task file.  See status.h.
 */
#define _DEFAULT_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "claim.h"
#include "logs.h"
#include "status.h"

struct worker_row {
	long		 id;
	const char	*name;		/* registration line, after "W: " */
	size_t		 namelen;
	const char	*registered;	/* time stamp, or NULL */
	size_t		 task_line;	/* running, 0: none */
	const char	*task;
	size_t		 tasklen;
	time_t		 task_start;
	size_t		 queued;	/* its batch's tasks not started */
};

struct failed_row {
	size_t		 line;
	const char	*text, *status, *log;
	size_t		 textlen, statuslen, loglen;
	long		 worker;
	int		 final;		/* failed for good, or killed */
	size_t		 attempts;	/* failed attempts (#lost aside) */
	long		 limit;		/* the line's #retries, or -1 */
};

struct summary {
	struct proto_tally t;		/* the counts (claim_tally) */
	size_t		 blocked;	/* pending, waiting for their group */
	size_t		 queued;	/* running: claimed in a batch, not
					   started */
	size_t		 init;
	const char	*paused;	/* "#PAUSED since ...": the stamp */
	size_t		*by;		/* line i blocked for good by line */
	size_t		 nline;
	double		 busy_secs;	/* summed durations of ended tasks */
	size_t		 ended;
	struct worker_row *w;
	size_t		 nw;
	struct failed_row *f;
	size_t		 nf;
};

static struct logs *logs;	/* status_set_logs */

void
status_set_logs(struct logs *l)
{
	logs = l;
}

/*
 * The master's log of an attempt: its path in path, and its last n lines
 * in tail (a line cut to cut bytes).  Returns 0 when there is none.
 */
static int
master_log(size_t line, long worker, int n, size_t cut, char *path,
    size_t len, struct buf *tail)
{
	char	 name[64];
	size_t	 i, k;

	if (logs == NULL || logs->dirfd == -1 || worker < 0)
		return 0;
	buf_reset(tail);
	if (!logs_tail(logs, line, worker, n, 4096, tail))
		return 0;
	logs_name(line, worker, 0, name, sizeof(name));
	snprintf(path, len, "%s/%s", logs->dir, name);
	/* each line cut to fit, control bytes but tabs as '?' */
	for (i = 0, k = 0; i < tail->len; i++) {
		if (tail->s[i] == '\n') {
			k = 0;
			continue;
		}
		if ((unsigned char)tail->s[i] < 0x20 && tail->s[i] != '\t')
			tail->s[i] = '?';
		if (++k > cut)
			tail->s[i] = '\r';	/* dropped below */
	}
	for (i = 0, k = 0; i < tail->len; i++)
		if (tail->s[i] != '\r')
			tail->s[k++] = tail->s[i];
	tail->len = k;
	if (tail->len > 0 && tail->s[tail->len - 1] == '\n')
		tail->len--;
	return 1;
}

static int
two(const char *s, int *v)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return -1;
	*v = (s[0] - '0') * 10 + (s[1] - '0');
	return 0;
}

/* "MM-DD HH:MM:SS" on the master's clock, in the year that fits now. */
static time_t
stamp_time(const char *s, time_t now)
{
	struct tm	 tm, nowtm;
	time_t		 t;

	if (s == NULL)
		return (time_t)-1;
	localtime_r(&now, &nowtm);
	memset(&tm, 0, sizeof(tm));
	if (two(s, &tm.tm_mon) || s[2] != '-' || two(s + 3, &tm.tm_mday) ||
	    s[5] != ' ' || two(s + 6, &tm.tm_hour) || s[8] != ':' ||
	    two(s + 9, &tm.tm_min) || s[11] != ':' || two(s + 12, &tm.tm_sec))
		return (time_t)-1;
	tm.tm_mon--;
	tm.tm_year = nowtm.tm_year;
	tm.tm_isdst = -1;
	if ((t = mktime(&tm)) > now + 86400) {
		tm.tm_year--;
		tm.tm_isdst = -1;
		t = mktime(&tm);
	}
	return t;
}

static void
span(struct buf *b, double secs)
{
	long	 s = secs < 0 ? 0 : (long)(secs + 0.5);

	if (s < 60)
		buf_printf(b, "%lds", s);
	else if (s < 3600)
		buf_printf(b, "%ldm%02lds", s / 60, s % 60);
	else if (s < 86400)
		buf_printf(b, "%ldh%02ldm", s / 3600, s % 3600 / 60);
	else
		buf_printf(b, "%ldd%02ldh", s / 86400, s % 86400 / 3600);
}

static struct worker_row *
worker_of(struct summary *sm, long id)
{
	size_t	 i;

	for (i = 0; i < sm->nw; i++)
		if (sm->w[i].id == id)
			return &sm->w[i];
	return NULL;
}

static struct worker_row *
worker_add(struct summary *sm, long id)
{
	struct worker_row *w;

	if ((w = worker_of(sm, id)) != NULL)
		return w;
	if ((w = realloc(sm->w, (sm->nw + 1) * sizeof(*w))) == NULL)
		return NULL;
	sm->w = w;
	w = &sm->w[sm->nw++];
	memset(w, 0, sizeof(*w));
	w->id = id;
	return w;
}

/* A failed task (line i, s of len bytes) into the failed list. */
static int
add_failed(struct summary *sm, const struct tf_item *it, size_t i,
    const char *s, size_t len)
{
	struct failed_row *fr;
	const char	*p;

	if ((fr = realloc(sm->f, (sm->nf + 1) * sizeof(*fr))) == NULL)
		return -1;
	sm->f = fr;
	fr = &sm->f[sm->nf++];
	fr->line = i + 1;
	fr->final = it->kind == TF_GIVENUP;
	fr->attempts = tf_failures(it);
	if (tf_retries(it->text, it->textlen, &fr->limit) != 1)
		fr->limit = -1;
	fr->text = it->text;
	fr->textlen = it->textlen;
	fr->status = it->status;
	fr->statuslen = it->statuslen;
	fr->worker = it->worker;
	/* "#error1 log=PATH": where the worker kept its output */
	fr->log = NULL;
	fr->loglen = 0;
	if (it->status != NULL && (p = it->status + it->statuslen) <
	    s + len && (size_t)(s + len - p) > 5 &&
	    memcmp(p, " log=", 5) == 0) {
		fr->log = p + 5;
		fr->loglen = tf_rstrip(fr->log, (size_t)(s + len - fr->log));
	}
	return 0;
}

/* A registration line (s of len bytes): the worker's name and time. */
static int
add_registration(struct summary *sm, const struct tf_item *it,
    const char *s, size_t len)
{
	struct worker_row *w;
	const char	*p;

	if ((w = worker_add(sm, it->id)) == NULL)
		return -1;
	p = memchr(s, ':', len);
	w->name = p + 2 <= s + len ? p + 2 : s + len;
	w->namelen = (size_t)(s + len - w->name);
	/* "NAME (MM-DD HH:MM:SS)" */
	if (w->namelen >= TF_TIMELEN + 2 && w->name[w->namelen - 1] == ')') {
		w->registered = w->name + w->namelen - 1 - TF_TIMELEN;
		w->namelen -= TF_TIMELEN + 2;
		w->namelen = tf_rstrip(w->name, w->namelen);
	}
	return 0;
}

/*
 * Line i (s, len bytes) into the summary: its durations and its state.
 * Returns 0, or -1 with a message in err.
 */
static int
add_line(struct summary *sm, const char *s, size_t len, size_t i,
    time_t now, char *err, size_t errlen)
{
	struct tf_item	 it;
	struct tf_ann	 a, last;
	struct worker_row *w;
	const char	*p;

	if (tf_classify(s, len, i + 1, &it, err, errlen) == -1) {
		char m[512];

		snprintf(m, sizeof(m), "%s", err);
		snprintf(err, errlen, "line %zu: %s", i + 1, m);
		return -1;
	}
	memset(&last, 0, sizeof(last));
	for (p = it.ann; p != NULL && tf_ann_next(&p, it.ann + it.annlen,
	    &a) == 1; ) {
		time_t t0 = stamp_time(a.start, now);
		time_t t1 = stamp_time(a.end, now);

		if (!a.open && t0 != (time_t)-1 && t1 >= t0 &&
		    (it.kind == TF_DONE || it.kind == TF_FAILED ||
		    it.kind == TF_GIVENUP)) {
			sm->busy_secs += (double)(t1 - t0);
			sm->ended++;
		}
		last = a;
	}
	switch (it.kind) {
	case TF_INIT:
		sm->init++;
		break;
	case TF_PAUSE:
		if (sm->paused == NULL && len >= 14 + TF_TIMELEN &&
		    memcmp(s, "#PAUSED since ", 14) == 0)
			sm->paused = s + 14;
		break;
	case TF_RUNNING:
		if ((w = worker_add(sm, it.worker)) == NULL)
			goto nomem;
		if (claim_queued(&it)) {
			w->queued++;
			sm->queued++;
			break;
		}
		w->task_line = i + 1;
		w->task = it.text;
		w->tasklen = it.textlen;
		w->task_start = stamp_time(last.start, now);
		break;
	case TF_FAILED:
	case TF_GIVENUP:
		if (add_failed(sm, &it, i, s, len) == -1)
			goto nomem;
		break;
	case TF_REGISTRATION:
		if (add_registration(sm, &it, s, len) == -1)
			goto nomem;
		break;
	default:
		break;
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

static int
summarize(const struct tf_file *f, struct live *lv, time_t now,
    struct summary *sm, char *err, size_t errlen)
{
	unsigned char	*waiting = NULL;
	long		*ids = NULL;
	size_t		 i;

	memset(sm, 0, sizeof(*sm));
	sm->nline = f->nline;
	for (i = 0; i < f->nline; i++)
		if (add_line(sm, f->buf + f->off[i], tf_linelen(f, i), i, now,
		    err, errlen) == -1)
			return -1;
	/* by id; a few workers: an insertion sort (qsort costs 1 KB here) */
	for (i = 1; i < sm->nw; i++) {
		struct worker_row x = sm->w[i];
		size_t k;

		for (k = i; k > 0 && sm->w[k - 1].id > x.id; k--)
			sm->w[k] = sm->w[k - 1];
		sm->w[k] = x;
	}
	/* the counts; pending tasks held back by groups, or for good */
	if ((sm->by = calloc(f->nline + 1, sizeof(*sm->by))) == NULL ||
	    (waiting = calloc(f->nline + 1, 1)) == NULL ||
	    (ids = calloc(lv->n + 1, sizeof(*ids))) == NULL ||
	    claim_tally(f, ids, live_ids(lv, (long long)now, ids), &sm->t,
	    sm->by, waiting) == -1) {
		free(ids);
		free(waiting);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < f->nline; i++)
		sm->blocked += waiting[i];
	free(waiting);
	free(ids);
	return 0;
}

/*
 * Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF), or 0.
 */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t	 need, k;
	unsigned lo = 0x80, hi = 0xbf;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 1;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < need + 1 || s[1] < lo || s[1] > hi)
		return 0;
	for (k = 2; k <= need; k++)
		if (s[k] < 0x80 || s[k] > 0xbf)
			return 0;
	return need + 1;
}

/* JSON string: escapes, and invalid UTF-8 as U+FFFD. */
static void
json_str(struct buf *b, const char *s, size_t n)
{
	size_t	 i = 0;
	unsigned char c;

	buf_addc(b, '"');
	while (i < n) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, (char)c);
			i++;
		} else if (c < 0x20) {
			buf_printf(b, "\\u%04x", c);
			i++;
		} else if (c < 0x80) {
			buf_addc(b, (char)c);
			i++;
		} else {
			/* a well-formed UTF-8 sequence, or U+FFFD */
			size_t need = utf8_len((const unsigned char *)s + i,
			    n - i);

			if (need > 0) {
				buf_add(b, s + i, need);
				i += need;
			} else {
				buf_adds(b, "\\ufffd");
				i++;
			}
		}
	}
	buf_addc(b, '"');
}

static const char *
col(int flags, const char *code)
{
	return flags & STATUS_COLOR ? code : "";
}

/* The figures both reports show, from the summary. */
struct figures {
	size_t		 total;		/* tasks, init lines aside */
	size_t		 finished;	/* done, failed for good, killed, or
					   blocked by those */
	size_t		 busy;		/* workers with a task */
	double		 avg;		/* seconds a task; -1: none ended */
	double		 eta;		/* seconds left; -1: unknown */
};

static void
figures(const struct summary *sm, struct figures *fg)
{
	size_t	 i;

	const struct proto_tally *t = &sm->t;

	fg->total = (size_t)(t->done + t->failed + t->killed + t->blocked +
	    t->retry + t->pending + t->running);
	fg->finished = (size_t)(t->done + t->failed + t->killed + t->blocked);
	fg->busy = 0;
	for (i = 0; i < sm->nw; i++)
		fg->busy += sm->w[i].task_line > 0;
	fg->avg = sm->ended > 0 ? sm->busy_secs / (double)sm->ended : -1;
	fg->eta = -1;
	if (fg->avg >= 0 && fg->busy > 0)
		fg->eta = fg->avg * (double)(t->pending + t->retry) /
		    (double)fg->busy + fg->avg / 2;
}

/* A JSON number of whole seconds, or null when secs < 0. */
static void
json_secs(struct buf *out, double secs)
{
	if (secs >= 0)
		buf_printf(out, "%ld", (long)(secs + 0.5));
	else
		buf_adds(out, "null");
}

/* ,"master_log":PATH,"KEY":TEXT (the last n lines), or nulls */
static void
json_log(struct buf *out, size_t line, long worker, int n, const char *key)
{
	struct buf	 tail = BUF_INIT;
	char		 path[PATH_MAX + 64];

	if (master_log(line, worker, n, 200, path, sizeof(path), &tail)) {
		buf_adds(out, ",\"master_log\":");
		json_str(out, path, strlen(path));
		buf_printf(out, ",\"%s\":", key);
		json_str(out, tail.s != NULL ? tail.s : "", tail.len);
	} else
		buf_printf(out, ",\"master_log\":null,\"%s\":null", key);
	buf_free(&tail);
}

/* A file's time stamp as seconds since the epoch, or null. */
static void
json_time(struct buf *out, const char *stamp, time_t now)
{
	time_t	 t = stamp_time(stamp, now);

	if (t != (time_t)-1)
		buf_printf(out, "%lld", (long long)t);
	else
		buf_adds(out, "null");
}

static void
json_workers(struct buf *out, const struct summary *sm, struct live *lv,
    time_t now)
{
	struct live_ent	*le;
	size_t		 i;

	for (i = 0; i < sm->nw; i++) {
		struct worker_row *w = &sm->w[i];

		le = live_get(lv, w->id);
		buf_printf(out, "%s{\"id\":%ld,\"name\":", i ? "," : "",
		    w->id);
		json_str(out, w->name ? w->name : "", w->namelen);
		/* times in seconds since the epoch, as everywhere here */
		buf_adds(out, ",\"registered\":");
		json_time(out, w->registered, now);
		if (le != NULL)
			buf_printf(out, ",\"last_heard\":%lld,\"lease\":%ld,"
			    "\"lost\":%s", le->seen, le->lease, le->lost ?
			    "true" : "false");
		else
			buf_adds(out, ",\"last_heard\":null,\"lease\":null,"
			    "\"lost\":false");
		if (w->task_line > 0) {
			buf_printf(out, ",\"task\":{\"line\":%zu,\"text\":",
			    w->task_line);
			json_str(out, w->task, w->tasklen);
			buf_printf(out, ",\"elapsed\":%lld",
			    w->task_start == (time_t)-1 ? -1LL :
			    (long long)(now - w->task_start));
			json_log(out, w->task_line, w->id, 1, "last_line");
			buf_addc(out, '}');
		} else
			buf_adds(out, ",\"task\":null");
		buf_printf(out, ",\"queued\":%zu}", w->queued);
	}
}

static void
json_failed(struct buf *out, const struct summary *sm)
{
	size_t	 i;

	for (i = 0; i < sm->nf; i++) {
		buf_printf(out, "%s{\"line\":%zu,\"worker\":%ld,\"status\":",
		    i ? "," : "", sm->f[i].line, sm->f[i].worker);
		json_str(out, sm->f[i].status ? sm->f[i].status : "",
		    sm->f[i].statuslen);
		buf_adds(out, ",\"text\":");
		json_str(out, sm->f[i].text, sm->f[i].textlen);
		buf_adds(out, ",\"log\":");
		if (sm->f[i].log != NULL)
			json_str(out, sm->f[i].log, sm->f[i].loglen);
		else
			buf_adds(out, "null");
		json_log(out, sm->f[i].line, sm->f[i].worker, 5, "tail");
		buf_printf(out, ",\"final\":%s,\"attempts\":%zu,"
		    "\"retries_left\":", sm->f[i].final ? "true" : "false",
		    sm->f[i].attempts);
		if (sm->f[i].final)
			buf_adds(out, "0");
		else if (sm->f[i].limit >= 0)
			buf_printf(out, "%ld", sm->f[i].limit + 1 -
			    (long)sm->f[i].attempts);
		else
			buf_adds(out, "null");
		buf_addc(out, '}');
	}
}

static void
json_blocked(struct buf *out, const struct summary *sm)
{
	size_t	 i;
	int	 first = 1;

	for (i = 0; i < sm->nline; i++)
		if (sm->by[i] != 0) {
			buf_printf(out, "%s{\"line\":%zu,\"by\":%zu}",
			    first ? "" : ",", i + 1, sm->by[i]);
			first = 0;
		}
}

/* The report as one JSON document on a line. */
static void
format_json(struct buf *out, const struct summary *sm, struct live *lv,
    const char *name, time_t now)
{
	struct figures	 fg;

	figures(sm, &fg);
	buf_adds(out, "{\"file\":");
	json_str(out, name, strlen(name));
	buf_printf(out, ",\"time\":%lld,\"paused\":", (long long)now);
	json_time(out, sm->paused, now);
	buf_printf(out, ",\"tasks\":{\"total\":%zu,"
	    "\"pending\":%lld,\"blocked\":%zu,\"running\":%lld,"
	    "\"queued\":%zu,"
	    "\"done\":%lld,\"failed\":%lld,\"to_retry\":%lld,"
	    "\"killed\":%lld,\"blocked_by_failed\":%lld},"
	    "\"init_lines\":%zu,\"workers\":[", fg.total, sm->t.pending,
	    sm->blocked, sm->t.running - (long long)sm->queued, sm->queued,
	    sm->t.done, sm->t.failed, sm->t.retry,
	    sm->t.killed, sm->t.blocked, sm->init);
	json_workers(out, sm, lv, now);
	buf_adds(out, "],\"failed\":[");
	json_failed(out, sm);
	buf_adds(out, "],\"blocked_by_failed\":[");
	json_blocked(out, sm);
	buf_printf(out, "],\"progress\":{\"finished\":%zu,"
	    "\"total\":%zu,\"average_seconds\":", fg.finished, fg.total);
	json_secs(out, fg.avg);
	buf_adds(out, ",\"eta_seconds\":");
	json_secs(out, fg.eta);
	buf_adds(out, "}}\n");
}

/* The title, the counts and the progress bar. */
static void
text_head(struct buf *out, const struct summary *sm, const char *name,
    time_t now, int flags)
{
	struct figures	 fg;
	struct tm	 tm;
	char		 stamp[TF_TIMELEN + 1];

	figures(sm, &fg);
	localtime_r(&now, &tm);
	claim_stamp(&tm, stamp);
	buf_printf(out, "%s%s%s at %s\n", col(flags, "\033[1m"), name,
	    col(flags, "\033[0m"), stamp);
	if (sm->paused != NULL)
		buf_printf(out, "  %sPAUSED%s since %.*s: workers start nothing "
		    "new (rtq --resume)\n", col(flags, "\033[33m"),
		    col(flags, "\033[0m"), TF_TIMELEN, sm->paused);
	buf_printf(out, "  %zu tasks: %s%lld done%s, %s%lld running%s, ",
	    fg.total, col(flags, "\033[32m"), sm->t.done,
	    col(flags, "\033[0m"), col(flags, "\033[33m"),
	    sm->t.running - (long long)sm->queued, col(flags, "\033[0m"));
	if (sm->queued > 0)
		buf_printf(out, "%zu queued in batches, ", sm->queued);
	buf_printf(out, "%s%lld failed%s, %lld pending", sm->t.failed ?
	    col(flags, "\033[31m") : "", sm->t.failed, sm->t.failed ?
	    col(flags, "\033[0m") : "", sm->t.pending);
	if (sm->blocked > 0)
		buf_printf(out, " (%zu waiting for their group)", sm->blocked);
	if (sm->t.retry > 0)
		buf_printf(out, ", %lld to retry", sm->t.retry);
	if (sm->t.blocked > 0)
		buf_printf(out, ", %lld blocked by failed tasks", sm->t.blocked);
	if (sm->t.killed > 0)
		buf_printf(out, ", %lld killed", sm->t.killed);
	buf_adds(out, "\n");
	if (fg.total > 0) {
		size_t bar = 30, full = fg.finished * bar / fg.total, k;

		buf_adds(out, "  [");
		for (k = 0; k < bar; k++)
			buf_addc(out, k < full ? '#' : '.');
		buf_printf(out, "] %zu%%", fg.finished * 100 / fg.total);
		if (fg.avg >= 0) {
			buf_adds(out, ", ");
			span(out, fg.avg);
			buf_adds(out, " a task");
		}
		if (fg.eta >= 0 && fg.finished < fg.total) {
			buf_adds(out, ", about ");
			span(out, fg.eta);
			buf_printf(out, " left with %zu busy worker%s",
			    fg.busy, fg.busy == 1 ? "" : "s");
		}
		buf_adds(out, "\n");
	}
}

/* "log: PATH" and the last n lines after lead, on lines of their own */
static void
text_log(struct buf *out, size_t line, long worker, int n, const char *lead)
{
	struct buf	 tail = BUF_INIT;
	char		 path[PATH_MAX + 64];
	const char	*s, *e, *nl;

	if (master_log(line, worker, n, 70, path, sizeof(path), &tail)) {
		if (out->len > 0 && out->s[out->len - 1] != '\n')
			buf_addc(out, '\n');
		buf_printf(out, "        log: %s", path);
		for (s = tail.s, e = s + tail.len; s != NULL && s < e;
		    s = nl + 1) {
			if ((nl = memchr(s, '\n', (size_t)(e - s))) == NULL)
				nl = e;
			buf_printf(out, "\n        %s%.*s", lead, (int)(nl - s),
			    s);
		}
	}
	buf_free(&tail);
}

static void
text_workers(struct buf *out, const struct summary *sm, struct live *lv,
    time_t now, int flags)
{
	struct live_ent	*le;
	size_t		 i, gone = 0;

	if (sm->nw > 0)
		buf_printf(out, "%sworkers%s\n", col(flags, "\033[1m"),
		    col(flags, "\033[0m"));
	for (i = 0; i < sm->nw; i++) {
		struct worker_row *w = &sm->w[i];

		le = live_get(lv, w->id);
		/*
		 * A worker the master does not know (it said bye, or is
		 * one of runtask.sh's) with no task: counted, not listed.
		 */
		if (le == NULL && w->task_line == 0 && !(flags & STATUS_ALL)) {
			gone++;
			continue;
		}
		buf_printf(out, "  %4ld  %-24.*s", w->id, (int)(w->namelen >
		    24 ? 24 : w->namelen), w->name ? w->name : "");
		if (w->registered)
			buf_printf(out, "  since %.*s", TF_TIMELEN,
			    w->registered);
		if (le != NULL && le->lost)
			buf_printf(out, "  %sLOST%s", col(flags, "\033[31m"),
			    col(flags, "\033[0m"));
		if (le != NULL) {
			buf_adds(out, "  heard ");
			span(out, (double)(now - le->seen));
			buf_adds(out, " ago");
		}
		if (w->task_line > 0) {
			buf_printf(out, "\n        line %zu", w->task_line);
			if (w->task_start != (time_t)-1) {
				buf_adds(out, ", ");
				span(out, (double)(now - w->task_start));
			}
			buf_printf(out, ": %.*s", (int)(w->tasklen > 60 ? 60 :
			    w->tasklen), w->task);
			text_log(out, w->task_line, w->id, 1, "last: ");
		}
		if (w->queued > 0)
			buf_printf(out, "\n        and %zu more of its batch, "
			    "not started", w->queued);
		buf_adds(out, "\n");
	}
	if (gone > 0)
		buf_printf(out, "  and %zu that left or are not heard from "
		    "(--all lists them)\n", gone);
}

/* How many digits n has: line numbers are aligned on the largest. */
static int
digits(size_t n)
{
	int	 d = 1;

	while (n >= 10) {
		n /= 10;
		d++;
	}
	return d;
}

static void
text_failed(struct buf *out, const struct summary *sm, int flags)
{
	size_t	 i, last = 0;
	int	 first, dw;

	/* line numbers aligned on the largest listed */
	for (i = 0; i < sm->nf; i++)
		if (sm->f[i].line > last)
			last = sm->f[i].line;
	for (i = 0; i < sm->nline; i++)
		if (sm->by[i] != 0)
			last = i + 1;
	dw = digits(last);
	if (sm->nf > 0)
		buf_printf(out, "%sfailed%s\n", col(flags, "\033[1m"),
		    col(flags, "\033[0m"));
	for (i = 0; i < sm->nf; i++) {
		const struct failed_row *fr = &sm->f[i];

		buf_printf(out, "  line %*zu  %s#%.*s%s  worker %ld  %.*s\n",
		    dw, fr->line, col(flags, "\033[31m"),
		    (int)fr->statuslen,
		    fr->status ? fr->status : "", col(flags, "\033[0m"),
		    fr->worker, (int)(fr->textlen > 60 ? 60 : fr->textlen),
		    fr->text);
		if (fr->status != NULL && tf_status_is(fr->status,
		    fr->statuslen, "killed"))
			buf_adds(out, "        killed: not retried\n");
		else if (fr->final)
			buf_printf(out, "        failed for good after %zu "
			    "attempt%s\n", fr->attempts, fr->attempts == 1 ?
			    "" : "s");
		else if (fr->status != NULL && tf_status_is(fr->status,
		    fr->statuslen, "lost"))
			buf_adds(out, "        its worker was lost; to be run "
			    "by another worker\n");
		else
			buf_printf(out, "        %zu failed attempt%s; to be "
			    "retried by another worker\n", fr->attempts,
			    fr->attempts == 1 ? "" : "s");
		if (fr->log != NULL)
			buf_printf(out, "        log (on worker %ld): %.*s\n",
			    fr->worker, (int)fr->loglen, fr->log);
		text_log(out, fr->line, fr->worker, 3, "| ");
		if (out->len > 0 && out->s[out->len - 1] != '\n')
			buf_addc(out, '\n');
	}
	for (i = 0, first = 1; i < sm->nline; i++) {
		if (sm->by[i] == 0)
			continue;
		if (first)
			buf_printf(out, "%sblocked%s\n", col(flags, "\033[1m"),
			    col(flags, "\033[0m"));
		first = 0;
		buf_printf(out, "  line %*zu  blocked by failed line %zu\n",
		    dw, i + 1, sm->by[i]);
	}
}

/* The report for a terminal: colors with STATUS_COLOR. */
static void
format_text(struct buf *out, const struct summary *sm, struct live *lv,
    const char *name, time_t now, int flags)
{
	text_head(out, sm, name, now, flags);
	text_workers(out, sm, lv, now, flags);
	text_failed(out, sm, flags);
}

/*
 * Cut each line of text (from byte `from` of out on) to width columns:
 * a character is a byte that does not continue a UTF-8 sequence, and an
 * escape sequence "ESC [ ... m" takes no column.  A cut line ends with an
 * ellipsis (and a colour reset when it had colours).  Returns 0 or -1.
 */
static int
fit(struct buf *out, size_t from, int width)
{
	struct buf	 b = BUF_INIT;
	const char	*p = out->s + from, *end = out->s + out->len, *nl;
	int		 cols, esc;

	if (width <= 0 || out->s == NULL)
		return 0;
	for (; p < end; p = nl + 1) {
		const char *q, *cut = NULL;

		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		for (q = p, cols = 0, esc = 0; q < nl; q++) {
			if (*q == '\033') {
				esc = 1;
				while (q < nl && *q != 'm')
					q++;
				continue;
			}
			if (((unsigned char)*q & 0xc0) == 0x80)
				continue;
			if (++cols == width && cut == NULL)
				cut = q;	/* the last column: maybe "..." */
			if (cols > width)
				break;
		}
		if (q < nl) {
			buf_add(&b, p, (size_t)(cut - p));
			buf_adds(&b, "\xe2\x80\xa6");	/* U+2026 */
			if (esc)
				buf_adds(&b, "\033[0m");
		} else
			buf_add(&b, p, (size_t)(nl - p));
		if (nl < end)
			buf_addc(&b, '\n');
	}
	out->len = from;
	buf_add(out, b.s, b.len);
	buf_free(&b);
	return buf_failed(out) ? -1 : 0;
}

int
status_format(const struct tf_file *f, struct live *lv, const char *name,
    time_t now, int flags, int width, struct buf *out, char *err,
    size_t errlen)
{
	struct summary	 sm;
	size_t		 from = out->len;

	if (summarize(f, lv, now, &sm, err, errlen) == -1) {
		free(sm.w);
		free(sm.f);
		free(sm.by);
		return -1;
	}
	if (flags & STATUS_JSON)
		format_json(out, &sm, lv, name, now);
	else {
		format_text(out, &sm, lv, name, now, flags);
		fit(out, from, width);
	}
	free(sm.w);
	free(sm.f);
	free(sm.by);
	return out->s == NULL || buf_failed(out) ? -1 : 0;
}
