#include <stdlib.h>
#include <string.h>

#include "patch.h"

int
patch_replace(struct patch *p, size_t off, size_t len, const char *s,
    size_t n)
{
	struct patch_splice	*sp;
	size_t			 i, doff = p->data.len;

	for (i = p->n; i > 0 && p->sp[i - 1].off > off; i--)
		;
	if (i > 0 && p->sp[i - 1].off + p->sp[i - 1].len > off)
		return -1;
	if (i < p->n && off + len > p->sp[i].off)
		return -1;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;

		if ((sp = realloc(p->sp, cap * sizeof(*sp))) == NULL)
			return -1;
		p->sp = sp;
		p->cap = cap;
	}
	if (buf_add(&p->data, s, n) == -1)
		return -1;
	memmove(p->sp + i + 1, p->sp + i, (p->n - i) * sizeof(*p->sp));
	p->sp[i].off = off;
	p->sp[i].len = len;
	p->sp[i].doff = doff;
	p->sp[i].dlen = n;
	p->n++;
	return 0;
}

size_t
patch_size(const struct patch *p, size_t oldsize)
{
	size_t	 i, size = oldsize;

	for (i = 0; i < p->n; i++)
		size = size - p->sp[i].len + p->sp[i].dlen;
	return size;
}

int
patch_apply(const struct patch *p, const char *buf, size_t size,
    struct buf *out)
{
	size_t	 i, at = 0;

	if (buf_grow(out, patch_size(p, size)) == -1)
		return -1;
	for (i = 0; i < p->n; i++) {
		buf_add(out, buf + at, p->sp[i].off - at);
		buf_add(out, p->data.s + p->sp[i].doff, p->sp[i].dlen);
		at = p->sp[i].off + p->sp[i].len;
	}
	buf_add(out, buf + at, size - at);
	return buf_failed(out) ? -1 : 0;
}

void
patch_reset(struct patch *p)
{
	p->n = 0;
	buf_reset(&p->data);
}

void
patch_free(struct patch *p)
{
	free(p->sp);
	p->sp = NULL;
	p->n = p->cap = 0;
	buf_free(&p->data);
}
