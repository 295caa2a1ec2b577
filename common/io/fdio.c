/*
 * fdio: whole reads and writes on file descriptors.  See fdio.h.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "fdio.h"

int
fdio_write_all(int fd, const void *s, size_t n)
{
	const char	*p = s;
	ssize_t		 w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

ssize_t
fdio_read(int fd, void *s, size_t n)
{
	ssize_t	 r;

	while ((r = read(fd, s, n)) == -1 && errno == EINTR)
		;
	return r;
}

int
fdio_read_all(int fd, struct buf *b)
{
	ssize_t	 n;

	for (;;) {
		if (buf_grow(b, 65536) == -1) {
			errno = ENOMEM;
			return -1;
		}
		if ((n = fdio_read(fd, b->s + b->len, b->cap - b->len - 1))
		    == -1)
			return -1;
		if (n == 0)
			return 0;
		b->len += (size_t)n;
		b->s[b->len] = '\0';
	}
}

int
fdio_read_file(const char *path, struct buf *b)
{
	int	 fd, r, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return -1;
	r = fdio_read_all(fd, b);
	e = errno;
	close(fd);
	errno = e;
	return r;
}

int
fdio_write_file(const char *path, const void *s, size_t n, int mode)
{
	int	 fd, r, e;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOCTTY, mode)) == -1)
		return -1;
	r = fdio_write_all(fd, s, n);
	e = errno;
	if (close(fd) == -1 && r == 0)
		return -1;
	errno = e;
	return r;
}

int
fdio_copy(int from, int to)
{
	char	 chunk[65536];
	ssize_t	 n;

	while ((n = fdio_read(from, chunk, sizeof(chunk))) != 0)
		if (n == -1 || fdio_write_all(to, chunk, (size_t)n) == -1)
			return -1;
	return 0;
}

const char *
fdio_tmpdir(void)
{
	const char	*t = getenv("TMPDIR");

	return t != NULL && *t != '\0' ? t : "/tmp";
}

int
fdio_exit_code(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return 255;
}

int
fdio_reap(pid_t pid, pid_t target, int term_ms, int kill_ms, int *status)
{
	pid_t	 r;
	int	 t, d;

	for (t = 0, d = 1;; t += d, d = d < 32 ? d * 2 : 50) {
		if ((r = waitpid(pid, status, WNOHANG)) == pid)
			return 0;
		if (r == -1 && errno != EINTR)
			return -1;
		if (term_ms > 0 && t < term_ms && t + d >= term_ms) {
			kill(target, SIGTERM);
			kill(target, SIGCONT);
		}
		if (t < kill_ms && t + d >= kill_ms) {
			kill(target, SIGKILL);
			kill(target, SIGCONT);
		}
		(void)poll(NULL, 0, d);
	}
}
