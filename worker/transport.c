/*
 * transport: running rtq-claim locally or over ssh.  See transport.h.
 */
#define _DEFAULT_SOURCE
#include <sys/stat.h>
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

#include "shquote.h"
#include "transport.h"

#define MAXARGS	64

static char *
xstrdup(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

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
run(char *const argv[], int in, struct buf *out, struct buf *errout,
    int *status)
{
	int		 po[2], pe[2], st;
	pid_t		 pid;
	struct pollfd	 pfd[2];
	char		 chunk[8192];
	ssize_t		 n;
	int		 open_fds = 2, i, devnull;

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
	pfd[0].events = pfd[1].events = POLLIN;
	while (open_fds > 0) {
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
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
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
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
	if (run(argv, -1, &out, &err, &st) == 0 && st == 0 && out.s != NULL) {
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
	if ((t->file = xstrdup(file)) == NULL)
		goto nomem;
	if (host == NULL) {
		/* local: rtq-claim next to rtq, else on PATH */
		char path[PATH_MAX];
		const char *slash = strrchr(self, '/');

		if ((e = getenv("RTQ_CLAIM")) != NULL && *e != '\0')
			t->claim = xstrdup(e);
		else if (slash != NULL && (size_t)(slash - self) + 12 <
		    sizeof(path)) {
			snprintf(path, sizeof(path), "%.*s/rtq-claim",
			    (int)(slash - self), self);
			t->claim = xstrdup(access(path, X_OK) == 0 ? path :
			    "rtq-claim");
		} else
			t->claim = xstrdup("rtq-claim");
		return t->claim == NULL ? -1 : 0;
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
	}
	add_word(t, "-o");
	add_word(t, "BatchMode=yes");
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

/* The argv to run; remote words are quoted into one command line. */
static int
build(struct tp *t, const char *sub, const char *const *words, int nwords,
    char **argv, struct buf *cmd)
{
	int	 n = 0, i, serve = strcmp(sub, "serve") == 0;

	if (t->host == NULL) {
		if (nwords + 4 > MAXARGS)
			return -1;
		argv[n++] = t->claim;
		argv[n++] = (char *)sub;
		argv[n++] = t->file;
		for (i = 0; i < nwords; i++)
			argv[n++] = (char *)words[i];
		argv[n] = NULL;
		return 0;
	}
	if (t->nssh + 6 > MAXARGS)
		return -1;
	for (i = 0; i < t->nssh; i++) {
		/*
		 * A session lives as long as the worker: it gets a connection
		 * of its own, since one shared connection takes only
		 * MaxSessions (10) channels.
		 */
		if (serve && i >= t->mux_at && i < t->mux_at + t->mux_n)
			continue;
		argv[n++] = t->ssh[i];
	}
	if (serve) {
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
	shquote(cmd, sub);
	buf_addc(cmd, ' ');
	shquote(cmd, t->file);
	for (i = 0; i < nwords; i++) {
		buf_addc(cmd, ' ');
		shquote(cmd, words[i]);
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

static int
parse(struct tp_reply *r)
{
	char	*p = r->raw.s, *nl;
	int	 i;

	/* skip anything a login script printed before our reply */
	while (p != NULL && strncmp(p, PROTO_MAGIC " ", 5) != 0) {
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	if (p == NULL || (nl = strchr(p, '\n')) == NULL)
		return -1;
	*nl = '\0';
	if (proto_head(p, &r->h) == -1)
		return -1;
	for (i = 0; i < r->h.nitems; i++) {
		p = nl + 1;
		if ((nl = strchr(p, '\n')) == NULL)
			return -1;
		*nl = '\0';
		if (proto_item(p, &r->init[i], &r->line[i],
		    (const char **)&r->text[i]) == -1)
			return -1;
	}
	r->n = r->h.nitems;
	return 0;
}

/* The requests a serve session takes; the others are one call each. */
static int
in_serve(const char *sub)
{
	static const char *const subs[] = { "register", "next", "finish",
	    "reset", "heartbeat", "bye" };
	size_t	 i;

	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(sub, subs[i]) == 0)
			return 1;
	return 0;
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
	t->spid = 0;
	t->sin = t->sout = -1;
	buf_reset(&t->sbuf);
}

void
tp_close(struct tp *t)
{
	session_close(t);
}

/* Read one line from the session into *line (NUL-terminated). */
static int
session_line(struct tp *t, struct buf *line)
{
	char	*nl, chunk[8192];
	ssize_t	 n;

	for (;;) {
		if (t->sbuf.len > 0 && (nl = memchr(t->sbuf.s, '\n',
		    t->sbuf.len)) != NULL) {
			size_t k = (size_t)(nl - t->sbuf.s) + 1;

			buf_add(line, t->sbuf.s, k);
			memmove(t->sbuf.s, t->sbuf.s + k, t->sbuf.len - k);
			t->sbuf.len -= k;
			return 0;
		}
		n = read(t->sout, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		if (buf_add(&t->sbuf, chunk, (size_t)n) == -1)
			return -1;
	}
}

static int
write_all(int fd, const char *s, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		if ((w = write(fd, s, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
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
	struct proto_head h;
	int		 r;

	if ((t->spid = tp_spawn(t, "serve", &t->sin, &t->sout, err, errlen))
	    == -1) {
		t->spid = 0;
		return TP_RETRY;
	}
	fcntl(t->sin, F_SETFD, FD_CLOEXEC);
	fcntl(t->sout, F_SETFD, FD_CLOEXEC);
	/* skip what a login script may print before the reply */
	if (write_all(t->sin, "hello 1\n", 8) == -1)
		r = -1;
	else
		while ((r = session_line(t, &line)) == 0 &&
		    strncmp(line.s, PROTO_MAGIC " ", 5) != 0)
			buf_reset(&line);
	if (r == -1) {
		/* no reply at all: ssh failed, or no rtq-claim there */
		int st = 0;

		close(t->sin);
		close(t->sout);
		while (waitpid(t->spid, &st, 0) == -1 && errno == EINTR)
			;
		t->spid = 0;
		buf_free(&line);
		st = WIFEXITED(st) ? WEXITSTATUS(st) : 255;
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
	r = proto_head(line.s, &h);
	if (r == 0 && h.kind == PROTO_OK) {
		buf_free(&line);
		t->serve = 1;
		return TP_OK;
	}
	buf_free(&line);
	session_close(t);
	t->serve = -1;
	fprintf(stderr, "rtq: rtq-claim%s%s has no serve session (an older "
	    "version?); using one call per request\n", t->host ? " on " : "",
	    t->host ? t->host : "");
	return TP_SOFT;
}

static int
classify_error(struct tp *t, struct tp_reply *r, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s", r->h.msg);
	switch (r->h.code) {
	case 3:
		return TP_FATAL;
	case 4:
		return TP_SOFT;
	case 2:
		/* a request this rtq-claim does not know: another version */
		if (strstr(r->h.msg, "unknown") != NULL ||
		    strstr(r->h.msg, "protocol") != NULL)
			snprintf(err, errlen, "rtq-claim%s%s refused the "
			    "request (%s): is it the same version as rtq? "
			    "(protocol %d)", t->host ? " on " : "",
			    t->host ? t->host : "", r->h.msg, PROTO_VERSION);
		return TP_FATAL;
	default:
		return TP_RETRY;
	}
}

/* One request over the session; TP_SOFT when the session is unusable. */
static int
session_call(struct tp *t, const char *sub, const char *const *words,
    int nwords, struct tp_reply *r, char *err, size_t errlen)
{
	struct buf	 req = BUF_INIT;
	size_t		 headlen;
	char		*item;
	int		 i, rv;

	if (t->spid <= 0 && (rv = session_open(t, err, errlen)) != TP_OK)
		return rv;
	buf_adds(&req, sub);
	for (i = 0; i < nwords; i++) {
		buf_addc(&req, ' ');
		buf_adds(&req, words[i]);
	}
	buf_addc(&req, '\n');
	if (req.s == NULL || write_all(t->sin, req.s, req.len) == -1 ||
	    session_line(t, &r->raw) == -1)
		goto lost;
	buf_free(&req);
	headlen = r->raw.len;
	r->raw.s[headlen - 1] = '\0';
	if (proto_head(r->raw.s, &r->h) == -1)
		goto lost;
	for (i = 0; i < r->h.nitems; i++) {
		if (session_line(t, &r->raw) == -1)
			goto lost;
		r->raw.s[r->raw.len - 1] = '\0';
	}
	/* parse again now that the buffer holds everything */
	proto_head(r->raw.s, &r->h);
	item = r->raw.s + headlen;
	for (i = 0; i < r->h.nitems; i++, item += strlen(item) + 1)
		if (proto_item(item, &r->init[i], &r->line[i],
		    (const char **)&r->text[i]) == -1)
			goto lost;
	r->n = r->h.nitems;
	if (r->h.kind == PROTO_ERROR)
		return classify_error(t, r, err, errlen);
	return TP_OK;
lost:
	buf_free(&req);
	session_close(t);
	snprintf(err, errlen, "the session with rtq-claim%s%s broke",
	    t->host ? " on " : "", t->host ? t->host : "");
	return TP_RETRY;
}

int
tp_call(struct tp *t, const char *sub, const char *const *words, int nwords,
    struct tp_reply *r, char *err, size_t errlen)
{
	return tp_call_input(t, sub, words, nwords, -1, r, err, errlen);
}

int
tp_call_input(struct tp *t, const char *sub, const char *const *words,
    int nwords, int in, struct tp_reply *r, char *err, size_t errlen)
{
	char		*argv[MAXARGS], where[512], last[512];
	struct buf	 cmd = BUF_INIT;
	const char	*e;
	int		 st, rv;

	memset(r, 0, sizeof(*r));
	if (t->serve == 0 && (e = getenv("RTQ_NOSERVE")) != NULL &&
	    strcmp(e, "1") == 0)
		t->serve = -1;
	if (t->serve >= 0 && in == -1 && in_serve(sub)) {
		rv = session_call(t, sub, words, nwords, r, err, errlen);
		if (rv != TP_SOFT || t->spid > 0)
			return rv;
		tp_reply_free(r);
	}
	buf_reset(&t->errout);
	tp_where(t, where, sizeof(where));
	if (build(t, sub, words, nwords, argv, &cmd) == -1) {
		snprintf(err, errlen, "out of memory");
		buf_free(&cmd);
		return TP_FATAL;
	}
	if (in != -1)
		lseek(in, 0, SEEK_SET);		/* a retry sends it again */
	rv = run(argv, in, &r->raw, &t->errout, &st);
	buf_free(&cmd);
	if (rv == -1) {
		snprintf(err, errlen, "cannot run %s: %s", argv[0],
		    strerror(errno));
		return TP_RETRY;
	}
	last_line(&t->errout, last, sizeof(last));
	if (r->raw.s != NULL && parse(r) == 0) {
		if (r->h.kind != PROTO_ERROR)
			return TP_OK;
		return classify_error(t, r, err, errlen);
	}
	if (t->host != NULL && st == 255) {
		snprintf(err, errlen, "ssh to %s failed%s%s", t->host,
		    last[0] ? ": " : "", last);
		return TP_RETRY;
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
	return run(argv, in, out, errout, status);
}

pid_t
tp_spawn(struct tp *t, const char *sub, int *in, int *out, char *err,
    size_t errlen)
{
	char		*argv[MAXARGS];
	struct buf	 cmd = BUF_INIT;
	int		 pi[2], po[2];
	pid_t		 pid;

	if (build(t, sub, NULL, 0, argv, &cmd) == -1 || pipe(pi) == -1) {
		snprintf(err, errlen, "out of memory");
		buf_free(&cmd);
		return -1;
	}
	if (pipe(po) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		buf_free(&cmd);
		return -1;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		buf_free(&cmd);
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);	/* Ctrl-C is rtq's to handle */
		dup2(pi[0], 0);
		dup2(po[1], 1);
		close(pi[0]); close(pi[1]); close(po[0]); close(po[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	buf_free(&cmd);
	close(pi[0]);
	close(po[1]);
	*in = pi[1];
	*out = po[0];
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
	buf_free(&t->sbuf);
	for (i = 0; i < t->nssh; i++)
		free(t->ssh[i]);
	free(t->ssh);
	free(t->host);
	free(t->file);
	free(t->claim);
	buf_free(&t->errout);
	memset(t, 0, sizeof(*t));
}
