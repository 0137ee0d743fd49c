"""Consistency checks of deploy/k8s that a schema cannot make (see validate.sh).

Usage: python3 check_manifests.py <deploy/k8s> <repository root>
Prints one line per failed check and exits 1 when there is any.
"""

import os
import re
import sys

import yaml

K8S_DIR, ROOT = sys.argv[1], sys.argv[2]
errors = []


def error(msg):
    errors.append(msg)
    print(f"  FAIL {msg}")


def load(name):
    with open(os.path.join(K8S_DIR, name)) as f:
        return [d for d in yaml.safe_load_all(f) if d]


files = sorted(f for f in os.listdir(K8S_DIR) if f.endswith(".yaml"))
resources = {}  # (kind, name) -> (file, doc)
for f in files:
    if f == "kustomization.yaml":
        continue
    for d in load(f):
        resources[(d["kind"], d["metadata"]["name"])] = (f, d)


def by_kind(kind):
    return [(n, d) for (k, n), (_, d) in resources.items() if k == kind]


# kustomization.yaml lists every resource file but the demo Job's.
kust = load("kustomization.yaml")[0]
listed = set(kust.get("resources", []))
for f in files:
    if f in ("kustomization.yaml", "demo-job.yaml"):
        continue
    if f not in listed:
        error(f"kustomization.yaml does not list {f}")
for f in listed:
    if not os.path.exists(os.path.join(K8S_DIR, f)):
        error(f"kustomization.yaml lists {f}, which does not exist")

# The variables the programs read: `env = "NDSERVE_..."` in the server's CLI, and the
# demo's `NDSERVE_...` strings.
with open(os.path.join(ROOT, "server/src/main.rs")) as f:
    server_vars = set(re.findall(r'env\s*=\s*"(NDSERVE_[A-Z_]+)"', f.read()))
with open(os.path.join(ROOT, "client/examples/cluster_demo.rs")) as f:
    demo_vars = set(re.findall(r'"(NDSERVE_[A-Z_]+)"', f.read()))
if not server_vars:
    error("found no NDSERVE_* variables in server/src/main.rs")
configmaps = {n: d for n, d in by_kind("ConfigMap")}
for name, cm in configmaps.items():
    for k in cm.get("data", {}):
        if k.startswith("NDSERVE_") and k not in server_vars:
            error(f"ConfigMap {name} sets {k}, which ndserve does not read")

workloads = by_kind("Deployment") + by_kind("StatefulSet") + by_kind("Job")
services = dict(by_kind("Service"))
for name, w in workloads:
    kind = w["kind"]
    spec = w["spec"]
    tmpl = spec["template"]
    labels = tmpl["metadata"].get("labels", {})
    if kind != "Job":
        sel = spec["selector"]["matchLabels"]
        if any(labels.get(k) != v for k, v in sel.items()):
            error(f"{kind} {name}: selector {sel} does not match the pod labels {labels}")
    pod = tmpl["spec"]
    for c in pod["containers"]:
        where = f"{kind} {name} container {c['name']}"
        res = c.get("resources", {})
        if not res.get("requests") or not res.get("limits"):
            error(f"{where}: resource requests and limits are required")
        if kind != "Job":
            for p in ("readinessProbe", "livenessProbe"):
                if p not in c:
                    error(f"{where}: no {p}")
        ports = {p["containerPort"] for p in c.get("ports", [])}
        for p in ("readinessProbe", "livenessProbe"):
            probe = c.get(p, {})
            port = probe.get("grpc", {}).get("port")
            if port is not None and port not in ports:
                error(f"{where}: {p} checks port {port}, not a container port {sorted(ports)}")
        for ref in c.get("envFrom", []):
            cm = ref.get("configMapRef", {}).get("name")
            if cm is not None and cm not in configmaps:
                error(f"{where}: envFrom names ConfigMap {cm}, which is not defined")
        env = c.get("env", [])
        known = server_vars | (demo_vars if kind == "Job" else set())
        defined = []
        for e in env:
            n = e["name"]
            if n.startswith("NDSERVE_") and n not in known:
                error(f"{where}: sets {n}, which the program does not read")
            for used in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", str(e.get("value", ""))):
                if used not in defined:
                    error(f"{where}: {n} uses $({used}) before it is defined")
            defined.append(n)
        envs = {e["name"]: e for e in env}
        if kind == "StatefulSet":
            svc = services.get(spec["serviceName"])
            if svc is None:
                error(f"{where}: serviceName {spec['serviceName']} is not a Service here")
            else:
                if svc["spec"].get("clusterIP") != "None":
                    error(f"Service {spec['serviceName']} must be headless (clusterIP: None)")
                if not svc["spec"].get("publishNotReadyAddresses"):
                    error(f"Service {spec['serviceName']}: publishNotReadyAddresses lets workers be reached before ready")
            pod_name = envs.get("POD_NAME", {}).get("valueFrom", {}).get("fieldRef", {})
            if pod_name.get("fieldPath") != "metadata.name":
                error(f"{where}: POD_NAME must come from the downward API (metadata.name)")
            adv = envs.get("NDSERVE_ADVERTISE", {}).get("value", "")
            listen = envs.get("NDSERVE_LISTEN", {}).get("value", "")
            port = listen.rsplit(":", 1)[-1]
            want = f"http://$(POD_NAME).{spec['serviceName']}:{port}"
            if adv != want:
                error(f"{where}: NDSERVE_ADVERTISE is {adv!r}, want {want!r}")
            if envs.get("NDSERVE_NAME", {}).get("value") != "$(POD_NAME)":
                error(f"{where}: NDSERVE_NAME should be $(POD_NAME) (unique per pod)")
            if "NDSERVE_MEMORY_LIMIT" not in envs:
                error(f"{where}: set NDSERVE_MEMORY_LIMIT below the memory limit (the default is 80% of the node's RAM)")
            if c.get("args", [None])[0] != "worker":
                error(f"{where}: a worker runs `ndserve worker`")
        if "gpu" in name:
            lim = res.get("limits", {})
            if str(lim.get("nvidia.com/gpu")) != "1":
                error(f"{where}: a GPU worker requests nvidia.com/gpu: 1 in its limits")

# Each Service selects the pods of some workload.
for name, svc in services.items():
    sel = svc["spec"].get("selector", {})
    hits = [
        n
        for n, w in workloads
        if all(w["spec"]["template"]["metadata"].get("labels", {}).get(k) == v for k, v in sel.items())
    ]
    if not hits:
        error(f"Service {name}: selector {sel} matches no pod template")

# The workers join the coordinator's Service.
join = configmaps.get("ndserve-config", {}).get("data", {}).get("NDSERVE_JOIN", "")
m = re.fullmatch(r"http://([a-z0-9-]+):(\d+)", join)
if not m or m.group(1) not in services:
    error(f"NDSERVE_JOIN {join!r} does not name a Service here")
else:
    ports = [p["port"] for p in services[m.group(1)]["spec"]["ports"]]
    if int(m.group(2)) not in ports:
        error(f"NDSERVE_JOIN {join!r}: the Service has ports {ports}")

n = len(resources)
if errors:
    print(f"  {len(errors)} consistency check(s) failed over {n} resources")
    sys.exit(1)
print(f"  consistency: {n} resources in {len(files)} files, all checks passed")
