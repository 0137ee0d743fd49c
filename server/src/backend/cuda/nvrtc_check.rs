//! Compiles every generated kernel with NVRTC, no GPU needed: the elementwise rows for
//! every dtype they have a loop for, `astype` between all dtypes, `where`, and every
//! reduction. Skipped (with a line saying so) when NVRTC cannot be loaded; CI installs it
//! from PyPI (`nvidia-cuda-nvrtc`) so these run there.

use ndserve_proto::ops::elementwise::{self, Family};
use ndserve_proto::ops::reduce::{self, REDUCTIONS};
use ndserve_proto::ops::{Call, Input};
use ndserve_proto::{Attrs, DType, Meta};

use rayon::prelude::*;

use super::codegen::{MapInput, MapKernel, Operand, ReduceKernel};

fn nvrtc_present() -> bool {
    // SAFETY: only tries to load the library.
    let present = unsafe { cudarc::nvrtc::sys::is_culib_present() };
    if !present {
        assert!(
            std::env::var("NDSERVE_REQUIRE_NVRTC").is_err(),
            "NDSERVE_REQUIRE_NVRTC is set but libnvrtc.so.13 cannot be loaded"
        );
        eprintln!("SKIPPED: NVRTC (libnvrtc.so.13) not found; set LD_LIBRARY_PATH to run");
    }
    present
}

/// Compiles `src`; the error log on failure.
fn compile(src: &str) -> Result<(), String> {
    cudarc::nvrtc::compile_ptx_with_opts(
        src,
        cudarc::nvrtc::CompileOptions {
            options: vec!["--gpu-architecture=compute_90".into(), "--std=c++17".into()],
            ..Default::default()
        },
    )
    .map(|_| ())
    .map_err(|e| format!("{e:?}"))
}

/// (op, dtype) pairs whose GPU kernel is allowed not to compile: the op then runs on the
/// CPU for that dtype. Complex rows without a complex helper in the prelude.
fn allowed_to_fail(op: &str, d: DType) -> bool {
    d.is_complex()
        && matches!(
            op,
            "tan"
                | "tanh"
                | "arcsin"
                | "arccos"
                | "arctan"
                | "arcsinh"
                | "arccosh"
                | "arctanh"
                | "exp2"
                | "expm1"
                | "log2"
                | "log10"
                | "log1p"
        )
}

#[test]
fn every_generated_kernel_compiles() {
    if !nvrtc_present() {
        return;
    }
    let attrs = Attrs::default();
    // (label, source, allowed to fail)
    let mut jobs: Vec<(String, String, bool)> = Vec::new();
    for row in elementwise::rows() {
        let Some(expr) = row.cuda else { continue };
        let unary = matches!(
            row.family,
            Family::Unary | Family::UnaryReal | Family::UnaryPred
        );
        for d in DType::ALL {
            let m = Meta::new(d, vec![4]);
            let inputs: Vec<Input> = if unary {
                vec![Input::Array(m.clone())]
            } else {
                vec![Input::Array(m.clone()), Input::Array(m)]
            };
            let call = Call {
                op: row.name,
                inputs: &inputs,
                attrs: &attrs,
            };
            let Ok(plan) = elementwise::plan(&call) else {
                continue; // NumPy has no loop for this dtype.
            };
            let vars: &[&'static str] = if unary { &["x"] } else { &["a", "b"] };
            let k = MapKernel {
                expr,
                compute: plan.compute,
                inputs: vars
                    .iter()
                    .map(|&var| MapInput {
                        var,
                        dtype: d,
                        compute: plan.compute,
                        operand: Operand::Strided,
                    })
                    .collect(),
                out: plan.out.dtype,
            };
            jobs.push((
                format!("{} {d}", row.name),
                k.source(),
                allowed_to_fail(row.name, d),
            ));
        }
    }
    // astype between every pair, and where.
    for from in DType::ALL {
        for to in DType::ALL {
            let k = MapKernel {
                expr: "x",
                compute: to,
                inputs: vec![MapInput {
                    var: "x",
                    dtype: from,
                    compute: to,
                    operand: Operand::Contig,
                }],
                out: to,
            };
            jobs.push((format!("astype {from}->{to}"), k.source(), false));
        }
        let k = MapKernel {
            expr: "c ? x : y",
            compute: from,
            inputs: vec![
                MapInput {
                    var: "c",
                    dtype: DType::Bool,
                    compute: DType::Bool,
                    operand: Operand::Strided,
                },
                MapInput {
                    var: "x",
                    dtype: from,
                    compute: from,
                    operand: Operand::Contig,
                },
                MapInput {
                    var: "y",
                    dtype: from,
                    compute: from,
                    operand: Operand::Scalar,
                },
            ],
            out: from,
        };
        jobs.push((format!("where {from}"), k.source(), false));
    }
    for &(op, _, _, _) in REDUCTIONS {
        for d in DType::ALL {
            let inputs = [Input::Array(Meta::new(d, vec![4, 5]))];
            let call = Call {
                op,
                inputs: &inputs,
                attrs: &attrs,
            };
            let Ok(plan) = reduce::plan(&call) else {
                continue;
            };
            let k = ReduceKernel {
                op,
                kind: plan.kind,
                input: d,
                compute: plan.compute,
                out: plan.out.dtype,
            };
            jobs.push((format!("{op} {d}"), k.source(), false));
        }
    }
    let results: Vec<(String, bool, Result<(), String>)> = jobs
        .into_par_iter()
        .map(|(label, src, allowed)| {
            let r = compile(&src);
            (label, allowed, r)
        })
        .collect();
    let compiled = results.iter().filter(|r| r.2.is_ok()).count();
    let not_native: Vec<&str> = results
        .iter()
        .filter(|r| r.1 && r.2.is_err())
        .map(|r| r.0.as_str())
        .collect();
    let failures: Vec<String> = results
        .iter()
        .filter_map(|(label, allowed, r)| match r {
            Err(e) if !allowed => Some(format!("{label}: {}", first_error(e))),
            _ => None,
        })
        .collect();
    eprintln!(
        "{compiled} kernels compiled; on the CPU by design: {}",
        not_native.join(", ")
    );
    assert!(
        failures.is_empty(),
        "{} kernels do not compile:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The first error line of an NVRTC error (its log is printed with escaped newlines).
fn first_error(err: &str) -> String {
    let log = err.split("log: ").nth(1).unwrap_or(err);
    log.split("\\n")
        .find(|l| l.contains("error"))
        .unwrap_or(log)
        .chars()
        .take(240)
        .collect()
}
