/*
 * timeline: rtq --timeline FILE [-o OUT.svg].  A Gantt chart of the
 * attempts the task file records: one row per worker (its registration
 * gives the name), one bar per annotation " # worker W # (START ... END)
 * #STATUS", coloured by how it ended; the total span, each worker's busy
 * share, and the critical path: the chain of tasks, each depending on the
 * one before it (common/plan.c's rule), whose last attempts take longest.
 *
 * Annotation times carry no year.  They are placed on a circle of 366
 * days, and the chart starts after the widest gap between them: a queue
 * that runs over New Year (12-31 ... 01-01) stays in one piece, as long
 * as its attempts span less than about half a year.
 *
 * The SVG is one self-contained file: an inline style sheet, generic font
 * families, a <title> (a tooltip) on each bar, no script.  On a terminal,
 * without -o, the same chart is drawn in text, one character a time slot,
 * never wider than $COLUMNS (or the terminal's width).
 */
#define _DEFAULT_SOURCE
#include <sys/ioctl.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "claim.h"
#include "fdio.h"
#include "plan.h"
#include "sig.h"
#include "taskfile.h"
#include "view.h"

#define YEAR	(366L * 86400)

enum outcome { O_OK, O_FAILED, O_TIMEOUT, O_LOST, O_KILLED, O_RUNNING, O_N };

static const char *const oname[O_N] = {
	"ok", "failed", "timeout", "lost", "killed", "running"
};
static const char *const ocolor[O_N] = {
	"#43a047", "#e53935", "#fb8c00", "#8e24aa", "#757575", "#1e88e5"
};
static const char *const ochar[O_N] = { "\xe2\x96\x88", "x", "t", "?",
	"k", ">" };
static const char *const oansi[O_N] = { "32", "31", "33", "35", "90",
	"34" };

struct att {
	size_t		 line;		/* 1-based */
	long		 worker;
	long		 t0, t1;	/* seconds on the unrolled axis */
	enum outcome	 o;
	const char	*status;
	size_t		 statuslen;
	const char	*s0, *s1;	/* the stamps; s1 NULL: running */
	int		 crit;
};

struct row {
	long		 id;
	const char	*name;
	size_t		 namelen;
	long		 busy;
};

struct tl {
	const struct tf_file *f;
	struct plan	 pl;
	struct att	*a;
	size_t		 na;
	struct row	*r;
	size_t		 nr;
	long		 t0, t1;	/* the span */
	long		 origin;	/* circle position of axis 0 */
	size_t		*path;		/* critical path, lines, in order */
	size_t		 npath;
	long		 pathlen;	/* its seconds */
	char		 now[TF_TIMELEN + 1];
};

/* "MM-DD HH:MM:SS" as seconds from the start of a leap year, or -1. */
static long
stamp_secs(const char *s)
{
	static const int cum[12] = { 0, 31, 60, 91, 121, 152, 182, 213, 244,
	    274, 305, 335 };
	int	 v[5], i;

	if (s == NULL)
		return -1;
	for (i = 0; i < 5; i++) {
		const char *p = s + 3 * i;

		if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9' ||
		    (i < 4 && p[2] != "- ::"[i]))
			return -1;
		v[i] = (p[0] - '0') * 10 + (p[1] - '0');
	}
	if (v[0] < 1 || v[0] > 12 || v[1] < 1 || v[1] > 31 || v[2] > 23 ||
	    v[3] > 59 || v[4] > 60)
		return -1;
	return ((long)(cum[v[0] - 1] + v[1] - 1) * 24 + v[2]) * 3600L +
	    v[3] * 60L + v[4];
}

/* Circle seconds back to "MM-DD HH:MM:SS" (leap-year days). */
static void
secs_stamp(long t, char out[TF_TIMELEN + 1])
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };
	int	 d = (int)(((t % YEAR) + YEAR) % YEAR), day = d / 86400, m = 0;
	char	 s[64];

	while (m < 11 && day >= mdays[m])
		day -= mdays[m++];
	snprintf(s, sizeof(s), "%02d-%02d %02d:%02d:%02d", m + 1, day + 1,
	    d % 86400 / 3600, d % 3600 / 60, d % 60);
	memcpy(out, s, TF_TIMELEN);
	out[TF_TIMELEN] = '\0';
}

static enum outcome
outcome_of(const struct tf_ann *a)
{
	if (a->open)
		return O_RUNNING;
	if (tf_status_ok(a->status, a->statuslen))
		return O_OK;
	if (tf_status_is(a->status, a->statuslen, "error124"))
		return O_TIMEOUT;
	if (tf_status_is(a->status, a->statuslen, "lost"))
		return O_LOST;
	if (tf_status_is(a->status, a->statuslen, "killed"))
		return O_KILLED;
	return O_FAILED;
}

static int
cmp_long(const void *x, const void *y)
{
	long	 a = *(const long *)x, b = *(const long *)y;

	return a < b ? -1 : a > b;
}

static struct row *
row_get(struct tl *t, long id)
{
	size_t	 i;
	void	*v;

	for (i = 0; i < t->nr; i++)
		if (t->r[i].id == id)
			return &t->r[i];
	if ((v = realloc(t->r, (t->nr + 1) * sizeof(*t->r))) == NULL)
		return NULL;
	t->r = v;
	memset(&t->r[t->nr], 0, sizeof(*t->r));
	t->r[t->nr].id = id;
	return &t->r[t->nr++];
}

/* The registration "# worker W: NAME (time)": NAME into row W. */
static int
add_registration(struct tl *t, const char *s, size_t len, long id)
{
	const char	*p = memchr(s, ':', len), *end = s + len;
	struct row	*r;

	if ((r = row_get(t, id)) == NULL)
		return -1;
	if (p == NULL)
		return 0;
	for (p++; p < end && *p == ' '; p++)
		;
	end = s + tf_rstrip(s, len);
	/* the name ends before " (MM-DD HH:MM:SS)" */
	if (end - p >= TF_TIMELEN + 3 && end[-1] == ')')
		end -= TF_TIMELEN + 3;
	r->name = p;
	r->namelen = end > p ? (size_t)(end - p) : 0;
	return 0;
}

/*
 * Unroll circle times: the axis starts after the widest gap between
 * them.  t->a[].t0/t1 hold circle seconds on entry.
 */
static int
unroll(struct tl *t, long nowc, int use_now)
{
	long	*v, gap = -1, g;
	size_t	 n = 0, i;

	if ((v = calloc(2 * t->na + 1, sizeof(*v))) == NULL)
		return -1;
	for (i = 0; i < t->na; i++) {
		v[n++] = t->a[i].t0;
		if (t->a[i].t1 >= 0)
			v[n++] = t->a[i].t1;
	}
	if (use_now)
		v[n++] = nowc;
	qsort(v, n, sizeof(*v), cmp_long);
	t->origin = v[0];
	for (i = 0; i < n; i++) {
		g = i + 1 < n ? v[i + 1] - v[i] : v[0] + YEAR - v[i];
		if (g > gap) {
			gap = g;
			t->origin = i + 1 < n ? v[i + 1] : v[0];
		}
	}
	free(v);
#define UNROLL(x) ((((x) - t->origin) % YEAR + YEAR) % YEAR)
	for (i = 0; i < t->na; i++) {
		t->a[i].t0 = UNROLL(t->a[i].t0);
		t->a[i].t1 = t->a[i].t1 >= 0 ? UNROLL(t->a[i].t1) :
		    UNROLL(nowc);
		if (t->a[i].t1 < t->a[i].t0)	/* a skewed clock */
			t->a[i].t1 = t->a[i].t0;
	}
#undef UNROLL
	return 0;
}

/* The critical path over the tasks' last attempts. */
static int
critical(struct tl *t)
{
	size_t	 n = t->pl.n, i, j, *prev, *last, best = 0;
	long	*len, w;
	int	 rv = -1;

	prev = calloc(n + 1, sizeof(*prev));
	last = calloc(n + 1, sizeof(*last));
	len = calloc(n + 1, sizeof(*len));
	if (prev == NULL || last == NULL || len == NULL)
		goto out;
	/* last[i]: 1 + the index of line i's last attempt, or 0 */
	for (i = 0; i < t->na; i++)
		last[t->a[i].line - 1] = i + 1;
	for (i = 0; i < n; i++) {
		if (last[i] == 0)
			continue;
		w = t->a[last[i] - 1].t1 - t->a[last[i] - 1].t0;
		len[i] = w;
		prev[i] = 0;
		for (j = 0; j < i; j++)
			if (last[j] != 0 && len[j] + w > len[i] &&
			    plan_depends(&t->pl.l[j], &t->pl.l[i])) {
				len[i] = len[j] + w;
				prev[i] = j + 1;
			}
		if (best == 0 || len[i] > len[best - 1])
			best = i + 1;
	}
	t->npath = 0;
	for (i = best; i != 0; i = prev[i - 1])
		t->npath++;
	if (t->npath > 0 && (t->path = calloc(t->npath,
	    sizeof(*t->path))) == NULL)
		goto out;
	j = t->npath;
	for (i = best; i != 0; i = prev[i - 1]) {
		t->path[--j] = i;
		t->a[last[i - 1] - 1].crit = 1;
	}
	t->pathlen = best ? len[best - 1] : 0;
	rv = 0;
out:
	free(prev);
	free(last);
	free(len);
	return rv;
}

/* Read the attempts, rows and critical path.  0, or -1 with err. */
static int
tl_make(struct tl *t, const struct tf_file *f, char *err, size_t errlen)
{
	struct tf_item	 it;
	struct tf_ann	 a;
	const char	*p, *s;
	size_t		 i, len, cap = 0;
	struct row	*r;
	int		 running = 0;
	struct tm	 tm;
	time_t		 now = time(NULL);
	void		*v;
	const char	*e = getenv("RTQ_NOW");
	char		*end;
	long long	 ll;

	/* the test clock of rtq-claim: seconds since the epoch, or +-N */
	if (e != NULL && *e != '\0') {
		ll = strtoll(e, &end, 10);
		if (*end != '\0') {
			snprintf(err, errlen, "RTQ_NOW=\"%.64s\": expected "
			    "seconds since the epoch, or +N or -N", e);
			return -1;
		}
		now = *e == '+' || *e == '-' ? now + (time_t)ll : (time_t)ll;
	}

	memset(t, 0, sizeof(*t));
	t->f = f;
	if (localtime_r(&now, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	claim_stamp(&tm, t->now);
	if (plan_make(f, &t->pl, err, errlen) == -1)
		return -1;
	for (i = 0; i < f->nline; i++) {
		s = f->buf + f->off[i];
		len = tf_linelen(f, i);
		if (tf_classify(s, len, i + 1, &it, err, errlen) == -1 &&
		    it.ann == NULL)
			continue;
		if (it.kind == TF_REGISTRATION) {
			if (add_registration(t, s, len, it.id) == -1)
				goto nomem;
			continue;
		}
		if (it.kind == TF_ORPHAN)
			continue;
		for (p = it.ann; p != NULL && tf_ann_next(&p, it.ann +
		    it.annlen, &a) == 1; ) {
			long c0 = stamp_secs(a.start), c1 = stamp_secs(a.end);

			/* "worker -": cancelled before it ran, no attempt */
			if (a.worker < 0 || c0 < 0 || (!a.open && c1 < 0))
				continue;
			if (t->na == cap) {
				cap = cap ? 2 * cap : 64;
				if ((v = realloc(t->a, cap * sizeof(*t->a)))
				    == NULL)
					goto nomem;
				t->a = v;
			}
			memset(&t->a[t->na], 0, sizeof(*t->a));
			t->a[t->na].line = i + 1;
			t->a[t->na].worker = a.worker;
			t->a[t->na].o = outcome_of(&a);
			t->a[t->na].status = a.status;
			t->a[t->na].statuslen = a.statuslen;
			t->a[t->na].s0 = a.start;
			t->a[t->na].s1 = a.open ? NULL : a.end;
			t->a[t->na].t0 = c0;
			t->a[t->na].t1 = a.open ? -1 : c1;
			running |= a.open;
			if (row_get(t, a.worker) == NULL)
				goto nomem;
			t->na++;
		}
	}
	err[0] = '\0';
	if (t->na == 0)
		return 0;
	if (unroll(t, stamp_secs(t->now), running) == -1)
		goto nomem;
	t->t0 = t->a[0].t0;
	t->t1 = t->a[0].t1;
	for (i = 0; i < t->na; i++) {
		if (t->a[i].t0 < t->t0)
			t->t0 = t->a[i].t0;
		if (t->a[i].t1 > t->t1)
			t->t1 = t->a[i].t1;
		if ((r = row_get(t, t->a[i].worker)) != NULL)
			r->busy += t->a[i].t1 - t->a[i].t0;
	}
	if (critical(t) == -1)
		goto nomem;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

static void
tl_free(struct tl *t)
{
	plan_free(&t->pl);
	free(t->a);
	free(t->r);
	free(t->path);
}

static int
cmp_row(const void *x, const void *y)
{
	const struct row *a = x, *b = y;

	return a->id < b->id ? -1 : a->id > b->id;
}

/* "1h02m", "3m05s", "12s". */
static void
dur(char *out, size_t n, long s)
{
	if (s >= 86400)
		snprintf(out, n, "%ldd%02ldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(out, n, "%ldh%02ldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(out, n, "%ldm%02lds", s / 60, s % 60);
	else
		snprintf(out, n, "%lds", s);
}

/* A tick step of about span/want seconds, from a list of round ones. */
static long
tick_step(long span, int want)
{
	static const long steps[] = { 1, 2, 5, 10, 15, 30, 60, 120, 300, 600,
	    900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800,
	    604800, 1209600, 2592000 };
	size_t	 i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (span / steps[i] <= want)
			return steps[i];
	return steps[i - 1];
}

/* A tick's label: the clock time, with the date when steps are long. */
static void
tick_label(const struct tl *t, long x, long step, char *out, size_t n)
{
	char	 st[TF_TIMELEN + 1];

	secs_stamp(t->origin + x, st);
	if (step >= 86400)
		snprintf(out, n, "%.5s", st);
	else if (step >= 3600)
		snprintf(out, n, "%.11s", st);
	else if (step >= 60)
		snprintf(out, n, "%.5s", st + 6);
	else
		snprintf(out, n, "%.8s", st + 6);
}

/* ---------------------------------------------------------------- SVG */

#define SVG_W		1000
#define SVG_LEFT	190
#define SVG_RIGHT	80
#define SVG_TOP		58
#define SVG_ROW		26

static void
svg(struct buf *b, const struct tl *t, const char *where)
{
	double	 plotw = SVG_W - SVG_LEFT - SVG_RIGHT, scale;
	long	 span = t->t1 - t->t0, step, x;
	size_t	 i, k, ri;
	int	 h = SVG_TOP + (int)t->nr * SVG_ROW + 90;
	char	 d[32], lab[32], st[TF_TIMELEN + 1];

	scale = span > 0 ? plotw / (double)span : 0;
	buf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
	    "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" "
	    "font-size=\"12\">\n", SVG_W, h, SVG_W, h);
	buf_adds(b, "<title>rtq timeline of ");
	view_xml_str(b, where, strlen(where));
	buf_adds(b, "</title>\n<style>\n"
	    ".bar{stroke:#fff;stroke-width:0.5}\n"
	    ".crit{stroke:#000;stroke-width:2}\n"
	    ".axis{stroke:#999;stroke-width:1}\n"
	    ".grid{stroke:#ddd;stroke-width:1}\n"
	    ".path{fill:none;stroke:#000;stroke-width:1.5;"
	    "stroke-dasharray:4 3}\n"
	    "text{fill:#222}\n.small{font-size:10px;fill:#555}\n"
	    ".lbl{font-size:10px;fill:#fff}\n");
	for (k = 0; k < O_N; k++)
		buf_printf(b, ".%s{fill:%s}\n", oname[k], ocolor[k]);
	buf_adds(b, "</style>\n<rect width=\"100%\" height=\"100%\" "
	    "fill=\"#fff\"/>\n");
	dur(d, sizeof(d), span);
	buf_adds(b, "<text x=\"10\" y=\"20\" font-size=\"15\" "
	    "font-weight=\"bold\">");
	view_xml_str(b, where, strlen(where));
	buf_adds(b, "</text>\n");
	if (t->na == 0) {
		buf_adds(b, "<text x=\"10\" y=\"40\">no attempts recorded "
		    "yet</text>\n</svg>\n");
		return;
	}
	secs_stamp(t->origin + t->t0, st);
	buf_printf(b, "<text x=\"10\" y=\"38\" class=\"span\">span %s, from "
	    "%s to ", d, st);
	secs_stamp(t->origin + t->t1, st);
	buf_printf(b, "%s; %zu attempts by %zu workers</text>\n", st, t->na,
	    t->nr);
	/* grid and axis */
	step = tick_step(span, 8);
	for (x = (t->origin + t->t0 + step - 1) / step * step - t->origin;
	    x <= t->t1; x += step) {
		double px = SVG_LEFT + (double)(x - t->t0) * scale;

		tick_label(t, x, step, lab, sizeof(lab));
		buf_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" "
		    "x2=\"%.1f\" y2=\"%d\"/>\n<text class=\"small tick\" "
		    "x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
		    px, SVG_TOP - 6, px, SVG_TOP + (int)t->nr * SVG_ROW, px,
		    SVG_TOP + (int)t->nr * SVG_ROW + 14, lab);
	}
	buf_printf(b, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" "
	    "y2=\"%d\"/>\n", SVG_LEFT, SVG_TOP + (int)t->nr * SVG_ROW,
	    SVG_W - SVG_RIGHT, SVG_TOP + (int)t->nr * SVG_ROW);
	buf_printf(b, "<text class=\"small\" x=\"%d\" y=\"%d\" "
	    "text-anchor=\"end\">busy</text>\n", SVG_W - 10, SVG_TOP - 8);
	/* rows */
	for (ri = 0; ri < t->nr; ri++) {
		const struct row *r = &t->r[ri];
		int y = SVG_TOP + (int)ri * SVG_ROW;

		buf_printf(b, "<text class=\"worker\" x=\"10\" y=\"%d\">%ld ",
		    y + 17, r->id);
		view_xml_str(b, r->name ? r->name : "", r->namelen > 26 ?
		    26 : r->namelen);
		buf_printf(b, "</text>\n<text class=\"busy\" x=\"%d\" y=\"%d\" "
		    "text-anchor=\"end\">%.0f%%</text>\n", SVG_W - 10, y + 17,
		    span > 0 ? 100.0 * (double)r->busy / (double)span : 100.0);
	}
	/* bars */
	for (i = 0; i < t->na; i++) {
		const struct att *a = &t->a[i];
		const struct plan_line *l = &t->pl.l[a->line - 1];
		double	 bx, bw;
		int	 y;

		for (ri = 0; ri < t->nr && t->r[ri].id != a->worker; ri++)
			;
		y = SVG_TOP + (int)ri * SVG_ROW + 3;
		bx = SVG_LEFT + (double)(a->t0 - t->t0) * scale;
		bw = (double)(a->t1 - a->t0) * scale;
		if (bw < 2)
			bw = 2;
		buf_printf(b, "<rect class=\"bar %s%s\" x=\"%.1f\" y=\"%d\" "
		    "width=\"%.1f\" height=\"%d\" data-line=\"%zu\" "
		    "data-worker=\"%ld\" data-t0=\"%ld\" data-t1=\"%ld\">"
		    "<title>line %zu: ", oname[a->o], a->crit ? " crit" : "",
		    bx, y, bw, SVG_ROW - 6, a->line, a->worker, a->t0 - t->t0,
		    a->t1 - t->t0, a->line);
		view_xml_str(b, l->it.text ? l->it.text : "", l->it.text ?
		    tf_rstrip(l->it.text, l->it.textlen) : 0);
		dur(d, sizeof(d), a->t1 - a->t0);
		buf_printf(b, "\nworker %ld, %.*s to %s (%s): ", a->worker,
		    TF_TIMELEN, a->s0, a->s1 ? "" : "now", d);
		if (a->s1 != NULL) {
			/* the end stamp goes before the duration */
			b->len -= strlen(" (") + strlen(d) + strlen("): ");
			b->s[b->len] = '\0';
			buf_add(b, a->s1, TF_TIMELEN);
			buf_printf(b, " (%s): ", d);
		}
		if (a->o == O_RUNNING)
			buf_adds(b, "running");
		else
			view_xml_str(b, a->status, a->statuslen);
		if (a->crit)
			buf_adds(b, "\non the critical path");
		buf_adds(b, "</title></rect>\n");
		if (bw >= 28)
			buf_printf(b, "<text class=\"lbl\" x=\"%.1f\" y=\"%d\" "
			    "pointer-events=\"none\">%zu</text>\n",
			    bx + 3, y + 14, a->line);
	}
	/* legend */
	{
		int	 y = SVG_TOP + (int)t->nr * SVG_ROW + 40;
		double	 lx = 10;

		for (k = 0; k < O_N; k++) {
			buf_printf(b, "<rect class=\"key %s\" x=\"%.0f\" "
			    "y=\"%d\" width=\"14\" height=\"12\"/><text x=\"%.0f\" "
			    "y=\"%d\">%s</text>\n", oname[k], lx, y - 10, lx + 18,
			    y, oname[k]);
			lx += 30 + 8 * strlen(oname[k]);
		}
		buf_printf(b, "<rect class=\"key ok crit\" x=\"%.0f\" y=\"%d\" "
		    "width=\"14\" height=\"12\"/><text x=\"%.0f\" y=\"%d\">"
		    "critical path</text>\n", lx, y - 10, lx + 18, y);
		dur(d, sizeof(d), t->pathlen);
		buf_printf(b, "<text class=\"critpath\" x=\"10\" y=\"%d\">"
		    "critical path (%s): line", y + 24, d);
		for (i = 0; i < t->npath && i < 40; i++)
			buf_printf(b, "%s %zu", i ? " \xe2\x86\x92" : "",
			    t->path[i]);
		if (t->npath > 40)
			buf_adds(b, " ...");
		buf_adds(b, "</text>\n");
	}
	buf_adds(b, "</svg>\n");
}

/* --------------------------------------------------------------- text */

/* Append at most *room characters of s (UTF-8 counted by code points). */
static void
put(struct buf *b, const char *s, size_t n, long *room)
{
	size_t	 i = 0, k;

	while (i < n && *room > 0) {
		for (k = 1; i + k < n && ((unsigned char)s[i + k] & 0xc0) ==
		    0x80; k++)
			;
		buf_add(b, s + i, k);
		i += k;
		(*room)--;
	}
}

static void
puts_room(struct buf *b, const char *s, long *room)
{
	put(b, s, strlen(s), room);
}

static int
term_cols(void)
{
	const char	*e = getenv("COLUMNS");
	struct winsize	 ws;
	long		 v;

	if (e != NULL && (v = strtol(e, NULL, 10)) > 0 && v < 10000)
		return (int)v;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

static void
text(struct buf *b, const struct tl *t, const char *where, int cols,
    int color)
{
	long	 span = t->t1 - t->t0, room, labw = 0, barw, c, x;
	size_t	 i, ri, k;
	char	 d[32], lab[128], st[TF_TIMELEN + 1], st2[TF_TIMELEN + 1];
	int	*cell;

	room = cols;
	puts_room(b, where, &room);
	buf_addc(b, '\n');
	if (t->na == 0) {
		room = cols;
		puts_room(b, "no attempts recorded yet", &room);
		buf_addc(b, '\n');
		return;
	}
	dur(d, sizeof(d), span);
	secs_stamp(t->origin + t->t0, st);
	secs_stamp(t->origin + t->t1, st2);
	snprintf(lab, sizeof(lab), "span %s, %s to %s, %zu attempts", d, st,
	    st2, t->na);
	room = cols;
	puts_room(b, lab, &room);
	buf_addc(b, '\n');
	for (ri = 0; ri < t->nr; ri++) {
		long w = snprintf(NULL, 0, "%ld ", t->r[ri].id) +
		    (long)t->r[ri].namelen;

		if (w > labw)
			labw = w;
	}
	if (labw > 18)
		labw = 18;
	if (labw > cols / 3)
		labw = cols / 3;
	barw = cols - labw - 1 - 5;
	if (barw < 1)
		barw = 1;
	if ((cell = calloc((size_t)barw, sizeof(*cell))) == NULL)
		return;
	for (ri = 0; ri < t->nr; ri++) {
		const struct row *r = &t->r[ri];
		long	 lr = labw;

		room = cols;
		snprintf(lab, sizeof(lab), "%ld ", r->id);
		put(b, lab, strlen(lab), &lr);
		put(b, r->name ? r->name : "", r->namelen, &lr);
		room -= labw - lr;
		while (lr-- > 0 && room-- > 0)
			buf_addc(b, ' ');
		if (room-- > 0)
			buf_addc(b, ' ');
		for (c = 0; c < barw; c++)
			cell[c] = -1;
		for (i = 0; i < t->na; i++) {
			const struct att *a = &t->a[i];
			long c0, c1;

			if (a->worker != r->id)
				continue;
			c0 = span > 0 ? (a->t0 - t->t0) * barw / span : 0;
			c1 = span > 0 ? (a->t1 - t->t0) * barw / span : 0;
			if (c0 >= barw)
				c0 = barw - 1;
			if (c1 <= c0)
				c1 = c0 + 1;
			if (c1 > barw)
				c1 = barw;
			for (c = c0; c < c1; c++)
				/* a failure outshows an ok in a shared cell */
				if (cell[c] < (int)a->o)
					cell[c] = (int)a->o;
		}
		for (c = 0; c < barw && room > 0; c++, room--) {
			/* one colour escape a run of cells */
			if (color && cell[c] >= 0 && (c == 0 ||
			    cell[c - 1] != cell[c]))
				buf_printf(b, "\033[%sm", oansi[cell[c]]);
			buf_adds(b, cell[c] < 0 ? " " : ochar[cell[c]]);
			if (color && cell[c] >= 0 && (c + 1 == barw ||
			    room == 1 || cell[c + 1] != cell[c]))
				buf_adds(b, "\033[0m");
		}
		snprintf(lab, sizeof(lab), "%4.0f%%", span > 0 ? 100.0 *
		    (double)r->busy / (double)span : 100.0);
		puts_room(b, lab, &room);
		buf_addc(b, '\n');
	}
	free(cell);
	/* the axis: first and last time, and ticks between when room */
	room = cols;
	for (c = 0; c <= labw && room > 0; c++, room--)
		buf_addc(b, ' ');
	{
		long	 step = tick_step(span, (int)(barw / 12 > 0 ?
		    barw / 12 : 1)), at = 0;

		for (x = (t->origin + t->t0 + step - 1) / step * step -
		    t->origin; x <= t->t1 && room > 0; x += step) {
			long col = span > 0 ? (x - t->t0) * barw / span : 0;

			tick_label(t, x, step, lab, sizeof(lab));
			if (col < at || col + (long)strlen(lab) > barw)
				continue;
			for (; at < col && room > 0; at++, room--)
				buf_addc(b, ' ');
			puts_room(b, "|", &room);
			puts_room(b, lab, &room);
			at += 1 + (long)strlen(lab) + 1;
			if (room > 0) {
				buf_addc(b, ' ');
				room--;
			}
		}
	}
	buf_addc(b, '\n');
	room = cols;
	for (k = 0; k < O_N; k++) {
		snprintf(lab, sizeof(lab), "%s%s %s", k ? "  " : "", ochar[k],
		    oname[k]);
		puts_room(b, lab, &room);
	}
	buf_addc(b, '\n');
	room = cols;
	dur(d, sizeof(d), t->pathlen);
	snprintf(lab, sizeof(lab), "critical path (%s): line", d);
	puts_room(b, lab, &room);
	for (i = 0; i < t->npath && room > 0; i++) {
		snprintf(lab, sizeof(lab), "%s %zu", i ? " ->" : "",
		    t->path[i]);
		puts_room(b, lab, &room);
	}
	buf_addc(b, '\n');
}

int
do_timeline(struct worker *w)
{
	struct buf	 file = BUF_INIT, out = BUF_INIT;
	struct tf_file	 f;
	struct tl	 t;
	char		 err[512];
	const char	*o = w->o->output, *e;
	int		 rv = 0, tty;

	if (view_fetch(w, &file) != 0)
		return 1;
	if (tf_split(&f, file.s ? file.s : "", file.len, err,
	    sizeof(err)) == -1) {
		say("%s: %s", w->where, err);
		buf_free(&file);
		return 1;
	}
	if (tl_make(&t, &f, err, sizeof(err)) == -1) {
		say("%s: %s", w->where, err);
		rv = 1;
		goto out;
	}
	if (t.nr > 0)
		qsort(t.r, t.nr, sizeof(*t.r), cmp_row);
	tty = o == NULL && isatty(STDOUT_FILENO);
	if (tty)
		text(&out, &t, w->where, term_cols(), (e = getenv("NO_COLOR"))
		    == NULL || *e == '\0');
	else
		svg(&out, &t, w->where);
	if (buf_failed(&out)) {
		say("out of memory");
		rv = 1;
	} else if (o == NULL || strcmp(o, "-") == 0)
		rv = view_print(&out);
	else if (fdio_write_file(o, out.s, out.len, 0666) == -1) {
		say("cannot write %s: %s", o, strerror(errno));
		rv = 1;
	}
out:
	tl_free(&t);
	tf_free(&f);
	buf_free(&file);
	buf_free(&out);
	return rv;
}
