/*
 * expire: leases that ran out, for status.  See expire.h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "claim.h"
#include "expire.h"
#include "live.h"
#include "patch.h"
#include "taskfile.h"

int
expire_view(struct tfio *t, long long now, const char *stamp,
    struct buf *view, char *err, size_t errlen)
{
	struct tf_file	 f;
	struct patch	 p = PATCH_INIT;
	long		*ids = NULL, *more;
	size_t		 n = 0, got;
	int		 r = -1;

	for (;;) {
		if ((more = realloc(ids, (n + 256) * sizeof(*ids))) == NULL)
			goto oom;
		ids = more;
		if ((got = live_expire(t->live, now, -1, ids + n, 256)) == 0)
			break;
		n += got;
	}
	buf_reset(view);
	if (n == 0) {
		if (buf_add(view, t->data.s, t->data.len) == -1 ||
		    (view->s == NULL && buf_grow(view, 0) == -1))
			goto oom;
		free(ids);
		return 0;
	}
	if (tf_split(&f, t->data.s, t->data.len, err, errlen) == -1) {
		free(ids);
		return -1;
	}
	if (claim_lost(&f, ids, n, stamp, &p, err, errlen) != -1)
		r = patch_apply(&p, t->data.s, t->data.len, view);
	tf_free(&f);
	patch_free(&p);
	free(ids);
	if (r == -1)
		snprintf(err, errlen, "out of memory");
	return r;
oom:
	free(ids);
	snprintf(err, errlen, "out of memory");
	return -1;
}
