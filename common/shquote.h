/*
 * shquote: quote a word for a POSIX shell (the remote side of ssh).
 */
#ifndef RTQ_SHQUOTE_H
#define RTQ_SHQUOTE_H

#include "buf.h"

/*
 * Append s to b as one shell word that the shell reads back as exactly s:
 * plain words as they are, anything else in single quotes with each ' as
 * '\''.  Returns 0, or -1 when out of memory.
 */
int	shquote(struct buf *b, const char *s);

#endif
