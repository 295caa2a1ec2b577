/*
 * logs: tasks' output on the master.  The design is in logs.h.
 */
#define _DEFAULT_SOURCE
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "logs.h"
#include "tfio.h"

#define KEEP		4	/* tail segments kept */
#define OFLAGS		(O_NOFOLLOW | O_CLOEXEC)
#define MARK_FMT	"\n[rtq: %lld bytes of output cut here]\n"

/* The sidecar: none, segments after a head of H, or folded. */
struct cut {
	int		 kind;		/* 0 none, 1 segments, 2 folded */
	long long	 h, x, m;
};

struct seg {
	long long	 start, size;
};

int
logs_open(struct logs *l, const char *path, int create, char *err,
    size_t errlen)
{
	struct stat	 st;
	char		*ex, *real;
	size_t		 n;

	l->dirfd = -1;
	l->dir = NULL;
	if ((ex = tfio_expand(path, err, errlen)) == NULL)
		return -1;
	real = realpath(ex, NULL);
	if (real == NULL) {
		snprintf(err, errlen, "%s: %s", ex, strerror(errno));
		free(ex);
		return -1;
	}
	free(ex);
	n = strlen(real) + sizeof(".logs");
	if ((l->dir = malloc(n)) == NULL) {
		free(real);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(l->dir, n, "%s.logs", real);
	free(real);
	if (create && mkdir(l->dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", l->dir, strerror(errno));
		return -1;
	}
	if ((l->dirfd = open(l->dir, O_RDONLY | O_DIRECTORY | OFLAGS)) == -1) {
		if (errno == ENOENT && !create)
			return 1;
		snprintf(err, errlen, "%s: %s%s", l->dir, strerror(errno),
		    errno == ELOOP || errno == ENOTDIR ? " (a log directory "
		    "must be a directory, not a symlink)" : "");
		return -1;
	}
	if (fstat(l->dirfd, &st) == -1 || st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: not a directory of this user; "
		    "not used", l->dir);
		close(l->dirfd);
		l->dirfd = -1;
		return -1;
	}
	return 0;
}

void
logs_close(struct logs *l)
{
	if (l->dirfd != -1)
		close(l->dirfd);
	free(l->dir);
	l->dir = NULL;
	l->dirfd = -1;
}

void
logs_name(size_t line, long worker, int err_stream, char *out, size_t len)
{
	snprintf(out, len, "L%zu.w%ld.%s", line, worker, err_stream ? "err" :
	    "log");
}

static int
sys_err(const char *what, const char *name, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s: %s", what, name, strerror(errno));
	return -1;
}

/* pwrite all of it */
static int
put_at(int fd, const char *s, size_t n, long long off)
{
	ssize_t	 k;

	while (n > 0) {
		if ((k = pwrite(fd, s, n, (off_t)off)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += k;
		n -= (size_t)k;
		off += k;
	}
	return 0;
}

/* pread up to n bytes into out; how many, or -1 */
static ssize_t
get_at(int fd, size_t n, long long off, struct buf *out)
{
	ssize_t	 k;

	if (n == 0)
		return 0;
	if (buf_grow(out, n) == -1)
		return -1;
	while ((k = pread(fd, out->s + out->len, n, (off_t)off)) == -1 &&
	    errno == EINTR)
		;
	if (k > 0) {
		out->len += (size_t)k;
		out->s[out->len] = '\0';
	}
	return k;
}

static int
read_cut(struct logs *l, const char *base, struct cut *c)
{
	char	 name[96], b[96];
	ssize_t	 n;
	int	 fd;

	memset(c, 0, sizeof(*c));
	snprintf(name, sizeof(name), "%s.cut", base);
	if ((fd = openat(l->dirfd, name, O_RDONLY | OFLAGS)) == -1)
		return 0;
	n = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	b[n] = '\0';
	n = sscanf(b, "%lld %lld %lld", &c->h, &c->x, &c->m);
	c->kind = n == 3 ? 2 : n == 1 ? 1 : 0;
	return 0;
}

static int
write_cut(struct logs *l, const char *base, const char *text)
{
	char	 name[96], tmp[112];
	int	 fd, r;

	snprintf(name, sizeof(name), "%s.cut", base);
	snprintf(tmp, sizeof(tmp), "%s.cut.tmp", base);
	unlinkat(l->dirfd, tmp, 0);
	if ((fd = openat(l->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | OFLAGS,
	    0600)) == -1)
		return -1;
	r = put_at(fd, text, strlen(text), 0);
	close(fd);
	if (r == -1 || renameat(l->dirfd, tmp, l->dirfd, name) == -1) {
		unlinkat(l->dirfd, tmp, 0);
		return -1;
	}
	return 0;
}

static int
seg_cmp(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The segments of base, sorted; *n of them (free *v).  0 or -1. */
static int
list_segs(struct logs *l, const char *base, struct seg **v, size_t *n)
{
	DIR		*d;
	struct dirent	*e;
	struct stat	 st;
	struct seg	*s;
	size_t		 bl = strlen(base);
	char		*end;
	long long	 start;
	int		 fd;

	*v = NULL;
	*n = 0;
	if ((fd = dup(l->dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, base, bl) != 0 ||
		    strncmp(e->d_name + bl, ".@", 2) != 0)
			continue;
		start = strtoll(e->d_name + bl + 2, &end, 10);
		if (*end != '\0' || start < 0 || fstatat(l->dirfd, e->d_name,
		    &st, AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(st.st_mode))
			continue;
		if ((s = realloc(*v, (*n + 1) * sizeof(*s))) == NULL)
			break;
		*v = s;
		s[*n].start = start;
		s[(*n)++].size = st.st_size;
	}
	closedir(d);
	if (*n > 1)
		qsort(*v, *n, sizeof(**v), seg_cmp);
	return 0;
}

static void
seg_name(const char *base, long long start, char *out, size_t len)
{
	snprintf(out, len, "%s.@%lld", base, start);
}

/* Whether base has its sidecar (.cut), which its segments come with. */
static int
has_cut(struct logs *l, const char *base)
{
	struct stat	 st;
	char		 name[128];

	snprintf(name, sizeof(name), "%s.cut", base);
	return fstatat(l->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
	    errno != ENOENT;
}

/*
 * A new attempt: no segments, no sidecar.  Without a sidecar there is no
 * segment (logs_write writes it first), and the directory, which holds
 * the logs of every task of the queue, is not read.
 */
static void
forget(struct logs *l, const char *base)
{
	struct seg	*v;
	size_t		 n, i;
	char		 name[128];

	if (!has_cut(l, base))
		return;
	if (list_segs(l, base, &v, &n) == 0)
		for (i = 0; i < n; i++) {
			seg_name(base, v[i].start, name, sizeof(name));
			unlinkat(l->dirfd, name, 0);
		}
	free(v);
	snprintf(name, sizeof(name), "%s.cut", base);
	unlinkat(l->dirfd, name, 0);
}

/* Fold the segments into the file: head, the mark of a cut, the tail. */
static int
fold(struct logs *l, const char *base, long long h, char *err,
    size_t errlen)
{
	struct seg	*v;
	struct buf	 b = BUF_INIT;
	char		 name[128], mark[96];
	size_t		 n, i;
	long long	 at = h, x;
	int		 fd, sfd, r = 0;

	if (list_segs(l, base, &v, &n) == -1)
		return sys_err("logs", l->dir, err, errlen);
	if (n == 0) {
		free(v);
		return 0;
	}
	if ((fd = openat(l->dirfd, base, O_WRONLY | OFLAGS)) == -1) {
		free(v);
		return sys_err("logs", base, err, errlen);
	}
	x = v[0].start;
	if (x > h) {
		snprintf(mark, sizeof(mark), MARK_FMT, x - h);
		r = put_at(fd, mark, strlen(mark), at);
		at += (long long)strlen(mark);
	}
	for (i = 0; i < n && r == 0; i++) {
		seg_name(base, v[i].start, name, sizeof(name));
		buf_reset(&b);
		if ((sfd = openat(l->dirfd, name, O_RDONLY | OFLAGS)) == -1)
			continue;
		r = get_at(sfd, (size_t)v[i].size, 0, &b) < 0 ? -1 :
		    put_at(fd, b.s, b.len, at);
		at += (long long)b.len;
		close(sfd);
	}
	if (r == 0 && ftruncate(fd, (off_t)at) == -1)
		r = -1;
	close(fd);
	if (r == 0) {
		char cut[96];

		if (x > h) {
			snprintf(cut, sizeof(cut), "%lld %lld %zu\n", h, x,
			    strlen(mark));
			r = write_cut(l, base, cut);
		} else {
			snprintf(cut, sizeof(cut), "%s.cut", base);
			unlinkat(l->dirfd, cut, 0);
		}
	}
	for (i = 0; i < n && r == 0; i++) {
		seg_name(base, v[i].start, name, sizeof(name));
		unlinkat(l->dirfd, name, 0);
	}
	free(v);
	buf_free(&b);
	return r == -1 ? sys_err("logs", base, err, errlen) : 0;
}

int
logs_write(struct logs *l, size_t line, long worker, int err_stream,
    long long cap, long long off, const char *data, size_t n, int end,
    char *err, size_t errlen)
{
	char		 base[64], name[128], hs[32];
	long long	 h, s, start, k;
	int		 fd;

	if (cap < LOGS_CAP_MIN)
		cap = LOGS_CAP_MIN;
	h = cap / 2;
	s = cap / 8;
	logs_name(line, worker, err_stream, base, sizeof(base));
	if (off == 0) {
		/* a new attempt: the file emptied, an earlier one forgotten */
		forget(l, base);
		if ((fd = openat(l->dirfd, base, O_WRONLY | O_CREAT | O_TRUNC |
		    OFLAGS, 0600)) == -1)
			return sys_err("logs", base, err, errlen);
		close(fd);
	}
	while (n > 0) {
		if (off < h) {
			k = h - off < (long long)n ? h - off : (long long)n;
			fd = openat(l->dirfd, base, O_WRONLY | O_CREAT | OFLAGS,
			    0600);
			start = 0;
			snprintf(name, sizeof(name), "%s", base);
		} else {
			start = h + (off - h) / s * s;
			k = start + s - off < (long long)n ? start + s - off :
			    (long long)n;
			seg_name(base, start, name, sizeof(name));
			if (off == h || !has_cut(l, base)) {
				snprintf(hs, sizeof(hs), "%lld\n", h);
				if (write_cut(l, base, hs) == -1)
					return sys_err("logs", base, err,
					    errlen);
			}
			if (off == start && start - KEEP * s >= h) {
				char old[128];

				seg_name(base, start - KEEP * s, old,
				    sizeof(old));
				unlinkat(l->dirfd, old, 0);
			}
			fd = openat(l->dirfd, name, O_WRONLY | O_CREAT | OFLAGS,
			    0600);
		}
		if (fd == -1)
			return sys_err("logs", name, err, errlen);
		if (put_at(fd, data, (size_t)k, off - start) == -1) {
			sys_err("logs", name, err, errlen);
			close(fd);
			return -1;
		}
		close(fd);
		data += k;
		n -= (size_t)k;
		off += k;
	}
	if (end)
		return fold(l, base, h, err, errlen);
	return 0;
}

/* One step of a read at stream offset off (see logs_read). */
static int
read_step(struct logs *l, const char *base, long long off, size_t max,
    struct buf *out, long long *next, int *again)
{
	struct cut	 c;
	struct seg	*v = NULL;
	size_t		 n, i;
	long long	 phys = off, lim = -1;
	char		 name[128];
	ssize_t		 k;
	int		 fd;

	*next = off;
	read_cut(l, base, &c);
	if (c.kind == 2) {
		if (off >= c.h && off < c.x) {
			if ((fd = openat(l->dirfd, base, O_RDONLY | OFLAGS)) ==
			    -1)
				return 0;
			get_at(fd, (size_t)c.m, c.h, out);
			close(fd);
			*next = c.x;
			return 1;
		}
		if (off >= c.x)
			phys = c.h + c.m + (off - c.x);
		else
			lim = c.h - off;
	} else if (c.kind == 1 && off >= c.h) {
		if (list_segs(l, base, &v, &n) == -1)
			return -1;
		if (n == 0) {
			free(v);
			*again = 1;	/* folded meanwhile */
			return 1;
		}
		if (off < v[0].start) {
			char mark[96];

			snprintf(mark, sizeof(mark), MARK_FMT,
			    v[0].start - off);
			buf_adds(out, mark);
			*next = v[0].start;
			free(v);
			return 1;
		}
		for (i = 0; i < n && off >= v[i].start + v[i].size; i++)
			;
		if (i == n) {
			free(v);
			return 1;	/* not written yet */
		}
		seg_name(base, v[i].start, name, sizeof(name));
		phys = off - v[i].start;
		free(v);
		if ((fd = openat(l->dirfd, name, O_RDONLY | OFLAGS)) == -1) {
			*again = 1;
			return 1;
		}
		k = get_at(fd, max, phys, out);
		close(fd);
		*next = off + (k > 0 ? k : 0);
		return 1;
	} else if (c.kind == 1)
		lim = c.h - off;
	if ((fd = openat(l->dirfd, base, O_RDONLY | OFLAGS)) == -1)
		return errno == ENOENT ? 0 : -1;
	if (lim >= 0 && (long long)max > lim)
		max = (size_t)lim;
	k = get_at(fd, max, phys, out);
	close(fd);
	*next = off + (k > 0 ? k : 0);
	return 1;
}

int
logs_read(struct logs *l, size_t line, long worker, int err_stream,
    long long off, size_t max, struct buf *out, long long *next, char *err,
    size_t errlen)
{
	char	 base[64];
	int	 tries, again, r = 0;

	logs_name(line, worker, err_stream, base, sizeof(base));
	for (tries = 0; tries < 3; tries++) {
		again = 0;
		if ((r = read_step(l, base, off, max, out, next, &again)) ==
		    -1)
			return sys_err("logs", base, err, errlen);
		if (!again)
			break;
	}
	return r;
}

/* The stream offset just past the last byte of base. */
static long long
stream_end(struct logs *l, const char *base)
{
	struct cut	 c;
	struct stat	 st;
	struct seg	*v;
	size_t		 n;
	long long	 e;

	read_cut(l, base, &c);
	if (fstatat(l->dirfd, base, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	if (c.kind == 2)
		return c.x + (st.st_size - c.h - c.m);
	if (c.kind == 1 && list_segs(l, base, &v, &n) == 0) {
		e = n > 0 ? v[n - 1].start + v[n - 1].size : st.st_size;
		free(v);
		return e;
	}
	return st.st_size;
}

int
logs_tail(struct logs *l, size_t line, long worker, int nlines, size_t max,
    struct buf *out)
{
	struct buf	 b = BUF_INIT;
	char		 base[64], err[256];
	long long	 end, off, next;
	size_t		 i;
	int		 seen = 0;

	if (l->dirfd == -1)
		return 0;
	logs_name(line, worker, 0, base, sizeof(base));
	if ((end = stream_end(l, base)) < 0)
		return 0;
	off = end > (long long)max ? end - (long long)max : 0;
	while (off < end && logs_read(l, line, worker, 0, off, (size_t)(end -
	    off), &b, &next, err, sizeof(err)) == 1 && next > off)
		off = next;
	/* the last nlines lines, a last one without its line break counted */
	i = b.len;
	if (i > 0 && b.s[i - 1] == '\n')
		i--;
	while (i > 0) {
		if (b.s[i - 1] == '\n' && ++seen == nlines)
			break;
		i--;
	}
	buf_add(out, b.s + i, b.len - i);
	buf_free(&b);
	return 1;
}
