/*
 * plan: what each line of a task file is and what it waits for, as a pure
 * function over the task-file model (rtq --plan).  Nothing is claimed and
 * nothing is changed.
 *
 * For every task and init line: its worker pins (#@), its groups (#: and
 * #+; every task also has the hidden #+ group with the empty name), the
 * earlier tasks not yet ok that hold it back (the same rule as the claim
 * engine, SPEC 2.2: a #:g line waits for every earlier #:g and #+g line,
 * a #+g line for every earlier #:g line, every line for every earlier bare
 * #: line, a bare #: line for every earlier task), whether one of those
 * can never end ok (failed for good, killed, or itself blocked so), and
 * the init lines a worker that may run it runs before it.  A line whose
 * tags are malformed (#@x, #timeout=, #retries=) gets its message, and the
 * claim engine refuses the whole file while it is there.
 */
#ifndef RTQ_PLAN_H
#define RTQ_PLAN_H

#include <stddef.h>

#include "taskfile.h"

struct plan_group {
	const char	*name;		/* into the file's bytes */
	size_t		 len;
	int		 seq;		/* #: (1) or #+ (0) */
};

struct plan_hold {
	size_t		 line;		/* 1-based: the earlier task */
	const struct plan_group *via;	/* its group that holds; NULL: the
					   hidden one (a barrier) */
};

struct plan_line {
	struct tf_item	 it;		/* from tf_classify */
	int		 bad;		/* malformed tags: err says how */
	char		 err[256];
	long		*pins;		/* #@ ids */
	size_t		 npins;
	struct plan_group *groups;	/* explicit #: and #+ tags */
	size_t		 ngroups;
	int		 barrier;	/* carries a bare #: */
	struct plan_hold *holds;	/* pending, failed, init: what holds it */
	size_t		 nholds;
	size_t		 dead_by;	/* held for good behind that failed
					   line (1-based), else 0 */
	size_t		 paused_by;	/* a #PAUSED line above it, else 0 */
	size_t		*inits;		/* tasks: init lines run before it */
	size_t		 ninits;
};

struct plan {
	struct plan_line *l;		/* f->nline entries */
	size_t		 n;
	size_t		 nbad;
};

/*
 * Plan the file f (which must outlive the plan).  Returns 0, or -1 (out
 * of memory) with err filled.  plan_free releases what plan_make made.
 */
int	plan_make(const struct tf_file *f, struct plan *, char *err,
	    size_t errlen);
void	plan_free(struct plan *);

/* Whether l is a task that has not ended ok. */
int	plan_task_open(const struct plan_line *);

/*
 * Whether task h, an earlier line, is one that l depends on (waits for
 * until it is ok), whatever either's state: the rule above.
 */
int	plan_depends(const struct plan_line *h, const struct plan_line *l);

#endif
