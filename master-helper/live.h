/*
 * live: when rtq-claim last heard from each worker (SPEC 5, liveness).
 *
 * Kept in the content of the lock file "<taskfile>.lock", which runtask.sh
 * only flocks and never reads, as lines "W SEEN LEASE SEQ [lost] [m=KEY]
 * [kill=LINE]": worker id, the master's clock (seconds since the epoch)
 * when it last made a request, its lease in seconds, and the sequence
 * number of its last request (a request that comes again with the same
 * number is a retry whose reply was lost: it is not applied twice); the
 * key of its process, which its -j slots share; the line of the task
 * rtq --kill asked it to stop (told on its heartbeats).  Lines "prev SLOT INO
 * SIZE WHEN DEV" remember the versions recent rewrites replaced, kept
 * linked beside the task file, and how many of their bytes are in the
 * current file; "next SLOT" the slot the next rewrite takes (see tfio.h:
 * appends that reach an old version late are carried over); "swept WHEN"
 * when leftovers were last looked for.  At most LIVE_MAX bytes of the
 * lock file are read: a larger one is not a table.  Read and written
 * only under the lock, by tfio, which owns the table (see tfio.h for when
 * it is written).  A worker not heard from for longer than its lease is declared
 * lost: its running tasks are released as "#lost" for others.  Workers that
 * never appear here (runtask.sh's) are never declared lost.  A damaged
 * line is skipped, so the worst a crash mid-write can do is forget when a
 * worker was last heard from.
 */
#ifndef RTQ_LIVE_H
#define RTQ_LIVE_H

#include <stddef.h>

#include "buf.h"
#include "tfio.h"

#define LIVE_LEASE	120	/* seconds, when a worker did not say */
#define LIVE_MAX	(4 << 20)	/* bytes: some 100,000 workers */

struct live_ent {
	long		 w;
	long long	 seen;
	long		 lease;
	long long	 seq;		/* of its last request; -1: none */
	int		 lost;
	unsigned long long machine;	/* its process (-j slots share it) */
	size_t		 kill;		/* line rtq --kill asked it to stop */
};

struct live {
	struct live_ent	*e;
	size_t		 n, cap;
	/* the task file's previous versions (tfio.h) */
	struct tfio_prev prev[TFIO_PREVS];
	int		 prev_next;
	long long	 swept;		/* leftovers last looked for (tfio.h) */
	struct buf	 saved;		/* the table as last read or written */
	int		 unsure;	/* a save failed: the file's length is
					   unknown */
};

/*
 * Read the table from fd (the lock file, at its start).  Returns 0, or -1
 * with errno (a read error, memory, EFBIG: more than LIVE_MAX bytes); l
 * is then empty.
 */
int	live_load(int fd, struct live *);
/*
 * Write the table back to fd, when it differs from what was last read or
 * written there.  Returns 0, or -1 with errno.
 */
int	live_save(int fd, struct live *);
/* The entry of worker w, or NULL. */
struct live_ent *live_get(struct live *, long w);
/*
 * Record a request of w at now; lease > 0 sets its lease.  Returns the
 * entry (its lost flag as it was: the caller clears it), or NULL (memory).
 */
struct live_ent *live_touch(struct live *, long w, long long now, long lease);
/*
 * Mark lost every worker other than except whose lease ran out; their ids
 * go to out (at most max).  Returns how many.
 */
size_t	live_expire(struct live *, long long now, long except, long *out,
	    size_t max);
/*
 * The ids of the live workers (not lost, heard from within their lease)
 * into out (room for l->n).  Returns how many.
 */
size_t	live_ids(const struct live *, long long now, long *out);
/* Forget worker w (it said goodbye). */
void	live_drop(struct live *, long w);
void	live_free(struct live *);

#endif
