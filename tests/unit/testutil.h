/*
 * testutil: helpers shared by the Check unit tests.
 *
 * A task file under test is built from an array of lines (each ends with
 * "\n") or from raw bytes.  tu_load copies the bytes into a heap block of
 * exactly their size, with no NUL after them, so AddressSanitizer catches
 * any read before the first or past the last byte, as it would on a file
 * that rtq-claim read.
 */
#ifndef RTQ_TESTUTIL_H
#define RTQ_TESTUTIL_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "patch.h"
#include "taskfile.h"

/* A NULL-terminated array of lines: LINES("a", "b"). */
#define LINES(...)	((const char *const []){ __VA_ARGS__, NULL })

struct tu_file {
	char		*buf;		/* exactly len bytes, not terminated */
	size_t		 len;
	struct tf_file	 f;
};

/* Set b to the lines joined, each followed by "\n". */
static inline void
tu_join(struct buf *b, const char *const *lines)
{
	buf_reset(b);
	ck_assert_int_eq(buf_grow(b, 0), 0);
	for (; *lines != NULL; lines++) {
		ck_assert_int_eq(buf_adds(b, *lines), 0);
		ck_assert_int_eq(buf_addc(b, '\n'), 0);
	}
}

/* Copy s[0..len) to an exact heap block and split it; must succeed. */
static inline void
tu_load(struct tu_file *t, const char *s, size_t len)
{
	char	 err[256];

	t->len = len;
	ck_assert_ptr_nonnull(t->buf = malloc(len > 0 ? len : 1));
	if (len > 0)
		memcpy(t->buf, s, len);
	ck_assert_msg(tf_split(&t->f, t->buf, len, err, sizeof(err)) == 0,
	    "tf_split: %s", err);
}

static inline void
tu_unload(struct tu_file *t)
{
	tf_free(&t->f);
	free(t->buf);
	t->buf = NULL;
}

/*
 * Set out to the patched version of t's bytes, checking that patch_size
 * predicted its size.
 */
static inline void
tu_apply(const struct tu_file *t, const struct patch *p, struct buf *out)
{
	buf_reset(out);
	ck_assert_int_eq(buf_grow(out, 0), 0);
	ck_assert_int_eq(patch_apply(p, t->buf, t->len, out), 0);
	ck_assert_uint_eq(out->len, patch_size(p, t->len));
}

/* Run a suite; the exit status of a test program. */
static inline int
tu_run(Suite *s)
{
	SRunner	*sr;
	int	 nfail;

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
