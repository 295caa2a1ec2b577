/*
 * edit: the merge behind rtq --edit.  See edit.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edit.h"
#include "taskfile.h"

struct lines {
	struct tf_file	 f;
	struct tf_item	*it;
};

static int
lines_load(struct lines *l, const char *s, size_t n, char *err,
    size_t errlen)
{
	size_t	 i;
	char	 e[8];

	memset(l, 0, sizeof(*l));
	if (tf_split(&l->f, s, n, err, errlen) == -1)
		return -1;
	if ((l->it = calloc(l->f.nline + 1, sizeof(*l->it))) == NULL) {
		snprintf(err, errlen, "out of memory");
		tf_free(&l->f);
		return -1;
	}
	for (i = 0; i < l->f.nline; i++)
		tf_classify(l->f.buf + l->f.off[i], tf_linelen(&l->f, i), i + 1,
		    &l->it[i], e, sizeof(e));
	return 0;
}

static void
lines_free(struct lines *l)
{
	free(l->it);
	tf_free(&l->f);
}

static int
is_task(const struct tf_item *it)
{
	return it->kind == TF_PENDING || it->kind == TF_RUNNING ||
	    it->kind == TF_DONE || it->kind == TF_FAILED;
}

static int
same_line(const struct lines *a, size_t i, const struct lines *b, size_t j)
{
	size_t	 n = tf_linelen(&a->f, i);

	return n == tf_linelen(&b->f, j) && memcmp(a->f.buf + a->f.off[i],
	    b->f.buf + b->f.off[j], n) == 0;
}

/* Whether line j of theirs is line i of base, claimed or finished since. */
static int
evolved(const struct lines *b, size_t i, const struct lines *t, size_t j)
{
	const struct tf_item *x = &b->it[i], *y = &t->it[j];

	if (same_line(b, i, t, j))
		return 1;
	return is_task(x) && is_task(y) && x->textlen == y->textlen &&
	    memcmp(x->text, y->text, x->textlen) == 0;
}

/* Append line i of l with its own line ending (or eol when it has none). */
static void
put_line(struct buf *out, const struct lines *l, size_t i, const char *eol)
{
	size_t	 a = l->f.off[i], z = l->f.off[i + 1];

	buf_add(out, l->f.buf + a, z - a);
	if (z == a || l->f.buf[z - 1] != '\n')
		buf_adds(out, eol);
}

long
edit_merge(const char *base, size_t nbase, const char *mine, size_t nmine,
    const char *theirs, size_t ntheirs, struct buf *out, char *err,
    size_t errlen)
{
	struct lines	 b, m, t;
	size_t		 i, j, k, hdr = 0;
	char		*used = NULL;
	long		 kept = 0;

	if (lines_load(&b, base, nbase, err, errlen) == -1)
		return -1;
	if (lines_load(&m, mine, nmine, err, errlen) == -1) {
		lines_free(&b);
		return -1;
	}
	if (lines_load(&t, theirs, ntheirs, err, errlen) == -1) {
		lines_free(&b);
		lines_free(&m);
		return -1;
	}
	/* the first registration inserts the header above line 1 */
	if (t.f.nline > 0 && t.it[0].kind == TF_HEADER && (b.f.nline == 0 ||
	    b.it[0].kind != TF_HEADER))
		hdr = 1;
	if (t.f.nline < b.f.nline + hdr)
		goto conflict;
	for (i = 0; i < b.f.nline; i++)
		if (!evolved(&b, i, &t, i + hdr))
			goto conflict;
	if (hdr)
		put_line(out, &t, 0, t.f.eol);
	if ((used = calloc(b.f.nline + 1, 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		kept = -1;
		goto out;
	}
	/* each line of mine: the base line it is, as theirs has it now */
	for (i = 0, k = 0; i < m.f.nline; i++) {
		for (j = k; j < b.f.nline && (used[j] || !same_line(&m, i, &b,
		    j)); j++)
			;
		if (j == b.f.nline)	/* moved up: look from the top */
			for (j = 0; j < b.f.nline && (used[j] ||
			    !same_line(&m, i, &b, j)); j++)
				;
		if (j < b.f.nline) {
			used[j] = 1;
			k = j + 1;
			put_line(out, &t, j + hdr, t.f.eol);
		} else
			put_line(out, &m, i, t.f.eol);
	}
	/* deleted by the person, but claimed or finished meanwhile */
	for (j = 0; j < b.f.nline; j++)
		if (!used[j] && !same_line(&b, j, &t, j + hdr)) {
			put_line(out, &t, j + hdr, t.f.eol);
			kept++;
		}
	for (j = b.f.nline + hdr; j < t.f.nline; j++)
		put_line(out, &t, j, t.f.eol);
	if (buf_failed(out) || (out->s == NULL && buf_grow(out, 0) == -1)) {
		snprintf(err, errlen, "out of memory");
		kept = -1;
	}
	goto out;
conflict:
	snprintf(err, errlen, "the file changed in ways other than claims and "
	    "appends while you edited (another edit, or a reset)");
	kept = -1;
out:
	free(used);
	lines_free(&b);
	lines_free(&m);
	lines_free(&t);
	return kept;
}

size_t
edit_check(const char *base, size_t nbase, const char *mine, size_t nmine,
    struct buf *out)
{
	struct lines	 b, m;
	size_t		 i, j, n = 0;
	char		 err[64];
	const struct tf_item *x, *y;

	if (lines_load(&b, base, nbase, err, sizeof(err)) == -1)
		return 0;
	if (lines_load(&m, mine, nmine, err, sizeof(err)) == -1) {
		lines_free(&b);
		return 0;
	}
	for (i = 0; i < m.f.nline; i++) {
		y = &m.it[i];
		for (j = 0; j < b.f.nline; j++) {
			x = &b.it[j];
			if (same_line(&m, i, &b, j))
				break;
			if (!is_task(y) || (x->kind != TF_RUNNING &&
			    x->kind != TF_DONE))
				continue;
			if (y->kind == TF_PENDING && y->textlen <=
			    x->textlen && memcmp(x->text, y->text,
			    y->textlen) == 0 && tf_rstrip(x->text,
			    x->textlen) == tf_rstrip(y->text, y->textlen)) {
				buf_printf(out, "line %zu turns the %s task of "
				    "line %zu back into a pending one: it "
				    "would run again\n", i + 1, x->kind ==
				    TF_RUNNING ? "running" : "finished", j + 1);
				n++;
				break;
			}
			if (x->kind == TF_RUNNING && y->kind == TF_RUNNING &&
			    y->annlen == x->annlen && memcmp(x->ann, y->ann,
			    x->annlen) == 0) {
				buf_printf(out, "line %zu changes the text of "
				    "the task running on line %zu: its result "
				    "would be recorded on a command that did "
				    "not run\n", i + 1, j + 1);
				n++;
				break;
			}
		}
	}
	lines_free(&b);
	lines_free(&m);
	return n;
}
