#!/usr/bin/env bash
# Starts (or stops) a single-node Slurm cluster on this machine for the scale-out tests: munged with a munge
# key, slurmctld and slurmd, configured in $WEBDCP_SLURM_DIR (default /tmp/webdcp-slurm), the node described
# by `slurmd -C` (its real CPUs). Needs root and Debian's slurmctld, slurmd, slurm-client and munge packages.
# Prints the slurm.conf path; commands reach the cluster with SLURM_CONF set to it. Starting an already
# running cluster only prints the path.
#
# usage: scripts/start-slurm.sh [start|stop]
set -euo pipefail
dir="${WEBDCP_SLURM_DIR:-/tmp/webdcp-slurm}"
conf="$dir/slurm.conf"
export SLURM_CONF="$conf"

if [ "$(id -u)" != 0 ]; then echo "start-slurm.sh: needs root" >&2; exit 2; fi
for tool in munged slurmctld slurmd sbatch scontrol sinfo; do
  command -v "$tool" >/dev/null || { echo "start-slurm.sh: $tool missing: apt-get install slurmctld slurmd slurm-client munge" >&2; exit 2; }
done

stop() {
  for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munged.pid"; do
    [ -f "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$pidfile"
  done
}

if [ "${1:-start}" = stop ]; then stop; exit 0; fi

if [ -f "$conf" ] && scontrol ping 2>/dev/null | grep -q UP && sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
  echo "$conf"
  exit 0
fi
stop
mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
chown munge:munge "$dir/munge"

# munge: a key only root and munge can read, and a daemon of our own on our own socket.
key="$dir/munge/munge.key"
if [ ! -s "$key" ]; then
  dd if=/dev/urandom of="$key" bs=1024 count=1 status=none
  chown munge:munge "$key"
  chmod 400 "$key"
fi
socket="$dir/munge/munge.socket"
runuser -u munge -- munged --key-file="$key" --socket="$socket" --pid-file="$dir/munge/munged.pid" \
  --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" --force
cp "$dir/munge/munged.pid" "$dir/munged.pid"

host="$(hostname -s)"
node="$(slurmd -C | head -1)"
cat >"$conf" <<CONF
ClusterName=webdcp
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
$node State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF

slurmctld -f "$conf"
slurmd -f "$conf"
for _ in $(seq 100); do
  if sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then echo "$conf"; exit 0; fi
  scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true
  sleep 0.2
done
echo "start-slurm.sh: the node did not come up; see $dir/slurmctld.log and $dir/slurmd.log" >&2
sinfo >&2 || true
exit 1
