#!/usr/bin/env bash
# A real one-node Slurm cluster on this machine for the tests (and for trying 2-submit locally).
#
#   tests/slurm/cluster.sh install   apt-get install slurm-wlm munge (Debian/Ubuntu), if missing
#   tests/slurm/cluster.sh start     write /etc/slurm/slurm.conf, start munged, slurmctld, slurmd; wait for idle
#   tests/slurm/cluster.sh stop      stop what start started
#   tests/slurm/cluster.sh status    sinfo
#
# Needs root (slurmd runs as root). Refuses to overwrite a slurm.conf it did not write. Settings:
#   BPGEN_SLURM_STATE   state, spool and log directory (default /var/tmp/bpgen-slurm)
#   BPGEN_SLURM_MAX_ARRAY_SIZE   MaxArraySize (default 1001, Slurm's default)
set -euo pipefail

state="${BPGEN_SLURM_STATE:-/var/tmp/bpgen-slurm}"
conf=/etc/slurm/slurm.conf
marker="# written by bpgen tests/slurm/cluster.sh"
host="$(hostname -s)"

die() { echo "error: $*" >&2; exit 2; }

install_packages() {
  if command -v slurmctld >/dev/null && command -v munged >/dev/null; then
    echo "[cluster] slurm-wlm and munge are installed"
    return
  fi
  command -v apt-get >/dev/null || die "slurm-wlm and munge are missing and apt-get is not available; install them"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q slurm-wlm munge >/dev/null 2>&1 || {
    apt-get update -q >/dev/null
    apt-get install -y -q slurm-wlm munge >/dev/null
  }
  echo "[cluster] installed slurm-wlm and munge"
}

write_conf() {
  if [ -f "$conf" ] && ! grep -qF "$marker" "$conf"; then
    die "$conf exists and was not written by this script; this machine already has a Slurm configuration"
  fi
  local cpus mem
  cpus="$(nproc)"
  mem="$(awk '/MemAvailable/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)"
  mkdir -p "$state/ctld" "$state/spool" /etc/slurm
  cat > "$conf.tmp" <<EOF
$marker
ClusterName=bpgen-test
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
# Credentials live 10 s (default 120): this is also how long a requeued job waits before it may start again,
# so the requeue tests see the resume within seconds instead of two minutes.
AuthInfo=cred_expire=10
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MaxArraySize=${BPGEN_SLURM_MAX_ARRAY_SIZE:-1001}
MinJobAge=30
KillWait=5
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
ReturnToService=2
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$conf.tmp" "$conf"
}

start() {
  [ "$(id -u)" = 0 ] || die "run as root (slurmd must run as root)"
  command -v slurmctld >/dev/null || die "Slurm is not installed; run: $0 install"
  write_conf
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  [ -f /etc/munge/munge.key ] || die "/etc/munge/munge.key is missing; reinstall munge"
  if ! pgrep -x munged >/dev/null; then
    runuser -u munge -- munged
    touch "$state/munged.started"
  fi
  pgrep -x slurmctld >/dev/null || slurmctld
  pgrep -x slurmd >/dev/null || slurmd
  for _ in $(seq 60); do
    if sinfo -h -o %T 2>/dev/null | grep -qx idle; then
      echo "[cluster] Slurm is up: node $host idle ($(nproc) CPUs), partition debug, state in $state"
      return
    fi
    sleep 1
  done
  sinfo || true
  die "the node did not become idle within 60 s; see $state/slurmctld.log and $state/slurmd.log"
}

stop() {
  scancel --user="$(id -un)" 2>/dev/null || true
  for daemon in slurmd slurmctld; do
    pkill -x "$daemon" 2>/dev/null || true
  done
  for _ in $(seq 20); do
    pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null || break
    sleep 0.5
  done
  if [ -f "$state/munged.started" ]; then
    pkill -x munged 2>/dev/null || true
    rm -f "$state/munged.started"
  fi
  echo "[cluster] stopped slurmctld and slurmd"
}

case "${1:-}" in
  install) install_packages ;;
  start) start ;;
  stop) stop ;;
  status) sinfo ;;
  -h|--help|"") sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; [ -n "${1:-}" ] ;;
  *) die "unknown command ${1}; use install, start, stop or status" ;;
esac
