//! `docs/COVERAGE.md` is generated from the op registry: this test fails when the checked-in
//! copy drifts. Regenerate with `NDSERVE_BLESS=1 cargo test -p ndserve-tests --test e2e coverage`.

use std::collections::BTreeSet;
use std::path::PathBuf;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn group_name(g: &str) -> &'static str {
    match g {
        "A" => "Array creation",
        "B" => "Elementwise unary",
        "C" => "Elementwise binary",
        "D" => "Comparison and predicates",
        "E" => "Reductions and statistics",
        "F" => "Shape manipulation",
        "G" => "Indexing and selection",
        "H" => "Sorting and searching",
        "I" => "Linear algebra and products",
        "J" => "Polynomial and introspection",
        "K" => "dtype utilities",
        "L" => "Configuration",
        "M" => "Random",
        "X" => "Beyond tnp",
        "ND" => "ndarray surface",
        _ => "Other",
    }
}

/// The table: one row per inventory function, supported on the CPU only when its
/// conformance cases pass in CI (ops the client answers itself count through the same list).
fn generate() -> String {
    let inventory =
        std::fs::read_to_string(repo().join("docs/inventory.tsv")).expect("docs/inventory.tsv");
    let conformance: BTreeSet<String> =
        std::fs::read_to_string(repo().join("tests/conformance-ops.txt"))
            .expect("tests/conformance-ops.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(String::from)
            .collect();
    let partial: BTreeSet<String> =
        std::fs::read_to_string(repo().join("tests/conformance-known-failures.txt"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split('#').next())
            .filter_map(|id| id.trim().split_once('/').map(|(op, _)| op.to_string()))
            .collect();
    let kernels: BTreeSet<&str> = ndserve_server::backend::cpu::supported_ops()
        .into_iter()
        .collect();
    let mut out = String::from(
        "# Coverage\n\nGenerated from the op registry by `tests/tests/e2e/coverage.rs` (do not edit by hand;\n\
         `NDSERVE_BLESS=1 cargo test -p ndserve-tests --test e2e coverage` rewrites it).\n\n\
         - **CPU**: `yes` when the CPU kernel exists and the op's NumPy conformance cases pass in CI\n  \
         (`tests/conformance-ops.txt`: the shared kit's cases, and for ops beyond the kit those of\n  \
         `tests/conformance/*_specs.py`, NumPy answering both, except for\n  \
         `experimental_enable_numpy_behavior`, which NumPy lacks: its spec states the rule it is\n  \
         checked against); `partial` when some of its cases are\n  \
         tracked known failures (`tests/conformance-known-failures.txt`); `unit` when the op has no\n  \
         conformance spec yet and its kernel is tested against NumPy values in unit and end-to-end\n  \
         tests; `—` when not implemented yet.\n\
         - **GPU** (`cuda` builds): `kernel` when the op has a CUDA kernel (NVRTC-compiled from the\n  \
         op's definition; calls whose dtype or layout it doesn't index run as below); `CPU copy`\n  \
         when the worker runs the CPU kernel on host copies of GPU inputs and copies the result\n  \
         back, so the op works on GPU arrays all the same; `—` when the CPU has no kernel either.\n  \
         Every kernel compiles in CI; on an NVIDIA H200 (2026-11-30, `scripts/gpu-check.sh`)\n  \
         every conformance case passes on `cuda:0` as on the CPU.\n\n",
    );
    let (mut total, mut done) = (0, 0);
    let mut group = String::new();
    for line in inventory
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (g, name) = line.split_once('\t').expect("group<TAB>name");
        if g != group {
            group = g.to_string();
            out.push_str(&format!(
                "\n## {}\n\n| function | CPU | GPU | summary |\n|---|---|---|---|\n",
                group_name(g)
            ));
        }
        let def = ndserve_proto::ops::lookup(name).ok();
        let cpu = if conformance.contains(name) && partial.contains(name) {
            "partial"
        } else if conformance.contains(name) {
            "yes"
        } else if def.is_some() && kernels.contains(name) && g == "X" {
            "unit"
        } else {
            "—"
        };
        total += 1;
        if cpu != "—" {
            done += 1;
        }
        let summary = def.map(|d| d.summary).unwrap_or("");
        let gpu = if cpu == "—" {
            "—"
        } else if ndserve_server::backend::cuda::is_native(name) {
            "kernel"
        } else {
            "CPU copy"
        };
        out.push_str(&format!("| `{name}` | {cpu} | {gpu} | {summary} |\n"));
    }
    out.push_str(&format!(
        "\n**{done} of {total} functions supported on the CPU.**\n"
    ));
    out
}

#[test]
fn coverage_table_is_current() {
    let path = repo().join("docs/COVERAGE.md");
    let want = generate();
    if std::env::var_os("NDSERVE_BLESS").is_some() {
        std::fs::write(&path, &want).expect("write docs/COVERAGE.md");
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/COVERAGE.md is stale: run NDSERVE_BLESS=1 cargo test -p ndserve-tests --test e2e coverage"
    );
}

#[test]
fn every_conformance_op_has_a_kernel_or_a_local_answer() {
    let kernels: BTreeSet<&str> = ndserve_server::backend::cpu::supported_ops()
        .into_iter()
        .collect();
    let list = std::fs::read_to_string(repo().join("tests/conformance-ops.txt")).unwrap();
    for op in list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let local = ndserve_proto::ops::lookup(op).is_err();
        assert!(
            kernels.contains(op) || local,
            "{op} is listed for conformance but has no CPU kernel"
        );
    }
}

#[test]
fn every_catalogue_op_has_a_cpu_kernel_and_back() {
    let kernels: BTreeSet<&str> = ndserve_server::backend::cpu::supported_ops()
        .into_iter()
        .collect();
    let catalogue: BTreeSet<&str> = ndserve_proto::ops::catalogue()
        .iter()
        .map(|d| d.name)
        .collect();
    let missing: Vec<_> = catalogue.difference(&kernels).collect();
    // `fused` is the workers' internal op for fused elementwise chains: the coordinator
    // makes those calls itself and clients cannot name it (it is not in the catalogue).
    let orphan: Vec<_> = kernels
        .difference(&catalogue)
        .filter(|k| **k != ndserve_server::fusion::FUSED_OP)
        .collect();
    assert!(missing.is_empty(), "ops without a CPU kernel: {missing:?}");
    assert!(
        orphan.is_empty(),
        "kernels without a catalogue entry: {orphan:?}"
    );
}
