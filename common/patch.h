/*
 * patch: a new version of a buffer, as a sorted list of splices.
 *
 * A claim changes one or two lines of a file that may hold a million, so
 * the new version is kept as "replace bytes [off, off+len) of the old buffer
 * with these bytes" records, and written out as the old buffer's unchanged
 * stretches interleaved with the new bytes.  Splices never overlap.
 */
#ifndef RTQ_PATCH_H
#define RTQ_PATCH_H

#include <stddef.h>

#include "buf.h"

struct patch_splice {
	size_t	off, len;		/* range of the old buffer */
	size_t	doff, dlen;		/* replacement, in patch.data */
};

struct patch {
	struct patch_splice	*sp;
	size_t			 n, cap;
	struct buf		 data;
};

#define PATCH_INIT { NULL, 0, 0, BUF_INIT }

/*
 * Replace [off, off+len) with s[0..n).  len 0 inserts; splices at the same
 * offset keep the order they were added in.  Returns 0, or -1 when out of
 * memory or when the range overlaps an earlier splice.
 */
int	patch_replace(struct patch *, size_t off, size_t len,
	    const char *s, size_t n);
/* Size of the patched buffer. */
size_t	patch_size(const struct patch *, size_t oldsize);
/* Append the patched version of buf to out.  Returns 0 or -1 (memory). */
int	patch_apply(const struct patch *, const char *buf, size_t size,
	    struct buf *out);
void	patch_reset(struct patch *);
void	patch_free(struct patch *);

#endif
