#!/usr/bin/env bash
# Validates the Kubernetes manifests of deploy/k8s offline, without a cluster:
#
# 1. Schema: every resource against the Kubernetes OpenAPI schemas bundled in the PyPI
#    package kubernetes-validate, in strict mode (unknown fields are errors), for the
#    oldest and the newest Kubernetes version checked (gRPC probes need 1.27).
# 2. Consistency (deploy/k8s/check_manifests.py): what a schema cannot see: selectors match
#    the pod labels, each StatefulSet's serviceName is its headless Service and the
#    advertised URL names it through POD_NAME (downward API), probes and resource
#    requests/limits everywhere, the GPU worker requests nvidia.com/gpu, the ConfigMap
#    exists, kustomization.yaml lists the files, and every NDSERVE_* variable set is one
#    the `ndserve` binary (server/src/main.rs) or cluster_demo reads.
#
# Prints PASS or FAIL last; exits non-zero on any failure.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
KV_VERSION=1.37.0
K8S_VERSIONS=(1.27.0 1.37.0)

log() { printf 'k8s-validate: %s\n' "$*"; }

kv_ready() {
    python3 -c "import importlib.metadata as m, sys; sys.exit(m.version('kubernetes-validate') != '$KV_VERSION')" 2>/dev/null
}
if ! kv_ready; then
    log "installing kubernetes-validate==$KV_VERSION from PyPI"
    # Debian's system Python is "externally managed" (PEP 668): allow the install there.
    python3 -m pip install --quiet "kubernetes-validate==$KV_VERSION" 2>/dev/null ||
        python3 -m pip install --quiet --break-system-packages "kubernetes-validate==$KV_VERSION"
fi
kv_ready || { log "FAIL: kubernetes-validate $KV_VERSION is not importable"; exit 1; }

cd "$HERE"
# Kubernetes resources only: kustomization.yaml is kustomize's, checked by the script.
mapfile -t FILES < <(ls ./*.yaml | grep -v '/kustomization.yaml$' | sed 's|^\./||')
status=0
for v in "${K8S_VERSIONS[@]}"; do
    log "schema check against Kubernetes $v (strict): ${FILES[*]}"
    if ! python3 -m kubernetes_validate --strict --no-warn -k "$v" "${FILES[@]}"; then
        status=1
    fi
done

# The schema check must reject what it should: an unknown field in a copy of a manifest.
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
sed 's/^\(\s*\)readinessProbe:/\1readinessProbez:/' workers.yaml >"$TMP/broken.yaml"
if python3 -m kubernetes_validate --strict --no-warn --quiet -k 1.37.0 "$TMP/broken.yaml" >/dev/null 2>&1; then
    log "the schema check accepted a manifest with an unknown field"
    status=1
else
    log "the schema check rejects an unknown field (self-test)"
fi

log "consistency checks"
python3 "$HERE/check_manifests.py" "$HERE" "$ROOT" || status=1

if [ "$status" -eq 0 ]; then
    log "PASS"
else
    log "FAIL"
fi
exit "$status"
