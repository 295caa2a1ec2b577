/*
 * shell: the worker's long-lived bash.  The design is in shell.h.
 */
#define _DEFAULT_SOURCE
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "shell.h"
#include "shquote.h"

#define STOP_MS		1000	/* shell_stop, the watcher: then TERM, KILL */

/* what rtq tells the watcher, besides a task's process group */
#define WATCH_IDLE	0	/* no task runs */
#define WATCH_AWAY	(-1)	/* rtq ends the shell itself: exit */
#define WATCH_NOSHELL	(-2)	/* the shell was reaped: forget it */

/*
 * Defined once in the shell.  Its own commands are builtins called as
 * such, so that an init line's function named cd, printf or wait cannot
 * get in the way (but exec: "builtin exec >f" would redirect builtin's
 * output, not the shell's), and each one that may fail is "|| :", so that
 * an init line's set -e cannot end the shell; the report descriptor is
 * SHELL_REPORT_FD (42, spelled out below).
 *
 * __rtq_snap prints a snapshot: the variables (but read-only and the
 * shell's own special ones), the functions, the directory and the
 * options (but job control).  __rtq_clear drops every variable and
 * function a snapshot would hold, so that what the snapshot defines is
 * all there is; it runs in a task's subshell, where the snapshot is then
 * sourced at the top level (in a function, declare would make locals).
 */
static const char bootstrap[] =
    "__rtq_var() {\n"
    "  case $1 in declare\\ -*) ;; *) return 2;; esac\n"
    "  __rtq_f=${1#declare -}; __rtq_n=${__rtq_f#* }; __rtq_f=${__rtq_f%% *}\n"
    "  __rtq_n=${__rtq_n%%=*}\n"
    "  case $__rtq_f in *r*) return 1;; esac\n"
    "  case $__rtq_n in BASH*|FUNCNAME|GROUPS|DIRSTACK|PIPESTATUS|LINENO|"
    "RANDOM|SRANDOM|SECONDS|EPOCH*|HISTCMD|PPID|UID|EUID|SHELLOPTS|"
    "COMP_WORDBREAKS|_|PWD|OLDPWD|__rtq_*) return 1;; esac\n"
    "}\n"
    "__rtq_snap() {\n"
    "  local __rtq_a __rtq_f __rtq_n __rtq_k=1\n"
    "  while IFS= builtin read -r __rtq_a; do\n"
    "    __rtq_var \"$__rtq_a\"\n"
    "    case $? in 0) __rtq_k=1;; 1) __rtq_k=0;; esac\n"
    "    [[ $__rtq_k = 1 ]] && builtin printf '%s\\n' \"$__rtq_a\"\n"
    "  done < <(builtin declare -p)\n"
    "  builtin declare -f\n"
    "  builtin printf 'builtin cd -- %q\\n' \"${PWD-}\"\n"
    "  while IFS= builtin read -r __rtq_a; do\n"
    "    [[ $__rtq_a = *\\ monitor ]] || builtin printf '%s\\n' \"$__rtq_a\"\n"
    "  done < <(builtin set +o)\n"
    "  builtin shopt -p\n"
    "}\n"
    "__rtq_clear() {\n"
    "  local __rtq_a __rtq_f __rtq_n\n"
    "  while IFS= builtin read -r __rtq_a; do\n"
    "    __rtq_var \"$__rtq_a\" && builtin unset -v \"$__rtq_n\"\n"
    "  done < <(builtin declare -p)\n"
    "  while IFS= builtin read -r __rtq_a; do\n"
    "    __rtq_n=${__rtq_a##* }\n"
    "    [[ $__rtq_n = __rtq_* ]] || builtin unset -f \"$__rtq_n\"\n"
    "  done < <(builtin declare -F)\n"
    "}\n"
    "__rtq_done() {\n"
    "  builtin printf '%s' \"$__rtq_t\" >\"$__rtq_dir/text.$2\" || :\n"
    "  builtin unset __rtq_t || :\n"
    "  __rtq_snap >\"$__rtq_dir/snap.$2\" 2>/dev/null || :\n"
    "  builtin printf 'init %d\\n%s\\0%s\\0%s\\0%s\\0' \"$1\" \"${newtask-}\" "
    "\"${newid-}\" \"${jumpto-}\" \"${PWD-}\" >&42 || :\n"
    "  builtin unset newtask newid jumpto || :\n"
    "}\n"
    "__rtq_mark() {\n"
    "  __rtq_snap >\"$__rtq_dir/snap.0\" 2>/dev/null || :\n"
    "  : >\"$__rtq_dir/text.0\" || :\n"
    "}\n"
    /*
     * Start a task in a subshell (see shell_task_start).  The subshell
     * is a job (set -m): the leader of a process group of its own.  Its
     * status is collected as "wait || st=$?", where errexit does not
     * apply.  A function, so that a task costs bash a short line to read
     * (from a pipe, it reads a byte at a time).
     */
    "__rtq_run() {\n"
    "  builtin set -m; ( __rtq_X=$__rtq_t; builtin trap - INT TERM HUP\n"
    "  if [[ -n $__rtq_l ]]; then\n"
    "    exec > >(command tee -a -- \"$__rtq_l\" 42>&-) "
    "2> >(command tee -a -- \"$__rtq_l\" >&2 42>&-)\n"
    "    builtin trap 'exec >&- 2>&-; builtin wait' EXIT\n"
    "  fi\n"
    "  if [[ -n $__rtq_s ]]; then __rtq_clear || :\n"
    "    . \"$__rtq_s\" 2>/dev/null || :\n"
    "  elif [[ -n $__rtq_p ]]; then builtin eval \" $__rtq_p\" || "
    "{ builtin printf 'prelude %d\\n' $? >&42; builtin exit 1; }\n"
    "  fi\n"
    "  exec 42>&-; builtin unset __rtq_s __rtq_p __rtq_t\n"
    "  builtin eval \" $__rtq_X\" ) </dev/null & builtin set +m\n"
    "  builtin printf 'pid %d\\n' \"$!\" >&42; __rtq_st=0\n"
    "  builtin wait \"$!\" 2>/dev/null || __rtq_st=$?\n"
    "  builtin printf 'exit %d\\n' \"$__rtq_st\" >&42\n"
    "}\n";

/* Close every descriptor but keep (the watcher's). */
static void
close_all_but(int keep)
{
	long	 max = sysconf(_SC_OPEN_MAX);
	int	 fd;

	if (max < 0 || max > 65536)
		max = 65536;
	for (fd = 0; fd < max; fd++)
		if (fd != keep)
			close(fd);
}

/* Whether process group pg has a process left. */
static int
group_alive(pid_t pg)
{
	return pg > 1 && kill(-pg, 0) == 0;
}

/*
 * The watcher: reads process groups from fd until end of file, which comes
 * when rtq is gone (its write end is rtq's alone); then stops what is left
 * of the task and of the shell.  Never returns.
 */
static void
watcher(int fd, pid_t shell)
{
	struct sigaction sa;
	pid_t		 task = 0, v;
	ssize_t		 n;
	int		 i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGTSTP, &sa, NULL);
	close_all_but(fd);
	if (open("/dev/null", O_RDWR) == 0) {
		dup2(0, 1);
		dup2(0, 2);
	}
	/* a group of our own: a signal to rtq's group does not end us */
	setpgid(0, 0);
	for (;;) {
		n = read(fd, &v, sizeof(v));
		if (n == -1 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(v))
			break;		/* end of file: rtq is gone */
		if (v == WATCH_AWAY)
			_exit(0);
		if (v == WATCH_NOSHELL)
			shell = 0;
		else
			task = v;
	}
	for (i = 0; i < 2; i++) {
		int sig = i == 0 ? SIGTERM : SIGKILL, t;

		if (group_alive(task)) {
			kill(-task, sig);
			kill(-task, SIGCONT);
		}
		if (group_alive(shell)) {
			kill(-shell, sig);
			kill(-shell, SIGCONT);
		}
		for (t = 0; i == 0 && t < STOP_MS / 50 && (group_alive(task) ||
		    group_alive(shell)); t++)
			poll(NULL, 0, 50);
	}
	_exit(0);
}

/* Tell the watcher v (a task's process group, or WATCH_*). */
static void
tell_watcher(struct shell *sh, pid_t v)
{
	if (sh->wfd != -1 && fdio_write_all(sh->wfd, &v, sizeof(v)) == -1) {
		close(sh->wfd);
		sh->wfd = -1;
	}
}

/* Start the watcher of the shell.  Returns 0 or -1 with err. */
static int
start_watcher(struct shell *sh, char *err, size_t errlen)
{
	int	 p[2];

	if (pipe(p) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	fcntl(p[1], F_SETFD, FD_CLOEXEC);
	if ((sh->watch = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		sh->watch = 0;
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (sh->watch == 0)
		watcher(p[0], sh->pid);
	setpgid(sh->watch, sh->watch);
	close(p[0]);
	sh->wfd = p[1];
	return 0;
}

/* In the child: become the shell (prog).  Never returns. */
static void
exec_shell(struct shell *sh, const char *prog, int in[2], int rep[2],
    pid_t parent)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	setpgid(0, 0);
#ifdef __linux__
	/* rtq killed: the shell goes with it (the watcher ends its task) */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == 0 && getppid() != parent)
		_exit(127);
#else
	(void)parent;
#endif
	if (sh->out_fd > 2) {
		/* the pump's pipes, or -j N: tasks' output on a pipe */
		dup2(sh->out_fd, 1);
		dup2(sh->err_fd > 2 ? sh->err_fd : sh->out_fd, 2);
		close(sh->out_fd);
		if (sh->err_fd > 2)
			close(sh->err_fd);
	}
	dup2(in[0], 0);
	if (rep[1] != SHELL_REPORT_FD) {
		dup2(rep[1], SHELL_REPORT_FD);
		close(rep[1]);
	}
	close(in[0]);
	close(in[1]);
	close(rep[0]);
	execlp(prog, prog, (char *)NULL);
	fprintf(stderr, "rtq: cannot run the shell %s: %s\n", prog,
	    strerror(errno));
	_exit(127);
}

int
shell_start(struct shell *sh, char *err, size_t errlen)
{
	const char	*prog = getenv("RTQ_SHELL"), *tmp;
	int		 in[2], rep[2];
	struct buf	 b = BUF_INIT;
	volatile sig_atomic_t *stop = sh->stop;
	int		 out_fd = sh->out_fd, err_fd = sh->err_fd;
	pid_t		 self = getpid();

	memset(sh, 0, sizeof(*sh));
	sh->out_fd = out_fd;
	sh->err_fd = err_fd;
	sh->stop = stop;
	sh->in = sh->rep = sh->wfd = -1;
	if (prog == NULL || *prog == '\0')
		prog = "bash";
	if (getcwd(sh->cwd, sizeof(sh->cwd)) == NULL)
		sh->cwd[0] = '\0';
	memcpy(sh->cwd0, sh->cwd, sizeof(sh->cwd0));
	tmp = fdio_tmpdir();
	if ((size_t)snprintf(sh->dir, sizeof(sh->dir), "%s/rtq-shell.XXXXXX",
	    tmp) >= sizeof(sh->dir) || mkdtemp(sh->dir) == NULL) {
		snprintf(err, errlen, "cannot make a temporary directory in "
		    "%s: %s", tmp, strerror(errno));
		sh->dir[0] = '\0';
		return -1;
	}
	if (pipe(in) == -1)
		goto fail;
	if (pipe(rep) == -1) {
		close(in[0]);
		close(in[1]);
		goto fail;
	}
	if ((sh->pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		sh->pid = 0;
		close(in[0]);
		close(in[1]);
		close(rep[0]);
		close(rep[1]);
		return -1;
	}
	if (sh->pid == 0)
		exec_shell(sh, prog, in, rep, self);
	setpgid(sh->pid, sh->pid);
	close(in[0]);
	close(rep[1]);
	sh->in = in[1];
	sh->rep = rep[0];
	fcntl(sh->in, F_SETFD, FD_CLOEXEC);
	fcntl(sh->rep, F_SETFD, FD_CLOEXEC);
	if (start_watcher(sh, err, errlen) == -1)
		return -1;
	buf_adds(&b, "__rtq_dir=");
	shquote(&b, sh->dir);
	buf_adds(&b, "\n");
	buf_adds(&b, bootstrap);
	if (b.s == NULL || fdio_write_all(sh->in, b.s, b.len) == -1) {
		snprintf(err, errlen, "cannot start the shell %s", prog);
		buf_free(&b);
		return -1;
	}
	buf_free(&b);
	return 0;
fail:
	snprintf(err, errlen, "pipe: %s", strerror(errno));
	return -1;
}

int
shell_export(struct shell *sh, const char *name, const char *value)
{
	struct buf	 b = BUF_INIT;
	int		 r;

	buf_printf(&b, "builtin export %s=", name);
	shquote(&b, value);
	buf_adds(&b, " || :\n");
	r = b.s == NULL ? -1 : fdio_write_all(sh->in, b.s, b.len);
	buf_free(&b);
	return r;
}

/* Remove the snapshots and their texts from the shell's directory. */
static void
forget_snaps(struct shell *sh)
{
	DIR		*d;
	struct dirent	*e;
	char		 path[4400];

	if (sh->dir[0] == '\0' || (d = opendir(sh->dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "snap.", 5) != 0 &&
		    strncmp(e->d_name, "text.", 5) != 0)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", sh->dir,
		    e->d_name) < sizeof(path))
			unlink(path);
	}
	closedir(d);
}

int
shell_mark_start(struct shell *sh)
{
	static const char mark[] = "__rtq_mark\n";

	/* the shell is idle: no command of ours writes a snapshot now */
	forget_snaps(sh);
	memcpy(sh->cwd0, sh->cwd, sizeof(sh->cwd0));
	return fdio_write_all(sh->in, mark, sizeof(mark) - 1);
}

/*
 * Read more reports.  Returns 1 (got bytes), 0 (EOF: the shell is gone),
 * -3 (fd readable, or hupfd hung up), -4 (timeout), -5 (interrupted by a
 * signal).
 */
static int
fill(struct shell *sh, int fd, int hupfd, int timeout_ms)
{
	struct pollfd	 pfd[3];
	char		 chunk[4096];
	ssize_t		 n;
	int		 r;

	pfd[0].fd = sh->rep;
	pfd[0].events = POLLIN;
	pfd[1].fd = fd;
	pfd[1].events = POLLIN;
	pfd[2].fd = hupfd;
	pfd[2].events = 0;
	pfd[1].revents = pfd[2].revents = 0;
	/* a descriptor of -1 is left out by poll */
	r = poll(pfd, 3, timeout_ms);
	if (r == -1)
		return errno == EINTR ? -5 : 0;
	if (r == 0)
		return -4;
	if (!(pfd[0].revents & (POLLIN | POLLHUP)) &&
	    ((pfd[1].revents & (POLLIN | POLLHUP)) ||
	    (pfd[2].revents & (POLLERR | POLLHUP))))
		return -3;
	if ((n = read(sh->rep, chunk, sizeof(chunk))) == -1)
		return errno == EINTR ? -5 : 0;
	if (n == 0)
		return 0;
	return buf_add(&sh->rbuf, chunk, (size_t)n) == -1 ? 0 : 1;
}

/* Take n bytes off the front of the report buffer. */
static void
consume(struct shell *sh, size_t n)
{
	memmove(sh->rbuf.s, sh->rbuf.s + n, sh->rbuf.len - n);
	sh->rbuf.len -= n;
	sh->rbuf.s[sh->rbuf.len] = '\0';
}

/*
 * Reap the shell once its reports ended.  It exits by itself (exit N in an
 * init line, end of its input), else it gets TERM after STOP_MS and KILL
 * after as long again (an init line closed the report descriptor, say).
 * Returns its exit status, or 128 + signal.
 */
static int
reap(struct shell *sh)
{
	int	 st;

	if (sh->pid <= 0)
		return 1;
	if (fdio_reap(sh->pid, -sh->pid, STOP_MS, 2 * STOP_MS, &st) == -1)
		st = 1 << 8;
	tell_watcher(sh, WATCH_NOSHELL);
	/* what an init line left running in the shell's process group */
	kill(-sh->pid, SIGTERM);
	kill(-sh->pid, SIGCONT);
	sh->pid = 0;
	return fdio_exit_code(st);
}

static char *
take_str(struct shell *sh, size_t *at)
{
	char	*s = sh->rbuf.s + *at, *v;
	size_t	 n = strlen(s);

	*at += n + 1;
	if (n == 0)
		return NULL;
	if ((v = strdup(s)) == NULL)
		return NULL;
	return v;
}

int
shell_init(struct shell *sh, const char *text, size_t line,
    struct shell_vars *vars, int *exitst)
{
	struct buf	 b = BUF_INIT;
	const char	*nl;
	size_t		 at, nul;
	int		 r, st, killed = 0;

	memset(vars, 0, sizeof(*vars));
	buf_adds(&b, "__rtq_t=");
	shquote(&b, text);
	buf_printf(&b, "; builtin eval \" $__rtq_t\" </dev/null; "
	    "__rtq_done $? %zu\n", line);
	r = b.s == NULL ? -1 : fdio_write_all(sh->in, b.s, b.len);
	buf_free(&b);
	if (r == -1)
		goto gone;
	for (;;) {
		/* "init ST\n" and four NUL-terminated strings */
		if (sh->rbuf.len > 0 && (nl = memchr(sh->rbuf.s, '\n',
		    sh->rbuf.len)) != NULL) {
			at = (size_t)(nl - sh->rbuf.s) + 1;
			for (nul = 0; at < sh->rbuf.len && nul < 4; at++)
				nul += sh->rbuf.s[at] == '\0';
			if (nul == 4)
				break;
		}
		if ((r = fill(sh, -1, -1, -1)) == 0)
			goto gone;
		if (r == -5 && sh->stop != NULL && *sh->stop && !killed) {
			/* the init line runs in the shell itself */
			kill(-sh->pid, SIGTERM);
			kill(-sh->pid, SIGCONT);
			killed = 1;
		}
	}
	if (sscanf(sh->rbuf.s, "init %d", &st) != 1)
		goto gone;
	at = (size_t)(memchr(sh->rbuf.s, '\n', sh->rbuf.len) -
	    (void *)sh->rbuf.s) + 1;
	vars->newtask = take_str(sh, &at);
	vars->newid = take_str(sh, &at);
	vars->jumpto = take_str(sh, &at);
	nl = sh->rbuf.s + at;
	snprintf(sh->cwd, sizeof(sh->cwd), "%s", nl);
	at += strlen(nl) + 1;
	consume(sh, at);
	return st;
gone:
	*exitst = reap(sh);
	return -1;
}

int
shell_has_snap(struct shell *sh, size_t line, const char *text)
{
	char	 path[4200], *buf;
	size_t	 n = strlen(text);
	ssize_t	 got;
	int	 fd, same;

	snprintf(path, sizeof(path), "%s/text.%zu", sh->dir, line);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	if ((buf = malloc(n + 1)) == NULL) {
		close(fd);
		return 0;
	}
	/* the file was edited since: the line may be another init line */
	got = read(fd, buf, n + 1);
	same = got == (ssize_t)n && memcmp(buf, text, n) == 0;
	free(buf);
	close(fd);
	snprintf(path, sizeof(path), "%s/snap.%zu", sh->dir, line);
	return same && access(path, R_OK) == 0;
}

int
shell_task_start(struct shell *sh, const char *text, size_t env,
    const char *prelude, const char *log)
{
	struct buf	 b = BUF_INIT;
	char		 path[4200] = "", *nl;
	size_t		 at;
	int		 r;

	if (env == SHELL_ENV_START)
		prelude = "";
	if (env != SHELL_ENV_NOW && prelude != NULL &&
	    shell_has_snap(sh, env, prelude))
		snprintf(path, sizeof(path), "%s/snap.%zu", sh->dir, env);
	sh->prelude = -1;
	buf_adds(&b, "__rtq_t=");
	shquote(&b, text);
	buf_adds(&b, "; __rtq_s=");
	shquote(&b, path);
	buf_adds(&b, "; __rtq_p=");
	shquote(&b, path[0] == '\0' && env != SHELL_ENV_NOW &&
	    prelude != NULL ? prelude : "");
	buf_adds(&b, "; __rtq_l=");
	shquote(&b, log != NULL ? log : "");
	buf_adds(&b, "; __rtq_run\n");
	r = b.s == NULL ? -1 : fdio_write_all(sh->in, b.s, b.len);
	buf_free(&b);
	if (r == -1)
		return -1;
	/*
	 * "pid N" from the shell; a failing prelude's report, from the
	 * subshell, may come before it: it is left for shell_task_wait.
	 */
	for (at = 0;;) {
		while (at < sh->rbuf.len && (nl = memchr(sh->rbuf.s + at, '\n',
		    sh->rbuf.len - at)) != NULL) {
			char	*l = sh->rbuf.s + at;
			size_t	 n = (size_t)(nl - l) + 1;
			int	 pid;

			if (sscanf(l, "pid %d", &pid) == 1) {
				sh->task = pid;
				tell_watcher(sh, sh->task);
				memmove(l, l + n, sh->rbuf.len - at - n);
				sh->rbuf.len -= n;
				sh->rbuf.s[sh->rbuf.len] = '\0';
				return 0;
			}
			if (strncmp(l, "prelude ", 8) != 0)
				return -1;
			at += n;
		}
		if ((r = fill(sh, -1, -1, -1)) == 0)
			return -1;
	}
}

int
shell_task_wait(struct shell *sh, int fd, int hupfd, int timeout_ms)
{
	const char	*nl;
	int		 r, st;

	for (;;) {
		while (sh->rbuf.len > 0 && (nl = memchr(sh->rbuf.s, '\n',
		    sh->rbuf.len)) != NULL) {
			/* kept in sh: a wait that times out comes back */
			if (sscanf(sh->rbuf.s, "prelude %d", &st) == 1)
				sh->prelude = st;
			else if (sscanf(sh->rbuf.s, "exit %d", &st) == 1) {
				consume(sh, (size_t)(nl - sh->rbuf.s) + 1);
				sh->task = 0;
				tell_watcher(sh, WATCH_IDLE);
				return sh->prelude >= 0 ? 256 + sh->prelude :
				    st;
			}
			consume(sh, (size_t)(nl - sh->rbuf.s) + 1);
		}
		r = fill(sh, fd, hupfd, timeout_ms);
		if (r == 0) {
			/* nobody is left to wait for the task: end it */
			shell_task_kill(sh, SIGKILL);
			sh->task = 0;
			tell_watcher(sh, WATCH_IDLE);
			return -1;
		}
		if (r == -3 || r == -4)
			return r;
	}
}

void
shell_task_kill(struct shell *sh, int sig)
{
	if (sh->task > 1)
		kill(-sh->task, sig);
}

void
shell_stop(struct shell *sh)
{
	int	 st;

	if (sh->in != -1)
		close(sh->in);
	sh->in = -1;
	if (sh->pid > 0)
		reap(sh);
	if (sh->rep != -1)
		close(sh->rep);
	sh->rep = -1;
	tell_watcher(sh, WATCH_AWAY);
	if (sh->wfd != -1)
		close(sh->wfd);
	sh->wfd = -1;
	if (sh->watch > 0) {
		/* it exits at once on WATCH_AWAY, or at end of file */
		(void)fdio_reap(sh->watch, sh->watch, 0, STOP_MS, &st);
		sh->watch = 0;
	}
	forget_snaps(sh);
	if (sh->dir[0] != '\0') {
		rmdir(sh->dir);
		sh->dir[0] = '\0';
	}
	buf_free(&sh->rbuf);
}

void
shell_vars_free(struct shell_vars *v)
{
	free(v->newtask);
	free(v->newid);
	free(v->jumpto);
	memset(v, 0, sizeof(*v));
}
