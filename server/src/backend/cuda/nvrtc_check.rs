//! Compiles every generated kernel with NVRTC, no GPU needed: the elementwise rows for
//! every dtype they have a loop for, `astype` between all dtypes, `where`, copies, scans,
//! `take`, the sorts, fusion and every reduction. Skipped (with a line saying so) when
//! NVRTC cannot be loaded; CI installs it from PyPI (`nvidia-cuda-nvrtc`) so these run
//! there.

use ndserve_proto::ops::elementwise::{self, Family};
use ndserve_proto::ops::reduce::{self, REDUCTIONS};
use ndserve_proto::ops::stats;
use ndserve_proto::ops::{Call, Input};
use ndserve_proto::{Attrs, DType, Meta};

use rayon::prelude::*;

use super::codegen::{
    FusedArg, FusedKernel, FusedNode, MapInput, MapKernel, Operand, ReduceKernel, ScanKernel,
};
use super::gather::TakeKernel;
use super::radix::SortKernel;

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

/// `op`'s plan for a (4, 5) array of every dtype it accepts.
fn plans_2d<P>(
    op: &str,
    attrs: &Attrs,
    planner: impl Fn(&Call<'_>) -> ndserve_proto::Result<P>,
) -> Vec<(DType, P)> {
    DType::ALL
        .into_iter()
        .filter_map(|d| {
            let inputs = [Input::Array(Meta::new(d, vec![4, 5]))];
            let call = Call {
                op,
                inputs: &inputs,
                attrs,
            };
            planner(&call).ok().map(|p| (d, p))
        })
        .collect()
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
                out_strided: false,
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
                out_strided: false,
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
            out_strided: false,
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
    // Copies into part of a larger array (concatenate), with a cast.
    for (from, to) in [
        (DType::Float16, DType::Float64),
        (DType::Int8, DType::Complex64),
        (DType::Bool, DType::BFloat16),
        (DType::Complex128, DType::Complex128),
    ] {
        let k = MapKernel {
            expr: "x",
            out_strided: true,
            compute: to,
            inputs: vec![MapInput {
                var: "x",
                dtype: from,
                compute: to,
                operand: Operand::Strided,
            }],
            out: to,
        };
        jobs.push((format!("copy into {from}->{to}"), k.source(), false));
    }
    // cumsum and cumprod of every dtype, as the stats plan computes them.
    for (op, step) in [("cumsum", "add"), ("cumprod", "multiply")] {
        for (d, plan) in plans_2d(op, &attrs, stats::stats_plan) {
            let k = ScanKernel {
                expr: elementwise::row(step)
                    .and_then(|r| r.cuda)
                    .expect("a cuda expression"),
                input: d,
                compute: plan.compute,
            };
            jobs.push((format!("{op} {d}"), k.source(), false));
        }
    }
    // take: every value width and index dtype the plan accepts (a scalar index is int64).
    for bytes in [1, 2, 4, 8, 16] {
        for index in DType::ALL {
            // The index dtypes `take`'s plan accepts.
            let inputs = [
                Input::Array(Meta::new(DType::Float32, vec![4])),
                Input::Array(Meta::new(index, vec![2])),
            ];
            let call = Call {
                op: "take",
                inputs: &inputs,
                attrs: &attrs,
            };
            if ndserve_proto::ops::index::take_plan(&call).is_err() {
                continue;
            }
            let k = TakeKernel {
                value_bytes: bytes,
                index,
            };
            jobs.push((format!("take {bytes}B by {index}"), k.source(), false));
        }
    }
    // sort and argsort of every dtype with a radix key.
    for d in DType::ALL {
        if let Some(src) = (SortKernel { dtype: d }).source() {
            jobs.push((format!("sort {d}"), src, false));
        }
    }
    for &(op, _, _, _) in REDUCTIONS {
        for (d, plan) in plans_2d(op, &attrs, reduce::plan) {
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
    // Fused chains: (x * y) + 2 and negative(x * y) >= x, in every dtype with loops.
    for d in DType::ALL {
        let plan = |op: &str, ins: &[Input]| {
            elementwise::plan(&Call {
                op,
                inputs: ins,
                attrs: &attrs,
            })
        };
        let arr = Input::Array(Meta::new(d, vec![4]));
        let Ok(mul) = plan("multiply", &[arr.clone(), arr.clone()]) else {
            continue;
        };
        let prod = Input::Array(mul.out.clone());
        let two = ndserve_proto::Scalar::Int(2);
        let node =
            |op: &'static str, p: &elementwise::Plan, args: Vec<(FusedArg, DType)>| FusedNode {
                expr: elementwise::row(op)
                    .and_then(|r| r.cuda)
                    .expect("a cuda expression"),
                compute: p.compute,
                out: p.out.dtype,
                args,
            };
        let mul_node = node(
            "multiply",
            &mul,
            vec![(FusedArg::Array(0), d), (FusedArg::One(1), d)],
        );
        if let Ok(add) = plan("add", &[prod.clone(), Input::Scalar(two)]) {
            let k = FusedKernel {
                arrays: vec![d, d],
                scalars: vec![add.compute],
                nodes: vec![
                    mul_node.clone(),
                    node(
                        "add",
                        &add,
                        vec![
                            (FusedArg::Node(0), mul.out.dtype),
                            (FusedArg::Scalar(0), add.compute),
                        ],
                    ),
                ],
            };
            jobs.push((format!("fused muladd {d}"), k.source(), false));
        }
        if let (Ok(neg), true) = (
            plan("negative", std::slice::from_ref(&prod)),
            d != DType::Bool,
        ) {
            let negm = Input::Array(neg.out.clone());
            if let Ok(ge) = plan("greater_equal", &[negm, arr.clone()]) {
                let k = FusedKernel {
                    arrays: vec![d, d],
                    scalars: vec![],
                    nodes: vec![
                        mul_node,
                        node("negative", &neg, vec![(FusedArg::Node(0), mul.out.dtype)]),
                        node(
                            "greater_equal",
                            &ge,
                            vec![(FusedArg::Node(1), neg.out.dtype), (FusedArg::Array(0), d)],
                        ),
                    ],
                };
                jobs.push((format!("fused compare {d}"), k.source(), false));
            }
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
