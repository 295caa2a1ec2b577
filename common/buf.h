/*
 * buf: a growable byte buffer that reports allocation failure.
 *
 * A buf owns its storage; buf_free() releases it.  The contents are always
 * NUL-terminated (not counted in len) so they may be used as a C string when
 * they hold no NUL byte.
 *
 * Failure is sticky: once an append (or buf_grow) fails, the buffer is
 * failed -- its storage is released (s is NULL, len 0) and every later
 * append fails too, buf_reset included, until buf_free.  So a series of
 * appends may go unchecked and one test at the end, buf_failed(&b) or the
 * usual b.s == NULL, tells whether all of them took: a failure never
 * leaves a result cut short.
 */
#ifndef RTQ_BUF_H
#define RTQ_BUF_H

#include <stddef.h>

struct buf {
	char	*s;
	size_t	 len;
	size_t	 cap;
	int	 failed;	/* an append failed: s is NULL until buf_free */
};

#define BUF_INIT { NULL, 0, 0, 0 }

/* Make room for n more bytes.  Returns 0, or -1 when out of memory. */
int	buf_grow(struct buf *, size_t n);
/* Append n bytes.  Returns 0, or -1 when out of memory (b failed). */
int	buf_add(struct buf *, const void *, size_t n);
/* Append a C string. */
int	buf_adds(struct buf *, const char *);
/* Append one byte. */
int	buf_addc(struct buf *, char);
/* Append printf-style.  Returns 0 or -1 (out of memory). */
int	buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Whether an append failed since the last buf_free (then s is NULL). */
int	buf_failed(const struct buf *);
/* Forget the contents, keep the storage; a failed buf stays failed. */
void	buf_reset(struct buf *);
/* Release the storage; b is empty, not failed, and reusable afterwards. */
void	buf_free(struct buf *);

/* The allocator (realloc); tests replace it to inject failures. */
extern void *(*buf_realloc)(void *, size_t);

#endif
