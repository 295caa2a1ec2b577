/*
 * expire: leases that ran out, seen by requests that no worker makes.
 *
 * A worker's request releases the running tasks of every worker whose
 * lease ran out (rtq-claim.c, liveness).  When no worker asks any more
 * (the last one was killed with its job), "reset --failed" and "status"
 * must not wait for one: reset releases them first, under the lock, so
 * that they go back to pending with the failed tasks, and so does tally
 * (rtq --wait: such a task is no longer running); status, which takes
 * no lock and writes nothing, shows the file as the next request will
 * leave it.
 */
#ifndef RTQ_EXPIRE_H
#define RTQ_EXPIRE_H

#include "buf.h"
#include "tfio.h"

/*
 * The file of t (read by tfio_peek) as it will be once the tasks of the
 * workers whose lease ran out at now are released, to view; those workers
 * are marked lost in t's table, in memory only.  stamp: now, as the file
 * writes it.  Returns 0, or -1 with err (memory, an unreadable file).
 */
int	expire_view(struct tfio *t, long long now, const char *stamp,
	    struct buf *view, char *err, size_t errlen);

#endif
