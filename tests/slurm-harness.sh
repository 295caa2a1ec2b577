#!/usr/bin/env bash
# slurm-harness.sh - a throwaway one-node Slurm cluster for end-to-end tests.
#
# Usage (from a test script, as root):
#     . "$RTQ_TOP/tests/slurm-harness.sh"
#     trap slurm_stop EXIT
#     slurm_start || exit 1
#     sbatch --wrap 'hostname'          # SLURM_CONF is exported
#
# slurm_start starts, all in a private directory ($RTQ_SLURM_DIR) and on free
# random ports, a munged with its own key and socket, a slurmctld and a
# slurmd for this machine (one node, partition "rtq", no accounting), each
# in the foreground of a background job of this shell, so that their pids
# are known.  The process tracking plugin is proctrack/cgroup where this
# machine lets Slurm use cgroups (RTQ_PROCTRACK=linuxproc forces the
# other), else proctrack/linuxproc; it waits until the node is idle and a
# first job step has run (in a Slurm cgroup, for cgroup), then exports:
#     SLURM_CONF      the private slurm.conf (read by sbatch, srun, ...)
#     RTQ_SLURM_DIR   the directory holding it, the state, spool and logs
#     RTQ_PROCTRACK   cgroup or linuxproc: the one that ran
# The node says it has 32 CPUs (SlurmdParameters=config_overrides), so
# that a few jobs run at once on a small machine.  KillWait is 5 s (30 on
# a real cluster): the time between the TERM of a job ended by scancel or
# its time limit and the KILL of what is left.
#
# slurm_stop cancels every job of the cluster, waits for their steps to
# end, stops slurmd, slurmctld and munged (TERM, then KILL), KILLs what
# is left of the cluster's jobs (its slurmstepds, their children, the
# processes in Slurm's cgroups that carry its SLURM_CONF), and removes
# the directory; calling it twice, or without
# slurm_start, is harmless.  Nothing is left that a second run could trip
# on: the ports are chosen anew and the state lives in the directory.
#
# Needs slurmctld, slurmd (Debian: slurm-wlm) and munged (munge).

_slurm_pids=()

# _slurm_log: the end of each daemon's log, on stderr (for a failure)
_slurm_log() {
	local f
	for f in "$RTQ_SLURM_DIR"/*.log; do
		[ -f "$f" ] || continue
		echo "== $f" >&2
		tail -n 15 "$f" >&2
	done
}

# _slurm_port_used PORT: a TCP socket has that local port
_slurm_port_used() {
	local hex
	hex=$(printf ':%04X ' "$1")
	grep -qF "$hex" /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# _slurm_conf PROCTRACK: write slurm.conf and cgroup.conf
_slurm_conf() {
	local host port
	host=$(hostname -s)
	# two free ports in a row
	port=$((20000 + RANDOM % 20000))
	while _slurm_port_used "$port" || _slurm_port_used $((port + 1)); do
		port=$((20000 + RANDOM % 20000))
	done
	cat >"$RTQ_SLURM_DIR/slurm.conf" <<EOF
ClusterName=rtqtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$RTQ_SLURM_DIR/munge.sock
StateSaveLocation=$RTQ_SLURM_DIR/state
SlurmdSpoolDir=$RTQ_SLURM_DIR/spool
SlurmctldPidFile=$RTQ_SLURM_DIR/slurmctld.pid
SlurmdPidFile=$RTQ_SLURM_DIR/slurmd.pid
SlurmctldLogFile=$RTQ_SLURM_DIR/slurmctld.log
SlurmdLogFile=$RTQ_SLURM_DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/$1
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
KillWait=5
MinJobAge=300
InactiveLimit=0
OverTimeLimit=0
MessageTimeout=10
SlurmdTimeout=300
SlurmdParameters=config_overrides
NodeName=$host NodeAddr=127.0.0.1 CPUs=32 RealMemory=1000 State=UNKNOWN
PartitionName=rtq Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF
	cat >"$RTQ_SLURM_DIR/cgroup.conf" <<EOF
CgroupPlugin=autodetect
CgroupMountpoint=/sys/fs/cgroup
ConstrainCores=no
ConstrainRAMSpace=no
ConstrainDevices=no
EOF
}

# _slurm_wait SECONDS CMD...: until CMD succeeds (every 0.1 s), or 1
_slurm_wait() {
	local n=$(($1 * 10))
	shift
	until "$@" >/dev/null 2>&1; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.1
	done
}
_slurm_idle() { sinfo -h -o %t | grep -qx idle; }
_slurm_alive() { kill -0 "$1" 2>/dev/null; }

# _slurm_daemons PROCTRACK: start the cluster; 0 once a job ran there
_slurm_daemons() {
	local d=$RTQ_SLURM_DIR out
	_slurm_conf "$1"
	rm -rf "$d/state" "$d/spool"
	mkdir -p "$d/state" "$d/spool"
	slurmctld -D -i -f "$d/slurm.conf" >>"$d/slurmctld.out" 2>&1 &
	_slurm_pids+=($!)
	_slurm_ctld=$!
	slurmd -D -f "$d/slurm.conf" >>"$d/slurmd.out" 2>&1 &
	_slurm_pids+=($!)
	_slurm_d=$!
	if ! _slurm_wait 30 _slurm_idle; then
		echo "slurm-harness: the node did not become idle" >&2
		return 1
	fi
	# a job that runs, and its step's processes tracked
	out=$(timeout 30 srun -t 1 -n 1 cat /proc/self/cgroup 2>&1) || {
		echo "slurm-harness: a first job failed: $out" >&2
		return 1
	}
	if [ "$1" = cgroup ] && ! grep -q 'slurm' <<<"$out"; then
		echo "slurm-harness: the job step is in no Slurm cgroup:" >&2
		echo "$out" >&2
		return 1
	fi
	return 0
}

# _slurm_down: stop the cluster's jobs and daemons (not munged)
_slurm_down() {
	local p i
	if [ -n "${_slurm_ctld:-}" ] && _slurm_alive "$_slurm_ctld"; then
		scancel --full -u root >/dev/null 2>&1
		# the steps end (KillWait is 5 s)
		_slurm_wait 15 _slurm_no_jobs
	fi
	for p in ${_slurm_d:-} ${_slurm_ctld:-}; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in ${_slurm_d:-} ${_slurm_ctld:-}; do
		for ((i = 0; i < 100; i++)); do
			_slurm_alive "$p" || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	_slurm_kill_left
	_slurm_d= _slurm_ctld=
}
_slurm_no_jobs() {
	[ -z "$(squeue -h -o %i 2>/dev/null)" ] || return 1
	! _slurm_stepds >/dev/null
}

# _slurm_ours PID: PID belongs to this cluster (SLURM_CONF in its
# environment: its daemons pass it on to the jobs, sbatch and srun too)
_slurm_ours() {
	tr '\0' '\n' 2>/dev/null <"/proc/$1/environ" |
	    grep -qxF "SLURM_CONF=$SLURM_CONF"
}

# _slurm_stepds: the pids of this cluster's slurmstepds; 1 when none
_slurm_stepds() {
	local p found=1
	for p in $(pgrep -x slurmstepd); do
		if _slurm_ours "$p"; then
			echo "$p"
			found=0
		fi
	done
	return $found
}

# _slurm_kill_left: KILL what is left of this cluster's jobs: its
# slurmstepds and the processes of its jobs (in Slurm's cgroups, or
# children of its slurmstepds), never another cluster's
_slurm_kill_left() {
	local f p
	for p in $(_slurm_stepds); do
		pkill -KILL -P "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
	done
	for f in /sys/fs/cgroup/*/slurm*/cgroup.procs \
	    /sys/fs/cgroup/*/slurm*/*/cgroup.procs \
	    /sys/fs/cgroup/*/slurm*/*/*/cgroup.procs \
	    /sys/fs/cgroup/*/slurm*/*/*/*/cgroup.procs; do
		[ -f "$f" ] || continue
		while read -r p; do
			_slurm_ours "$p" && kill -KILL "$p" 2>/dev/null
		done <"$f"
	done
	return 0
}

slurm_start() {
	local i pt
	for i in slurmctld slurmd munged sbatch srun scancel squeue sinfo; do
		command -v "$i" >/dev/null || {
			echo "slurm-harness: $i not found; install the Debian" \
			    "packages slurm-wlm and munge" >&2
			return 1
		}
	done
	[ "$(id -u)" -eq 0 ] || {
		echo "slurm-harness: the cluster's daemons run as root" >&2
		return 1
	}
	RTQ_SLURM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/rtq-slurm.XXXXXX") || return 1
	chmod 755 "$RTQ_SLURM_DIR"
	export RTQ_SLURM_DIR SLURM_CONF=$RTQ_SLURM_DIR/slurm.conf
	# munge: its own key and socket
	dd if=/dev/urandom of="$RTQ_SLURM_DIR/munge.key" bs=1024 count=1 \
	    status=none && chmod 400 "$RTQ_SLURM_DIR/munge.key" || return 1
	munged -F -f --key-file="$RTQ_SLURM_DIR/munge.key" \
	    --socket="$RTQ_SLURM_DIR/munge.sock" \
	    --pid-file="$RTQ_SLURM_DIR/munged.pid" \
	    --seed-file="$RTQ_SLURM_DIR/munged.seed" \
	    --log-file="$RTQ_SLURM_DIR/munged.log" >>"$RTQ_SLURM_DIR/munged.out" 2>&1 &
	_slurm_munged=$!
	_slurm_pids+=($!)
	if ! _slurm_wait 10 test -S "$RTQ_SLURM_DIR/munge.sock"; then
		echo "slurm-harness: munged did not start" >&2
		_slurm_log
		return 1
	fi
	for pt in ${RTQ_PROCTRACK:-cgroup linuxproc}; do
		if _slurm_daemons "$pt"; then
			export RTQ_PROCTRACK=$pt
			return 0
		fi
		echo "slurm-harness: proctrack/$pt does not work here" >&2
		_slurm_log
		_slurm_down
	done
	return 1
}

slurm_stop() {
	[ -n "${RTQ_SLURM_DIR:-}" ] || return 0
	_slurm_down
	if [ -n "${_slurm_munged:-}" ]; then
		kill -TERM "$_slurm_munged" 2>/dev/null
		_slurm_wait 5 eval '! _slurm_alive $_slurm_munged'
		kill -KILL "$_slurm_munged" 2>/dev/null
		wait "$_slurm_munged" 2>/dev/null
	fi
	_slurm_munged=
	rm -rf "$RTQ_SLURM_DIR"
	RTQ_SLURM_DIR=
	return 0
}
