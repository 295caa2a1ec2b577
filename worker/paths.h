/*
 * paths: where things are -- this program, the rtq-claim installed beside
 * it, and a task file given as [user@]host:path or as a local path.
 */
#ifndef RTQ_PATHS_H
#define RTQ_PATHS_H

#include <stddef.h>

/*
 * This program's path: /proc/self/exe where there is one, else argv0 as
 * given, else argv0 found on PATH.  The result is static or argv0.
 */
const char *paths_self(const char *argv0);

/*
 * The rtq-claim beside self: "DIR/rtq-claim" for self "DIR/rtq", or
 * "rtq-claim" when self has no directory.  Returns 0, or -1 when it does
 * not fit in len.
 */
int	 paths_claim_beside(const char *self, char *out, size_t len);

/*
 * Split "[user@]host:path" (a ':' before any '/') into newly allocated
 * *host and *file; anything else is all *file, and *host is left alone.
 * NULL for what could not be allocated.
 */
void	 paths_split_target(const char *arg, char **host, char **file);

/*
 * A local path made absolute (relative to the current directory), newly
 * allocated; NULL when out of memory.
 */
char	*paths_local(const char *file);

#endif
