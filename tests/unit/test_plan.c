/*
 * Unit tests of common/plan.c: what holds each line back, the failed line
 * that blocks it for good, the init lines before it, malformed tags.
 */
#include <check.h>
#include <string.h>

#include "plan.h"
#include "taskfile.h"
#include "testutil.h"

static struct tf_file	 f;
static struct plan	 pl;

static void
mkplan(const char *s)
{
	char	 err[256];

	ck_assert_int_eq(tf_split(&f, s, strlen(s), err, sizeof(err)), 0);
	ck_assert_int_eq(plan_make(&f, &pl, err, sizeof(err)), 0);
}

static void
done(void)
{
	plan_free(&pl);
	tf_free(&f);
}

START_TEST(test_groups_hold)
{
	size_t	 i;

	mkplan("a #:g\nb #+g\nc #+g\nd #:g\ne #+h\n");
	ck_assert_uint_eq(pl.l[0].nholds, 0);
	ck_assert_uint_eq(pl.l[1].nholds, 1);
	ck_assert_uint_eq(pl.l[1].holds[0].line, 1);
	ck_assert(pl.l[1].holds[0].via->seq);
	/* #:g waits for the #: line and both #+ lines */
	ck_assert_uint_eq(pl.l[3].nholds, 3);
	for (i = 0; i < 3; i++)
		ck_assert_uint_eq(pl.l[3].holds[i].line, i + 1);
	ck_assert_uint_eq(pl.l[4].nholds, 0);
	ck_assert_uint_eq(pl.nbad, 0);
	done();
}
END_TEST

START_TEST(test_barrier_and_done)
{
	mkplan("#a # worker 0 # (01-01 00:00:00 ... 01-01 00:00:01) #ok\n"
	    "b\nwall #:\nc\n");
	ck_assert_uint_eq(pl.l[2].nholds, 1);	/* b, not the done a */
	ck_assert_uint_eq(pl.l[2].holds[0].line, 2);
	ck_assert(pl.l[2].barrier);
	ck_assert_uint_eq(pl.l[3].nholds, 1);	/* the barrier */
	ck_assert_uint_eq(pl.l[3].holds[0].line, 3);
	ck_assert_ptr_null(pl.l[3].holds[0].via);
	done();
}
END_TEST

START_TEST(test_dead_and_inits)
{
	mkplan("cd / #!\n"
	    "#a #:g # worker 0 # (01-01 00:00:00 ... 01-01 00:00:01) #error1\n"
	    "x=1 #! #@2\nb #:g\nc #@1\nd #@2\n");
	ck_assert_uint_eq(pl.l[3].dead_by, 2);
	ck_assert_uint_eq(pl.l[4].dead_by, 0);
	/* c on worker 1 runs only the first init line; d both */
	ck_assert_uint_eq(pl.l[4].ninits, 1);
	ck_assert_uint_eq(pl.l[4].inits[0], 1);
	ck_assert_uint_eq(pl.l[5].ninits, 2);
	ck_assert_uint_eq(pl.l[5].inits[1], 3);
	done();
}
END_TEST

START_TEST(test_malformed)
{
	mkplan("a #@x\nb #timeout=soon\nc #retries=many\nd #@1\n");
	ck_assert_uint_eq(pl.nbad, 3);
	ck_assert(pl.l[0].bad && pl.l[1].bad && pl.l[2].bad);
	ck_assert(!pl.l[3].bad);
	ck_assert_ptr_nonnull(strstr(pl.l[0].err, "#@x"));
	ck_assert_ptr_nonnull(strstr(pl.l[1].err, "#timeout="));
	done();
}
END_TEST

static Suite *
plan_suite(void)
{
	Suite	*s = suite_create("plan");
	TCase	*tc = tcase_create("plan");

	tcase_add_test(tc, test_groups_hold);
	tcase_add_test(tc, test_barrier_and_done);
	tcase_add_test(tc, test_dead_and_inits);
	tcase_add_test(tc, test_malformed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(plan_suite());
}
