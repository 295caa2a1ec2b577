/*
 * tfio: locking, reading and atomically rewriting a task file.  The design
 * is described in tfio.h.
 */
#define _DEFAULT_SOURCE
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"
#include "live.h"
#include "tfio.h"

#define TAIL_WAITS	20		/* a last line still being written */
#define TAIL_WAIT_NS	2000000L
#define CARRY_ROUNDS	3
#define SPARE_MAX	(256u << 20)
/* the longest name we derive from the real path: "/.NAME.prev.rtq.15.new" */
#define SUFFIX_MAX	(sizeof("/..prev.rtq.15.new") - 1)

static struct buf spare;		/* the last read buffer, for reuse */
static uid_t	 euid = (uid_t)-1;	/* asked once: see my_ids */
static gid_t	 egid = (gid_t)-1;

static void	 sweep(struct tfio *);

/* Our effective user and group: rtq-claim never changes them. */
static void
my_ids(void)
{
	if (euid == (uid_t)-1) {
		euid = geteuid();
		egid = getegid();
	}
}

/* ".NAME.prev.rtq.SLOT" (+ suffix) beside the real file; NULL: memory. */
static char *
prev_path(const struct tfio *t, int slot, const char *suffix)
{
	struct buf	 b = BUF_INIT;

	buf_printf(&b, "%s/.%s.prev.rtq.%d%s", t->dir, t->base, slot, suffix);
	return b.s;
}

/* "<path>.lock": a new string, or NULL (memory). */
static char *
lock_name(const char *path)
{
	struct buf	 b = BUF_INIT;

	buf_adds(&b, path);
	buf_adds(&b, ".lock");
	return b.s;
}

/* Write the table if it changed.  0, or TFIO_EIO with a message. */
static int
save_table(struct tfio *t, char *err, size_t errlen)
{
	if (t->live == NULL || t->livefd == -1 ||
	    live_save(t->livefd, t->live) == 0)
		return 0;
	/* (a lock file opened read-only was refused by tfio_open) */
	snprintf(err, errlen, "%s: cannot write the table of workers and "
	    "previous versions kept in the lock file: %s", t->livepath,
	    strerror(errno));
	return TFIO_EIO;
}

/*
 * Append bytes [from, to) of fd to the file at path (never through a
 * symlink).  Returns 0, or -1 with errno.  *done is how many of them are
 * in the file now: all of them (fewer only when fd ends before to); after
 * a failure 0, what was partly appended taken back, unless something else
 * was appended behind it meanwhile: then the bytes that got across.
 */
/*
 * Where the whole lines of fd's bytes [from, to) end: just past the last
 * line break in them, or from when there is none (or on a read error).
 * A write that crosses a page boundary shows its first part before the
 * rest: carried at once, that part would become a line of its own, and
 * the rest, carried later, would run into whatever follows it.
 */
static off_t
whole_lines(int fd, off_t from, off_t to)
{
	char	 chunk[4096];
	off_t	 at = to;
	ssize_t	 n;
	size_t	 len;

	while (at > from) {
		len = at - from < (off_t)sizeof(chunk) ? (size_t)(at - from) :
		    sizeof(chunk);
		if ((n = pread(fd, chunk, len, at - (off_t)len)) != (ssize_t)len)
			return from;
		while (n > 0)
			if (chunk[--n] == '\n')
				return at - (off_t)len + n + 1;
		at -= (off_t)len;
	}
	return from;
}

static int
copy_tail(int fd, off_t from, off_t to, const char *path, int nosync,
    off_t *done)
{
	char		 chunk[65536];
	struct stat	 st;
	off_t		 start = 0;
	ssize_t		 n, w, off;
	int		 out, e;

	*done = 0;
	if ((out = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW |
	    O_NOCTTY)) == -1)
		return -1;
	if (fstat(out, &st) == -1)
		goto fail;
	start = st.st_size;
	while (from + *done < to) {
		/* never past to: the file may grow meanwhile, and the caller
		 * counts on exactly [from, to) */
		n = pread(fd, chunk, (size_t)(to - from - *done) <
		    sizeof(chunk) ? (size_t)(to - from - *done) :
		    sizeof(chunk), from + *done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		if (n == 0)
			break;		/* it was cut short: what there is */
		for (off = 0; off < n; off += w) {
			if ((w = write(out, chunk + off, (size_t)(n - off))) ==
			    -1 && errno == EINTR)
				w = 0;
			else if (w <= 0) {
				if (w == 0)
					errno = ENOSPC;
				goto fail;
			}
			*done += w;	/* a short write counts what it wrote */
		}
	}
	if (!nosync && fsync(out) == -1)
		goto fail;
	return close(out);
fail:
	e = errno;
	/* take back a partial copy, if nothing came behind it */
	if (*done > 0 && fstat(out, &st) == 0 && st.st_size == start + *done &&
	    ftruncate(out, start) == 0)
		*done = 0;
	close(out);
	errno = e;
	return -1;
}

char *
tfio_expand(const char *path, char *err, size_t errlen)
{
	struct buf	 b = BUF_INIT;
	const char	*home = NULL, *rest = path;
	struct passwd	*pw;

	if (*path == '\0') {
		snprintf(err, errlen, "empty task file name");
		return NULL;
	}
	if (path[0] == '~') {
		const char *slash = strchr(path, '/');
		size_t n = slash ? (size_t)(slash - path) : strlen(path);

		rest = path + n;
		if (*rest == '/')
			rest++;
		if (n == 1) {
			if ((home = getenv("HOME")) == NULL || *home == '\0')
				home = (pw = getpwuid(getuid())) ? pw->pw_dir :
				    NULL;
		} else {
			char user[256];

			if (n - 1 >= sizeof(user)) {
				snprintf(err, errlen, "%s: user name too long",
				    path);
				return NULL;
			}
			memcpy(user, path + 1, n - 1);
			user[n - 1] = '\0';
			if ((pw = getpwnam(user)) == NULL) {
				snprintf(err, errlen, "%s: no user \"%s\"",
				    path, user);
				return NULL;
			}
			home = pw->pw_dir;
		}
		if (home == NULL) {
			snprintf(err, errlen, "%s: cannot find the home "
			    "directory", path);
			return NULL;
		}
	} else if (path[0] != '/') {
		if ((home = getenv("HOME")) == NULL || *home == '\0')
			home = (pw = getpwuid(getuid())) ? pw->pw_dir : ".";
	}
	if (home != NULL) {
		buf_adds(&b, home);
		if (*rest != '\0' && b.len > 0 && b.s[b.len - 1] != '/')
			buf_addc(&b, '/');
	}
	if (buf_adds(&b, rest) == -1) {
		buf_free(&b);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (b.len + SUFFIX_MAX >= PATH_MAX) {
		snprintf(err, errlen, "%.64s...: the path is too long (%zu "
		    "bytes, with the names rtq-claim makes beside it at most "
		    "%zu)", b.s, b.len, PATH_MAX - 1 - SUFFIX_MAX);
		buf_free(&b);
		return NULL;
	}
	return b.s;
}

/*
 * A last line without its line break may be an append still being
 * written: a reader can see part of one write (page by page), and a line
 * appended after that part would be joined to it.  While the file keeps
 * growing, up to TAIL_WAITS times, wait a little and read on; a file that
 * just lacks a final line break costs one short wait.  Returns 0 or -1.
 */
static int
read_tail(struct tfio *t)
{
	struct timespec	 ts = { 0, TAIL_WAIT_NS };
	size_t		 had;
	int		 i;

	for (i = 0; i < TAIL_WAITS && t->data.len > 0 &&
	    t->data.s[t->data.len - 1] != '\n'; i++) {
		had = t->data.len;
		nanosleep(&ts, NULL);
		if (fdio_read_all(t->fd, &t->data) == -1)
			return -1;
		if (t->data.len == had)
			break;
		if (fstat(t->fd, &t->st) == -1)
			return -1;
	}
	return 0;
}

static int
read_all(struct tfio *t, char *err, size_t errlen)
{
	if ((t->fd = open(t->path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		snprintf(err, errlen, "%s: %s", t->path, strerror(errno));
		return TFIO_EFILE;
	}
	if (fstat(t->fd, &t->st) == -1) {
		snprintf(err, errlen, "%s: %s", t->path, strerror(errno));
		return TFIO_EFILE;
	}
	if (!S_ISREG(t->st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", t->path);
		return TFIO_EFILE;
	}
	/*
	 * read(), not mmap(): a file truncated under a mapping (an editor
	 * saving in place) kills the reader with SIGBUS; read() sees the
	 * truncation, and the stat before the rename makes us redo.
	 */
	if (t->data.s == NULL && spare.s != NULL) {
		/* pages already touched: no faults (buf_grow adds any more) */
		t->data = spare;
		memset(&spare, 0, sizeof(spare));
	}
	buf_reset(&t->data);
	if (buf_grow(&t->data, (size_t)t->st.st_size + 1) == -1) {
		snprintf(err, errlen, "%s: out of memory reading %lld bytes",
		    t->path, (long long)t->st.st_size);
		return TFIO_EFILE;
	}
	if (fdio_read_all(t->fd, &t->data) == -1 || read_tail(t) == -1) {
		snprintf(err, errlen, "%s: %s", t->path, strerror(errno));
		return TFIO_EFILE;
	}
	return 0;
}

/*
 * The mode of a new lock file, from the task file's (f) and its
 * directory's (d): read and write for its owner, and for the classes that
 * may change the task file, by writing it in place (runtask.sh) or by
 * reading it and replacing it in the directory (rtq-claim); read for
 * those that may read it.
 */
static mode_t
lock_mode(mode_t f, mode_t d)
{
	return 0600 | (f & 0666) | ((f & 0222) << 1) |
	    (((f & 0444) >> 1) & (d & 0222) & ((d & 0111) << 1));
}

/*
 * Open "<path>.lock" for the table and the lock: a regular file, never
 * through a symlink, created when missing with the owner (where we may)
 * and group of the task file (fst) and a mode that lets whoever may
 * change the task file lock it (lock_mode).  Returns 0 or a
 * TFIO_E* code with err.  An existing lock file we may not write is opened
 * read-only: *ro is then why (0: opened for writing).
 */
static int
lock_file(char *lockpath, const struct stat *fst, int *fd, int *ro,
    char *err, size_t errlen)
{
	const int	 fl = O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK;
	struct stat	 st;
	char		*slash;
	int		 first;

	*ro = 0;
	/* there already, as a rule; else created (owner, group, mode) */
	if ((*fd = open(lockpath, O_RDWR | fl)) == -1 && errno == ENOENT &&
	    (*fd = open(lockpath, O_RDWR | O_CREAT | O_EXCL | fl, 0600)) !=
	    -1) {
		/* owner and group where we may, then the mode */
		my_ids();
		if ((fst->st_uid != euid || fst->st_gid != egid) &&
		    fchown(*fd, fst->st_uid, fst->st_gid) == -1 &&
		    fst->st_gid != egid)
			(void)fchown(*fd, (uid_t)-1, fst->st_gid);
		if ((slash = strrchr(lockpath, '/')) != NULL) {
			*slash = '\0';
			if (stat(*lockpath ? lockpath : "/", &st) == -1)
				st.st_mode = 0700;
			*slash = '/';
		} else
			st.st_mode = 0700;
		(void)fchmod(*fd, lock_mode(fst->st_mode, st.st_mode));
	} else if (*fd == -1 && errno == EEXIST)
		*fd = open(lockpath, O_RDWR | fl);	/* created meanwhile */
	if (*fd == -1 && errno != ELOOP) {
		first = errno;
		if ((*fd = open(lockpath, O_RDONLY | fl)) == -1 &&
		    errno != ELOOP) {
			snprintf(err, errlen, "%s: cannot open the lock file: "
			    "%s", lockpath, strerror(errno == ENOENT ? first :
			    errno));
			return TFIO_EIO;
		}
		*ro = first;
	}
	if (*fd == -1) {
		snprintf(err, errlen, "%s: the lock file is a symbolic link, "
		    "which rtq-claim does not follow (it would overwrite the "
		    "link's target with its table of workers): remove the link "
		    "(rm '%s'); the next request creates the lock file",
		    lockpath, lockpath);
		return TFIO_EFILE;
	}
	if (fstat(*fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", lockpath, strerror(errno));
		return TFIO_EIO;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: the lock file is not a regular file "
		    "(%s): rtq-claim keeps its table of workers there; remove "
		    "it, and the next request creates the lock file", lockpath,
		    S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ?
		    "a fifo" : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ?
		    "a device" : "a socket");
		return TFIO_EFILE;
	}
	return 0;
}

/*
 * Open and flock "<path>.lock" (see lock_file).  Returns 0 or a TFIO_E*
 * code with err.
 */
static int
lock_one(const char *path, const struct stat *fst, int *fd, char **lockpath,
    int *ro, char *err, size_t errlen)
{
	int	 r;

	*ro = 0;
	if ((*lockpath = lock_name(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return TFIO_EIO;
	}
	if ((r = lock_file(*lockpath, fst, fd, ro, err, errlen)) != 0)
		return r;
	while (flock(*fd, LOCK_EX) == -1) {
		if (errno == EINTR)
			continue;
		snprintf(err, errlen, "%s: cannot lock: %s", *lockpath,
		    strerror(errno));
		return TFIO_EIO;
	}
	return 0;
}

/*
 * The checks both tfio_open and tfio_peek make, and the real path: t->real,
 * t->dir, t->base.  Returns 0 or TFIO_EFILE with err.
 */
static int
check_path(struct tfio *t, const char *path, char *err, size_t errlen)
{
	const struct stat *st = &t->fst;
	const char	*e;
	char		*slash;

	memset(t, 0, sizeof(*t));
	t->lockfd = t->reallockfd = t->fd = t->livefd = -1;
	t->nosync = (e = getenv("RTQ_NOSYNC")) != NULL && strcmp(e, "1") == 0;
	if ((t->path = tfio_expand(path, err, errlen)) == NULL)
		return TFIO_EFILE;
	if (stat(t->path, &t->fst) == -1) {
		if (errno == ENOENT)
			snprintf(err, errlen, "%s: no such task file (create "
			    "it first, one command per line)", t->path);
		else
			snprintf(err, errlen, "%s: %s", t->path,
			    strerror(errno));
		return TFIO_EFILE;
	}
	if (S_ISDIR(st->st_mode)) {
		snprintf(err, errlen, "%s: is a directory, not a task file",
		    t->path);
		return TFIO_EFILE;
	}
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", t->path);
		return TFIO_EFILE;
	}
	if (access(t->path, R_OK) == -1) {
		snprintf(err, errlen, "%s: %s", t->path, strerror(errno));
		return TFIO_EFILE;
	}
	if ((t->real = realpath(t->path, NULL)) == NULL) {
		snprintf(err, errlen, "%s: %s", t->path, strerror(errno));
		return TFIO_EFILE;
	}
	if (strlen(t->real) + SUFFIX_MAX >= PATH_MAX) {
		snprintf(err, errlen, "%s: the path is too long (%zu bytes, "
		    "with the names rtq-claim makes beside it at most %zu)",
		    t->real, strlen(t->real), PATH_MAX - 1 - SUFFIX_MAX);
		return TFIO_EFILE;
	}
	if ((t->dir = strdup(t->real)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return TFIO_EFILE;
	}
	/* realpath gives an absolute path: there is a slash */
	slash = strrchr(t->dir, '/');
	t->base = t->real + (slash - t->dir) + 1;
	if (slash == t->dir)
		slash++;		/* a file in / */
	*slash = '\0';
	return 0;
}

/* Load the table from t->livefd (-1: an empty one).  0 or TFIO_EIO. */
static int
load_table(struct tfio *t, char *err, size_t errlen)
{
	if ((t->live = calloc(1, sizeof(*t->live))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return TFIO_EIO;
	}
	if (t->livefd != -1 && live_load(t->livefd, t->live) == -1) {
		if (errno == EFBIG) {
			snprintf(err, errlen, "%s: the lock file holds more than "
			    "%d bytes, more than rtq-claim's table of workers "
			    "ever does, so it is not that table: remove it (or "
			    "see what wrote it), and the next request creates "
			    "the lock file", t->livepath, LIVE_MAX);
			return TFIO_EFILE;
		}
		snprintf(err, errlen, "%s: cannot read the table of workers "
		    "and previous versions kept in the lock file: %s",
		    t->livepath, strerror(errno));
		return TFIO_EIO;
	}
	return 0;
}

int
tfio_open(struct tfio *t, const char *path, long long now, int flags,
    char *err, size_t errlen)
{
	int	 r, ro;

	if ((r = check_path(t, path, err, errlen)) != 0)
		return r;
	t->now = now;
	if ((r = lock_one(t->path, &t->fst, &t->lockfd, &t->lockpath, &ro, err,
	    errlen)) != 0)
		return r;
	t->livefd = t->lockfd;
	t->livepath = t->lockpath;
	t->live_ro = ro;
	/*
	 * Reached through a symlink, the file is also locked by the name of
	 * its target, so that workers using either name exclude each other.
	 * Always the given name first, then the real one: no deadlock.  The
	 * table is kept in the real one's lock file.
	 */
	if (strcmp(t->real, t->path) != 0) {
		if ((r = lock_one(t->real, &t->fst, &t->reallockfd,
		    &t->reallockpath, &ro, err, errlen)) != 0)
			return r;
		t->livefd = t->reallockfd;
		t->livepath = t->reallockpath;
		t->live_ro = ro;
	}
	if (flags & TFIO_LOCKONLY) {
		t->livefd = -1;		/* no table: never written */
		return read_all(t, err, errlen);
	}
	if (t->live_ro) {
		snprintf(err, errlen, "%s: rtq-claim cannot write the lock "
		    "file (%s); it keeps there when each worker was last "
		    "heard from, without which the task of a worker that died "
		    "would stay running for ever: make it writable for the "
		    "users who serve this queue (chmod, chgrp), or remove it "
		    "so that the next request creates it", t->livepath,
		    strerror(t->live_ro));
		return TFIO_EFILE;
	}
	if ((r = load_table(t, err, errlen)) != 0 ||
	    (r = read_all(t, err, errlen)) != 0)
		return r;
	sweep(t);
	return 0;
}

int
tfio_peek(struct tfio *t, const char *path, char *err, size_t errlen)
{
	struct stat	 st;
	int		 r;

	if ((r = check_path(t, path, err, errlen)) != 0)
		return r;
	/* only look: the lock file of the real file, if any, for the table */
	if ((t->lockpath = lock_name(t->real)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return TFIO_EFILE;
	}
	/* not through a link, not a fifo (whose open would wait) */
	t->livefd = t->lockfd = open(t->lockpath, O_RDONLY | O_CLOEXEC |
	    O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
	if (t->lockfd != -1 && (fstat(t->lockfd, &st) == -1 ||
	    !S_ISREG(st.st_mode)))
		t->livefd = -1;		/* no table */
	t->livepath = t->lockpath;
	if ((r = load_table(t, err, errlen)) != 0)
		return r;
	t->livefd = -1;			/* never written */
	return read_all(t, err, errlen);
}

/*
 * Whether st is the version recorded in pv: a regular file (not a link),
 * with its device and inode.
 */
static int
prev_is(const struct tfio *t, const struct tfio_prev *pv,
    const struct stat *st)
{
	return S_ISREG(st->st_mode) && (unsigned long long)st->st_ino ==
	    pv->ino && (unsigned long long)st->st_dev == (pv->dev != 0 ?
	    pv->dev : (unsigned long long)t->st.st_dev);
}

/*
 * Copy what reached the previous version pv, at path, past what was
 * carried before, to the end of the task file, and record it at once.
 * *copied: whether bytes were copied.  Returns 0 or a TFIO_E* code, with
 * the task file as it was (or the record saying what got across).
 */
static int
carry_one(struct tfio *t, struct tfio_prev *pv, const char *path,
    int *copied, char *err, size_t errlen)
{
	struct stat	 st;
	off_t		 done;
	char		 e2[TFIO_ERRLEN];
	int		 fd, r = 0, c;

	/* the file looked at was checked; what is opened is checked again */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW |
	    O_NONBLOCK)) == -1)
		return 0;
	if (fstat(fd, &st) == 0 && prev_is(t, pv, &st) &&
	    st.st_size > pv->size) {
		off_t to = st.st_size;

		/* a last line without its line break: given time to end */
		if (t->now - pv->when < TFIO_PART_SECS)
			to = whole_lines(fd, (off_t)pv->size, to);
		if (to <= (off_t)pv->size) {
			close(fd);
			return 0;
		}
		c = copy_tail(fd, (off_t)pv->size, to, t->real, t->nosync,
		    &done);
		if (c == -1)
			snprintf(err, errlen, "%s: copying lines appended to a "
			    "previous version: %s; %s", t->path,
			    strerror(errno), done == 0 ? "the task file is "
			    "unchanged" : "what got across is recorded");
		if (done > 0) {
			/* recorded before anything else: copied once */
			pv->size += (long long)done;
			*copied = 1;
			r = save_table(t, c == 0 ? err : e2, c == 0 ? errlen :
			    sizeof(e2));
		}
		if (c == -1)
			r = TFIO_EIO;	/* what the copy said */
	}
	close(fd);
	return r;
}

/*
 * Copy what reached the previous versions past what was carried before to
 * the end of the task file, oldest first, and let go of versions replaced
 * long ago; only the one in slot when slot >= 0.  *copied: whether bytes
 * were copied.  Returns 0 or a TFIO_E* code.
 */
static int
carry_prev(struct tfio *t, int slot, int *copied, char *err, size_t errlen)
{
	struct tfio_prev *pv;
	struct stat	 st;
	char		*path;
	int		 i, k, r = 0, stale;

	*copied = 0;
	if (t->live == NULL)
		return 0;
	for (k = 0; k < TFIO_PREVS && r == 0; k++) {
		i = (t->live->prev_next + k) % TFIO_PREVS;	/* oldest first */
		pv = &t->live->prev[i];
		if (pv->ino == 0 || (slot >= 0 && i != slot))
			continue;
		if ((path = prev_path(t, i, "")) == NULL) {
			snprintf(err, errlen, "out of memory");
			return TFIO_EIO;
		}
		/* a look first (one call, never through a link) */
		if ((stale = lstat(path, &st)) == -1 || !prev_is(t, pv, &st)) {
			/* gone, or not the version recorded: forget it */
			pv->ino = 0;
			if (stale == 0 && S_ISLNK(st.st_mode))
				unlink(path);	/* the link itself */
			free(path);
			continue;
		}
		/*
		 * The link names the current file: its record was saved, and
		 * the request killed before its rename.  All of its bytes are
		 * here; when it is replaced it gets a new slot.  Kept, this one
		 * would copy again what is appended to it until then.
		 */
		if (st.st_ino == t->st.st_ino && st.st_dev == t->st.st_dev)
			stale = 1;
		else if (st.st_size > pv->size)
			r = carry_one(t, pv, path, copied, err, errlen);
		if (r == 0 && (stale || t->now - pv->when > TFIO_PREV_SECS)) {
			/* quiet for long enough: free its disk space */
			pv->ino = 0;
			unlink(path);
		}
		free(path);
	}
	return r;
}

int
tfio_carry_prev(struct tfio *t, char *err, size_t errlen)
{
	int	 r, copied;

	if ((r = carry_prev(t, -1, &copied, err, errlen)) == 0 && copied)
		r = tfio_reread(t, err, errlen);
	return r;
}

/* Whether name is "." base suffix, suffix as rtq-claim makes them. */
static int
ours(const char *name, const char *base, const char *suffix)
{
	size_t	 n = strlen(base);

	return name[0] == '.' && strncmp(name + 1, base, n) == 0 &&
	    strncmp(name + 1 + n, suffix, strlen(suffix)) == 0;
}

/*
 * Whether name is a leftover: a temporary file ".BASE.rtq-XXXXXX" (1), a
 * ring name ".BASE.prev.rtq.N" no record holds (2), or ".BASE.prev.rtq.N.new"
 * (3, an unfinished link); 0: none of ours.
 */
static int
leftover(const struct tfio *t, const char *name, const struct stat *st)
{
	const char	*p;
	size_t		 n = strlen(t->base);
	long		 slot;
	int		 i;

	if (ours(name, t->base, ".rtq-")) {
		for (i = 0, p = name + 1 + n + 5; i < 6; i++, p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' &&
			    *p <= 'Z') || (*p >= '0' && *p <= '9')))
				return 0;
		return *p == '\0' ? 1 : 0;
	}
	if (!ours(name, t->base, ".prev.rtq."))
		return 0;
	p = name + 1 + n + 10;
	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' &&
	    p[1] <= '9'))
		return 0;
	for (slot = 0; *p >= '0' && *p <= '9' && slot < TFIO_PREVS; p++)
		slot = slot * 10 + (*p - '0');
	if (slot >= TFIO_PREVS)
		return 0;
	if (strcmp(p, ".new") == 0)
		return 3;
	if (*p != '\0')
		return 0;
	return t->live->prev[slot].ino != 0 && prev_is(t,
	    &t->live->prev[slot], st) ? 0 : 2;
}

/*
 * Under the lock, at most once in TFIO_SWEEP_SECS: remove what a killed
 * rtq-claim left beside the task file (see tfio.h), never through a link,
 * each left TFIO_SWEEP_SECS unchanged.  Failures change nothing.
 */
static void
sweep(struct tfio *t)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	int		 k;

	if (t->live == NULL || (t->now >= t->live->swept && t->now <
	    t->live->swept + TFIO_SWEEP_SECS))
		return;
	t->live->swept = t->now;
	if ((d = opendir(t->dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(st.st_mode) ||
		    (k = leftover(t, de->d_name, &st)) == 0 ||
		    t->now - (long long)st.st_mtime < TFIO_SWEEP_SECS)
			continue;
		/* a temporary file is ours; a version, the task file's */
		my_ids();
		if (k == 1 ? st.st_uid != euid : st.st_uid != euid &&
		    st.st_uid != t->st.st_uid)
			continue;
		(void)unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

int
tfio_reread(struct tfio *t, char *err, size_t errlen)
{
	if (t->fd != -1)
		close(t->fd);
	t->fd = -1;
	return read_all(t, err, errlen);
}

static int
write_patch(int fd, const struct patch *p, const char *buf, size_t size)
{
	struct iovec	 iov[64];
	size_t		 at = 0, i = 0, n;
	ssize_t		 w;
	int		 niov;

	while (at < size || i < p->n) {
		niov = 0;
		while (niov < 62 && (at < size || i < p->n)) {
			size_t upto = i < p->n ? p->sp[i].off : size;

			if (upto > at) {
				iov[niov].iov_base = (char *)buf + at;
				iov[niov++].iov_len = upto - at;
			}
			if (i < p->n) {
				if (p->sp[i].dlen > 0) {
					iov[niov].iov_base = p->data.s +
					    p->sp[i].doff;
					iov[niov++].iov_len = p->sp[i].dlen;
				}
				at = p->sp[i].off + p->sp[i].len;
				i++;
			} else
				at = size;
		}
		/* write these iovecs fully */
		n = 0;
		while (n < (size_t)niov) {
			w = writev(fd, iov + n, niov - (int)n);
			if (w == -1 && errno == EINTR)
				continue;
			if (w == -1)
				return -1;
			while (n < (size_t)niov && (size_t)w >= iov[n].iov_len)
				w -= (ssize_t)iov[n++].iov_len;
			if (n < (size_t)niov) {
				iov[n].iov_base = (char *)iov[n].iov_base + w;
				iov[n].iov_len -= (size_t)w;
			}
		}
	}
	return 0;
}

static int
sync_dir(const char *dir)
{
	int	 fd, r;

	if ((fd = open(dir, O_RDONLY | O_CLOEXEC | O_DIRECTORY)) == -1)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/*
 * Copy bytes appended to the old file after it was read to the new one;
 * t->carried is where the old file's bytes in the new one end, whatever
 * happened: the record of the ring says it.
 */
static int
carry_appends(struct tfio *t, char *err, size_t errlen)
{
	struct stat	 st;
	off_t		 from = (off_t)t->data.len, done;
	int		 round, r = 0;

	for (round = 0; round < CARRY_ROUNDS; round++) {
		off_t	 to;

		if (fstat(t->fd, &st) == -1 || st.st_size <= from)
			break;
		/* whole lines: a part stays in the old file, carried later */
		if ((to = whole_lines(t->fd, from, st.st_size)) <= from)
			break;
		r = copy_tail(t->fd, from, to, t->real, t->nosync, &done);
		from += done;
		if (r == -1) {
			snprintf(err, errlen, "%s: copying lines appended "
			    "during the rewrite: %s", t->real,
			    strerror(errno));
			r = TFIO_EIO;
			break;
		}
	}
	t->carried = (long long)from;
	return r;
}

/*
 * Keep the inode about to be replaced reachable for late appends, in the
 * next slot of the ring (the oldest version there was just looked at by
 * carry_prev), and record it.  Returns the slot's record, or NULL when it
 * could not be linked (no ring for this rewrite: as before rtq kept one).
 */
static struct tfio_prev *
link_prev(struct tfio *t)
{
	struct tfio_prev *pv = NULL;
	char		*prev, *ptmp;

	prev = prev_path(t, t->live->prev_next, "");
	ptmp = prev_path(t, t->live->prev_next, ".new");
	if (prev != NULL && ptmp != NULL) {
		/* a ".new" a killed rtq-claim left is replaced */
		if ((link(t->real, ptmp) == 0 || (errno == EEXIST &&
		    unlink(ptmp) == 0 && link(t->real, ptmp) == 0)) &&
		    rename(ptmp, prev) == 0) {
			pv = &t->live->prev[t->live->prev_next];
			pv->ino = (unsigned long long)t->st.st_ino;
			pv->dev = (unsigned long long)t->st.st_dev;
			pv->size = (long long)t->data.len;
			pv->when = t->now;
			t->live->prev_next = (t->live->prev_next + 1) %
			    TFIO_PREVS;
		} else
			unlink(ptmp);
	}
	free(prev);
	free(ptmp);
	return pv;
}

int
tfio_same_version(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
	    a->st_size == b->st_size && a->st_mtim.tv_sec ==
	    b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int
tfio_commit(struct tfio *t, const struct patch *p, char *err, size_t errlen)
{
	struct stat	 st;
	struct tfio_prev *linked = NULL, was = { 0, 0, 0, 0 };
	struct buf	 tmpb = BUF_INIT;
	char		*tmp;
	int		 fd = -1, r = TFIO_EIO, saved, copied;

	if (p->n == 0)
		return 0;
	if (buf_printf(&tmpb, "%s/.%s.rtq-XXXXXX", t->dir, t->base) == -1) {
		snprintf(err, errlen, "out of memory");
		return TFIO_EIO;
	}
	tmp = tmpb.s;
	if ((fd = mkstemp(tmp)) == -1) {
		snprintf(err, errlen, "%s: cannot create a temporary file "
		    "there: %s; the task file is unchanged", t->dir,
		    strerror(errno));
		buf_free(&tmpb);
		return TFIO_EIO;
	}
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	/*
	 * Owner and group where we may set them: a member of the file's
	 * group may keep the group, not the owner.  Then the mode (a chown
	 * may clear its set-id bits).
	 */
	my_ids();
	if ((t->st.st_uid != euid || t->st.st_gid != egid) &&
	    fchown(fd, t->st.st_uid, t->st.st_gid) == -1 &&
	    t->st.st_gid != egid)
		(void)fchown(fd, (uid_t)-1, t->st.st_gid);
	if (fchmod(fd, t->st.st_mode & 07777) == -1)
		goto werr;
	if (write_patch(fd, p, t->data.s, t->data.len) == -1)
		goto werr;
	if (!t->nosync && fsync(fd) == -1)
		goto werr;
	saved = close(fd);
	fd = -1;
	if (saved == -1)
		goto werr;
	/*
	 * Late appends to the version the ring lets go for this one, looked
	 * at once more (the others stay watched); then: changed since read
	 * (an append, an editor's save)? redo.
	 */
	if (t->live != NULL && ((saved = carry_prev(t, t->live->prev_next,
	    &copied, err, errlen)) != 0 || copied)) {
		r = saved != 0 ? saved : -1;
		goto out;
	}
	if (stat(t->path, &st) == -1 || !tfio_same_version(&st, &t->st) ||
	    (off_t)t->data.len != t->st.st_size) {
		r = -1;
		goto out;
	}
	/* the version replaced, linked and recorded before the rename */
	if (t->live != NULL) {
		was = t->live->prev[t->live->prev_next];
		linked = link_prev(t);
	}
	if (linked != NULL && (saved = save_table(t, err, errlen)) != 0) {
		/* as if never linked: no record claims the link */
		t->live->prev_next = (int)(linked - t->live->prev);
		*linked = was;
		snprintf(err + strlen(err), errlen - strlen(err), "; the task "
		    "file is unchanged");
		r = saved;
		goto out;
	}
	if (rename(tmp, t->real) == -1)
		goto werr;
	buf_free(&tmpb);
	tmp = NULL;
	if (!t->nosync && sync_dir(t->dir) == -1) {
		snprintf(err, errlen, "%s: fsync of the directory: %s", t->dir,
		    strerror(errno));
		goto out;
	}
	r = carry_appends(t, err, errlen);
	if (linked != NULL && linked->size != t->carried) {
		/* recorded before anything else: they are copied once */
		linked->size = t->carried;
		if ((saved = save_table(t, err, errlen)) != 0)
			r = saved;
	} else if (r != 0 && linked != NULL)
		r = 0;	/* the rest is in the ring: the next request copies it */
	goto out;
werr:
	snprintf(err, errlen, "%s: writing the new version failed: %s; the "
	    "task file is unchanged", t->path, strerror(errno));
out:
	if (fd != -1)
		close(fd);
	if (tmp != NULL)
		unlink(tmp);
	buf_free(&tmpb);
	return r;
}

void
tfio_close(struct tfio *t)
{
	if (t->fd != -1)
		close(t->fd);
	if (t->reallockfd != -1)
		close(t->reallockfd);
	if (t->lockfd != -1)
		close(t->lockfd);
	if (t->live != NULL) {
		live_free(t->live);
		free(t->live);
	}
	free(t->reallockpath);
	free(t->path);
	free(t->real);
	free(t->dir);
	free(t->lockpath);
	/* a serve session reads the file again and again: keep the buffer */
	if (t->data.cap <= SPARE_MAX && t->data.cap > spare.cap) {
		buf_free(&spare);
		spare = t->data;
		memset(&t->data, 0, sizeof(t->data));
	}
	buf_free(&t->data);
	t->fd = t->lockfd = t->reallockfd = t->livefd = -1;
	t->path = t->lockpath = t->reallockpath = t->real = t->dir = NULL;
	t->live = NULL;
}

int
tfio_save(struct tfio *t, char *err, size_t errlen)
{
	return save_table(t, err, errlen);
}
