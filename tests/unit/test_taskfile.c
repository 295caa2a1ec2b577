/*
 * Unit tests of common/taskfile.c: splitting a task file into lines,
 * telling the line kinds apart, and reading tags and annotations.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "taskfile.h"
#include "testutil.h"

/* Classify s as line lineno; must succeed. */
static struct tf_item
classify_at(const char *s, size_t lineno)
{
	struct tf_item	 it;
	char		 err[256];
	char		*copy;
	size_t		 len = strlen(s);

	/* an exact copy: reading outside the line is caught by ASan */
	ck_assert_ptr_nonnull(copy = malloc(len > 0 ? len : 1));
	memcpy(copy, s, len);
	ck_assert_msg(tf_classify(copy, len, lineno, &it, err, sizeof(err))
	    == 0, "tf_classify(\"%s\"): %s", s, err);
	/* point back into s, which outlives the copy */
	if (it.text != NULL)
		it.text = s + (it.text - copy);
	if (it.ann != NULL)
		it.ann = s + (it.ann - copy);
	if (it.tags != NULL)
		it.tags = s + (it.tags - copy);
	if (it.status != NULL)
		it.status = s + (it.status - copy);
	free(copy);
	return it;
}

static struct tf_item
classify(const char *s)
{
	return classify_at(s, 2);
}

static enum tf_kind
kind(const char *s)
{
	return classify(s).kind;
}

/* n bytes at p as a string (valid until the next call). */
static const char *
str(const char *p, size_t n)
{
	static char	 b[4][512];
	static int	 i;

	if (p == NULL)
		return "(null)";
	i = (i + 1) % 4;
	snprintf(b[i], sizeof(b[i]), "%.*s", (int)n, p);
	return b[i];
}

/* ---------------------------------------------------------------- split */

START_TEST(test_split_lf)
{
	struct tu_file	 t;
	const char	*s = "echo a\n\n  \ncd x #!\n";

	tu_load(&t, s, strlen(s));
	ck_assert_uint_eq(t.f.nline, 4);
	ck_assert_str_eq(t.f.eol, "\n");
	ck_assert_uint_eq(tf_linelen(&t.f, 0), 6);
	ck_assert_uint_eq(tf_linelen(&t.f, 1), 0);
	ck_assert_uint_eq(tf_linelen(&t.f, 2), 2);
	ck_assert_uint_eq(tf_linelen(&t.f, 3), 7);
	ck_assert_uint_eq(t.f.off[3], 11);
	ck_assert_uint_eq(t.f.off[4], strlen(s));
	tu_unload(&t);
}
END_TEST

START_TEST(test_split_crlf_kept)
{
	struct tu_file	 t;
	const char	*s = "echo a\r\necho b\r\n";

	tu_load(&t, s, strlen(s));
	ck_assert_uint_eq(t.f.nline, 2);
	/* lines we add get the file's own line ending */
	ck_assert_str_eq(t.f.eol, "\r\n");
	ck_assert_uint_eq(tf_linelen(&t.f, 0), 6);
	ck_assert_uint_eq(tf_linelen(&t.f, 1), 6);
	/* the line's bytes still hold the CR LF */
	ck_assert_uint_eq(t.f.off[1] - t.f.off[0], 8);
	ck_assert_uint_eq(t.f.off[2], strlen(s));
	tu_unload(&t);
}
END_TEST

START_TEST(test_split_no_final_newline)
{
	struct tu_file	 t;
	const char	*s = "echo a\necho b";

	tu_load(&t, s, strlen(s));
	ck_assert_uint_eq(t.f.nline, 2);
	ck_assert_uint_eq(tf_linelen(&t.f, 1), 6);
	ck_assert_uint_eq(t.f.off[2], strlen(s));
	ck_assert_str_eq(t.f.eol, "\n");
	tu_unload(&t);

	/* a lone CR at the very end is not a line ending */
	s = "echo a\r\necho b\r";
	tu_load(&t, s, strlen(s));
	ck_assert_uint_eq(t.f.nline, 2);
	ck_assert_uint_eq(tf_linelen(&t.f, 1), 7);
	tu_unload(&t);
}
END_TEST

START_TEST(test_split_empty)
{
	struct tu_file	 t;

	tu_load(&t, "", 0);
	ck_assert_uint_eq(t.f.nline, 0);
	ck_assert_str_eq(t.f.eol, "\n");
	tu_unload(&t);

	tu_load(&t, "\n", 1);
	ck_assert_uint_eq(t.f.nline, 1);
	ck_assert_uint_eq(tf_linelen(&t.f, 0), 0);
	tu_unload(&t);
}
END_TEST

START_TEST(test_split_nul_is_error_naming_line)
{
	struct tf_file	 f;
	char		 err[256];
	static const char s1[] = "echo a\necho b\0c\necho d\n";
	static const char s2[] = "\0";
	static const char s3[] = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\0\n";

	ck_assert_int_eq(tf_split(&f, s1, sizeof(s1) - 1, err, sizeof(err)),
	    -1);
	ck_assert_msg(strstr(err, "line 2 ") != NULL, "err: %s", err);
	ck_assert_msg(strstr(err, "NUL") != NULL, "err: %s", err);
	ck_assert_ptr_null(f.off);

	ck_assert_int_eq(tf_split(&f, s2, 1, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "line 1 ") != NULL, "err: %s", err);

	ck_assert_int_eq(tf_split(&f, s3, sizeof(s3) - 1, err, sizeof(err)),
	    -1);
	ck_assert_msg(strstr(err, "line 11 ") != NULL, "err: %s", err);
}
END_TEST

START_TEST(test_split_many_lines)
{
	struct buf	 b = BUF_INIT;
	struct tu_file	 t;
	size_t		 i;

	/* more lines than the first allocation holds */
	for (i = 0; i < 5000; i++)
		ck_assert_int_eq(buf_printf(&b, "echo %zu\n", i), 0);
	tu_load(&t, b.s, b.len);
	ck_assert_uint_eq(t.f.nline, 5000);
	ck_assert_str_eq(str(t.f.buf + t.f.off[4321],
	    tf_linelen(&t.f, 4321)), "echo 4321");
	tu_unload(&t);
	buf_free(&b);
}
END_TEST

/*
 * The split against the obvious one, a byte at a time: every length up to
 * a few words (the word-at-a-time scan and its byte-wise tail), line
 * breaks and NUL at every position, and bytes that differ from '\n' or
 * NUL only in their high bit or by one (0x8a, 0x80, 0x0b, 0x09, 0xff),
 * which a sloppy zero-byte test would take for them.
 */
START_TEST(test_split_matches_bytewise)
{
	static const unsigned char alphabet[] = { 'a', '\n', '\r', 0x8a,
	    0x80, 0x0b, 0x09, 0xff, 0x01, '#' };
	struct tf_file	 f;
	char		 err[256];
	unsigned char	*s;
	size_t		 len, i, k, n, want[64], round, nulat;
	unsigned	 seed = 1;

	for (round = 0; round < 20000; round++) {
		len = round % 41;
		ck_assert_ptr_nonnull(s = malloc(len > 0 ? len : 1));
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			s[i] = alphabet[(seed >> 16) % sizeof(alphabet)];
		}
		/* every fourth round, one NUL somewhere */
		nulat = len;
		if (round % 4 == 3 && len > 0) {
			nulat = (seed >> 8) % len;
			s[nulat] = '\0';
		}
		n = 0;
		want[n++] = 0;
		for (i = 0; i < len; i++)
			if (s[i] == '\n')
				want[n++] = i + 1;
		if (len > 0 && s[len - 1] != '\n')
			want[n++] = len;
		if (nulat < len) {
			for (k = 1, i = 0; i < nulat; i++)
				k += s[i] == '\n';
			ck_assert_int_eq(tf_split(&f, (char *)s, len, err,
			    sizeof(err)), -1);
			ck_assert_ptr_null(f.off);
			ck_assert_msg(strstr(err, "line ") != NULL &&
			    (size_t)atol(strstr(err, "line ") + 5) == k,
			    "round %zu: want line %zu, got: %s", round, k, err);
		} else {
			ck_assert_msg(tf_split(&f, (char *)s, len, err,
			    sizeof(err)) == 0, "%s", err);
			ck_assert_uint_eq(f.nline, n - 1);
			for (i = 0; i < n; i++)
				ck_assert_uint_eq(f.off[i], want[i]);
			tf_free(&f);
		}
		free(s);
	}
}
END_TEST

/*
 * A serve session splits one big file again and again: the line offsets
 * are kept from one split to the next, not allocated (and faulted in)
 * anew.  Only the third split showed it: the second gave the array back
 * for good.
 */
START_TEST(test_split_reuses_offsets)
{
	struct buf	 b = BUF_INIT;
	struct tf_file	 f;
	char		 err[256];
	size_t		*first;
	int		 i;

	for (i = 0; i < 20000; i++)
		ck_assert_int_eq(buf_printf(&b, "echo %d\n", i), 0);
	ck_assert_int_eq(tf_split(&f, b.s, b.len, err, sizeof(err)), 0);
	first = f.off;
	tf_free(&f);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(tf_split(&f, b.s, b.len, err, sizeof(err)), 0);
		ck_assert_ptr_eq(f.off, first);
		ck_assert_uint_eq(f.nline, 20000);
		tf_free(&f);
	}
	buf_free(&b);
}
END_TEST

/* ----------------------------------------------------------- line kinds */

START_TEST(test_kind_blank_and_comment)
{
	ck_assert_int_eq(kind(""), TF_BLANK);
	ck_assert_int_eq(kind("   \t "), TF_BLANK);
	ck_assert_int_eq(kind("# a comment"), TF_COMMENT);
	ck_assert_int_eq(kind("#"), TF_COMMENT);
	ck_assert_int_eq(kind("   # indented comment #!"), TF_COMMENT);
	ck_assert_int_eq(kind("#!/bin/sh"), TF_COMMENT);
	ck_assert_int_eq(kind("#echo disabled; cd x #!"), TF_COMMENT);
}
END_TEST

START_TEST(test_kind_header)
{
	struct tf_item	 it;

	it = classify_at("#LASTWORKER 3", 1);
	ck_assert_int_eq(it.kind, TF_HEADER);
	ck_assert_int_eq(it.id, 3);
	it = classify_at("#LASTWORKER -1", 1);
	ck_assert_int_eq(it.kind, TF_HEADER);
	ck_assert_int_eq(it.id, -1);
	it = classify_at("#LASTWORKER 123456789", 1);
	ck_assert_int_eq(it.kind, TF_HEADER);
	ck_assert_int_eq(it.id, 123456789);
	/* only on line 1, and only with an id */
	ck_assert_int_eq(classify_at("#LASTWORKER 3", 2).kind, TF_COMMENT);
	ck_assert_int_eq(classify_at("#LASTWORKER x", 1).kind, TF_COMMENT);
	ck_assert_int_eq(classify_at("#LASTWORKER -2", 1).kind, TF_COMMENT);
	ck_assert_int_eq(classify_at("#LASTWORKER ", 1).kind, TF_COMMENT);
}
END_TEST

START_TEST(test_kind_registration)
{
	struct tf_item	 it;

	it = classify("# worker 2: gpu2 10.0.0.2  (11-24 08:00:00)");
	ck_assert_int_eq(it.kind, TF_REGISTRATION);
	ck_assert_int_eq(it.id, 2);
	it = classify("# worker 17: (11-24 08:00:00)");
	ck_assert_int_eq(it.kind, TF_REGISTRATION);
	ck_assert_int_eq(it.id, 17);
	ck_assert_int_eq(kind("# worker x: name"), TF_COMMENT);
	ck_assert_int_eq(kind("# worker 3 is my favourite"), TF_COMMENT);
}
END_TEST

START_TEST(test_kind_orphan)
{
	ck_assert_int_eq(kind("#?line:5# echo a # worker 0 # ... "
	    "11-24 08:00:00) #ok"), TF_ORPHAN);
	ck_assert_int_eq(kind("#?line:12# cd x; make # worker 3 # ... "
	    "11-24 08:00:00) #error2"), TF_ORPHAN);
	/* a tab: rtq supplied the line break before it */
	ck_assert_int_eq(kind("#?line:5#\techo a # worker 0 # ... "
	    "11-24 08:00:00) #ok"), TF_ORPHAN);
}
END_TEST

START_TEST(test_kind_pending_and_init)
{
	struct tf_item	 it;

	it = classify("echo task1; sleep 3 ");
	ck_assert_int_eq(it.kind, TF_PENDING);
	ck_assert_str_eq(str(it.text, it.textlen), "echo task1; sleep 3 ");
	ck_assert_ptr_null(it.ann);
	ck_assert_ptr_null(it.tags);
	ck_assert_int_eq(it.worker, -1);
	ck_assert_int_eq(kind("  indented task"), TF_PENDING);
	ck_assert_int_eq(kind("cd resnet34; train_model #:mygroup1"),
	    TF_PENDING);

	it = classify("cd ~/playground/models/resnet_family #!");
	ck_assert_int_eq(it.kind, TF_INIT);
	ck_assert_str_eq(str(it.tags, it.tagslen), "#!");
	ck_assert_int_eq(kind("exit #!#@1"), TF_INIT);
	ck_assert_int_eq(kind("newtask=\"~/t2.sh\" #!#@2"), TF_INIT);
	ck_assert_int_eq(kind("cd x #@1 #!"), TF_INIT);
	ck_assert_int_eq(kind("cd x #! sets up the environment"), TF_INIT);
	ck_assert_int_eq(kind("cd x\t#!"), TF_INIT);
	ck_assert_int_eq(kind("cd x;#!"), TF_INIT);
}
END_TEST

START_TEST(test_kind_running)
{
	struct tf_item	 it;

	it = classify("#echo task2; sleep 3 # worker 0 # (07-28 15:52:33 ...");
	ck_assert_int_eq(it.kind, TF_RUNNING);
	ck_assert_str_eq(str(it.text, it.textlen), "echo task2; sleep 3");
	ck_assert_str_eq(str(it.ann, it.annlen),
	    " # worker 0 # (07-28 15:52:33 ...");
	ck_assert_int_eq(it.worker, 0);
	ck_assert_int_eq(it.open, 1);
	ck_assert_ptr_null(it.status);
}
END_TEST

START_TEST(test_kind_done)
{
	struct tf_item	 it;

	it = classify("#echo task1; sleep 3 # worker 12 # (07-28 15:52:29 ... "
	    "07-28 15:52:33) #ok");
	ck_assert_int_eq(it.kind, TF_DONE);
	ck_assert_str_eq(str(it.text, it.textlen), "echo task1; sleep 3");
	ck_assert_int_eq(it.worker, 12);
	ck_assert_int_eq(it.open, 0);
	ck_assert_str_eq(str(it.status, it.statuslen), "ok");
	ck_assert(tf_status_ok(it.status, it.statuslen));
}
END_TEST

START_TEST(test_kind_failed)
{
	struct tf_item	 it;

	/* a failed task is uncommented again: it may be retried */
	it = classify("make all #:build # worker 1 # (11-24 08:00:00 ... "
	    "11-24 08:01:00) #error3");
	ck_assert_int_eq(it.kind, TF_FAILED);
	ck_assert_str_eq(str(it.text, it.textlen), "make all #:build");
	ck_assert_str_eq(str(it.tags, it.tagslen), "#:build");
	ck_assert_int_eq(it.worker, 1);
	ck_assert_str_eq(str(it.status, it.statuslen), "error3");
	ck_assert(!tf_status_ok(it.status, it.statuslen));
	it = classify("echo a # worker 0 # (11-24 08:00:00 ... "
	    "11-24 08:01:00) #lost");
	ck_assert_int_eq(it.kind, TF_FAILED);
	ck_assert_str_eq(str(it.status, it.statuslen), "lost");
}
END_TEST

START_TEST(test_kind_retried)
{
	struct tf_item	 it;
	static const char s[] = "#echo a # worker 0 # (11-24 08:00:00 ... "
	    "11-24 08:00:05) #error3 # worker 1 # (11-24 08:00:10 ...";

	/* the task text is what precedes the first annotation */
	it = classify(s);
	ck_assert_int_eq(it.kind, TF_RUNNING);
	ck_assert_str_eq(str(it.text, it.textlen), "echo a");
	ck_assert_int_eq(it.worker, 1);
	ck_assert_int_eq(it.open, 1);

	it = classify("#echo a # worker 0 # (11-24 08:00:00 ... 11-24 "
	    "08:00:05) #error3 # worker 1 # (11-24 08:00:10 ... 11-24 "
	    "08:00:20) #ok");
	ck_assert_int_eq(it.kind, TF_DONE);
	ck_assert_int_eq(it.worker, 1);

	it = classify("echo a # worker 0 # (11-24 08:00:00 ... 11-24 "
	    "08:00:05) #error3 # worker 1 # (11-24 08:00:10 ... 11-24 "
	    "08:00:20) #error1");
	ck_assert_int_eq(it.kind, TF_FAILED);
	ck_assert_int_eq(it.worker, 1);
	ck_assert_str_eq(str(it.status, it.statuslen), "error1");
}
END_TEST

START_TEST(test_kind_crlf_content)
{
	struct tu_file	 t;
	struct tf_item	 it;
	char		 err[64];
	const char	*s = "#LASTWORKER 0\r\n#echo a # worker 0 # "
	    "(11-24 08:00:00 ... 11-24 08:00:01) #ok\r\n";

	/* classified without the line ending: the status is "ok", not "ok\r" */
	tu_load(&t, s, strlen(s));
	ck_assert_int_eq(tf_classify(t.f.buf, tf_linelen(&t.f, 0), 1, &it,
	    err, sizeof(err)), 0);
	ck_assert_int_eq(it.kind, TF_HEADER);
	ck_assert_int_eq(it.id, 0);
	ck_assert_int_eq(tf_classify(t.f.buf + t.f.off[1],
	    tf_linelen(&t.f, 1), 2, &it, err, sizeof(err)), 0);
	ck_assert_int_eq(it.kind, TF_DONE);
	tu_unload(&t);
}
END_TEST

/* ------------------------------------------------------------------ tags */

/* Lines whose '#' is quoted or escaped: none of them has a tag. */
static const char *not_tags[] = {
	"echo '#!/bin/sh' > x",
	"echo \"a #@2\"",
	"echo \\#!",
	"echo \\ #!",
	"echo a\\;#@1",
	"echo x\\\t#!",
	"echo $'a #! b'",
	"echo $'it\\'s #!'",
	"echo \"a\\\" #@2\"",
	"echo a#!",
	"echo \"a\"#!",
	"echo ${#arr[@]} $#",
	"grep '#:g' f | wc -l",
	"printf '%s\\n' \"#+g\" 'x'",
	"echo 'unterminated #!",
};

START_TEST(test_quoted_hash_is_not_a_tag)
{
	const char	*s = not_tags[_i];
	struct tf_item	 it;

	ck_assert_ptr_null(tf_comment(s, strlen(s)));
	it = classify(s);
	ck_assert_msg(it.kind == TF_PENDING, "\"%s\": kind %d", s, it.kind);
	ck_assert_ptr_null(it.tags);
	/* a #@ inside quotes does not limit the workers */
	ck_assert(tf_affinity(&it, 0));
	ck_assert(tf_affinity(&it, 7));
}
END_TEST

START_TEST(test_comment_after_quotes)
{
	static const char *s[] = {
		"echo '#!/bin/sh' > x #!",
		"echo \"a #@2\" #!",
		"echo \\# #!",
		"echo $'a #' #!",
		"echo 'a' \"b\" \\c;#!",
	};
	struct tf_item	 it;
	size_t		 i;
	const char	*c;

	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		c = tf_comment(s[i], strlen(s[i]));
		ck_assert_msg(c != NULL && strcmp(c, "#!") == 0,
		    "\"%s\": comment %s", s[i], c ? c : "(none)");
		ck_assert_int_eq(kind(s[i]), TF_INIT);
	}
	/* the comment starts at the first word-start '#' */
	c = "echo a#b # note #@1";
	ck_assert_str_eq(tf_comment(c, strlen(c)), "# note #@1");
	it = classify(c);
	ck_assert_int_eq(it.kind, TF_PENDING);
	ck_assert(tf_affinity(&it, 1));
	ck_assert(!tf_affinity(&it, 0));
}
END_TEST

/* Collect the tags of s into a readable string: "! @1 :name +name". */
static const char *
tags_of(const char *s)
{
	static char	 out[512];
	const char	*p, *end;
	struct tf_tag	 t;
	char		 err[256];
	size_t		 n = 0;
	int		 r;

	out[0] = '\0';
	if ((p = tf_comment(s, strlen(s))) == NULL)
		return "(no comment)";
	end = s + strlen(s);
	while ((r = tf_tag_next(&p, end, &t, err, sizeof(err))) == 1) {
		switch (t.kind) {
		case TF_TAG_INIT:
			n += (size_t)snprintf(out + n, sizeof(out) - n, "! ");
			break;
		case TF_TAG_WORKER:
			n += (size_t)snprintf(out + n, sizeof(out) - n, "@%ld ",
			    t.id);
			break;
		case TF_TAG_SEQ:
		case TF_TAG_PAR:
			n += (size_t)snprintf(out + n, sizeof(out) - n,
			    "%c[%.*s] ", t.kind == TF_TAG_SEQ ? ':' : '+',
			    (int)t.namelen, t.name);
			break;
		}
	}
	ck_assert_msg(r == 0, "\"%s\": %s", s, err);
	if (n > 0)
		out[n - 1] = '\0';
	return out;
}

START_TEST(test_tag_forms)
{
	ck_assert_str_eq(tags_of("cd x #!"), "!");
	ck_assert_str_eq(tags_of("t #@1#@2"), "@1 @2");
	ck_assert_str_eq(tags_of("t #@1 #@22"), "@1 @22");
	ck_assert_str_eq(tags_of("exit #!#@1"), "! @1");
	ck_assert_str_eq(tags_of("exit #!#@1#@2"), "! @1 @2");
	ck_assert_str_eq(tags_of("t #:"), ":[]");
	ck_assert_str_eq(tags_of("t #+"), "+[]");
	ck_assert_str_eq(tags_of("t #:mygroup1"), ":[mygroup1]");
	ck_assert_str_eq(tags_of("t #+mygroup1"), "+[mygroup1]");
	/* a name runs to the next '#' or white space */
	ck_assert_str_eq(tags_of("t #:g1#@2"), ":[g1] @2");
	ck_assert_str_eq(tags_of("t #+a b"), "+[a]");
	ck_assert_str_eq(tags_of("t #+a\t#:b"), "+[a] :[b]");
	ck_assert_str_eq(tags_of("t #:a-b.c/d"), ":[a-b.c/d]");
	ck_assert_str_eq(tags_of("t #:#+"), ":[] +[]");
	/* other text in the comment is ignored */
	ck_assert_str_eq(tags_of("cd x #! set up the env"), "!");
	ck_assert_str_eq(tags_of("t # train #@2 (big memory)"), "@2");
	ck_assert_str_eq(tags_of("t # see issue #42 #"), "");
	ck_assert_str_eq(tags_of("t #"), "");
}
END_TEST

START_TEST(test_malformed_worker_tag)
{
	static const char *bad[] = {
		"echo a #@x", "echo a #@", "echo a #@1x", "echo a #@-1",
		"echo a #@1234567890", "cd x #!#@two",
		"#echo a #@x # worker 0 # (11-24 08:00:00 ...",
	};
	struct tf_item	 it;
	char		 err[256];
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(tf_classify(bad[i], strlen(bad[i]), 2, &it, err,
		    sizeof(err)) == -1, "\"%s\" accepted", bad[i]);
		ck_assert_msg(strstr(err, "malformed worker tag") != NULL &&
		    strstr(err, "#@") != NULL, "\"%s\": err: %s", bad[i], err);
	}
	/* the message shows the tag and says what is expected */
	tf_classify("echo a #@x", 10, 2, &it, err, sizeof(err));
	ck_assert_str_eq(err, "malformed worker tag \"#@x\": expected #@ and "
	    "a worker id (0 to 999999999)");
	/* where it cannot be a tag, it is not an error */
	ck_assert_int_eq(kind("echo '#@x'"), TF_PENDING);
	ck_assert_int_eq(kind("# a comment about #@x"), TF_COMMENT);
	ck_assert_int_eq(kind("#echo a #@x # worker 0 # (11-24 08:00:00 ... "
	    "11-24 08:00:01) #ok"), TF_DONE);
}
END_TEST

/* ---------------------------------------------------------- annotations */

START_TEST(test_ann_iteration)
{
	static const char s[] = "#echo a # worker 0 # (11-24 08:00:00 ... "
	    "11-24 08:00:05) #error3 # worker 12 # (11-24 08:00:10 ...";
	struct tf_item	 it = classify(s);
	struct tf_ann	 a;
	const char	*p = it.ann, *end = it.ann + it.annlen;

	ck_assert_int_eq(tf_ann_next(&p, end, &a), 1);
	ck_assert_int_eq(a.worker, 0);
	ck_assert_int_eq(a.open, 0);
	ck_assert_str_eq(str(a.status, a.statuslen), "error3");
	ck_assert_int_eq(tf_ann_next(&p, end, &a), 1);
	ck_assert_int_eq(a.worker, 12);
	ck_assert_int_eq(a.open, 1);
	ck_assert_int_eq(tf_ann_next(&p, end, &a), 0);
}
END_TEST

START_TEST(test_ann_note)
{
	struct tf_item	 it;
	struct tf_ann	 a;
	const char	*p;

	/*
	 * Text between the "..." and the end of an annotation is a note,
	 * such as runtask.sh's "line+1" on a task whose line had moved: the
	 * annotation is closed by " END) #STATUS" and by nothing else.
	 */
	it = classify("#echo a # worker 0 # (07-28 15:52:29 ...line+1 "
	    "07-28 15:52:33) #ok");
	ck_assert_int_eq(it.kind, TF_DONE);
	ck_assert_str_eq(str(it.text, it.textlen), "echo a");
	p = it.ann;
	ck_assert_int_eq(tf_ann_next(&p, it.ann + it.annlen, &a), 1);
	ck_assert_int_eq(a.open, 0);
	ck_assert_str_eq(str(a.start, TF_TIMELEN), "07-28 15:52:29");
	ck_assert_str_eq(str(a.end, TF_TIMELEN), "07-28 15:52:33");
	it = classify("echo a # worker 0 # (07-28 15:52:29 ... ...line+1 "
	    "07-28 15:52:33) #error2");
	ck_assert_int_eq(it.kind, TF_FAILED);
	ck_assert_str_eq(str(it.status, it.statuslen), "error2");
	/* with no end, still running */
	it = classify("#echo a # worker 3 # (07-28 15:52:29 ...line+1");
	ck_assert_int_eq(it.kind, TF_RUNNING);
	ck_assert_int_eq(it.worker, 3);
	ck_assert_int_eq(it.open, 1);
	ck_assert_ptr_null(it.status);
	it = classify("#echo a # worker 3 # (07-28 15:52:29 ... moved here ");
	ck_assert_int_eq(it.kind, TF_RUNNING);
}
END_TEST

START_TEST(test_ann_needs_full_form)
{
	/* "# worker" in a task's own comment is not an annotation */
	ck_assert_int_eq(kind("echo hi # worker x # (note"), TF_PENDING);
	ck_assert_int_eq(kind("echo hi # worker 3 said so"), TF_PENDING);
	ck_assert_int_eq(kind("#echo hi # worker 3 said so"), TF_COMMENT);
}
END_TEST

START_TEST(test_affinity)
{
	struct tf_item	 it;

	it = classify("echo a");
	ck_assert(tf_affinity(&it, 0) && tf_affinity(&it, 999));
	it = classify("cd resnet101; train_model #@2");
	ck_assert(tf_affinity(&it, 2));
	ck_assert(!tf_affinity(&it, 0));
	ck_assert(!tf_affinity(&it, 1));
	ck_assert(!tf_affinity(&it, 22));
	it = classify("t #@1#@3");
	ck_assert(tf_affinity(&it, 1) && tf_affinity(&it, 3));
	ck_assert(!tf_affinity(&it, 2));
	it = classify("exit #!#@1");
	ck_assert(tf_affinity(&it, 1));
	ck_assert(!tf_affinity(&it, 0));
	it = classify("t #:g #+h");
	ck_assert(tf_affinity(&it, 5));
	/* a running line keeps its affinity */
	it = classify("#t #@4 # worker 4 # (11-24 08:00:00 ...");
	ck_assert(tf_affinity(&it, 4));
	ck_assert(!tf_affinity(&it, 0));
}
END_TEST

START_TEST(test_tried_by)
{
	struct tf_item	 it;

	it = classify("echo a # worker 0 # (11-24 08:00:00 ... 11-24 "
	    "08:00:05) #error3");
	ck_assert(tf_tried_by(&it, 0));
	ck_assert(!tf_tried_by(&it, 1));
	it = classify("#echo a # worker 0 # (11-24 08:00:00 ... 11-24 "
	    "08:00:05) #error3 # worker 1 # (11-24 08:00:10 ...");
	ck_assert(tf_tried_by(&it, 0));
	ck_assert(!tf_tried_by(&it, 1));	/* running, not failed */
	it = classify("echo a # worker 0 # (11-24 08:00:00 ... 11-24 "
	    "08:00:05) #lost");
	ck_assert(tf_tried_by(&it, 0));
	it = classify("#echo a # worker 0 # (11-24 08:00:00 ... 11-24 "
	    "08:00:05) #ok");
	ck_assert(!tf_tried_by(&it, 0));
	it = classify("echo a");
	ck_assert(!tf_tried_by(&it, 0));
}
END_TEST

/* ---------------------------------------------------------------- small */

START_TEST(test_parse_id)
{
	long	 id = -5;

	ck_assert_int_eq(tf_parse_id("0", 1, &id), 0);
	ck_assert_int_eq(id, 0);
	ck_assert_int_eq(tf_parse_id("42", 2, &id), 0);
	ck_assert_int_eq(id, 42);
	ck_assert_int_eq(tf_parse_id("999999999", 9, &id), 0);
	ck_assert_int_eq(id, TF_MAXID);
	ck_assert_int_eq(tf_parse_id("1000000000", 10, &id), -1);
	ck_assert_int_eq(tf_parse_id("", 0, &id), -1);
	ck_assert_int_eq(tf_parse_id("-1", 2, &id), -1);
	ck_assert_int_eq(tf_parse_id("1a", 2, &id), -1);
	ck_assert_int_eq(tf_parse_id(" 1", 2, &id), -1);
	ck_assert_int_eq(tf_parse_id("12", 1, &id), 0);	/* only len bytes */
	ck_assert_int_eq(id, 1);
}
END_TEST

START_TEST(test_rstrip_and_status)
{
	ck_assert_uint_eq(tf_rstrip("echo a \t\r", 9), 6);
	ck_assert_uint_eq(tf_rstrip("   ", 3), 0);
	ck_assert_uint_eq(tf_rstrip("", 0), 0);
	ck_assert(tf_status_ok("ok", 2));
	ck_assert(!tf_status_ok("ok2", 3));
	ck_assert(!tf_status_ok("error1", 6));
	ck_assert(!tf_status_ok(NULL, 0));
}
END_TEST

static Suite *
taskfile_suite(void)
{
	Suite	*s = suite_create("taskfile");
	TCase	*tc;

	tc = tcase_create("split");
	tcase_add_test(tc, test_split_lf);
	tcase_add_test(tc, test_split_crlf_kept);
	tcase_add_test(tc, test_split_no_final_newline);
	tcase_add_test(tc, test_split_empty);
	tcase_add_test(tc, test_split_nul_is_error_naming_line);
	tcase_add_test(tc, test_split_many_lines);
	tcase_add_test(tc, test_split_matches_bytewise);
	tcase_add_test(tc, test_split_reuses_offsets);
	suite_add_tcase(s, tc);

	tc = tcase_create("kinds");
	tcase_add_test(tc, test_kind_blank_and_comment);
	tcase_add_test(tc, test_kind_header);
	tcase_add_test(tc, test_kind_registration);
	tcase_add_test(tc, test_kind_orphan);
	tcase_add_test(tc, test_kind_pending_and_init);
	tcase_add_test(tc, test_kind_running);
	tcase_add_test(tc, test_kind_done);
	tcase_add_test(tc, test_kind_failed);
	tcase_add_test(tc, test_kind_retried);
	tcase_add_test(tc, test_kind_crlf_content);
	suite_add_tcase(s, tc);

	tc = tcase_create("tags");
	tcase_add_loop_test(tc, test_quoted_hash_is_not_a_tag, 0,
	    (int)(sizeof(not_tags) / sizeof(not_tags[0])));
	tcase_add_test(tc, test_comment_after_quotes);
	tcase_add_test(tc, test_tag_forms);
	tcase_add_test(tc, test_malformed_worker_tag);
	suite_add_tcase(s, tc);

	tc = tcase_create("annotations");
	tcase_add_test(tc, test_ann_iteration);
	tcase_add_test(tc, test_ann_note);
	tcase_add_test(tc, test_ann_needs_full_form);
	tcase_add_test(tc, test_affinity);
	tcase_add_test(tc, test_tried_by);
	suite_add_tcase(s, tc);

	tc = tcase_create("small");
	tcase_add_test(tc, test_parse_id);
	tcase_add_test(tc, test_rstrip_and_status);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(taskfile_suite());
}
