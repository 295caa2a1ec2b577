/*
 * plan: rtq --plan [--json] FILE.  The file comes through "rtq-claim cat"
 * and is planned here (common/plan.c): every line with what it is, its
 * state, and for a task not yet run what it waits for and which init lines
 * a worker runs before it; then the malformed tags.  Nothing is claimed.
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "claim.h"
#include "plan.h"
#include "sig.h"
#include "taskfile.h"
#include "view.h"

/* How many holding lines the text names before "and N more". */
#define PLAN_SHOWN	6

static const char *
kind_word(const struct plan_line *l)
{
	if (l->bad)
		return "malformed";
	switch (l->it.kind) {
	case TF_BLANK:		return "blank";
	case TF_COMMENT:	return "comment";
	case TF_HEADER:		return "header";
	case TF_REGISTRATION:	return "worker";
	case TF_ORPHAN:		return "orphan";
	case TF_INIT:		return "init";
	case TF_PAUSE:		return "paused";
	default:		return "task";
	}
}

/* A task's state; "" for what is not a task. */
static const char *
state_word(const struct plan_line *l)
{
	if (l->bad)
		return "";
	switch (l->it.kind) {
	case TF_PENDING:
		return l->dead_by ? "blocked" : l->nholds ? "waiting" :
		    "ready";
	case TF_RUNNING:
		return claim_queued(&l->it) ? "queued" : "running";
	case TF_DONE:
		return "done";
	case TF_FAILED:
		return l->dead_by ? "blocked" : "to-retry";
	case TF_GIVENUP:
		return tf_status_is(l->it.status, l->it.statuslen, "killed") ?
		    "killed" : "failed";
	default:
		return "";
	}
}

/* The last annotation of a line (it has one). */
static void
last_ann(const struct plan_line *l, struct tf_ann *last)
{
	const char	*p = l->it.ann;
	struct tf_ann	 a;

	memset(last, 0, sizeof(*last));
	while (p != NULL && tf_ann_next(&p, l->it.ann + l->it.annlen, &a) == 1)
		*last = a;
}

/* "#:name", "#+name", "#:" of a holding line. */
static void
via_text(struct buf *b, const struct plan_line *h,
    const struct plan_group *via)
{
	if (via != NULL) {
		buf_adds(b, via->seq ? "#:" : "#+");
		buf_add(b, via->name, via->len);
	} else if (h->barrier)
		buf_adds(b, "barrier #:");
}

/* The detail line of a task or init line, "" when there is nothing. */
static void
detail(struct buf *b, const struct plan *pl, const struct plan_line *l)
{
	struct tf_ann	 a;
	size_t		 i, start = b->len;
	const char	*sep = "";

#define NEXT()	(buf_adds(b, sep), sep = "; ")
	if (l->npins > 0) {
		NEXT();
		buf_printf(b, "pinned to worker%s", l->npins > 1 ? "s" : "");
		for (i = 0; i < l->npins; i++)
			buf_printf(b, "%s %ld", i ? "," : "", l->pins[i]);
	}
	for (i = 0; i < l->ngroups; i++) {
		NEXT();
		buf_adds(b, "group ");
		buf_add(b, l->groups[i].name, l->groups[i].len);
		buf_adds(b, l->groups[i].seq ? " (#: in order)" :
		    " (#+ in parallel)");
	}
	if (l->barrier) {
		NEXT();
		buf_adds(b, "barrier (#:): after every task above, before "
		    "every task below");
	}
	if (l->it.ann != NULL) {
		last_ann(l, &a);
		NEXT();
		if (a.open)
			buf_printf(b, "on worker %ld since %.*s", a.worker,
			    a.start ? TF_TIMELEN : 0, a.start ? a.start : "");
		else {
			buf_add(b, a.status, a.statuslen);
			if (a.worker >= 0)
				buf_printf(b, " on worker %ld", a.worker);
			if (a.end != NULL)
				buf_printf(b, " at %.*s", TF_TIMELEN, a.end);
		}
	}
	if (l->it.kind == TF_PENDING || l->it.kind == TF_FAILED ||
	    l->it.kind == TF_INIT) {
		if (l->dead_by) {
			NEXT();
			buf_printf(b, "blocked for good by failed line %zu",
			    l->dead_by);
		} else if (l->nholds > 0) {
			NEXT();
			buf_adds(b, "waits for ");
			for (i = 0; i < l->nholds && i < PLAN_SHOWN; i++) {
				const struct plan_line *h =
				    &pl->l[l->holds[i].line - 1];

				buf_printf(b, "%sline %zu (%s", i ? ", " : "",
				    l->holds[i].line, state_word(h));
				if (l->holds[i].via != NULL || h->barrier)
					buf_adds(b, ", ");
				via_text(b, h, l->holds[i].via);
				buf_addc(b, ')');
			}
			if (l->nholds > PLAN_SHOWN)
				buf_printf(b, " and %zu more",
				    l->nholds - PLAN_SHOWN);
		}
		if (l->paused_by) {
			NEXT();
			buf_printf(b, "paused by line %zu (rtq --resume)",
			    l->paused_by);
		}
	}
	if ((l->it.kind == TF_PENDING || l->it.kind == TF_FAILED) &&
	    !l->dead_by) {
		NEXT();
		if (l->ninits == 0)
			buf_adds(b, "no init line before it");
		else
			buf_printf(b, "after init line%s", l->ninits > 1 ?
			    "s" : "");
		for (i = 0; i < l->ninits; i++) {
			const struct plan_line *n = &pl->l[l->inits[i] - 1];

			buf_printf(b, "%s %zu", i ? "," : "", l->inits[i]);
			if (n->npins > 0 && l->npins == 0)
				buf_printf(b, " (on worker%s %ld%s)",
				    n->npins > 1 ? "s" : "", n->pins[0],
				    n->npins > 1 ? ", ..." : "");
		}
	}
	if (b->len > start)
		buf_addc(b, '\n');
#undef NEXT
}

static void
text_plan(struct buf *b, const struct tf_file *f, const struct plan *pl,
    const char *where)
{
	const struct plan_line *l;
	size_t		 i, ntask = 0, ninit = 0, nready = 0, nwait = 0;
	size_t		 nblock = 0, len;
	struct buf	 d = BUF_INIT;

	for (i = 0; i < pl->n; i++) {
		l = &pl->l[i];
		ntask += !l->bad && strcmp(kind_word(l), "task") == 0;
		ninit += !l->bad && l->it.kind == TF_INIT;
		nready += strcmp(state_word(l), "ready") == 0;
		nwait += strcmp(state_word(l), "waiting") == 0;
		nblock += strcmp(state_word(l), "blocked") == 0;
	}
	buf_printf(b, "%s: %zu lines, %zu tasks (%zu ready, %zu waiting, "
	    "%zu blocked), %zu init lines, %zu malformed\n", where, pl->n,
	    ntask, nready, nwait, nblock, ninit, pl->nbad);
	for (i = 0; i < pl->n; i++) {
		l = &pl->l[i];
		buf_printf(b, "%5zu  %-9s %-9s ", i + 1, kind_word(l),
		    state_word(l));
		if (!l->bad && l->it.text != NULL && (l->it.kind == TF_INIT ||
		    strcmp(kind_word(l), "task") == 0)) {
			len = tf_rstrip(l->it.text, l->it.textlen);
			buf_add(b, l->it.text, len);
		} else
			buf_add(b, f->buf + f->off[i], tf_rstrip(f->buf +
			    f->off[i], tf_linelen(f, i)));
		while (b->s != NULL && b->len > 0 && b->s[b->len - 1] == ' ')
			b->len--;
		buf_addc(b, '\n');
		buf_reset(&d);
		if (!l->bad)
			detail(&d, pl, l);
		if (d.len > 0) {
			buf_adds(b, "                           ");
			buf_add(b, d.s, d.len);
		}
	}
	buf_free(&d);
	if (pl->nbad > 0) {
		buf_adds(b, "malformed tags (rtq-claim refuses the file until "
		    "they are fixed):\n");
		for (i = 0; i < pl->n; i++)
			if (pl->l[i].bad)
				buf_printf(b, "  line %zu: %s\n", i + 1,
				    pl->l[i].err);
	}
}

static void
json_plan(struct buf *b, const struct tf_file *f, const struct plan *pl,
    const char *where)
{
	const struct plan_line *l;
	size_t		 i, j;
	const char	*sep = "";

	buf_adds(b, "{\"file\":");
	view_json_str(b, where, strlen(where));
	buf_adds(b, ",\"lines\":[");
	for (i = 0; i < pl->n; i++) {
		l = &pl->l[i];
		buf_printf(b, "%s\n{\"line\":%zu,\"kind\":\"%s\",\"state\":",
		    i ? "," : "", i + 1, kind_word(l));
		if (*state_word(l))
			buf_printf(b, "\"%s\"", state_word(l));
		else
			buf_adds(b, "null");
		buf_adds(b, ",\"text\":");
		if (!l->bad && l->it.text != NULL && (l->it.kind == TF_INIT ||
		    strcmp(kind_word(l), "task") == 0))
			view_json_str(b, l->it.text, tf_rstrip(l->it.text,
			    l->it.textlen));
		else
			view_json_str(b, f->buf + f->off[i],
			    tf_linelen(f, i));
		if (l->bad) {
			buf_adds(b, ",\"error\":");
			view_json_str(b, l->err, strlen(l->err));
			buf_addc(b, '}');
			continue;
		}
		if (l->it.kind != TF_INIT &&
		    strcmp(kind_word(l), "task") != 0) {
			buf_addc(b, '}');
			continue;
		}
		buf_adds(b, ",\"pins\":[");
		for (j = 0; j < l->npins; j++)
			buf_printf(b, "%s%ld", j ? "," : "", l->pins[j]);
		buf_adds(b, "],\"groups\":[");
		for (j = 0; j < l->ngroups; j++) {
			buf_printf(b, "%s{\"tag\":\"%s\",\"name\":", j ? "," :
			    "", l->groups[j].seq ? "#:" : "#+");
			view_json_str(b, l->groups[j].name, l->groups[j].len);
			buf_addc(b, '}');
		}
		buf_printf(b, "],\"barrier\":%s,\"waits_for\":[",
		    l->barrier ? "true" : "false");
		for (j = 0; j < l->nholds; j++) {
			const struct plan_line *h =
			    &pl->l[l->holds[j].line - 1];
			struct buf v = BUF_INIT;

			via_text(&v, h, l->holds[j].via);
			buf_printf(b, "%s{\"line\":%zu,\"state\":\"%s\","
			    "\"via\":", j ? "," : "", l->holds[j].line,
			    state_word(h));
			view_json_str(b, v.s ? v.s : "", v.len);
			buf_addc(b, '}');
			buf_free(&v);
		}
		buf_adds(b, "],\"blocked_by\":");
		if (l->dead_by)
			buf_printf(b, "%zu", l->dead_by);
		else
			buf_adds(b, "null");
		buf_adds(b, ",\"paused_by\":");
		if (l->paused_by)
			buf_printf(b, "%zu", l->paused_by);
		else
			buf_adds(b, "null");
		buf_adds(b, ",\"init_lines\":[");
		for (j = 0; j < l->ninits; j++)
			buf_printf(b, "%s%zu", j ? "," : "", l->inits[j]);
		buf_adds(b, "]}");
	}
	buf_adds(b, "\n],\"malformed\":[");
	for (i = 0; i < pl->n; i++) {
		if (!pl->l[i].bad)
			continue;
		buf_printf(b, "%s{\"line\":%zu,\"error\":", sep, i + 1);
		view_json_str(b, pl->l[i].err, strlen(pl->l[i].err));
		buf_addc(b, '}');
		sep = ",";
	}
	buf_adds(b, "]}\n");
}

int
do_plan(struct worker *w)
{
	struct buf	 file = BUF_INIT, out = BUF_INIT;
	struct tf_file	 f;
	struct plan	 pl;
	char		 err[512];
	int		 rv;

	if (view_fetch(w, &file) != 0)
		return 1;
	if (tf_split(&f, file.s ? file.s : "", file.len, err,
	    sizeof(err)) == -1) {
		say("%s: %s", w->where, err);
		buf_free(&file);
		return 1;
	}
	if (plan_make(&f, &pl, err, sizeof(err)) == -1) {
		say("%s: %s", w->where, err);
		tf_free(&f);
		buf_free(&file);
		return 1;
	}
	if (w->o->json)
		json_plan(&out, &f, &pl, w->where);
	else
		text_plan(&out, &f, &pl, w->where);
	rv = view_print(&out);
	if (rv == 0 && pl.nbad > 0)
		rv = 1;
	plan_free(&pl);
	tf_free(&f);
	buf_free(&file);
	buf_free(&out);
	return rv;
}
