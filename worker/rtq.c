/*
 * rtq: the worker.  Registers with a task file (on a master over ssh, or a
 * local one), then asks rtq-claim for work, runs it in its own shell and
 * reports how it ended, until told to stop.  See rtq(1).
 *
 * The loop keeps three things: the worker id, its position (the line of the
 * last item it got) and the previous item's result, which travels with the
 * next request, so a claim costs one exchange (client.c).  Signals only set
 * flags and write to a self-pipe; the waits poll that pipe (sig.c):
 *
 *	SIGINT		let the running task finish, report it, exit 0;
 *	2nd SIGINT,	TERM the task's process group (KILL after a grace
 *	SIGTERM, SIGHUP	period), report it as failed so another worker
 *			takes it, exit 130/143.
 */
#define _DEFAULT_SOURCE
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "client.h"
#include "paths.h"
#include "proto.h"
#include "shell.h"
#include "sig.h"
#include "slurm.h"
#include "taskfile.h"
#include "transport.h"
#include "view.h"
#include "version.h"
#include "worker.h"

#define GRACE_MS	5000	/* TERM to KILL, when a task is stopped */
#define RUN_LOST	(-10)	/* run_task: we were declared lost */
#define RUN_UNRUN	(-11)	/* run_task: stopped before it started */
#define RUN_KILLED	(-12)	/* run_task: stopped by rtq --kill */
#define KILL_CHECK	1.0	/* s: heartbeats (and kill asks) at least */
#define STEP_WORK	(-2)	/* ask: there is work to run */

/* A running task: its deadlines, and whether and why it is being stopped. */
struct run {
	size_t		 line;
	double		 t0, limit, beat_every, beat_at, kill_at;
	int		 killed, lost, timed_out, kill_asked;
};

static const char *self;		/* our path: rtq-claim may be beside it */

static const struct option longopts[] = {
	{ "add", no_argument, NULL, 'A' },
	{ "all", no_argument, NULL, 'a' },
	{ "attempt", required_argument, NULL, 'k' },
	{ "batch", required_argument, NULL, 'b' },
	{ "follow", no_argument, NULL, 'f' },
	{ "edit", no_argument, NULL, 'e' },
	{ "exit-when-done", no_argument, NULL, 'x' },
	{ "exit-when-idle", no_argument, NULL, 'X' },
	{ "failed", no_argument, NULL, 'F' },
	{ "help", no_argument, NULL, 'h' },
	{ "id", required_argument, NULL, 'i' },
	{ "install-master", required_argument, NULL, 'I' },
	{ "json", no_argument, NULL, 'J' },
	{ "kill", no_argument, NULL, 'K' },
	{ "lease", required_argument, NULL, 'E' },
	{ "lock", no_argument, NULL, 'L' },
	{ "log", no_argument, NULL, 'l' },
	{ "log-cap", required_argument, NULL, 'C' },
	{ "log-dir", required_argument, NULL, 'D' },
	{ "master", required_argument, NULL, 'm' },
	{ "name", required_argument, NULL, 'n' },
	{ "no-logs", no_argument, NULL, 'N' },
	{ "output", required_argument, NULL, 'o' },
	{ "pause", no_argument, NULL, 'p' },
	{ "plan", no_argument, NULL, 'G' },
	{ "poll", required_argument, NULL, 'P' },
	{ "reset", no_argument, NULL, 'R' },
	{ "resume", no_argument, NULL, 'u' },
	{ "retries", required_argument, NULL, 'r' },
	{ "slots", required_argument, NULL, 'j' },
	{ "status", no_argument, NULL, 'S' },
	{ "timeline", no_argument, NULL, 'Y' },
	{ "timeout", required_argument, NULL, 'T' },
	{ "version", no_argument, NULL, 'V' },
	{ "wait", no_argument, NULL, 'w' },
	{ "watch", no_argument, NULL, 'W' },
	{ NULL, 0, NULL, 0 }
};

static const char usage_text[] =
"usage: rtq [options] [[user@]host:]TASKFILE\n"
"       rtq --log [--attempt K | --all] TASKFILE LINE\n"
"       rtq --follow TASKFILE [LINE]\n"
"  -m, --master HOST     master to reach over ssh (env MASTER_SERVER);\n"
"                        none: local mode, the file is on this machine\n"
"  -n, --name NAME       worker name (env WORKER_NAME; default: host name\n"
"                        and addresses)\n"
"  -i, --id ID           worker id to register with\n"
"  -x, --exit-when-done  exit when nothing is left this worker could run:\n"
"                        0, or 3 when tasks failed for good or are blocked\n"
"      --exit-when-idle  exit as soon as nothing is claimable now (0 or 3)\n"
"      --retries N       a task this worker fails is tried N more times, on\n"
"                        other workers (1; #retries=N on a line wins)\n"
"      --batch K|auto    claim up to K tasks at once (1 to 128; auto: as\n"
"                        many as keeps claims under a tenth of the time)\n"
"  -j, --slots N         run N workers in this process, each with its own id\n"
"                        and shell; each task sees RTQ_SLOT (0..N-1)\n"
"      --poll SECONDS    wait between polls when nothing is claimable (3)\n"
"      --timeout DURATION  stop a task running longer (90s, 2h; #timeout=\n"
"                        DURATION in a line's comment overrides); status 124\n"
"      --log-dir DIR     also save each task's output on this machine, in\n"
"                        DIR/<task file>.<line>.<worker id>.log\n"
"      --no-logs         do not keep tasks' output on the master (kept by\n"
"                        default, in <task file>.logs/ beside the file)\n"
"      --log-cap SIZE    keep at most SIZE of a task's output on the master,\n"
"                        its head and its tail (10M)\n"
"      --lease SECONDS   declared lost when not heard from this long (120);\n"
"                        a heartbeat goes every second while a task runs\n"
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
"      --wait            wait until nothing can run any more; exit 0 when\n"
"                        every task is done, else 3 (--timeout: 124)\n"
"      --kill LINE...    cancel pending tasks, stop running ones (#killed)\n"
"      --pause, --resume workers start nothing new / go on\n"
"      --plan            print every line, its state and what it waits for,\n"
"                        then malformed tags (exit 1 when there are any)\n"
"      --timeline        a Gantt chart of the attempts: an SVG with -o, else\n"
"                        text on a terminal\n"
"  -o, --output FILE     with --timeline: write the SVG to FILE (- : stdout)\n"
"      --json            with --status or --plan: one JSON document\n"
"      --watch [SECONDS] with --status: redraw every SECONDS (2)\n"
"      --all             with --status: list the workers that left too\n"
"      --log FILE LINE   print the output of the task on LINE (its last\n"
"                        attempt; --attempt K the K-th, --all every one)\n"
"      --follow FILE [LINE]\n"
"                        print the task's output as it comes, until it ends;\n"
"                        exit with its status.  No LINE: every running task\n"
"  -h, --help            this help\n"
"      --version         print the version\n"
"TASKFILE comes from TASK_FILE when not given.\n";

/* A one-line error (unless msg is NULL), then the usage, on stderr: 2. */
static int
usage(const char *msg)
{
	if (msg != NULL)
		say("%s", msg);
	fputs(usage_text, stderr);
	return 2;
}

/* For a queue command's waits: a signal came, give up. */
static int
stop_asked(void *arg)
{
	(void)arg;
	sig_drain();
	return got_int || got_hard;
}

/*
 * A worker's transport: a "wait" is held on the master for up to --poll
 * (it answers as soon as the file changes), and a signal wakes such a
 * wait; it never abandons a request (a claim's reply is not lost).
 */
static void
worker_tp(struct worker *w)
{
	double	 ms = w->o->poll * 1000;

	w->tp.hold_ms = ms > 60000 ? 60000 : ms < 1 ? 1 : (int)ms;
	if (w->o->idle_exit)
		w->tp.hold_ms = 0;	/* an idle answer is ours to act on */
	w->tp.intr_fd = sig_fd();
	w->tp.intr = stop_asked;
	w->tp.intr_wakes = 1;
	(void)tp_conn_own(&w->tp);	/* one ssh connection (transport.h) */
}

/*
 * A random key for this process (and its -j slots, which share it), so
 * that the master can tell them from other machines' workers.
 */
static unsigned long long
machine_key(void)
{
	unsigned long long k = 0;
	int		 fd;

	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) != -1) {
		if (read(fd, &k, sizeof(k)) != (ssize_t)sizeof(k))
			k = 0;
		close(fd);
	}
	if (k == 0)
		k = (unsigned long long)getpid() << 32 ^
		    (unsigned long long)time(NULL);
	return k & 0xffffffffffffULL ? k & 0xffffffffffffULL : 1;
}

/* A directory d of the shell for banners, with the home directory as ~. */
static const char *
show_dir(const char *d, char *out, size_t len)
{
	const char	*home = getenv("HOME");
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
	/* where the worker starts in this file (SPEC 3.3) */
	return shell_mark_start(&w->sh);
}

/*
 * TERM the task's process group, and CONT so that a stopped task sees it;
 * KILL follows when the grace is over.
 */
static void
run_stop(struct worker *w, struct run *ru)
{
	shell_task_kill(&w->sh, SIGTERM);
	shell_task_kill(&w->sh, SIGCONT);
	ru->killed = 1;
	ru->kill_at = now_sec() + GRACE_MS / 1000.0;
}

/*
 * rtq --kill asked to stop line, a task of our batch not started: it will
 * not be, and is reported killed in its turn.  Returns 1, or 0 when line
 * is not one of them.
 */
static int
kill_queued(struct worker *w, size_t line)
{
	size_t	 k;

	for (k = w->bq_at; k < w->bq_n; k++)
		if (w->bq[k].line == line) {
			if (w->bq[k].status != PROTO_ST_KILLED)
				say("line %zu: rtq --kill asked to stop it; "
				    "it will not start", line);
			w->bq[k].status = PROTO_ST_KILLED;
			return 1;
		}
	return 0;
}

/*
 * Stop the task on a hard stop, past its time limit, or when a heartbeat
 * says that we were declared lost.
 */
static void
run_check(struct worker *w, struct run *ru)
{
	if (got_hard && !ru->killed) {
		say("stopping the task on line %zu", ru->line);
		run_stop(w, ru);
	}
	if (!ru->killed && ru->limit > 0 && now_sec() - ru->t0 >= ru->limit) {
		say("line %zu ran longer than %gs: stopping it", ru->line,
		    ru->limit);
		ru->timed_out = 1;
		run_stop(w, ru);
	}
	if (!ru->killed && !ru->lost && now_sec() >= ru->beat_at) {
		size_t	 kill_line = 0;
		int	 hb;

		/* a batch's results, and that this task started */
		client_batch_flush(w);
		hb = client_heartbeat(w, &kill_line);
		if (hb == 2 && kill_queued(w, kill_line))
			;
		else if (hb == 1) {
			client_say_lost(w);
			say("stopping the task on line %zu", ru->line);
			ru->lost = 1;
			run_stop(w, ru);
		} else if (hb == 2) {
			/*
			 * It is about our task: the master asks only while
			 * it is marked running for us.  (Its line number may
			 * have moved since we got it: a #PAUSED line.)
			 */
			say("line %zu: rtq --kill asked to stop it (line %zu "
			    "now); stopping it", ru->line, kill_line);
			ru->kill_asked = 1;
			run_stop(w, ru);
		}
		ru->beat_at = now_sec() + ru->beat_every;
	}
}

/*
 * How long to wait for the task (ms; -1: until it ends): until the next
 * heartbeat or its time limit, or the end of the grace, when it gets KILL.
 */
static int
run_timeout(struct worker *w, struct run *ru)
{
	int	 timeout;

	if (ru->killed)
		timeout = (int)((ru->kill_at - now_sec()) * 1000);
	else {
		double next = ru->beat_at;

		if (ru->limit > 0 && ru->t0 + ru->limit < next)
			next = ru->t0 + ru->limit;
		timeout = (int)((next - now_sec()) * 1000) + 1;
	}
	if (ru->killed && timeout <= 0) {
		shell_task_kill(&w->sh, SIGKILL);
		timeout = -1;
		ru->kill_at = 1e18;
	}
	return timeout;
}

/*
 * Wait for the running task; its status as shell_task_wait says it.  Its
 * output goes to the master meanwhile (logsend), never waited for.
 */
static int
run_wait(struct worker *w, struct run *ru)
{
	struct pollfd	 p[8];
	int		 st, n;

	for (;;) {
		run_check(w, ru);
		n = 0;
		p[n].fd = w->sh.rep;
		p[n++].events = POLLIN;
		p[n].fd = sig_fd();
		p[n++].events = POLLIN;
		p[n].fd = sig_out_fd();
		p[n++].events = 0;
		n += logsend_fds(&w->ls, &w->tp, p + n);
		if (poll(p, (nfds_t)n, run_timeout(w, ru)) == -1 &&
		    errno != EINTR)
			return -1;
		logsend_io(&w->ls, &w->tp);
		st = shell_task_wait(&w->sh, sig_fd(), sig_out_fd(), 0);
		if (st == -3) {
			sig_drain();
			sig_out_check();
			if (got_int && !got_hard)
				say("Ctrl-C: finishing the task on line %zu, "
				    "then exiting (Ctrl-C again stops it now)",
				    ru->line);
			/* the batch's tasks not started go back now */
			if (got_int || got_hard)
				client_batch_release(w);
			continue;
		}
		if (st != -4)
			return st;
	}
}

/*
 * A task's banner, with the environment it runs in (shell_task_start's
 * env); its log file (emptied) in log, or "" without one.
 */
static void
run_banner(struct worker *w, size_t line, const char *text, size_t env,
    char *log, size_t loglen)
{
	char	 dir[4200];

	log[0] = '\0';
	if (w->o->logdir != NULL) {
		const char *base = strrchr(w->tp.file, '/');

		base = base != NULL ? base + 1 : w->tp.file;
		if ((size_t)snprintf(log, loglen, "%s/%s.%zu.%ld.log",
		    w->o->logdir, base, line, w->id) >= loglen)
			log[0] = '\0';
	}
	if (env == SHELL_ENV_NOW)
		printf("[rtq %ld] %s:%zu $ %s\n", w->id,
		    show_dir(w->sh.cwd, dir, sizeof(dir)), line, text);
	else if (env == SHELL_ENV_START)
		printf("[rtq %ld] %s:%zu (where the worker started) $ %s\n",
		    w->id, show_dir(w->sh.cwd0, dir, sizeof(dir)), line, text);
	else
		printf("[rtq %ld] line %zu (in the environment of line %zu) "
		    "$ %s\n", w->id, line, env, text);
	if (log[0] != '\0') {
		printf("[rtq %ld] log: %s\n", w->id, log);
		if (truncate(log, 0) == -1 && errno != ENOENT)
			say("%s: %s", log, strerror(errno));
	}
	sig_out_flush();
}

/*
 * Run a task in the environment env (shell_task_start's, init_text the
 * init line's); returns its status, 256+N when its init prelude failed,
 * RUN_LOST when we were declared lost, RUN_UNRUN when a hard stop came
 * before it started, -1 when the shell is gone.
 */
static int
run_task(struct worker *w, size_t line, const char *text, size_t env,
    const char *init_text)
{
	struct run	 ru;
	double		 line_limit;
	char		 log[4096];
	int		 st;
	pid_t		 pg;

	memset(&ru, 0, sizeof(ru));
	ru.line = line;
	ru.t0 = now_sec();
	w->prev_t0 = w->prev_t1 = ru.t0;
	ru.beat_every = w->o->lease / 4.0;
	if (ru.beat_every > KILL_CHECK)
		ru.beat_every = KILL_CHECK;
	ru.beat_at = ru.t0 + ru.beat_every;
	ru.limit = w->o->timeout;
	if (tf_timeout(text, strlen(text), &line_limit) == 1)
		ru.limit = line_limit;
	run_banner(w, line, text, env, log, sizeof(log));
	snprintf(w->prev_log, sizeof(w->prev_log), "%s", log);
	if (got_hard)
		return RUN_UNRUN;
	logsend_start(&w->ls, &w->tp, line, w->id);
	if (shell_task_start(&w->sh, text, env, init_text,
	    log[0] ? log : NULL) == -1) {
		logsend_end(&w->ls, &w->tp);
		return -1;
	}
	pg = w->sh.task;
	st = run_wait(w, &ru);
	if (ru.killed && pg > 0) {
		/*
		 * The task's shell ended on TERM; what it started in its
		 * process group may not have: KILL that after the grace.
		 */
		while (kill(-pg, 0) == 0 && now_sec() < ru.kill_at)
			poll(NULL, 0, 50);
		kill(-pg, SIGKILL);
	}
	/* the rest of its output, and a line break it lacked, before ours */
	logsend_end(&w->ls, &w->tp);
	w->prev_t1 = now_sec();
	w->task_ms = w->task_ms <= 0 ? (w->prev_t1 - ru.t0) * 1000.0 :
	    0.8 * w->task_ms + 200.0 * (w->prev_t1 - ru.t0);
	if (ru.lost && st >= 0)
		return RUN_LOST;
	if (ru.kill_asked && st >= 0 && st < 256) {
		printf("[rtq %ld] line %zu: killed (rtq --kill) after %.1fs\n",
		    w->id, line, now_sec() - ru.t0);
		sig_out_flush();
		return RUN_KILLED;
	}
	if (ru.timed_out && st >= 0 && st < 256)
		st = 124;		/* as timeout(1) says it */
	if (st >= 0 && st < 256)
		printf("[rtq %ld] line %zu: %s%.0d after %.1fs\n", w->id, line,
		    st == 0 ? "ok" : "failed, status ", st,
		    now_sec() - ru.t0);
	sig_out_flush();
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
	paths_split_target(target, &host, &file);
	if (host == NULL && w->tp.host != NULL)
		host = strdup(w->tp.host);
	if (host == NULL) {
		char *abs = paths_local(file);

		free(file);
		file = abs;
	}
	client_goodbye(w);
	tp_free(&w->tp);
	rv = tp_init(&w->tp, host, file, self, err, sizeof(err));
	free(host);
	free(file);
	if (rv == -1) {
		say("%s", err);
		return -1;
	}
	tp_where(&w->tp, w->where, sizeof(w->where));
	worker_tp(w);
	/* an id a live worker holds there: a new one instead (said) */
	if (client_register(w, id, 1) == -1)
		return -1;
	client_heartbeat(w, NULL);
	printf("[rtq %ld] now worker %ld of %s\n", w->id, w->id, w->where);
	sig_out_flush();
	return export_env(w);
}

/*
 * Stopping: report the result in hand, and the exit status: 1 when it
 * could not be reported (said).  got_hard is read after the report, which
 * clears it when there was one to send.
 */
static int
leave(struct worker *w)
{
	if (client_report_prev(w) == -1)
		return 1;
	return got_hard ? sig_stop_code() : 0;
}

/*
 * Nothing left for us (-x), or nothing now (--exit-when-idle): say what
 * the queue holds, and leave with RTQ_EXIT_FAILED when tasks failed for
 * good (or with no live worker to retry them) or are blocked by those.
 */
static int
leave_done(struct worker *w, int none)
{
	struct proto_tally t;
	struct buf	 b = BUF_INIT;

	if (client_tally(w, &t) == -1)
		return 1;
	buf_printf(&b, "%lld done", t.done);
	if (t.failed > 0)
		buf_printf(&b, ", %lld failed", t.failed);
	if (t.retry > 0)
		buf_printf(&b, ", %lld failed and waiting for another worker",
		    t.retry);
	if (t.blocked > 0)
		buf_printf(&b, ", %lld blocked by failed tasks", t.blocked);
	if (t.killed > 0)
		buf_printf(&b, ", %lld killed", t.killed);
	if (t.running > 0)
		buf_printf(&b, ", %lld running", t.running);
	if (t.pending > 0)
		buf_printf(&b, ", %lld pending", t.pending);
	printf("[rtq %ld] nothing %s to run in %s (%s)\n", w->id,
	    none ? "left" : "now", w->where, b.s != NULL ? b.s : "");
	buf_free(&b);
	sig_out_flush();
	/* a task another live worker may still retry is not failed yet */
	return t.failed + t.blocked > 0 ? RTQ_EXIT_FAILED : 0;
}

/*
 * Stopped while asking: give the tasks just claimed back unrun, and
 * leave.
 */
static int
give_back(struct worker *w, struct tp_reply *r)
{
	if (r->p.nitems > 1 + r->p.item[0].init &&
	    client_queue(w, r, r->p.item[0].init) == 0) {
		tp_reply_free(r);
		return leave(w);	/* which gives back the queue */
	}
	client_set_prev(w, 0, r->p.item[r->p.nitems - 1].line, PROTO_ST_RELEASE,
	    r->p.item[r->p.nitems - 1].text);
	tp_reply_free(r);
	return leave(w);
}

/*
 * Ask for work.  Returns STEP_WORK with a task, or an init line, in *r
 * (the caller frees it); else what step returns.
 */
static int
ask(struct worker *w, struct tp_reply *r)
{
	int	 rv, none;

	rv = client_next(w, r);
	if (rv != TP_OK)
		tp_reply_free(r);
	if (rv == TP_FATAL) {
		/* the result in hand may still get through on its own */
		client_report_prev(w);
		return 1;
	}
	if (rv == TP_RETRY)		/* stopped while retrying */
		return leave(w);
	if (rv == TP_SOFT) {
		/*
		 * The file has a line rtq cannot use: claims wait until it
		 * is fixed, the result in hand does not (finish needs no
		 * claim).
		 */
		client_flush_prev(w);
		return sig_nap((int)(w->o->poll * 1000)) ? leave(w) : -1;
	}
	w->has_prev = 0;
	if (r->p.kind == PROTO_LOST) {
		/* our last result was not taken: the task ran elsewhere */
		client_say_lost(w);
		client_batch_drop(w);
		tp_reply_free(r);
		return -1;
	}
	if (r->p.fin == PROTO_FIN_ORPHAN)
		say("line %zu was gone from %s when its result came; an "
		    "orphan report records it at the end", w->prev_line,
		    w->where);
	if ((got_int || got_hard) && r->p.kind == PROTO_WORK &&
	    r->p.nitems > 0 && !r->p.item[r->p.nitems - 1].init)
		return give_back(w, r);
	if (r->p.kind == PROTO_NONE || r->p.kind == PROTO_WAIT) {
		none = r->p.kind == PROTO_NONE;
		tp_reply_free(r);
		if ((none && w->o->xdone) || w->o->idle_exit)
			return leave_done(w, none);
		/* a session's wait was held on the master: ask again now */
		if (w->tp.serve == 1 && w->tp.hold_ms > 0 && !got_int &&
		    !got_hard)
			return -1;
		if (sig_nap((int)(w->o->poll * 1000)))
			return got_hard ? sig_stop_code() : 0;
		return -1;
	}
	if (r->p.kind != PROTO_WORK || r->p.nitems == 0) {
		say("unexpected reply from rtq-claim for %s", w->where);
		tp_reply_free(r);
		return 1;
	}
	return STEP_WORK;
}

/* After an init line: follow its jumpto or newtask.  Frees v. */
static int
follow_vars(struct worker *w, struct shell_vars *v)
{
	char	*target, *id, own[32];
	int	 st;

	if (v->jumpto == NULL && v->newtask == NULL) {
		shell_vars_free(v);
		return -1;
	}
	target = v->jumpto ? v->jumpto : v->newtask;
	id = v->newid;
	snprintf(own, sizeof(own), "%ld", w->id);
	if (v->jumpto != NULL)
		id = own;
	st = switch_file(w, target, id);
	shell_vars_free(v);
	return st == -1 ? 1 : -1;
}

/* Run an init line in the worker's own shell.  Frees r; step's return. */
static int
run_init(struct worker *w, struct tp_reply *r)
{
	struct shell_vars v;
	char		 dir[4200];
	int		 st, exitst = 0;

	printf("[rtq %ld] %s:%zu #! %s\n", w->id,
	    show_dir(w->sh.cwd, dir, sizeof(dir)), r->p.item[0].line,
	    r->p.item[0].text);
	sig_out_flush();
	st = shell_init(&w->sh, r->p.item[0].text, r->p.item[0].line, &v, &exitst);
	if (st == -1 && got_hard) {
		say("stopped during init line %zu", r->p.item[0].line);
		tp_reply_free(r);
		return sig_stop_code();
	}
	if (st == -1) {
		printf("[rtq %ld] line %zu ended the worker (exit %d)\n",
		    w->id, r->p.item[0].line, exitst);
		tp_reply_free(r);
		return exitst;
	}
	if (st != 0) {
		say("init line %zu of %s failed with status %d; stopping: %s",
		    r->p.item[0].line, w->where, st, r->p.item[0].text);
		tp_reply_free(r);
		shell_vars_free(&v);
		return 1;
	}
	w->pos = r->p.pos;
	tp_reply_free(r);
	return follow_vars(w, &v);
}

/*
 * What to do after a task ran, with its status st (run_task's): keep its
 * result to report, and move our position to pos.  Returns step's
 * return.
 */
static int
ran(struct worker *w, size_t line, const char *text, int st,
    size_t init_line, size_t pos)
{
	if (st == RUN_LOST) {
		client_batch_drop(w);	/* the master gave them to others */
		return got_hard ? sig_stop_code() : got_int ? 0 : -1;
	}
	if (st == RUN_KILLED)
		st = PROTO_ST_KILLED;
	if (st == RUN_UNRUN) {
		client_set_prev(w, 0, line, PROTO_ST_RELEASE, text);
		return leave(w);
	}
	if (st == -1) {
		say("the shell died while running line %zu", line);
		/* killed with us (a Slurm job's end): say by which signal */
		client_set_prev(w, 0, line, got_hard && hard_sig != SIGPIPE ?
		    128 + hard_sig : 1, text);
		client_report_prev(w);
		return 1;
	}
	if (st >= 256) {
		say("init line %zu of %s failed with status %d before line "
		    "%zu; releasing that task and stopping", init_line,
		    w->where, st - 256, line);
		client_set_prev(w, 0, line, PROTO_ST_RELEASE, text);
		client_report_prev(w);
		return 1;
	}
	client_set_prev(w, 0, line, st, text);
	w->pos = pos;
	if (got_hard || got_int) {
		int code = got_hard ? sig_stop_code() : 0;

		return client_report_prev(w) == -1 ? 1 : code;
	}
	return -1;
}

/*
 * Run the claimed task (the last item of r).  Claimed out of order (above
 * our position), it runs in the environment of the init line returned
 * with it, or, without one, where the worker started (SPEC 3.3): never in
 * that of the init lines below it, which the shell has now.  Frees r;
 * step's return.
 */
static int
run_claimed(struct worker *w, struct tp_reply *r)
{
	int	 k = r->p.nitems - 1, st;
	size_t	 init_line = r->p.nitems == 2 ? r->p.item[0].line : 0;
	const char *init_text = r->p.nitems == 2 ? r->p.item[0].text : NULL;
	size_t	 env = init_line > 0 ? init_line : r->p.item[k].line < w->pos ?
	    SHELL_ENV_START : SHELL_ENV_NOW;

	st = run_task(w, r->p.item[k].line, r->p.item[k].text, env,
	    init_text);
	st = ran(w, r->p.item[k].line, r->p.item[k].text, st, init_line,
	    r->p.pos);
	tp_reply_free(r);
	return st;
}

/*
 * Results of a batch wait this long at most between tasks before they
 * are reported (a task that runs longer reports them at its heartbeat).
 */
#define BATCH_REPORT	1.0

/*
 * Run the next task of our batch, in the shell as it is (a batch's tasks
 * after the first lie below our position, with no init line between).
 * Step's return.
 */
static int
run_queued(struct worker *w)
{
	struct bitem	*b = &w->bq[w->bq_at++];
	size_t		 line = b->line;
	char		*text = b->text;
	int		 st;

	b->text = NULL;		/* ours now: a release does not free it */
	client_batch_push(w);	/* the previous result joins the batch's */
	if (b->status == PROTO_ST_KILLED) {
		printf("[rtq %ld] line %zu: killed (rtq --kill) before it "
		    "started\n", w->id, line);
		sig_out_flush();
		w->prev_t0 = w->prev_t1 = now_sec();
		client_set_prev(w, 0, line, PROTO_ST_KILLED, text);
		free(text);
		return -1;
	}
	/* not more often than every ten claims' time: a report costs one */
	if (w->br_n > 0 && now_sec() - w->br[0].t1 >= BATCH_REPORT &&
	    now_sec() - w->br[0].t1 >= 10 * w->claim_ms / 1000.0)
		client_flush_prev(w);
	w->started = line;
	w->started_text = text;
	w->started_t0 = now_sec();
	st = run_task(w, line, text, SHELL_ENV_NOW, NULL);
	w->started = 0;
	w->started_text = NULL;
	st = ran(w, line, text, st, 0, line > w->pos ? line : w->pos);
	free(text);
	return st;
}

/* Ask for work and run what comes; returns an exit code, or -1 to go on. */
static int
step(struct worker *w)
{
	struct tp_reply	 r;
	int		 rv, first;

	if (got_int || got_hard)		/* stop before claiming more */
		return leave(w);
	if (w->bq_at < w->bq_n)
		return run_queued(w);
	if ((rv = ask(w, &r)) != STEP_WORK)
		return rv;
	if (r.p.nitems == 1 && r.p.item[0].init)
		return run_init(w, &r);
	first = r.p.item[0].init;
	if (r.p.nitems > first + 1) {
		/* a batch: the first task now, the others in their turn */
		if (client_queue(w, &r, first + 1) == -1) {
			say("out of memory");
			return give_back(w, &r);
		}
		r.p.nitems = first + 1;
		if (r.p.item[first].line > w->pos)
			r.p.pos = r.p.item[first].line;
		else
			r.p.pos = w->pos;
	}
	return run_claimed(w, &r);
}

/*
 * Start the shell with its output through the pump, which passes it on
 * to where it went before (the -j slot's pipe, or our standard output
 * and error).  Returns 0, or -1 with err.
 */
static int
start_shell(struct worker *w, char *err, size_t errlen)
{
	int	 to = w->sh.out_fd > 2 ? w->sh.out_fd : STDOUT_FILENO;
	int	 te = w->sh.out_fd > 2 ? w->sh.out_fd : STDERR_FILENO;
	int	 r;

	w->ls.ctl = -1;
	w->ls.on = !w->o->nologs;
	w->ls.cap = w->o->logcap;
	if (pump_pipes(&w->pump, err, errlen) == -1)
		return -1;
	w->sh.out_fd = w->pump.sh_out;
	w->sh.err_fd = w->pump.sh_err;
	r = shell_start(&w->sh, err, errlen);
	if (pump_start(&w->pump, to, te, err, errlen) == -1)
		r = -1;
	if (to > 2)
		close(to);
	w->ls.ctl = w->pump.ctl;
	return r;
}

/*
 * Register, start the shell and run the loop until told to stop.  Returns
 * the exit status.
 */
static int
work(struct worker *w)
{
	char	 err[1024];
	int	 rv;

	if (w->o->logdir != NULL && mkdir(w->o->logdir, 0777) == -1 &&
	    errno != EEXIST) {
		say("--log-dir %s: %s", w->o->logdir, strerror(errno));
		return 1;
	}
	if (client_register(w, w->o->id, 0) == -1)
		return got_hard ? sig_stop_code() : 1;
	client_heartbeat(w, NULL);
	w->sh.stop = &got_hard;
	if ((rv = start_shell(w, err, sizeof(err))) == -1) {
		say("%s", err);
		rv = 1;
	} else if (export_env(w) == -1) {
		say("the shell did not start");
		rv = 1;
	} else {
		printf("[rtq %ld] worker %ld of %s, pid %ld\n", w->id, w->id,
		    w->where, (long)getpid());
		sig_out_flush();
		while ((rv = step(w)) == -1)
			;
	}
	/*
	 * A result that could not be reported keeps our lease: when it runs
	 * out, the master gives the task to another worker.  After a bye,
	 * the task would stay marked running for ever.
	 */
	if ((!w->has_prev || w->prev_init) && w->br_n == 0 &&
	    w->bq_at == w->bq_n)
		client_goodbye(w);
	shell_stop(&w->sh);
	pump_stop(&w->pump);
	return rv;
}

/* A size: bytes, or with k, M or G.  0 (at least 4 KiB) or -1. */
static int
parse_size(const char *s, long long *v)
{
	char		*end;
	double		 x = strtod(s, &end);

	if (end == s)
		return -1;
	if (*end == 'k' || *end == 'K')
		x *= 1024, end++;
	else if (*end == 'M')
		x *= 1024 * 1024, end++;
	else if (*end == 'G')
		x *= 1024.0 * 1024 * 1024, end++;
	if (*end == 'B')
		end++;
	if (*end != '\0' || x < 4096 || x > 1e15)
		return -1;
	*v = (long long)x;
	return 0;
}

/*
 * The options.  Returns -1 to go on, else rtq's exit status: 0 after
 * --help or --version, 2 after a usage error (said).
 */
static int
parse_opts(int argc, char *argv[], struct opts *o)
{
	char	*end;
	int	 c;

	memset(o, 0, sizeof(*o));
	o->id = -1;
	o->poll = 3;
	o->lease = 120;
	o->slots = 1;
	o->logcap = LOGSEND_CAP;
	o->retries = 1;
	o->batch = 1;
	while ((c = getopt_long(argc, argv, "hi:j:m:n:o:x", longopts, NULL))
	    != -1) {
		switch (c) {
		case 'D':
			if ((o->logdir = paths_local(optarg)) == NULL)
				return usage("--log-dir: out of memory");
			break;
		case 'e':
			o->edit = 1;
			break;
		case 'a':
			o->all = 1;
			break;
		case 'C':
			if (parse_size(optarg, &o->logcap) == -1)
				return usage("--log-cap: expected a size such "
				    "as 65536, 512k, 10M or 1G (at least 4k)");
			break;
		case 'f':
			o->follow = 1;
			break;
		case 'k':
			if (tf_parse_id(optarg, strlen(optarg), &o->attempt) ==
			    -1 || o->attempt < 1)
				return usage("--attempt: expected a number "
				    "from 1");
			break;
		case 'l':
			o->log = 1;
			break;
		case 'N':
			o->nologs = 1;
			break;
		case 'E':
			if (tf_parse_id(optarg, strlen(optarg), &o->lease) ==
			    -1 || o->lease < 4 || o->lease > 8640000)
				return usage("--lease: expected seconds, from "
				    "4 to 8640000");
			break;
		case 'A':
			o->add = 1;
			break;
		case 'F':
			o->failed = 1;
			break;
		case 'I':
			o->install = optarg;
			break;
		case 'J':
			o->json = 1;
			break;
		case 'W':
			o->watch = 2;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'i':
			if (tf_parse_id(optarg, strlen(optarg), &o->id) == -1)
				return usage("--id: expected a number from 0 "
				    "to 999999999");
			break;
		case 'j':
			if (tf_parse_id(optarg, strlen(optarg), &o->slots) ==
			    -1 || o->slots < 1 || o->slots > MAXSLOTS)
				return usage("--slots: expected a number from "
				    "1 to 64");
			break;
		case 'L':
			o->lock = 1;
			break;
		case 'm':
			o->master = optarg;
			break;
		case 'n':
			o->name = optarg;
			break;
		case 'P':
			o->poll = strtod(optarg, &end);
			if (*optarg == '\0' || *end != '\0' || o->poll < 0.01 ||
			    o->poll > 86400)
				return usage("--poll: expected seconds, from "
				    "0.01 to 86400");
			break;
		case 'G':
			o->plan = 1;
			break;
		case 'o':
			o->output = optarg;
			break;
		case 'Y':
			o->timeline = 1;
			break;
		case 'R':
			o->reset = 1;
			break;
		case 'S':
			o->status = 1;
			break;
		case 'T':
			if (tf_duration(optarg, strlen(optarg), &o->timeout)
			    == -1)
				return usage("--timeout: expected a duration "
				    "such as 90, 90s, 15m, 2h or 1d");
			break;
		case 'V':
			printf("rtq %s (protocol %d)\n", RTQ_VERSION,
			    PROTO_VERSION);
			return 0;
		case 'x':
			o->xdone = 1;
			break;
		case 'X':
			o->idle_exit = 1;
			break;
		case 'b':
			if (strcmp(optarg, "auto") == 0)
				o->batch = 0;
			else if (tf_parse_id(optarg, strlen(optarg),
			    &o->batch) == -1 || o->batch < 1 || o->batch > 128)
				return usage("--batch: expected a number from "
				    "1 to 128, or auto");
			break;
		case 'r':
			if (tf_parse_id(optarg, strlen(optarg), &o->retries) ==
			    -1 || o->retries > TF_MAXRETRIES)
				return usage("--retries: expected a number from "
				    "0 to 1000");
			break;
		case 'w':
			o->wait = 1;
			break;
		case 'K':
			o->kill = 1;
			break;
		case 'p':
			o->pause = 1;
			break;
		case 'u':
			o->resume = 1;
			break;
		default:
			return usage(NULL);
		}
	}
	return -1;
}

/* --reset K FILE or FILE K: K is the one that is a number.  0 or 2. */
static int
reset_args(struct opts *o, char **arg, const char **target)
{
	long	 v;
	int	 k = tf_parse_id(arg[0], strlen(arg[0]), &v) == 0 ? 0 : 1;

	if (tf_parse_id(arg[k], strlen(arg[k]), &v) == -1)
		return usage("--reset: K must be a line number");
	o->reset_k = v;
	*target = arg[1 - k];
	return 0;
}

/* --watch SECONDS FILE or FILE SECONDS: the one that is a number.  0, 2. */
static int
watch_args(struct opts *o, char **arg, const char **target)
{
	char	*end;
	int	 k = 0;
	double	 secs = strtod(arg[k], &end);

	if (*arg[k] == '\0' || *end != '\0') {
		k = 1;
		secs = strtod(arg[k], &end);
	}
	if (*arg[k] == '\0' || *end != '\0' || secs < 0.1)
		return usage("--watch: SECONDS must be a number");
	o->watch = secs;
	*target = arg[1 - k];
	return 0;
}

/* --add FILE COMMAND...: the words make one command.  0 or 2. */
static int
add_args(struct opts *o, int n, char **arg, const char **target)
{
	struct buf	 cmd = BUF_INIT;
	int		 i;

	*target = arg[0];
	for (i = 1; i < n; i++) {
		if (i > 1)
			buf_addc(&cmd, ' ');
		buf_adds(&cmd, arg[i]);
	}
	if (cmd.s == NULL || strpbrk(cmd.s, "\r\n") != NULL ||
	    tf_rstrip(cmd.s, cmd.len) == 0) {
		buf_free(&cmd);
		return usage("--add: COMMAND is blank or holds a line break "
		    "(give one task; several come on standard input, one a "
		    "line)");
	}
	o->command = cmd.s;
	return 0;
}

/*
 * --kill [FILE] LINE...: the word that is not line numbers is the file;
 * a word may hold several, "3,4".  0 or 2.
 */
static int
kill_args(struct opts *o, int n, char **arg, const char **target)
{
	const char	*s, *msg;
	int		 i;

	if ((o->killq = calloc(1, sizeof(*o->killq))) == NULL)
		return usage("--kill: out of memory");
	proto_req_init(o->killq, PROTO_KILL);
	for (i = 0; i < n; i++) {
		if (strspn(arg[i], "0123456789,") != strlen(arg[i])) {
			if (*target != NULL)
				return usage("--kill: expected the task file "
				    "and line numbers");
			*target = arg[i];
			continue;
		}
		for (s = arg[i]; *s != '\0'; s += *s == ',') {
			char	*end;
			long	 v = strtol(s, &end, 10);

			msg = "--kill: a line number is from 1 to 999999999";
			if (end == s || v < 1 || v > TF_MAXID)
				return usage(msg);
			if (o->killq->nlines == PROTO_MAXLINES)
				return usage("--kill: at most 256 lines at a "
				    "time");
			o->killq->lines[o->killq->nlines++] = (size_t)v;
			s = end;
		}
	}
	if (o->killq->nlines == 0)
		return usage("--kill: which lines? (rtq --kill FILE LINE...)");
	return 0;
}

/*
 * The n positional arguments arg: the task file in *target (left alone
 * without one), and K, SECONDS, COMMAND or LINEs.  Returns 0, or 2
 * (said).
 */
static int
parse_args(struct opts *o, int n, char **arg, const char **target)
{
	if (o->reset && n == 2)
		return reset_args(o, arg, target);
	if (o->watch > 0 && n == 2)
		return watch_args(o, arg, target);
	if (o->add && n >= 2)
		return add_args(o, n, arg, target);
	if ((o->log || o->follow) && n == 2) {
		long v;

		if (tf_parse_id(arg[1], strlen(arg[1]), &v) == -1 || v < 1)
			return usage("--log, --follow: LINE must be a line "
			    "number");
		o->log_line = (size_t)v;
		*target = arg[0];
		return 0;
	}
	if (o->kill)
		return kill_args(o, n, arg, target);
	if (n == 1)
		*target = arg[0];
	else if (n > 1)
		return usage("too many arguments");
	return 0;
}

/* Options that do not go together.  Returns 0, or 2 (said). */
static int
check_opts(const struct opts *o)
{
	if (o->failed && !o->reset)
		return usage("--failed goes with --reset");
	if (o->json && !o->status && !o->plan)
		return usage("--json goes with --status or --plan");
	if (o->watch > 0 && !o->status)
		return usage("--watch goes with --status");
	if (o->output != NULL && !o->timeline)
		return usage("-o goes with --timeline");
	if (o->lock + o->reset + o->status + o->add + o->edit + o->wait +
	    o->kill + o->pause + o->resume + o->log + o->follow + o->plan +
	    o->timeline > 1)
		return usage("--add, --edit, --follow, --kill, --lock, --log, "
		    "--pause, --plan, --reset, --resume, --status, --timeline and "
		    "--wait do not go together");
	if (o->xdone && o->idle_exit)
		return usage("-x and --exit-when-idle do not go together: "
		    "choose one (see rtq(1))");
	if (o->attempt > 0 && !o->log)
		return usage("--attempt goes with --log");
	if (o->all && !o->log && !o->status)
		return usage("--all goes with --log or --status");
	if (o->log && o->log_line == 0)
		return usage("--log: expected FILE LINE");
	return 0;
}

/*
 * "rtq ~/tasks.sh -m host": the local shell turned ~ into this machine's
 * home, which need not be the master user's.  A path under our $HOME is
 * taken as the same path under the home on the master, and that is said.
 */
static void
home_on_master(const char *host, char **file)
{
	const char	*home = getenv("HOME");
	size_t		 n;
	char		*f;

	if (home == NULL || (n = strlen(home)) < 2 || home[n - 1] == '/' ||
	    strncmp(*file, home, n) != 0 || (*file)[n] != '/')
		return;
	if ((f = malloc(strlen(*file) - n + 2)) == NULL)
		return;
	f[0] = '~';
	strcpy(f + 1, *file + n);
	say("taking %s as %s on %s (the home directory there; write "
	    "%s:%s to name a path as it is)", *file, f, host, host, f);
	free(*file);
	*file = f;
}

/*
 * The task file: target, else TASK_FILE; on the host it names, else on
 * -m's or MASTER_SERVER's; a local one made absolute.  Returns 0 with
 * *host (NULL: local) and *file allocated, or 2 (said).
 */
static int
task_file(const struct opts *o, const char *target, char **host,
    char **file)
{
	const char	*e;

	if (target == NULL && (e = getenv("TASK_FILE")) != NULL && *e != '\0')
		target = e;
	if (target == NULL)
		return usage("no task file (give TASKFILE or set TASK_FILE)");
	paths_split_target(target, host, file);
	if (*host == NULL && o->master != NULL)
		*host = strdup(o->master);
	if (*host != NULL && *file != NULL)
		home_on_master(*host, file);
	if (*host == NULL) {
		char *abs = paths_local(*file);

		free(*file);
		*file = abs;
	}
	if (*file == NULL || **file == '\0')
		return usage("empty task file name");
	return 0;
}

int
main(int argc, char *argv[])
{
	struct opts	 o;
	struct worker	 w;
	char		*host = NULL, *file = NULL, err[1024];
	const char	*e, *target = NULL;
	int		 rv, slot, task_fd = -1, admin;
	unsigned long long machine;

	self = paths_self(argv[0]);
	if ((rv = parse_opts(argc, argv, &o)) != -1)
		return rv;
	if (o.install != NULL) {
		if (argc - optind > 0)
			return usage("--install-master takes no task file");
		if (sig_setup() == -1) {
			perror("rtq: pipe");
			return 1;
		}
		if ((rv = do_install(o.install, self)) == 2)
			return usage("--install-master: expected HOST or "
			    "HOST:DIR");
		return rv;
	}
	if (parse_args(&o, argc - optind, argv + optind, &target) != 0 ||
	    check_opts(&o) != 0)
		return 2;
	if (o.name == NULL && (e = getenv("WORKER_NAME")) != NULL && *e)
		o.name = e;
	if (o.master == NULL && (e = getenv("MASTER_SERVER")) != NULL && *e)
		o.master = e;
	if (task_file(&o, target, &host, &file) != 0)
		return 2;

	if (sig_setup() == -1) {
		perror("rtq: pipe");
		return 1;
	}
	/* not outliving the Slurm job (slurm.h) */
	if (slurm_job() && sig_watch_parent() == -1)
		say("cannot watch the process that started rtq: %s",
		    strerror(errno));
	admin = o.add || o.edit || o.lock || o.reset || o.status || o.wait ||
	    o.kill || o.pause || o.resume || o.log || o.follow || o.plan ||
	    o.timeline;
	/* one key for the process and its -j slots: "another machine" */
	machine = machine_key();
	if (o.slots > 1 && !admin) {
		tp_conn_share(host, self);	/* the slots' connection */
		if ((rv = slots_run((int)o.slots, &slot, &task_fd)) >= 0) {
			tp_conn_end();
			return rv;
		}
		/* a slot: a worker like any other, with its own id */
		if (o.id >= 0)
			o.id += slot;
	} else
		setenv("RTQ_SLOT", "0", 1);
	srandom((unsigned)getpid() ^ (unsigned)time(NULL));
	memset(&w, 0, sizeof(w));
	w.o = &o;
	w.id = -1;
	w.sh.out_fd = task_fd;
	/* distinct from any earlier process registered with the same id */
	w.seq = ((long long)time(NULL) << 20) | (random() & 0xfffff);
	/*
	 * A queue command gives up after about 30 s of failures; a worker
	 * after about a minute before the master first answered, and once
	 * it did, keeps trying (a master reboots).
	 */
	w.machine = machine;
	w.batch = o.batch > 0 ? o.batch : 1;
	w.prev_batch = o.batch != 1;	/* results carry their times */
	w.retry_always = admin;
	w.retry_for = w.retry_always ? 30 : 60;
	if (host != NULL && host[0] == '-')
		return usage("a master's host name cannot begin with '-'");
	if (tp_init(&w.tp, host, file, self, err, sizeof(err)) == -1) {
		say("%s", err);
		return 1;
	}
	tp_where(&w.tp, w.where, sizeof(w.where));
	free(host);
	free(file);
	if (admin) {
		/* a signal ends a queue command's wait, for the lock say */
		w.tp.intr_fd = sig_fd();
		w.tp.intr = stop_asked;
		rv = o.plan ? do_plan(&w) : o.timeline ? do_timeline(&w) :
		    o.add ? do_add(&w) : o.edit ? do_edit(&w) : o.lock ?
		    do_lock(&w) : o.reset ? do_reset(&w) : o.wait ?
		    do_wait(&w) : o.kill ? do_kill(&w) : o.pause ?
		    do_pause(&w, 1) : o.resume ? do_pause(&w, 0) : o.log ?
		    do_log(&w) : o.follow ? do_follow(&w) :
		    do_status(&w);
		if (rv != 0 && (got_int || got_hard))
			rv = got_hard ? sig_stop_code() : 130;
		tp_free(&w.tp);
		free(o.command);
		free(o.killq);
		return rv;
	}
	worker_tp(&w);
	rv = work(&w);
	free(w.prev_text);
	free((char *)o.logdir);
	tp_free(&w.tp);
	return rv;
}
