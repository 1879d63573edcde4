#!/bin/sh
# Inference engine benchmark: warm Demo workers through the engine (JSON answers vs binary tensor frames,
# PETR, VAD and TopoMLP sizes) vs a subprocess per request
# (same synthetic Demo model, load_time_s 5), in the same run. Results also go to bench/inference/last-run.txt.
set -eu
cd "$(dirname "$0")/../.."
PODAGENT_BENCH=1 PODAGENT_BENCH_OUT="$PWD/bench/inference/last-run.txt" \
  swift test -c "${CONFIGURATION:-release}" -Xswiftc -enable-testing --filter InferenceBenchmark
cat bench/inference/last-run.txt
