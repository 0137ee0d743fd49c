#!/usr/bin/env bash
# The GPU check (issue 5), run on a machine with an NVIDIA GPU and CUDA 13's libcuda,
# libnvrtc and libcublas, from the repository root, after scripts/gpu-prepare.sh built
# target/gpu-check/ and target/gpu-check.tar.xz elsewhere (carry the archive). Within a
# few minutes it prints the devices, answers the conformance cases on cuda:0, runs the
# GPU-against-CPU property test and `ndserve gpu-bench`; results go to $OUT (default
# target/gpu-check/out): answers-cuda.jsonl (compare with check.py), gpu-vs-cpu.txt,
# gpu-bench.txt, server.log, answers-large.jsonl with large-expected.jsonl (the long
# reduction paths, scripts/gpu-large-cases.py).
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
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
# Debug lines of the GPU worker and backend: every op that ran on CPU copies, every
# kernel that did not compile (count them with grep "no GPU kernel" / "does not compile").
RUST_LOG="${RUST_LOG:-info,ndserve_server::worker::gpu=debug,ndserve_server::backend::cuda=debug}" "$BIN/ndserve" serve --listen "127.0.0.1:$PORT" > "$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null' EXIT
for _ in $(seq 100); do
    "$BIN/ndserve" health --server "$URL" >/dev/null 2>&1 && break
    sleep 0.1
done
echo "== devices"
"$BIN/ndserve" devices --server "$URL"
echo "== conformance on cuda:0"
start=$(date +%s)
timeout 150 "$BIN/conformance" --server "$URL" --device cuda:0 --timeout-secs 10 \
    < "$BIN/cases.jsonl" > "$OUT/answers-cuda.jsonl"
echo "conformance: $(wc -l < "$OUT/answers-cuda.jsonl") answers in $(( $(date +%s) - start )) s"
echo "== large reductions on cuda:0 (scripts/gpu-large-cases.py: the long reduction paths)"
start=$(date +%s)
python3 scripts/gpu-large-cases.py "$BIN" \
    && timeout 120 "$BIN/conformance" --server "$URL" --device cuda:0 --timeout-secs 20 \
        < "$BIN/large-cases.jsonl" > "$OUT/answers-large.jsonl"
cp "$BIN/large-expected.jsonl" "$OUT/" 2>/dev/null
echo "large cases: $(wc -l < "$OUT/answers-large.jsonl") answers in $(( $(date +%s) - start )) s"
"$BIN/ndserve" devices --server "$URL" | tail -n +2
kill -0 $SERVER 2>/dev/null || echo "THE SERVER DIED during the conformance cases (server.log)"
kill $SERVER 2>/dev/null
echo "== GPU against CPU (random inputs through both devices of one worker)"
NDSERVE_REQUIRE_GPU=1 timeout 90 "$BIN/gpu_matches_cpu" --nocapture > "$OUT/gpu-vs-cpu.txt" 2>&1
echo "property test exit $?"; grep -E "FAILED|cases on|panicked|test result" "$OUT/gpu-vs-cpu.txt" | cut -c1-400
echo "== gpu-bench"
timeout 120 "$BIN/ndserve" gpu-bench 2>&1 | tee "$OUT/gpu-bench.txt"
grep -E "WARN|ERROR|GPU|panicked" "$OUT/server.log" | grep -v "no GPU kernel" | head -20
echo "ops on CPU copies: $(grep -c "no GPU kernel" "$OUT/server.log"); kernels that did not compile: $(grep -c "does not compile" "$OUT/server.log")"
