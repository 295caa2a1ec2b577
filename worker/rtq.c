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

#define GRACE_MS	5000	/* TERM to KILL, when a task is stopped */
#define BACKOFF_MAX	60
#define RUN_LOST	(-10)	/* run_task: we were declared lost */
#define CLAIM_RELEASE_WORD	(-1)	/* prev_status: give the task back */

struct opts {
	const char	*master;
	const char	*name;
	long		 id;
	int		 xdone;
	double		 poll;
	long		 lease;
	double		 timeout;	/* seconds; 0: none */
	long		 slots;
	const char	*logdir;
	int		 lock, reset, failed, status, add, json, edit;
	double		 watch;		/* --status --watch: seconds */
	char		*command;		/* --add COMMAND */
	const char	*install;		/* --install-master HOST[:DIR] */
	long		 reset_k;
};

struct worker {
	struct opts	*o;
	struct tp	 tp;
	struct shell	 sh;
	long		 id;
	long long	 seq;		/* of requests; a retry keeps it */
	size_t		 pos;
	int		 has_prev;
	int		 prev_init;
	size_t		 prev_line;
	int		 prev_status;
	char		*prev_text;
	char		 prev_log[4096];	/* the failed task's log, or "" */
	char		 where[1024];
};

#define MAXSLOTS	64

static volatile sig_atomic_t got_int, got_hard, hard_sig, got_any;
static int slotted;			/* a slot of -j N > 1 */
static int selfpipe[2] = { -1, -1 };
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

static void
usage_exit(const char *msg)
{
	if (msg != NULL)
		fprintf(stderr, "%s: %s\n", progname, msg);
	fputs(usage_text, stderr);
	exit(2);
}

static void
say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
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

static void
drain_selfpipe(void)
{
	char	 buf[64];

	while (read(selfpipe[0], buf, sizeof(buf)) > 0)
		;
}

static int
stop_code(void)
{
	return hard_sig == SIGINT ? 130 : hard_sig == SIGHUP ? 129 : 143;
}

static double
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

static int
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
static int
call(struct worker *w, const char *sub, const char *const *words, int n,
    struct tp_reply *r)
{
	/* a result in hand is worth waiting for after a first Ctrl-C */
	int	 must = w->has_prev && !w->prev_init &&
	    (strcmp(sub, "next") == 0 || strcmp(sub, "finish") == 0);
	char	 err[2048];
	int	 rv, delay = 1;

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
		if (got_int && !got_hard && must && delay == 1)
			say("Ctrl-C: still trying to report line %zu (Ctrl-C "
			    "again to give up)", w->prev_line);
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
static char *
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

static int
do_lock(struct worker *w)
{
	char		 err[1024], line[256];
	int		 in, out, st;
	ssize_t		 n;
	size_t		 len = 0;
	pid_t		 pid;
	struct pollfd	 pfd[2];

	if ((pid = tp_spawn(&w->tp, "lock", &in, &out, err, sizeof(err)))
	    == -1) {
		say("%s", err);
		return 1;
	}
	while (len < sizeof(line) - 1 && (n = read(out, line + len, 1)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || line[len] == '\n')
			break;
		len++;
	}
	line[len] = '\0';
	if (strncmp(line, PROTO_MAGIC " locked", 11) != 0) {
		close(in);
		waitpid(pid, &st, 0);
		say("could not lock %s%s%s", w->where, line[0] ? ": " : "",
		    strncmp(line, PROTO_MAGIC " error ", 11) == 0 ?
		    line + 13 : line);
		return 1;
	}
	printf("%s is locked: edit it now; press Ctrl-C to release the "
	    "lock\n", w->where);
	fflush(stdout);
	pfd[0].fd = selfpipe[0];
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
static int
do_add(struct worker *w)
{
	struct tp_reply	 r;
	char		 path[4096], buf[65536], err[2048];
	const char	*tmp = getenv("TMPDIR");
	ssize_t		 n;
	int		 fd, rv;

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(path, sizeof(path), "%s/rtq-add.XXXXXX", tmp);
	if ((fd = mkstemp(path)) == -1) {
		say("%s: %s", path, strerror(errno));
		return 1;
	}
	unlink(path);
	if (w->o->command != NULL) {
		n = (ssize_t)strlen(w->o->command);
		if (write(fd, w->o->command, (size_t)n) != n ||
		    write(fd, "\n", 1) != 1)
			goto werr;
	} else {
		if (isatty(STDIN_FILENO))
			say("reading tasks from standard input, one a line; "
			    "end with Ctrl-D");
		while ((n = read(STDIN_FILENO, buf, sizeof(buf))) != 0) {
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1 || write(fd, buf, (size_t)n) != n)
				goto werr;
		}
	}
	for (;;) {
		rv = tp_call_input(&w->tp, "add", NULL, 0, fd, &r, err,
		    sizeof(err));
		if (rv != TP_RETRY || got_int || got_hard)
			break;
		say("%s; retrying in 1 s", err);
		if (nap(1000))
			break;
	}
	close(fd);
	if (rv != TP_OK) {
		say("%s", err);
		tp_reply_free(&r);
		return 1;
	}
	printf("%s: %s tasks\n", w->where, strncmp(r.raw.s,
	    PROTO_MAGIC " ok ", 8) == 0 ? r.raw.s + 8 : "added");
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
static int
do_install(const char *target, const char *argv0)
{
	struct tp	 t;
	struct buf	 out = BUF_INIT, eout = BUF_INIT, cmd = BUF_INIT;
	struct utsname	 u;
	char		 err[1024], bin[4096], dir[4096], *host = NULL;
	const char	*colon = strchr(target, ':'), *slash;
	int		 fd, st, rv = 1;

	if (colon != NULL) {
		host = strndup(target, (size_t)(colon - target));
		snprintf(dir, sizeof(dir), "%s", colon + 1);
	} else {
		host = strdup(target);
		snprintf(dir, sizeof(dir), "~/.local/bin");
	}
	if (host == NULL || *host == '\0' || dir[0] == '\0')
		usage_exit("--install-master: expected HOST or HOST:DIR");
	slash = strrchr(argv0, '/');
	snprintf(bin, sizeof(bin), "%.*s%srtq-claim", slash ? (int)(slash -
	    argv0) : 0, argv0, slash ? "/" : "");
	if ((fd = open(bin, O_RDONLY | O_CLOEXEC)) == -1) {
		say("%s: %s (rtq-claim is installed beside rtq)", bin,
		    strerror(errno));
		free(host);
		return 1;
	}
	if (uname(&u) == -1 || tp_init(&t, host, "-", argv0, err,
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

static int
write_file(const char *path, const char *s, size_t n)
{
	int	 fd, r = 0;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600))
	    == -1)
		return -1;
	if (write(fd, s, n) != (ssize_t)n)
		r = -1;
	if (close(fd) == -1)
		r = -1;
	return r;
}

static int
read_file(const char *path, struct buf *b)
{
	char	 chunk[65536];
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_add(b, chunk, (size_t)n);
	close(fd);
	return n == 0 && buf_grow(b, 0) == 0 ? 0 : -1;
}

/*
 * --edit: a copy of the file in $VISUAL/$EDITOR, then the edit merged
 * back by rtq-claim under the lock (common/edit.h): claims made while the
 * editor was open are kept, and nobody waits for the editor.  Edits that
 * would make a task run twice need a yes at the terminal.
 */
static int
do_edit(struct worker *w)
{
	struct tp_reply	 r;
	struct buf	 base = BUF_INIT, mine = BUF_INIT, warn = BUF_INIT;
	char		 dir[4096], copy[4200], orig[4200], err[2048];
	const char	*tmp = getenv("TMPDIR"), *ed, *base_name, *p;
	size_t		 n;
	int		 rv = 1, st, fd;
	pid_t		 pid;

	if (call(w, "cat", NULL, 0, &r) != TP_OK)
		return 1;
	/* "RTQ1 ok SIZE", then the file (after any login noise) */
	for (p = r.raw.s; p != NULL && strncmp(p, PROTO_MAGIC " ok ", 8) != 0;
	    p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		;
	n = p != NULL ? strtoul(p + 8, NULL, 10) : 0;
	if (p != NULL)
		p += strlen(p);
	if (p == NULL || (size_t)(p + 1 - r.raw.s) + n > r.raw.len) {
		say("short reply from rtq-claim cat for %s", w->where);
		tp_reply_free(&r);
		return 1;
	}
	buf_add(&base, p + 1, n);
	buf_grow(&base, 0);
	tp_reply_free(&r);
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/rtq-edit.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL) {
		say("%s: %s", dir, strerror(errno));
		goto out;
	}
	base_name = strrchr(w->tp.file, '/');
	base_name = base_name ? base_name + 1 : w->tp.file;
	snprintf(copy, sizeof(copy), "%s/%s", dir, base_name);
	snprintf(orig, sizeof(orig), "%s/.original", dir);
	if (write_file(copy, base.s, base.len) == -1 ||
	    write_file(orig, base.s, base.len) == -1) {
		say("%s: %s", dir, strerror(errno));
		goto out;
	}
	if ((ed = getenv("VISUAL")) == NULL || *ed == '\0')
		if ((ed = getenv("EDITOR")) == NULL || *ed == '\0')
			ed = "vi";
	setenv("RTQ_ED", ed, 1);
	if ((pid = fork()) == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		execl("/bin/sh", "sh", "-c", "exec $RTQ_ED \"$1\"", "sh", copy,
		    (char *)NULL);
		_exit(127);
	}
	while (pid > 0 && waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (pid == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		say("the editor (%s) failed; nothing written back; your copy "
		    "is %s", ed, copy);
		goto keep;
	}
	if (read_file(copy, &mine) == -1) {
		say("%s: %s", copy, strerror(errno));
		goto keep;
	}
	if (mine.len == base.len && memcmp(mine.s, base.s, base.len) == 0) {
		printf("%s: no changes\n", w->where);
		rv = 0;
		goto out;
	}
	if (edit_check(base.s, base.len, mine.s, mine.len, &warn) > 0) {
		char answer[16] = "";

		fputs(warn.s, stderr);
		if (!isatty(STDIN_FILENO)) {
			say("refusing to write this back without a terminal "
			    "to confirm; your copy is %s", copy);
			goto keep;
		}
		fprintf(stderr, "write it back anyway? [y/N] ");
		if (fgets(answer, sizeof(answer), stdin) == NULL ||
		    (answer[0] != 'y' && answer[0] != 'Y')) {
			say("nothing written back; your copy is %s", copy);
			goto keep;
		}
	}
	/* rtq-claim put: the size of the original, the original, the edit */
	snprintf(orig, sizeof(orig), "%s/.put", dir);
	if ((fd = open(orig, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) ==
	    -1 || dprintf(fd, "%zu\n", base.len) < 0 ||
	    write(fd, base.s, base.len) != (ssize_t)base.len ||
	    write(fd, mine.s, mine.len) != (ssize_t)mine.len) {
		say("%s: %s", orig, strerror(errno));
		if (fd != -1)
			close(fd);
		goto keep;
	}
	st = tp_call_input(&w->tp, "put", NULL, 0, fd, &r, err, sizeof(err));
	close(fd);
	unlink(orig);
	if (st != TP_OK) {
		say("%s; nothing written back; your copy is %s", err, copy);
		tp_reply_free(&r);
		goto keep;
	}
	n = strstr(r.raw.s, " kept ") ? strtoul(strstr(r.raw.s, " kept ") + 6,
	    NULL, 10) : 0;
	printf("%s: written back", w->where);
	if (n > 0)
		printf(" (%zu line%s you deleted had been claimed meanwhile: "
		    "kept at the end)", n, n == 1 ? "" : "s");
	printf("\n");
	tp_reply_free(&r);
	rv = 0;
out:
	unlink(copy);
	snprintf(orig, sizeof(orig), "%s/.original", dir);
	unlink(orig);
	rmdir(dir);
keep:
	buf_free(&base);
	buf_free(&mine);
	buf_free(&warn);
	return rv;
}

static int
do_reset(struct worker *w)
{
	struct tp_reply	 r;
	char		 kw[32];
	const char	*words[2];
	int		 n = 0;

	if (w->o->reset_k > 0) {
		snprintf(kw, sizeof(kw), "%ld", w->o->reset_k);
		words[n++] = kw;
	}
	if (w->o->failed)
		words[n++] = "--failed";
	if (call(w, "reset", words, n, &r) != TP_OK)
		return 1;
	tp_reply_free(&r);
	printf("%s reset%s\n", w->where, w->o->failed ? " (failed tasks)" :
	    "");
	return 0;
}

/* One status report on stdout; 0 or 1. */
static int
status_once(struct worker *w, int json, int clear)
{
	struct tp_reply	 r;
	const char	*words[2], *body, *e;
	int		 n = 0;

	if (json)
		words[n++] = "--json";
	else if (isatty(STDOUT_FILENO) && ((e = getenv("NO_COLOR")) == NULL ||
	    *e == '\0'))
		words[n++] = "--color";
	if (call(w, "status", words, n, &r) != TP_OK)
		return 1;
	/* the report follows the head line (after any login noise) */
	for (body = r.raw.s; body != NULL && strncmp(body, PROTO_MAGIC " ok",
	    7) != 0; body = strchr(body, '\n') ? strchr(body, '\n') + 1 :
	    NULL)
		;
	body = body != NULL ? body + strlen(body) + 1 : "";
	if (clear)
		fputs("\033[H\033[2J", stdout);
	if (w->tp.host != NULL && !json)
		printf("%s:", w->tp.host);
	fputs(body, stdout);
	fflush(stdout);
	tp_reply_free(&r);
	return 0;
}

static int
do_status(struct worker *w)
{
	int	 rv;

	if (w->o->watch <= 0)
		return status_once(w, w->o->json, 0);
	do {
		if ((rv = status_once(w, w->o->json, isatty(STDOUT_FILENO))) !=
		    0)
			return rv;
	} while (!nap((int)(w->o->watch * 1000)));
	return 0;
}

/* Write all of s, or give up (the terminal went away). */
static void
out_all(const char *s, size_t n)
{
	ssize_t	 k;

	while (n > 0 && ((k = write(STDOUT_FILENO, s, n)) > 0 ||
	    (k == -1 && errno == EINTR)))
		if (k > 0) {
			s += k;
			n -= (size_t)k;
		}
}

/*
 * -j N: N workers, each a child process in its own process group (a
 * Ctrl-C reaches them once, forwarded from here).  Their output comes
 * through a pipe each and goes out a line at a time, each line after the
 * worker's id.  Returns the exit status for the parent (the worst of the
 * children), or -1 in a child, with *slot set.
 */
static int
slots_run(int n, int *slot)
{
	struct pollfd	 pfd[MAXSLOTS + 1];
	struct buf	 line[MAXSLOTS];
	char		 prefix[MAXSLOTS][32], chunk[8192], *nl;
	pid_t		 pid[MAXSLOTS];
	ssize_t		 k;
	int		 i, fd[2], open_fds = 0, st, rv = 0;

	for (i = 0; i < n; i++) {
		if (pipe(fd) == -1 || (pid[i] = fork()) == -1) {
			say("cannot start slot %d: %s", i, strerror(errno));
			return 1;
		}
		if (pid[i] == 0) {
			char	 v[16];

			setpgid(0, 0);
			close(fd[0]);
			dup2(fd[1], STDOUT_FILENO);
			dup2(fd[1], STDERR_FILENO);
			close(fd[1]);
			snprintf(v, sizeof(v), "%d", i);
			setenv("RTQ_SLOT", v, 1);
			*slot = i;
			return -1;
		}
		setpgid(pid[i], pid[i]);
		close(fd[1]);
		pfd[i].fd = fd[0];
		pfd[i].events = POLLIN;
		memset(&line[i], 0, sizeof(line[i]));
		snprintf(prefix[i], sizeof(prefix[i]), "[slot %d] ", i);
		open_fds++;
	}
	pfd[n].fd = selfpipe[0];
	pfd[n].events = POLLIN;
	while (open_fds > 0) {
		if (poll(pfd, (nfds_t)n + 1, -1) == -1 && errno != EINTR)
			break;
		if (got_any) {
			/* pass each signal on once */
			int sig = got_any;

			got_any = 0;
			drain_selfpipe();
			for (i = 0; i < n; i++)
				kill(pid[i], sig);
		}
		for (i = 0; i < n; i++) {
			if (pfd[i].fd == -1 || !(pfd[i].revents & (POLLIN |
			    POLLHUP | POLLERR)))
				continue;
			if ((k = read(pfd[i].fd, chunk, sizeof(chunk))) <= 0) {
				if (k == -1 && errno == EINTR)
					continue;
				if (line[i].len > 0) {
					buf_addc(&line[i], '\n');
					out_all(prefix[i], strlen(prefix[i]));
					out_all(line[i].s, line[i].len);
				}
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open_fds--;
				continue;
			}
			buf_add(&line[i], chunk, (size_t)k);
			while (line[i].s != NULL && (nl = memchr(line[i].s,
			    '\n', line[i].len)) != NULL) {
				size_t len = (size_t)(nl - line[i].s) + 1;
				long id;

				if (line[i].s[0] == '\001' && sscanf(line[i].s,
				    "\001id %ld", &id) == 1)
					snprintf(prefix[i], sizeof(prefix[i]),
					    "[%ld] ", id);
				else if (strncmp(line[i].s, "[rtq ", 5) == 0)
					out_all(line[i].s, len);
				else {
					out_all(prefix[i], strlen(prefix[i]));
					out_all(line[i].s, len);
				}
				memmove(line[i].s, line[i].s + len,
				    line[i].len - len);
				line[i].len -= len;
			}
		}
	}
	for (i = 0; i < n; i++) {
		while (waitpid(pid[i], &st, 0) == -1 && errno == EINTR)
			;
		st = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (st > rv)
			rv = st;
		buf_free(&line[i]);
	}
	return rv;
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
	self = argv[0];
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
		return do_install(o.install, argv[0]);
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
	}
	srandom((unsigned)getpid() ^ (unsigned)time(NULL));
	memset(&w, 0, sizeof(w));
	w.o = &o;
	w.id = -1;
	/* distinct from any earlier process registered with the same id */
	w.seq = ((long long)time(NULL) << 20) | (random() & 0xfffff);
	if (tp_init(&w.tp, host, file, argv[0], err, sizeof(err)) == -1) {
		say("%s", err);
		return 1;
	}
	progname = "rtq";
	tp_where(&w.tp, w.where, sizeof(w.where));
	free(host);
	free(file);
	if (o.add)
		return do_add(&w);
	if (o.edit)
		return do_edit(&w);
	if (o.lock)
		return do_lock(&w);
	if (o.reset)
		return do_reset(&w);
	if (o.status)
		return do_status(&w);

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
	tp_free(&w.tp);
	return rv;
}
