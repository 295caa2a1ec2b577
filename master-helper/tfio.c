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
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tfio.h"

#define CARRY_ROUNDS	3
#define SPARE_MAX	(256u << 20)

static struct buf spare;		/* the last read buffer, for reuse */

/* ".NAME.prev.rtq.SLOT" beside the real file; a new string, or NULL. */
static char *
prev_path(const char *path, int slot)
{
	char	*real, *slash, *p;

	if ((real = realpath(path, NULL)) == NULL)
		return NULL;
	slash = strrchr(real, '/');
	if ((p = malloc(strlen(real) + 32)) != NULL)
		sprintf(p, "%.*s/.%s.prev.rtq.%d", (int)(slash - real), real,
		    slash + 1, slot);
	free(real);
	return p;
}

static void
prev_changed(struct tfio *t)
{
	if (t->prev_saved != NULL)
		t->prev_saved(t, t->prev_ctx);
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
	return b.s;
}

static int
read_all(struct tfio *t, char *err, size_t errlen)
{
	ssize_t	 n;

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
	for (;;) {
		if (buf_grow(&t->data, 65536) == -1) {
			snprintf(err, errlen, "%s: out of memory", t->path);
			return TFIO_EFILE;
		}
		n = read(t->fd, t->data.s + t->data.len,
		    t->data.cap - t->data.len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "%s: %s", t->path,
			    strerror(errno));
			return TFIO_EFILE;
		}
		if (n == 0)
			break;
		t->data.len += (size_t)n;
	}
	t->data.s[t->data.len] = '\0';
	return 0;
}

static int tfio_open2(struct tfio *, const char *, int, char *, size_t);

/* Open and flock "<path>.lock".  Returns 0 or TFIO_EIO with err. */
static int
lock_one(const char *path, int *fd, char **lockpath, char *err,
    size_t errlen)
{
	if ((*lockpath = malloc(strlen(path) + 6)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return TFIO_EIO;
	}
	strcpy(*lockpath, path);
	strcat(*lockpath, ".lock");
	if ((*fd = open(*lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY,
	    0666)) == -1) {
		int	 first = errno;

		/* an existing lock file we may not write still locks */
		if ((*fd = open(*lockpath, O_RDONLY | O_CLOEXEC | O_NOCTTY))
		    == -1) {
			snprintf(err, errlen, "%s: cannot open the lock file: "
			    "%s", *lockpath, strerror(errno == ENOENT ?
			    first : errno));
			return TFIO_EIO;
		}
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

int
tfio_open(struct tfio *t, const char *path, char *err, size_t errlen)
{
	return tfio_open2(t, path, 0, err, errlen);
}

int
tfio_peek(struct tfio *t, const char *path, char *err, size_t errlen)
{
	return tfio_open2(t, path, 1, err, errlen);
}

static int
tfio_open2(struct tfio *t, const char *path, int nolock, char *err,
    size_t errlen)
{
	struct stat	 st;
	const char	*e;
	char		*real;
	int		 r;

	memset(t, 0, sizeof(*t));
	t->lockfd = t->reallockfd = t->fd = -1;
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
	if (nolock) {
		/* only look: the lock file, if any, for the liveness table */
		if ((t->lockpath = malloc(strlen(t->path) + 6)) != NULL) {
			strcpy(t->lockpath, t->path);
			strcat(t->lockpath, ".lock");
			t->lockfd = open(t->lockpath, O_RDONLY | O_CLOEXEC |
			    O_NOCTTY);
		}
		return read_all(t, err, errlen);
	}
	if ((r = lock_one(t->path, &t->lockfd, &t->lockpath, err, errlen))
	    != 0)
		return r;
	/*
	 * Reached through a symlink, the file is also locked by the name of
	 * its target, so that workers using either name exclude each other.
	 * Always the given name first, then the real one: no deadlock.
	 */
	if ((real = realpath(t->path, NULL)) != NULL &&
	    strcmp(real, t->path) != 0)
		r = lock_one(real, &t->reallockfd, &t->reallockpath, err,
		    errlen);
	free(real);
	if (r != 0)
		return r;
	return read_all(t, err, errlen);
}

/*
 * Copy what reached the previous versions past what was carried before to
 * the end of the task file, oldest first; let go of versions replaced
 * long ago.  Returns 1 when it copied, 0 when there was nothing, or a
 * TFIO_E* code.
 */
static int
carry_prev(struct tfio *t, char *err, size_t errlen)
{
	struct tfio_prev *pv;
	struct stat	 st;
	long long	 now = (long long)time(NULL);
	char		*path;
	int		 i, k, fd, r = 0;

	if (t->prev == NULL)
		return 0;
	for (k = 0; k < TFIO_PREVS && r >= 0; k++) {
		i = (*t->prev_next + k) % TFIO_PREVS;	/* oldest first */
		pv = &t->prev[i];
		if (pv->ino == 0 || (path = prev_path(t->path, i)) == NULL)
			continue;
		/*
		 * The record may be older than the link (a kill): then the
		 * link may name the current file, all of whose bytes are
		 * here already.
		 */
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1 &&
		    fstat(fd, &st) == 0 && (unsigned long long)st.st_ino ==
		    pv->ino && st.st_ino != t->st.st_ino &&
		    st.st_size > pv->size) {
			if (copy_tail(fd, (off_t)pv->size, st.st_size,
			    t->path, t->nosync) == -1) {
				snprintf(err, errlen, "%s: copying lines "
				    "appended to a previous version: %s",
				    t->path, strerror(errno));
				r = TFIO_EIO;
			} else {
				pv->size = st.st_size;
				prev_changed(t);
				r = 1;
			}
		}
		if (fd != -1)
			close(fd);
		if (r >= 0 && now - pv->when > TFIO_PREV_SECS) {
			/* quiet for long enough: free its disk space */
			pv->ino = 0;
			prev_changed(t);
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

	if ((r = carry_prev(t, err, errlen)) == 1)
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

/* Copy bytes appended to the old file after it was read to the new one. */
static int
carry_appends(struct tfio *t, const char *real, char *err, size_t errlen)
{
	struct stat	 st;
	off_t		 from = (off_t)t->data.len;
	int		 round;

	for (round = 0; round < CARRY_ROUNDS; round++) {
		if (fstat(t->fd, &st) == -1 || st.st_size <= from)
			break;
		if (copy_tail(t->fd, from, st.st_size, real, t->nosync) ==
		    -1) {
			snprintf(err, errlen, "%s: copying lines appended "
			    "during the rewrite: %s (they are in %s)", real,
			    strerror(errno), "its previous version");
			return TFIO_EIO;
		}
		from = st.st_size;
	}
	t->carried = (long long)from;
	return 0;
}

int
tfio_commit(struct tfio *t, const struct patch *p, char *err, size_t errlen)
{
	struct stat	 st;
	char		*real = NULL, *dircopy = NULL, *basecopy = NULL;
	char		*tmp = NULL, *dir, *base, *prev = NULL;
	struct tfio_prev *linked = NULL;
	int		 fd = -1, r = TFIO_EIO, saved;

	if (p->n == 0)
		return 0;
	if ((real = realpath(t->path, NULL)) == NULL) {
		snprintf(err, errlen, "%s: %s", t->path, strerror(errno));
		return TFIO_EFILE;
	}
	if ((dircopy = strdup(real)) == NULL ||
	    (basecopy = strdup(real)) == NULL)
		goto nomem;
	dir = dirname(dircopy);
	base = basename(basecopy);
	if ((tmp = malloc(strlen(dir) + strlen(base) + 16)) == NULL)
		goto nomem;
	sprintf(tmp, "%s/.%s.rtq-XXXXXX", dir, base);
	if ((fd = mkstemp(tmp)) == -1) {
		snprintf(err, errlen, "%s: cannot create a temporary file "
		    "there: %s; the task file is unchanged", dir,
		    strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
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
	 * Late appends to the previous version, looked at once more before
	 * that version is let go; then: changed since read (an append, an
	 * editor's save)? redo.
	 */
	if ((saved = carry_prev(t, err, errlen)) != 0) {
		unlink(tmp);
		r = saved == 1 ? -1 : saved;
		goto out;
	}
	if (stat(t->path, &st) == -1 || st.st_ino != t->st.st_ino ||
	    st.st_dev != t->st.st_dev || st.st_size != t->st.st_size ||
	    st.st_mtim.tv_sec != t->st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != t->st.st_mtim.tv_nsec ||
	    (off_t)t->data.len != t->st.st_size) {
		unlink(tmp);
		r = -1;
		goto out;
	}
	/*
	 * Keep the inode being replaced reachable for late appends, in the
	 * next slot of the ring (the oldest version there was just looked at
	 * by carry_prev above), and record it before the rename.
	 */
	if (t->prev != NULL && (prev = prev_path(real, *t->prev_next)) !=
	    NULL) {
		char *ptmp = malloc(strlen(prev) + 5);

		if (ptmp != NULL) {
			sprintf(ptmp, "%s.new", prev);
			unlink(ptmp);
			if (link(real, ptmp) == 0 && rename(ptmp, prev) == 0) {
				struct tfio_prev *pv = &t->prev[*t->prev_next];

				pv->ino = (unsigned long long)t->st.st_ino;
				pv->size = (long long)t->data.len;
				pv->when = (long long)time(NULL);
				linked = pv;
				*t->prev_next = (*t->prev_next + 1) %
				    TFIO_PREVS;
				prev_changed(t);
			} else
				unlink(ptmp);
			free(ptmp);
		}
	}
	if (rename(tmp, real) == -1)
		goto werr;
	free(tmp);
	tmp = NULL;
	if (!t->nosync && sync_dir(dir) == -1) {
		snprintf(err, errlen, "%s: fsync of the directory: %s", dir,
		    strerror(errno));
		goto out;
	}
	r = carry_appends(t, real, err, errlen);
	if (linked != NULL) {
		linked->size = t->carried;
		prev_changed(t);
	}
	goto out;
werr:
	snprintf(err, errlen, "%s: writing the new version failed: %s; the "
	    "task file is unchanged", t->path, strerror(errno));
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
out:
	if (fd != -1)
		close(fd);
	if (tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(real);
	free(prev);
	free(dircopy);
	free(basecopy);
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
	free(t->reallockpath);
	free(t->path);
	free(t->lockpath);
	/* a serve session reads the file again and again: keep the buffer */
	if (t->data.cap <= SPARE_MAX && t->data.cap > spare.cap) {
		buf_free(&spare);
		spare = t->data;
		memset(&t->data, 0, sizeof(t->data));
	}
	buf_free(&t->data);
	t->fd = t->lockfd = t->reallockfd = -1;
	t->path = t->lockpath = t->reallockpath = NULL;
}
