/*
 * Unit tests of common/patch.c: a new version of a buffer as splices.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patch.h"
#include "testutil.h"

static struct patch	 p;
static struct buf	 out;

static void
setup(void)
{
	struct patch	 z = PATCH_INIT;
	struct buf	 b = BUF_INIT;

	p = z;
	out = b;
}

static void
teardown(void)
{
	patch_free(&p);
	buf_free(&out);
}

/* Apply p to s and return the new text (valid until the next call). */
static const char *
applied(const char *s)
{
	size_t	 len = strlen(s);

	buf_reset(&out);
	ck_assert_int_eq(buf_grow(&out, 0), 0);
	ck_assert_int_eq(patch_apply(&p, s, len, &out), 0);
	ck_assert_uint_eq(out.len, patch_size(&p, len));
	return out.s;
}

static int
rep(size_t off, size_t len, const char *s)
{
	return patch_replace(&p, off, len, s, strlen(s));
}

START_TEST(test_empty_patch)
{
	ck_assert_str_eq(applied("hello world\n"), "hello world\n");
	ck_assert_uint_eq(patch_size(&p, 12), 12);
	ck_assert_str_eq(applied(""), "");
}
END_TEST

START_TEST(test_splices_applied_in_buffer_order)
{
	/* added last to first: the patch sorts them */
	ck_assert_int_eq(rep(6, 5, "there"), 0);
	ck_assert_int_eq(rep(0, 5, "HELLO"), 0);
	ck_assert_int_eq(rep(5, 1, ", "), 0);
	ck_assert_str_eq(applied("hello world\n"), "HELLO, there\n");
}
END_TEST

START_TEST(test_inserts_at_same_offset_keep_order)
{
	ck_assert_int_eq(rep(5, 0, "1"), 0);
	ck_assert_int_eq(rep(5, 0, "2"), 0);
	ck_assert_int_eq(rep(0, 0, ">"), 0);
	ck_assert_int_eq(rep(5, 0, "3"), 0);
	ck_assert_str_eq(applied("abcdefgh"), ">abcde123fgh");
}
END_TEST

START_TEST(test_insert_then_replace_at_same_offset)
{
	/* a header inserted at 0, then line 1 replaced: both kept, in order */
	ck_assert_int_eq(rep(0, 0, "#H\n"), 0);
	ck_assert_int_eq(rep(0, 3, "#abc"), 0);
	ck_assert_str_eq(applied("abc\ndef\n"), "#H\n#abc\ndef\n");
}
END_TEST

START_TEST(test_insert_at_end_and_delete)
{
	ck_assert_int_eq(rep(8, 0, "ghi\n"), 0);
	ck_assert_int_eq(rep(0, 4, ""), 0);
	ck_assert_str_eq(applied("abc\ndef\n"), "def\nghi\n");
	/* a replacement of the last line and an append after it */
	patch_reset(&p);
	ck_assert_int_eq(rep(8, 0, "\nX"), 0);
	ck_assert_int_eq(rep(4, 4, "DEF!"), 0);
	ck_assert_str_eq(applied("abc\ndef\n"), "abc\nDEF!\nX");
}
END_TEST

START_TEST(test_adjacent_splices)
{
	ck_assert_int_eq(rep(2, 2, "XX"), 0);
	ck_assert_int_eq(rep(4, 2, "YY"), 0);
	ck_assert_int_eq(rep(0, 2, "WW"), 0);
	ck_assert_str_eq(applied("abcdefg"), "WWXXYYg");
}
END_TEST

START_TEST(test_overlap_refused)
{
	ck_assert_int_eq(rep(2, 4, "X"), 0);		/* [2,6) */
	ck_assert_int_eq(rep(4, 4, "Y"), -1);		/* [4,8): tail */
	ck_assert_int_eq(rep(0, 3, "Y"), -1);		/* [0,3): head */
	ck_assert_int_eq(rep(3, 1, "Y"), -1);		/* inside */
	ck_assert_int_eq(rep(1, 7, "Y"), -1);		/* around */
	ck_assert_int_eq(rep(2, 1, "Y"), -1);		/* same start */
	ck_assert_int_eq(rep(4, 0, "Y"), -1);		/* insert inside */
	/* a refused splice leaves the patch as it was */
	ck_assert_uint_eq(p.n, 1);
	ck_assert_str_eq(applied("abcdefgh"), "abXgh");
}
END_TEST

START_TEST(test_patch_size)
{
	ck_assert_int_eq(rep(0, 3, "a much longer text"), 0);	/* +15 */
	ck_assert_int_eq(rep(10, 5, ""), 0);			/* -5 */
	ck_assert_int_eq(rep(20, 0, "12"), 0);			/* +2 */
	ck_assert_uint_eq(patch_size(&p, 20), 32);
	ck_assert_uint_eq(strlen(applied("0123456789abcdefghij")), 32);
	ck_assert_str_eq(applied("0123456789abcdefghij"),
	    "a much longer text3456789fghij12");
}
END_TEST

START_TEST(test_apply_appends_to_out)
{
	ck_assert_int_eq(rep(0, 1, "A"), 0);
	buf_reset(&out);
	ck_assert_int_eq(buf_adds(&out, "old:"), 0);
	ck_assert_int_eq(patch_apply(&p, "abc", 3, &out), 0);
	ck_assert_str_eq(out.s, "old:Abc");
}
END_TEST

START_TEST(test_reset_and_reuse)
{
	ck_assert_int_eq(rep(0, 1, "A"), 0);
	patch_reset(&p);
	ck_assert_uint_eq(p.n, 0);
	ck_assert_str_eq(applied("abc"), "abc");
	/* the old splice no longer blocks its range */
	ck_assert_int_eq(rep(0, 2, "Z"), 0);
	ck_assert_str_eq(applied("abc"), "Zc");
}
END_TEST

START_TEST(test_many_splices)
{
	char	 in[201], want[201], s[2];
	int	 i;

	/* 100 splices (the array grows), added from the end backwards */
	for (i = 0; i < 200; i++)
		in[i] = 'a' + i % 26;
	in[200] = '\0';
	for (i = 99; i >= 0; i--) {
		s[0] = (char)('A' + i % 26);
		s[1] = '\0';
		ck_assert_int_eq(rep((size_t)i * 2, 1, s), 0);
	}
	for (i = 0; i < 200; i++)
		want[i] = i % 2 == 0 ? (char)('A' + (i / 2) % 26) : in[i];
	want[200] = '\0';
	ck_assert_str_eq(applied(in), want);
}
END_TEST

static Suite *
patch_suite(void)
{
	Suite	*s = suite_create("patch");
	TCase	*tc = tcase_create("patch");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_empty_patch);
	tcase_add_test(tc, test_splices_applied_in_buffer_order);
	tcase_add_test(tc, test_inserts_at_same_offset_keep_order);
	tcase_add_test(tc, test_insert_then_replace_at_same_offset);
	tcase_add_test(tc, test_insert_at_end_and_delete);
	tcase_add_test(tc, test_adjacent_splices);
	tcase_add_test(tc, test_overlap_refused);
	tcase_add_test(tc, test_patch_size);
	tcase_add_test(tc, test_apply_appends_to_out);
	tcase_add_test(tc, test_reset_and_reuse);
	tcase_add_test(tc, test_many_splices);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(patch_suite());
}
