//! GPU against CPU (feature `cuda`): random inputs of random dtypes and shapes go to
//! `cpu:0` and `cuda:0` of one worker, every native GPU op family runs on both, and the
//! results must agree: bit for bit where both compute exactly (integers, comparisons,
//! copies, sorts, gathers, extremes), within a few units in the last place where the
//! order of operations or the math library may differ (sums, transcendentals, matmul).
//!
//! Skipped, with a line saying so, on a machine without a GPU; `NDSERVE_REQUIRE_GPU=1`
//! makes that a failure (`scripts/gpu-check.sh` sets it). `NDSERVE_GPU_DEVICE=cpu:0`
//! runs the same cases CPU against CPU, a check of the test itself.
#![cfg(feature = "cuda")]

use bytes::Bytes;
use futures::StreamExt;
use ndserve_proto::{Attr, Attrs, DType, Input, Meta, Scalar};
use ndserve_server::worker::{LocalWorker, Worker, WorkerCall, WorkerInput};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// The device checked against `cpu:0`: `cuda:0`, or `NDSERVE_GPU_DEVICE` (`cpu:0` checks
/// this test's own plumbing on a machine without a GPU).
fn device() -> String {
    std::env::var("NDSERVE_GPU_DEVICE").unwrap_or_else(|_| "cuda:0".into())
}

/// The worker, or `None` (after a line saying so) without a GPU.
fn gpu_worker() -> Option<LocalWorker> {
    let w = LocalWorker::new("gpu-vs-cpu", 0, 8 << 30).expect("worker");
    let has_gpu = w.devices().iter().any(|d| d.kind == "cuda");
    if !has_gpu && device().starts_with("cuda") {
        assert!(
            std::env::var("NDSERVE_REQUIRE_GPU").is_err(),
            "NDSERVE_REQUIRE_GPU is set but the worker found no GPU"
        );
        eprintln!("SKIPPED: no CUDA device; GPU-against-CPU checks need one");
        return None;
    }
    Some(w)
}

/// One case: an op, its array inputs (meta, bytes), scalars, attributes.
#[derive(Clone, Debug)]
struct Case {
    op: &'static str,
    arrays: Vec<(Meta, Vec<u8>)>,
    scalars: Vec<Scalar>,
    attrs: Attrs,
}

const DTYPES: [DType; 12] = [
    DType::Bool,
    DType::Int8,
    DType::Int16,
    DType::Int32,
    DType::Int64,
    DType::UInt8,
    DType::UInt32,
    DType::UInt64,
    DType::Float16,
    DType::Float32,
    DType::Float64,
    DType::Complex64,
];

/// Little-endian bytes of `n` values of `d` from random words: small integers, and for
/// floats a mix with the special values (NaN, infinities, both zeros), or only finite
/// non-negative ones (`plain`: a cast to an integer is then defined, as C and NumPy
/// leave it undefined for NaN and out-of-range values).
fn values(d: DType, words: &[u64], plain: bool) -> Vec<u8> {
    let special = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0, 1.0];
    let float = |w: u64| {
        if plain {
            (w >> 11) as f64 / (1u64 << 53) as f64 * 8.0
        } else if w.is_multiple_of(11) {
            special[(w / 11 % 6) as usize]
        } else {
            ((w >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 8.0
        }
    };
    let mut out = Vec::new();
    for &w in words {
        let small = (w % 201) as i64 - 100;
        match d {
            DType::Bool => out.push((w & 1) as u8),
            DType::Int8 => out.extend((small as i8).to_le_bytes()),
            DType::Int16 => out.extend((small as i16 * 300).to_le_bytes()),
            DType::Int32 => out.extend((small as i32 * 70_000).to_le_bytes()),
            DType::Int64 => out.extend((small * 5_000_000_000).to_le_bytes()),
            DType::UInt8 => out.extend(((w % 256) as u8).to_le_bytes()),
            DType::UInt32 => out.extend(((w >> 20) as u32).to_le_bytes()),
            DType::UInt64 => out.extend((w >> 3).to_le_bytes()),
            DType::Float16 => out.extend(half::f16::from_f64(float(w)).to_le_bytes()),
            DType::Float32 => out.extend((float(w) as f32).to_le_bytes()),
            DType::Float64 => out.extend(float(w).to_le_bytes()),
            DType::Complex64 => {
                out.extend((float(w) as f32).to_le_bytes());
                out.extend((float(w.rotate_left(17)) as f32).to_le_bytes());
            }
            _ => unreachable!("not generated"),
        }
    }
    out
}

fn shape() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0usize..5, 0..4)
}

fn array(d: DType, shape: Vec<usize>) -> impl Strategy<Value = (Meta, Vec<u8>)> {
    values_of(d, shape, false)
}

fn values_of(d: DType, shape: Vec<usize>, plain: bool) -> impl Strategy<Value = (Meta, Vec<u8>)> {
    let n: usize = shape.iter().product();
    prop::collection::vec(any::<u64>(), n)
        .prop_map(move |w| (Meta::new(d, shape.clone()), values(d, &w, plain)))
}

fn dtype() -> impl Strategy<Value = DType> {
    prop::sample::select(DTYPES.to_vec())
}

/// An axis of a rank-`r` array (negative half the time), or None.
fn axis_attr(r: usize, seed: u64) -> Attrs {
    if r == 0 || seed.is_multiple_of(5) {
        return Attrs::new().with("axis", Attr::None);
    }
    let ax = (seed / 5 % r as u64) as i64;
    let ax = if seed.is_multiple_of(2) {
        ax
    } else {
        ax - r as i64
    };
    Attrs::new().with("axis", Attr::Int(ax))
}

fn cases() -> impl Strategy<Value = Case> {
    let unary = prop::sample::select(vec![
        "negative",
        "absolute",
        "sqrt",
        "exp",
        "log",
        "sin",
        "floor",
        "isnan",
        "square",
        "logical_not",
        "sign",
    ]);
    let binary = prop::sample::select(vec![
        "add",
        "subtract",
        "multiply",
        "maximum",
        "minimum",
        "less",
        "equal",
        "logical_and",
        "true_divide",
    ]);
    let reduction = prop::sample::select(vec![
        "sum", "max", "min", "argmax", "argmin", "all", "any", "mean", "cumsum", "sort", "argsort",
    ]);
    prop_oneof![
        (unary, dtype(), shape()).prop_flat_map(|(op, d, s)| array(d, s).prop_map(move |a| {
            Case {
                op,
                arrays: vec![a],
                scalars: vec![],
                attrs: Attrs::new(),
            }
        })),
        // Broadcasting: the second shape's trailing dimensions, some set to 1.
        (binary.clone(), dtype(), dtype(), shape(), any::<u8>()).prop_flat_map(
            |(op, d1, d2, s, m)| {
                let s2: Vec<usize> = s
                    .iter()
                    .enumerate()
                    .skip(s.len() / 2)
                    .map(|(i, &v)| if m >> i & 1 == 1 { 1 } else { v })
                    .collect();
                (array(d1, s), array(d2, s2)).prop_map(move |(a, b)| Case {
                    op,
                    arrays: vec![a, b],
                    scalars: vec![],
                    attrs: Attrs::new(),
                })
            }
        ),
        // With a Python scalar (NEP 50: the array's dtype wins).
        (binary, dtype(), shape(), -3i64..4).prop_flat_map(|(op, d, s, k)| {
            array(d, s).prop_map(move |a| Case {
                op,
                arrays: vec![a],
                scalars: vec![Scalar::Int(k as i128)],
                attrs: Attrs::new(),
            })
        }),
        (reduction, dtype(), shape(), any::<u64>()).prop_flat_map(|(op, d, s, seed)| {
            let attrs = axis_attr(s.len(), seed);
            array(d, s).prop_map(move |a| Case {
                op,
                arrays: vec![a],
                scalars: vec![],
                attrs: attrs.clone(),
            })
        }),
        (dtype(), dtype(), shape()).prop_flat_map(|(d, to, s)| values_of(d, s, true).prop_map(
            move |a| {
                Case {
                    op: "astype",
                    arrays: vec![a],
                    scalars: vec![],
                    attrs: Attrs::new().with("dtype", Attr::DType(to)),
                }
            }
        )),
        (dtype(), shape()).prop_flat_map(|(d, s)| {
            let r = s.len() as i64;
            array(d, s).prop_map(move |a| Case {
                op: "transpose",
                arrays: vec![a],
                scalars: vec![],
                attrs: Attrs::new().with("axes", Attr::Ints((0..r).rev().collect())),
            })
        }),
        // take along an axis with indices in and out of range, wrapped or clipped.
        (
            dtype(),
            shape(),
            any::<u64>(),
            prop::collection::vec(-9i64..9, 0..6),
            any::<bool>()
        )
            .prop_flat_map(|(d, s, seed, idx, wrap)| {
                let mut attrs = axis_attr(s.len(), seed);
                attrs = attrs.with("mode", Attr::Str(if wrap { "wrap" } else { "clip" }.into()));
                let im = Meta::new(DType::Int64, vec![idx.len()]);
                let ib: Vec<u8> = idx.iter().flat_map(|v| v.to_le_bytes()).collect();
                array(d, s).prop_map(move |a| Case {
                    op: "take",
                    arrays: vec![a, (im.clone(), ib.clone())],
                    scalars: vec![],
                    attrs: attrs.clone(),
                })
            }),
        // clip between Python-scalar bounds (NEP 50: the array's dtype wins).
        (dtype(), shape(), -3i64..1, 0i64..4).prop_flat_map(|(d, s, lo, hi)| {
            array(d, s).prop_map(move |a| Case {
                op: "clip",
                arrays: vec![a],
                scalars: vec![Scalar::Int(lo as i128), Scalar::Int(hi as i128)],
                attrs: Attrs::new(),
            })
        }),
        // dot of 1-D and 2-D operands.
        (dtype(), 1usize..9, 1usize..9, any::<bool>(), any::<bool>()).prop_flat_map(
            |(d, m, k, a2, b2)| {
                let sa = if a2 { vec![m, k] } else { vec![k] };
                let sb = if b2 { vec![k, m] } else { vec![k] };
                (array(d, sa), array(d, sb)).prop_map(|(a, b)| Case {
                    op: "dot",
                    arrays: vec![a, b],
                    scalars: vec![],
                    attrs: Attrs::new(),
                })
            }
        ),
        (dtype(), 1usize..9, 1usize..9, 1usize..9).prop_flat_map(|(d, m, k, n)| {
            (array(d, vec![m, k]), array(d, vec![k, n])).prop_map(|(a, b)| Case {
                op: "matmul",
                arrays: vec![a, b],
                scalars: vec![],
                attrs: Attrs::new(),
            })
        }),
    ]
}

/// Runs `case` on `device`: uploads, the op, fetches. `Err` is the op's error text.
async fn run_on(
    w: &LocalWorker,
    case: &Case,
    device: &str,
    base: u64,
) -> Result<Option<(Meta, Vec<u8>)>, String> {
    let mut inputs = Vec::new();
    let mut metas = Vec::new();
    for (k, (m, b)) in case.arrays.iter().enumerate() {
        let id = base + k as u64;
        w.put(id, m.clone(), Bytes::from(b.clone()), device)
            .await
            .map_err(|e| format!("upload: {e}"))?;
        inputs.push(WorkerInput::Array(id));
        metas.push(Input::Array(m.clone()));
    }
    for &s in &case.scalars {
        inputs.push(WorkerInput::Scalar(s));
        metas.push(Input::Scalar(s));
    }
    let Ok(outs) = ndserve_proto::ops::infer(case.op, &metas, &case.attrs) else {
        return Ok(None); // NumPy refuses this call: nothing to compare
    };
    let out = base + 10;
    let call = WorkerCall {
        op: case.op.into(),
        inputs,
        outputs: vec![out],
        output_metas: outs[..1].to_vec(),
        attrs: case.attrs.clone(),
        device: device.into(),
    };
    let result = w.run_op(call).await;
    let fetched = match result {
        Err(e) => Err(e.to_string()),
        Ok(_) => {
            let (meta, mut chunks) = w.get(out, 1 << 20).await.map_err(|e| e.to_string())?;
            let mut bytes = Vec::new();
            while let Some(c) = chunks.next().await {
                bytes.extend_from_slice(&c.map_err(|e| e.to_string())?);
            }
            Ok(Some((meta, bytes)))
        }
    };
    let ids: Vec<u64> = (0..case.arrays.len() as u64)
        .map(|k| base + k)
        .chain([out])
        .collect();
    w.free(&ids).await;
    fetched
}

/// The values of little-endian bytes of `d` as f64 pairs (re, im).
fn as_f64(d: DType, b: &[u8]) -> Vec<(f64, f64)> {
    let s = d.itemsize();
    b.chunks(s)
        .map(|c| match d {
            DType::Float16 => (half::f16::from_le_bytes([c[0], c[1]]).to_f64(), 0.0),
            DType::BFloat16 => (half::bf16::from_le_bytes([c[0], c[1]]).to_f64(), 0.0),
            DType::Float32 => (f32::from_le_bytes(c.try_into().unwrap()) as f64, 0.0),
            DType::Float64 => (f64::from_le_bytes(c.try_into().unwrap()), 0.0),
            DType::Complex64 => (
                f32::from_le_bytes(c[..4].try_into().unwrap()) as f64,
                f32::from_le_bytes(c[4..].try_into().unwrap()) as f64,
            ),
            DType::Complex128 => (
                f64::from_le_bytes(c[..8].try_into().unwrap()),
                f64::from_le_bytes(c[8..].try_into().unwrap()),
            ),
            _ => unreachable!("floats only"),
        })
        .collect()
}

/// Whether the GPU's result matches the CPU's: exactly for integers, bools and the ops
/// that move or pick values (where a sort or an extreme may pick either zero); for
/// floats equal NaN-ness and a tolerance scaled to the dtype (an ulp-scale bound for
/// elementwise ops, wider for sums and matmul, whose order of additions differs).
fn agree(op: &str, cpu: &(Meta, Vec<u8>), gpu: &(Meta, Vec<u8>)) -> Result<(), String> {
    if cpu.0 != gpu.0 {
        return Err(format!("metas differ: cpu {:?}, gpu {:?}", cpu.0, gpu.0));
    }
    let d = cpu.0.dtype;
    let exact = !d.is_inexact()
        || matches!(
            op,
            "negative"
                | "floor"
                | "max"
                | "min"
                | "sort"
                | "take"
                | "transpose"
                | "maximum"
                | "minimum"
        );
    if exact {
        // Equal bits, except that any NaN equals any NaN.
        let same = cpu.1 == gpu.1
            || (d.is_inexact()
                && as_f64(d, &cpu.1)
                    .iter()
                    .zip(as_f64(d, &gpu.1))
                    .all(|(a, b)| {
                        // A sort or an extreme may pick either of -0.0 and +0.0 (NumPy
                        // leaves their order open); elsewhere the sign of zero counts.
                        let by_value = matches!(op, "sort" | "max" | "min");
                        let eq = |x: f64, y: f64| {
                            x.to_bits() == y.to_bits()
                                || (x.is_nan() && y.is_nan())
                                || (by_value && x == y)
                        };
                        eq(a.0, b.0) && eq(a.1, b.1)
                    }));
        return if same {
            Ok(())
        } else {
            Err("bits differ".into())
        };
    }
    let eps = match d.real() {
        DType::Float16 | DType::BFloat16 => 1e-2,
        DType::Float32 => 1e-5,
        _ => 1e-12,
    };
    let scale = if matches!(op, "sum" | "mean" | "cumsum" | "matmul" | "dot") {
        64.0
    } else {
        4.0
    };
    for (i, (a, b)) in as_f64(d, &cpu.1).iter().zip(as_f64(d, &gpu.1)).enumerate() {
        for (x, y) in [(a.0, b.0), (a.1, b.1)] {
            let ok = (x.is_nan() && y.is_nan())
                || x == y
                || (x - y).abs() <= scale * eps * x.abs().max(y.abs()).max(1.0);
            if !ok {
                return Err(format!("element {i}: cpu {x}, gpu {y}"));
            }
        }
    }
    Ok(())
}

/// The name a case is tallied under: its op and its first input's dtype.
fn family(case: &Case) -> String {
    let d = case.arrays.first().map(|a| a.0.dtype.name()).unwrap_or("-");
    format!("{} {d}", case.op)
}

/// Every case runs (no stop at the first failure, no shrinking: one run on a GPU machine
/// must say everything that is wrong); each failing op family is reported once with its
/// first failing case, and the tally says which families ran natively on the GPU.
#[test]
fn gpu_results_match_the_cpus() {
    let Some(w) = gpu_worker() else { return };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let count: u32 = std::env::var("NDSERVE_GPU_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let mut runner = TestRunner::new(Config {
        cases: count,
        failure_persistence: None,
        ..Config::default()
    });
    let (compared, refused) = (std::cell::Cell::new(0u32), std::cell::Cell::new(0u32));
    // family -> (native runs, runs on CPU copies, failures, first failure)
    type Tally = std::collections::BTreeMap<String, (u32, u32, u32, String)>;
    let tally = std::cell::RefCell::new(Tally::new());
    runner
        .run(&cases(), |case| {
            let before = w.gpu_fallbacks();
            let (cpu, gpu) = rt.block_on(async {
                (
                    run_on(&w, &case, "cpu:0", 1000).await,
                    run_on(&w, &case, &device(), 2000).await,
                )
            });
            let fell_back = w.gpu_fallbacks() > before;
            let verdict = match (cpu, gpu) {
                (Ok(Some(c)), Ok(Some(g))) => {
                    compared.set(compared.get() + 1);
                    agree(case.op, &c, &g)
                }
                (Ok(None), _) => return Ok(()),
                // The same call fails on both devices (a NumPy error): the GPU answers it
                // as the CPU does.
                (Err(c), Err(g)) if c == g => {
                    refused.set(refused.get() + 1);
                    Ok(())
                }
                (c, g) => Err(format!(
                    "cpu {:?}, gpu {:?}",
                    c.map(|r| r.map(|x| x.0)),
                    g.map(|r| r.map(|x| x.0))
                )),
            };
            let mut t = tally.borrow_mut();
            let e = t.entry(family(&case)).or_default();
            if fell_back {
                e.1 += 1;
            } else {
                e.0 += 1;
            }
            if let Err(msg) = verdict {
                e.2 += 1;
                if e.3.is_empty() {
                    e.3 = format!("{msg}\n    case: {case:?}");
                }
            }
            Ok(())
        })
        .unwrap();
    let tally = tally.into_inner();
    eprintln!("family: native runs / runs on CPU copies / failures");
    for (f, (native, copied, failed, _)) in &tally {
        eprintln!("  {f}: {native} / {copied} / {failed}");
    }
    let failures: Vec<_> = tally.iter().filter(|(_, e)| e.2 > 0).collect();
    for (f, e) in &failures {
        eprintln!("FAILED {f} ({} cases): {}", e.2, e.3);
    }
    eprintln!(
        "{count} cases on cpu:0 and {}: {} results compared, {} refused alike by both, {} families failed",
        device(),
        compared.get(),
        refused.get(),
        failures.len()
    );
    assert!(failures.is_empty(), "GPU and CPU results differ (above)");
    assert!(compared.get() >= count / 2, "too few cases ran to a result");
}
