/*
 * writelimit FILE ROUNDS: the file-write limit of one claim.  A round
 * reads FILE whole, writes it to a temporary file in the same directory,
 * fsyncs that, renames it over FILE and fsyncs the directory: what any
 * atomic rewrite of the file costs, whatever the program.  It prints the
 * time of each round in milliseconds, one a line.  With ROUNDS "-", it
 * does a round for each line read on standard input and prints its time
 * at once, so that a caller can take turns with what it compares (the
 * disk's pace varies from one second to the next).  Like a
 * serve session it is one process, and it keeps its buffer from round to
 * round: memory new to the process each round (page faults; in a virtual
 * machine, faults on the host too) can cost more than the rewrite itself.
 * RTQ_NOSYNC=1, as for rtq-claim, leaves out both fsyncs.  Built and run
 * by tests/bench.sh (through claimcost.py).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char	*buf;
static size_t	 cap;

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
rewrite(const char *path, const char *dir, const char *tmp, int sync)
{
	struct stat	 st;
	char		*nb;
	size_t		 at, len;
	ssize_t		 n = 0;
	int		 fd, dfd;

	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) == -1)
		return -1;
	if ((size_t)st.st_size + 1 > cap) {
		if ((nb = realloc(buf, (size_t)st.st_size + 1)) == NULL)
			return -1;
		buf = nb;
		cap = (size_t)st.st_size + 1;
	}
	for (len = 0; len < cap && (n = read(fd, buf + len, cap - len)) > 0;
	    len += (size_t)n)
		;
	close(fd);
	if (n == -1 || (fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644)) ==
	    -1)
		return -1;
	for (at = 0; at < len; at += (size_t)n)
		if ((n = write(fd, buf + at, len - at)) == -1)
			goto fail;
	if ((sync && fsync(fd) == -1) || close(fd) == -1 ||
	    rename(tmp, path) == -1)
		goto fail;
	if (sync) {
		if ((dfd = open(dir, O_RDONLY | O_DIRECTORY)) == -1)
			return -1;
		if (fsync(dfd) == -1) {
			close(dfd);
			return -1;
		}
		close(dfd);
	}
	return 0;
fail:
	unlink(tmp);
	return -1;
}

int
main(int argc, char *argv[])
{
	char		 path[4096], dir[4096], tmp[4200], line[64];
	const char	*e = getenv("RTQ_NOSYNC");
	int		 i, rounds = 0, sync = e == NULL || *e == '\0' ||
	    strcmp(e, "0") == 0, ask;
	double		 t0;

	if (argc != 3 || (!(ask = strcmp(argv[2], "-") == 0) &&
	    (rounds = atoi(argv[2])) <= 0)) {
		fprintf(stderr, "usage: writelimit FILE ROUNDS|-\n");
		return 2;
	}
	if (snprintf(path, sizeof(path), "%s", argv[1]) >= (int)sizeof(path))
		return 2;
	snprintf(dir, sizeof(dir), "%s", dirname(path));
	if (snprintf(tmp, sizeof(tmp), "%s/.writelimit.%ld", dir,
	    (long)getpid()) >= (int)sizeof(tmp))
		return 2;
	for (i = 0; ask || i < rounds; i++) {
		if (ask && fgets(line, sizeof(line), stdin) == NULL)
			break;
		t0 = now();
		if (rewrite(argv[1], dir, tmp, sync) == -1) {
			fprintf(stderr, "writelimit: %s: %s\n", argv[1],
			    strerror(errno));
			return 1;
		}
		printf("%.3f\n", (now() - t0) * 1e3);
		if (ask)
			fflush(stdout);
	}
	return 0;
}
