/*
 * view: the rtq commands that only look at a queue -- --plan (plan.c) and
 * --timeline (timeline.c) -- and what they share (view.c): the task file
 * fetched with "rtq-claim cat" (over ssh or from the local child, the
 * same way), and escaping for JSON and XML.  Neither changes the file.
 */
#ifndef RTQ_VIEW_H
#define RTQ_VIEW_H

#include <stddef.h>

#include "buf.h"
#include "worker.h"

/* The task file's bytes into b.  Returns 0, or 1 (said). */
int	 view_fetch(struct worker *, struct buf *b);

/* Append s (n bytes) as a JSON string, quotes included. */
void	 view_json_str(struct buf *, const char *s, size_t n);

/* Append s (n bytes) with XML's special characters escaped. */
void	 view_xml_str(struct buf *, const char *s, size_t n);

/* Write b to standard output.  Returns 0, or 1 (said). */
int	 view_print(const struct buf *b);

/* --plan [--json]: 0, 1 when a tag is malformed or on error (said). */
int	 do_plan(struct worker *);

/* --timeline [-o FILE]: 0, or 1 (said). */
int	 do_timeline(struct worker *);

#endif
