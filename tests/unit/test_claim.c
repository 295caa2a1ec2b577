/*
 * Unit tests of common/claim.c: what rtq-claim does to a task file.
 *
 * Each test keeps the task file as text, lets simulated workers ask for
 * work the way rtq does (report the previous item, get the next one), and
 * checks the replies and the file after each patch.  Time stamps are fixed
 * strings, so every file is compared byte for byte.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "claim.h"
#include "testutil.h"

#define T0		"11-24 08:00:00"
/* the annotations claim_next writes at time T0 */
#define RUN(w)		" # worker " #w " # (" T0 " ..."
#define END(w, st)	RUN(w) " " T0 ") #" st
#define OK		0

static struct buf	 text;		/* the task file as it is now */
static const char	*now;		/* time stamp of the next request */

static void
setup(void)
{
	struct buf	 b = BUF_INIT;

	text = b;
	now = T0;
}

static void
teardown(void)
{
	buf_free(&text);
}

/* ------------------------------------------------------- file helpers */

static void
file_lines(const char *const *lines)
{
	tu_join(&text, lines);
}

static void
file_raw(const char *s)
{
	buf_reset(&text);
	ck_assert_int_eq(buf_grow(&text, 0), 0);
	ck_assert_int_eq(buf_adds(&text, s), 0);
}

#define expect_raw(want)	ck_assert_str_eq(text.s, (want))
#define expect_lines(l)		do {					\
	struct buf	 want_ = BUF_INIT;				\
									\
	tu_join(&want_, (l));						\
	ck_assert_str_eq(text.s, want_.s);				\
	buf_free(&want_);						\
} while (0)

/* Line n (1-based) without its line ending (valid for a few calls). */
static const char *
line(size_t n)
{
	static char	 b[4][512];
	static int	 k;
	const char	*p = text.s, *e;
	size_t		 len;

	ck_assert_uint_gt(n, 0);
	while (--n > 0) {
		ck_assert_ptr_nonnull(p = strchr(p, '\n'));
		p++;
	}
	if ((e = strchr(p, '\n')) != NULL) {
		len = (size_t)(e - p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
	} else
		len = strlen(p);
	k = (k + 1) % 4;
	snprintf(b[k], sizeof(b[k]), "%.*s", (int)len, p);
	return b[k];
}

/* A person edits the file: at line n, delete del lines, insert ins. */
static void
edit(size_t n, size_t del, const char *ins)
{
	struct tu_file	 t;
	struct patch	 p = PATCH_INIT;
	struct buf	 out = BUF_INIT;

	tu_load(&t, text.s, text.len);
	ck_assert_uint_le(n - 1 + del, t.f.nline);
	ck_assert_int_eq(patch_replace(&p, t.f.off[n - 1],
	    t.f.off[n - 1 + del] - t.f.off[n - 1], ins, strlen(ins)), 0);
	tu_apply(&t, &p, &out);
	buf_free(&text);
	text = out;
	patch_free(&p);
	tu_unload(&t);
}

/* ---------------------------------------------------- request helpers */

/*
 * Run one claim_next request on the file; on success, the file becomes
 * the patched version.  Returns what claim_next returned.
 */
static int
request(const struct claim_req *q, struct claim_reply *r, char *err,
    size_t errlen)
{
	struct tu_file	 t;
	struct patch	 p = PATCH_INIT;
	struct buf	 out = BUF_INIT;
	int		 rv;

	tu_load(&t, text.s, text.len);
	if ((rv = claim_next(&t.f, q, &p, r, err, errlen)) == 0) {
		tu_apply(&t, &p, &out);
		buf_free(&text);
		text = out;
	}
	patch_free(&p);
	tu_unload(&t);
	return rv;
}

/* Register a worker (want < 0: the next id); returns the id. */
static long
reg(long want, const char *name)
{
	struct tu_file	 t;
	struct patch	 p = PATCH_INIT;
	struct buf	 out = BUF_INIT;
	char		 err[256];
	long		 id;

	tu_load(&t, text.s, text.len);
	id = claim_register(&t.f, want, name, now, &p, err, sizeof(err));
	ck_assert_msg(id >= 0, "claim_register: %s", err);
	tu_apply(&t, &p, &out);
	buf_free(&text);
	text = out;
	patch_free(&p);
	tu_unload(&t);
	return id;
}

/* Reset the file from line k on; returns the count of lines changed. */
static long
reset(size_t k, int failed_only)
{
	struct tu_file	 t;
	struct patch	 p = PATCH_INIT;
	struct buf	 out = BUF_INIT;
	char		 err[256];
	long		 n;

	tu_load(&t, text.s, text.len);
	n = claim_reset(&t.f, k, failed_only, &p, err, sizeof(err));
	ck_assert_msg(n >= 0, "claim_reset: %s", err);
	tu_apply(&t, &p, &out);
	buf_free(&text);
	text = out;
	patch_free(&p);
	tu_unload(&t);
	return n;
}

/*
 * Release the running tasks of the workers ids[0..n) as lost, at stamp;
 * returns the count of lines released.
 */
static long
lost(const long *ids, size_t n, const char *stamp)
{
	struct tu_file	 t;
	struct patch	 p = PATCH_INIT;
	struct buf	 out = BUF_INIT;
	char		 err[256];
	long		 k;

	tu_load(&t, text.s, text.len);
	k = claim_lost(&t.f, ids, n, stamp, &p, err, sizeof(err));
	ck_assert_msg(k >= 0, "claim_lost: %s", err);
	tu_apply(&t, &p, &out);
	buf_free(&text);
	text = out;
	patch_free(&p);
	tu_unload(&t);
	return k;
}

/*
 * A simulated worker: it holds the item it last got and reports it with
 * its next request, as rtq does.
 */
struct wk {
	long		 id;
	size_t		 pos;
	size_t		 line;		/* item held; 0: none */
	int		 init;
	char		 text[256];
	/* the last reply */
	enum claim_answer answer;
	enum proto_fin	 fin;
	size_t		 fin_at;
	size_t		 init_line, task_line;
	char		 init_text[256], task_text[256];
	/* what it sends */
	long		 retries;	/* -1: no limit (an older rtq) */
	const long	*live, *sibs;	/* the other live workers, its own */
	size_t		 nlive, nsibs;
	int		 paused;	/* the last reply said so */
};

#define WK(n)	{ .id = (n), .retries = -1 }
#define WKR(n, r) { .id = (n), .retries = (r) }

static void
wk_ask(struct wk *w, int status, int no_claim)
{
	struct claim_req	 q;
	struct claim_reply	 r;
	char			 err[256];

	memset(&q, 0, sizeof(q));
	q.worker = w->id;
	q.pos = w->pos;
	q.fin_line = w->line;
	q.fin_init = w->init;
	q.fin_text = w->text;
	q.fin_textlen = strlen(w->text);
	q.fin_status = status;
	q.no_claim = no_claim;
	q.now = now;
	q.retries = w->retries;
	q.live = w->live;
	q.nlive = w->nlive;
	q.sibs = w->sibs;
	q.nsibs = w->nsibs;
	ck_assert_msg(request(&q, &r, err, sizeof(err)) == 0,
	    "worker %ld: claim_next: %s", w->id, err);
	w->answer = r.answer;
	w->fin = r.fin;
	w->fin_at = r.fin_at;
	w->pos = r.pos;
	w->init_line = r.init_line;
	w->task_line = r.task_line;
	w->paused = r.paused;
	snprintf(w->init_text, sizeof(w->init_text), "%s",
	    r.init_text.s ? r.init_text.s : "");
	snprintf(w->task_text, sizeof(w->task_text), "%s",
	    r.task_text.s ? r.task_text.s : "");
	claim_reply_free(&r);
	w->line = 0;
	w->init = 0;
	w->text[0] = '\0';
	if (no_claim || r.answer != CLAIM_WORK)
		return;
	if (r.task_line != 0) {
		w->line = r.task_line;
		snprintf(w->text, sizeof(w->text), "%s", w->task_text);
	} else {
		w->line = r.init_line;
		w->init = 1;
		snprintf(w->text, sizeof(w->text), "%s", w->init_text);
	}
}

/* Report the item held with this exit status and ask for the next. */
static void
step(struct wk *w, int status)
{
	wk_ask(w, status, 0);
}

/* Report the item held, asking for nothing. */
static void
finish(struct wk *w, int status)
{
	wk_ask(w, status, 1);
}

#define expect_task(w, n, s)	do {					\
	ck_assert_int_eq((w).answer, CLAIM_WORK);			\
	ck_assert_uint_eq((w).init_line, 0);				\
	ck_assert_uint_eq((w).task_line, (n));				\
	ck_assert_str_eq((w).task_text, (s));				\
} while (0)
#define expect_init(w, n, s)	do {					\
	ck_assert_int_eq((w).answer, CLAIM_WORK);			\
	ck_assert_uint_eq((w).task_line, 0);				\
	ck_assert_uint_eq((w).init_line, (n));				\
	ck_assert_str_eq((w).init_text, (s));				\
	ck_assert_uint_eq((w).pos, (n));				\
} while (0)
#define expect_wait(w)	ck_assert_int_eq((w).answer, CLAIM_WAIT)
#define expect_none(w)	ck_assert_int_eq((w).answer, CLAIM_NONE)

/* ------------------------------------------------------ seed examples */

/* The task file of the seed README, "A practical example". */
static const char *const practical[] = {
	"cd ~/playground/models/resnet_family #!",
	"cd resnet34; train_model #:mygroup1",
	"cd resnet50; train_model",
	"cd resnet101; train_model #@2",
	"",
	"cd ../mbnet_family #!",
	"cd mbnetv1; train_model",
	"cd mbnetv2; train_model",
	"cd mbnetv3; train_model",
	"",
	"cd ../resnet_family #!",
	"cd resnet34; deploy_model #:mygroup1",
	"cd resnet34; test_model_on dataset1 #+mygroup1",
	"cd resnet34; test_model_on dataset2 #+mygroup1",
	"cd resnet34; test_model_on dataset3 #+mygroup1",
	"cd resnet34; report_test_result #:mygroup1",
	NULL
};

START_TEST(test_practical_example)
{
	struct wk	 w0 = WK(0), w1 = WK(1), w2 = WK(2);
	struct buf	 orig = BUF_INIT;

	file_lines(practical);
	tu_join(&orig, practical);
	/* registration puts the header on line 1: tasks move down by one */
	ck_assert_int_eq(reg(-1, "gpu0"), 0);
	ck_assert_int_eq(reg(-1, "gpu1"), 1);

	step(&w0, OK);
	expect_init(w0, 2, "cd ~/playground/models/resnet_family #!");
	step(&w0, OK);
	expect_task(w0, 3, "cd resnet34; train_model #:mygroup1");
	ck_assert_uint_eq(w0.pos, 3);
	step(&w1, OK);
	expect_init(w1, 2, "cd ~/playground/models/resnet_family #!");
	step(&w1, OK);
	expect_task(w1, 4, "cd resnet50; train_model");

	/* resnet101 (#@2) is not for worker 0: it goes on to the mbnets */
	step(&w0, OK);
	ck_assert_int_eq(w0.fin, PROTO_FIN_DONE);
	ck_assert_uint_eq(w0.fin_at, 3);
	expect_init(w0, 7, "cd ../mbnet_family #!");
	step(&w0, OK);
	expect_task(w0, 8, "cd mbnetv1; train_model");
	ck_assert_str_eq(line(5), "cd resnet101; train_model #@2");

	/* worker 2 joins late and gets its task */
	ck_assert_int_eq(reg(-1, "gpu2"), 2);
	ck_assert_str_eq(line(1), "#LASTWORKER 2");
	step(&w2, OK);
	expect_init(w2, 2, "cd ~/playground/models/resnet_family #!");
	step(&w2, OK);
	expect_task(w2, 5, "cd resnet101; train_model #@2");

	step(&w1, OK);
	expect_init(w1, 7, "cd ../mbnet_family #!");
	step(&w1, OK);
	expect_task(w1, 9, "cd mbnetv2; train_model");
	step(&w0, OK);
	expect_task(w0, 10, "cd mbnetv3; train_model");

	/* deploy_model needs only the #:mygroup1 line above it */
	step(&w1, OK);
	expect_init(w1, 12, "cd ../resnet_family #!");
	step(&w1, OK);
	expect_task(w1, 13, "cd resnet34; deploy_model #:mygroup1");

	/* the tests wait for deploy_model */
	step(&w0, OK);
	expect_init(w0, 12, "cd ../resnet_family #!");
	step(&w0, OK);
	expect_wait(w0);
	ck_assert_uint_eq(w0.pos, 12);
	step(&w0, OK);
	expect_wait(w0);
	ck_assert_str_eq(line(14),
	    "cd resnet34; test_model_on dataset1 #+mygroup1");

	/* deploy_model is ok: the three tests run side by side */
	step(&w1, OK);
	expect_task(w1, 14, "cd resnet34; test_model_on dataset1 #+mygroup1");
	step(&w0, OK);
	expect_task(w0, 15, "cd resnet34; test_model_on dataset2 #+mygroup1");
	step(&w2, OK);
	expect_init(w2, 7, "cd ../mbnet_family #!");
	step(&w2, OK);
	expect_init(w2, 12, "cd ../resnet_family #!");
	step(&w2, OK);
	expect_task(w2, 16, "cd resnet34; test_model_on dataset3 #+mygroup1");
	ck_assert_str_eq(line(14),
	    "#cd resnet34; test_model_on dataset1 #+mygroup1" RUN(1));
	ck_assert_str_eq(line(15),
	    "#cd resnet34; test_model_on dataset2 #+mygroup1" RUN(0));
	ck_assert_str_eq(line(16),
	    "#cd resnet34; test_model_on dataset3 #+mygroup1" RUN(2));

	/* the report waits for all three */
	step(&w1, OK);
	expect_wait(w1);
	step(&w0, OK);
	expect_wait(w0);
	step(&w1, OK);
	expect_wait(w1);
	step(&w2, OK);
	expect_task(w2, 17, "cd resnet34; report_test_result #:mygroup1");

	/* the report might still fail back to them: wait, then none */
	step(&w0, OK);
	expect_wait(w0);
	step(&w2, OK);
	expect_none(w2);
	step(&w0, OK);
	expect_none(w0);
	step(&w1, OK);
	expect_none(w1);

	expect_lines(LINES(
	    "#LASTWORKER 2",
	    "cd ~/playground/models/resnet_family #!",
	    "#cd resnet34; train_model #:mygroup1" END(0, "ok"),
	    "#cd resnet50; train_model" END(1, "ok"),
	    "#cd resnet101; train_model #@2" END(2, "ok"),
	    "",
	    "cd ../mbnet_family #!",
	    "#cd mbnetv1; train_model" END(0, "ok"),
	    "#cd mbnetv2; train_model" END(1, "ok"),
	    "#cd mbnetv3; train_model" END(0, "ok"),
	    "",
	    "cd ../resnet_family #!",
	    "#cd resnet34; deploy_model #:mygroup1" END(1, "ok"),
	    "#cd resnet34; test_model_on dataset1 #+mygroup1" END(1, "ok"),
	    "#cd resnet34; test_model_on dataset2 #+mygroup1" END(0, "ok"),
	    "#cd resnet34; test_model_on dataset3 #+mygroup1" END(2, "ok"),
	    "#cd resnet34; report_test_result #:mygroup1" END(2, "ok"),
	    "# worker 0: gpu0 (" T0 ")",
	    "# worker 1: gpu1 (" T0 ")",
	    "# worker 2: gpu2 (" T0 ")"));

	/* and a reset gives back the file as written */
	ck_assert_int_eq(reset(0, 0), 15);
	ck_assert_str_eq(text.s, orig.s);
	buf_free(&orig);
}
END_TEST

START_TEST(test_practical_example_without_worker_2)
{
	struct wk	 w0 = WK(0), w1 = WK(1);
	int		 i;

	/* nobody can run resnet101: the others finish the rest and stop */
	file_lines(practical);
	for (i = 0; i < 40 && (w0.answer != CLAIM_NONE ||
	    w1.answer != CLAIM_NONE || i < 2); i++) {
		step(&w0, OK);
		step(&w1, OK);
	}
	expect_none(w0);
	expect_none(w1);
	ck_assert_str_eq(line(4), "cd resnet101; train_model #@2");
	ck_assert_str_eq(line(7), "#cd mbnetv1; train_model" END(0, "ok"));
	ck_assert_ptr_nonnull(strstr(line(16), "#cd resnet34; "
	    "report_test_result #:mygroup1 # worker "));
	ck_assert_ptr_nonnull(strstr(line(16), ") #ok"));
}
END_TEST

START_TEST(test_simple_example_from_readme)
{
	struct wk	 w0 = WK(0), w1 = WK(1);
	static const char orig[] = "echo task1; sleep 3 \n"
	    "echo task2; sleep 3 \n"
	    "echo task3; sleep 3\n"
	    "echo task4; sleep 3 \n"
	    "echo task5; sleep 3 \n";

	/*
	 * "A simple example", replayed at the seed's times.  A task's
	 * trailing blank stays in front of its annotation, so the reset
	 * gives back the file byte for byte.
	 */
	file_raw(orig);
	now = "07-28 15:52:28";
	ck_assert_int_eq(reg(-1,
	    "myspace-g46kh-25239-worker-0 100.122.27.103 "), 0);
	now = "07-28 15:52:29";
	step(&w0, OK);
	expect_task(w0, 2, "echo task1; sleep 3 ");
	now = "07-28 15:52:33";
	step(&w0, OK);
	expect_task(w0, 3, "echo task2; sleep 3 ");
	now = "07-28 15:52:34";
	ck_assert_int_eq(reg(-1,
	    "myspace-khg46-39252-worker-0 100.121.27.101 "), 1);
	step(&w1, OK);
	expect_task(w1, 4, "echo task3; sleep 3");
	expect_raw("#LASTWORKER 1\n"
	    "#echo task1; sleep 3  # worker 0 # (07-28 15:52:29 ... "
	    "07-28 15:52:33) #ok\n"
	    "#echo task2; sleep 3  # worker 0 # (07-28 15:52:33 ...\n"
	    "#echo task3; sleep 3 # worker 1 # (07-28 15:52:34 ...\n"
	    "echo task4; sleep 3 \n"
	    "echo task5; sleep 3 \n"
	    "# worker 0: myspace-g46kh-25239-worker-0 100.122.27.103  "
	    "(07-28 15:52:28)\n"
	    "# worker 1: myspace-khg46-39252-worker-0 100.121.27.101  "
	    "(07-28 15:52:34)\n");

	ck_assert_int_eq(reset(0, 0), 6);
	expect_raw(orig);
}
END_TEST

/* ---------------------------------------------------- failure, retry */

START_TEST(test_failure_and_retry)
{
	struct wk	 w0 = WK(0), w1 = WK(1);

	file_lines(LINES("echo a", "echo b"));
	now = "11-24 08:00:00";
	step(&w0, OK);
	expect_task(w0, 1, "echo a");

	/* it fails: uncommented, and worker 0 moves on to the next */
	now = "11-24 08:00:05";
	step(&w0, 3);
	ck_assert_int_eq(w0.fin, PROTO_FIN_DONE);
	ck_assert_str_eq(line(1), "echo a # worker 0 # (11-24 08:00:00 ... "
	    "11-24 08:00:05) #error3");
	expect_task(w0, 2, "echo b");

	/* worker 0 does not get it again: none left for it */
	now = "11-24 08:00:06";
	step(&w0, OK);
	expect_none(w0);

	/* worker 1 does; the second annotation follows the first */
	now = "11-24 08:00:10";
	step(&w1, OK);
	expect_task(w1, 1, "echo a");
	ck_assert_str_eq(line(1), "#echo a # worker 0 # (11-24 08:00:00 ... "
	    "11-24 08:00:05) #error3 # worker 1 # (11-24 08:00:10 ...");

	/* even if that fails, worker 0 would not run it */
	step(&w0, OK);
	expect_none(w0);

	now = "11-24 08:00:20";
	step(&w1, OK);
	expect_none(w1);
	expect_lines(LINES(
	    "#echo a # worker 0 # (11-24 08:00:00 ... 11-24 08:00:05) #error3"
	    " # worker 1 # (11-24 08:00:10 ... 11-24 08:00:20) #ok",
	    "#echo b # worker 0 # (11-24 08:00:05 ... 11-24 08:00:06) #ok"));
}
END_TEST

START_TEST(test_failed_twice)
{
	struct wk	 w0 = WK(0), w1 = WK(1), w2 = WK(2);

	file_lines(LINES("false"));
	step(&w0, OK);
	step(&w0, 1);
	expect_none(w0);
	step(&w1, OK);
	expect_task(w1, 1, "false");
	/* worker 0 failed it: nothing is left for it, even now */
	step(&w0, OK);
	expect_none(w0);
	step(&w1, 2);
	expect_none(w1);
	ck_assert_str_eq(line(1), "false" END(0, "error1")
	    " # worker 1 # (" T0 " ... " T0 ") #error2");
	step(&w2, OK);
	expect_task(w2, 1, "false");
	step(&w2, 1);
	expect_lines(LINES("false" END(0, "error1") END(1, "error2")
	    END(2, "error1")));
	expect_none(w2);
}
END_TEST

START_TEST(test_wait_while_another_runs)
{
	struct wk	 w0 = WK(0), w1 = WK(1);

	/* a task running elsewhere may fail back: wait, do not stop */
	file_lines(LINES("echo a"));
	step(&w0, OK);
	expect_task(w0, 1, "echo a");
	step(&w1, OK);
	expect_wait(w1);
	step(&w0, 1);
	expect_none(w0);
	step(&w1, OK);
	expect_task(w1, 1, "echo a");
}
END_TEST

START_TEST(test_lost_worker)
{
	struct wk	 w0 = WK(0), w1 = WK(1), again;

	/* a task of a worker declared lost is failed as "#lost" */
	file_lines(LINES("echo a"));
	step(&w0, OK);
	again = w0;
	finish(&w0, PROTO_ST_LOST);
	ck_assert_int_eq(w0.fin, PROTO_FIN_DONE);
	expect_lines(LINES("echo a" END(0, "lost")));
	/* said twice, it changes nothing */
	finish(&again, PROTO_ST_LOST);
	ck_assert_int_eq(again.fin, PROTO_FIN_REPEAT);
	expect_lines(LINES("echo a" END(0, "lost")));
	step(&w0, OK);
	expect_none(w0);
	step(&w1, OK);
	expect_task(w1, 1, "echo a");
}
END_TEST

START_TEST(test_lost_workers_released)
{
	struct wk	 w0 = WK(0), w1 = WK(1);
	static const long ids[] = { 1, 3 };

	/* the lease ran out for workers 1 and 3: their tasks go back */
	file_lines(LINES(
	    "#echo a" RUN(1),
	    "#echo b" RUN(2),
	    "#echo c" END(3, "ok"),
	    "#echo d" END(0, "error1") RUN(3),
	    "echo e"));
	now = "11-24 09:00:00";
	ck_assert_int_eq(lost(ids, 2, now), 2);
	expect_lines(LINES(
	    "echo a # worker 1 # (" T0 " ... 11-24 09:00:00) #lost",
	    "#echo b" RUN(2),
	    "#echo c" END(3, "ok"),
	    "echo d" END(0, "error1")
	    " # worker 3 # (" T0 " ... 11-24 09:00:00) #lost",
	    "echo e"));
	/* not back to the worker that lost it, nor to one that failed it */
	step(&w1, OK);
	expect_task(w1, 4, "echo d");
	step(&w0, OK);
	expect_task(w0, 1, "echo a");
}
END_TEST

START_TEST(test_affinity_only_elsewhere_is_none)
{
	struct wk	 w0 = WK(0), w3 = WK(3);

	file_lines(LINES("echo big #@3", "echo also #@1#@3"));
	step(&w0, OK);
	expect_none(w0);
	step(&w3, OK);
	expect_task(w3, 1, "echo big #@3");
	step(&w3, OK);
	expect_task(w3, 2, "echo also #@1#@3");
	expect_lines(LINES("#echo big #@3" END(3, "ok"),
	    "#echo also #@1#@3" RUN(3)));
}
END_TEST

/* ------------------------------------------------- init lines, order */

START_TEST(test_init_lines_run_by_every_worker)
{
	struct wk	 w0 = WK(0), w1 = WK(1);

	file_lines(LINES("cd /a #!", "echo t1", "exit #!#@1", "echo t2"));
	step(&w0, OK);
	expect_init(w0, 1, "cd /a #!");
	step(&w1, OK);
	expect_init(w1, 1, "cd /a #!");
	step(&w0, OK);
	expect_task(w0, 2, "echo t1");
	/* the init line for worker 1 only is passed over by worker 0 */
	step(&w0, OK);
	expect_task(w0, 4, "echo t2");
	step(&w1, OK);
	expect_init(w1, 3, "exit #!#@1");
	step(&w1, OK);
	expect_wait(w1);
	/* init lines are never annotated, even when reported */
	step(&w0, OK);
	expect_none(w0);
	step(&w1, OK);
	expect_none(w1);
	expect_lines(LINES("cd /a #!", "#echo t1" END(0, "ok"),
	    "exit #!#@1", "#echo t2" END(0, "ok")));
}
END_TEST

START_TEST(test_failed_init_line_is_not_annotated)
{
	struct wk	 w0 = WK(0);

	file_lines(LINES("cd /nonexistent #!", "echo t"));
	step(&w0, OK);
	expect_init(w0, 1, "cd /nonexistent #!");
	finish(&w0, 1);
	ck_assert_int_eq(w0.fin, PROTO_FIN_NONE);
	expect_lines(LINES("cd /nonexistent #!", "echo t"));
}
END_TEST

START_TEST(test_out_of_order_claim_returns_init)
{
	struct wk	 w0 = WK(0), w1 = WK(1), w2 = WK(2);

	file_lines(LINES("cd /a #!", "cd /only1 #!#@1", "echo t1", "echo t2",
	    "echo t3"));
	step(&w0, OK);
	expect_init(w0, 1, "cd /a #!");
	step(&w0, OK);
	expect_task(w0, 3, "echo t1");
	step(&w1, OK);
	expect_init(w1, 1, "cd /a #!");
	step(&w1, OK);
	expect_init(w1, 2, "cd /only1 #!#@1");
	step(&w1, OK);
	expect_task(w1, 4, "echo t2");
	step(&w2, OK);
	expect_init(w2, 1, "cd /a #!");
	step(&w2, OK);
	expect_task(w2, 5, "echo t3");
	ck_assert_uint_eq(w2.pos, 5);

	/* t1 fails on worker 0 */
	step(&w0, 2);
	expect_wait(w0);

	/* worker 2, at line 5, gets t1 with the init line it may run */
	step(&w2, OK);
	ck_assert_int_eq(w2.answer, CLAIM_WORK);
	ck_assert_uint_eq(w2.init_line, 1);
	ck_assert_str_eq(w2.init_text, "cd /a #!");
	ck_assert_uint_eq(w2.task_line, 3);
	ck_assert_str_eq(w2.task_text, "echo t1");
	ck_assert_uint_eq(w2.pos, 5);		/* the position stays */

	/* it fails there too; worker 1's init line above it is line 2 */
	step(&w2, 2);
	expect_wait(w2);
	ck_assert_uint_eq(w2.pos, 5);
	step(&w1, OK);
	ck_assert_int_eq(w1.answer, CLAIM_WORK);
	ck_assert_uint_eq(w1.init_line, 2);
	ck_assert_str_eq(w1.init_text, "cd /only1 #!#@1");
	ck_assert_uint_eq(w1.task_line, 3);
	ck_assert_uint_eq(w1.pos, 4);

	/* finishing it does not move worker 1 back or re-run init lines */
	step(&w1, OK);
	ck_assert_int_eq(w1.fin, PROTO_FIN_DONE);
	ck_assert_uint_eq(w1.fin_at, 3);
	expect_none(w1);
	ck_assert_uint_eq(w1.pos, 4);
	ck_assert_str_eq(line(3), "#echo t1" END(0, "error2")
	    END(2, "error2") END(1, "ok"));
}
END_TEST

START_TEST(test_out_of_order_without_init)
{
	struct wk	 w0 = WK(0), w1 = WK(1);

	file_lines(LINES("echo t1", "cd /b #!", "echo t2"));
	step(&w0, OK);
	expect_task(w0, 1, "echo t1");
	step(&w1, OK);
	expect_init(w1, 2, "cd /b #!");
	step(&w1, OK);
	expect_task(w1, 3, "echo t2");
	step(&w0, 1);
	/* t1 has no init line above it: it comes alone */
	step(&w1, OK);
	expect_task(w1, 1, "echo t1");
	ck_assert_uint_eq(w1.pos, 3);
}
END_TEST

START_TEST(test_blocked_init_line_stops_scan)
{
	struct wk	 w0 = WK(0), w1 = WK(1);

	file_lines(LINES("make out #:g", "cd out #!#:g", "echo use"));
	step(&w0, OK);
	expect_task(w0, 1, "make out #:g");
	/* the init line waits for make, and so does every task after it */
	step(&w1, OK);
	expect_wait(w1);
	ck_assert_uint_eq(w1.pos, 0);
	ck_assert_str_eq(line(3), "echo use");
	step(&w0, OK);
	expect_init(w0, 2, "cd out #!#:g");
	step(&w1, OK);
	expect_init(w1, 2, "cd out #!#:g");
	step(&w1, OK);
	expect_task(w1, 3, "echo use");
}
END_TEST

/* ---------------------------------------------------------------- groups */

START_TEST(test_barrier)
{
	struct wk	 w0 = WK(0), w1 = WK(1), w2 = WK(2);

	/* "#:" alone waits for every task above; all below wait for it */
	file_lines(LINES("echo a", "echo b", "echo barrier #:", "echo c"));
	step(&w0, OK);
	expect_task(w0, 1, "echo a");
	step(&w1, OK);
	expect_task(w1, 2, "echo b");
	step(&w2, OK);
	expect_wait(w2);
	step(&w0, OK);
	expect_wait(w0);
	step(&w1, OK);
	expect_task(w1, 3, "echo barrier #:");
	step(&w0, OK);
	expect_wait(w0);
	step(&w1, OK);
	expect_task(w1, 4, "echo c");
}
END_TEST

START_TEST(test_sequential_and_parallel_groups)
{
	struct wk	 w0 = WK(0), w1 = WK(1), w2 = WK(2), w3 = WK(3);

	file_lines(LINES("echo a1 #:g", "echo x", "echo a2 #:g",
	    "echo p1 #+g", "echo p2 #+g", "echo y #:h", "echo a3 #:g"));
	step(&w0, OK);
	expect_task(w0, 1, "echo a1 #:g");
	step(&w1, OK);
	expect_task(w1, 2, "echo x");		/* not in g */
	step(&w2, OK);
	expect_task(w2, 6, "echo y #:h");	/* g does not hold h */
	step(&w3, OK);
	expect_wait(w3);
	/* #:g after #:g */
	step(&w0, OK);
	expect_task(w0, 3, "echo a2 #:g");
	step(&w3, OK);
	expect_wait(w3);
	/* #+g after #:g, and side by side */
	step(&w0, OK);
	expect_task(w0, 4, "echo p1 #+g");
	step(&w3, OK);
	expect_task(w3, 5, "echo p2 #+g");
	/* #:g after the #+g lines */
	step(&w2, OK);
	expect_wait(w2);
	step(&w0, OK);
	expect_wait(w0);
	step(&w3, OK);
	expect_task(w3, 7, "echo a3 #:g");
}
END_TEST

START_TEST(test_failed_task_holds_its_group)
{
	struct wk	 w0 = WK(0), w1 = WK(1);
	long		 live1[] = { 1 };

	/* worker 1 is live: it may retry what worker 0 fails */
	w0.live = live1;
	w0.nlive = 1;
	file_lines(LINES("make #:build", "make test #:build"));
	step(&w0, OK);
	step(&w0, 2);
	/* make test waits for a retry of make by someone else */
	expect_wait(w0);
	step(&w0, OK);
	expect_wait(w0);
	step(&w1, OK);
	expect_task(w1, 1, "make #:build");
	step(&w1, OK);
	expect_task(w1, 2, "make test #:build");
}
END_TEST

/* ------------------------------------------------ finish: edited files */

START_TEST(test_finish_after_lines_added_above)
{
	struct wk	 w0 = WK(0);

	file_lines(LINES("echo a", "echo b", "echo c"));
	step(&w0, OK);
	step(&w0, OK);
	expect_task(w0, 2, "echo b");
	edit(1, 0, "# added while it ran\necho new\n");
	finish(&w0, 1);
	ck_assert_int_eq(w0.fin, PROTO_FIN_DONE);
	ck_assert_uint_eq(w0.fin_at, 4);
	expect_lines(LINES("# added while it ran", "echo new",
	    "#echo a" END(0, "ok"), "echo b" END(0, "error1"), "echo c"));
}
END_TEST

START_TEST(test_finish_after_lines_removed_above)
{
	struct wk	 w0 = WK(0);

	file_lines(LINES("# one", "# two", "# three", "# four", "# five",
	    "echo t"));
	step(&w0, OK);
	expect_task(w0, 6, "echo t");
	/* the file is now shorter than the reported line number */
	edit(1, 4, "");
	step(&w0, OK);
	ck_assert_int_eq(w0.fin, PROTO_FIN_DONE);
	ck_assert_uint_eq(w0.fin_at, 2);
	expect_none(w0);
	expect_lines(LINES("# five", "#echo t" END(0, "ok")));
}
END_TEST

START_TEST(test_finish_after_one_line_removed_above)
{
	struct wk	 w0 = WK(0);

	file_lines(LINES("# one", "# two", "echo t", "echo u"));
	step(&w0, OK);
	edit(2, 1, "");
	step(&w0, OK);
	ck_assert_int_eq(w0.fin, PROTO_FIN_DONE);
	ck_assert_uint_eq(w0.fin_at, 2);
	expect_task(w0, 3, "echo u");
}
END_TEST

START_TEST(test_finish_picks_own_line)
{
	struct wk	 w0 = WK(0), w1 = WK(1);

	/* two identical tasks; each worker finishes its own */
	file_lines(LINES("echo same", "echo same"));
	step(&w0, OK);
	expect_task(w0, 1, "echo same");
	step(&w1, OK);
	expect_task(w1, 2, "echo same");
	edit(1, 0, "# new first line\n");
	finish(&w0, OK);
	ck_assert_uint_eq(w0.fin_at, 2);
	finish(&w1, 4);
	ck_assert_uint_eq(w1.fin_at, 3);
	expect_lines(LINES("# new first line", "#echo same" END(0, "ok"),
	    "echo same" END(1, "error4")));
}
END_TEST

START_TEST(test_finish_line_gone_orphan)
{
	struct wk	 w0 = WK(0);

	file_lines(LINES("echo a", "echo b"));
	step(&w0, OK);
	expect_task(w0, 1, "echo a");
	edit(1, 1, "");
	now = "11-24 09:30:00";
	step(&w0, 2);
	ck_assert_int_eq(w0.fin, PROTO_FIN_ORPHAN);
	expect_task(w0, 1, "echo b");
	expect_lines(LINES(
	    "#echo b # worker 0 # (11-24 09:30:00 ...",
	    "#?line:1# echo a # worker 0 # ... 11-24 09:30:00) #error2"));
	/* an orphan report is no task */
	step(&w0, OK);
	expect_none(w0);
	/* a reset drops it */
	reset(0, 0);
	expect_lines(LINES("echo b"));
}
END_TEST

START_TEST(test_finish_line_edited)
{
	struct wk	 w0 = WK(0), w1 = WK(1);

	/* the running line's text was edited: still W's only open line */
	file_lines(LINES("# x", "echo a", "echo b"));
	step(&w0, OK);
	step(&w1, OK);
	edit(2, 1, "#echo A" RUN(0) "\n");
	finish(&w0, 1);
	ck_assert_int_eq(w0.fin, PROTO_FIN_DONE);
	ck_assert_uint_eq(w0.fin_at, 2);
	/* and not worker 1's line */
	expect_lines(LINES("# x", "echo A" END(0, "error1"),
	    "#echo b" RUN(1)));
}
END_TEST

START_TEST(test_finish_stale_text_closes_no_other_line)
{
	struct wk	 w0 = WK(0), stale;

	/*
	 * A late report of an earlier task names a line whose text is not
	 * there: W's running task elsewhere must stay running, and the
	 * report becomes an orphan report.
	 */
	file_lines(LINES("echo a", "echo b", "echo c"));
	step(&w0, OK);
	expect_task(w0, 1, "echo a");
	stale = w0;
	step(&w0, OK);
	expect_task(w0, 2, "echo b");
	snprintf(stale.text, sizeof(stale.text), "echo gone");
	stale.line = 3;
	finish(&stale, 1);
	ck_assert_int_eq(stale.fin, PROTO_FIN_ORPHAN);
	expect_lines(LINES("#echo a" END(0, "ok"), "#echo b" RUN(0),
	    "echo c", "#?line:3# echo gone # worker 0 # ... " T0 ") #error1"));
	/* the real report still closes its line */
	finish(&w0, OK);
	ck_assert_int_eq(w0.fin, PROTO_FIN_DONE);
	ck_assert_uint_eq(w0.fin_at, 2);
}
END_TEST

START_TEST(test_register_name_cannot_forge_a_task)
{
	struct tu_file	 t;
	struct tf_item	 it;
	char		 err[256];

	file_lines(LINES("echo a"));
	ck_assert_int_eq(reg(-1, "x; touch PWNED # worker 5 # (a b) #ok"),
	    0);
	ck_assert_int_eq(reg(-1, "tab\there\x7f #!"), 1);
	expect_lines(LINES("#LASTWORKER 1", "echo a",
	    "# worker 0: x; touch PWNED _ worker 5 _ (a b) _ok (" T0 ")",
	    "# worker 1: tab_here_ _! (" T0 ")"));
	tu_load(&t, text.s, text.len);
	ck_assert_int_eq(tf_classify(t.f.buf + t.f.off[2],
	    tf_linelen(&t.f, 2), 3, &it, err, sizeof(err)), 0);
	ck_assert_int_eq(it.kind, TF_REGISTRATION);
	tu_unload(&t);
	/* and a reset leaves nothing of it to run */
	reset(0, 0);
	expect_lines(LINES("echo a"));
	reset(0, 0);
	file_lines(LINES("echo a", "# worker 0: x; touch PWNED _ worker 5 _ "
	    "(a b) _ok (" T0 ")"));
	reset(2, 0);
	expect_lines(LINES("echo a", "# worker 0: x; touch PWNED _ worker 5 "
	    "_ (a b) _ok (" T0 ")"));
}
END_TEST

START_TEST(test_repeated_finish_ok)
{
	struct wk	 w0 = WK(0), again;
	struct buf	 after = BUF_INIT;

	file_lines(LINES("echo a", "echo b"));
	step(&w0, OK);
	again = w0;
	step(&w0, OK);
	ck_assert_int_eq(w0.fin, PROTO_FIN_DONE);
	expect_task(w0, 2, "echo b");
	ck_assert_int_eq(buf_add(&after, text.s, text.len), 0);

	/* the reply was lost; the same request comes again */
	now = "11-24 08:05:00";
	step(&again, OK);
	ck_assert_int_eq(again.fin, PROTO_FIN_REPEAT);
	ck_assert_uint_eq(again.fin_at, 1);
	expect_task(again, 2, "echo b");
	ck_assert_str_eq(text.s, after.s);
	buf_free(&after);
}
END_TEST

START_TEST(test_repeated_finish_failed)
{
	struct wk	 w0 = WK(0), again;
	struct buf	 after = BUF_INIT;

	/* the failed line is the first bytes of the file */
	file_lines(LINES("echo a", "echo b"));
	step(&w0, OK);
	again = w0;
	step(&w0, 3);
	expect_task(w0, 2, "echo b");
	ck_assert_int_eq(buf_add(&after, text.s, text.len), 0);
	now = "11-24 08:05:00";
	step(&again, 3);
	ck_assert_int_eq(again.fin, PROTO_FIN_REPEAT);
	ck_assert_uint_eq(again.fin_at, 1);
	expect_task(again, 2, "echo b");
	ck_assert_str_eq(text.s, after.s);
	buf_free(&after);
}
END_TEST

START_TEST(test_lost_reply_gives_same_task)
{
	struct wk	 w0 = WK(0), again;
	struct buf	 after = BUF_INIT;

	file_lines(LINES("cd /a #!", "echo a", "echo b"));
	step(&w0, OK);
	again = w0;
	step(&w0, OK);
	expect_task(w0, 2, "echo a");
	ck_assert_int_eq(buf_add(&after, text.s, text.len), 0);
	now = "11-24 08:05:00";
	step(&again, OK);
	expect_task(again, 2, "echo a");
	ck_assert_uint_eq(again.pos, 2);
	ck_assert_str_eq(text.s, after.s);	/* not claimed twice */
	buf_free(&after);
}
END_TEST

/* -------------------------------------------------------------- release */

START_TEST(test_release_restores_line)
{
	struct wk	 w0 = WK(0);

	file_lines(LINES("cd /a #!", "echo a #:g", "echo b"));
	step(&w0, OK);
	step(&w0, OK);
	expect_task(w0, 2, "echo a #:g");
	now = "11-24 08:01:00";
	finish(&w0, PROTO_ST_RELEASE);
	ck_assert_int_eq(w0.fin, PROTO_FIN_DONE);
	expect_lines(LINES("cd /a #!", "echo a #:g", "echo b"));
}
END_TEST

START_TEST(test_release_of_retry)
{
	struct wk	 w0 = WK(0);
	static const char failed[] = "echo a # worker 1 # (11-24 07:00:00 "
	    "... 11-24 07:00:09) #error1";

	file_lines(LINES(failed));
	step(&w0, OK);
	expect_task(w0, 1, "echo a");
	finish(&w0, PROTO_ST_RELEASE);
	expect_lines(LINES(failed));
}
END_TEST

START_TEST(test_release_crlf)
{
	struct wk	 w0 = WK(0);

	file_raw("echo a\r\necho b\r\n");
	step(&w0, OK);
	finish(&w0, PROTO_ST_RELEASE);
	expect_raw("echo a\r\necho b\r\n");
}
END_TEST

START_TEST(test_release_and_ask)
{
	struct wk	 w0 = WK(0);

	/* released and asking in one request: not handed straight back */
	file_lines(LINES("echo a", "echo b"));
	step(&w0, OK);
	step(&w0, PROTO_ST_RELEASE);
	ck_assert_int_eq(w0.fin, PROTO_FIN_DONE);
	expect_task(w0, 2, "echo b");
	expect_lines(LINES("echo a", "#echo b" RUN(0)));
}
END_TEST

START_TEST(test_release_line_gone)
{
	struct wk	 w0 = WK(0);

	file_lines(LINES("echo a"));
	step(&w0, OK);
	edit(1, 1, "echo other\n");
	finish(&w0, PROTO_ST_RELEASE);
	ck_assert_int_eq(w0.fin, PROTO_FIN_NONE);
	expect_lines(LINES("echo other"));	/* no orphan report */
}
END_TEST

/* --------------------------------------------------- line endings, bad */

START_TEST(test_crlf_kept)
{
	struct wk	 w0 = WK(0);
	static const char orig[] = "echo a\r\n\r\necho b\r\n";

	file_raw(orig);
	ck_assert_int_eq(reg(-1, "w"), 0);
	step(&w0, OK);
	expect_task(w0, 2, "echo a");
	step(&w0, OK);
	expect_task(w0, 4, "echo b");
	step(&w0, 1);
	finish(&(struct wk){ .id = 0, .line = 9, .text = "gone" }, OK);
	expect_raw("#LASTWORKER 0\r\n"
	    "#echo a" END(0, "ok") "\r\n"
	    "\r\n"
	    "echo b" END(0, "error1") "\r\n"
	    "# worker 0: w (" T0 ")\r\n"
	    "#?line:9# gone # worker 0 # ... " T0 ") #ok\r\n");
	reset(0, 0);
	expect_raw(orig);
}
END_TEST

START_TEST(test_no_final_newline_kept)
{
	struct wk	 w0 = WK(0);

	file_raw("echo a\necho b");
	step(&w0, OK);
	step(&w0, OK);
	expect_task(w0, 2, "echo b");
	expect_raw("#echo a" END(0, "ok") "\n#echo b" RUN(0));
	step(&w0, OK);
	expect_raw("#echo a" END(0, "ok") "\n#echo b" END(0, "ok"));
	reset(0, 0);
	expect_raw("echo a\necho b");
	/*
	 * an appended line starts on a line of its own; a tab after its
	 * "#?line:N#" says that rtq supplied the line break before it
	 */
	finish(&(struct wk){ .id = 0, .line = 5, .text = "x" }, OK);
	expect_raw("echo a\necho b\n#?line:5#\tx # worker 0 # ... " T0
	    ") #ok\n");
	/* so that a reset takes that line break away with the report */
	reset(0, 0);
	expect_raw("echo a\necho b");
}
END_TEST

/* Register, claim, finish and reset on s: the bytes of s come back. */
static void
round_trip(const char *s)
{
	struct wk	 w0 = WK(0);

	file_raw(s);
	ck_assert_int_eq(reg(-1, "n"), 0);
	step(&w0, OK);
	ck_assert_int_eq(w0.answer, CLAIM_WORK);
	step(&w0, 3);
	finish(&(struct wk){ .id = 0, .line = 40, .text = "gone" }, OK);
	ck_assert_int_eq(reg(-1, "m"), 1);
	reset(0, 0);
	ck_assert_msg(strcmp(text.s, s) == 0, "reset of \"%s\" gave \"%s\"",
	    s, text.s);
}

START_TEST(test_reset_exact_without_final_newline)
{
	/* no final line break: the registration supplies one, marked */
	file_raw("echo a");
	ck_assert_int_eq(reg(-1, "n"), 0);
	expect_raw("#LASTWORKER 0\necho a\n# worker 0:\tn (" T0 ")\n");
	ck_assert_int_eq(reg(-1, "m"), 1);
	expect_raw("#LASTWORKER 1\necho a\n# worker 0:\tn (" T0 ")\n"
	    "# worker 1: m (" T0 ")\n");
	reset(0, 0);
	expect_raw("echo a");
	/* LF and CRLF, with and without the last line break */
	round_trip("echo a");
	round_trip("echo a\n");
	round_trip("echo a\r\n");
	round_trip("echo a\r\necho b");
	round_trip("echo a\r\necho b\r\n");
	round_trip("echo a\necho b\r");
	round_trip("echo a\n\n  ");
	/* a line added after rtq's keeps the line break rtq supplied */
	file_raw("echo a");
	reg(-1, "n");
	ck_assert_int_eq(buf_adds(&text, "echo b\n"), 0);
	reset(0, 0);
	expect_raw("echo a\necho b\n");
	/* a partial reset keeps the registrations, and so the break */
	file_raw("echo a");
	reg(-1, "n");
	reset(2, 0);
	expect_raw("#LASTWORKER 0\necho a\n# worker 0:\tn (" T0 ")\n");
	/* the marked line is classified as before */
	{
		struct tu_file	 t;
		struct tf_item	 it;
		char		 err[64];

		tu_load(&t, text.s, text.len);
		ck_assert_int_eq(tf_classify(t.f.buf + t.f.off[2],
		    tf_linelen(&t.f, 2), 3, &it, err, sizeof(err)), 0);
		ck_assert_int_eq(it.kind, TF_REGISTRATION);
		ck_assert_int_eq(it.id, 0);
		tu_unload(&t);
	}
}
END_TEST

START_TEST(test_malformed_tag_is_error)
{
	struct claim_req	 q;
	struct claim_reply	 r;
	char			 err[256];

	file_lines(LINES("# queue", "echo a #@x", "echo b"));
	memset(&q, 0, sizeof(q));
	q.retries = -1;
	q.worker = 0;
	q.now = T0;
	ck_assert_int_eq(request(&q, &r, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "line 2: malformed worker tag \"#@x\": expected "
	    "#@ and a worker id (0 to 999999999)");
	claim_reply_free(&r);
	expect_lines(LINES("# queue", "echo a #@x", "echo b"));
}
END_TEST

START_TEST(test_trailing_space_kept)
{
	struct wk	 w0 = WK(0), w1 = WK(1);

	/* trailing blanks are part of the task: kept before annotations */
	file_lines(LINES("echo a   \t", "echo b "));
	step(&w0, OK);
	expect_task(w0, 1, "echo a   \t");
	expect_lines(LINES("#echo a   \t" RUN(0), "echo b "));
	step(&w0, 1);
	expect_task(w0, 2, "echo b ");
	finish(&w0, PROTO_ST_RELEASE);
	step(&w1, OK);
	expect_task(w1, 1, "echo a   \t");
	finish(&w1, OK);
	expect_lines(LINES("#echo a   \t" END(0, "error1") END(1, "ok"),
	    "echo b "));
	reset(0, 0);
	expect_lines(LINES("echo a   \t", "echo b "));
}
END_TEST

START_TEST(test_file_annotated_by_runtask)
{
	struct wk	 w0 = WK(0);

	/* a file runtask.sh annotated: worker 0 there is worker 0 here */
	file_raw("#LASTWORKER 1\n"
	    "#echo task1; sleep 3 # worker 0 # (07-28 15:52:29 ... "
	    "07-28 15:52:33) #ok\n"
	    "#echo task2; sleep 3 # worker 1 # (07-28 15:52:33 ...\n"
	    "echo task3; sleep 3 \n");
	step(&w0, OK);
	expect_task(w0, 4, "echo task3; sleep 3 ");
	step(&w0, OK);
	expect_wait(w0);		/* task2 may fail back */
	ck_assert_str_eq(line(4), "#echo task3; sleep 3 " END(0, "ok"));
	/* reset restores what runtask.sh stripped as it was */
	reset(0, 0);
	expect_lines(LINES("echo task1; sleep 3", "echo task2; sleep 3",
	    "echo task3; sleep 3 "));
}
END_TEST

/* -------------------------------------------------------------- register */

START_TEST(test_register_empty_file)
{
	file_raw("");
	ck_assert_int_eq(reg(-1, "host 10.0.0.1"), 0);
	expect_raw("#LASTWORKER 0\n# worker 0: host 10.0.0.1 (" T0 ")\n");
	ck_assert_int_eq(reg(-1, "other"), 1);
	expect_raw("#LASTWORKER 1\n# worker 0: host 10.0.0.1 (" T0 ")\n"
	    "# worker 1: other (" T0 ")\n");
}
END_TEST

START_TEST(test_register_without_header)
{
	file_lines(LINES("echo a", "echo b"));
	ck_assert_int_eq(reg(-1, "n"), 0);
	expect_lines(LINES("#LASTWORKER 0", "echo a", "echo b",
	    "# worker 0: n (" T0 ")"));
	file_raw("echo a");
	ck_assert_int_eq(reg(-1, "n"), 0);
	expect_raw("#LASTWORKER 0\necho a\n# worker 0:\tn (" T0 ")\n");
}
END_TEST

START_TEST(test_register_header_minus_one)
{
	/* the header as runtask.sh writes it before its first id */
	file_lines(LINES("#LASTWORKER -1", "echo a"));
	ck_assert_int_eq(reg(-1, "n"), 0);
	expect_lines(LINES("#LASTWORKER 0", "echo a",
	    "# worker 0: n (" T0 ")"));
}
END_TEST

START_TEST(test_register_requested_ids)
{
	file_lines(LINES("echo a"));
	ck_assert_int_eq(reg(5, "five"), 5);
	ck_assert_str_eq(line(1), "#LASTWORKER 5");
	/* a lower id is handed out, the header stays at the largest */
	ck_assert_int_eq(reg(2, "two"), 2);
	ck_assert_str_eq(line(1), "#LASTWORKER 5");
	ck_assert_int_eq(reg(-1, "next"), 6);
	expect_lines(LINES("#LASTWORKER 6", "echo a",
	    "# worker 5: five (" T0 ")", "# worker 2: two (" T0 ")",
	    "# worker 6: next (" T0 ")"));
}
END_TEST

START_TEST(test_register_errors)
{
	struct tu_file	 t;
	struct patch	 p = PATCH_INIT;
	char		 err[256];

	file_lines(LINES("#LASTWORKER 999999999", "echo a"));
	tu_load(&t, text.s, text.len);
	ck_assert_int_eq(claim_register(&t.f, -1, "a\nb", T0, &p, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "line break") != NULL, "err: %s", err);
	ck_assert_int_eq(claim_register(&t.f, -1, "a\rb", T0, &p, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(claim_register(&t.f, TF_MAXID + 1, "a", T0, &p, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "too large") != NULL, "err: %s", err);
	ck_assert_int_eq(claim_register(&t.f, -1, "a", T0, &p, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "no worker id left") != NULL, "err: %s",
	    err);
	ck_assert_uint_eq(p.n, 0);
	/* a requested id still works */
	ck_assert_int_eq(claim_register(&t.f, 3, "a", T0, &p, err,
	    sizeof(err)), 3);
	patch_free(&p);
	tu_unload(&t);
}
END_TEST

/* ------------------------------------------------------------------ reset */

/* Run a small queue into every state: done, running, failed, retried. */
static void
run_some(void)
{
	struct wk	 w0 = WK(0), w1 = WK(1), w2 = WK(2);

	ck_assert_int_eq(reg(-1, "gpu0"), 0);
	ck_assert_int_eq(reg(-1, "gpu1"), 1);
	ck_assert_int_eq(reg(-1, "gpu2"), 2);
	step(&w0, OK);			/* init 2 */
	step(&w0, OK);			/* task 3 */
	step(&w1, OK);			/* init 2 */
	step(&w1, OK);			/* task 4 */
	step(&w0, 1);			/* 3 failed; init 7 */
	step(&w2, OK);			/* init 2 */
	step(&w2, OK);			/* retry 3 */
	step(&w0, OK);			/* task 8 */
	step(&w0, OK);			/* task 9 */
	step(&w1, 5);			/* 4 failed; init 7 */
	finish(&(struct wk){ .id = 1, .line = 40, .text = "echo gone" }, 1);
	step(&w1, OK);			/* task 10 */
	finish(&w2, OK);		/* 3 ok, retried */
}

START_TEST(test_full_reset_restores_file)
{
	struct buf	 orig = BUF_INIT;

	file_lines(practical);
	tu_join(&orig, practical);
	run_some();
	expect_lines(LINES(
	    "#LASTWORKER 2",
	    "cd ~/playground/models/resnet_family #!",
	    "#cd resnet34; train_model #:mygroup1" END(0, "error1")
	    END(2, "ok"),
	    "cd resnet50; train_model" END(1, "error5"),
	    "cd resnet101; train_model #@2",
	    "",
	    "cd ../mbnet_family #!",
	    "#cd mbnetv1; train_model" END(0, "ok"),
	    "#cd mbnetv2; train_model" RUN(0),
	    "#cd mbnetv3; train_model" RUN(1),
	    "",
	    "cd ../resnet_family #!",
	    "cd resnet34; deploy_model #:mygroup1",
	    "cd resnet34; test_model_on dataset1 #+mygroup1",
	    "cd resnet34; test_model_on dataset2 #+mygroup1",
	    "cd resnet34; test_model_on dataset3 #+mygroup1",
	    "cd resnet34; report_test_result #:mygroup1",
	    "# worker 0: gpu0 (" T0 ")",
	    "# worker 1: gpu1 (" T0 ")",
	    "# worker 2: gpu2 (" T0 ")",
	    "#?line:40# echo gone # worker 1 # ... " T0 ") #error1"));
	/* header, 3 registrations, 1 orphan, 5 annotated tasks */
	ck_assert_int_eq(reset(0, 0), 10);
	ck_assert_str_eq(text.s, orig.s);
	/* a second reset has nothing to do */
	ck_assert_int_eq(reset(0, 0), 0);
	ck_assert_str_eq(text.s, orig.s);
	buf_free(&orig);
}
END_TEST

START_TEST(test_reset_from_line_1)
{
	/*
	 * K = 1 is a partial reset of every line, as in runtask.sh: the
	 * header and the registrations stay, so that no id is handed out
	 * again to a new worker while its holder may still be running
	 */
	file_lines(practical);
	run_some();
	ck_assert_int_eq(reset(1, 0), 6);
	expect_lines(LINES(
	    "#LASTWORKER 2",
	    "cd ~/playground/models/resnet_family #!",
	    "cd resnet34; train_model #:mygroup1",
	    "cd resnet50; train_model",
	    "cd resnet101; train_model #@2",
	    "",
	    "cd ../mbnet_family #!",
	    "cd mbnetv1; train_model",
	    "cd mbnetv2; train_model",
	    "cd mbnetv3; train_model",
	    "",
	    "cd ../resnet_family #!",
	    "cd resnet34; deploy_model #:mygroup1",
	    "cd resnet34; test_model_on dataset1 #+mygroup1",
	    "cd resnet34; test_model_on dataset2 #+mygroup1",
	    "cd resnet34; test_model_on dataset3 #+mygroup1",
	    "cd resnet34; report_test_result #:mygroup1",
	    "# worker 0: gpu0 (" T0 ")",
	    "# worker 1: gpu1 (" T0 ")",
	    "# worker 2: gpu2 (" T0 ")"));
	/* the next worker gets a new id */
	ck_assert_int_eq(reg(-1, "gpu3"), 3);
	/* a "#LASTWORKER" below line 1 is a comment, and stays */
	file_lines(LINES("#LASTWORKER 1", "#LASTWORKER 7", "#echo a" RUN(0)));
	ck_assert_int_eq(reset(1, 0), 1);
	expect_lines(LINES("#LASTWORKER 1", "#LASTWORKER 7", "echo a"));
	/* K = 0 is the whole file */
	ck_assert_int_eq(reset(0, 0), 2);
	expect_lines(LINES("echo a"));
}
END_TEST

START_TEST(test_runtask_moved_line_marker)
{
	struct wk	 w0 = WK(0), w1 = WK(1);

	/*
	 * runtask.sh marks "...line+1" in the annotation of a task whose
	 * running line it found one line below where it claimed it: a note
	 * in the annotation.  Closed, the line is done (or failed); open,
	 * it is still running; a reset takes the note away with the rest.
	 */
	file_raw("#LASTWORKER 1\n"
	    "#echo a #:g # worker 0 # (07-28 15:52:29 ...line+1 "
	    "07-28 15:52:33) #ok\n"
	    "echo b #:g # worker 0 # (07-28 15:52:29 ... ...line+1 "
	    "07-28 15:52:33) #error2\n"
	    "#echo c # worker 0 # (07-28 15:52:35 ...line+1\n"
	    "echo d #:g\n");
	/* b failed on 0 and holds d back; c runs under 0 */
	step(&w1, OK);
	expect_task(w1, 3, "echo b #:g");
	step(&w1, OK);
	expect_task(w1, 5, "echo d #:g");
	/* worker 0 asks again: c is its own running task, given back */
	step(&w0, OK);
	expect_task(w0, 4, "echo c");
	step(&w0, OK);
	ck_assert_str_eq(line(4), "#echo c # worker 0 # (07-28 15:52:35 "
	    "...line+1 " T0 ") #ok");
	reset(0, 0);
	expect_lines(LINES("echo a #:g", "echo b #:g", "echo c", "echo d #:g"));
	(void)w1;
}
END_TEST

START_TEST(test_partial_reset)
{
	file_lines(practical);
	run_some();
	/* from line 9 on: registrations stay, the orphan report goes */
	ck_assert_int_eq(reset(9, 0), 3);
	expect_lines(LINES(
	    "#LASTWORKER 2",
	    "cd ~/playground/models/resnet_family #!",
	    "#cd resnet34; train_model #:mygroup1" END(0, "error1")
	    END(2, "ok"),
	    "cd resnet50; train_model" END(1, "error5"),
	    "cd resnet101; train_model #@2",
	    "",
	    "cd ../mbnet_family #!",
	    "#cd mbnetv1; train_model" END(0, "ok"),
	    "cd mbnetv2; train_model",
	    "cd mbnetv3; train_model",
	    "",
	    "cd ../resnet_family #!",
	    "cd resnet34; deploy_model #:mygroup1",
	    "cd resnet34; test_model_on dataset1 #+mygroup1",
	    "cd resnet34; test_model_on dataset2 #+mygroup1",
	    "cd resnet34; test_model_on dataset3 #+mygroup1",
	    "cd resnet34; report_test_result #:mygroup1",
	    "# worker 0: gpu0 (" T0 ")",
	    "# worker 1: gpu1 (" T0 ")",
	    "# worker 2: gpu2 (" T0 ")"));
}
END_TEST

START_TEST(test_reset_failed_only)
{
	file_lines(LINES(
	    "#LASTWORKER 2",
	    "#echo done" END(0, "ok"),
	    "#echo running" RUN(1),
	    "echo failed" END(0, "error1"),
	    "echo failed twice" END(0, "error1") END(1, "error2"),
	    "echo lost" END(2, "lost"),
	    "#echo retried" END(0, "error1") END(1, "ok"),
	    "echo pending",
	    "# worker 0: a (" T0 ")",
	    "#?line:3# x # worker 0 # ... " T0 ") #ok"));
	ck_assert_int_eq(reset(0, 1), 3);
	expect_lines(LINES(
	    "#LASTWORKER 2",
	    "#echo done" END(0, "ok"),
	    "#echo running" RUN(1),
	    "echo failed",
	    "echo failed twice",
	    "echo lost",
	    "#echo retried" END(0, "error1") END(1, "ok"),
	    "echo pending",
	    "# worker 0: a (" T0 ")",
	    "#?line:3# x # worker 0 # ... " T0 ") #ok"));
	/* from line 5 on only */
	file_lines(LINES("echo a" END(0, "error1"), "#echo b" RUN(0),
	    "echo c" END(0, "error1")));
	ck_assert_int_eq(reset(3, 1), 1);
	expect_lines(LINES("echo a" END(0, "error1"), "#echo b" RUN(0),
	    "echo c"));
}
END_TEST


/* ------------------------------------------- limits: retries, kill, pause */

/* Apply a pure edit (claim_kill, claim_pause) to the file. */
typedef int (*edit_fn)(const struct tf_file *, struct patch *, void *,
    struct buf *, char *, size_t);

static int
apply_edit(edit_fn fn, void *ctx, struct buf *report, char *err,
    size_t errlen)
{
	struct tu_file	 t;
	struct patch	 p = PATCH_INIT;
	struct buf	 out = BUF_INIT;
	int		 rv;

	tu_load(&t, text.s, text.len);
	if ((rv = fn(&t.f, &p, ctx, report, err, errlen)) == 0) {
		tu_apply(&t, &p, &out);
		buf_free(&text);
		text = out;
	}
	patch_free(&p);
	tu_unload(&t);
	return rv;
}

struct kill_ctx {
	const size_t	*lines;
	size_t		 n;
	long		 w[8];
};

static int
kill_fn(const struct tf_file *f, struct patch *p, void *ctx,
    struct buf *report, char *err, size_t errlen)
{
	struct kill_ctx	*k = ctx;

	return claim_kill(f, k->lines, k->n, now, p, k->w, report, err,
	    errlen);
}

static int
pause_fn(const struct tf_file *f, struct patch *p, void *ctx,
    struct buf *report, char *err, size_t errlen)
{
	return claim_pause(f, *(int *)ctx, now, p, report, err, errlen);
}

static void
pause_file(int on)
{
	struct buf	 rep = BUF_INIT;
	char		 err[256];

	ck_assert_msg(apply_edit(pause_fn, &on, &rep, err, sizeof(err)) == 0,
	    "claim_pause: %s", err);
	buf_free(&rep);
}

static struct proto_tally
tally(const long *live, size_t nlive)
{
	struct tu_file	 t;
	struct proto_tally c;

	tu_load(&t, text.s, text.len);
	ck_assert_int_eq(claim_tally(&t.f, live, nlive, &c, NULL, NULL), 0);
	tu_unload(&t);
	return c;
}

START_TEST(test_retries_default_one)
{
	struct wk	 w0 = WKR(0, 1), w1 = WKR(1, 1), w2 = WKR(2, 1);

	file_lines(LINES("false"));
	step(&w0, OK);
	step(&w0, 1);		/* attempt 1: uncommented for another */
	ck_assert_str_eq(line(1), "false" END(0, "error1"));
	step(&w1, OK);
	expect_task(w1, 1, "false");
	step(&w1, 2);		/* attempt 2: no more */
	ck_assert_str_eq(line(1), "#false" END(0, "error1") END(1, "error2"));
	expect_none(w1);
	step(&w2, OK);		/* a third worker does not get it */
	expect_none(w2);
	ck_assert_int_eq(tally(NULL, 0).failed, 1);
	/* --reset --failed: a fresh set of attempts */
	ck_assert_int_eq(reset(0, 1), 1);
	expect_lines(LINES("false"));
}
END_TEST

START_TEST(test_retries_zero_and_line_wins)
{
	struct wk	 w0 = WKR(0, 0), w1 = WKR(1, 0), w2 = WKR(2, 0);

	/* the line's #retries=2 wins over the workers' 0 */
	file_lines(LINES("false #retries=2", "false"));
	step(&w0, OK);
	step(&w0, 1);
	ck_assert_str_eq(line(1), "false #retries=2" END(0, "error1"));
	expect_task(w0, 2, "false");
	step(&w0, 1);		/* --retries 0: failed for good at once */
	ck_assert_str_eq(line(2), "#false" END(0, "error1"));
	step(&w1, OK);
	expect_task(w1, 1, "false #retries=2");
	step(&w1, 1);
	ck_assert_str_eq(line(1), "false #retries=2" END(0, "error1")
	    END(1, "error1"));
	step(&w2, OK);
	expect_task(w2, 1, "false #retries=2");
	step(&w2, 1);		/* 3 attempts: 1 + 2 */
	ck_assert_str_eq(line(1), "#false #retries=2" END(0, "error1")
	    END(1, "error1") END(2, "error1"));
	expect_none(w2);
}
END_TEST

START_TEST(test_retries_lost_does_not_count)
{
	struct wk	 w1 = WKR(1, 0);
	long		 ids[1] = { 0 };

	file_lines(LINES("#false" RUN(0)));
	ck_assert_int_eq(lost(ids, 1, T0), 1);
	ck_assert_str_eq(line(1), "false" END(0, "lost"));
	/* a worker with --retries 0 still gets it: lost is not failed */
	step(&w1, OK);
	expect_task(w1, 1, "false");
}
END_TEST

START_TEST(test_blocked_by_failed_for_good)
{
	struct wk	 w0 = WKR(0, 0), w1 = WKR(1, 0);
	struct proto_tally c;

	file_lines(LINES("echo a #:g", "false #:g", "echo c #:g",
	    "echo d #+g", "echo e"));
	step(&w0, OK);
	step(&w0, OK);
	expect_task(w0, 2, "false #:g");
	step(&w0, 1);		/* failed for good */
	expect_task(w0, 5, "echo e");
	step(&w0, OK);
	expect_none(w0);	/* lines 3 and 4 can never run: no wait */
	step(&w1, OK);
	expect_none(w1);
	c = tally(NULL, 0);
	ck_assert_int_eq(c.done, 2);
	ck_assert_int_eq(c.failed, 1);
	ck_assert_int_eq(c.blocked, 2);
	ck_assert_int_eq(c.pending + c.retry + c.running, 0);
	/* --reset --failed brings the chain back */
	reset(0, 1);
	step(&w1, OK);
	expect_task(w1, 2, "false #:g");
}
END_TEST

START_TEST(test_stuck_retry_holds_no_worker)
{
	struct wk	 w0 = WKR(0, 1);
	struct proto_tally c;
	long		 live1[] = { 1 };

	/* failed once, with a retry left: only another worker may take it */
	file_lines(LINES("false #:g", "echo b #:g"));
	step(&w0, OK);
	step(&w0, 1);
	expect_none(w0);	/* nobody else is live: no wait */
	c = tally(NULL, 0);
	ck_assert_int_eq(c.failed, 1);
	ck_assert_int_eq(c.blocked, 1);
	/* with worker 1 live, the retry may come: worker 0 waits for b */
	w0.live = live1;
	w0.nlive = 1;
	step(&w0, OK);
	expect_wait(w0);
	c = tally(live1, 1);
	ck_assert_int_eq(c.retry, 1);
	ck_assert_int_eq(c.pending, 1);
}
END_TEST

START_TEST(test_siblings_count_as_one_machine)
{
	struct wk	 a0 = WKR(0, 1), a1 = WKR(1, 1), b2 = WKR(2, 1);
	long		 sibs0[] = { 1 }, sibs1[] = { 0 }, all[] = { 0, 1, 2 };

	a0.sibs = sibs0, a0.nsibs = 1, a0.live = all, a0.nlive = 3;
	a1.sibs = sibs1, a1.nsibs = 1, a1.live = all, a1.nlive = 3;
	b2.live = all, b2.nlive = 3;
	file_lines(LINES("false", "sleep 1"));
	step(&a0, OK);
	step(&a0, 1);		/* slot 0 of machine A fails it */
	expect_task(a0, 2, "sleep 1");
	step(&a1, OK);		/* slot 1 of A: B is live, so not here */
	expect_wait(a1);
	step(&b2, OK);		/* B takes it */
	expect_task(b2, 1, "false");
	/* with B gone, A's other slot may: nothing else is left */
	file_lines(LINES("false" END(0, "error1")));
	a1.live = sibs1;
	a1.nlive = 1;
	step(&a1, OK);
	expect_task(a1, 1, "false");
}
END_TEST

START_TEST(test_running_retries_zero_no_wait)
{
	struct wk	 w0 = WKR(0, 0), w1 = WKR(1, 0), w2 = WK(2);

	file_lines(LINES("sleep 9"));
	step(&w0, OK);
	step(&w1, OK);		/* it could not come back to 1: leave */
	expect_none(w1);
	step(&w2, OK);		/* no limit (an older rtq): it might */
	expect_wait(w2);
}
END_TEST

START_TEST(test_repeat_of_final_failure)
{
	struct wk	 w0 = WKR(0, 0);
	char		 text0[256];

	file_lines(LINES("false", "echo b"));
	step(&w0, OK);
	snprintf(text0, sizeof(text0), "%s", w0.text);
	finish(&w0, 1);
	ck_assert_int_eq(w0.fin, PROTO_FIN_DONE);
	/* the same report again (its reply was lost): no orphan */
	w0.line = 1;
	snprintf(w0.text, sizeof(w0.text), "%s", text0);
	finish(&w0, 1);
	ck_assert_int_eq(w0.fin, PROTO_FIN_REPEAT);
	expect_lines(LINES("#false" END(0, "error1"), "echo b"));
}
END_TEST

START_TEST(test_kill_pending_and_running)
{
	struct wk	 w0 = WK(0), w1 = WK(1);
	struct buf	 rep = BUF_INIT;
	char		 err[256];
	size_t		 lines[] = { 1, 2 };
	struct kill_ctx	 k = { lines, 2, { 0 } };
	struct proto_tally c;

	file_lines(LINES("sleep 300", "echo b #:g", "echo c #:g"));
	step(&w0, OK);
	ck_assert_int_eq(apply_edit(kill_fn, &k, &rep, err, sizeof(err)), 0);
	ck_assert_int_eq(k.w[0], 0);
	ck_assert_int_eq(k.w[1], -1);
	ck_assert_str_eq(rep.s, "line 1: asked worker 0 to stop it\n"
	    "line 2: cancelled (it was pending)\n");
	ck_assert_str_eq(line(1), "#sleep 300" RUN(0) " kill " T0);
	ck_assert_str_eq(line(2), "#echo b #:g # worker - # (" T0 " ... "
	    T0 ") #killed");
	/* worker 1 gets nothing: b is killed, c is behind it for good */
	step(&w1, OK);
	expect_none(w1);
	/* worker 0 ends it: killed, not uncommented */
	step(&w0, PROTO_ST_KILLED);
	ck_assert_str_eq(line(1), "#sleep 300" RUN(0) " kill " T0 " " T0
	    ") #killed");
	expect_none(w0);
	c = tally(NULL, 0);
	ck_assert_int_eq(c.killed, 2);
	ck_assert_int_eq(c.blocked, 1);
	/* --reset --failed leaves killed lines alone; a full reset not */
	ck_assert_int_eq(reset(0, 1), 0);
	reset(0, 0);
	expect_lines(LINES("sleep 300", "echo b #:g", "echo c #:g"));
	buf_free(&rep);
}
END_TEST

START_TEST(test_kill_refuses_what_is_not_a_task)
{
	struct buf	 rep = BUF_INIT;
	char		 err[256];
	size_t		 l[] = { 3, 1 }, l2[] = { 2 }, l3[] = { 9 };
	struct kill_ctx	 k = { l, 2, { 0 } }, k2 = { l2, 1, { 0 } };
	struct kill_ctx	 k3 = { l3, 1, { 0 } };

	file_lines(LINES("cd /tmp #!", "# a comment", "echo c"));
	ck_assert_int_eq(apply_edit(kill_fn, &k, &rep, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "line 1 is an init line (#!), not a task; "
	    "nothing killed");
	ck_assert_int_eq(apply_edit(kill_fn, &k2, &rep, err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, "line 2 is a comment, not a task; nothing "
	    "killed");
	ck_assert_int_eq(apply_edit(kill_fn, &k3, &rep, err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, "line 9: the file has 3 lines");
	/* all or nothing: line 3 was not cancelled */
	expect_lines(LINES("cd /tmp #!", "# a comment", "echo c"));
	buf_free(&rep);
}
END_TEST

START_TEST(test_lost_after_kill_is_killed)
{
	long		 ids[1] = { 0 };

	file_lines(LINES("#sleep 300" RUN(0) " kill " T0));
	ck_assert_int_eq(lost(ids, 1, T0), 1);
	ck_assert_str_eq(line(1), "#sleep 300" RUN(0) " kill " T0 " " T0
	    ") #killed");
	ck_assert_int_eq(tally(NULL, 0).killed, 1);
}
END_TEST

START_TEST(test_pause_and_resume)
{
	struct wk	 w0 = WK(0), w1 = WK(1);

	file_lines(LINES("#LASTWORKER 1", "echo a", "echo b"));
	step(&w0, OK);
	expect_task(w0, 2, "echo a");
	pause_file(1);
	ck_assert_str_eq(line(2), "#PAUSED since " T0 ": workers start "
	    "nothing new (rtq --resume)");
	pause_file(1);		/* once only */
	ck_assert_str_eq(line(3), "#echo a" RUN(0));
	/* the running task is reported; nothing new starts: a wait */
	w0.line = 3;
	step(&w0, OK);
	ck_assert_int_eq(w0.fin, PROTO_FIN_DONE);
	expect_wait(w0);
	ck_assert_int_eq(w0.paused, 1);
	step(&w1, OK);
	expect_wait(w1);
	ck_assert_int_eq(tally(NULL, 0).paused, 1);
	pause_file(0);
	expect_lines(LINES("#LASTWORKER 1", "#echo a" END(0, "ok"),
	    "echo b"));
	step(&w1, OK);
	expect_task(w1, 3, "echo b");
}
END_TEST

/* ------------------------------------------------------------- batches */

#define QUEUED(w)	RUN(w) " queued"

/* A batch request of worker w: up to k tasks, with live workers nlive. */
static void
batch_ask(struct claim_req *q, long w, size_t pos, size_t k, size_t nlive,
    struct claim_reply *r)
{
	static const long live[] = { 0, 1, 2, 3 };
	char	 err[256];

	q->worker = w;
	q->pos = pos;
	q->batch = k;
	q->now = now;
	q->retries = -1;
	q->live = live;
	q->nlive = nlive;
	ck_assert_msg(request(q, r, err, sizeof(err)) == 0, "%s", err);
}

/* The text of task i of a batch reply (0: the first). */
static const char *
batch_text(const struct claim_reply *r, size_t i)
{
	static char	 b[256];
	size_t		 from;

	if (i == 0)
		return r->task_text.s;
	from = i > 1 ? r->more_end[i - 2] : 0;
	snprintf(b, sizeof(b), "%.*s", (int)(r->more_end[i - 1] - from),
	    r->more_text.s + from);
	return b;
}

START_TEST(test_batch_claims_k_and_marks_them_queued)
{
	struct claim_req	 q;
	struct claim_reply	 r;

	file_lines(LINES("echo 1", "echo 2", "echo 3", "echo 4", "echo 5"));
	memset(&q, 0, sizeof(q));
	batch_ask(&q, 0, 0, 3, 1, &r);
	ck_assert_int_eq(r.answer, CLAIM_WORK);
	ck_assert_uint_eq(r.task_line, 1);
	ck_assert_uint_eq(r.nmore, 2);
	ck_assert_uint_eq(r.more_line[0], 2);
	ck_assert_uint_eq(r.more_line[1], 3);
	ck_assert_str_eq(batch_text(&r, 2), "echo 3");
	ck_assert_uint_eq(r.pos, 3);
	claim_reply_free(&r);
	/* the first starts now; the others are claimed, not started */
	expect_lines(LINES("#echo 1" RUN(0), "#echo 2" QUEUED(0),
	    "#echo 3" QUEUED(0), "echo 4", "echo 5"));
}
END_TEST

START_TEST(test_batch_results_start_and_release)
{
	struct claim_req	 q;
	struct claim_reply	 r;
	struct claim_fin	 more[2];

	file_lines(LINES("#echo 1" RUN(0), "#echo 2" QUEUED(0),
	    "#echo 3" QUEUED(0), "#echo 4" QUEUED(0)));
	/* 1 ended, 2 ran (from S to E) and failed, 3 started at S */
	memset(&q, 0, sizeof(q));
	memset(more, 0, sizeof(more));
	q.fin_line = 1;
	q.fin_text = "echo 1";
	q.fin_textlen = 6;
	q.fin_status = 0;
	more[0].line = 2;
	more[0].text = "echo 2";
	more[0].textlen = 6;
	more[0].status = 1;
	more[0].start = "11-24 08:00:01";
	more[0].end = "11-24 08:00:02";
	more[1].line = 3;
	more[1].text = "echo 3";
	more[1].textlen = 6;
	more[1].status = PROTO_ST_START;
	more[1].start = "11-24 08:00:03";
	q.more = more;
	q.nmore = 2;
	q.no_claim = 1;
	batch_ask(&q, 0, 3, 1, 1, &r);
	ck_assert_int_eq(r.fin, PROTO_FIN_DONE);
	claim_reply_free(&r);
	expect_lines(LINES("#echo 1" END(0, "ok"),
	    "echo 2 # worker 0 # (11-24 08:00:01 ... 11-24 08:00:02) #error1",
	    "#echo 3 # worker 0 # (11-24 08:00:03 ...",
	    "#echo 4" QUEUED(0)));
	/* a start repeated changes nothing; a release gives 4 back */
	more[0] = more[1];
	more[1].line = 4;
	more[1].text = "echo 4";
	more[1].status = PROTO_ST_RELEASE;
	q.fin_line = 0;
	batch_ask(&q, 0, 3, 1, 1, &r);
	claim_reply_free(&r);
	expect_lines(LINES("#echo 1" END(0, "ok"),
	    "echo 2 # worker 0 # (11-24 08:00:01 ... 11-24 08:00:02) #error1",
	    "#echo 3 # worker 0 # (11-24 08:00:03 ...",
	    "echo 4"));
}
END_TEST

START_TEST(test_batch_share_of_the_tail)
{
	struct claim_req	 q;
	struct claim_reply	 r;

	/* 6 left, 3 live workers: 2 each, not the 8 asked for */
	file_lines(LINES("echo 1", "echo 2", "echo 3", "echo 4", "echo 5",
	    "echo 6"));
	memset(&q, 0, sizeof(q));
	batch_ask(&q, 0, 0, 8, 3, &r);
	ck_assert_uint_eq(r.task_line, 1);
	ck_assert_uint_eq(r.nmore, 1);
	claim_reply_free(&r);
	/* alone, it takes all that is left */
	memset(&q, 0, sizeof(q));
	batch_ask(&q, 1, 0, 8, 1, &r);
	ck_assert_uint_eq(r.task_line, 3);
	ck_assert_uint_eq(r.nmore, 3);
	claim_reply_free(&r);
}
END_TEST

START_TEST(test_batch_keeps_groups_affinity_and_init_lines)
{
	struct claim_req	 q;
	struct claim_reply	 r;

	/* b waits for a (same #: group); c is for worker 1 */
	file_lines(LINES("a #:g", "b #:g", "c #@1", "d", "x=1 #!", "e"));
	memset(&q, 0, sizeof(q));
	batch_ask(&q, 0, 0, 8, 1, &r);
	ck_assert_uint_eq(r.task_line, 1);
	ck_assert_uint_eq(r.nmore, 1);
	ck_assert_uint_eq(r.more_line[0], 4);	/* d; the init line ends it */
	ck_assert_uint_eq(r.pos, 4);
	claim_reply_free(&r);
	expect_lines(LINES("#a #:g" RUN(0), "b #:g", "c #@1", "#d" QUEUED(0),
	    "x=1 #!", "e"));
	/* a claim whose reply was lost comes back whole, and no more */
	memset(&q, 0, sizeof(q));
	batch_ask(&q, 0, 0, 8, 1, &r);
	ck_assert_uint_eq(r.task_line, 1);
	ck_assert_uint_eq(r.nmore, 1);
	ck_assert_uint_eq(r.more_line[0], 4);
	claim_reply_free(&r);
	expect_lines(LINES("#a #:g" RUN(0), "b #:g", "c #@1", "#d" QUEUED(0),
	    "x=1 #!", "e"));
}
END_TEST

/*
 * Lines done are passed without being classified: one that only reads
 * like one (a #PAUSED line ending ") #ok") still counts.
 */
START_TEST(test_scan_passes_done_lines)
{
	struct wk	 w0 = WK(0);

	file_lines(LINES("#echo a" END(1, "ok"), "#note (x) #ok",
	    "#PAUSED since " T0 " (x) #ok", "echo b"));
	step(&w0, OK);
	expect_wait(w0);
	ck_assert_int_eq(w0.paused, 1);
	file_lines(LINES("#echo a" END(1, "ok"), "#note (x) #ok", "echo b"));
	step(&w0, OK);
	expect_task(w0, 3, "echo b");
}
END_TEST

START_TEST(test_batch_lost_says_never_started)
{
	static const long ids[] = { 0 };

	file_lines(LINES("#echo 1" RUN(0), "#echo 2" QUEUED(0)));
	ck_assert_int_eq(lost(ids, 1, "11-24 09:00:00"), 2);
	expect_lines(LINES(
	    "echo 1 # worker 0 # (" T0 " ... 11-24 09:00:00) #lost",
	    "echo 2 # worker 0 # (" T0 " ... queued 11-24 09:00:00) #lost"));
}
END_TEST

static Suite *
claim_suite(void)
{
	Suite	*s = suite_create("claim");
	TCase	*tc;

	tc = tcase_create("batch");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_batch_claims_k_and_marks_them_queued);
	tcase_add_test(tc, test_batch_results_start_and_release);
	tcase_add_test(tc, test_batch_share_of_the_tail);
	tcase_add_test(tc, test_batch_keeps_groups_affinity_and_init_lines);
	tcase_add_test(tc, test_batch_lost_says_never_started);
	tcase_add_test(tc, test_scan_passes_done_lines);
	suite_add_tcase(s, tc);

	tc = tcase_create("seed");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_practical_example);
	tcase_add_test(tc, test_practical_example_without_worker_2);
	tcase_add_test(tc, test_simple_example_from_readme);
	suite_add_tcase(s, tc);

	tc = tcase_create("failure");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_failure_and_retry);
	tcase_add_test(tc, test_failed_twice);
	tcase_add_test(tc, test_wait_while_another_runs);
	tcase_add_test(tc, test_lost_worker);
	tcase_add_test(tc, test_lost_workers_released);
	tcase_add_test(tc, test_affinity_only_elsewhere_is_none);
	suite_add_tcase(s, tc);

	tc = tcase_create("order");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_init_lines_run_by_every_worker);
	tcase_add_test(tc, test_failed_init_line_is_not_annotated);
	tcase_add_test(tc, test_out_of_order_claim_returns_init);
	tcase_add_test(tc, test_out_of_order_without_init);
	tcase_add_test(tc, test_blocked_init_line_stops_scan);
	tcase_add_test(tc, test_barrier);
	tcase_add_test(tc, test_sequential_and_parallel_groups);
	tcase_add_test(tc, test_failed_task_holds_its_group);
	suite_add_tcase(s, tc);

	tc = tcase_create("finish");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_finish_after_lines_added_above);
	tcase_add_test(tc, test_finish_after_lines_removed_above);
	tcase_add_test(tc, test_finish_after_one_line_removed_above);
	tcase_add_test(tc, test_finish_picks_own_line);
	tcase_add_test(tc, test_finish_line_gone_orphan);
	tcase_add_test(tc, test_finish_line_edited);
	tcase_add_test(tc, test_finish_stale_text_closes_no_other_line);
	tcase_add_test(tc, test_register_name_cannot_forge_a_task);
	tcase_add_test(tc, test_repeated_finish_ok);
	tcase_add_test(tc, test_repeated_finish_failed);
	tcase_add_test(tc, test_lost_reply_gives_same_task);
	tcase_add_test(tc, test_release_restores_line);
	tcase_add_test(tc, test_release_of_retry);
	tcase_add_test(tc, test_release_crlf);
	tcase_add_test(tc, test_release_and_ask);
	tcase_add_test(tc, test_release_line_gone);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_crlf_kept);
	tcase_add_test(tc, test_no_final_newline_kept);
	tcase_add_test(tc, test_malformed_tag_is_error);
	tcase_add_test(tc, test_trailing_space_kept);
	tcase_add_test(tc, test_file_annotated_by_runtask);
	suite_add_tcase(s, tc);

	tc = tcase_create("register");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_register_empty_file);
	tcase_add_test(tc, test_register_without_header);
	tcase_add_test(tc, test_register_header_minus_one);
	tcase_add_test(tc, test_register_requested_ids);
	tcase_add_test(tc, test_register_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("reset");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_full_reset_restores_file);
	tcase_add_test(tc, test_reset_from_line_1);
	tcase_add_test(tc, test_reset_exact_without_final_newline);
	tcase_add_test(tc, test_runtask_moved_line_marker);
	tcase_add_test(tc, test_partial_reset);
	tcase_add_test(tc, test_reset_failed_only);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_retries_default_one);
	tcase_add_test(tc, test_retries_zero_and_line_wins);
	tcase_add_test(tc, test_retries_lost_does_not_count);
	tcase_add_test(tc, test_blocked_by_failed_for_good);
	tcase_add_test(tc, test_stuck_retry_holds_no_worker);
	tcase_add_test(tc, test_siblings_count_as_one_machine);
	tcase_add_test(tc, test_running_retries_zero_no_wait);
	tcase_add_test(tc, test_repeat_of_final_failure);
	tcase_add_test(tc, test_kill_pending_and_running);
	tcase_add_test(tc, test_kill_refuses_what_is_not_a_task);
	tcase_add_test(tc, test_lost_after_kill_is_killed);
	tcase_add_test(tc, test_pause_and_resume);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(claim_suite());
}
