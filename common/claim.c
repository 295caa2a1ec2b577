/*
 * claim: finish, claim, register and reset over the task-file model.  The
 * algorithm is described in claim.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "claim.h"

#define GS_SEQ	1	/* an earlier #:name task is not ok yet */
#define GS_PAR	2	/* an earlier #+name task is not ok yet */
#define GS_DSEQ	4	/* ... and never will be (failed for good) */
#define GS_DPAR	8

/* A small hash set of group names, pointing into the scanned lines. */
struct gset {
	struct gent {
		const char	*name;
		size_t		 len;
		unsigned	 flags;
		size_t		 by;	/* the first failed line of GS_D* */
	}		*e;
	size_t		 n, cap;
};

static size_t
gs_hash(const char *s, size_t len)
{
	size_t	 h = 2166136261u, i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static struct gent *
gs_slot(struct gset *g, const char *name, size_t len)
{
	size_t	 i = gs_hash(name, len) & (g->cap - 1);

	while (g->e[i].name != NULL && (g->e[i].len != len ||
	    memcmp(g->e[i].name, name, len) != 0))
		i = (i + 1) & (g->cap - 1);
	return &g->e[i];
}

static const struct gent *
gs_get(struct gset *g, const char *name, size_t len)
{
	static const struct gent none;
	struct gent	*e;

	if (g->n == 0)
		return &none;
	e = gs_slot(g, name, len);
	return e->name == NULL ? &none : e;
}

static int
gs_set(struct gset *g, const char *name, size_t len, unsigned flags,
    size_t by)
{
	struct gent	*e;

	if (2 * (g->n + 1) > g->cap) {
		struct gset	 ng;
		size_t		 i;

		ng.cap = g->cap ? 2 * g->cap : 16;
		ng.n = 0;
		if ((ng.e = calloc(ng.cap, sizeof(*ng.e))) == NULL)
			return -1;
		for (i = 0; i < g->cap; i++)
			if (g->e[i].name != NULL) {
				*gs_slot(&ng, g->e[i].name, g->e[i].len) =
				    g->e[i];
				ng.n++;
			}
		free(g->e);
		*g = ng;
	}
	e = gs_slot(g, name, len);
	if (e->name == NULL) {
		e->name = name;
		e->len = len;
		e->flags = 0;
		e->by = 0;
		g->n++;
	}
	e->flags |= flags;
	if (by != 0 && e->by == 0)
		e->by = by;
	return 0;
}

/*
 * Record a task that is not ok yet: it blocks later lines of its groups.
 * dead_by: 0 when it may still end ok; else it never will, because of
 * that failed line.
 */
static int
gs_add(struct gset *g, const struct tf_item *it, size_t dead_by)
{
	const char	*p = it->tags;
	struct tf_tag	 t;
	char		 err[8];
	unsigned	 seq = dead_by ? GS_DSEQ : GS_SEQ;
	unsigned	 par = dead_by ? GS_DPAR : GS_PAR;

	if (gs_set(g, "", 0, par, dead_by) == -1)
		return -1;
	if (p == NULL)
		return 0;
	while (tf_tag_next(&p, it->tags + it->tagslen, &t, err, sizeof(err))
	    == 1)
		if (t.kind == TF_TAG_SEQ || t.kind == TF_TAG_PAR)
			if (gs_set(g, t.name, t.namelen, t.kind == TF_TAG_SEQ ?
			    seq : par, dead_by) == -1)
				return -1;
	return 0;
}

/* One group's hold on a line: live (may pass) over dead (never). */
static void
gs_hold(const struct gent *e, unsigned live, unsigned dead, int *held,
    size_t *by)
{
	if (e->flags & live)
		*held = 1;
	else if ((e->flags & dead) && *by == 0)
		*by = e->by;
}

/*
 * Whether earlier tasks not yet ok hold this line back: 0 no; 1 yes,
 * and one of them may still end ok; 2 only tasks that never will, *by the
 * failed line behind them.
 */
static int
gs_blocked(struct gset *g, const struct tf_item *it, size_t *by)
{
	const char	*p = it->tags;
	struct tf_tag	 t;
	char		 err[8];
	int		 held = 0;

	*by = 0;
	gs_hold(gs_get(g, "", 0), GS_SEQ, GS_DSEQ, &held, by);
	while (p != NULL && tf_tag_next(&p, it->tags + it->tagslen, &t, err,
	    sizeof(err)) == 1) {
		if (t.kind == TF_TAG_SEQ)
			gs_hold(gs_get(g, t.name, t.namelen), GS_SEQ | GS_PAR,
			    GS_DSEQ | GS_DPAR, &held, by);
		if (t.kind == TF_TAG_PAR)
			gs_hold(gs_get(g, t.name, t.namelen), GS_SEQ, GS_DSEQ,
			    &held, by);
	}
	return held ? 1 : *by != 0 ? 2 : 0;
}

void
claim_stamp(const struct tm *tm, char out[TF_TIMELEN + 1])
{
	/* "MM-DD HH:MM:SS", by hand: strftime doubles rtq-claim's size */
	const int v[5] = { tm->tm_mon + 1, tm->tm_mday, tm->tm_hour,
	    tm->tm_min, tm->tm_sec };
	int	 i;

	for (i = 0; i < 5; i++) {
		out[3 * i] = (char)('0' + (v[i] / 10) % 10);
		out[3 * i + 1] = (char)('0' + v[i] % 10);
		out[3 * i + 2] = i == 0 ? '-' : i == 1 ? ' ' : ':';
	}
	out[TF_TIMELEN] = '\0';
}

void
claim_reply_free(struct claim_reply *r)
{
	buf_free(&r->init_text);
	buf_free(&r->task_text);
	buf_free(&r->more_text);
}

/*
 * The new content of lines this request changed (finished), kept sorted
 * by line: the scan reads them instead of the file's.
 */
struct ovrs {
	struct ovr {
		size_t		 i;	/* 0-based */
		struct buf	 b;
	}		*v;
	size_t		 n, cap;
	size_t		 cur;		/* the scan's place in v */
};

/* Where line i is in o, or where it would go (o->v is sorted). */
static size_t
ovr_at(const struct ovrs *o, size_t i)
{
	size_t	 lo = 0, hi = o->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (o->v[mid].i < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Whether line i was changed by this request. */
static const struct ovr *
ovr_find(const struct ovrs *o, size_t i)
{
	size_t	 k = ovr_at(o, i);

	return k < o->n && o->v[k].i == i ? &o->v[k] : NULL;
}

/* Add line i's new content (b, taken), keeping o sorted. */
static int
ovr_add(struct ovrs *o, size_t i, struct buf *b)
{
	struct ovr	*v;
	size_t		 k;

	if (o->n == o->cap) {
		if ((v = realloc(o->v, (o->cap * 2 + 4) * sizeof(*v))) == NULL)
			return -1;
		o->v = v;
		o->cap = o->cap * 2 + 4;
	}
	k = ovr_at(o, i);
	memmove(&o->v[k + 1], &o->v[k], (o->n - k) * sizeof(*o->v));
	o->v[k].i = i;
	o->v[k].b = *b;
	o->n++;
	memset(b, 0, sizeof(*b));
	return 0;
}

static void
ovr_free(struct ovrs *o)
{
	size_t	 k;

	for (k = 0; k < o->n; k++)
		buf_free(&o->v[k].b);
	free(o->v);
}

/*
 * Line i as this request left it; the scan's calls come with i rising
 * (seq), others may come in any order.
 */
static int
line_get(const struct tf_file *f, size_t i, struct ovrs *o, int seq,
    const char **s, size_t *len)
{
	const struct ovr *v = NULL;

	if (o != NULL && o->n > 0) {
		if (seq) {
			while (o->cur < o->n && o->v[o->cur].i < i)
				o->cur++;
			if (o->cur < o->n && o->v[o->cur].i == i)
				v = &o->v[o->cur];
		} else
			v = ovr_find(o, i);
	}
	if (v != NULL) {
		*s = v->b.s;
		*len = v->b.len;
		return 1;
	}
	*s = f->buf + f->off[i];
	*len = tf_linelen(f, i);
	return 0;
}

/* The first n bytes of s that hold the string w, or NULL. */
static const char *
strstr_n(const char *s, size_t n, const char *w)
{
	size_t	 wl = strlen(w);
	const char *end = s + n;

	for (; s != NULL && (size_t)(end - s) >= wl; s++) {
		if ((s = memchr(s, w[0], (size_t)(end - s))) == NULL ||
		    (size_t)(end - s) < wl)
			return NULL;
		if (memcmp(s, w, wl) == 0)
			return s;
	}
	return NULL;
}

/* Start of the last annotation of an annotated item. */
static const char *
ann_last(const struct tf_item *it)
{
	const char	*p = it->ann, *last = it->ann;
	struct tf_ann	 a;

	while (p < it->ann + it->annlen) {
		last = p;
		if (tf_ann_next(&p, it->ann + it->annlen, &a) != 1)
			break;
	}
	return last;
}

static int
status_is(const struct tf_item *it, int status)
{
	char	 want[32];

	if (status == 0)
		return tf_status_ok(it->status, it->statuslen);
	if (status == PROTO_ST_LOST)
		snprintf(want, sizeof(want), "lost");
	else if (status == PROTO_ST_KILLED)
		snprintf(want, sizeof(want), "killed");
	else
		snprintf(want, sizeof(want), "error%d", status);
	return it->statuslen == strlen(want) &&
	    memcmp(it->status, want, it->statuslen) == 0;
}

/*
 * Whether a line appended now needs a line break before it: the last line
 * has none.  The line rtq appends then says so, with a tab for the blank
 * after "# worker W:" or "#?line:N#" (see brk_before), so that a reset
 * that drops it drops that line break too, and gives back the file as it
 * was written; a line break, so that "echo x >> file" afterwards starts a
 * line of its own instead of running into rtq's line.
 */
static int
needs_break(const struct tf_file *f)
{
	return f->size > 0 && f->buf[f->size - 1] != '\n';
}

/* Whether registration or orphan line s says rtq put a break before it. */
static int
brk_before(const char *s, size_t len, enum tf_kind kind)
{
	const char	*c;

	if (kind == TF_REGISTRATION)
		c = memchr(s, ':', len);
	else if (kind == TF_ORPHAN)
		c = memchr(s + 1, '#', len - 1);
	else
		return 0;
	return c != NULL && c + 1 < s + len && c[1] == '\t';
}

/* Append a line at the end of the file, after a line break if needed. */
static int
append_line(const struct tf_file *f, struct patch *p, const char *s,
    size_t len)
{
	struct buf	 b = BUF_INIT;
	int		 r;

	if (needs_break(f))
		buf_adds(&b, f->eol);
	buf_add(&b, s, len);
	r = buf_adds(&b, f->eol);
	if (r == 0)
		r = patch_replace(p, f->size, 0, b.s, b.len);
	buf_free(&b);
	return r;
}

static void
add_status(struct buf *b, int status)
{
	if (status == 0)
		buf_adds(b, "ok");
	else if (status == PROTO_ST_LOST)
		buf_adds(b, "lost");
	else if (status == PROTO_ST_KILLED)
		buf_adds(b, "killed");
	else
		buf_printf(b, "error%d", status);
}

/* The note rtq --kill adds to a running annotation, after its "...". */
#define KILL_NOTE	" kill "

int
claim_kill_asked(const struct tf_item *it)
{
	const char	*last, *dots, *end = it->ann + it->annlen;

	if (it->ann == NULL || !it->open)
		return 0;
	last = ann_last(it);
	if ((dots = strstr_n(last, (size_t)(end - last), " ...")) == NULL)
		return 0;
	return strstr_n(dots, (size_t)(end - dots), KILL_NOTE) != NULL;
}

/*
 * Whether a line that ends now with a failure stays commented out, failed
 * for good: killed, asked to be, or its failed attempts (this one
 * included) past its retry limit (the line's own, else the reporting
 * worker's: retries, -1 for none).  A lost attempt does not count.
 */
static int
gives_up(const struct tf_item *it, int status, long retries)
{
	long	 limit = retries;

	if (status == PROTO_ST_KILLED || claim_kill_asked(it))
		return 1;
	if (status == PROTO_ST_LOST)
		return 0;
	if (tf_retries(it->text, it->textlen, &limit) == -1)
		limit = retries;
	return limit >= 0 && tf_failures(it) + 1 > (size_t)limit;
}

/* The note of a batch's task that is claimed, not started. */
#define QUEUED_NOTE	" queued"
#define QUEUED_LEN	(sizeof(QUEUED_NOTE) - 1)

/* Where the queued note of item it is (in its line), or NULL. */
static const char *
queued_at(const struct tf_item *it)
{
	const char	*last, *dots, *end;

	if (it->ann == NULL || !it->open)
		return NULL;
	end = it->ann + it->annlen;
	last = ann_last(it);
	if ((dots = strstr_n(last, (size_t)(end - last), " ...")) == NULL)
		return NULL;
	dots += 4;
	if ((size_t)(end - dots) < QUEUED_LEN ||
	    memcmp(dots, QUEUED_NOTE, QUEUED_LEN) != 0 ||
	    (dots + QUEUED_LEN < end && dots[QUEUED_LEN] != ' ' &&
	    dots[QUEUED_LEN] != '\r'))
		return NULL;
	return dots;
}

int
claim_queued(const struct tf_item *it)
{
	return queued_at(it) != NULL;
}

/*
 * Copy [from, to) of running item it's line to b, with the start time of
 * its last annotation set to start (NULL: kept) and its queued note
 * dropped.
 */
static void
copy_started(struct buf *b, const char *from, const char *to,
    const struct tf_item *it, const char *start)
{
	const char	*q = queued_at(it), *st = NULL, *p = ann_last(it);
	struct tf_ann	 a;

	if (start != NULL && tf_ann_next(&p, it->ann + it->annlen, &a) == 1 &&
	    a.start != NULL && a.start >= from &&
	    a.start + TF_TIMELEN <= to)
		st = a.start;
	if (q != NULL && (q < from || q + QUEUED_LEN > to))
		q = NULL;
	while (from < to) {
		if (from == st) {
			buf_add(b, start, TF_TIMELEN);
			from += TF_TIMELEN;
		} else if (from == q)
			from += QUEUED_LEN;
		else {
			const char *stop = to;

			if (st != NULL && st > from && st < stop)
				stop = st;
			if (q != NULL && q > from && q < stop)
				stop = q;
			buf_add(b, from, (size_t)(stop - from));
			from = stop;
		}
	}
}

/*
 * The new content of running line s (item it) when it ends with status:
 * " END) #ok", or " END) #errorN" / "#lost" / "#killed", uncommented for
 * another attempt unless it gives up (see gives_up); released, the line as
 * it was before the claim; started (a batch's queued task), still
 * running, with its start time and no queued note.  start and end are the
 * times of a batch's task (NULL: the start stays, the end is now).
 * Returns 0 or -1 (memory).
 */
static int
close_line(const struct tf_item *it, const char *s, size_t len, int status,
    long retries, const char *now, const char *start, const char *end,
    const char *log, struct buf *b)
{
	if (status == PROTO_ST_RELEASE) {
		const char *last = ann_last(it);

		buf_add(b, s + 1, (size_t)(last - s - 1));
	} else if (status == PROTO_ST_START)
		copy_started(b, s, s + tf_rstrip(s, len), it, start);
	else {
		size_t skip = status == 0 || gives_up(it, status, retries) ?
		    0 : 1;

		/* lost or killed before it started: it says so */
		if (status >= 0)
			copy_started(b, s + skip, s + tf_rstrip(s, len), it,
			    start);
		else
			buf_add(b, s + skip, tf_rstrip(s, len) - skip);
		buf_printf(b, " %s) #", end != NULL ? end : now);
		add_status(b, status);
		if (log != NULL && status != 0)
			buf_printf(b, " log=%s", log);
	}
	return b->s == NULL && buf_grow(b, 0) == -1 ? -1 : 0;
}

long
claim_lost(const struct tf_file *f, const long *ids, size_t nids,
    const char *now, struct patch *p, char *err, size_t errlen)
{
	struct tf_item	 it;
	struct buf	 b = BUF_INIT;
	size_t		 i, k, len;
	const char	*s;
	char		 e[8];
	long		 n = 0;

	for (i = 0; i < f->nline; i++) {
		s = f->buf + f->off[i];
		len = tf_linelen(f, i);
		if (tf_classify(s, len, i + 1, &it, e, sizeof(e)) == -1 &&
		    it.ann == NULL)
			continue;
		if (it.ann == NULL || !it.open || s[0] != '#')
			continue;
		for (k = 0; k < nids && ids[k] != it.worker; k++)
			;
		if (k == nids)
			continue;
		buf_reset(&b);
		/* a task rtq --kill asked to stop is killed, not lost */
		if (close_line(&it, s, len, claim_kill_asked(&it) ?
		    PROTO_ST_KILLED : PROTO_ST_LOST, -1, now, NULL, NULL, NULL,
		    &b) == -1 ||
		    patch_replace(p, f->off[i], len, b.s, b.len) == -1) {
			buf_free(&b);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		n++;
	}
	buf_free(&b);
	return n;
}

/*
 * Step 1: finish a reported item (fin, of worker q->worker).  The new
 * content of the line it changed goes to o; a line already changed by
 * this request is not looked at again.  What became of it goes to *res
 * and *at (its line).
 */
static int
finish(const struct tf_file *f, const struct claim_req *q,
    const struct claim_fin *fin, struct patch *p, enum proto_fin *res,
    size_t *at, struct ovrs *o)
{
	struct tf_item	 it;
	struct buf	 b = BUF_INIT;
	size_t		 d, i, l0, len;
	const char	*s;
	char		 err[8];
	int		 side, commented, pass;

	*res = PROTO_FIN_NONE;
	if (fin->line == 0 || fin->init)
		return 0;
	l0 = fin->line - 1;
	/*
	 * Pass 0 looks for the reported text, from line L outward; pass 1
	 * takes line L itself when it is still open for W with another text
	 * (edited in place).  A line elsewhere with another text is never
	 * closed: a stale or mistaken report must not close W's real task.
	 */
	for (pass = 0; pass < 2; pass++)
	for (d = 0; d <= (pass == 0 ? l0 : 0) || (pass == 0 &&
	    l0 + d < f->nline); d++) {
		for (side = 0; side < 2; side++) {
			if (d == 0 && side == 1)
				continue;
			if (side == 0 ? d > l0 : l0 + d >= f->nline)
				continue;
			i = side == 0 ? l0 - d : l0 + d;
			/* L may lie past the end of a file that got shorter */
			if (i >= f->nline || ovr_find(o, i) != NULL)
				continue;
			s = f->buf + f->off[i];
			len = tf_linelen(f, i);
			if (tf_classify(s, len, i + 1, &it, err, sizeof(err))
			    == -1 && it.ann == NULL)
				continue;
			if (it.ann == NULL || it.worker != q->worker)
				continue;
			if (pass == 0 ? it.textlen != fin->textlen ||
			    memcmp(it.text, fin->text, it.textlen) != 0 :
			    !it.open)
				continue;
			/*
			 * The text of a commented line starts after its '#'.
			 * (Not it.text[-1]: before line 1 that is outside buf.)
			 */
			commented = it.text != s;
			if (!it.open) {
				if (commented ? it.kind != TF_DONE &&
				    it.kind != TF_GIVENUP : it.kind == TF_DONE)
					continue;
				if (fin->status == PROTO_ST_RELEASE ||
				    fin->status == PROTO_ST_START ||
				    !status_is(&it, fin->status))
					continue;
				*res = PROTO_FIN_REPEAT;
				*at = i + 1;
				return 0;
			}
			if (!commented)
				continue;
			/* found the running line of W */
			*at = i + 1;
			if (fin->status == PROTO_ST_START && !claim_queued(&it)) {
				*res = PROTO_FIN_REPEAT;	/* started */
				return 0;
			}
			if (close_line(&it, s, len, fin->status, q->retries,
			    q->now, fin->start, fin->end, fin->log, &b) == -1)
				return -1;
			if (patch_replace(p, f->off[i], len, b.s, b.len) == -1 ||
			    ovr_add(o, i, &b) == -1) {
				buf_free(&b);
				return -1;
			}
			*res = PROTO_FIN_DONE;
			return 0;
		}
	}
	if (fin->status == PROTO_ST_RELEASE || fin->status == PROTO_ST_START)
		return 0;
	buf_printf(&b, "#?line:%zu#%c", fin->line, needs_break(f) ? '\t' :
	    ' ');
	buf_add(&b, fin->text, fin->textlen);
	buf_printf(&b, " # worker %ld # ... %s) #", q->worker,
	    fin->end != NULL ? fin->end : q->now);
	add_status(&b, fin->status);
	if (b.s == NULL || append_line(f, p, b.s, b.len) == -1) {
		buf_free(&b);
		return -1;
	}
	buf_free(&b);
	*res = PROTO_FIN_ORPHAN;
	return 0;
}

/* Reply with task line i (already claimed or claimed now). */
static int
give_task(const struct claim_req *q, struct claim_reply *r,
    const struct tf_item *it, size_t i, size_t cur_init,
    const struct tf_file *f, struct ovrs *o)
{
	const char	*s;
	size_t		 len;
	struct tf_item	 ii;
	char		 err[8];

	r->answer = CLAIM_WORK;
	r->task_line = i + 1;
	if (buf_add(&r->task_text, it->text, it->textlen)
	    == -1)
		return -1;
	if (i + 1 >= q->pos) {
		r->pos = i + 1;
		return 0;
	}
	r->pos = q->pos;
	if (cur_init == 0)
		return 0;
	line_get(f, cur_init - 1, o, 0, &s, &len);
	tf_classify(s, len, cur_init, &ii, err, sizeof(err));
	r->init_line = cur_init;
	return buf_add(&r->init_text, ii.text, ii.textlen);
}

/* Reply with task line i too, after the first of a batch (below it). */
static int
give_more(struct claim_reply *r, const struct tf_item *it, size_t i)
{
	if (r->nmore == PROTO_MAXBATCH ||
	    buf_add(&r->more_text, it->text, it->textlen) == -1)
		return -1;
	r->more_line[r->nmore] = i + 1;
	r->more_end[r->nmore++] = r->more_text.len;
	r->pos = i + 1;
	return 0;
}

/*
 * Claim pending (or failed) line i, item it, text s of len bytes: comment
 * it out, open W's annotation (queued: a batch's task after the first),
 * and reply with it.  Returns 0 or -1.
 */
static int
claim_line(const struct tf_file *f, const struct claim_req *q,
    struct patch *p, struct claim_reply *r, struct tf_item *it, size_t i,
    const char *s, size_t len, size_t cur_init, struct ovrs *o, int queued)
{
	struct buf	 b = BUF_INIT;
	int		 rv = -1;

	buf_adds(&b, "#");
	buf_add(&b, s, len);
	buf_printf(&b, " # worker %ld # (%s ...%s", q->worker, q->now,
	    queued ? QUEUED_NOTE : "");
	if (!buf_failed(&b) && patch_replace(p, f->off[i], tf_linelen(f, i),
	    b.s, b.len) == 0) {
		/* the text as the claimed line has it */
		it->text = b.s + 1;
		it->textlen = it->ann ? (size_t)(it->ann - s) : len;
		rv = queued ? give_more(r, it, i) :
		    give_task(q, r, it, i, cur_init, f, o);
	}
	buf_free(&b);
	return rv;
}

/* Whether a worker of ids[0..n) but except may retry failed line it. */
static int
retry_by(const struct tf_item *it, const long *ids, size_t n, long except)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (ids[i] != except && tf_affinity(it, ids[i]) &&
		    !tf_tried_by(it, ids[i]))
			return 1;
	return 0;
}

/* Whether worker w is in ids[0..n). */
static int
in_ids(long w, const long *ids, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (ids[i] == w)
			return 1;
	return 0;
}

/*
 * Whether failed line it should wait for another machine rather than go
 * to W now: a -j sibling of W failed it, and a live worker of another
 * process may take it.
 */
static int
for_another(const struct tf_item *it, const struct claim_req *q)
{
	const char	*p = it->ann;
	struct tf_ann	 a;
	size_t		 i;
	int		 sib = 0;

	if (p == NULL || q->nsibs == 0)
		return 0;
	while (!sib && tf_ann_next(&p, it->ann + it->annlen, &a) == 1)
		sib = !a.open && !tf_status_ok(a.status, a.statuslen) &&
		    in_ids(a.worker, q->sibs, q->nsibs);
	if (!sib)
		return 0;
	for (i = 0; i < q->nlive; i++)
		if (q->live[i] != q->worker &&
		    !in_ids(q->live[i], q->sibs, q->nsibs) &&
		    tf_affinity(it, q->live[i]) &&
		    !tf_tried_by(it, q->live[i]))
			return 1;
	return 0;
}


/*
 * Whether running line it may still come back to W: W may run it, has not
 * failed it, and a failure of the running attempt would leave one more
 * (by the line's limit, else W's).
 */
static int
may_come_back(const struct tf_item *it, const struct claim_req *q)
{
	long	 limit = q->retries;

	if (!tf_affinity(it, q->worker) || tf_tried_by(it, q->worker) ||
	    claim_kill_asked(it))
		return 0;
	if (tf_retries(it->text, it->textlen, &limit) == -1)
		limit = q->retries;
	return limit < 0 || tf_failures(it) + 1 <= (size_t)limit;
}

/*
 * Whether line s is surely a task done (or a comment that reads like
 * one): commented, ending ") #ok", and not a #PAUSED line.  The scan
 * passes such lines, which hold and give nothing, without classifying
 * them, so that a queue drained from the top costs a compare a line.
 */
static int
done_line(const char *s, size_t len)
{
	static const char	 ok[] = ") #ok";
	size_t			 n = sizeof(ok) - 1;

	len = tf_rstrip(s, len);
	return len > n && s[0] == '#' && memcmp(s + len - n, ok, n) == 0 &&
	    !(len >= 7 && memcmp(s, "#PAUSED", 7) == 0);
}

/* A line a batch may take: claimable, or W's already (running). */
struct cand {
	size_t		 i;
	size_t		 init;		/* W's init line above it, 0 none */
	int		 running;
};

/*
 * Step 3 of a scan that found work: claim the candidates (all of them,
 * or the first pending one and a share of the rest, see claim.h) and
 * reply with them.  Returns 0 or -1 (memory).
 */
static int
take(const struct tf_file *f, const struct claim_req *q, struct patch *p,
    struct claim_reply *r, const struct cand *c, size_t nc, size_t limit,
    size_t batch, struct ovrs *o)
{
	struct tf_item	 it;
	const char	*s;
	size_t		 k, len, npend = 0, n = 0;
	char		 err[8];

	/*
	 * W's own running lines (a reply it missed) count in the batch too;
	 * those past it come with the next one.
	 */
	for (k = 0; k < nc && n < batch; k++) {
		if (!c[k].running && npend == limit)
			continue;
		n++;
		line_get(f, c[k].i, o, 0, &s, &len);
		tf_classify(s, len, c[k].i + 1, &it, err, sizeof(err));
		if (c[k].running) {
			if ((k == 0 ? give_task(q, r, &it, c[k].i, c[k].init, f,
			    o) : give_more(r, &it, c[k].i)) == -1)
				return -1;
			continue;
		}
		if (claim_line(f, q, p, r, &it, c[k].i, s, len, c[k].init, o,
		    k > 0) == -1)
			return -1;
		npend++;
	}
	return 0;
}

int
claim_next(const struct tf_file *f, const struct claim_req *q,
    struct patch *p, struct claim_reply *r, char *err, size_t errlen)
{
	struct gset	 gs = { NULL, 0, 0 };
	struct ovrs	 o = { NULL, 0, 0, 0 };
	struct claim_fin fin;
	struct tf_item	 it;
	struct cand	 one, *c = &one;
	size_t		 i, k, len, cur_init = 0, by, nc = 0, maxc, npend = 0;
	size_t		 batch, nlive, at, after = 0;
	enum proto_fin	 res;
	const char	*s;
	int		 maybe = 0, rv = -1, b, mine, changed, end = 0;

	memset(r, 0, sizeof(*r));
	r->pos = q->pos;
	memset(&fin, 0, sizeof(fin));
	fin.line = q->fin_line;
	fin.init = q->fin_init;
	fin.text = q->fin_text;
	fin.textlen = q->fin_textlen;
	fin.status = q->fin_status;
	fin.log = q->fin_log;
	fin.start = q->fin_start;
	fin.end = q->fin_end;
	if (finish(f, q, &fin, p, &r->fin, &r->fin_at, &o) == -1)
		goto nomem;
	for (k = 0; k < q->nmore; k++)
		if (finish(f, q, &q->more[k], p, &res, &at, &o) == -1)
			goto nomem;
	r->answer = CLAIM_WAIT;
	if (q->no_claim) {
		rv = 0;
		goto out;
	}
	batch = q->batch > 1 ? q->batch : 1;
	if (batch > PROTO_MAXBATCH)
		batch = PROTO_MAXBATCH;
	nlive = q->nlive > 0 ? q->nlive : 1;
	maxc = batch == 1 ? 1 : batch * (nlive < 64 ? nlive : 64);
	if (maxc > 1 && (c = malloc(maxc * sizeof(*c))) == NULL)
		goto nomem;
	for (i = 0; i < f->nline; i++) {
		/*
		 * A line this request changed (a task it released, say) is
		 * not claimed again: its splice is in the patch already.
		 */
		changed = line_get(f, i, &o, 1, &s, &len);
		if (done_line(s, len))
			continue;
		if (tf_classify(s, len, i + 1, &it, err, errlen) == -1) {
			char m[512];

			snprintf(m, sizeof(m), "%s", err);
			snprintf(err, errlen, "line %zu: %s", i + 1, m);
			goto out;
		}
		switch (it.kind) {
		case TF_PAUSE:
			r->paused = 1;
			break;
		case TF_INIT:
			if (!tf_affinity(&it, q->worker))
				break;
			b = gs_blocked(&gs, &it, &by);
			if (i + 1 <= q->pos) {
				if (b == 0)
					cur_init = i + 1;
				break;
			}
			if (nc > 0)		/* a batch ends here */
				goto scanned;
			if (b == 0 && !r->paused) {
				r->answer = CLAIM_WORK;
				r->pos = r->init_line = i + 1;
				if (buf_add(&r->init_text, it.text, it.textlen)
				    == -1)
					goto nomem;
			} else if (b == 2 && !r->paused && !maybe)
				r->answer = CLAIM_NONE;	/* never passes */
			rv = 0;
			goto out;
		case TF_PENDING:
		case TF_FAILED:
			b = gs_blocked(&gs, &it, &by);
			mine = tf_affinity(&it, q->worker) &&
			    !tf_tried_by(&it, q->worker);
			if (mine && b == 0 && !r->paused && !changed &&
			    !for_another(&it, q) && (nc == 0 || i + 1 > after)) {
				c[nc].i = i;
				c[nc].init = cur_init;
				c[nc++].running = 0;
				npend++;
				after = nc == 1 && i + 1 < q->pos ? q->pos : i + 1;
				if (nc == maxc)
					goto scanned;
			} else if (mine && b != 2)
				maybe = 1;
			/*
			 * A failed line that neither W nor a live worker can
			 * retry holds W no more than one failed for good.
			 */
			if (b == 0 && it.kind == TF_FAILED && !mine &&
			    !retry_by(&it, q->live, q->nlive, q->worker))
				by = i + 1, b = 2;
			if (gs_add(&gs, &it, b == 2 ? by : 0) == -1)
				goto nomem;
			break;
		case TF_RUNNING:
			if (it.worker == q->worker && (nc == 0 || i + 1 > after)) {
				/* a claim whose reply W never got */
				c[nc].i = i;
				c[nc].init = cur_init;
				c[nc++].running = 1;
				after = nc == 1 && i + 1 < q->pos ? q->pos : i + 1;
				if (nc == maxc)
					goto scanned;
			} else if (may_come_back(&it, q))
				maybe = 1;
			if (gs_add(&gs, &it, 0) == -1)
				goto nomem;
			break;
		case TF_GIVENUP:
			if (gs_add(&gs, &it, i + 1) == -1)
				goto nomem;
			break;
		default:
			break;
		}
	}
	end = 1;
scanned:
	if (nc > 0) {
		/* near the end of the queue, a share of what is left */
		size_t limit = batch;

		if (end && batch > 1 && (npend + nlive - 1) / nlive < limit)
			limit = (npend + nlive - 1) / nlive;
		if (take(f, q, p, r, c, nc, limit > 0 ? limit : 1, batch,
		    &o) == -1)
			goto nomem;
		rv = 0;
		goto out;
	}
	r->answer = maybe ? CLAIM_WAIT : CLAIM_NONE;
	rv = 0;
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
	rv = -1;
out:
	if (r->answer != CLAIM_WAIT)
		r->paused = 0;
	free(gs.e);
	ovr_free(&o);
	if (c != &one)
		free(c);
	return rv;
}

/*
 * The name as a registration line may hold it: every '#' (which could
 * start a tag or an annotation) and every control byte becomes '_', so the
 * line can only read back as a registration.
 */
static int
safe_name(const char *name, struct buf *out)
{
	const unsigned char *c;

	for (c = (const unsigned char *)name; *c != '\0'; c++)
		buf_addc(out, *c == '#' || *c < 0x20 || *c == 0x7f ? '_' :
		    (char)*c);
	return buf_grow(out, 0);
}

long
claim_register(const struct tf_file *f, long want, const char *name,
    const char *now, struct patch *p, char *err, size_t errlen)
{
	struct tf_item	 it;
	struct buf	 b = BUF_INIT, nm = BUF_INIT;
	long		 last = -1, id;
	int		 have = 0, r;

	if (strpbrk(name, "\r\n") != NULL) {
		snprintf(err, errlen, "worker name holds a line break");
		return -1;
	}
	if (want > TF_MAXID) {
		snprintf(err, errlen, "worker id %ld is too large (at most "
		    "%ld)", want, TF_MAXID);
		return -1;
	}
	if (f->nline > 0 && tf_classify(f->buf, tf_linelen(f, 0), 1, &it,
	    err, errlen) == 0 && it.kind == TF_HEADER) {
		have = 1;
		last = it.id;
	}
	if (want >= 0)
		id = want;
	else if (last >= TF_MAXID) {
		snprintf(err, errlen, "no worker id left after %ld", last);
		return -1;
	} else
		id = last + 1;
	buf_printf(&b, "#LASTWORKER %ld", id > last ? id : last);
	if (!have)
		buf_adds(&b, f->eol);
	r = buf_failed(&b) ? -1 : have ?
	    patch_replace(p, 0, tf_linelen(f, 0), b.s, b.len) :
	    patch_replace(p, 0, 0, b.s, b.len);
	buf_reset(&b);
	if (r == 0)
		r = safe_name(name, &nm);
	if (r == 0)
		r = buf_printf(&b, "# worker %ld:%c%s (%s)", id,
		    needs_break(f) ? '\t' : ' ', nm.s, now);
	if (r == 0)
		r = append_line(f, p, b.s, b.len);
	buf_free(&b);
	buf_free(&nm);
	if (r == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return id;
}

long
claim_reset(const struct tf_file *f, size_t k, int failed_only,
    struct patch *p, char *err, size_t errlen)
{
	struct tf_item	 it;
	size_t		 i, len, tail = f->nline, el = strlen(f->eol);
	long		 n = 0;
	const char	*s;
	int		 drop, whole = k == 0;

	for (i = k > 0 ? k - 1 : 0; i < f->nline; i++) {
		s = f->buf + f->off[i];
		len = tf_linelen(f, i);
		/*
		 * A whole-file reset drops every "#LASTWORKER N" line: one
		 * below line 1 would become the header once lines above it go.
		 */
		if (tf_classify(s, len, whole ? 1 : i + 1, &it, err, errlen)
		    == -1 && it.ann == NULL) {
			tail = f->nline;
			continue;
		}
		drop = 0;
		if (failed_only) {
			/* failed, for good or not; a killed task stays */
			if (it.kind != TF_FAILED && (it.kind != TF_GIVENUP ||
			    tf_status_is(it.status, it.statuslen, "killed"))) {
				tail = f->nline;
				continue;
			}
		} else if (it.kind == TF_ORPHAN || (whole &&
		    (it.kind == TF_HEADER || it.kind == TF_REGISTRATION)))
			drop = 1;
		else if (it.ann == NULL) {
			tail = f->nline;
			continue;
		}
		n++;
		if (!drop) {
			tail = f->nline;
			if (patch_replace(p, f->off[i], len, it.text,
			    it.textlen) == -1)
				goto nomem;
			continue;
		}
		if (tail == f->nline)
			tail = i;	/* the dropped lines at the end start here */
		if (patch_replace(p, f->off[i], f->off[i + 1] - f->off[i], "",
		    0) == -1)
			goto nomem;
	}
	/*
	 * The lines dropped at the end start with one that rtq appended
	 * after a line break it supplied: that line break goes too.
	 */
	if (tail < f->nline && tail > 0 &&
	    f->off[tail] >= el && memcmp(f->buf + f->off[tail] - el, f->eol,
	    el) == 0) {
		s = f->buf + f->off[tail];
		len = tf_linelen(f, tail);
		tf_classify(s, len, whole ? 1 : tail + 1, &it, err, errlen);
		if (brk_before(s, len, it.kind) && f->off[tail] - el >=
		    f->off[tail - 1] + tf_linelen(f, tail - 1) &&
		    patch_replace(p, f->off[tail] - el, el, "", 0) == -1)
			goto nomem;
	}
	return n;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

int
claim_tally(const struct tf_file *f, const long *live, size_t nlive,
    struct proto_tally *t, size_t *by, unsigned char *waiting)
{
	struct gset	 gs = { NULL, 0, 0 };
	struct tf_item	 it;
	size_t		 i, dead;
	char		 err[8];
	int		 b, rv = 0;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < f->nline && rv == 0; i++) {
		if (by != NULL)
			by[i] = 0;
		if (waiting != NULL)
			waiting[i] = 0;
		if (tf_classify(f->buf + f->off[i], tf_linelen(f, i), i + 1,
		    &it, err, sizeof(err)) == -1)
			continue;
		dead = 0;
		switch (it.kind) {
		case TF_PAUSE:
			t->paused = 1;
			continue;
		case TF_DONE:
			t->done++;
			continue;
		case TF_INIT:
			if (gs_blocked(&gs, &it, &dead) == 2 && by != NULL)
				by[i] = dead;
			continue;
		case TF_RUNNING:
			t->running++;
			break;
		case TF_GIVENUP:
			if (tf_status_is(it.status, it.statuslen, "killed"))
				t->killed++;
			else
				t->failed++;
			dead = i + 1;
			break;
		case TF_PENDING:
		case TF_FAILED:
			b = gs_blocked(&gs, &it, &dead);
			if (b == 2) {
				t->blocked++;
				if (by != NULL)
					by[i] = dead;
			} else if (it.kind == TF_FAILED && !retry_by(&it, live,
			    nlive, -1)) {
				/* no live worker may retry it: failed */
				t->failed++;
				if (b == 0)
					dead = i + 1;
			} else if (it.kind == TF_FAILED)
				t->retry++;
			else
				t->pending++;
			if (b == 1 && waiting != NULL)
				waiting[i] = 1;
			break;
		default:
			continue;
		}
		if (gs_add(&gs, &it, dead) == -1)
			rv = -1;
	}
	free(gs.e);
	return rv;
}

/* Check line l (1-based) for claim_kill: 0, or -1 with err. */
static int
kill_check(const struct tf_file *f, size_t l, struct tf_item *it,
    char *err, size_t errlen)
{
	const char	*what;
	char		 e[8];

	if (l < 1 || l > f->nline) {
		snprintf(err, errlen, "line %zu: the file has %zu lines", l,
		    f->nline);
		return -1;
	}
	tf_classify(f->buf + f->off[l - 1], tf_linelen(f, l - 1), l, it, e,
	    sizeof(e));
	switch (it->kind) {
	case TF_PENDING:
	case TF_FAILED:
	case TF_RUNNING:
		return 0;
	case TF_DONE:
		what = "a task that has finished (#ok)";
		break;
	case TF_GIVENUP:
		what = tf_status_is(it->status, it->statuslen, "killed") ?
		    "a task killed already" : "a task that failed for good";
		break;
	case TF_INIT:
		what = "an init line (#!), not a task";
		break;
	case TF_BLANK:
		what = "blank";
		break;
	default:
		what = "a comment, not a task";
		break;
	}
	snprintf(err, errlen, "line %zu is %s; nothing killed", l, what);
	return -1;
}

int
claim_kill(const struct tf_file *f, const size_t *lines, size_t n,
    const char *now, struct patch *p, long *workers, struct buf *report,
    char *err, size_t errlen)
{
	struct tf_item	 it;
	struct buf	 b = BUF_INIT;
	size_t		 k, j, l, len;
	const char	*s;

	for (k = 0; k < n; k++)
		if (kill_check(f, lines[k], &it, err, errlen) == -1)
			return -1;
	for (k = 0; k < n; k++) {
		l = lines[k];
		workers[k] = -1;
		for (j = 0; j < k && lines[j] != l; j++)
			;
		if (j < k)
			continue;	/* named twice */
		kill_check(f, l, &it, err, errlen);
		s = f->buf + f->off[l - 1];
		len = tf_linelen(f, l - 1);
		buf_reset(&b);
		if (it.kind == TF_RUNNING) {
			if (claim_kill_asked(&it)) {
				buf_printf(report, "line %zu: worker %ld was "
				    "asked to stop it already\n", l,
				    it.worker);
				workers[k] = it.worker;
				continue;
			}
			buf_add(&b, s, tf_rstrip(s, len));
			buf_printf(&b, KILL_NOTE "%s", now);
			workers[k] = it.worker;
			buf_printf(report, "line %zu: asked worker %ld to stop "
			    "it\n", l, it.worker);
		} else {
			buf_addc(&b, '#');
			buf_add(&b, s, len);
			buf_printf(&b, " # worker - # (%s ... %s) #killed", now,
			    now);
			buf_printf(report, "line %zu: cancelled (it was %s)\n",
			    l, it.kind == TF_FAILED ? "waiting for a retry" :
			    "pending");
		}
		if (buf_failed(&b) || patch_replace(p, f->off[l - 1], len, b.s,
		    b.len) == -1)
			goto nomem;
	}
	buf_free(&b);
	if (!buf_failed(report))
		return 0;
nomem:
	buf_free(&b);
	snprintf(err, errlen, "out of memory");
	return -1;
}

int
claim_pause(const struct tf_file *f, int on, const char *now,
    struct patch *p, struct buf *report, char *err, size_t errlen)
{
	struct tf_item	 it;
	struct buf	 b = BUF_INIT;
	size_t		 i, at = 0, n = 0;
	char		 e[8];

	for (i = 0; i < f->nline; i++) {
		tf_classify(f->buf + f->off[i], tf_linelen(f, i), i + 1, &it,
		    e, sizeof(e));
		if (i == 0 && it.kind == TF_HEADER)
			at = f->off[1];
		if (it.kind != TF_PAUSE)
			continue;
		n++;
		if (on) {
			buf_adds(report, "paused already: ");
			buf_add(report, f->buf + f->off[i], tf_linelen(f, i));
			buf_addc(report, '\n');
			break;
		}
		if (patch_replace(p, f->off[i], f->off[i + 1] - f->off[i], "",
		    0) == -1)
			goto nomem;
	}
	if (on && n == 0) {
		buf_printf(&b, "#PAUSED since %s: workers start nothing new "
		    "(rtq --resume)%s", now, f->eol);
		if (buf_failed(&b) || patch_replace(p, at, 0, b.s, b.len) == -1)
			goto nomem;
		buf_adds(report, "paused: workers finish what they run and "
		    "start nothing new\n");
	} else if (!on)
		buf_adds(report, n > 0 ? "resumed\n" : "not paused\n");
	buf_free(&b);
	if (!buf_failed(report))
		return 0;
nomem:
	buf_free(&b);
	snprintf(err, errlen, "out of memory");
	return -1;
}
