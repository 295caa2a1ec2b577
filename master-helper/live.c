/*
 * live: the liveness table in the lock file.  See live.h.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "live.h"

#define LIVE_HEAD	"# rtq: workers last heard from (master clock); " \
			"see rtq-taskfile(5)\n"

int
live_load(int fd, struct live *l)
{
	struct buf	 b = BUF_INIT;
	char		 chunk[4096], *p, *nl;
	off_t		 at = 0;
	ssize_t		 n;

	memset(l, 0, sizeof(*l));
	while ((n = pread(fd, chunk, sizeof(chunk), at)) > 0) {
		if (buf_add(&b, chunk, (size_t)n) == -1) {
			buf_free(&b);
			return -1;
		}
		at += n;
	}
	for (p = b.s; p != NULL && *p != '\0'; p = nl + 1) {
		struct live_ent	 e;
		char		*q;
		int		 k;

		if ((nl = strchr(p, '\n')) == NULL)
			break;		/* a torn last line: skip it */
		*nl = '\0';
		if (strncmp(p, "prev ", 5) == 0) {
			long slot = strtol(p + 5, &q, 10);

			if (slot >= 0 && slot < TFIO_PREVS) {
				l->prev[slot].ino = strtoull(q, &q, 10);
				l->prev[slot].size = strtoll(q, &q, 10);
				l->prev[slot].when = strtoll(q, &q, 10);
			}
			continue;
		}
		if (strncmp(p, "next ", 5) == 0) {
			l->prev_next = (int)(strtol(p + 5, NULL, 10) %
			    TFIO_PREVS);
			if (l->prev_next < 0)
				l->prev_next = 0;
			continue;
		}
		/* no sscanf: it would double the size of rtq-claim */
		k = 0;
		e.w = strtol(p, &q, 10);
		k += q != p;
		e.seen = strtoll(p = q, &q, 10);
		k += q != p;
		e.lease = strtol(p = q, &q, 10);
		k += q != p;
		e.seq = strtoll(p = q, &q, 10);
		k += q != p;
		if (k < 4 || e.w < 0 || e.lease <= 0)
			continue;
		e.lost = strcmp(q, " lost") == 0;
		if (live_touch(l, e.w, e.seen, e.lease) == NULL) {
			buf_free(&b);
			return -1;
		}
		live_get(l, e.w)->lost = e.lost;
		live_get(l, e.w)->seq = e.seq;
	}
	buf_free(&b);
	return 0;
}

int
live_save(int fd, const struct live *l)
{
	struct buf	 b = BUF_INIT;
	size_t		 i;
	int		 r = -1;

	buf_adds(&b, LIVE_HEAD);
	buf_printf(&b, "next %d\n", l->prev_next);
	for (i = 0; i < TFIO_PREVS; i++)
		if (l->prev[i].ino != 0)
			buf_printf(&b, "prev %zu %llu %lld %lld\n", i,
			    l->prev[i].ino, l->prev[i].size, l->prev[i].when);
	for (i = 0; i < l->n; i++)
		buf_printf(&b, "%ld %lld %ld %lld%s\n", l->e[i].w,
		    l->e[i].seen, l->e[i].lease, l->e[i].seq,
		    l->e[i].lost ? " lost" : "");
	if (b.s != NULL && pwrite(fd, b.s, b.len, 0) == (ssize_t)b.len &&
	    ftruncate(fd, (off_t)b.len) == 0)
		r = 0;
	buf_free(&b);
	return r;
}

struct live_ent *
live_get(struct live *l, long w)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		if (l->e[i].w == w)
			return &l->e[i];
	return NULL;
}

struct live_ent *
live_touch(struct live *l, long w, long long now, long lease)
{
	struct live_ent	*e;

	if ((e = live_get(l, w)) == NULL) {
		if (l->n == l->cap) {
			size_t cap = l->cap ? 2 * l->cap : 16;

			if ((e = realloc(l->e, cap * sizeof(*e))) == NULL)
				return NULL;
			l->e = e;
			l->cap = cap;
		}
		e = &l->e[l->n++];
		e->w = w;
		e->lease = LIVE_LEASE;
		e->seq = -1;
		e->lost = 0;
	}
	e->seen = now;
	if (lease > 0)
		e->lease = lease;
	return e;
}

size_t
live_expire(struct live *l, long long now, long except, long *out,
    size_t max)
{
	size_t	 i, n = 0;

	for (i = 0; i < l->n && n < max; i++) {
		struct live_ent *e = &l->e[i];

		if (e->w == except || e->lost || now - e->seen <= e->lease)
			continue;
		e->lost = 1;
		out[n++] = e->w;
	}
	return n;
}

void
live_drop(struct live *l, long w)
{
	struct live_ent	*e;

	if ((e = live_get(l, w)) == NULL)
		return;
	*e = l->e[--l->n];
}

void
live_free(struct live *l)
{
	free(l->e);
	memset(l, 0, sizeof(*l));
}
