/*
 * clock: the real clock, or RTQ_NOW for tests.  See clock.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "claim.h"
#include "clock.h"

/* 9999-12-31 23:59:59 UTC: past it, a time stamp would not fit */
#define CLOCK_MAX	253402300799LL

int
clock_now(long long *now, char *err, size_t errlen)
{
	const char	*e = getenv("RTQ_NOW"), *p;
	long long	 v = 0;
	int		 sign = 0;

	*now = (long long)time(NULL);
	if (e == NULL || *e == '\0')
		return 0;
	p = e;
	if (*p == '+' || *p == '-')
		sign = *p++ == '+' ? 1 : -1;
	if (*p == '\0')
		goto bad;
	/* no strtoll: it takes blanks, a second sign, and overflows */
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || v > CLOCK_MAX)
			goto bad;
		v = v * 10 + (*p - '0');
	}
	if (sign != 0)
		v = *now + sign * v;
	if (v < 0 || v > CLOCK_MAX)
		goto bad;
	*now = v;
	return 0;
bad:
	snprintf(err, errlen, "RTQ_NOW=\"%.64s%s\": expected the time as "
	    "seconds since the epoch, or +N or -N seconds from now (a test "
	    "clock; unset it to use the real one)", e, strlen(e) > 64 ?
	    "..." : "");
	return -1;
}

void
clock_stamp(long long now, char out[TF_TIMELEN + 1])
{
	time_t		 t = (time_t)now;
	struct tm	 tm;

	if (localtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	claim_stamp(&tm, out);
}
