#!/usr/bin/env bash
# End-to-end test of deploy/docker-compose.yml without a container registry.
#
# 1. Builds static musl binaries of `ndserve` and the `cluster_demo` example (the
#    x86_64-unknown-linux-musl target and musl-gcc are installed when missing).
# 2. Builds the image deploy/Dockerfile.scratch (FROM scratch: nothing to pull).
# 3. Starts the compose stack (coordinator, three workers, the demo) from that image with
#    the override deploy/docker-compose.test.yml, and checks the demo's result.
# 4. Runs `cluster_demo --loss-check`, kills one worker's container mid-session, and checks
#    that arrays on it answer UNAVAILABLE while arrays on the other workers still compute.
# 5. Always tears the stack down (`compose down -v`) and prints PASS or FAIL.
#
# Run it from anywhere as root (or with access to the Docker engine); it needs Docker
# with Compose (`docker compose` or `docker-compose`), rustup and cargo.
#
# Environment:
#   NDSERVE_DEPLOY_TARGET_DIR  cargo target dir of the musl build (default target/deploy)
#   NDSERVE_TEST_IMAGE         tag of the image built and run (default ndserve:scratch)
#   NDSERVE_COMPOSE_PROJECT    compose project name (default ndserve-compose-test)
#   NDSERVE_DEPLOY_KEEP=1      leave the stack running at the end (for debugging)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TARGET=x86_64-unknown-linux-musl
export CARGO_TARGET_DIR="${NDSERVE_DEPLOY_TARGET_DIR:-$ROOT/target/deploy}"
export CARGO_INCREMENTAL=0
export NDSERVE_TEST_IMAGE="${NDSERVE_TEST_IMAGE:-ndserve:scratch}"
PROJECT="${NDSERVE_COMPOSE_PROJECT:-ndserve-compose-test}"
VICTIM=worker-3
T0=$(date +%s)
STEP_T=$T0
STACK_UP=0
RESULT=FAIL
WORK="$(mktemp -d)"

log() { printf 'test-compose: %s\n' "$*"; }
# Prints the seconds the previous step took.
step() {
    local now
    now=$(date +%s)
    log "[$((now - STEP_T)) s] $*"
    STEP_T=$now
}
fail() {
    log "FAIL: $*"
    exit 1
}

# The compose command: the Docker CLI plugin, else the standalone docker-compose.
if docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
    COMPOSE=(docker-compose)
else
    fail "neither 'docker compose' nor 'docker-compose' is installed"
fi
compose() {
    "${COMPOSE[@]}" -p "$PROJECT" \
        -f "$ROOT/deploy/docker-compose.yml" -f "$ROOT/deploy/docker-compose.test.yml" "$@"
}
# Publish the coordinator on a random loopback port: 50051 may be taken on this machine.
export NDSERVE_PUBLISH=127.0.0.1:

cleanup() {
    local rc=$?
    set +e
    if [ "$STACK_UP" = 1 ]; then
        if [ "$RESULT" != PASS ]; then
            log "logs of the stack (last 40 lines per service):"
            compose ps
            compose logs --no-color --tail 40
        fi
        if [ "${NDSERVE_DEPLOY_KEEP:-0}" = 1 ]; then
            log "NDSERVE_DEPLOY_KEEP=1: leaving project $PROJECT running"
        else
            compose down -v --remove-orphans >/dev/null 2>&1 ||
                log "warning: 'compose down -v' failed for project $PROJECT"
        fi
    fi
    rm -rf "$WORK"
    local total=$(($(date +%s) - T0))
    if [ "$rc" -eq 0 ] && [ "$RESULT" = PASS ]; then
        log "PASS (${total} s in all)"
    else
        log "FAIL (${total} s in all)"
        [ "$rc" -eq 0 ] && rc=1
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

docker info >/dev/null 2>&1 || fail "the Docker engine does not answer (docker info)"
log "compose: ${COMPOSE[*]} ($("${COMPOSE[@]}" version --short 2>/dev/null || echo '?'))"

# ---- 1. static binaries -------------------------------------------------------------
if ! rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
    log "installing the Rust target $TARGET"
    rustup target add "$TARGET"
fi
if ! command -v musl-gcc >/dev/null 2>&1; then
    log "installing musl-tools (musl-gcc: mimalloc and zstd build C code)"
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends musl-tools
    else
        sudo apt-get update -qq
        sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends musl-tools
    fi
fi
export CC_x86_64_unknown_linux_musl=musl-gcc
# Line tables are of no use in the image (the binaries are stripped): skipping them makes
# the build and its link shorter.
export CARGO_PROFILE_RELEASE_DEBUG=false
step "prerequisites ready"
cargo build --release --locked --target "$TARGET" \
    --bin ndserve --example cluster_demo -p ndserve-server -p ndserve-client
step "cargo build --release --target $TARGET"

# ---- 2. the image -------------------------------------------------------------------
CTX="$CARGO_TARGET_DIR/image-context"
rm -rf "$CTX"
mkdir -p "$CTX"
cp "$CARGO_TARGET_DIR/$TARGET/release/ndserve" "$CARGO_TARGET_DIR/$TARGET/release/examples/cluster_demo" "$CTX/"
strip "$CTX/ndserve" "$CTX/cluster_demo"
for b in ndserve cluster_demo; do
    if ldd "$CTX/$b" >/dev/null 2>&1 && ! ldd "$CTX/$b" 2>&1 | grep -q "statically linked"; then
        fail "$b is not statically linked: $(ldd "$CTX/$b" 2>&1 | head -3)"
    fi
done
log "binaries: $(du -h "$CTX/ndserve" | cut -f1) ndserve, $(du -h "$CTX/cluster_demo" | cut -f1) cluster_demo (static, stripped)"
# Without the buildx plugin the Docker CLI falls back to the classic builder: say so up
# front instead of printing a warning (FROM scratch needs no pull either way).
if ! docker buildx version >/dev/null 2>&1; then
    export DOCKER_BUILDKIT=0
fi
docker build -q -f "$ROOT/deploy/Dockerfile.scratch" -t "$NDSERVE_TEST_IMAGE" "$CTX" >/dev/null
log "image $NDSERVE_TEST_IMAGE: $(docker image inspect -f '{{.Size}}' "$NDSERVE_TEST_IMAGE" | awk '{printf "%.1f MB", $1/1e6}')"
step "docker build -f deploy/Dockerfile.scratch"

# ---- 3. the stack and the demo ------------------------------------------------------
compose down -v --remove-orphans >/dev/null 2>&1 || true
STACK_UP=1
# `up -d` starts the servers, waits for their health checks, then starts the demo.
compose up -d --no-build
step "compose up (coordinator and workers healthy, demo started)"
# The demo service's container (not a `run` one), whether running or exited: by its
# compose labels, which Compose v1 and v2 both set.
DEMO_ID="$(docker ps -a -q --filter "label=com.docker.compose.project=$PROJECT" \
    --filter label=com.docker.compose.service=demo --filter label=com.docker.compose.oneoff=False)"
[ -n "$DEMO_ID" ] || fail "no demo container"
DEMO_RC="$(timeout 600 docker wait "$DEMO_ID")" || fail "the demo did not finish in 600 s"
docker logs "$DEMO_ID" 2>&1 | tee "$WORK/demo.txt"
[ "$DEMO_RC" = 0 ] || fail "cluster_demo exited with $DEMO_RC"
grep -q "cluster_demo workload: PASS" "$WORK/demo.txt" || fail "no PASS line from cluster_demo"
grep -q "ok    one part per worker" "$WORK/demo.txt" ||
    fail "the demo's array was not sharded one part per worker"
grep -q "ok    matmul ran per shard" "$WORK/demo.txt" || fail "the demo's matmul did not run per shard"
step "demo workload passed"

# The published port answers from the host too (loopback only).
PORT="$(compose port coordinator 50051 | sed 's/.*://')"
"$CTX/ndserve" health --server "http://127.0.0.1:$PORT" || fail "no health answer on 127.0.0.1:$PORT"
log "coordinator published on 127.0.0.1:$PORT"
docker exec "$(compose ps -q coordinator)" /usr/local/bin/ndserve devices \
    --server http://127.0.0.1:50051 | tee "$WORK/devices.txt"
for w in worker-1 worker-2 worker-3; do
    grep -q "^$w/cpu:0 .* ready " "$WORK/devices.txt" || fail "$w is not a ready device"
done

# ---- 4. a worker lost mid-session ---------------------------------------------------
compose run --rm --no-deps -T -e NDSERVE_DEMO_VICTIM="$VICTIM" -e NDSERVE_DEMO_TIMEOUT_SECS=60 \
    demo --loss-check >"$WORK/loss.txt" 2>&1 &
LOSS_PID=$!
for _ in $(seq 1 600); do
    grep -q "loss-check: ready, kill worker $VICTIM now" "$WORK/loss.txt" && break
    kill -0 "$LOSS_PID" 2>/dev/null || break
    sleep 0.1
done
if ! grep -q "loss-check: ready" "$WORK/loss.txt"; then
    cat "$WORK/loss.txt"
    fail "cluster_demo --loss-check did not get ready"
fi
compose kill -s SIGKILL "$VICTIM"
step "killed $VICTIM's container (SIGKILL) while the loss-check session was open"
LOSS_RC=0
wait "$LOSS_PID" || LOSS_RC=$?
cat "$WORK/loss.txt"
[ "$LOSS_RC" = 0 ] || fail "cluster_demo --loss-check exited with $LOSS_RC"
grep -q "cluster_demo loss-check: PASS" "$WORK/loss.txt" || fail "no PASS line from the loss check"
step "loss check passed"

compose ps
RESULT=PASS
