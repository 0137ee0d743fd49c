#!/usr/bin/env bash
# The GPU check (issue 5), run on a machine with an NVIDIA GPU and CUDA 13's libcuda,
# libnvrtc and libcublas, from the repository root, after scripts/gpu-prepare.sh built
# target/gpu-check/ and target/gpu-check.tar.xz elsewhere (carry the archive). Within a
# few minutes it prints the devices, answers the conformance cases on cuda:0, runs the
# GPU-against-CPU property test and `ndserve gpu-bench`; results go to $OUT (default
# target/gpu-check/out): answers-cuda.jsonl (compare with check.py), gpu-vs-cpu.txt,
# gpu-bench.txt, server.log.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BIN=target/gpu-check
# The carried archive (gpu-prepare.sh), unpacked with Python's tarfile: no xz needed.
if [ ! -x "$BIN/ndserve" ] && [ -f target/gpu-check.tar.xz ]; then
    mkdir -p "$BIN"
    python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' \
        target/gpu-check.tar.xz "$BIN"
fi
OUT="${OUT:-$BIN/out}"
mkdir -p "$OUT"
# CUDA's libraries where the loader may not look: the toolkit's, and the Python packages'
# (nvidia-cuda-nvrtc, nvidia-cublas); libcuda.so.1 comes with the driver.
for d in /usr/local/cuda/lib64 $(python3 -c 'import os, nvidia
p = list(nvidia.__path__)[0]
print(" ".join(os.path.join(p, s, "lib") for s in ("cu13", "cublas", "cuda_nvrtc")))' 2>/dev/null); do
    [ -d "$d" ] && LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d"
done
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}"
PORT=50151
URL="http://127.0.0.1:$PORT"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tee "$OUT/nvidia-smi.txt"
RUST_LOG="${RUST_LOG:-info}" "$BIN/ndserve" serve --listen "127.0.0.1:$PORT" > "$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null' EXIT
for _ in $(seq 100); do
    "$BIN/ndserve" health --server "$URL" >/dev/null 2>&1 && break
    sleep 0.1
done
echo "== devices"
"$BIN/ndserve" devices --server "$URL" | tee "$OUT/devices.txt"
echo "== conformance on cuda:0"
start=$(date +%s)
timeout 300 "$BIN/conformance" --server "$URL" --device cuda:0 --timeout-secs 20 \
    < "$BIN/cases.jsonl" > "$OUT/answers-cuda.jsonl"
echo "conformance: $(wc -l < "$OUT/answers-cuda.jsonl") answers in $(( $(date +%s) - start )) s"
"$BIN/ndserve" devices --server "$URL" | tail -n +2
kill $SERVER 2>/dev/null
echo "== GPU against CPU (random inputs through both devices of one worker)"
NDSERVE_REQUIRE_GPU=1 timeout 180 "$BIN/gpu_matches_cpu" --nocapture > "$OUT/gpu-vs-cpu.txt" 2>&1
echo "property test exit $?"; tail -n 15 "$OUT/gpu-vs-cpu.txt"
echo "== gpu-bench"
timeout 240 "$BIN/ndserve" gpu-bench 2>&1 | tee "$OUT/gpu-bench.txt"
grep -E "WARN|ERROR|GPU" "$OUT/server.log" | head -20
