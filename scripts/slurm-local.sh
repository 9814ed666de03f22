#!/usr/bin/env bash
# Single-node Slurm (munge + slurmctld + slurmd) for tests and CI: start | stop | status | env.
#
# Installs slurm-wlm and munge from the distribution's packages when they are missing, writes a
# slurm.conf for this host into a state folder (default: <repo>/.slurm, or $SCILOOM_SLURM_DIR),
# and starts the daemons as root. Callers point SLURM_CONF at that config:
#
#     scripts/slurm-local.sh start            # idempotent; prints `export SLURM_CONF=...`
#     eval "$(scripts/slurm-local.sh env)"    # or: source .slurm/env
#     sbatch --wrap 'hostname'
#     scripts/slurm-local.sh stop
#
# The configuration is the one verified in a Debian 12 container (../shared/FIELD-NOTES.md,
# section 12): NodeName must equal `hostname`, DefMemPerCPU keeps a job without --mem from claiming
# the whole node, and no accounting daemon is needed. Runs without stdin (CI) and never prompts.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${SCILOOM_SLURM_DIR:-$REPO/.slurm}"
CONF="$STATE/slurm.conf"
ENV_FILE="$STATE/env"
HOST="$(hostname -s 2>/dev/null || hostname)"
START_TIMEOUT_S="${SCILOOM_SLURM_START_TIMEOUT_S:-60}"

log() { echo "slurm-local: $*" >&2; }
die() { log "error: $*"; exit 1; }

need_root() {
    [ "$(id -u)" = 0 ] || die "must run as root (the daemons run as root, SlurmUser=root)"
}

install_packages() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
        && command -v munged >/dev/null; then
        return
    fi
    command -v apt-get >/dev/null || die "slurm-wlm/munge missing and no apt-get to install them"
    log "installing slurm-wlm and munge (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q slurm-wlm munge </dev/null >"$STATE/apt.log" 2>&1; then
        apt-get update -q </dev/null >>"$STATE/apt.log" 2>&1 || die "apt-get update failed, see $STATE/apt.log"
        apt-get install -y -q slurm-wlm munge </dev/null >>"$STATE/apt.log" 2>&1 \
            || die "apt-get install slurm-wlm munge failed, see $STATE/apt.log"
    fi
}

write_conf() {
    local cpus mem_mb
    # Twice the cores (config_overrides lets slurmd accept more than it detects): the tasks of a
    # test build are short and spend much of their life importing Python, so they overlap well.
    cpus="${SCILOOM_SLURM_CPUS:-$(( $(nproc) * 2 ))}"
    # Leave a tenth of the memory to the system; a RealMemory above the real one drains the node.
    mem_mb="$(awk '/^MemTotal:/ {printf "%d", $2 / 1024 * 0.9}' /proc/meminfo)"
    mkdir -p "$STATE/ctld" "$STATE/d"
    cat >"$CONF.tmp" <<EOF
# Written by scripts/slurm-local.sh for host $HOST; do not edit (rewritten on start).
ClusterName=sciloom-ci
SlurmctldHost=$HOST
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=60
KillWait=5
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/ctld.pid
SlurmdPidFile=$STATE/d.pid
SlurmctldLogFile=$STATE/ctld.log
SlurmdLogFile=$STATE/d.log
NodeName=$HOST CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
    mv "$CONF.tmp" "$CONF"
    echo "export SLURM_CONF=$CONF" >"$ENV_FILE"
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

munge_ok() { munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munge() {
    munge_ok && return
    [ -f /etc/munge/munge.key ] || {
        log "creating /etc/munge/munge.key"
        if command -v mungekey >/dev/null; then mungekey --create --force; else
            dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
        fi
        chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
    }
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    runuser -u munge -- munged --pid-file=/run/munge/munged.pid
    for _ in $(seq 50); do
        if munge_ok; then
            cp /run/munge/munged.pid "$STATE/munged.pid" 2>/dev/null || true
            return
        fi
        sleep 0.1
    done
    die "munged does not answer (munge -n | unmunge)"
}

node_state() { { SLURM_CONF="$CONF" sinfo -h -n "$HOST" -o %T 2>/dev/null || true; } | head -n1; }

cmd_start() {
    need_root
    mkdir -p "$STATE"
    # The state folder lives in the repository by default: keep it out of git.
    [ -f "$STATE/.gitignore" ] || echo '*' >"$STATE/.gitignore"
    if [ -f "$CONF" ] && pid_alive "$STATE/ctld.pid" && pid_alive "$STATE/d.pid" \
        && [[ "$(node_state)" =~ ^(idle|mixed|allocated|completing)$ ]]; then
        log "already running ($CONF)"
        cat "$ENV_FILE"
        return
    fi
    install_packages
    cmd_stop_daemons quiet
    write_conf
    start_munge
    export SLURM_CONF="$CONF"
    # -c: start from a clean job state; jobs of an earlier CI run are not ours to resume.
    slurmctld -c -f "$CONF" || die "slurmctld failed, see $STATE/ctld.log"
    slurmd -f "$CONF" || die "slurmd failed, see $STATE/d.log"
    local waited=0 state=""
    while [ "$waited" -lt $((START_TIMEOUT_S * 10)) ]; do
        state="$(node_state)"
        case "$state" in
        idle | mixed | allocated) break ;;
        down* | drain* | fail* | inval*)
            # A node left down by an earlier run: ReturnToService=2 usually revives it; nudge it.
            SLURM_CONF="$CONF" scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true ;;
        esac
        sleep 0.1
        waited=$((waited + 1))
    done
    case "$state" in
    idle | mixed | allocated) ;;
    *) die "node $HOST is '${state:-unreachable}' after ${START_TIMEOUT_S}s; see $STATE/ctld.log and $STATE/d.log" ;;
    esac
    log "up: node $HOST ($(awk -F'CPUs=' '/^NodeName/ {split($2, a, " "); print a[1]}' "$CONF") CPUs), partition debug"
    cat "$ENV_FILE"
}

kill_pidfile() {
    local f="$1" pid
    pid_alive "$f" || { rm -f "$f"; return; }
    pid="$(cat "$f")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    rm -f "$f"
}

cmd_stop_daemons() {
    if [ -f "$CONF" ] && pid_alive "$STATE/ctld.pid"; then
        SLURM_CONF="$CONF" scontrol shutdown >/dev/null 2>&1 || true
        for _ in $(seq 50); do pid_alive "$STATE/ctld.pid" || break; sleep 0.1; done
    fi
    kill_pidfile "$STATE/d.pid"
    kill_pidfile "$STATE/ctld.pid"
    [ "${1:-}" = quiet ] || log "slurm daemons stopped"
}

cmd_stop() {
    need_root
    cmd_stop_daemons
    # Only the munged this script started (its pid is recorded); a system munged is left alone.
    kill_pidfile "$STATE/munged.pid"
}

cmd_status() {
    if [ ! -f "$CONF" ]; then echo "down (never started: no $CONF)"; return 3; fi
    local state
    state="$(node_state)"
    case "$state" in
    idle | mixed | allocated | completing)
        echo "up: node $HOST $state; SLURM_CONF=$CONF"
        SLURM_CONF="$CONF" squeue -h -o '%i %j %T %R' 2>/dev/null | sed 's/^/  job /'
        return 0 ;;
    *) echo "down (node $HOST: ${state:-controller unreachable}); SLURM_CONF=$CONF"; return 3 ;;
    esac
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) [ -f "$ENV_FILE" ] && cat "$ENV_FILE" || die "not started: no $ENV_FILE" ;;
*) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
