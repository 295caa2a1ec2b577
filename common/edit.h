/*
 * edit: merging a person's edit of a live task file (rtq --edit).
 *
 * The editor works on a copy (base) while workers keep claiming, so the
 * file on the master (theirs) moves on.  Claims and finishes change a line
 * in place -- the same task text, other annotations -- and registrations,
 * orphan reports and appends add lines at the end.  The merge puts the
 * edited version (mine) back with every such change kept:
 *
 *  - theirs must be base with lines evolved in place (same task text) and
 *    lines added after it; anything else (another edit, a reset) is a
 *    conflict and nothing is written;
 *  - each line of mine that is a line of base (same bytes, matched in
 *    order) becomes that line as it is in theirs; other lines of mine are
 *    the person's and stay as written;
 *  - a line of base the person deleted but that changed in theirs (it was
 *    claimed or finished meanwhile) is kept, at the end;
 *  - the lines theirs added after base follow.
 *
 * edit_check finds the edits that would make a task run twice or lose its
 * result: a running or finished line turned back into a pending task, and
 * a running line whose task text changed.
 */
#ifndef RTQ_EDIT_H
#define RTQ_EDIT_H

#include <stddef.h>

#include "buf.h"

/*
 * Merge; the result goes to out.  Returns the number of lines kept from
 * theirs that the person had deleted (>= 0), or -1 with a message in err
 * (a conflict, memory).
 */
long	edit_merge(const char *base, size_t nbase, const char *mine,
	    size_t nmine, const char *theirs, size_t ntheirs, struct buf *out,
	    char *err, size_t errlen);

/*
 * Append a line to warn about each dangerous edit to out.  Returns how
 * many there are.
 */
size_t	edit_check(const char *base, size_t nbase, const char *mine,
	    size_t nmine, struct buf *out);

#endif
