/*
 * tfio: locking, reading and atomically rewriting a task file.  The design
 * is described in tfio.h.
 */
#define _DEFAULT_SOURCE
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "live.h"
#include "tfio.h"

#define CARRY_ROUNDS	3
#define SPARE_MAX	(256u << 20)
/* the longest name we derive from the real path: "/.NAME.prev.rtq.15.new" */
#define SUFFIX_MAX	(sizeof("/..prev.rtq.15.new") - 1)

static struct buf spare;		/* the last read buffer, for reuse */

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
	if (t->live_ro)
		snprintf(err, errlen, "%s: the lock file is read-only to "
		    "rtq-claim (%s), which keeps the workers' liveness and "
		    "the task file's previous versions there; make it "
		    "writable, or remove it", t->livepath,
		    strerror(t->live_ro));
	else
		snprintf(err, errlen, "%s: cannot write the table of workers "
		    "and previous versions kept in the lock file: %s",
		    t->livepath, strerror(errno));
	return TFIO_EIO;
}

/* Append bytes [from, to) of fd to the file at path. */
static int
copy_tail(int fd, off_t from, off_t to, const char *path, int nosync)
{
	char	 chunk[65536];
	ssize_t	 n;
	int	 out;

	if ((out = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)) == -1)
		return -1;
	while (from < to) {
		/* never past to: the file may grow meanwhile, and the caller
		 * counts on exactly [from, to) */
		n = pread(fd, chunk, (size_t)(to - from) < sizeof(chunk) ?
		    (size_t)(to - from) : sizeof(chunk), from);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0 || write(out, chunk, (size_t)n) != n) {
			close(out);
			return -1;
		}
		from += n;
	}
	if (!nosync && fsync(out) == -1) {
		close(out);
		return -1;
	}
	return close(out);
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
	if (t->data.s == NULL && spare.cap >= (size_t)t->st.st_size + 1) {
		t->data = spare;	/* pages already touched: no faults */
		memset(&spare, 0, sizeof(spare));
	}
	buf_reset(&t->data);
	if (buf_grow(&t->data, (size_t)t->st.st_size + 1) == -1) {
		snprintf(err, errlen, "%s: out of memory reading %lld bytes",
		    t->path, (long long)t->st.st_size);
		return TFIO_EFILE;
	}
	if (fdio_read_all(t->fd, &t->data) == -1) {
		snprintf(err, errlen, "%s: %s", t->path, strerror(errno));
		return TFIO_EFILE;
	}
	return 0;
}

/*
 * Open and flock "<path>.lock".  Returns 0 or TFIO_EIO with err.  An
 * existing lock file we may not write still locks: *ro is then why we may
 * not (0: opened for writing).
 */
static int
lock_one(const char *path, int *fd, char **lockpath, int *ro, char *err,
    size_t errlen)
{
	*ro = 0;
	if ((*lockpath = lock_name(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return TFIO_EIO;
	}
	if ((*fd = open(*lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY,
	    0666)) == -1) {
		int	 first = errno;

		if ((*fd = open(*lockpath, O_RDONLY | O_CLOEXEC | O_NOCTTY))
		    == -1) {
			snprintf(err, errlen, "%s: cannot open the lock file: "
			    "%s", *lockpath, strerror(errno == ENOENT ?
			    first : errno));
			return TFIO_EIO;
		}
		*ro = first;
	}
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
	struct stat	 st;
	const char	*e;
	char		*slash;

	memset(t, 0, sizeof(*t));
	t->lockfd = t->reallockfd = t->fd = t->livefd = -1;
	t->nosync = (e = getenv("RTQ_NOSYNC")) != NULL && strcmp(e, "1") == 0;
	if ((t->path = tfio_expand(path, err, errlen)) == NULL)
		return TFIO_EFILE;
	if (stat(t->path, &st) == -1) {
		if (errno == ENOENT)
			snprintf(err, errlen, "%s: no such task file (create "
			    "it first, one command per line)", t->path);
		else
			snprintf(err, errlen, "%s: %s", t->path,
			    strerror(errno));
		return TFIO_EFILE;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: is a directory, not a task file",
		    t->path);
		return TFIO_EFILE;
	}
	if (!S_ISREG(st.st_mode)) {
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
		snprintf(err, errlen, "%s: cannot read the table of workers "
		    "and previous versions kept in the lock file: %s",
		    t->livepath, strerror(errno));
		return TFIO_EIO;
	}
	return 0;
}

int
tfio_open(struct tfio *t, const char *path, long long now, char *err,
    size_t errlen)
{
	int	 r, ro;

	if ((r = check_path(t, path, err, errlen)) != 0)
		return r;
	t->now = now;
	if ((r = lock_one(t->path, &t->lockfd, &t->lockpath, &ro, err,
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
		if ((r = lock_one(t->real, &t->reallockfd, &t->reallockpath,
		    &ro, err, errlen)) != 0)
			return r;
		t->livefd = t->reallockfd;
		t->livepath = t->reallockpath;
		t->live_ro = ro;
	}
	if ((r = load_table(t, err, errlen)) != 0)
		return r;
	return read_all(t, err, errlen);
}

int
tfio_peek(struct tfio *t, const char *path, char *err, size_t errlen)
{
	int	 r;

	if ((r = check_path(t, path, err, errlen)) != 0)
		return r;
	/* only look: the lock file of the real file, if any, for the table */
	if ((t->lockpath = lock_name(t->real)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return TFIO_EFILE;
	}
	t->livefd = t->lockfd = open(t->lockpath, O_RDONLY | O_CLOEXEC |
	    O_NOCTTY);
	t->livepath = t->lockpath;
	if ((r = load_table(t, err, errlen)) != 0)
		return r;
	t->livefd = -1;			/* never written */
	return read_all(t, err, errlen);
}

/*
 * Copy what reached a previous version past what was carried before to
 * the end of the task file.  Returns 1 when it copied, 0 when there was
 * nothing, or a TFIO_E* code.
 */
static int
carry_one(struct tfio *t, struct tfio_prev *pv, const char *path,
    char *err, size_t errlen)
{
	struct stat	 st;
	int		 fd, r = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	if (fstat(fd, &st) == 0 && (unsigned long long)st.st_ino == pv->ino &&
	    st.st_size > pv->size) {
		if (copy_tail(fd, (off_t)pv->size, st.st_size, t->real,
		    t->nosync) == -1) {
			snprintf(err, errlen, "%s: copying lines appended to a "
			    "previous version: %s", t->path, strerror(errno));
			r = TFIO_EIO;
		} else {
			/* recorded before anything else: copied once */
			pv->size = st.st_size;
			r = save_table(t, err, errlen);
			r = r != 0 ? r : 1;
		}
	}
	close(fd);
	return r;
}

/*
 * Copy what reached the previous versions past what was carried before to
 * the end of the task file, oldest first, and let go of versions replaced
 * long ago; only the one in slot when slot >= 0.  Returns 1 when it copied,
 * 0 when there was nothing, or a TFIO_E* code.
 */
static int
carry_prev(struct tfio *t, int slot, char *err, size_t errlen)
{
	struct tfio_prev *pv;
	struct stat	 st;
	char		*path;
	int		 i, k, r = 0, e, stale;

	if (t->live == NULL)
		return 0;
	for (k = 0; k < TFIO_PREVS && r >= 0; k++) {
		i = (t->live->prev_next + k) % TFIO_PREVS;	/* oldest first */
		pv = &t->live->prev[i];
		if (pv->ino == 0 || (slot >= 0 && i != slot))
			continue;
		if ((path = prev_path(t, i, "")) == NULL) {
			snprintf(err, errlen, "out of memory");
			return TFIO_EIO;
		}
		stale = 0;
		/* a look first (one call), a copy only when it grew */
		if (stat(path, &st) == 0 && (unsigned long long)st.st_ino ==
		    pv->ino) {
			/*
			 * The link names the current file: its record was
			 * saved, and the request killed before its rename.
			 * All of its bytes are here; when it is replaced it
			 * gets a new slot.  Kept, this one would copy again
			 * what is appended to it until then.
			 */
			if (st.st_ino == t->st.st_ino &&
			    st.st_dev == t->st.st_dev)
				stale = 1;
			else if (st.st_size > pv->size &&
			    (e = carry_one(t, pv, path, err, errlen)) != 0)
				r = e;
		}
		if (r >= 0 && (stale || t->now - pv->when > TFIO_PREV_SECS)) {
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
	int	 r;

	if ((r = carry_prev(t, -1, err, errlen)) == 1)
		r = tfio_reread(t, err, errlen);
	return r;
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
 * t->carried is where the old file's bytes in the new one end.
 */
static int
carry_appends(struct tfio *t, char *err, size_t errlen)
{
	struct stat	 st;
	off_t		 from = (off_t)t->data.len;
	int		 round, r = 0;

	for (round = 0; round < CARRY_ROUNDS; round++) {
		if (fstat(t->fd, &st) == -1 || st.st_size <= from)
			break;
		if (copy_tail(t->fd, from, st.st_size, t->real, t->nosync) ==
		    -1) {
			snprintf(err, errlen, "%s: copying lines appended "
			    "during the rewrite: %s (they are in %s)", t->real,
			    strerror(errno), "its previous version");
			r = TFIO_EIO;
			break;
		}
		from = st.st_size;
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
		unlink(ptmp);
		if (link(t->real, ptmp) == 0 && rename(ptmp, prev) == 0) {
			pv = &t->live->prev[t->live->prev_next];
			pv->ino = (unsigned long long)t->st.st_ino;
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
tfio_commit(struct tfio *t, const struct patch *p, char *err, size_t errlen)
{
	struct stat	 st;
	struct tfio_prev *linked = NULL, was = { 0, 0, 0 };
	struct buf	 tmpb = BUF_INIT;
	char		*tmp;
	int		 fd = -1, r = TFIO_EIO, saved;

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
	if (fchmod(fd, t->st.st_mode & 07777) == -1)
		goto werr;
	if (t->st.st_uid != geteuid() || t->st.st_gid != getegid())
		(void)fchown(fd, t->st.st_uid, t->st.st_gid);
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
	if (t->live != NULL && (saved = carry_prev(t, t->live->prev_next, err,
	    errlen)) != 0) {
		r = saved == 1 ? -1 : saved;
		goto out;
	}
	if (stat(t->path, &st) == -1 || st.st_ino != t->st.st_ino ||
	    st.st_dev != t->st.st_dev || st.st_size != t->st.st_size ||
	    st.st_mtim.tv_sec != t->st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != t->st.st_mtim.tv_nsec ||
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
		if ((saved = save_table(t, err, errlen)) != 0 && r == 0)
			r = saved;
	}
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
