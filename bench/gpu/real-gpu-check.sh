#!/bin/bash
# The real-GPU check for podagent's GPU probe, reclaim and orphan cleanup (docs/gpu.md, "Real GPU check").
# Usage: bench/gpu/real-gpu-check.sh PODAGENT_BINARY [OUT_DIR]
# Needs: an NVIDIA GPU, nvidia-smi, python3, libcuda.so.1. Allocates a few GiB with bench/gpu/cuda_hold.py.
set -u
P=${1:?usage: real-gpu-check.sh PODAGENT_BINARY [OUT_DIR]}
OUT=${2:-/tmp/podagent-gpu-check}
mkdir -p "$OUT"
HOLD="$(cd "$(dirname "$0")" && pwd)/cuda_hold.py"
PIDS=()
step() { echo; echo "=== $*"; }
smi_used() { nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits | head -1; }
smi_apps() { nvidia-smi --query-compute-apps=pid,used_memory,process_name --format=csv,noheader,nounits; }
alive() { [ -e "/proc/$1" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat"; }
# Starts "cuda_hold MiB" with extra env in a new session (its own process group); waits for READY; prints its pid.
hold() {  # hold NAME MIB [ENV=VALUE...]
  local name=$1 mib=$2; shift 2
  setsid env "$@" python3 "$HOLD" "$mib" > "$OUT/$name.ready" 2> "$OUT/$name.err" < /dev/null &
  for _ in $(seq 1 300); do grep -q READY "$OUT/$name.ready" 2>/dev/null && break; sleep 0.1; done
  awk '/READY/ {print $2}' "$OUT/$name.ready"
}
cleanup_all() { for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null; done; }
trap cleanup_all EXIT

step "versions"
"$P" version; nvidia-smi --query-gpu=driver_version,name --format=csv,noheader; python3 --version

step "(a) device readings: podagent gpu --json (NVML) vs nvidia-smi --query-gpu"
"$P" gpu --json > "$OUT/gpu-idle.json"; echo "podagent gpu --json exit $?"
nvidia-smi --query-gpu=index,name,uuid,memory.total,memory.used,memory.free,utilization.gpu,temperature.gpu --format=csv,noheader,nounits | tee "$OUT/smi-idle.csv"
python3 - "$OUT/gpu-idle.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("podagent source:", r["source"])
for d in r["devices"]:
    print(f'{d["index"]}, {d["name"]}, {d["uuid"]}, {d["memory_total_mib"]:.0f}, {d["memory_used_mib"]:.0f}, {d["memory_free_mib"]:.0f}, {d["utilization_percent"]}, {d["temperature_c"]}')
PY

step "(a) podagent run + podagent health --json"
STATE=$(mktemp -d)
PODAGENT_SSH=off "$P" run --http-host 127.0.0.1 --http-port 0 --state-dir "$STATE" > "$OUT/agent.out" 2> "$OUT/agent.err" &
AGENT=$!; PIDS+=("$AGENT")
for _ in $(seq 1 100); do grep -q "listening on" "$OUT/agent.out" && break; sleep 0.1; done
URL=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$OUT/agent.out" | head -1)
sleep 1
"$P" health --json --url "$URL" > "$OUT/health.json"; echo "podagent health exit $?"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); g=r["gpu"]; print("health gpu:", g["source"], [(d["name"], round(d["memory_used_mib"]), round(d["memory_total_mib"]), d["temperature_c"]) for d in g["devices"]]); print("gpu_cleanup:", r.get("gpu_cleanup"))' "$OUT/health.json"
smi_used
kill -TERM "$AGENT"; wait "$AGENT" 2>/dev/null; echo "agent stopped"

step "(b) start GPU holders"
UNRELATED=$(hold unrelated 1024); PIDS+=("$UNRELATED"); echo "unrelated holder (no PODAGENT_WORKER): pid $UNRELATED"
# A worker's process group: a shell leads it, two CUDA processes in it (a worker and its helper).
setsid bash -c "PODAGENT_WORKER=demo/0 PODAGENT_AGENT_PID=\$\$ python3 '$HOLD' 2048 > '$OUT/w1.ready' & PODAGENT_WORKER=demo/0 PODAGENT_AGENT_PID=\$\$ python3 '$HOLD' 512 > '$OUT/w2.ready' & wait" < /dev/null > /dev/null 2>&1 &
for _ in $(seq 1 300); do [ "$(cat "$OUT"/w1.ready "$OUT"/w2.ready 2>/dev/null | grep -c READY)" = 2 ] && break; sleep 0.1; done
W1=$(awk '{print $2}' "$OUT/w1.ready"); W2=$(awk '{print $2}' "$OUT/w2.ready"); GROUP=$(awk '{print $3}' "$OUT/w1.ready")
PIDS+=("$W1" "$W2" "$GROUP"); echo "worker group $GROUP: CUDA pids $W1 $W2 (live agent = the group's shell)"
# An orphaned worker: its agent pid is dead.
DEAD=$(sh -c 'echo $$'); ORPHAN=$(hold orphan 768 PODAGENT_WORKER=demo/1 PODAGENT_AGENT_PID=$DEAD); PIDS+=("$ORPHAN")
echo "orphaned worker (PODAGENT_AGENT_PID=$DEAD, not running): pid $ORPHAN"
sleep 1
echo "nvidia-smi used MiB: $(smi_used)"; smi_apps | tee "$OUT/apps-before.csv"

step "(b) podagent gpu (per-process listing)"
"$P" gpu | tee "$OUT/gpu-list.txt"
"$P" gpu --json > "$OUT/gpu-list.json"
echo "device used MiB: podagent (NVML) $(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["devices"][0]["memory_used_mib"]))' "$OUT/gpu-list.json"), nvidia-smi $(smi_used)"

step "(b) podagent gpu cleanup --dry-run"
"$P" gpu cleanup --dry-run | tee "$OUT/cleanup-dry.txt"
alive "$ORPHAN" && echo "orphan $ORPHAN still alive after dry run (expected)"

step "(b) podagent gpu cleanup"
T0=$(date +%s.%N); "$P" gpu cleanup --json > "$OUT/cleanup.json"; RC=$?; T1=$(date +%s.%N)
echo "exit $RC, $(python3 -c "print(round($T1-$T0,2))") s"; python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("killed", r["killed"], "freed_mib", r["freed_mib"], "complete", r["complete"], "untouched", [(e["pid"], e["owner"]) for e in r["untouched"]])' "$OUT/cleanup.json"
alive "$ORPHAN" && echo "FAIL: orphan alive" || echo "orphan $ORPHAN gone"
alive "$UNRELATED" && echo "unrelated $UNRELATED alive (expected)" || echo "FAIL: unrelated killed"
alive "$W1" && alive "$W2" && echo "live worker group alive (expected)" || echo "FAIL: live worker killed"
echo "nvidia-smi used MiB: $(smi_used)"; smi_apps

step "(b) podagent gpu reclaim --group $GROUP (what the engine's hook does after ending a worker)"
T0=$(date +%s.%N); "$P" gpu reclaim --group "$GROUP" --model demo --json > "$OUT/reclaim.json"; RC=$?; T1=$(date +%s.%N)
echo "exit $RC, $(python3 -c "print(round($T1-$T0,2))") s"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("holders", [(h["pid"], h["used_mib"]) for h in r["holders"]], "killed", r["killed"], "freed_mib", r["freed_mib"], "complete", r["complete"], "duration_s", round(r["duration_s"],2))' "$OUT/reclaim.json"
alive "$W1" || alive "$W2" && echo "FAIL: group holder alive" || echo "group holders gone"
alive "$UNRELATED" && echo "unrelated $UNRELATED alive (expected)" || echo "FAIL: unrelated killed"
echo "nvidia-smi used MiB: $(smi_used)"; smi_apps | tee "$OUT/apps-after.csv"

step "diagnose"
PODAGENT_TOKEN=tok-device-check-123456 "$P" diagnose --state-dir "$STATE" --out "$OUT/diagnose.tar.gz" && tar -tzf "$OUT/diagnose.tar.gz"
tar -xzf "$OUT/diagnose.tar.gz" -O | grep -c tok-device-check-123456 | sed 's/^/token occurrences in bundle: /'
tar -xzf "$OUT/diagnose.tar.gz" -O --wildcards '*/versions.txt'

step "done"
kill -9 "$UNRELATED" 2>/dev/null; sleep 1; echo "nvidia-smi used MiB at the end: $(smi_used)"
