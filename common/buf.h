/*
 * buf: a growable byte buffer that reports allocation failure.
 *
 * A buf owns its storage; buf_free() releases it.  The contents are always
 * NUL-terminated (not counted in len) so they may be used as a C string when
 * they hold no NUL byte.
 */
#ifndef RTQ_BUF_H
#define RTQ_BUF_H

#include <stddef.h>

struct buf {
	char	*s;
	size_t	 len;
	size_t	 cap;
};

#define BUF_INIT { NULL, 0, 0 }

/* Make room for n more bytes.  Returns 0, or -1 when out of memory. */
int	buf_grow(struct buf *, size_t n);
/* Append n bytes.  Returns 0, or -1 when out of memory (b unchanged). */
int	buf_add(struct buf *, const void *, size_t n);
/* Append a C string. */
int	buf_adds(struct buf *, const char *);
/* Append one byte. */
int	buf_addc(struct buf *, char);
/* Append printf-style.  Returns 0 or -1 (out of memory). */
int	buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Forget the contents, keep the storage. */
void	buf_reset(struct buf *);
/* Release the storage; b is empty and reusable afterwards. */
void	buf_free(struct buf *);

#endif
