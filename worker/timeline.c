/*
 * timeline: rtq --timeline FILE [-o OUT.svg].
 */
#include "sig.h"
#include "view.h"

int
do_timeline(struct worker *w)
{
	say("%s: --timeline is not built yet", w->where);
	return 1;
}
