/*
 * slurm: a worker started by Slurm (SLURM_JOB_ID is set).
 *
 * Its default name says which job, array task and rank it is, so that
 * the workers of one "srun -n N" are told apart.  And it does not outlive
 * its job: when the process that started it ends (the batch script's
 * shell, killed by scancel or the time limit, or a step's slurmstepd),
 * rtq stops as on SIGTERM: it stops its task, reports it as failed and
 * exits.  Slurm's process tracking may miss it otherwise: under
 * proctrack/linuxproc a process whose parent died is no longer found in
 * the job, and lived on as a child of PID 1, still claiming tasks.
 * Outside Slurm, a worker whose parent ends goes on (nohup, a closed
 * terminal window with a worker started in the background).
 */
#ifndef RTQ_SLURM_H
#define RTQ_SLURM_H

#include <stddef.h>

/* Whether we run inside a Slurm job. */
int	 slurm_job(void);
/*
 * Append " slurm job J rank R" (J: JOBID, or ARRAYJOB_TASK for an array
 * task) to the name in out (len bytes in all), inside a Slurm job.
 */
void	 slurm_name(char *out, size_t len);

#endif
