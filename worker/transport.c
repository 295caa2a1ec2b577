/*
 * transport: running rtq-claim locally or over ssh.  See transport.h.
 */
#define _DEFAULT_SOURCE
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "paths.h"
#include "shquote.h"
#include "sig.h"
#include "transport.h"

#define MAXARGS	64
#define ARGV_MAX	(64 * 1024)	/* longer requests go on stdin */
#define REPLY_MS	120000	/* a session reply takes at most this */
#define OWN_PERSIST	10	/* s an owned connection outlives its use */
#define EXIT_MS		5000	/* ssh -O exit takes at most this */

/* tp_conn_share: the -j slots' connection is this process's */
static pid_t	 conn_owner;
static struct tp conn_shared;

static char *
xstrdup(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

static pid_t	spawn(struct tp *, enum proto_op, int *, int *, int, char *,
		    size_t);

static int
add_word(struct tp *t, const char *w)
{
	char	**v;

	if ((v = realloc(t->ssh, (size_t)(t->nssh + 2) * sizeof(*v))) == NULL)
		return -1;
	t->ssh = v;
	if ((v[t->nssh] = xstrdup(w)) == NULL)
		return -1;
	v[++t->nssh] = NULL;
	return 0;
}

/* Split RTQ_SSH on white space (no quoting: keep paths simple). */
static int
split_ssh(struct tp *t, const char *cmd)
{
	char	*copy, *w, *save = NULL;
	int	 r = 0;

	if ((copy = strdup(cmd)) == NULL)
		return -1;
	for (w = strtok_r(copy, " \t", &save); w != NULL && r == 0;
	    w = strtok_r(NULL, " \t", &save))
		r = add_word(t, w);
	free(copy);
	return t->nssh == 0 ? -1 : r;
}

/* Run argv to completion; collect stdout into out, stderr into err. */
static int
run(struct tp *t, char *const argv[], int in, struct buf *out,
    struct buf *errout, int *status)
{
	int		 po[2], pe[2], st;
	pid_t		 pid;
	struct pollfd	 pfd[3];
	char		 chunk[8192];
	ssize_t		 n;
	int		 open_fds = 2, i, devnull, stopped = 0;

	if (pipe(po) == -1)
		return -1;
	if (pipe(pe) == -1) {
		close(po[0]);
		close(po[1]);
		return -1;
	}
	if ((pid = fork()) == -1) {
		close(po[0]); close(po[1]); close(pe[0]); close(pe[1]);
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);	/* a Ctrl-C at the terminal is rtq's */
		if (in != -1)
			dup2(in, 0);
		else if ((devnull = open("/dev/null", O_RDONLY)) != -1)
			dup2(devnull, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]); close(po[1]); close(pe[0]); close(pe[1]);
		execvp(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0],
		    strerror(errno));
		_exit(126);
	}
	close(po[1]);
	close(pe[1]);
	pfd[0].fd = po[0];
	pfd[1].fd = pe[0];
	pfd[2].fd = t->intr != NULL ? t->intr_fd : -1;
	pfd[0].events = pfd[1].events = pfd[2].events = POLLIN;
	while (open_fds > 0) {
		if (poll(pfd, 3, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[2].fd != -1 && (pfd[2].revents & POLLIN) &&
		    t->intr(t->intr_arg) && !t->intr_wakes) {
			/*
			 * Given up: the child and what it started go.  Its
			 * pipes are not waited for: a shared ssh connection's
			 * master holds copies of them.
			 */
			kill(-pid, SIGTERM);
			kill(pid, SIGTERM);
			stopped = 1;
			break;
		}
		for (i = 0; i < 2; i++) {
			if (pfd[i].fd == -1 || !(pfd[i].revents & (POLLIN |
			    POLLHUP | POLLERR)))
				continue;
			n = read(pfd[i].fd, chunk, sizeof(chunk));
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open_fds--;
				continue;
			}
			buf_add(i == 0 ? out : errout, chunk, (size_t)n);
		}
	}
	for (i = 0; i < 2; i++)
		if (pfd[i].fd != -1)
			close(pfd[i].fd);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	*status = fdio_exit_code(st);
	return stopped ? -2 : 0;
}

/* Does the user's ssh configuration already share connections? */
static int
user_has_mux(struct tp *t)
{
	char		*argv[MAXARGS];
	struct buf	 out = BUF_INIT, err = BUF_INIT;
	const char	*p;
	int		 i, n = 0, st, r = 0;

	for (i = 0; i < t->nssh && n < MAXARGS - 4; i++)
		argv[n++] = t->ssh[i];
	argv[n++] = "-G";
	argv[n++] = t->host;
	argv[n] = NULL;
	if (run(t, argv, -1, &out, &err, &st) == 0 && st == 0 &&
	    out.s != NULL) {
		for (p = out.s; (p = strstr(p, "controlpath ")) != NULL; p++)
			if ((p == out.s || p[-1] == '\n') &&
			    strncmp(p + 12, "none", 4) != 0)
				r = 1;
	}
	buf_free(&out);
	buf_free(&err);
	return r;
}

static int
mux_dir(char *dir, size_t len)
{
	const char	*base = getenv("XDG_RUNTIME_DIR");
	struct stat	 st;

	if (base != NULL && *base == '/' && strlen(base) < 60)
		snprintf(dir, len, "%s/rtq", base);
	else
		snprintf(dir, len, "/tmp/rtq-%ld", (long)getuid());
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return -1;
	if (lstat(dir, &st) == -1 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != getuid() || (st.st_mode & 077) != 0)
		return -1;
	return 0;
}

int
tp_init(struct tp *t, const char *host, const char *file, const char *self,
    char *err, size_t errlen)
{
	const char	*e;
	char		 dir[128], opt[256];

	memset(t, 0, sizeof(*t));
	t->serr = -1;
	t->reply_ms = REPLY_MS;
	if ((e = getenv("RTQ_REPLY_TIMEOUT")) != NULL && atoi(e) > 0)
		t->reply_ms = atoi(e) * 1000;
	if (host != NULL && host[0] == '-') {
		snprintf(err, errlen, "\"%s\" is not a host name", host);
		return -1;
	}
	if ((t->file = xstrdup(file)) == NULL)
		goto nomem;
	if (host == NULL) {
		/* local: rtq-claim next to rtq, else on PATH */
		char path[PATH_MAX];

		if ((e = getenv("RTQ_CLAIM")) != NULL && *e != '\0')
			t->claim = xstrdup(e);
		else
			t->claim = xstrdup(paths_claim_beside(self, path,
			    sizeof(path)) == 0 && strchr(path, '/') != NULL &&
			    access(path, X_OK) == 0 ? path : "rtq-claim");
		if (t->claim == NULL)
			goto nomem;
		return 0;
	}
	if ((t->host = xstrdup(host)) == NULL)
		goto nomem;
	if ((e = getenv("RTQ_SSH")) == NULL || *e == '\0')
		e = "ssh";
	if (split_ssh(t, e) == -1) {
		snprintf(err, errlen, "RTQ_SSH: cannot use \"%s\"", e);
		return -1;
	}
	if ((e = getenv("RTQ_CLAIM")) != NULL && *e != '\0') {
		t->claim = xstrdup(e);
		t->claim_is_cmd = 1;
	}
	if (((e = getenv("RTQ_SSH_MUX")) == NULL || strcmp(e, "0") != 0) &&
	    !user_has_mux(t) && mux_dir(dir, sizeof(dir)) == 0) {
		t->mux_at = t->nssh;
		t->mux_n = 6;
		add_word(t, "-o");
		add_word(t, "ControlMaster=auto");
		add_word(t, "-o");
		snprintf(opt, sizeof(opt), "ControlPath=%s/%%C", dir);
		add_word(t, opt);
		add_word(t, "-o");
		add_word(t, "ControlPersist=60");
		if ((t->mux_dir = xstrdup(dir)) == NULL)
			goto nomem;
	}
	add_word(t, "-o");
	add_word(t, "BatchMode=yes");
	/* a master that stops answering ends the connection */
	snprintf(opt, sizeof(opt), "ServerAliveInterval=%d",
	    t->reply_ms / 4000 > 0 ? t->reply_ms / 4000 : 1);
	add_word(t, "-o");
	add_word(t, opt);
	add_word(t, "-o");
	add_word(t, "ServerAliveCountMax=4");
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

const char *
tp_where(const struct tp *t, char *out, size_t outlen)
{
	if (t->host != NULL)
		snprintf(out, outlen, "%s:%s", t->host, t->file);
	else
		snprintf(out, outlen, "%s", t->file);
	return out;
}

/* ---- a worker's own connection --------------------------------- */

/* A master listens at t->own: 1, else 0. */
static int
conn_live(const struct tp *t)
{
	struct sockaddr_un sa;
	int		 fd, r;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", t->own);
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return r;
}

/* A file beside the socket: SUFFIX appended.  0, or -1 when too long. */
static int
conn_file(const struct tp *t, const char *suffix, char *out, size_t len)
{
	return (size_t)snprintf(out, len, "%s%s", t->own, suffix) >= len ?
	    -1 : 0;
}

/*
 * Slots of one rtq share its connection: when none is up, the one that
 * is to log in holds a lock until its ssh has become the master (or
 * failed), and the others wait (at most reply_ms, or until a signal),
 * then connect through it.  Returns the lock's descriptor (close it to
 * let go), or -1: no lock needed or none to be had (then ssh copes: a
 * second master that finds the socket taken runs without sharing).
 */
static int
conn_lock(struct tp *t)
{
	char		 path[PATH_MAX];
	double		 end = now_sec() + t->reply_ms / 1000.0;
	struct pollfd	 p;
	int		 fd;

	if (t->own == NULL || conn_owner == 0 || conn_live(t) ||
	    conn_file(t, ".lock", path, sizeof(path)) == -1 ||
	    (fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return -1;
	p.fd = t->intr != NULL ? t->intr_fd : -1;
	p.events = POLLIN;
	while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		/* a signal (Ctrl-C) ends the wait, not the request */
		if ((errno != EWOULDBLOCK && errno != EINTR) ||
		    now_sec() > end || (poll(&p, 1, 20) == 1 &&
		    t->intr(t->intr_arg))) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

static void
conn_unlock(int fd)
{
	if (fd != -1)
		close(fd);
}

/*
 * Whether "rtq says so" falls to this process: once for an rtq and its
 * slots (the first to create a file beside the socket), once for a
 * process otherwise.
 */
static int
conn_say_once(const struct tp *t, const char *what)
{
	static int	 said;
	char		 path[PATH_MAX];
	int		 fd;

	if (said)
		return 0;
	said = 1;
	if (conn_owner == 0 || conn_file(t, what, path, sizeof(path)) == -1)
		return 1;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1)
		return errno != EEXIST;
	close(fd);
	return 1;
}

int
tp_conn_own(struct tp *t)
{
	char		 path[PATH_MAX], opt[PATH_MAX + 32];
	unsigned long long h = 1469598103934665603ULL;
	const char	*c;
	pid_t		 owner = conn_owner != 0 ? conn_owner : getpid();
	int		 i;

	if (t->host == NULL || t->mux_n != 6 || t->mux_dir == NULL)
		return -1;
	/* one master a host and ssh command: FNV-1a of them */
	for (i = 0; i <= t->mux_at; i++)
		for (c = i < t->mux_at ? t->ssh[i] : t->host; ; c++) {
			h = (h ^ (unsigned char)*c) * 1099511628211ULL;
			if (*c == '\0')
				break;
		}
	/*
	 * ssh binds PATH.XXXXXXXXXXXXXXXX (a random suffix), then renames
	 * it: that must fit a socket address.
	 */
	if ((size_t)snprintf(path, sizeof(path), "%s/%ld-%016llx", t->mux_dir,
	    (long)owner, h) + 18 > sizeof(((struct sockaddr_un *)0)->sun_path))
		return -1;
	snprintf(opt, sizeof(opt), "ControlPath=%s", path);
	free(t->own);
	if ((t->own = xstrdup(path)) == NULL)
		return -1;
	c = t->ssh[t->mux_at + 3];
	if ((t->ssh[t->mux_at + 3] = xstrdup(opt)) == NULL) {
		t->ssh[t->mux_at + 3] = (char *)c;
		free(t->own);
		t->own = NULL;
		return -1;
	}
	free((char *)c);
	snprintf(opt, sizeof(opt), "ControlPersist=%d", OWN_PERSIST);
	if ((c = xstrdup(opt)) != NULL) {
		free(t->ssh[t->mux_at + 5]);
		t->ssh[t->mux_at + 5] = (char *)c;
	}
	t->owner = owner;
	return 0;
}

/*
 * The owner's end of its connection: ssh -O exit, started and not waited
 * for (the child that starts it, at most EXIT_MS), and the files beside
 * the socket go.
 */
static void
conn_exit(struct tp *t)
{
	char	*argv[MAXARGS], path[PATH_MAX];
	pid_t	 pid;
	int	 i, n = 0, st, fd;
	double	 end = now_sec() + EXIT_MS / 1000.0;

	if (t->own == NULL || t->owner != getpid())
		return;
	if (conn_live(t) && t->nssh + 4 < MAXARGS) {
		for (i = 0; i < t->nssh; i++)
			argv[n++] = t->ssh[i];
		argv[n++] = "-O";
		argv[n++] = "exit";
		argv[n++] = t->host;
		argv[n] = NULL;
		/*
		 * Not waited for: a child that starts it and leaves at once
		 * (so that nothing is left to reap), and rtq goes on (a
		 * worker that leaves leaves tens of ms sooner).
		 */
		if ((pid = fork()) == 0) {
			setpgid(0, 0);
			if ((fd = open("/dev/null", O_RDWR)) != -1) {
				dup2(fd, 0);
				dup2(fd, 1);
				dup2(fd, 2);
			}
			if (fork() != 0)
				_exit(0);
			execvp(argv[0], argv);
			_exit(127);
		}
		while (pid > 0 && waitpid(pid, &st, WNOHANG) == 0) {
			if (now_sec() > end) {
				kill(pid, SIGKILL);
				while (waitpid(pid, &st, 0) == -1 &&
				    errno == EINTR)
					;
				break;
			}
			(void)poll(NULL, 0, 10);
		}
	}
	if (conn_file(t, ".lock", path, sizeof(path)) == 0)
		(void)unlink(path);
	if (conn_file(t, ".said", path, sizeof(path)) == 0)
		(void)unlink(path);
}

void
tp_conn_share(const char *host, const char *self)
{
	char	 err[256];

	conn_owner = getpid();
	if (host == NULL || tp_init(&conn_shared, host, "", self, err,
	    sizeof(err)) == -1)
		return;
	(void)tp_conn_own(&conn_shared);
}

void
tp_conn_end(void)
{
	if (conn_shared.host != NULL)
		tp_free(&conn_shared);
}

/*
 * What the ssh of a session on t->own said (t->serr): shown, except
 * that a channel refused by the master (ssh then runs the session on a
 * connection of its own) is said once, in rtq's words.
 */
static void
conn_errors(struct tp *t)
{
	char		 chunk[4096];
	struct buf	 b = BUF_INIT;
	char		*p, *e, *nl;
	ssize_t		 k;
	int		 refused = 0;

	if (t->serr == -1)
		return;
	while ((k = pread(t->serr, chunk, sizeof(chunk), t->serr_off)) > 0) {
		buf_add(&b, chunk, (size_t)k);
		t->serr_off += k;
	}
	if (buf_addc(&b, '\0') == 0)
		b.len--;
	for (p = b.s; p != NULL && p < b.s + b.len; p = e) {
		/* a line at a time, made a string: ssh writes no NULs */
		if ((nl = memchr(p, '\n', b.len - (size_t)(p - b.s))) != NULL)
			*nl = '\0';
		e = nl != NULL ? nl + 1 : b.s + b.len;
		if (strstr(p, "refused by peer") != NULL)
			refused = 1;
		else if (strstr(p, "disabling multiplexing") == NULL) {
			if (nl != NULL)
				*nl = '\n';
			(void)fdio_write_all(STDERR_FILENO, p, (size_t)(e - p));
		}
	}
	buf_free(&b);
	if (refused && conn_say_once(t, ".said"))
		say("%s refused one more session on rtq's ssh connection "
		    "(sshd's MaxSessions, 10 by default), so a session has a "
		    "connection of its own: raise MaxSessions in the sshd_config "
		    "of %s above rtq's -j to keep to one", t->host, t->host);
}

/* The argv to run; remote words are quoted into one command line. */
static int
build(struct tp *t, const struct proto_words *pw, char **argv,
    struct buf *cmd)
{
	int	 n = 0, i, serve = strcmp(pw->op,
	    proto_ops[PROTO_SERVE].name) == 0;

	if (t->host == NULL) {
		argv[n++] = t->claim;
		argv[n++] = (char *)pw->op;
		argv[n++] = t->file;
		for (i = 0; i < pw->n; i++)
			argv[n++] = (char *)pw->w[i];
		argv[n] = NULL;
		return 0;
	}
	if (t->nssh + 6 > MAXARGS)
		return -1;
	for (i = 0; i < t->nssh; i++) {
		/*
		 * A session lives as long as the worker: it gets a connection
		 * of its own, since one connection shared by the user's
		 * workers takes only MaxSessions (10) channels; a worker's
		 * own connection (tp_conn_own) carries it.
		 */
		if (serve && t->own == NULL && i >= t->mux_at &&
		    i < t->mux_at + t->mux_n)
			continue;
		argv[n++] = t->ssh[i];
	}
	if (serve && t->own == NULL) {
		argv[n++] = "-S";
		argv[n++] = "none";
	}
	argv[n++] = t->host;
	buf_reset(cmd);
	if (t->claim_is_cmd)
		buf_printf(cmd, "exec %s", t->claim);
	else
		buf_adds(cmd, "PATH=\"$PATH:$HOME/.local/bin:$HOME/bin\"; "
		    "export PATH; exec rtq-claim");
	buf_addc(cmd, ' ');
	shquote(cmd, pw->op);
	buf_addc(cmd, ' ');
	shquote(cmd, t->file);
	for (i = 0; i < pw->n; i++) {
		buf_addc(cmd, ' ');
		shquote(cmd, pw->w[i]);
	}
	if (cmd->s == NULL)
		return -1;
	argv[n++] = cmd->s;
	argv[n] = NULL;
	return 0;
}

static void
last_line(const struct buf *b, char *out, size_t len)
{
	const char	*s = b->s, *e;

	out[0] = '\0';
	if (s == NULL || b->len == 0)
		return;
	e = s + b->len;
	while (e > s && (e[-1] == '\n' || e[-1] == '\r'))
		e--;
	s = e;
	while (s > b->s && s[-1] != '\n')
		s--;
	snprintf(out, len, "%.*s", (int)(e - s), s);
}

static void
session_close(struct tp *t)
{
	int	 st;

	if (t->spid <= 0)
		return;
	close(t->sin);
	close(t->sout);
	kill(t->spid, SIGTERM);
	while (waitpid(t->spid, &st, 0) == -1 && errno == EINTR)
		;
	conn_errors(t);
	t->spid = 0;
	t->sin = t->sout = -1;
	buf_reset(&t->sbuf);
	buf_reset(&t->aq);
	t->aq_off = 0;
	t->apending = 0;
}

/*
 * Write all of s to the session, the descriptor being non-blocking: wait
 * for room at most t->reply_ms.  Returns 0 or -1.
 */
static int
session_write(struct tp *t, const char *s, size_t n)
{
	struct pollfd	 p;
	ssize_t		 k;
	double		 end = now_sec() + t->reply_ms / 1000.0;
	int		 ms;

	while (n > 0) {
		if ((k = write(t->sin, s, n)) > 0) {
			s += k;
			n -= (size_t)k;
			continue;
		}
		if (k == -1 && errno != EAGAIN && errno != EINTR)
			return -1;
		if ((ms = (int)((end - now_sec()) * 1000)) <= 0)
			return -1;
		p.fd = t->sin;
		p.events = POLLOUT;
		if (poll(&p, 1, ms) == -1 && errno != EINTR)
			return -1;
	}
	return 0;
}

/*
 * Read one line from the session into *line (with its newline), waiting
 * at most t->reply_ms for it.  Returns 0, or -1 (closed, broken, silent).
 */
static int
session_line(struct tp *t, struct buf *line)
{
	struct pollfd	 pfd[2];
	char		*nl, chunk[8192];
	ssize_t		 n;
	int		 ms;
	double		 end = now_sec() + t->reply_ms / 1000.0;

	for (;;) {
		if (t->sbuf.len > 0 && (nl = memchr(t->sbuf.s, '\n',
		    t->sbuf.len)) != NULL) {
			size_t k = (size_t)(nl - t->sbuf.s) + 1;

			if (buf_add(line, t->sbuf.s, k) == -1)
				return -1;
			memmove(t->sbuf.s, t->sbuf.s + k, t->sbuf.len - k);
			t->sbuf.len -= k;
			return 0;
		}
		pfd[0].fd = t->sout;
		pfd[0].events = pfd[1].events = POLLIN;
		if ((ms = (int)((end - now_sec()) * 1000)) <= 0)
			return -1;	/* a silent master */
		pfd[1].fd = t->intr != NULL ? t->intr_fd : -1;
		if (poll(pfd, 2, ms) == -1 && errno != EINTR)
			return -1;
		if ((pfd[1].revents & POLLIN) && t->intr(t->intr_arg)) {
			if (!t->intr_wakes)
				return -1;	/* given up: the caller stops */
			/* a held wait: an empty line ends it, the reply comes */
			if (t->hold_ms > 0 && !t->woke &&
			    session_write(t, "\n", 1) == 0)
				t->woke = 1;
		}
		if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if ((n = fdio_read(t->sout, chunk, sizeof(chunk))) <= 0 ||
		    buf_add(&t->sbuf, chunk, (size_t)n) == -1)
			return -1;
	}
}

/* Read n more bytes of a reply's body into out.  Returns 0 or -1. */
static int
session_body(struct tp *t, struct buf *out, size_t n)
{
	struct pollfd	 pfd;
	char		 chunk[65536];
	size_t		 k;
	ssize_t		 got;
	double		 end = now_sec() + t->reply_ms / 1000.0;
	int		 ms;

	while (n > 0) {
		if (t->sbuf.len > 0) {
			k = t->sbuf.len < n ? t->sbuf.len : n;
			if (buf_add(out, t->sbuf.s, k) == -1)
				return -1;
			memmove(t->sbuf.s, t->sbuf.s + k, t->sbuf.len - k);
			t->sbuf.len -= k;
			n -= k;
			continue;
		}
		if ((ms = (int)((end - now_sec()) * 1000)) <= 0)
			return -1;
		pfd.fd = t->sout;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, ms) == -1 && errno != EINTR)
			return -1;
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if ((got = fdio_read(t->sout, chunk, sizeof(chunk))) <= 0 ||
		    buf_add(&t->sbuf, chunk, (size_t)got) == -1)
			return -1;
	}
	return 0;
}

int
tp_async_send(struct tp *t, const struct proto_req *q, const char *body,
    size_t n)
{
	size_t	 was = t->aq.len;

	if (t->serve != 1 || t->spid <= 0 ||
	    t->aq.len - t->aq_off + n > TP_AQ_MAX)
		return -1;
	if (t->aq_off > 0 && t->aq_off == t->aq.len) {
		buf_reset(&t->aq);
		t->aq_off = 0;
		was = 0;
	}
	if (proto_encode_line(q, &t->aq) == -1 || (n > 0 &&
	    buf_add(&t->aq, body, n) == -1)) {
		t->aq.len = was;
		return -1;
	}
	t->apending++;
	return 0;
}

int
tp_async_fds(struct tp *t, struct pollfd *p)
{
	int	 n = 0;

	if (t->spid <= 0)
		return 0;
	if (t->aq.len > t->aq_off) {
		p[n].fd = t->sin;
		p[n++].events = POLLOUT;
	}
	if (t->apending > 0) {
		p[n].fd = t->sout;
		p[n++].events = POLLIN;
	}
	return n;
}

int
tp_async_io(struct tp *t)
{
	char	 chunk[8192], *nl;
	ssize_t	 k;
	size_t	 len;
	int	 r = 0;

	if (t->spid <= 0)
		return 0;
	while (t->aq.len > t->aq_off) {
		k = write(t->sin, t->aq.s + t->aq_off, t->aq.len - t->aq_off);
		if (k > 0) {
			t->aq_off += (size_t)k;
			continue;
		}
		if (k == -1 && (errno == EAGAIN || errno == EINTR))
			break;
		session_close(t);
		return -1;
	}
	if (t->aq_off == t->aq.len) {
		buf_reset(&t->aq);
		t->aq_off = 0;
	}
	while (t->apending > 0) {
		if (t->sbuf.len > 0 && (nl = memchr(t->sbuf.s, '\n',
		    t->sbuf.len)) != NULL) {
			len = (size_t)(nl - t->sbuf.s) + 1;
			if (strncmp(t->sbuf.s, PROTO_MAGIC " error ",
			    sizeof(PROTO_MAGIC " error ") - 1) == 0) {
				snprintf(t->aerr, sizeof(t->aerr), "%.*s",
				    (int)(len - 1), t->sbuf.s +
				    sizeof(PROTO_MAGIC " error ") - 1);
				r = 1;
			}
			memmove(t->sbuf.s, t->sbuf.s + len, t->sbuf.len - len);
			t->sbuf.len -= len;
			t->apending--;
			continue;
		}
		{
			struct pollfd p;

			p.fd = t->sout;
			p.events = POLLIN;
			if (poll(&p, 1, 0) != 1)
				break;
		}
		if ((k = fdio_read(t->sout, chunk, sizeof(chunk))) <= 0 ||
		    buf_add(&t->sbuf, chunk, (size_t)k) == -1) {
			session_close(t);
			return -1;
		}
	}
	return r;
}

/*
 * A fresh file for the stderr of a session's ssh (t->serr), unlinked:
 * read by conn_errors, so that nothing ssh says can block it.  Without
 * one (no temporary directory) ssh writes to ours.
 */
static void
session_errfile(struct tp *t)
{
	char	 path[PATH_MAX];

	if (t->serr != -1)
		close(t->serr);
	t->serr = -1;
	t->serr_off = 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/rtq-ssh.XXXXXX",
	    fdio_tmpdir()) >= sizeof(path) || (t->serr = mkstemp(path)) == -1)
		return;
	(void)unlink(path);
	(void)fcntl(t->serr, F_SETFD, FD_CLOEXEC);
}

/*
 * Open the serve session.  Returns TP_OK, TP_RETRY (could not reach the
 * master), or TP_SOFT when this rtq-claim has no serve (then t->serve is
 * -1 and the caller uses one call per request).
 */
static int
session_open(struct tp *t, char *err, size_t errlen)
{
	struct buf	 line = BUF_INIT;
	struct proto_reply h;
	const char	*hello = proto_hello();
	int		 r, lk;

	if (t->own != NULL)
		session_errfile(t);
	lk = conn_lock(t);
	t->spid = spawn(t, PROTO_SERVE, &t->sin, &t->sout, t->serr, err,
	    errlen);
	if (t->spid == -1) {
		conn_unlock(lk);
		t->spid = 0;
		return TP_RETRY;
	}
	fcntl(t->sin, F_SETFD, FD_CLOEXEC);
	fcntl(t->sout, F_SETFD, FD_CLOEXEC);
	fcntl(t->sin, F_SETFL, O_NONBLOCK);
	/* skip what a login script may print before the reply */
	if (session_write(t, hello, strlen(hello)) == -1)
		r = -1;
	else
		while ((r = session_line(t, &line)) == 0 &&
		    proto_find_head(line.s, line.len) != line.s)
			buf_reset(&line);
	/* up, through the master's connection or on one of its own */
	conn_unlock(lk);
	conn_errors(t);
	if (r == -1) {
		/* no reply at all: ssh failed, or no rtq-claim there */
		int st = 0;

		close(t->sin);
		close(t->sout);
		while (waitpid(t->spid, &st, 0) == -1 && errno == EINTR)
			;
		conn_errors(t);
		t->spid = 0;
		buf_free(&line);
		st = WIFEXITED(st) ? WEXITSTATUS(st) : 255;	/* ssh's */
		if (st == 127 || st == 126) {
			/* let the one-shot path say it clearly */
			return TP_SOFT;
		}
		snprintf(err, errlen, "%s%s: could not open a session "
		    "(exit %d)", t->host ? "ssh to " : "rtq-claim for ",
		    t->host ? t->host : t->file, st);
		return TP_RETRY;
	}
	line.s[line.len - 1] = '\0';
	r = proto_decode_head(line.s, &h);
	if (r == 0 && h.kind == PROTO_OK && h.okw == PROTO_OK_VERSION) {
		buf_free(&line);
		t->serve = 1;
		return TP_OK;
	}
	buf_free(&line);
	session_close(t);
	if (t->hold_ms > 0) {
		/* an rtq-claim that cannot hold a wait: a plain session */
		t->hold_ms = 0;
		return session_open(t, err, errlen);
	}
	t->serve = -1;
	fprintf(stderr, "rtq: rtq-claim%s%s has no serve session (an older "
	    "version?); using one call per request\n", t->host ? " on " : "",
	    t->host ? t->host : "");
	return TP_SOFT;
}

/* An error reply: what the caller should do about it. */
static int
classify_error(struct tp *t, struct tp_reply *r, char *err, size_t errlen)
{
	t->answered = 1;
	snprintf(err, errlen, "%s", r->p.msg);
	switch (r->p.code) {
	case PROTO_EFILE:
	case PROTO_EBUSY:
		return TP_FATAL;
	case PROTO_EDATA:
		return TP_SOFT;
	case PROTO_EUSAGE:
		/* a request this rtq-claim does not know: another version */
		if (strstr(r->p.msg, "unknown") != NULL ||
		    strstr(r->p.msg, "protocol") != NULL)
			snprintf(err, errlen, "rtq-claim%s%s refused the "
			    "request (%s): is it the same version as rtq? "
			    "(protocol %d)", t->host ? " on " : "",
			    t->host ? t->host : "", r->p.msg, PROTO_VERSION);
		return TP_FATAL;
	default:
		return TP_RETRY;
	}
}

/* One request over the session; TP_SOFT when the session is unusable. */
static int
session_call(struct tp *t, const struct proto_req *q, struct tp_reply *r,
    char *err, size_t errlen)
{
	struct buf	 req = BUF_INIT;
	int		 i, rv;

	if (t->spid <= 0 && (rv = session_open(t, err, errlen)) != TP_OK)
		return rv;
	t->woke = 0;
	if (proto_encode_line(q, &req) == -1) {
		buf_free(&req);
		snprintf(err, errlen, "a request rtq cannot send (a line "
		    "break in its text?)");
		return TP_FATAL;
	}
	/* what was sent without waiting goes first, and is answered first */
	if (t->aq.len > t->aq_off && session_write(t, t->aq.s + t->aq_off,
	    t->aq.len - t->aq_off) == -1)
		goto lost;
	buf_reset(&t->aq);
	t->aq_off = 0;
	if (session_write(t, req.s, req.len) == -1)
		goto lost;
	for (; t->apending > 0; t->apending--) {
		if (session_line(t, &r->raw) == -1)
			goto lost;
		buf_reset(&r->raw);
	}
	/* the head line, then as many item lines as it announces */
	if (session_line(t, &r->raw) == -1)
		goto lost;
	r->raw.s[r->raw.len - 1] = '\0';
	i = proto_decode_head(r->raw.s, &r->p);
	r->raw.s[r->raw.len - 1] = '\n';
	if (i == -1)
		goto lost;
	for (i = 0; i < r->p.nitems; i++)
		if (session_line(t, &r->raw) == -1)
			goto lost;
	if (r->p.kind == PROTO_OK && r->p.okw == PROTO_OK_SIZE &&
	    session_body(t, &r->raw, (size_t)r->p.count) == -1)
		goto lost;
	if (proto_decode_reply(r->raw.s, r->raw.len, &r->p) == -1)
		goto lost;
	buf_free(&req);
	if (r->p.kind == PROTO_ERROR)
		return classify_error(t, r, err, errlen);
	t->answered = 1;
	return TP_OK;
lost:
	buf_free(&req);
	session_close(t);
	snprintf(err, errlen, "the session with rtq-claim%s%s broke",
	    t->host ? " on " : "", t->host ? t->host : "");
	return TP_RETRY;
}

/*
 * Whether ssh's last message says a failure that trying again will not
 * mend: a host name that does not resolve, a login refused, a host key
 * that does not match.
 */
static int
ssh_permanent(const char *msg)
{
	static const char *const perm[] = { "Could not resolve hostname",
	    "Name or service not known", "Permission denied",
	    "Host key verification failed", "No such file or directory",
	    "Bad configuration option", "Too many authentication failures" };
	size_t	 i;

	for (i = 0; i < sizeof(perm) / sizeof(perm[0]); i++)
		if (strstr(msg, perm[i]) != NULL)
			return 1;
	return 0;
}

/* Why a one-shot call gave no reply, from its exit status and stderr. */
static int
no_reply(struct tp *t, int st, char *err, size_t errlen)
{
	char	 where[512], last[512];

	tp_where(t, where, sizeof(where));
	last_line(&t->errout, last, sizeof(last));
	if (t->host != NULL && st == 255) {
		snprintf(err, errlen, "ssh to %s failed%s%s", t->host,
		    last[0] ? ": " : "", last);
		return ssh_permanent(last) ? TP_FATAL : TP_RETRY;
	}
	if ((st == 127 || st == 126) && strncmp(t->errout.s ? t->errout.s :
	    "", "cannot run ", 11) == 0) {
		/* our own exec failed: no ssh, or no local rtq-claim */
		if (t->host != NULL)
			snprintf(err, errlen, "%s (the ssh command: RTQ_SSH, "
			    "or ssh on PATH)", last);
		else
			snprintf(err, errlen, "rtq-claim not found: %s; "
			    "install it beside rtq or on PATH, or set "
			    "RTQ_CLAIM to its path", last);
		return TP_FATAL;
	}
	if (st == 127 || st == 126) {
		if (t->host != NULL)
			snprintf(err, errlen, "rtq-claim not found on %s "
			    "(looked on PATH, in ~/.local/bin and ~/bin). "
			    "Install it with: rtq --install-master %s "
			    "(copies the static rtq-claim to ~/.local/bin "
			    "there), or set RTQ_CLAIM to its path on %s",
			    t->host, t->host, t->host);
		else
			snprintf(err, errlen, "rtq-claim not found (looked "
			    "next to rtq and on PATH); install it, or set "
			    "RTQ_CLAIM to its path%s%s", last[0] ? ": " : "",
			    last);
		return TP_FATAL;
	}
	snprintf(err, errlen, "no reply from rtq-claim for %s (exit %d)%s%s",
	    where, st, last[0] ? ": " : "", last);
	return TP_RETRY;
}

/*
 * A request too long for the command line (the kernel takes 128 KiB an
 * argument) goes as a session of one request, in an unlinked temporary
 * file: the hello, then the request line.  Returns the file, or -1.
 */
static int
long_request(const struct proto_req *q, char *err, size_t errlen)
{
	struct buf	 b = BUF_INIT;
	char		 path[4096];
	int		 fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/rtq-req.XXXXXX",
	    fdio_tmpdir()) >= sizeof(path) || (fd = mkstemp(path)) == -1) {
		snprintf(err, errlen, "%s: cannot create a temporary file: %s",
		    fdio_tmpdir(), strerror(errno));
		return -1;
	}
	unlink(path);
	buf_adds(&b, proto_hello());
	if (proto_encode_line(q, &b) == -1 ||
	    fdio_write_all(fd, b.s, b.len) == -1) {
		snprintf(err, errlen, "%s: %s", fdio_tmpdir(), strerror(errno));
		close(fd);
		fd = -1;
	}
	buf_free(&b);
	return fd;
}

int
tp_call(struct tp *t, const struct proto_req *q, int in, struct tp_reply *r,
    char *err, size_t errlen)
{
	struct proto_words pw, sv;
	char		*argv[MAXARGS], *p;
	struct buf	 cmd = BUF_INIT;
	const char	*e;
	size_t		 total = 0;
	int		 st, rv, i, tmp = -1, lk;

	memset(r, 0, sizeof(*r));
	memset(&sv, 0, sizeof(sv));
	if (t->serve == 0 && (e = getenv("RTQ_NOSERVE")) != NULL &&
	    strcmp(e, "1") == 0)
		t->serve = -1;
	if (t->serve >= 0 && in == -1 &&
	    (proto_ops[q->op].flags & PROTO_F_SERVE)) {
		rv = session_call(t, q, r, err, errlen);
		if (rv != TP_SOFT || t->spid > 0)
			return rv;
		tp_reply_free(r);
	}
	buf_reset(&t->errout);
	if (proto_encode_words(q, &pw) == -1) {
		snprintf(err, errlen, "a request rtq cannot send (a line "
		    "break in its text?), or out of memory");
		proto_words_free(&pw);
		return TP_FATAL;
	}
	for (i = 0; i < pw.n; i++)
		total += strlen(pw.w[i]) + 1;
	if (total > ARGV_MAX && in == -1 &&
	    (proto_ops[q->op].flags & PROTO_F_SERVE)) {
		if ((tmp = in = long_request(q, err, errlen)) == -1) {
			proto_words_free(&pw);
			return TP_RETRY;
		}
		sv.op = proto_ops[PROTO_SERVE].name;
	}
	if (build(t, tmp != -1 ? &sv : &pw, argv, &cmd) == -1) {
		snprintf(err, errlen, "out of memory");
		rv = TP_FATAL;
		goto out;
	}
	if (in != -1)
		lseek(in, 0, SEEK_SET);		/* a retry sends it again */
	lk = conn_lock(t);
	rv = run(t, argv, in, &r->raw, &t->errout, &st);
	conn_unlock(lk);
	if (rv < 0) {
		if (rv == -2)
			snprintf(err, errlen, "interrupted");
		else
			snprintf(err, errlen, "cannot run %s: %s", argv[0],
			    strerror(errno));
		rv = TP_RETRY;
		goto out;
	}
	p = r->raw.s;
	if (tmp != -1 && p != NULL &&
	    (p = (char *)proto_find_head(p, r->raw.len)) != NULL) {
		/* past the answer to the hello */
		p = memchr(p, '\n', r->raw.len - (size_t)(p - r->raw.s));
		p = p != NULL ? p + 1 : NULL;
	}
	if (p != NULL && proto_decode_reply(p, r->raw.len - (size_t)(p -
	    r->raw.s), &r->p) == 0)
		rv = r->p.kind == PROTO_ERROR ? classify_error(t, r, err,
		    errlen) : (t->answered = 1, TP_OK);
	else
		rv = no_reply(t, st, err, errlen);
out:
	if (tmp != -1)
		close(tmp);
	proto_words_free(&pw);
	buf_free(&cmd);
	return rv;
}

int
tp_shell(struct tp *t, const char *cmd, int in, struct buf *out,
    struct buf *errout, int *status)
{
	char	*argv[MAXARGS];
	int	 n = 0, i;

	if (t->host == NULL || t->nssh + 3 > MAXARGS)
		return -1;
	for (i = 0; i < t->nssh; i++)
		argv[n++] = t->ssh[i];
	argv[n++] = t->host;
	argv[n++] = (char *)cmd;
	argv[n] = NULL;
	return run(t, argv, in, out, errout, status) == 0 ? 0 : -1;
}

pid_t
tp_spawn(struct tp *t, enum proto_op op, int *in, int *out, char *err,
    size_t errlen)
{
	return spawn(t, op, in, out, -1, err, errlen);
}

/* tp_spawn, with the child's stderr on errfd (-1: ours). */
static pid_t
spawn(struct tp *t, enum proto_op op, int *in, int *out, int errfd,
    char *err, size_t errlen)
{
	struct proto_req q;
	struct proto_words pw;
	char		*argv[MAXARGS];
	struct buf	 cmd = BUF_INIT;
	int		 pi[2], po[2];
	pid_t		 pid = -1;

	proto_req_init(&q, op);
	if (op == PROTO_SERVE)
		q.hold = t->hold_ms;
	if (proto_encode_words(&q, &pw) == -1 || build(t, &pw, argv, &cmd) ==
	    -1) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (pipe(pi) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto out;
	}
	if (pipe(po) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		close(pi[0]);
		close(pi[1]);
		goto out;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(pi[0]); close(pi[1]); close(po[0]); close(po[1]);
		goto out;
	}
	if (pid == 0) {
		setpgid(0, 0);	/* Ctrl-C is rtq's to handle */
		dup2(pi[0], 0);
		dup2(po[1], 1);
		if (errfd != -1)
			dup2(errfd, 2);
		close(pi[0]); close(pi[1]); close(po[0]); close(po[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pi[0]);
	close(po[1]);
	*in = pi[1];
	*out = po[0];
out:
	proto_words_free(&pw);
	buf_free(&cmd);
	return pid;
}

void
tp_reply_free(struct tp_reply *r)
{
	buf_free(&r->raw);
	memset(r, 0, sizeof(*r));
}

void
tp_free(struct tp *t)
{
	int	 i;

	session_close(t);
	conn_exit(t);
	if (t->serr != -1)
		close(t->serr);
	buf_free(&t->sbuf);
	buf_free(&t->aq);
	for (i = 0; i < t->nssh; i++)
		free(t->ssh[i]);
	free(t->ssh);
	free(t->host);
	free(t->file);
	free(t->claim);
	free(t->mux_dir);
	free(t->own);
	buf_free(&t->errout);
	memset(t, 0, sizeof(*t));
	t->serr = -1;
}
