/*
 * Unit tests of common/buf.c: an append that fails is never a result cut
 * short.
 *
 * An allocator that fails the n-th allocation (that one only: the ones
 * after it succeed again) takes the place of realloc.  Each operation that
 * builds its result in bufs -- claiming, finishing, registering, releasing
 * lost work, resetting, merging an edit, applying a patch -- is run with n = 1, 2, ... until it needs fewer than n
 * allocations: every run must report the failure, or give exactly the
 * result it gives with no failure.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "claim.h"
#include "edit.h"
#include "patch.h"
#include "testutil.h"

#define T0	"11-24 08:00:00"
#define LONG	"echo a task whose line is longer than one buffer chunk, " \
		"so that annotating it takes more than one allocation"

static long	 fail_at;		/* allocation to fail; 0: none */
static long	 calls;			/* allocations since the run began */

static void *
flaky_realloc(void *p, size_t n)
{
	if (fail_at > 0 && ++calls == fail_at)
		return NULL;
	return realloc(p, n);
}

static void
setup(void)
{
	buf_realloc = flaky_realloc;
	fail_at = calls = 0;
}

static void
teardown(void)
{
	buf_realloc = realloc;
}

/* ------------------------------------------------------------ the buf */

START_TEST(test_growth_failure_is_sticky)
{
	struct buf	 b = BUF_INIT;
	char		 chunk[60];

	memset(chunk, 'x', sizeof(chunk));
	ck_assert_int_eq(buf_add(&b, chunk, sizeof(chunk)), 0);
	ck_assert_int_eq(buf_failed(&b), 0);
	/* the next append needs a larger block, and does not get it */
	fail_at = calls + 1;
	ck_assert_int_eq(buf_adds(&b, " END) #ok"), -1);
	ck_assert_int_eq(buf_failed(&b), 1);
	ck_assert_ptr_null(b.s);
	ck_assert_uint_eq(b.len, 0);
	/* memory is back, yet nothing is appended to a failed buffer */
	ck_assert_int_eq(buf_addc(&b, 'y'), -1);
	ck_assert_int_eq(buf_printf(&b, "%d", 42), -1);
	ck_assert_int_eq(buf_grow(&b, 0), -1);
	ck_assert_ptr_null(b.s);
	buf_reset(&b);
	ck_assert_int_eq(buf_failed(&b), 1);
	ck_assert_int_eq(buf_adds(&b, "z"), -1);
	/* buf_free makes it usable again */
	buf_free(&b);
	ck_assert_int_eq(buf_failed(&b), 0);
	ck_assert_int_eq(buf_adds(&b, "z"), 0);
	ck_assert_str_eq(b.s, "z");
	buf_free(&b);
}
END_TEST

START_TEST(test_printf_failure_is_sticky)
{
	struct buf	 b = BUF_INIT;

	ck_assert_int_eq(buf_adds(&b, "#echo hi # worker 1 # (" T0), 0);
	fail_at = calls + 1;
	ck_assert_int_eq(buf_printf(&b, " ...%0100d", 0), -1);
	ck_assert_int_eq(buf_adds(&b, " " T0 ") #ok"), -1);
	ck_assert_ptr_null(b.s);
	ck_assert_int_eq(buf_failed(&b), 1);
	buf_free(&b);
}
END_TEST

START_TEST(test_oversized_append_fails)
{
	struct buf	 b = BUF_INIT;

	ck_assert_int_eq(buf_adds(&b, "abc"), 0);
	ck_assert_int_eq(buf_add(&b, "", SIZE_MAX / 2), -1);
	ck_assert_ptr_null(b.s);
	ck_assert_int_eq(buf_addc(&b, 'd'), -1);
	buf_free(&b);
}
END_TEST

/* ---------------------------------------------- operations over a file */

/*
 * An operation: its result in out, 0; or -1, the failure reported (with a
 * message in err).
 */
typedef int (*op_fn)(struct buf *out, char *err, size_t errlen);

/* Run op with each of its allocations failing in turn; see the top. */
static void
every_failure(op_fn op, const char *name)
{
	struct buf	 want = BUF_INIT, got = BUF_INIT;
	char		 err[256];
	long		 n, reported = 0;
	int		 r;

	fail_at = 0;
	err[0] = '\0';
	ck_assert_msg(op(&want, err, sizeof(err)) == 0, "%s: %s", name, err);
	for (n = 1; ; n++) {
		calls = 0;
		fail_at = n;
		err[0] = '\0';
		r = op(&got, err, sizeof(err));
		fail_at = 0;
		if (calls < n) {	/* nothing failed: all were tried */
			ck_assert_int_eq(r, 0);
			break;
		}
		if (r == 0)
			ck_assert_msg(got.len == want.len && memcmp(got.s,
			    want.s, want.len) == 0, "%s, allocation %ld "
			    "failed: the result is\n%s\ninstead of\n%s", name,
			    n, got.s ? got.s : "(null)", want.s);
		else {
			ck_assert_msg(strstr(err, "memory") != NULL, "%s, "
			    "allocation %ld failed: the message is \"%s\"",
			    name, n, err);
			reported++;
		}
		buf_free(&got);
	}
	buf_free(&got);
	buf_free(&want);
	/* not only the first allocation of a buffer was made to fail */
	ck_assert_msg(reported >= 2, "%s: %ld failures reported", name,
	    reported);
}

/* The patched file, in out; -1 (reported) when patch_apply fails. */
static int
applied(const struct tu_file *t, const struct patch *p, struct buf *out,
    char *err, size_t errlen)
{
	if (patch_apply(p, t->buf, t->len, out) == -1) {
		snprintf(err, errlen, "patch_apply: out of memory");
		return -1;
	}
	return 0;
}

/* claim_next: close a long line with a status and a log, claim the next. */
static int
op_finish(struct buf *out, char *err, size_t errlen)
{
	static const char file[] = "#LASTWORKER 3\n"
	    "#" LONG " # worker 3 # (" T0 " ...\n"
	    LONG " too\n";
	struct claim_req q;
	struct claim_reply rep;
	struct tu_file	 t;
	struct patch	 p = PATCH_INIT;
	int		 r;

	memset(&q, 0, sizeof(q));
	q.worker = 3;
	q.pos = 2;
	q.fin_line = 2;
	q.fin_text = LONG;
	q.fin_textlen = strlen(LONG);
	q.fin_status = 7;
	q.fin_log = "/var/tmp/rtq-logs/a-rather-long-name-for-a-log-file.log";
	q.now = T0;
	tu_load(&t, file, strlen(file));
	r = claim_next(&t.f, &q, &p, &rep, err, errlen);
	if (r == 0) {
		ck_assert_int_eq(rep.answer, CLAIM_WORK);
		ck_assert_uint_eq(rep.task_line, 3);
		ck_assert_str_eq(rep.task_text.s, LONG " too");
		r = applied(&t, &p, out, err, errlen);
	}
	claim_reply_free(&rep);
	patch_free(&p);
	tu_unload(&t);
	return r;
}

/* claim_next: the reported line is gone, an orphan report is appended. */
static int
op_orphan(struct buf *out, char *err, size_t errlen)
{
	static const char file[] = "#LASTWORKER 3\necho other\n";
	struct claim_req q;
	struct claim_reply rep;
	struct tu_file	 t;
	struct patch	 p = PATCH_INIT;
	int		 r;

	memset(&q, 0, sizeof(q));
	q.worker = 3;
	q.fin_line = 9;
	q.fin_text = LONG;
	q.fin_textlen = strlen(LONG);
	q.fin_status = 1;
	q.no_claim = 1;
	q.now = T0;
	tu_load(&t, file, strlen(file));
	if ((r = claim_next(&t.f, &q, &p, &rep, err, errlen)) == 0)
		r = applied(&t, &p, out, err, errlen);
	claim_reply_free(&rep);
	patch_free(&p);
	tu_unload(&t);
	return r;
}

static int
op_register(struct buf *out, char *err, size_t errlen)
{
	static const char file[] = LONG "\n";
	struct tu_file	 t;
	struct patch	 p = PATCH_INIT;
	int		 r = 0;

	tu_load(&t, file, strlen(file));
	if (claim_register(&t.f, -1, "a worker with a name long enough to "
	    "need a second block of memory", T0, &p, err, errlen) == -1)
		r = -1;
	else
		r = applied(&t, &p, out, err, errlen);
	patch_free(&p);
	tu_unload(&t);
	return r;
}

static int
op_lost(struct buf *out, char *err, size_t errlen)
{
	static const char file[] = "#LASTWORKER 4\n"
	    "#" LONG " 1 # worker 3 # (" T0 " ...\n"
	    "#" LONG " 2 # worker 4 # (" T0 " ...\n"
	    "#" LONG " 3 # worker 3 # (" T0 " ...\n";
	static const long ids[] = { 3 };
	struct tu_file	 t;
	struct patch	 p = PATCH_INIT;
	int		 r;

	tu_load(&t, file, strlen(file));
	r = claim_lost(&t.f, ids, 1, T0, &p, err, errlen) == -1 ? -1 :
	    applied(&t, &p, out, err, errlen);
	patch_free(&p);
	tu_unload(&t);
	return r;
}

static int
op_reset(struct buf *out, char *err, size_t errlen)
{
	static const char file[] = "#LASTWORKER 4\n"
	    "# worker 3: a (" T0 ")\n"
	    "#" LONG " 1 # worker 3 # (" T0 " ... " T0 ") #ok\n"
	    LONG " 2 # worker 4 # (" T0 " ... " T0 ") #error1\n"
	    "#" LONG " 3 # worker 3 # (" T0 " ...\n";
	struct tu_file	 t;
	struct patch	 p = PATCH_INIT;
	int		 r;

	tu_load(&t, file, strlen(file));
	r = claim_reset(&t.f, 0, 0, &p, err, errlen) == -1 ? -1 :
	    applied(&t, &p, out, err, errlen);
	patch_free(&p);
	tu_unload(&t);
	return r;
}

static int
op_merge(struct buf *out, char *err, size_t errlen)
{
	static const char base[] = LONG " 1\n" LONG " 2\n";
	static const char mine[] = LONG " 0\n" LONG " 2\n" LONG " 1\n";
	static const char theirs[] = "#LASTWORKER 1\n"
	    "#" LONG " 1 # worker 1 # (" T0 " ...\n" LONG " 2\n" LONG " 3\n";

	return edit_merge(base, strlen(base), mine, strlen(mine), theirs,
	    strlen(theirs), out, err, errlen) == -1 ? -1 : 0;
}

START_TEST(test_finish_failures_reported)
{
	every_failure(op_finish, "finish and claim");
}
END_TEST

START_TEST(test_orphan_failures_reported)
{
	every_failure(op_orphan, "orphan report");
}
END_TEST

START_TEST(test_register_failures_reported)
{
	every_failure(op_register, "register");
}
END_TEST

START_TEST(test_lost_failures_reported)
{
	every_failure(op_lost, "lost");
}
END_TEST

START_TEST(test_reset_failures_reported)
{
	every_failure(op_reset, "reset");
}
END_TEST

START_TEST(test_merge_failures_reported)
{
	every_failure(op_merge, "edit merge");
}
END_TEST

static Suite *
buf_suite(void)
{
	Suite	*s = suite_create("buf");
	TCase	*tc;

	tc = tcase_create("sticky");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_growth_failure_is_sticky);
	tcase_add_test(tc, test_printf_failure_is_sticky);
	tcase_add_test(tc, test_oversized_append_fails);
	suite_add_tcase(s, tc);

	tc = tcase_create("callers");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_finish_failures_reported);
	tcase_add_test(tc, test_orphan_failures_reported);
	tcase_add_test(tc, test_register_failures_reported);
	tcase_add_test(tc, test_lost_failures_reported);
	tcase_add_test(tc, test_reset_failures_reported);
	tcase_add_test(tc, test_merge_failures_reported);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(buf_suite());
}
