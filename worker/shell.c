/*
 * shell: the worker's long-lived bash.  The design is in shell.h.
 */
#define _DEFAULT_SOURCE
#include <sys/wait.h>

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

/* Defined once in the shell; fd 3 is the report pipe. */
static const char bootstrap[] =
    "__rtq_snap() {\n"
    "  local __l __f __n\n"
    "  while IFS= read -r __l; do\n"
    "    case $__l in declare\\ -*)\n"
    "      __f=${__l#declare -}; __n=${__f#* }; __f=${__f%% *}\n"
    "      __n=${__n%%=*}\n"
    "      case $__f in *r*) continue;; esac\n"
    "      case $__n in BASH*|FUNCNAME|GROUPS|DIRSTACK|PIPESTATUS|LINENO|"
    "RANDOM|SRANDOM|SECONDS|EPOCH*|HISTCMD|PPID|UID|EUID|SHELLOPTS|"
    "COMP_WORDBREAKS|_|PWD|OLDPWD|__rtq_*) continue;; esac;;\n"
    "    esac\n"
    "    printf '%s\\n' \"$__l\"\n"
    "  done < <(declare -p)\n"
    "  declare -f\n"
    "  printf 'cd -- %q\\n' \"$PWD\"\n"
    "}\n"
    "__rtq_done() {\n"
    "  printf '%s' \"$__rtq_t\" >\"$__rtq_dir/text.$2\"\n"
    "  unset __rtq_t\n"
    "  __rtq_snap >\"$__rtq_dir/snap.$2\" 2>/dev/null\n"
    "  printf 'init %d\\n%s\\0%s\\0%s\\0%s\\0' \"$1\" \"${newtask-}\" "
    "\"${newid-}\" \"${jumpto-}\" \"$PWD\" >&3\n"
    "  unset newtask newid jumpto\n"
    "}\n";

int
shell_start(struct shell *sh, char *err, size_t errlen)
{
	const char	*prog = getenv("RTQ_SHELL"), *tmp;
	int		 in[2], rep[2];
	struct buf	 b = BUF_INIT;

	volatile sig_atomic_t *stop = sh->stop;
	int		 out_fd = sh->out_fd;

	memset(sh, 0, sizeof(*sh));
	sh->out_fd = out_fd;
	sh->stop = stop;
	sh->in = sh->rep = -1;
	if (prog == NULL || *prog == '\0')
		prog = "bash";
	if (getcwd(sh->cwd, sizeof(sh->cwd)) == NULL)
		sh->cwd[0] = '\0';
	tmp = fdio_tmpdir();
	if ((size_t)snprintf(sh->dir, sizeof(sh->dir), "%s/rtq-shell.XXXXXX",
	    tmp) >= sizeof(sh->dir) || mkdtemp(sh->dir) == NULL) {
		snprintf(err, errlen, "cannot make a temporary directory in "
		    "%s: %s", tmp, strerror(errno));
		sh->dir[0] = '\0';
		return -1;
	}
	if (pipe(in) == -1 || pipe(rep) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((sh->pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (sh->pid == 0) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGPIPE, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		setpgid(0, 0);
		if (sh->out_fd > 2) {
			/* -j N: tasks' output on a pipe of its own */
			dup2(sh->out_fd, 1);
			dup2(sh->out_fd, 2);
			close(sh->out_fd);
		}
		dup2(in[0], 0);
		if (rep[1] != 3) {
			dup2(rep[1], 3);
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
	setpgid(sh->pid, sh->pid);
	close(in[0]);
	close(rep[1]);
	sh->in = in[1];
	sh->rep = rep[0];
	fcntl(sh->in, F_SETFD, FD_CLOEXEC);
	fcntl(sh->rep, F_SETFD, FD_CLOEXEC);
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
}

int
shell_export(struct shell *sh, const char *name, const char *value)
{
	struct buf	 b = BUF_INIT;
	int		 r;

	buf_printf(&b, "export %s=", name);
	shquote(&b, value);
	buf_addc(&b, '\n');
	r = b.s == NULL ? -1 : fdio_write_all(sh->in, b.s, b.len);
	buf_free(&b);
	return r;
}

/*
 * Read more reports.  Returns 1 (got bytes), 0 (EOF: the shell is gone),
 * -3 (fd readable), -4 (timeout), -5 (interrupted by a signal).
 */
static int
fill(struct shell *sh, int fd, int timeout_ms)
{
	struct pollfd	 pfd[2];
	char		 chunk[4096];
	ssize_t		 n;
	int		 r;

	pfd[0].fd = sh->rep;
	pfd[0].events = POLLIN;
	pfd[1].fd = fd;
	pfd[1].events = POLLIN;
	r = poll(pfd, fd == -1 ? 1 : 2, timeout_ms);
	if (r == -1)
		return errno == EINTR ? -5 : 0;
	if (r == 0)
		return -4;
	if (fd != -1 && (pfd[1].revents & (POLLIN | POLLHUP)) &&
	    !(pfd[0].revents & (POLLIN | POLLHUP)))
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

/* Reap the shell after EOF; its exit status, or 128+signal. */
static int
reap(struct shell *sh)
{
	int	 st;

	if (sh->pid <= 0)
		return 1;
	while (waitpid(sh->pid, &st, 0) == -1)
		if (errno != EINTR)
			return 1;
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
	buf_printf(&b, "; eval \" $__rtq_t\" </dev/null; __rtq_done $? %zu\n",
	    line);
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
		if ((r = fill(sh, -1, -1)) == 0)
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
shell_task_start(struct shell *sh, const char *text, size_t snap_line,
    const char *prelude, const char *log)
{
	struct buf	 b = BUF_INIT;
	char		 path[4200] = "";
	const char	*nl;
	int		 r;

	if (snap_line > 0 && prelude != NULL &&
	    shell_has_snap(sh, snap_line, prelude))
		snprintf(path, sizeof(path), "%s/snap.%zu", sh->dir, snap_line);
	else if (prelude == NULL)
		path[0] = '\0';
	buf_adds(&b, "__rtq_t=");
	shquote(&b, text);
	buf_adds(&b, "; __rtq_s=");
	shquote(&b, path);
	buf_adds(&b, "; __rtq_p=");
	shquote(&b, path[0] == '\0' && prelude != NULL ? prelude : "");
	buf_adds(&b, "; __rtq_l=");
	shquote(&b, log != NULL ? log : "");
	buf_adds(&b, "; set -m; ( __rtq_X=$__rtq_t; trap - INT TERM HUP; "
	    "if [ -n \"$__rtq_l\" ]; then exec > >(tee -a -- \"$__rtq_l\") "
	    "2> >(tee -a -- \"$__rtq_l\" >&2); "
	    "trap 'exec >&- 2>&-; wait' EXIT; fi; "
	    "if [ -n \"$__rtq_s\" ]; then . \"$__rtq_s\" 2>/dev/null; "
	    "elif [ -n \"$__rtq_p\" ]; then eval \" $__rtq_p\" || "
	    "{ printf 'prelude %d\\n' $? >&3; exit 1; }; fi; "
	    "exec 3>&-; unset __rtq_s __rtq_p __rtq_t; "
	    "eval \" $__rtq_X\" ) "
	    "</dev/null & set +m; printf 'pid %d\\n' $! >&3; wait $! 2>/dev/null; "
	    "printf 'exit %d\\n' $? >&3\n");
	r = b.s == NULL ? -1 : fdio_write_all(sh->in, b.s, b.len);
	buf_free(&b);
	if (r == -1)
		return -1;
	for (;;) {
		if (sh->rbuf.len > 0 && (nl = memchr(sh->rbuf.s, '\n',
		    sh->rbuf.len)) != NULL) {
			int pid;

			if (sscanf(sh->rbuf.s, "pid %d", &pid) != 1)
				return -1;
			sh->task = pid;
			consume(sh, (size_t)(nl - sh->rbuf.s) + 1);
			return 0;
		}
		if ((r = fill(sh, -1, -1)) == 0)
			return -1;
	}
}

int
shell_task_wait(struct shell *sh, int fd, int timeout_ms)
{
	const char	*nl;
	int		 r, st, prelude = -1;

	for (;;) {
		while (sh->rbuf.len > 0 && (nl = memchr(sh->rbuf.s, '\n',
		    sh->rbuf.len)) != NULL) {
			if (sscanf(sh->rbuf.s, "prelude %d", &st) == 1)
				prelude = st;
			else if (sscanf(sh->rbuf.s, "exit %d", &st) == 1) {
				consume(sh, (size_t)(nl - sh->rbuf.s) + 1);
				sh->task = 0;
				return prelude >= 0 ? 256 + prelude : st;
			}
			consume(sh, (size_t)(nl - sh->rbuf.s) + 1);
		}
		r = fill(sh, fd, timeout_ms);
		if (r == 0) {
			sh->task = 0;
			return -1;
		}
		if (r == -3 || r == -4)
			return r;
	}
}

void
shell_task_kill(struct shell *sh, int sig)
{
	if (sh->task > 0)
		kill(-sh->task, sig);
}

void
shell_stop(struct shell *sh)
{
	char	 path[4400];

	if (sh->in != -1)
		close(sh->in);
	sh->in = -1;
	if (sh->pid > 0) {
		kill(-sh->pid, SIGTERM);
		reap(sh);
	}
	if (sh->rep != -1)
		close(sh->rep);
	sh->rep = -1;
	if (sh->dir[0] != '\0') {
		DIR		*d;
		struct dirent	*e;

		if ((d = opendir(sh->dir)) != NULL) {
			while ((e = readdir(d)) != NULL) {
				if (strncmp(e->d_name, "snap.", 5) != 0 &&
				    strncmp(e->d_name, "text.", 5) != 0)
					continue;
				if ((size_t)snprintf(path, sizeof(path), "%s/%s",
				    sh->dir, e->d_name) < sizeof(path))
					unlink(path);
			}
			closedir(d);
		}
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
