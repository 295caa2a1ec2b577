/*
 * Unit tests of common/shquote.c: one word for a POSIX shell.
 *
 * The exact forms are checked without a shell; one test then hands a list
 * of hostile words to a real /bin/sh (as ssh hands rtq's command line to
 * the master's shell) and checks that each comes back as it went in and
 * that nothing in them was executed.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shquote.h"
#include "testutil.h"

/* The quoted form of s (valid until the next call). */
static const char *
quoted(const char *s)
{
	static struct buf	 b;

	buf_free(&b);
	ck_assert_int_eq(shquote(&b, s), 0);
	return b.s;
}

START_TEST(test_plain_words_unchanged)
{
	ck_assert_str_eq(quoted("abc"), "abc");
	ck_assert_str_eq(quoted("rtq-claim"), "rtq-claim");
	ck_assert_str_eq(quoted("/home/u/tasks.sh"), "/home/u/tasks.sh");
	ck_assert_str_eq(quoted("42"), "42");
	ck_assert_str_eq(quoted("a@b:c,d=e+f%g_h.i"), "a@b:c,d=e+f%g_h.i");
}
END_TEST

START_TEST(test_empty_word)
{
	ck_assert_str_eq(quoted(""), "''");
}
END_TEST

START_TEST(test_single_quote)
{
	ck_assert_str_eq(quoted("'"), "''\\'''");
	ck_assert_str_eq(quoted("it's"), "'it'\\''s'");
}
END_TEST

START_TEST(test_special_characters_quoted)
{
	ck_assert_str_eq(quoted("a b"), "'a b'");
	ck_assert_str_eq(quoted("$HOME"), "'$HOME'");
	ck_assert_str_eq(quoted("a\nb"), "'a\nb'");
	ck_assert_str_eq(quoted("echo a; rm x"), "'echo a; rm x'");
	ck_assert_str_eq(quoted("\"x\""), "'\"x\"'");
	ck_assert_str_eq(quoted("a\\b"), "'a\\b'");
	ck_assert_str_eq(quoted("`id`"), "'`id`'");
	ck_assert_str_eq(quoted("*"), "'*'");
	ck_assert_str_eq(quoted("~"), "'~'");
	ck_assert_str_eq(quoted("#!"), "'#!'");
	ck_assert_str_eq(quoted("a\tb"), "'a\tb'");
}
END_TEST

START_TEST(test_appends)
{
	struct buf	 b = BUF_INIT;

	ck_assert_int_eq(buf_adds(&b, "rtq-claim next "), 0);
	ck_assert_int_eq(shquote(&b, "f.sh"), 0);
	ck_assert_int_eq(buf_addc(&b, ' '), 0);
	ck_assert_int_eq(shquote(&b, "echo 'a'"), 0);
	ck_assert_str_eq(b.s, "rtq-claim next f.sh 'echo '\\''a'\\'''");
	buf_free(&b);
}
END_TEST

/*
 * End to end: "printf '[%s]' WORD" through popen(3), that is /bin/sh -c,
 * must print exactly "[word]" for each word, and the commands hidden in the
 * words must not run (they would create files in a fresh directory).
 */
START_TEST(test_round_trip_through_sh)
{
	static const char *words[] = {
		"plain", "", " ", "two words", "'", "''", "\"", "'\"'",
		"it's \"quoted\"", "\\", "\\'", "a\\nb", "$", "$HOME",
		"${HOME}", "$(touch CANARY1)", "`touch CANARY2`",
		"$((6*7))", "; touch CANARY3", "&& touch CANARY4",
		"| touch CANARY5", "> CANARY6", "< /etc/passwd",
		"*", "?", "[a-z]*", "~", "~root", "{a,b}", "#", "#!",
		"echo hi #@1", "!!", "!$", "-n", "--", "-e \\n",
		"line1\nline2", "\n", "tab\there", "\r\n",
		"a'b'c'd", "'; touch CANARY7; '", "\"; touch CANARY8; \"",
		"caf\xc3\xa9", "\xff\xfe bytes", "%s %d %n",
		"x=1 touch CANARY9", "(touch CANARY10)",
	};
	char		 dir[] = "/tmp/rtq-shquote.XXXXXX", *old;
	struct buf	 cmd = BUF_INIT, got = BUF_INIT, want = BUF_INIT;
	FILE		*fp;
	size_t		 i, n;
	char		 rd[512];
	int		 k;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_ptr_nonnull(old = getcwd(NULL, 0));
	ck_assert_int_eq(chdir(dir), 0);

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		buf_reset(&cmd);
		ck_assert_int_eq(buf_adds(&cmd, "printf '[%s]' "), 0);
		ck_assert_int_eq(shquote(&cmd, words[i]), 0);
		/* and as the second of two words */
		ck_assert_int_eq(buf_addc(&cmd, ' '), 0);
		ck_assert_int_eq(shquote(&cmd, words[i]), 0);
		ck_assert_ptr_nonnull(fp = popen(cmd.s, "r"));
		buf_reset(&got);
		while ((n = fread(rd, 1, sizeof(rd), fp)) > 0)
			ck_assert_int_eq(buf_add(&got, rd, n), 0);
		ck_assert_int_eq(pclose(fp), 0);
		buf_reset(&want);
		ck_assert_int_eq(buf_printf(&want, "[%s][%s]", words[i],
		    words[i]), 0);
		ck_assert_msg(got.len == want.len &&
		    memcmp(got.s, want.s, got.len) == 0,
		    "word %zu (%s): shell command <%s> printed <%.*s>", i,
		    words[i], cmd.s, (int)got.len, got.s ? got.s : "");
	}
	/* nothing ran: the directory is still empty */
	for (k = 1; k <= 10; k++) {
		char	 canary[32];

		snprintf(canary, sizeof(canary), "CANARY%d", k);
		ck_assert_msg(access(canary, F_OK) == -1,
		    "%s was created: a quoted word was executed", canary);
	}
	ck_assert_int_eq(chdir(old), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	free(old);
	buf_free(&cmd);
	buf_free(&got);
	buf_free(&want);
}
END_TEST

static Suite *
shquote_suite(void)
{
	Suite	*s = suite_create("shquote");
	TCase	*tc = tcase_create("forms");
	TCase	*sh = tcase_create("sh");

	tcase_add_test(tc, test_plain_words_unchanged);
	tcase_add_test(tc, test_empty_word);
	tcase_add_test(tc, test_single_quote);
	tcase_add_test(tc, test_special_characters_quoted);
	tcase_add_test(tc, test_appends);
	suite_add_tcase(s, tc);
	/* some 40 shells: more than Check's 4 s on a loaded machine */
	tcase_set_timeout(sh, 60);
	tcase_add_test(sh, test_round_trip_through_sh);
	suite_add_tcase(s, sh);
	return s;
}

int
main(void)
{
	return tu_run(shquote_suite());
}
