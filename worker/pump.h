/*
 * pump: the process that carries a worker's task output.
 *
 * The worker's shell writes its standard output and error to two pipes
 * that only the pump reads, so that nothing the worker does (a request to
 * a slow or dead master, say) can fill them and stall a task.  The pump
 * passes what it reads on at once to where the shell's output went before
 * (the worker's standard output and error, or a -j slot's pipe), and,
 * between a start and an end the worker sends it on the control socket,
 * also to the worker as frames for the master's copy (logsend.c).  Frames
 * wait in a buffer of PUMP_BUF bytes; when the worker does not take them
 * fast enough, further output waits in a ring of the latest PUMP_RING
 * bytes, and what the ring loses is dropped from the master's copy (never
 * from the terminal), a line saying how much taking its place.  At an end the pump reads what the task left in the pipes, ends
 * a last line that lacks its line break (so that rtq's next line starts
 * on a line of its own), and answers with an end frame after the last
 * data.  When the worker goes away the pump passes output on until the
 * pipes close, for at most PUMP_LINGER_MS, and exits.
 *
 * Control bytes, worker to pump: 'S' a task starts, forward its output;
 * 'N' a task starts, do not forward; 'E' end.  Frames,
 * pump to worker: a type byte ('o' standard output, 'e' standard error,
 * 'E' the end), a 4-byte length in host order, the bytes.
 */
#ifndef RTQ_PUMP_H
#define RTQ_PUMP_H

#include <sys/types.h>

#define PUMP_BUF	(1024 * 1024)
#define PUMP_RING	(256 * 1024)
#define PUMP_LINGER_MS	3000

struct pump {
	pid_t	 pid;
	int	 ctl;		/* the control socket; -1: no pump */
	int	 sh_out, sh_err;	/* the shell's ends, until it started */
	int	 rd_out, rd_err;	/* the pump's ends, until it started */
};

/*
 * Make the pipes for the shell's standard output and error (sh_out,
 * sh_err; give them to the shell).  Returns 0 or -1 with err.
 */
int	pump_pipes(struct pump *, char *err, size_t errlen);

/*
 * Fork the pump, passing output on to out and err (-1: the same as out),
 * and close the pipes' ends here.  Returns 0 or -1 with err.
 */
int	pump_start(struct pump *, int out, int err_to, char *err,
	    size_t errlen);

/* Close the control socket and wait (at most PUMP_LINGER_MS) for the pump. */
void	pump_stop(struct pump *);

#endif
