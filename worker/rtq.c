/*
 * rtq: the worker.  Registers with a task file (on a master over ssh, or a
 * local one), then asks rtq-claim for work, runs it in its own shell and
 * reports how it ended, until told to stop.  See rtq(1).
 *
 * The loop keeps three things: the worker id, its position (the line of the
 * last item it got) and the previous item's result, which travels with the
 * next request, so a claim costs one exchange.  Signals only set flags and
 * write to a self-pipe; the waits poll that pipe:
 *
 *	SIGINT		let the running task finish, report it, exit 0;
 *	2nd SIGINT,	TERM the task's process group (KILL after a grace
 *	SIGTERM, SIGHUP	period), report it as failed so another worker
 *			takes it, exit 130/143.
 */
#define _DEFAULT_SOURCE
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"
#include "shell.h"
#include "shquote.h"
#include "edit.h"
#include "taskfile.h"
#include "transport.h"
#include "version.h"

#include "worker.h"

volatile sig_atomic_t got_int, got_hard, hard_sig, got_any;
int selfpipe[2] = { -1, -1 };
static int slotted;			/* a slot of -j N > 1 */
static const char *progname = "rtq";
static const char *self;		/* argv[0]: rtq-claim may be beside it */

static const struct option longopts[] = {
	{ "add", no_argument, NULL, 'A' },
	{ "edit", no_argument, NULL, 'e' },
	{ "exit-when-done", no_argument, NULL, 'x' },
	{ "failed", no_argument, NULL, 'F' },
	{ "help", no_argument, NULL, 'h' },
	{ "id", required_argument, NULL, 'i' },
	{ "install-master", required_argument, NULL, 'I' },
	{ "json", no_argument, NULL, 'J' },
	{ "lease", required_argument, NULL, 'E' },
	{ "lock", no_argument, NULL, 'L' },
	{ "log-dir", required_argument, NULL, 'D' },
	{ "master", required_argument, NULL, 'm' },
	{ "name", required_argument, NULL, 'n' },
	{ "poll", required_argument, NULL, 'P' },
	{ "reset", no_argument, NULL, 'R' },
	{ "slots", required_argument, NULL, 'j' },
	{ "status", no_argument, NULL, 'S' },
	{ "timeout", required_argument, NULL, 'T' },
	{ "version", no_argument, NULL, 'V' },
	{ "watch", no_argument, NULL, 'W' },
	{ NULL, 0, NULL, 0 }
};

static const char usage_text[] =
"usage: rtq [options] [[user@]host:]TASKFILE\n"
"  -m, --master HOST     master to reach over ssh (env MASTER_SERVER);\n"
"                        none: local mode, the file is on this machine\n"
"  -n, --name NAME       worker name (env WORKER_NAME; default: host name\n"
"                        and addresses)\n"
"  -i, --id ID           worker id to register with\n"
"  -x, --exit-when-done  exit 0 when nothing is left this worker could run\n"
"  -j, --slots N         run N workers in this process, each with its own id\n"
"                        and shell; each task sees RTQ_SLOT (0..N-1)\n"
"      --poll SECONDS    wait between polls when nothing is claimable (3)\n"
"      --timeout DURATION  stop a task running longer (90s, 2h; #timeout=\n"
"                        DURATION in a line's comment overrides); status 124\n"
"      --log-dir DIR     also save each task's output in DIR, as\n"
"                        <task file>.<line>.<worker id>.log\n"
"      --lease SECONDS   declared lost when not heard from this long (120);\n"
"                        heartbeats go every SECONDS/4 while a task runs\n"
"      --add [COMMAND]   append COMMAND, or one task per line of standard\n"
"                        input, to the task file (under its lock)\n"
"      --edit            edit the task file in $VISUAL/$EDITOR while workers\n"
"                        run; claims made meanwhile are kept\n"
"      --lock            hold the task file's lock until Ctrl-C\n"
"      --install-master HOST[:DIR]\n"
"                        copy rtq-claim to HOST's ~/.local/bin (or DIR)\n"
"      --reset [K]       reset the file (from line K on)\n"
"      --failed          with --reset: only failed and lost tasks\n"
"      --status          print the file's state: counts, workers, failures\n"
"      --json            with --status: one JSON document\n"
"      --watch [SECONDS] with --status: redraw every SECONDS (2)\n"
"  -h, --help            this help\n"
"      --version         print the version\n"
"TASKFILE comes from TASK_FILE when not given.\n";

void
usage_exit(const char *msg)
{
	if (msg != NULL)
		fprintf(stderr, "%s: %s\n", progname, msg);
	fputs(usage_text, stderr);
	exit(2);
}

void
say(const char *fmt, ...)
{
	va_list	 ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
on_signal(int sig)
{
	int	 e = errno;
	char	 c = 1;

	got_any = sig;
	if (sig == SIGINT && !got_int && !got_hard)
		got_int = 1;
	else {
		got_hard = 1;
		hard_sig = sig;
	}
	if (selfpipe[1] != -1 && write(selfpipe[1], &c, 1) == -1)
		(void)0;
	errno = e;
}

void
drain_selfpipe(void)
{
	char	 buf[64];

	while (read(selfpipe[0], buf, sizeof(buf)) > 0)
		;
}

int
stop_code(void)
{
	return hard_sig == SIGINT ? 130 : hard_sig == SIGHUP ? 129 : 143;
}

double
now_sec(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Sleep up to ms, waking for a signal.  Returns 1 when asked to stop (any
 * stop, or only a hard one when hard_only).
 */
static int
nap_until(int ms, int hard_only)
{
	struct pollfd	 pfd;
	double		 end = now_sec() + ms / 1000.0;

	pfd.fd = selfpipe[0];
	pfd.events = POLLIN;
	for (;;) {
		if (got_hard || (!hard_only && got_int))
			return 1;
		ms = (int)((end - now_sec()) * 1000);
		if (ms <= 0)
			return 0;
		if (poll(&pfd, 1, ms) > 0)
			drain_selfpipe();
	}
}

int
nap(int ms)
{
	return nap_until(ms, 0);
}

/* The shell's directory for banners, with the home directory as ~. */
static const char *
show_dir(const struct worker *w, char *out, size_t len)
{
	const char	*home = getenv("HOME"), *d = w->sh.cwd;
	size_t		 n;

	if (*d == '\0')
		d = ".";
	if (home != NULL && (n = strlen(home)) > 1 &&
	    strncmp(d, home, n) == 0 && (d[n] == '/' || d[n] == '\0'))
		snprintf(out, len, "~%s", d + n);
	else
		snprintf(out, len, "%s", d);
	return out;
}


/*
 * One request with retries: ssh failures and a busy or full master are
 * retried with backoff, said once per failure on stderr.  Returns TP_OK,
 * TP_FATAL, TP_SOFT, or TP_RETRY when a signal asked us to stop.
 */
int
call(struct worker *w, const char *sub, const char *const *words, int n,
    struct tp_reply *r)
{
	/* a result in hand is worth waiting for after a first Ctrl-C */
	int	 must = w->has_prev && !w->prev_init &&
	    (strcmp(sub, "next") == 0 || strcmp(sub, "finish") == 0);
	char	 err[2048];
	int	 rv, delay = 1, told = 0;

	for (;;) {
		rv = tp_call(&w->tp, sub, words, n, r, err, sizeof(err));
		if (rv == TP_OK)
			return rv;
		if (rv == TP_FATAL || rv == TP_SOFT) {
			say("%s", err);
			return rv;
		}
		say("%s; retrying in %d s", err, delay);
		tp_reply_free(r);
		/*
		 * Jitter, so that workers refused together spread out.  With
		 * a result in hand, a first Ctrl-C does not end the wait.
		 */
		if (got_int && !got_hard && must && !told) {
			say("Ctrl-C: still trying to report line %zu (Ctrl-C "
			    "again to give up)", w->prev_line);
			told = 1;
		}
		if (nap_until(delay * 500 + (int)(random() % (delay * 1000)),
		    must))
			return TP_RETRY;
		if (delay < BACKOFF_MAX)
			delay *= 2;
	}
}

static void
default_name(char *out, size_t len)
{
	struct ifaddrs	*ifa, *i;
	char		 host[256], addr[INET_ADDRSTRLEN];
	size_t		 n;

	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	snprintf(out, len, "%s", host);
	if (getifaddrs(&ifa) == -1)
		return;
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
			continue;
		if (inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)
		    i->ifa_addr)->sin_addr, addr, sizeof(addr)) == NULL ||
		    strncmp(addr, "127.", 4) == 0)
			continue;
		n = strlen(out);
		snprintf(out + n, len - n, " %s", addr);
	}
	freeifaddrs(ifa);
}

/*
 * This program's path, for finding rtq-claim beside it: /proc/self/exe
 * where there is one, else argv[0] as given, else argv[0] found on PATH.
 */
static const char *
self_path(const char *argv0)
{
	static char	 path[PATH_MAX];
	const char	*p, *e;
	ssize_t		 n;
	size_t		 len;

	if ((n = readlink("/proc/self/exe", path, sizeof(path) - 1)) > 0) {
		path[n] = '\0';
		return path;
	}
	if (strchr(argv0, '/') != NULL || (p = getenv("PATH")) == NULL)
		return argv0;
	for (; *p != '\0'; p = *e ? e + 1 : e) {
		e = strchr(p, ':');
		if (e == NULL)
			e = p + strlen(p);
		len = (size_t)(e - p);
		if ((size_t)snprintf(path, sizeof(path), "%.*s/%s", (int)len,
		    p, argv0) < sizeof(path) && access(path, X_OK) == 0)
			return path;
	}
	return argv0;
}

/* Split "[user@]host:path" (a ':' before any '/'); else host stays. */
static void
split_target(const char *arg, char **host, char **file)
{
	const char	*colon = strchr(arg, ':'), *slash = strchr(arg, '/');

	if (colon != NULL && colon != arg && (slash == NULL || colon < slash)) {
		*host = strndup(arg, (size_t)(colon - arg));
		*file = strdup(colon + 1);
	} else
		*file = strdup(arg);
}

/* Local mode: a relative path is relative to where rtq was started. */
char *
local_path(const char *file)
{
	char	 cwd[PATH_MAX], *p;

	if (file[0] == '/' || file[0] == '~' ||
	    getcwd(cwd, sizeof(cwd)) == NULL)
		return strdup(file);
	if ((p = malloc(strlen(cwd) + strlen(file) + 2)) == NULL)
		return NULL;
	sprintf(p, "%s/%s", cwd, file);
	return p;
}

static int
do_register(struct worker *w, long want)
{
	struct tp_reply	 r;
	char		 idw[32], name[1024];
	const char	*words[2];
	int		 rv;

	if (w->o->name != NULL)
		snprintf(name, sizeof(name), "%s", w->o->name);
	else
		default_name(name, sizeof(name));
	name[strcspn(name, "\r\n")] = '\0';
	if (want >= 0)
		snprintf(idw, sizeof(idw), "%ld", want);
	else
		snprintf(idw, sizeof(idw), "-");
	words[0] = idw;
	words[1] = name;
	if ((rv = call(w, "register", words, 2, &r)) != TP_OK)
		return -1;
	if (r.h.kind != PROTO_ID) {
		say("unexpected reply to register from %s", w->where);
		tp_reply_free(&r);
		return -1;
	}
	w->id = r.h.id;
	w->pos = 0;
	w->has_prev = 0;
	tp_reply_free(&r);
	return 0;
}

static void
set_prev(struct worker *w, int init, size_t line, int status, const char *t)
{
	free(w->prev_text);
	w->prev_text = strdup(t);
	w->has_prev = w->prev_text != NULL;
	w->prev_init = init;
	w->prev_line = line;
	w->prev_status = status;
}

/* The status word of the previous item: "N", "N,log=PATH", "release". */
static void
status_word(const struct worker *w, char *out, size_t len)
{
	if (w->prev_status == CLAIM_RELEASE_WORD)
		snprintf(out, len, "release");
	else if (w->prev_status != 0 && w->prev_log[0] != '\0' &&
	    strpbrk(w->prev_log, " \t\r\n") == NULL &&
	    (size_t)snprintf(out, len, "%d,log=%s", w->prev_status,
	    w->prev_log) < len)
		return;
	else
		snprintf(out, len, "%d", w->prev_status);
}

/* Report the previous item alone (when leaving). */
static void
report_prev(struct worker *w)
{
	struct tp_reply	 r;
	char		 idw[32], linew[32], stw[4200];
	const char	*words[5];

	if (!w->has_prev || w->prev_init)
		return;
	snprintf(idw, sizeof(idw), "%ld/%lld", w->id, ++w->seq);
	snprintf(linew, sizeof(linew), "%zu", w->prev_line);
	status_word(w, stw, sizeof(stw));
	words[0] = idw;
	words[1] = "task";
	words[2] = linew;
	words[3] = stw;
	words[4] = w->prev_text;
	got_hard = 0;	/* the report must get through */
	if (call(w, "finish", words, 5, &r) == TP_OK)
		w->has_prev = 0;
	tp_reply_free(&r);
}

/*
 * Tell the master we are alive (and our lease).  Returns 1 when it says we
 * were declared lost, 0 otherwise (a failed heartbeat is tried again at
 * the next one, never waited for).
 */
static int
heartbeat(struct worker *w)
{
	struct tp_reply	 r;
	char		 idw[32], leasew[32], err[1024];
	const char	*words[2];
	int		 lost = 0;

	snprintf(idw, sizeof(idw), "%ld", w->id);
	snprintf(leasew, sizeof(leasew), "%ld", w->o->lease);
	words[0] = idw;
	words[1] = leasew;
	if (tp_call(&w->tp, "heartbeat", words, 2, &r, err, sizeof(err)) ==
	    TP_OK)
		lost = r.h.kind == PROTO_LOST;
	tp_reply_free(&r);
	return lost;
}

/* Leaving: the master forgets our lease. */
static void
goodbye(struct worker *w)
{
	struct tp_reply	 r;
	char		 idw[32], err[1024];
	const char	*words[1];

	if (w->id < 0)
		return;
	snprintf(idw, sizeof(idw), "%ld", w->id);
	words[0] = idw;
	tp_call(&w->tp, "bye", words, 1, &r, err, sizeof(err));
	tp_reply_free(&r);
}

static void
say_lost(struct worker *w)
{
	say("the master declared worker %ld lost (not heard from for more "
	    "than %ld s): its task went to another worker", w->id,
	    w->o->lease);
}

static int
export_env(struct worker *w)
{
	char	 idw[32];

	snprintf(idw, sizeof(idw), "%ld", w->id);
	if (shell_export(&w->sh, "WORKERID", idw) == -1 ||
	    shell_export(&w->sh, "TASKFILE", w->tp.file) == -1)
		return -1;
	setenv("WORKERID", idw, 1);
	setenv("TASKFILE", w->tp.file, 1);
	return 0;
}

/* Run a task; returns its status, 256+N when its init prelude failed. */
static int
run_task(struct worker *w, size_t line, const char *text, size_t init_line,
    const char *init_text)
{
	double	 t0 = now_sec(), kill_at = 0, beat_every, beat_at;
	double	 limit, line_limit;
	char	 log[4096];
	char	 dir[4200];
	int	 st, killed = 0, lost = 0, timed_out = 0;
	pid_t	 pg;

	beat_every = w->o->lease / 4.0;
	beat_at = t0 + beat_every;
	limit = w->o->timeout;
	if (tf_timeout(text, strlen(text), &line_limit) == 1)
		limit = line_limit;

	log[0] = '\0';
	if (w->o->logdir != NULL) {
		const char *base = strrchr(w->tp.file, '/');

		base = base != NULL ? base + 1 : w->tp.file;
		if ((size_t)snprintf(log, sizeof(log), "%s/%s.%zu.%ld.log",
		    w->o->logdir, base, line, w->id) >= sizeof(log))
			log[0] = '\0';
	}
	if (init_line > 0)
		printf("[rtq %ld] line %zu (in the environment of line %zu) "
		    "$ %s\n", w->id, line, init_line, text);
	else
		printf("[rtq %ld] %s:%zu $ %s\n", w->id,
		    show_dir(w, dir, sizeof(dir)), line, text);
	if (log[0] != '\0') {
		printf("[rtq %ld] log: %s\n", w->id, log);
		if (truncate(log, 0) == -1 && errno != ENOENT)
			say("%s: %s", log, strerror(errno));
	}
	fflush(stdout);
	snprintf(w->prev_log, sizeof(w->prev_log), "%s", log);
	if (shell_task_start(&w->sh, text, init_line, init_text,
	    log[0] ? log : NULL) == -1)
		return -1;
	pg = w->sh.task;
	for (;;) {
		int timeout = -1;

		if (got_hard && !killed) {
			say("stopping the task on line %zu", line);
			shell_task_kill(&w->sh, SIGTERM);
			shell_task_kill(&w->sh, SIGCONT);
			killed = 1;
			kill_at = now_sec() + GRACE_MS / 1000.0;
		}
		if (!killed && limit > 0 && now_sec() - t0 >= limit) {
			say("line %zu ran longer than %gs: stopping it", line,
			    limit);
			timed_out = 1;
			shell_task_kill(&w->sh, SIGTERM);
			shell_task_kill(&w->sh, SIGCONT);
			killed = 1;
			kill_at = now_sec() + GRACE_MS / 1000.0;
		}
		if (!killed && !lost && now_sec() >= beat_at) {
			if (heartbeat(w)) {
				say_lost(w);
				say("stopping the task on line %zu", line);
				lost = 1;
				shell_task_kill(&w->sh, SIGTERM);
				shell_task_kill(&w->sh, SIGCONT);
				killed = 1;
				kill_at = now_sec() + GRACE_MS / 1000.0;
			}
			beat_at = now_sec() + beat_every;
		}
		if (killed)
			timeout = (int)((kill_at - now_sec()) * 1000);
		else {
			double next = beat_at;

			if (limit > 0 && t0 + limit < next)
				next = t0 + limit;
			timeout = (int)((next - now_sec()) * 1000) + 1;
		}
		if (killed && timeout <= 0) {
			shell_task_kill(&w->sh, SIGKILL);
			timeout = -1;
			kill_at = 1e18;
		}
		st = shell_task_wait(&w->sh, selfpipe[0], timeout);
		if (st == -3) {
			drain_selfpipe();
			if (got_int && !got_hard)
				say("Ctrl-C: finishing the task on line %zu, "
				    "then exiting (Ctrl-C again stops it now)",
				    line);
			continue;
		}
		if (st == -4)
			continue;
		break;
	}
	if (killed && pg > 0) {
		/*
		 * The task's shell ended on TERM; what it started in its
		 * process group may not have: KILL that after the grace.
		 */
		while (kill(-pg, 0) == 0 && now_sec() < kill_at)
			poll(NULL, 0, 50);
		kill(-pg, SIGKILL);
	}
	if (lost && st >= 0)
		return RUN_LOST;
	if (timed_out && st >= 0 && st < 256)
		st = 124;		/* as timeout(1) says it */
	if (st >= 0 && st < 256)
		printf("[rtq %ld] line %zu: %s%.0d after %.1fs\n", w->id, line,
		    st == 0 ? "ok" : "failed, status ", st,
		    now_sec() - t0);
	fflush(stdout);
	return st;
}

/* Switch to another task file (newtask/jumpto).  Returns 0 or -1. */
static int
switch_file(struct worker *w, const char *target, const char *newid)
{
	char	*host = NULL, *file = NULL, err[1024];
	long	 id = -1;
	int	 rv;

	if (newid != NULL && tf_parse_id(newid, strlen(newid), &id) == -1) {
		say("newid=\"%s\" is not a worker id", newid);
		return -1;
	}
	split_target(target, &host, &file);
	if (host == NULL && w->tp.host != NULL)
		host = strdup(w->tp.host);
	if (host == NULL) {
		char *abs = local_path(file);

		free(file);
		file = abs;
	}
	goodbye(w);
	tp_free(&w->tp);
	rv = tp_init(&w->tp, host, file, self, err, sizeof(err));
	free(host);
	free(file);
	if (rv == -1) {
		say("%s", err);
		return -1;
	}
	tp_where(&w->tp, w->where, sizeof(w->where));
	if (do_register(w, id) == -1)
		return -1;
	heartbeat(w);
	printf("[rtq %ld] now worker %ld of %s\n", w->id, w->id, w->where);
	fflush(stdout);
	return export_env(w);
}

/* Ask for work and run what comes; returns an exit code, or -1 to go on. */
static int
step(struct worker *w)
{
	struct tp_reply	 r;
	struct shell_vars v;
	char		 idw[32], posw[32], linew[32], stw[4200], dir[4200];
	const char	*words[6];
	int		 n = 2, rv, st, exitst = 0;

	if (got_int || got_hard) {		/* stop before claiming more */
		report_prev(w);
		return got_hard ? stop_code() : 0;
	}
	snprintf(idw, sizeof(idw), "%ld/%lld", w->id, ++w->seq);
	snprintf(posw, sizeof(posw), "%zu", w->pos);
	words[0] = idw;
	words[1] = posw;
	if (w->has_prev && !w->prev_init) {
		snprintf(linew, sizeof(linew), "%zu", w->prev_line);
		status_word(w, stw, sizeof(stw));
		words[2] = "task";
		words[3] = linew;
		words[4] = stw;
		words[5] = w->prev_text;
		n = 6;
	}
	rv = call(w, "next", words, n, &r);
	if (rv == TP_FATAL)
		return 1;
	if (rv == TP_RETRY)		/* stopped while retrying */
		return got_hard ? stop_code() : 0;
	if (rv == TP_SOFT) {
		tp_reply_free(&r);
		return nap((int)(w->o->poll * 1000)) ? (got_hard ?
		    stop_code() : 0) : -1;
	}
	w->has_prev = 0;
	if (r.h.kind == PROTO_LOST) {
		/* our last result was not taken: the task ran elsewhere */
		say_lost(w);
		tp_reply_free(&r);
		return -1;
	}
	if (strcmp(r.h.fin, "orphan") == 0)
		say("line %zu was gone from %s when its result came; an "
		    "orphan report records it at the end", w->prev_line,
		    w->where);
	if ((got_int || got_hard) && r.h.kind == PROTO_WORK && r.n > 0 &&
	    !r.init[r.n - 1]) {
		/* stopped while asking: give the new task back unrun */
		set_prev(w, 0, r.line[r.n - 1], CLAIM_RELEASE_WORD,
		    r.text[r.n - 1]);
		tp_reply_free(&r);
		report_prev(w);
		return got_hard ? stop_code() : 0;
	}
	if (r.h.kind == PROTO_NONE || r.h.kind == PROTO_WAIT) {
		int none = r.h.kind == PROTO_NONE;

		tp_reply_free(&r);
		if (none && w->o->xdone) {
			printf("[rtq %ld] nothing left to run in %s\n", w->id,
			    w->where);
			return 0;
		}
		if (nap((int)(w->o->poll * 1000)))
			return got_hard ? stop_code() : 0;
		return -1;
	}
	if (r.h.kind != PROTO_WORK || r.n == 0) {
		say("unexpected reply from rtq-claim for %s", w->where);
		tp_reply_free(&r);
		return 1;
	}
	if (r.n == 1 && r.init[0]) {
		/* an init line, in the worker's own shell */
		printf("[rtq %ld] %s:%zu #! %s\n", w->id,
		    show_dir(w, dir, sizeof(dir)), r.line[0], r.text[0]);
		fflush(stdout);
		st = shell_init(&w->sh, r.text[0], r.line[0], &v, &exitst);
		if (st == -1 && got_hard) {
			say("stopped during init line %zu", r.line[0]);
			tp_reply_free(&r);
			return stop_code();
		}
		if (st == -1) {
			printf("[rtq %ld] line %zu ended the worker (exit "
			    "%d)\n", w->id, r.line[0], exitst);
			tp_reply_free(&r);
			return exitst;
		}
		if (st != 0) {
			say("init line %zu of %s failed with status %d; "
			    "stopping: %s", r.line[0], w->where, st,
			    r.text[0]);
			tp_reply_free(&r);
			shell_vars_free(&v);
			return 1;
		}
		w->pos = r.h.pos;
		tp_reply_free(&r);
		if (v.jumpto != NULL || v.newtask != NULL) {
			char *target = v.jumpto ? v.jumpto : v.newtask;
			char *id = v.newid, own[32];

			snprintf(own, sizeof(own), "%ld", w->id);
			if (v.jumpto != NULL)
				id = own;

			st = switch_file(w, target, id);
			shell_vars_free(&v);
			return st == -1 ? 1 : -1;
		}
		shell_vars_free(&v);
		return -1;
	}
	{
		int	 k = r.n - 1;		/* the task is the last item */
		size_t	 init_line = r.n == 2 ? r.line[0] : 0;
		char	*init_text = r.n == 2 ? r.text[0] : NULL;

		st = run_task(w, r.line[k], r.text[k], init_line, init_text);
		if (st == RUN_LOST) {
			tp_reply_free(&r);
			return got_hard ? stop_code() : got_int ? 0 : -1;
		}
		if (st == -1) {
			say("the shell died while running line %zu",
			    r.line[k]);
			set_prev(w, 0, r.line[k], 1, r.text[k]);
			tp_reply_free(&r);
			report_prev(w);
			return 1;
		}
		if (st >= 256) {
			say("init line %zu of %s failed with status %d "
			    "before line %zu; releasing that task and "
			    "stopping", init_line, w->where, st - 256,
			    r.line[k]);
			set_prev(w, 0, r.line[k], CLAIM_RELEASE_WORD,
			    r.text[k]);
			tp_reply_free(&r);
			report_prev(w);
			return 1;
		}
		set_prev(w, 0, r.line[k], st, r.text[k]);
		w->pos = r.h.pos;
		tp_reply_free(&r);
	}
	if (got_hard) {
		report_prev(w);
		return stop_code();
	}
	if (got_int) {
		report_prev(w);
		return 0;
	}
	return -1;
}

static void
setup_signals(void)
{
	struct sigaction sa;

	if (pipe(selfpipe) == -1) {
		perror("rtq: pipe");
		exit(1);
	}
	fcntl(selfpipe[0], F_SETFL, O_NONBLOCK);
	fcntl(selfpipe[1], F_SETFL, O_NONBLOCK);
	fcntl(selfpipe[0], F_SETFD, FD_CLOEXEC);
	fcntl(selfpipe[1], F_SETFD, FD_CLOEXEC);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}


int
main(int argc, char *argv[])
{
	struct opts	 o;
	struct worker	 w;
	char		*host = NULL, *file = NULL, *end, err[1024];
	const char	*e, *target = NULL;
	int		 c, rv, npos;
	long		 v;

	progname = "rtq";
	self = self_path(argv[0]);
	memset(&o, 0, sizeof(o));
	o.id = -1;
	o.poll = 3;
	o.lease = 120;
	o.slots = 1;
	while ((c = getopt_long(argc, argv, "hi:j:m:n:x", longopts, NULL))
	    != -1) {
		switch (c) {
		case 'D':
			if ((o.logdir = local_path(optarg)) == NULL)
				usage_exit("--log-dir: out of memory");
			break;
		case 'e':
			o.edit = 1;
			break;
		case 'E':
			if (tf_parse_id(optarg, strlen(optarg), &o.lease) ==
			    -1 || o.lease < 4 || o.lease > 8640000)
				usage_exit("--lease: expected seconds, from 4 "
				    "to 8640000");
			break;
		case 'A':
			o.add = 1;
			break;
		case 'F':
			o.failed = 1;
			break;
		case 'I':
			o.install = optarg;
			break;
		case 'J':
			o.json = 1;
			break;
		case 'W':
			o.watch = 2;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'i':
			if (tf_parse_id(optarg, strlen(optarg), &o.id) == -1)
				usage_exit("--id: expected a number from 0 to "
				    "999999999");
			break;
		case 'j':
			if (tf_parse_id(optarg, strlen(optarg), &o.slots) ==
			    -1 || o.slots < 1 || o.slots > MAXSLOTS)
				usage_exit("--slots: expected a number from 1 "
				    "to 64");
			break;
		case 'L':
			o.lock = 1;
			break;
		case 'm':
			o.master = optarg;
			break;
		case 'n':
			o.name = optarg;
			break;
		case 'P':
			o.poll = strtod(optarg, &end);
			if (*optarg == '\0' || *end != '\0' || o.poll < 0.01 ||
			    o.poll > 86400)
				usage_exit("--poll: expected seconds, from "
				    "0.01 to 86400");
			break;
		case 'R':
			o.reset = 1;
			break;
		case 'S':
			o.status = 1;
			break;
		case 'T':
			if (tf_duration(optarg, strlen(optarg), &o.timeout)
			    == -1)
				usage_exit("--timeout: expected a duration "
				    "such as 90, 90s, 15m, 2h or 1d");
			break;
		case 'V':
			printf("rtq %s (protocol %d)\n", RTQ_VERSION,
			    PROTO_VERSION);
			return 0;
		case 'x':
			o.xdone = 1;
			break;
		default:
			usage_exit(NULL);
		}
	}
	npos = argc - optind;
	if (o.install != NULL) {
		if (npos > 0)
			usage_exit("--install-master takes no task file");
		setup_signals();
		return do_install(o.install, self);
	}
	if (o.reset && npos == 2) {
		/* --reset K: K is the positional that is a number */
		int k = tf_parse_id(argv[optind], strlen(argv[optind]), &v) ==
		    0 ? optind : optind + 1;

		if (tf_parse_id(argv[k], strlen(argv[k]), &v) == -1)
			usage_exit("--reset: K must be a line number");
		o.reset_k = v;
		target = argv[k == optind ? optind + 1 : optind];
	} else if (o.watch > 0 && npos == 2) {
		/* --watch SECONDS: the positional that is a number */
		char *end;
		int k = optind;
		double secs = strtod(argv[k], &end);

		if (*argv[k] == '\0' || *end != '\0') {
			k = optind + 1;
			secs = strtod(argv[k], &end);
		}
		if (*argv[k] == '\0' || *end != '\0' || secs < 0.1)
			usage_exit("--watch: SECONDS must be a number");
		o.watch = secs;
		target = argv[k == optind ? optind + 1 : optind];
	} else if (o.add && npos >= 2) {
		/* --add FILE COMMAND...: the words make one command */
		struct buf cmd = BUF_INIT;
		int i;

		target = argv[optind];
		for (i = optind + 1; i < argc; i++) {
			if (i > optind + 1)
				buf_addc(&cmd, ' ');
			buf_adds(&cmd, argv[i]);
		}
		o.command = cmd.s;
		if (cmd.s == NULL || strpbrk(cmd.s, "\r\n") != NULL ||
		    tf_rstrip(cmd.s, cmd.len) == 0)
			usage_exit("--add: COMMAND is blank or holds a line "
			    "break (give one task; several come on standard "
			    "input, one a line)");
	} else if (npos == 1)
		target = argv[optind];
	else if (npos > 1)
		usage_exit("too many arguments");
	if (o.failed && !o.reset)
		usage_exit("--failed goes with --reset");
	if ((o.json || o.watch > 0) && !o.status)
		usage_exit("--json and --watch go with --status");
	if (o.lock + o.reset + o.status + o.add + o.edit > 1)
		usage_exit("--add, --edit, --lock, --reset and --status do not "
		    "go together");
	if (target == NULL && (e = getenv("TASK_FILE")) != NULL && *e != '\0')
		target = e;
	if (target == NULL)
		usage_exit("no task file (give TASKFILE or set TASK_FILE)");
	if (o.name == NULL && (e = getenv("WORKER_NAME")) != NULL && *e)
		o.name = e;
	if (o.master == NULL && (e = getenv("MASTER_SERVER")) != NULL && *e)
		o.master = e;
	split_target(target, &host, &file);
	if (host == NULL && o.master != NULL)
		host = strdup(o.master);
	if (host == NULL) {
		char *abs = local_path(file);

		free(file);
		file = abs;
	}
	if (file == NULL || *file == '\0')
		usage_exit("empty task file name");

	setup_signals();
	if (o.slots > 1 && !o.add && !o.edit && !o.lock && !o.reset &&
	    !o.status) {
		int slot;

		if ((rv = slots_run((int)o.slots, &slot)) >= 0)
			return rv;
		/* a slot: a worker like any other, with its own id */
		if (o.id >= 0)
			o.id += slot;
		slotted = 1;
	} else
		setenv("RTQ_SLOT", "0", 1);
	srandom((unsigned)getpid() ^ (unsigned)time(NULL));
	memset(&w, 0, sizeof(w));
	w.o = &o;
	w.id = -1;
	/* distinct from any earlier process registered with the same id */
	w.seq = ((long long)time(NULL) << 20) | (random() & 0xfffff);
	if (tp_init(&w.tp, host, file, self, err, sizeof(err)) == -1) {
		say("%s", err);
		return 1;
	}
	progname = "rtq";
	tp_where(&w.tp, w.where, sizeof(w.where));
	free(host);
	free(file);
	if (o.add || o.edit || o.lock || o.reset || o.status) {
		rv = o.add ? do_add(&w) : o.edit ? do_edit(&w) : o.lock ?
		    do_lock(&w) : o.reset ? do_reset(&w) : do_status(&w);
		tp_free(&w.tp);
		free(o.command);
		return rv;
	}

	if (o.logdir != NULL && mkdir(o.logdir, 0777) == -1 &&
	    errno != EEXIST) {
		say("--log-dir %s: %s", o.logdir, strerror(errno));
		return 1;
	}
	if (do_register(&w, o.id) == -1)
		return got_hard ? stop_code() : 1;
	if (slotted) {
		/* tell the parent which id to put before our lines */
		printf("\001id %ld\n", w.id);
		fflush(stdout);
	}
	heartbeat(&w);
	w.sh.stop = &got_hard;
	if (shell_start(&w.sh, err, sizeof(err)) == -1) {
		say("%s", err);
		return 1;
	}
	if (export_env(&w) == -1) {
		say("the shell did not start");
		return 1;
	}
	printf("[rtq %ld] worker %ld of %s, pid %ld\n", w.id, w.id, w.where,
	    (long)getpid());
	fflush(stdout);
	while ((rv = step(&w)) == -1)
		;
	goodbye(&w);
	shell_stop(&w.sh);
	free(w.prev_text);
	free((char *)o.logdir);
	tp_free(&w.tp);
	return rv;
}
