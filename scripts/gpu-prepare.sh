#!/usr/bin/env bash
# Builds what scripts/gpu-check.sh runs on a GPU machine (which has no Rust toolchain and
# no network): release binaries with the `cuda` feature, stripped (the server, the
# conformance runner and the GPU-against-CPU property test), and the NumPy conformance
# cases, all under target/gpu-check/ (carry that folder).
#
# The binaries are too big to carry as they are (about 60 MB each against the device
# tool's 64 MiB for everything that travels), so they also go into one xz archive,
# target/gpu-check.tar.xz (about 23 MB): carry that; gpu-check.sh unpacks it.
#
#   bash scripts/gpu-prepare.sh            # then, on the GPU machine: bash scripts/gpu-check.sh
#   python3 ../shared/conformance/check.py target/gpu-check/expected.jsonl OUT/answers-cuda.jsonl
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SHARED="${NDSERVE_SHARED:-$PWD/../shared}"
export CARGO_INCREMENTAL=0
# One cargo invocation for the binaries and the property test: their features unify once,
# so the server crate compiles once (about 21 minutes on 2 cores; two invocations built it
# twice, about 45). Cargo names the test's binary with a hash: its JSON messages say where.
PROP="$(cargo build --release --features ndserve-server/cuda --bin ndserve --bin conformance \
    --test gpu_matches_cpu --message-format=json | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "gpu_matches_cpu":
        print(m["executable"])')"
mkdir -p target/gpu-check
for b in ndserve conformance; do
    strip -o "target/gpu-check/$b" "target/release/$b"
done
strip -o target/gpu-check/gpu_matches_cpu "$PROP"
OPS="$(sed -e 's/#.*//' -e 's/[[:space:]]//g' tests/conformance-ops.txt | grep -v '^$' | paste -sd, -)"
NDSERVE_SHARED="$SHARED" python3 tests/conformance/extras.py --seed 1 --out target/gpu-check --ops "$OPS"
tar -C target/gpu-check -cf - ndserve conformance gpu_matches_cpu cases.jsonl expected.jsonl \
    | xz -T0 -6 > target/gpu-check.tar.xz
ls -la target/gpu-check target/gpu-check.tar.xz
