#!/bin/bash
# Live-engine GPU check on a real GPU: podagent serves CudaDemo (the synthetic Demo model holding real
# GPU memory, plus a SIGTERM-ignoring helper in its process group); a request that hangs past its
# deadline must end the worker's whole group, free its GPU memory (seen by nvidia-smi), record the
# reclaim in /health and /metrics, restart the worker, and serve the next request.
# Usage: bench/gpu/live-engine/check.sh PODAGENT_BINARY [OUT_DIR]   (run from the repository root)
set -u
P=${1:?usage: check.sh PODAGENT_BINARY [OUT_DIR]}
OUT=${2:-/tmp/podagent-live-engine}
mkdir -p "$OUT"
ROOT=$(pwd)
PLUGINS=$(mktemp -d); STATE=$(mktemp -d)
cp -r "$ROOT/Plugins/runtime" "$ROOT/bench/gpu/live-engine/CudaDemo" "$PLUGINS/"
export CUDADEMO_DEMO_DIR="$ROOT/Plugins/Demo" CUDADEMO_HOLD="$ROOT/bench/gpu/cuda_hold.py"
TOKEN=tok-live-engine-check
PORT=18181
apps() { nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits; }
used() { nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits | head -1; }
api() { curl -s -H "Authorization: Bearer $TOKEN" "$@"; }
step() { echo; echo "=== $*"; }

step "start podagent serving CudaDemo"
echo "GPU memory used before: $(used) MiB"
PODAGENT_TOKEN=$TOKEN PODAGENT_SSH=off PODAGENT_MODELS=CudaDemo PODAGENT_PLUGINS_DIR=$PLUGINS PODAGENT_STATE_DIR=$STATE \
  PODAGENT_INFERENCE_KILL_GRACE=2 PODAGENT_GPU_POLL_INTERVAL=1 "$P" run --http-port $PORT > "$OUT/agent.log" 2>&1 &
AGENT=$!
for _ in $(seq 1 300); do [ "$(curl -s -o /dev/null -w '%{http_code}' localhost:$PORT/v2/health/ready)" = 200 ] && break; sleep 0.2; done
curl -s localhost:$PORT/v2/health/ready; echo
OLD=$(api localhost:$PORT/v2/repository/index | python3 -c 'import json,sys; print([m for m in json.load(sys.stdin) if m["name"]=="CudaDemo"][0]["instances"][0]["pid"])')
echo "worker pid (= its process group): $OLD; CUDA_VISIBLE_DEVICES=$(tr '\0' '\n' < /proc/$OLD/environ | grep CUDA_VISIBLE_DEVICES)"
sleep 1
echo "nvidia-smi compute apps (pid, MiB):"; apps
echo "processes of group $OLD:"; ps -o pid,pgid,stat,cmd -g "$OLD" | cut -c1-120
echo "GPU memory used: $(used) MiB"

step "a warm request"
api -X POST localhost:$PORT/models/CudaDemo/infer -d '{"inputs":{"sample_id":"a"},"options":{"raw_format":"petr"}}' -o "$OUT/ok1.json" -w 'HTTP %{http_code} in %{time_total} s\n'

step "a request that hangs past its 2 s deadline"
api -X POST localhost:$PORT/models/CudaDemo/infer -d '{"inputs":{},"options":{"fail":"hang","timeout_s":2}}' -w '\nHTTP %{http_code} in %{time_total} s\n'
sleep 3
echo "processes left in group $OLD: $(ps -o pid= -g "$OLD" | wc -l)"
echo "nvidia-smi compute apps now:"; apps
echo "GPU memory used: $(used) MiB"
echo "/health gpu_cleanup:"; api localhost:$PORT/health | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["gpu_cleanup"], indent=1))'
echo "/metrics:"; api localhost:$PORT/metrics | grep -E '^podagent_gpu_reclaim'

step "the next request, on the restarted worker"
for _ in $(seq 1 100); do [ "$(curl -s -o /dev/null -w '%{http_code}' localhost:$PORT/v2/health/ready)" = 200 ] && break; sleep 0.2; done
api -X POST localhost:$PORT/models/CudaDemo/infer -d '{"inputs":{"sample_id":"b"}}' -o "$OUT/ok2.json" -w 'HTTP %{http_code} in %{time_total} s\n'
NEW=$(api localhost:$PORT/v2/repository/index | python3 -c 'import json,sys; print([m for m in json.load(sys.stdin) if m["name"]=="CudaDemo"][0]["instances"][0]["pid"])')
echo "new worker pid: $NEW"

step "unload frees the GPU"
api -X POST localhost:$PORT/v2/repository/models/CudaDemo/unload -w '\nHTTP %{http_code}\n' | tail -c 300; echo
sleep 2
echo "nvidia-smi compute apps after unload:"; apps
echo "GPU memory used: $(used) MiB"

step "shutdown"
kill -TERM $AGENT; wait $AGENT; echo "podagent exit $?"
echo "nvidia-smi compute apps after shutdown:"; apps
echo "GPU memory used: $(used) MiB"
echo "podagent log (warnings and errors):"; grep -E 'warning|error|reclaim' "$OUT/agent.log" | cut -c1-300 | tail -20
