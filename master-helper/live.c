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
#include "fdio.h"
#include "live.h"

#define LIVE_HEAD	"# rtq: workers last heard from (master clock); " \
			"see rtq-taskfile(5)\n"

/* The table as the lock file holds it, to b.  Returns 0 or -1 (memory). */
static int
live_format(const struct live *l, struct buf *b)
{
	size_t	 i;

	buf_reset(b);
	buf_adds(b, LIVE_HEAD);
	buf_printf(b, "next %d\n", l->prev_next);
	if (l->swept != 0)
		buf_printf(b, "swept %lld\n", l->swept);
	for (i = 0; i < TFIO_PREVS; i++)
		if (l->prev[i].ino != 0)
			buf_printf(b, "prev %zu %llu %lld %lld %llu\n", i,
			    l->prev[i].ino, l->prev[i].size, l->prev[i].when,
			    l->prev[i].dev);
	for (i = 0; i < l->n; i++) {
		buf_printf(b, "%ld %lld %ld %lld%s", l->e[i].w,
		    l->e[i].seen, l->e[i].lease, l->e[i].seq,
		    l->e[i].lost ? " lost" : "");
		if (l->e[i].machine != 0)
			buf_printf(b, " m=%llx", l->e[i].machine);
		if (l->e[i].kill != 0)
			buf_printf(b, " kill=%zu", l->e[i].kill);
		buf_addc(b, '\n');
	}
	return buf_failed(b) ? -1 : 0;
}

/*
 * The lock file from its start, at most LIVE_MAX bytes, to b.  Returns
 * 0, or -1 with errno (EFBIG: it holds more).
 */
static int
read_bounded(int fd, struct buf *b)
{
	ssize_t	 n;
	size_t	 want;

	for (;;) {
		/*
		 * 4 KiB first (a table is small), then as much again as was
		 * read: a larger first buffer would be mapped, faulted in and
		 * unmapped by every request.
		 */
		want = b->len < 4096 ? 4096 : b->len;
		if (want > LIVE_MAX + 1 - b->len)
			want = LIVE_MAX + 1 - b->len;
		if (buf_grow(b, want) == -1) {
			errno = ENOMEM;
			return -1;
		}
		n = pread(fd, b->s + b->len, want, (off_t)b->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		b->len += (size_t)n;
		if (b->len > LIVE_MAX) {
			errno = EFBIG;
			return -1;
		}
	}
	if (n == -1)
		return -1;
	b->s[b->len] = '\0';
	return 0;
}

/*
 * The buffer the table is read into, kept from one load to the next (a
 * serve session loads it every request): freed, the memory went back to
 * the system and was mapped and faulted in again each time.
 */
static struct buf	 rbuf;
#define RBUF_KEEP	65536	/* a larger one is not kept */

/* Done with rbuf.  Passes r through. */
static int
rbuf_done(int r)
{
	if (rbuf.cap > RBUF_KEEP || buf_failed(&rbuf))
		buf_free(&rbuf);
	buf_reset(&rbuf);
	return r;
}

int
live_load(int fd, struct live *l)
{
	struct buf	*b = &rbuf;
	char		*p, *nl, *sv;

	memset(l, 0, sizeof(*l));
	buf_reset(b);
	if (read_bounded(fd, b) == -1)
		return rbuf_done(-1);
	/* the bytes as they are, so that a save writes only a change */
	if (buf_add(&l->saved, b->s, b->len) == -1) {
		errno = ENOMEM;
		return rbuf_done(-1);
	}
	for (p = b->s; p != NULL && *p != '\0'; p = nl + 1) {
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
				/* absent (an older rtq-claim): 0 */
				l->prev[slot].dev = strtoull(q, &q, 10);
			}
			continue;
		}
		if (strncmp(p, "swept ", 6) == 0) {
			l->swept = strtoll(p + 6, NULL, 10);
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
		e.lost = 0;
		e.machine = 0;
		e.kill = 0;
		for (p = strtok_r(q, " ", &sv); p != NULL;
		    p = strtok_r(NULL, " ", &sv))
			if (strcmp(p, "lost") == 0)
				e.lost = 1;
			else if (strncmp(p, "m=", 2) == 0)
				e.machine = strtoull(p + 2, NULL, 16);
			else if (strncmp(p, "kill=", 5) == 0)
				e.kill = (size_t)strtoull(p + 5, NULL, 10);
		if (live_touch(l, e.w, e.seen, e.lease) == NULL) {
			live_free(l);
			errno = ENOMEM;
			return rbuf_done(-1);
		}
		live_get(l, e.w)->lost = e.lost;
		live_get(l, e.w)->seq = e.seq;
		live_get(l, e.w)->machine = e.machine;
		live_get(l, e.w)->kill = e.kill;
	}
	return rbuf_done(0);
}

/*
 * The table formatted for a save, kept from one save to the next like
 * rbuf (its malloc group, freed, went back to the system every request).
 */
static struct buf	 fbuf;

int
live_save(int fd, struct live *l)
{
	struct buf	*b = &fbuf;
	size_t		 at = 0;
	ssize_t		 n;
	int		 r = -1;

	if (buf_failed(b) || b->cap > RBUF_KEEP)
		buf_free(b);
	if (live_format(l, b) == -1) {
		errno = ENOMEM;
		return -1;
	}
	if (b->len == l->saved.len && memcmp(b->s, l->saved.s, b->len) == 0)
		return 0;	/* unchanged: no write */
	while (at < b->len) {
		if ((n = pwrite(fd, b->s + at, b->len - at, (off_t)at)) ==
		    -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		at += (size_t)n;
	}
	/*
	 * The file holds the table read (all of it) or last written here,
	 * under the lock: only a shorter one leaves bytes to cut.  (An open
	 * that truncates it, by runtask.sh, only makes it shorter.)
	 */
	if ((b->len < l->saved.len || l->unsure) &&
	    ftruncate(fd, (off_t)b->len) == -1)
		goto fail;
	buf_reset(&l->saved);
	if (buf_add(&l->saved, b->s, b->len) == 0) {
		l->unsure = 0;
		return 0;
	}
	r = 0;		/* written, not remembered (memory): as after a failure */
fail:
	/* what the file holds now is unknown: the next save writes, whole */
	buf_free(&l->saved);
	buf_adds(&l->saved, "?");
	l->unsure = 1;
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

/*
 * The entries of the last table freed, kept for the next (a serve session
 * loads one every request: a fresh array was mapped, faulted in and
 * unmapped each time).  Never more than one array.
 */
static struct live_ent	*spare_e;
static size_t		 spare_ecap;

struct live_ent *
live_touch(struct live *l, long w, long long now, long lease)
{
	struct live_ent	*e;

	if ((e = live_get(l, w)) == NULL) {
		if (l->e == NULL && spare_e != NULL) {
			l->e = spare_e;
			l->cap = spare_ecap;
			spare_e = NULL;
			spare_ecap = 0;
		}
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
		e->machine = 0;
		e->kill = 0;
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

size_t
live_ids(const struct live *l, long long now, long *out)
{
	size_t	 i, n = 0;

	for (i = 0; i < l->n; i++)
		if (!l->e[i].lost && now - l->e[i].seen <= l->e[i].lease)
			out[n++] = l->e[i].w;
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
	/* the largest array is kept for the next table (see spare_e) */
	if (l->e != NULL && l->cap > spare_ecap) {
		free(spare_e);
		spare_e = l->e;
		spare_ecap = l->cap;
	} else
		free(l->e);
	buf_free(&l->saved);
	memset(l, 0, sizeof(*l));
}
