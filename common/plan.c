/*
 * plan: what each line is and what holds it back; the rule is in plan.h.
 * Each line is compared with the earlier tasks not yet ok, so the cost is
 * the number of lines times the number of open tasks above them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

static int
is_task(enum tf_kind k)
{
	return k == TF_PENDING || k == TF_RUNNING || k == TF_DONE ||
	    k == TF_FAILED || k == TF_GIVENUP;
}

int
plan_task_open(const struct plan_line *l)
{
	return !l->bad && is_task(l->it.kind) && l->it.kind != TF_DONE;
}

/* Pins and groups of line l from its tags.  0, or -1 (memory). */
static int
read_tags(struct plan_line *l)
{
	const char	*p = l->it.tags, *end = l->it.tags + l->it.tagslen;
	struct tf_tag	 t;
	char		 err[8];
	size_t		 n = 0;
	void		*v;

	if (p == NULL)
		return 0;
	while (tf_tag_next(&p, end, &t, err, sizeof(err)) == 1)
		n++;
	if (n == 0)
		return 0;
	if ((l->pins = calloc(n, sizeof(*l->pins))) == NULL ||
	    (v = calloc(n, sizeof(*l->groups))) == NULL)
		return -1;
	l->groups = v;
	p = l->it.tags;
	while (tf_tag_next(&p, end, &t, err, sizeof(err)) == 1) {
		if (t.kind == TF_TAG_WORKER)
			l->pins[l->npins++] = t.id;
		else if (t.kind == TF_TAG_SEQ && t.namelen == 0)
			l->barrier = 1;
		else if (t.kind == TF_TAG_SEQ || t.kind == TF_TAG_PAR) {
			l->groups[l->ngroups].name = t.name;
			l->groups[l->ngroups].len = t.namelen;
			l->groups[l->ngroups].seq = t.kind == TF_TAG_SEQ;
			l->ngroups++;
		}
	}
	return 0;
}

static const struct plan_group *
group_of(const struct plan_line *l, const char *name, size_t len)
{
	size_t	 i;

	for (i = 0; i < l->ngroups; i++)
		if (l->groups[i].len == len &&
		    memcmp(l->groups[i].name, name, len) == 0)
			return &l->groups[i];
	return NULL;
}

/*
 * Whether the earlier open task h holds line l back; *via is the group of
 * h through which it does (NULL: h is a barrier, or l is one).
 */
static int
holds(const struct plan_line *h, const struct plan_line *l,
    const struct plan_group **via)
{
	const struct plan_group *g;
	size_t		 i;

	*via = NULL;
	if (h->barrier || l->barrier)
		return 1;
	for (i = 0; i < l->ngroups; i++) {
		if ((g = group_of(h, l->groups[i].name, l->groups[i].len))
		    == NULL)
			continue;
		/* #:g waits for #:g and #+g; #+g for #:g only */
		if (l->groups[i].seq || g->seq) {
			*via = g;
			return 1;
		}
	}
	return 0;
}

int
plan_depends(const struct plan_line *h, const struct plan_line *l)
{
	const struct plan_group *via;

	return !h->bad && !l->bad && holds(h, l, &via);
}

/* Whether a task pinned to a may share a worker with init line b. */
static int
pins_meet(const struct plan_line *a, const struct plan_line *b)
{
	size_t	 i, j;

	if (a->npins == 0 || b->npins == 0)
		return 1;
	for (i = 0; i < a->npins; i++)
		for (j = 0; j < b->npins; j++)
			if (a->pins[i] == b->pins[j])
				return 1;
	return 0;
}

int
plan_make(const struct tf_file *f, struct plan *pl, char *err,
    size_t errlen)
{
	struct plan_line *l, *h;
	size_t		 i, j, *open = NULL, nopen = 0, *init = NULL;
	size_t		 ninit = 0, pause = 0;
	const struct plan_group *via;
	double		 secs;
	long		 n;

	memset(pl, 0, sizeof(*pl));
	if (f->nline == 0)
		return 0;
	if ((pl->l = calloc(f->nline, sizeof(*pl->l))) == NULL ||
	    (open = calloc(f->nline, sizeof(*open))) == NULL ||
	    (init = calloc(f->nline, sizeof(*init))) == NULL)
		goto nomem;
	pl->n = f->nline;
	for (i = 0; i < f->nline; i++) {
		l = &pl->l[i];
		if (tf_classify(f->buf + f->off[i], tf_linelen(f, i), i + 1,
		    &l->it, l->err, sizeof(l->err)) == -1)
			l->bad = 1;
		else if ((is_task(l->it.kind) || l->it.kind == TF_INIT) &&
		    tf_timeout(l->it.text, l->it.textlen, &secs) == -1) {
			l->bad = 1;
			snprintf(l->err, sizeof(l->err), "malformed #timeout= "
			    "tag: expected a duration such as 90, 90s, 15m, "
			    "2h or 1d");
		} else if ((is_task(l->it.kind) || l->it.kind == TF_INIT) &&
		    tf_retries(l->it.text, l->it.textlen, &n) == -1) {
			l->bad = 1;
			snprintf(l->err, sizeof(l->err), "malformed #retries= "
			    "tag: expected a number from 0 to %d",
			    TF_MAXRETRIES);
		}
		if (l->bad) {
			pl->nbad++;
			continue;
		}
		if (l->it.kind == TF_PAUSE && pause == 0)
			pause = i + 1;
		if (!is_task(l->it.kind) && l->it.kind != TF_INIT)
			continue;
		if (read_tags(l) == -1)
			goto nomem;
		if (l->it.kind == TF_PENDING || l->it.kind == TF_FAILED ||
		    l->it.kind == TF_INIT) {
			l->paused_by = pause;
			if (nopen > 0 && (l->holds = calloc(nopen,
			    sizeof(*l->holds))) == NULL)
				goto nomem;
			for (j = 0; j < nopen; j++) {
				h = &pl->l[open[j]];
				if (!holds(h, l, &via))
					continue;
				l->holds[l->nholds].line = open[j] + 1;
				l->holds[l->nholds++].via = via;
				if (l->dead_by == 0 && h->it.kind ==
				    TF_GIVENUP)
					l->dead_by = open[j] + 1;
				else if (l->dead_by == 0 && h->dead_by != 0)
					l->dead_by = h->dead_by;
			}
		}
		if (l->it.kind == TF_INIT) {
			init[ninit++] = i;
			continue;
		}
		if (ninit > 0 && (l->inits = calloc(ninit,
		    sizeof(*l->inits))) == NULL)
			goto nomem;
		for (j = 0; j < ninit; j++)
			if (pins_meet(l, &pl->l[init[j]]))
				l->inits[l->ninits++] = init[j] + 1;
		if (l->it.kind != TF_DONE)
			open[nopen++] = i;
	}
	free(open);
	free(init);
	return 0;
nomem:
	free(open);
	free(init);
	plan_free(pl);
	snprintf(err, errlen, "out of memory planning %zu lines", f->nline);
	return -1;
}

void
plan_free(struct plan *pl)
{
	size_t	 i;

	for (i = 0; i < pl->n; i++) {
		free(pl->l[i].pins);
		free(pl->l[i].groups);
		free(pl->l[i].holds);
		free(pl->l[i].inits);
	}
	free(pl->l);
	memset(pl, 0, sizeof(*pl));
}
