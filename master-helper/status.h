/*
 * status: where a queue stands, for rtq --status (text or JSON).
 *
 * Everything is computed from the task file and the liveness table, on
 * the master's clock: counts by state (each task counted once, by its last
 * attempt), pending tasks held back by groups, each registered worker with
 * its current task, the failed tasks, and a progress line whose ETA comes
 * from the durations of finished tasks.
 */
#ifndef RTQ_STATUS_H
#define RTQ_STATUS_H

#include <time.h>

#include "buf.h"
#include "live.h"
#include "taskfile.h"

#define STATUS_JSON	1
#define STATUS_COLOR	2

/*
 * Append the status of file f (named name) to out.  Returns 0, or -1 with
 * a message in err (a malformed line, memory).
 */
int	status_format(const struct tf_file *, struct live *, const char *name,
	    time_t now, int flags, struct buf *out, char *err, size_t errlen);

struct logs;
/*
 * Where tasks' output is kept (logs.h), so that the report names the log
 * of each running and failed task, quotes a running task's last line and
 * a failure's last lines; NULL: none.
 */
void	status_set_logs(struct logs *);

#endif
