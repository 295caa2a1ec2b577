/*
 * Unit tests of the --edit merge (common/edit.c): claims and appends made
 * while the person edited are kept; their reordering, deletions and new
 * lines are applied; other concurrent changes are refused; dangerous edits
 * are named.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "edit.h"
#include "testutil.h"

#define RUN0	" # worker 0 # (11-24 08:00:00 ..."
#define OK0	" # worker 0 # (11-24 08:00:00 ... 11-24 08:00:05) #ok"

/* merge(base, mine, theirs); expect the result (NULL: a conflict) */
static void
expect_merge(const char *base, const char *mine, const char *theirs,
    const char *want, long kept)
{
	struct buf	 out = BUF_INIT;
	char		 err[256] = "";
	long		 r;

	r = edit_merge(base, strlen(base), mine, strlen(mine), theirs,
	    strlen(theirs), &out, err, sizeof(err));
	if (want == NULL) {
		ck_assert_int_eq(r, -1);
		ck_assert_msg(strstr(err, "changed") != NULL, "err: %s", err);
	} else {
		ck_assert_msg(r >= 0, "merge failed: %s", err);
		ck_assert_int_eq(r, kept);
		ck_assert_uint_eq(out.len, strlen(want));
		ck_assert_mem_eq(out.s, want, out.len);
	}
	buf_free(&out);
}

START_TEST(test_no_concurrent_change)
{
	/* the edit alone: reorder and delete */
	expect_merge("a\nb\nc\n", "c\na\n", "a\nb\nc\n", "c\na\n", 0);
}
END_TEST

START_TEST(test_claims_meanwhile_kept)
{
	/* a claimed while editing; the person moved c above b */
	expect_merge("a\nb\nc\n", "a\nc\nb\n",
	    "#a" RUN0 "\nb\nc\n# worker 0: w (11-24 08:00:00)\n",
	    "#a" RUN0 "\nc\nb\n# worker 0: w (11-24 08:00:00)\n", 0);
}
END_TEST

START_TEST(test_finish_meanwhile_kept)
{
	expect_merge("#a" RUN0 "\nb\n", "#a" RUN0 "\nb\nd\n",
	    "#a" OK0 "\nb\n", "#a" OK0 "\nb\nd\n", 0);
}
END_TEST

START_TEST(test_appends_meanwhile_kept)
{
	expect_merge("a\nb\n", "b\na\n", "a\nb\nx\ny\n", "b\na\nx\ny\n", 0);
}
END_TEST

START_TEST(test_deleted_but_claimed_kept)
{
	/* the person deleted b, which a worker claimed meanwhile */
	expect_merge("a\nb\nc\n", "a\nc\n", "a\n#b" RUN0 "\nc\n",
	    "a\nc\n#b" RUN0 "\n", 1);
}
END_TEST

START_TEST(test_other_change_is_conflict)
{
	/* someone else rewrote line 2 (not a claim of it) */
	expect_merge("a\nb\n", "a\nb\nc\n", "a\nB\n", NULL, 0);
	/* or the file got shorter (a reset, another edit) */
	expect_merge("a\nb\n", "a\n", "a\n", NULL, 0);
}
END_TEST

START_TEST(test_duplicate_lines_in_order)
{
	/* two identical lines: claims map to them in order */
	expect_merge("x\nx\n", "x\nx\ny\n", "#x" RUN0 "\nx\n",
	    "#x" RUN0 "\nx\ny\n", 0);
}
END_TEST

START_TEST(test_header_inserted_meanwhile)
{
	/* the first worker registered while the editor was open */
	expect_merge("a\nb\n", "b\na\n",
	    "#LASTWORKER 0\n#a" RUN0 "\nb\n# worker 0: w (11-24 08:00:00)\n",
	    "#LASTWORKER 0\nb\n#a" RUN0 "\n# worker 0: w (11-24 08:00:00)\n",
	    0);
}
END_TEST

START_TEST(test_crlf_kept)
{
	expect_merge("a\r\nb\r\n", "b\r\na\r\n", "a\r\n#b" RUN0 "\r\n",
	    "#b" RUN0 "\r\na\r\n", 0);
}
END_TEST

static size_t
check(const char *base, const char *mine, struct buf *out)
{
	return edit_check(base, strlen(base), mine, strlen(mine), out);
}

START_TEST(test_check_uncommented_running)
{
	struct buf	 w = BUF_INIT;

	ck_assert_uint_eq(check("#a" RUN0 "\nb\n", "a\nb\n", &w), 1);
	ck_assert_ptr_nonnull(strstr(w.s, "running task of line 1"));
	buf_free(&w);
}
END_TEST

START_TEST(test_check_uncommented_done)
{
	struct buf	 w = BUF_INIT;

	ck_assert_uint_eq(check("#a" OK0 "\n", "a" OK0 "\n", &w), 1);
	ck_assert_ptr_nonnull(strstr(w.s, "finished task"));
	buf_free(&w);
}
END_TEST

START_TEST(test_check_running_text_changed)
{
	struct buf	 w = BUF_INIT;

	ck_assert_uint_eq(check("#a" RUN0 "\n", "#A" RUN0 "\n", &w), 1);
	ck_assert_ptr_nonnull(strstr(w.s, "changes the text"));
	buf_free(&w);
}
END_TEST

START_TEST(test_check_harmless)
{
	struct buf	 w = BUF_INIT;

	/* reordering pending lines, deleting, adding: nothing to say */
	ck_assert_uint_eq(check("#a" RUN0 "\nb\nc\n",
	    "c\n#a" RUN0 "\nnew\n", &w), 0);
	buf_free(&w);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("edit");
	TCase	*tc = tcase_create("edit");

	tcase_add_test(tc, test_no_concurrent_change);
	tcase_add_test(tc, test_claims_meanwhile_kept);
	tcase_add_test(tc, test_finish_meanwhile_kept);
	tcase_add_test(tc, test_appends_meanwhile_kept);
	tcase_add_test(tc, test_deleted_but_claimed_kept);
	tcase_add_test(tc, test_other_change_is_conflict);
	tcase_add_test(tc, test_duplicate_lines_in_order);
	tcase_add_test(tc, test_header_inserted_meanwhile);
	tcase_add_test(tc, test_crlf_kept);
	tcase_add_test(tc, test_check_uncommented_running);
	tcase_add_test(tc, test_check_uncommented_done);
	tcase_add_test(tc, test_check_running_text_changed);
	tcase_add_test(tc, test_check_harmless);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
