/*
 * slurm: a worker started by Slurm.  See slurm.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slurm.h"

/* The variable name, when set to a word without blanks; else NULL. */
static const char *
var(const char *name)
{
	const char	*v = getenv(name);

	if (v == NULL || *v == '\0' || strpbrk(v, " \t\r\n") != NULL)
		return NULL;
	return v;
}

int
slurm_job(void)
{
	return var("SLURM_JOB_ID") != NULL;
}

void
slurm_name(char *out, size_t len)
{
	const char	*job = var("SLURM_JOB_ID");
	const char	*array = var("SLURM_ARRAY_JOB_ID");
	const char	*task = var("SLURM_ARRAY_TASK_ID");
	const char	*rank = var("SLURM_PROCID");
	size_t		 n = strlen(out);

	if (job == NULL || n >= len)
		return;
	/* an array task is known as ARRAYJOB_TASK (squeue, scancel) */
	if (array != NULL && task != NULL)
		snprintf(out + n, len - n, " slurm job %s_%s", array, task);
	else
		snprintf(out + n, len - n, " slurm job %s", job);
	n = strlen(out);
	if (rank != NULL && n < len)
		snprintf(out + n, len - n, " rank %s", rank);
}
