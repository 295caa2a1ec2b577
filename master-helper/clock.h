/*
 * clock: the time rtq-claim goes by.
 *
 * Everything rtq-claim does with the time -- the stamps it writes into the
 * task file, when it heard from a worker and whose lease ran out, how old
 * a previous version of the file is, what status reports -- comes from
 * clock_now(), read once per request so that all of it agrees.
 *
 * For tests, the environment variable RTQ_NOW, when set and not empty,
 * replaces the real clock: "SECONDS" (since the epoch, the clock then
 * stands still) or "+N" / "-N" (the real clock plus or minus N seconds),
 * so a test can let a lease run out without sleeping through it.
 */
#ifndef RTQ_CLOCK_H
#define RTQ_CLOCK_H

#include <stddef.h>

#include "taskfile.h"

/*
 * The time now, in seconds since the epoch, to *now.  Returns 0, or -1
 * with a message in err when RTQ_NOW is malformed.
 */
int	clock_now(long long *now, char *err, size_t errlen);

/* The local time stamp of now as the task file holds it (claim_stamp). */
void	clock_stamp(long long now, char out[TF_TIMELEN + 1]);

#endif
