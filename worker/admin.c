/*
 * admin: the rtq commands that manage a queue instead of running it:
 * --add, --edit, --lock, --reset, --status, --wait, --kill, --pause,
 * --resume, --install-master.
 */
#define _DEFAULT_SOURCE
#include <sys/ioctl.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "client.h"
#include "edit.h"
#include "fdio.h"
#include "paths.h"
#include "proto.h"
#include "shquote.h"
#include "sig.h"
#include "transport.h"
#include "view.h"
#include "worker.h"

/* --lock: hold the lock through an "rtq-claim lock" until a Ctrl-C. */
int
do_lock(struct worker *w)
{
	struct proto_reply r;
	char		 err[1024], line[256];
	int		 in, out, st;
	size_t		 len = 0;
	pid_t		 pid;
	struct pollfd	 pfd[2];

	if ((pid = tp_spawn(&w->tp, PROTO_LOCK, &in, &out, err, sizeof(err)))
	    == -1) {
		say("%s", err);
		return 1;
	}
	/* the reply's head line, after what a login script printed */
	do {
		len = 0;
		while (len < sizeof(line) - 1 && fdio_read(out, line + len,
		    1) == 1 && line[len] != '\n')
			len++;
		line[len] = '\0';
	} while (len > 0 && proto_find_head(line, len) != line);
	if (proto_decode_head(line, &r) == -1 || r.kind != PROTO_LOCKED) {
		close(in);
		waitpid(pid, &st, 0);
		say("could not lock %s%s%s", w->where, line[0] ? ": " : "",
		    r.kind == PROTO_ERROR && r.msg != NULL ? r.msg : line);
		return 1;
	}
	printf("%s is locked: edit it now; press Ctrl-C to release the "
	    "lock\n", w->where);
	fflush(stdout);
	pfd[0].fd = sig_fd();
	pfd[1].fd = out;
	pfd[0].events = pfd[1].events = POLLIN;
	while (!got_int && !got_hard) {
		if (poll(pfd, 2, -1) == -1 && errno != EINTR)
			break;
		if (pfd[1].revents & (POLLIN | POLLHUP)) {
			say("the lock on %s was lost (the connection "
			    "closed)", w->where);
			close(in);
			waitpid(pid, &st, 0);
			return 1;
		}
	}
	close(in);			/* EOF: rtq-claim lets go */
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	printf("lock on %s released\n", w->where);
	return 0;
}

/* --add: one command, or standard input, appended under the lock. */
int
do_add(struct worker *w)
{
	struct proto_req q;
	struct tp_reply	 r;
	char		 path[4096];
	long long	 n;
	int		 fd, rv;

	snprintf(path, sizeof(path), "%s/rtq-add.XXXXXX", fdio_tmpdir());
	if ((fd = mkstemp(path)) == -1) {
		say("%s: %s", path, strerror(errno));
		return 1;
	}
	unlink(path);
	if (w->o->command != NULL) {
		if (fdio_write_all(fd, w->o->command, strlen(w->o->command)) ==
		    -1 || fdio_write_all(fd, "\n", 1) == -1)
			goto werr;
	} else {
		if (isatty(STDIN_FILENO))
			say("reading tasks from standard input, one a line; "
			    "end with Ctrl-D");
		if (fdio_copy(STDIN_FILENO, fd) == -1)
			goto werr;
	}
	proto_req_init(&q, PROTO_ADD);
	rv = client_call(w, &q, fd, &r);
	close(fd);
	if (rv != TP_OK) {
		tp_reply_free(&r);
		return 1;
	}
	n = r.p.okw == PROTO_OK_ADDED ? r.p.count : -1;
	printf("%s: added %lld task%s\n", w->where, n, n == 1 ? "" : "s");
	tp_reply_free(&r);
	return 0;
werr:
	say("%s: %s", path, strerror(errno));
	close(fd);
	return 1;
}

/*
 * --install-master HOST[:DIR]: copy the rtq-claim beside rtq to the
 * master, after checking that the master's machine type is ours.
 */
int
do_install(const char *target, const char *self)
{
	struct tp	 t;
	struct buf	 out = BUF_INIT, eout = BUF_INIT, cmd = BUF_INIT;
	struct utsname	 u;
	char		 err[1024], bin[4096], dir[4096], *host = NULL;
	const char	*colon = strchr(target, ':');
	int		 fd, st, rv = 1;

	if (colon != NULL) {
		host = strndup(target, (size_t)(colon - target));
		snprintf(dir, sizeof(dir), "%s", colon + 1);
	} else {
		host = strdup(target);
		snprintf(dir, sizeof(dir), "~/.local/bin");
	}
	if (host == NULL || *host == '\0' || dir[0] == '\0') {
		free(host);
		return 2;
	}
	if (paths_claim_beside(self, bin, sizeof(bin)) == -1) {
		say("%s: the path of the rtq-claim beside it is too long",
		    self);
		free(host);
		return 1;
	}
	if ((fd = open(bin, O_RDONLY | O_CLOEXEC)) == -1) {
		say("%s: %s (rtq-claim is installed beside rtq)", bin,
		    strerror(errno));
		free(host);
		return 1;
	}
	if (uname(&u) == -1 || tp_init(&t, host, "-", self, err,
	    sizeof(err)) == -1) {
		say("%s", err);
		close(fd);
		free(host);
		return 1;
	}
	if (tp_shell(&t, "uname -m", -1, &out, &eout, &st) == -1 || st != 0) {
		say("cannot run uname -m on %s%s%.*s", host, eout.len ? ": " :
		    "", (int)(eout.len ? eout.len - 1 : 0), eout.s);
		goto out;
	}
	out.s[strcspn(out.s, "\r\n")] = '\0';
	if (strcmp(out.s, u.machine) != 0) {
		say("%s is a %s machine, and this rtq-claim was built for %s: "
		    "build rtq-claim for %s (make on that machine) and copy it "
		    "to %s:%s", host, out.s, u.machine, out.s, host, dir);
		goto out;
	}
	/* the directory, a temporary name, then rename: never half a file */
	buf_adds(&cmd, "d=");
	if (strncmp(dir, "~/", 2) == 0) {
		buf_adds(&cmd, "\"$HOME\"/");
		shquote(&cmd, dir + 2);
	} else
		shquote(&cmd, dir);
	buf_adds(&cmd, " && mkdir -p \"$d\" && cat >\"$d/.rtq-claim.$$\" && "
	    "chmod 755 \"$d/.rtq-claim.$$\" && "
	    "mv -f \"$d/.rtq-claim.$$\" \"$d/rtq-claim\" && "
	    "cd \"$d\" && printf '%s\\n' \"$PWD/rtq-claim\" && "
	    "./rtq-claim version");
	buf_reset(&out);
	buf_reset(&eout);
	if (cmd.s == NULL || tp_shell(&t, cmd.s, fd, &out, &eout, &st) == -1 ||
	    st != 0) {
		say("installing on %s failed%s%.*s", host, eout.len ? ": " : "",
		    (int)(eout.len ? eout.len - 1 : 0), eout.s);
		goto out;
	}
	{
		char *nl = memchr(out.s, '\n', out.len);
		char *ver = nl ? strstr(nl, "rtq-claim ") : NULL;

		printf("installed %s:%.*s (%s)\n", host, nl ? (int)(nl -
		    out.s) : 0, out.s, ver ? strtok(ver, "\n") : "?");
	}
	rv = 0;
out:
	close(fd);
	tp_free(&t);
	buf_free(&out);
	buf_free(&eout);
	buf_free(&cmd);
	free(host);
	return rv;
}

/* $VISUAL, else $EDITOR, else vi, on path.  Returns 0, or -1 (said). */
static int
edit_run_editor(const char *path)
{
	const char	*ed;
	int		 st;
	pid_t		 pid;

	if ((ed = getenv("VISUAL")) == NULL || *ed == '\0')
		if ((ed = getenv("EDITOR")) == NULL || *ed == '\0')
			ed = "vi";
	setenv("RTQ_ED", ed, 1);
	if ((pid = fork()) == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		execl("/bin/sh", "sh", "-c", "exec $RTQ_ED \"$1\"", "sh", path,
		    (char *)NULL);
		_exit(127);
	}
	while (pid > 0 && waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (pid == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		say("the editor (%s) failed; nothing written back; your copy "
		    "is %s", ed, path);
		return -1;
	}
	return 0;
}

/*
 * An edit that would run a task twice is written back only after a yes
 * at the terminal.  Returns 1 to write it back, 0 not to (said).
 */
static int
edit_confirm(const struct buf *base, const struct buf *mine,
    const char *copy)
{
	struct buf	 warn = BUF_INIT;
	char		 answer[16] = "";
	int		 ok = 1;

	if (edit_check(base->s, base->len, mine->s, mine->len, &warn) > 0) {
		fputs(warn.s, stderr);
		if (!isatty(STDIN_FILENO)) {
			say("refusing to write this back without a terminal "
			    "to confirm; your copy is %s", copy);
			ok = 0;
		} else {
			fprintf(stderr, "write it back anyway? [y/N] ");
			if (fgets(answer, sizeof(answer), stdin) == NULL ||
			    (answer[0] != 'y' && answer[0] != 'Y')) {
				say("nothing written back; your copy is %s",
				    copy);
				ok = 0;
			}
		}
	}
	buf_free(&warn);
	return ok;
}

/*
 * rtq-claim put, from a file in dir: the size of the original, the
 * original, the edit.  Returns 0, or -1 (said).
 */
static int
edit_put(struct worker *w, const char *dir, const struct buf *base,
    const struct buf *mine, const char *copy)
{
	struct tp_reply	 r;
	struct proto_req q;
	char		 put[4200];
	size_t		 n;
	int		 st, fd;

	snprintf(put, sizeof(put), "%s/.put", dir);
	if ((fd = open(put, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) ==
	    -1 || dprintf(fd, "%zu\n", base->len) < 0 ||
	    fdio_write_all(fd, base->s, base->len) == -1 ||
	    fdio_write_all(fd, mine->s, mine->len) == -1) {
		say("%s: %s", put, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	proto_req_init(&q, PROTO_PUT);
	st = client_call(w, &q, fd, &r);
	close(fd);
	unlink(put);
	if (st != TP_OK) {
		say("nothing written back; your copy is %s", copy);
		tp_reply_free(&r);
		return -1;
	}
	n = r.p.okw == PROTO_OK_KEPT && r.p.count > 0 ? (size_t)r.p.count : 0;
	printf("%s: written back", w->where);
	if (n > 0)
		printf(" (%zu line%s you deleted had been claimed meanwhile: "
		    "kept at the end)", n, n == 1 ? "" : "s");
	printf("\n");
	tp_reply_free(&r);
	return 0;
}

/*
 * --edit: a copy of the file in $VISUAL/$EDITOR, then the edit merged
 * back by rtq-claim under the lock (common/edit.h): claims made while the
 * editor was open are kept, and nobody waits for the editor.  Edits that
 * would make a task run twice need a yes at the terminal.  Where the edit
 * is not written back, the copy is kept and named.
 */
int
do_edit(struct worker *w)
{
	struct buf	 base = BUF_INIT, mine = BUF_INIT;
	char		 dir[4096], copy[4200], orig[4200];
	const char	*base_name;
	int		 rv = 1;

	if (view_fetch(w, &base) != 0)
		return 1;
	snprintf(dir, sizeof(dir), "%s/rtq-edit.XXXXXX", fdio_tmpdir());
	if (mkdtemp(dir) == NULL) {
		say("%s: %s", dir, strerror(errno));
		buf_free(&base);
		return 1;
	}
	base_name = strrchr(w->tp.file, '/');
	base_name = base_name ? base_name + 1 : w->tp.file;
	snprintf(copy, sizeof(copy), "%s/%s", dir, base_name);
	snprintf(orig, sizeof(orig), "%s/.original", dir);
	if (fdio_write_file(copy, base.s, base.len, 0600) == -1 ||
	    fdio_write_file(orig, base.s, base.len, 0600) == -1) {
		say("%s: %s", dir, strerror(errno));
		goto out;
	}
	if (edit_run_editor(copy) == -1)
		goto keep;
	if (fdio_read_file(copy, &mine) == -1) {
		say("%s: %s", copy, strerror(errno));
		goto keep;
	}
	if (mine.len == base.len && memcmp(mine.s, base.s, base.len) == 0) {
		printf("%s: no changes\n", w->where);
		rv = 0;
		goto out;
	}
	if (!edit_confirm(&base, &mine, copy) ||
	    edit_put(w, dir, &base, &mine, copy) == -1)
		goto keep;
	rv = 0;
out:
	unlink(copy);
	unlink(orig);
	rmdir(dir);
keep:
	buf_free(&base);
	buf_free(&mine);
	return rv;
}

/* --reset [K] [--failed]: reset the file, or its failed tasks. */
int
do_reset(struct worker *w)
{
	struct proto_req q;
	struct tp_reply	 r;

	proto_req_init(&q, PROTO_RESET);
	q.from = w->o->reset_k > 0 ? (size_t)w->o->reset_k : 0;
	q.failed = w->o->failed;
	if (client_call(w, &q, -1, &r) != TP_OK)
		return 1;
	tp_reply_free(&r);
	printf("%s reset%s\n", w->where, w->o->failed ? " (failed tasks)" :
	    "");
	return 0;
}

/*
 * The width of the report: COLUMNS when it is a number, else the
 * terminal's, else 0 (no limit: a pipe or a file gets whole lines).
 */
static int
term_width(void)
{
	struct winsize	 ws;
	const char	*e = getenv("COLUMNS");
	char		*end;
	long		 v;

	if (e != NULL && *e != '\0') {
		v = strtol(e, &end, 10);
		if (*end == '\0' && v > 0)
			return v < 20 ? 20 : v > 9999 ? 9999 : (int)v;
	}
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) ==
	    0 && ws.ws_col > 0)
		return ws.ws_col < 20 ? 20 : ws.ws_col;
	return 0;
}

/* One status report on stdout; 0 or 1. */
static int
status_once(struct worker *w, int json, int clear)
{
	struct proto_req q;
	struct tp_reply	 r;
	const char	*e;

	proto_req_init(&q, PROTO_STATUS);
	q.json = json;
	q.width = json ? 0 : term_width();
	q.all = w->o->all;
	q.color = !json && isatty(STDOUT_FILENO) && ((e = getenv("NO_COLOR"))
	    == NULL || *e == '\0');
	if (client_call(w, &q, -1, &r) != TP_OK)
		return 1;
	/* the report follows the head line */
	if (clear)
		fputs("\033[H\033[2J", stdout);
	if (w->tp.host != NULL && !json)
		printf("%s:", w->tp.host);
	fwrite(r.p.body, 1, r.p.bodylen, stdout);
	/* closed ("| head"): a stop, which ends --watch quietly */
	sig_out_flush();
	tp_reply_free(&r);
	return 0;
}

/* --status [--json] [--watch SECONDS]. */
int
do_status(struct worker *w)
{
	int	 rv;

	if (w->o->watch <= 0)
		return status_once(w, w->o->json, 0);
	do {
		if ((rv = status_once(w, w->o->json, isatty(STDOUT_FILENO))) !=
		    0)
			return rv;
	} while (!sig_nap((int)(w->o->watch * 1000)));
	return 0;
}


/* What a finished --wait says: the counts and how long it waited. */
static void
wait_summary(const struct worker *w, const struct proto_tally *t,
    double secs, const char *how)
{
	printf("%s: %s: %lld done", w->where, how, t->done);
	if (t->failed > 0)
		printf(", %lld failed", t->failed);
	if (t->blocked > 0)
		printf(", %lld blocked by failed tasks", t->blocked);
	if (t->killed > 0)
		printf(", %lld killed", t->killed);
	if (t->retry > 0)
		printf(", %lld to retry", t->retry);
	if (t->running > 0)
		printf(", %lld running", t->running);
	if (t->pending > 0)
		printf(", %lld pending", t->pending);
	printf(" (waited %.1fs)\n", secs);
	sig_out_flush();
}

/*
 * --wait: ask for the queue's counts until nothing can run any more.  A
 * session holds each answer on the master until the file changes, so the
 * wait costs a stat every few tens of milliseconds there; without one, we
 * ask every --poll seconds (at most 1).
 */
int
do_wait(struct worker *w)
{
	struct proto_tally t;
	double		 t0 = now_sec(), limit = w->o->timeout;
	double		 nap = w->o->poll < 1 ? w->o->poll : 1;

	/* a held answer comes back at least every 1/20 of --timeout */
	w->tp.hold_ms = limit > 0 ? (int)(limit * 50) : 60000;
	if (w->tp.hold_ms > 60000)
		w->tp.hold_ms = 60000;
	if (w->tp.hold_ms < 20)
		w->tp.hold_ms = 20;
	w->tp.intr_wakes = 1;
	for (;;) {
		if (client_tally(w, &t) == -1)
			return 1;
		if (t.pending + t.retry + t.running == 0)
			break;
		if (limit > 0 && now_sec() - t0 >= limit) {
			wait_summary(w, &t, now_sec() - t0, "gave up waiting");
			return 124;
		}
		if (got_int || got_hard)
			return 1;
		if ((w->tp.serve != 1 || w->tp.hold_ms == 0) &&
		    sig_nap((int)(nap * 1000)))
			return 1;
	}
	wait_summary(w, &t, now_sec() - t0, "finished");
	return t.failed + t.blocked > 0 ? RTQ_EXIT_FAILED : 0;
}

/* The report that follows a plain "ok" (kill, pause, resume), printed. */
static int
call_report(struct worker *w, const struct proto_req *q)
{
	struct tp_reply	 r;
	const char	*p, *end, *nl;

	if (client_call(w, q, -1, &r) != TP_OK)
		return 1;
	for (p = r.p.body, end = p + r.p.bodylen; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		printf("%s: %.*s\n", w->where, (int)(nl - p), p);
	}
	sig_out_flush();
	tp_reply_free(&r);
	return 0;
}

int
do_kill(struct worker *w)
{
	return call_report(w, w->o->killq);
}

int
do_pause(struct worker *w, int on)
{
	struct proto_req q;

	proto_req_init(&q, on ? PROTO_PAUSE : PROTO_RESUME);
	return call_report(w, &q);
}
