//! CPU kernels on large arrays, timed end to end (queue the op, sync its output; the
//! inputs are already on the server), matmul, and the memory bandwidth they are held to.

use ndserve_client::{Array, Attrs, Client, DType};

use super::{Ctx, MEAN_ROW, Recorder, Result, Row, Unit, gbps, median_time, millis, percentile};

/// The float dtypes every kernel runs in, with their row suffixes.
const DTYPES: [(DType, &str); 2] = [(DType::Float32, "f32"), (DType::Float64, "f64")];

/// The reference of the memory-bound kernels' bandwidth rows.
const HOST_MEMCPY: &str = "host_memcpy_bandwidth";

/// A kernel's inputs, created on the server before timing.
struct Inputs {
    /// Uniform in [0.5, 1.5), so `log` and `sqrt` stay finite.
    a: Array,
    b: Array,
    c: Array,
    /// `a > 1.0`.
    cond: Array,
    /// `a` as `(len / MEAN_ROW, MEAN_ROW)`.
    a2d: Array,
}

/// The bytes a memory-bound kernel must move at least: arrays of the kernel's dtype read
/// or written, and bool arrays read.
#[derive(Clone, Copy)]
struct Traffic {
    arrays: usize,
    bool_arrays: usize,
}

/// One timed kernel: its row name, its traffic when it is memory-bound, and the op.
struct Kernel {
    name: &'static str,
    traffic: Option<Traffic>,
    run: fn(&Inputs) -> ndserve_client::Result<Array>,
}

const fn mem(arrays: usize, bool_arrays: usize) -> Option<Traffic> {
    Some(Traffic {
        arrays,
        bool_arrays,
    })
}

/// The kernels of issue 6. `bench/numpy_ref.py` times the same expressions.
const KERNELS: &[Kernel] = &[
    Kernel {
        name: "add",
        traffic: mem(3, 0),
        run: |i| &i.a + &i.b,
    },
    Kernel {
        name: "muladd",
        traffic: mem(4, 0),
        run: |i| (&i.a * &i.b)? + &i.c,
    },
    Kernel {
        name: "exp",
        traffic: None,
        run: |i| i.a.exp(),
    },
    Kernel {
        name: "log",
        traffic: None,
        run: |i| i.a.log(),
    },
    Kernel {
        name: "sin",
        traffic: None,
        run: |i| i.a.sin(),
    },
    Kernel {
        name: "sqrt",
        traffic: mem(2, 0),
        run: |i| i.a.sqrt(),
    },
    Kernel {
        name: "sum",
        traffic: mem(1, 0),
        run: |i| i.a.sum(None, false),
    },
    Kernel {
        name: "mean_axis0",
        traffic: mem(1, 0),
        run: |i| i.a2d.mean(0, false),
    },
    Kernel {
        name: "argmax",
        traffic: mem(1, 0),
        run: |i| i.a.argmax(None),
    },
    Kernel {
        name: "sort",
        traffic: None,
        run: |i| i.a.sort(Some(-1)),
    },
    Kernel {
        name: "cumsum",
        traffic: None,
        run: |i| i.a.cumsum(None, None),
    },
    Kernel {
        name: "where",
        traffic: mem(3, 1),
        run: where_op,
    },
];

/// `np.where(cond, a, b)` (the SDK has no typed method for it).
fn where_op(i: &Inputs) -> ndserve_client::Result<Array> {
    let inputs = [(&i.cond).into(), (&i.a).into(), (&i.b).into()];
    let mut out = i.a.client().call("where", &inputs, Attrs::new())?;
    Ok(out.remove(0))
}

/// A uniform array in [0.5, 1.5) of `shape` and `dtype`, computed on the server.
fn uniform(client: &Client, shape: &[usize], dtype: DType) -> ndserve_client::Result<Array> {
    client.random().random(shape)?.add(0.5)?.astype(dtype)
}

async fn inputs(client: &Client, len: usize, dtype: DType) -> Result<Inputs> {
    let a = uniform(client, &[len], dtype)?;
    let inputs = Inputs {
        b: uniform(client, &[len], dtype)?,
        c: uniform(client, &[len], dtype)?,
        cond: a.greater(1.0)?,
        a2d: a.reshape(&[-1, MEAN_ROW as i64])?,
        a,
    };
    client.sync_all().await?;
    Ok(inputs)
}

/// Times `op` end to end: queue it, sync its output.
async fn time_op(
    reps: usize,
    op: impl Fn() -> ndserve_client::Result<Array>,
) -> Result<std::time::Duration> {
    median_time(reps, async || {
        op()?.sync().await?;
        Ok(())
    })
    .await
}

/// Times `op` once end to end.
async fn time_once(op: impl Fn() -> ndserve_client::Result<Array>) -> Result<std::time::Duration> {
    let t = std::time::Instant::now();
    op()?.sync().await?;
    Ok(t.elapsed())
}

/// `host_memcpy_bandwidth`: copying a buffer the size of a float64 kernel input in this
/// process, split over all cores (read plus write bytes per second): the memory bandwidth
/// the memory-bound kernels are held to.
///
/// It blocks the calling thread while it runs; nothing else in the suite is running then.
pub(super) async fn host_memcpy(cx: &Ctx<'_>, rec: &mut Recorder<'_>) -> Result<()> {
    let bytes = cx.sizes.kernel_len * 8;
    let src = vec![1u8; bytes];
    let mut dst = vec![0u8; bytes];
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let part = bytes.div_ceil(threads);
    let t = median_time(cx.sizes.reps, async || {
        std::thread::scope(|s| {
            for (d, from) in dst.chunks_mut(part).zip(src.chunks(part)) {
                s.spawn(move || d.copy_from_slice(from));
            }
        });
        Ok(())
    })
    .await?;
    rec.record(Row::new(HOST_MEMCPY, gbps(2 * bytes, t), Unit::GBps));
    Ok(())
}

/// Every kernel in float32 and float64 (`add_f32`, ... in ms; `add_f32_bandwidth`, ... in
/// GB/s against `host_memcpy_bandwidth` for the memory-bound ones), and
/// `memcpy_bandwidth`: `concatenate` of two float64 inputs, a plain copy into a new array
/// (the `copy` op shares the immutable input's buffer, so it moves nothing).
pub(super) async fn cpu_kernels(cx: &Ctx<'_>, rec: &mut Recorder<'_>) -> Result<()> {
    let Ctx { client, sizes, .. } = *cx;
    let n = sizes.kernel_len;
    for (dtype, suffix) in DTYPES {
        let inp = inputs(client, n, dtype).await?;
        for k in KERNELS {
            let t = time_op(sizes.reps, || (k.run)(&inp)).await?;
            let name = format!("{}_{suffix}", k.name);
            rec.record(Row::new(&name, millis(t), Unit::Millis));
            if let Some(tr) = k.traffic {
                let bytes = n * (tr.arrays * dtype.itemsize() + tr.bool_arrays);
                let row = Row::new(format!("{name}_bandwidth"), gbps(bytes, t), Unit::GBps);
                rec.record_against(row, HOST_MEMCPY);
            }
        }
        // The same a*b+c with its intermediate kept alive, which keeps the server from
        // fusing it: what fusion gains. Fused and unfused runs alternate, and the speed-up
        // is the median of each pair's ratio, so a change in the machine's memory speed
        // during the run (common on these guests) moves both sides of a pair alike.
        let hold = std::sync::Mutex::new(None);
        let unfused = || {
            let t = (&inp.a * &inp.b)?;
            let d = (&t + &inp.c)?;
            *hold.lock().expect("not poisoned") = Some(t);
            Ok(d)
        };
        let fused = || (&inp.a * &inp.b)? + &inp.c;
        let (mut ratios, mut unfused_times) = (Vec::new(), Vec::new());
        for i in 0..=2 * sizes.reps {
            let f = time_once(fused).await?;
            let u = time_once(unfused).await?;
            if i > 0 {
                ratios.push(u.as_secs_f64() / f.as_secs_f64());
                unfused_times.push(u);
            }
        }
        ratios.sort_by(f64::total_cmp);
        rec.record(Row::new(
            format!("muladd_unfused_{suffix}"),
            millis(percentile(&mut unfused_times, 0.5)),
            Unit::Millis,
        ));
        rec.record(Row::new(
            format!("muladd_fusion_speedup_{suffix}"),
            ratios[ratios.len() / 2],
            Unit::Ratio,
        ));
        if dtype == DType::Float64 {
            let t = time_op(sizes.reps, || {
                client.concatenate(&[&inp.a, &inp.b], Some(0))
            })
            .await?;
            rec.record(Row::new("memcpy_bandwidth", gbps(4 * n * 8, t), Unit::GBps));
        }
    }
    Ok(())
}

/// `matmul_f32_N`, `matmul_f64_N`: square matmuls in GFLOP/s (2·N³ flops).
pub(super) async fn matmul(cx: &Ctx<'_>, rec: &mut Recorder<'_>) -> Result<()> {
    let Ctx { client, sizes, .. } = *cx;
    for &n in &sizes.matmul_sizes {
        for (dtype, suffix) in DTYPES {
            let a = uniform(client, &[n, n], dtype)?;
            let b = uniform(client, &[n, n], dtype)?;
            client.sync_all().await?;
            let t = time_op(sizes.reps, || a.matmul(&b)).await?;
            let gflops = 2.0 * (n as f64).powi(3) / t.as_secs_f64() / 1e9;
            rec.record(Row::new(
                format!("matmul_{suffix}_{n}"),
                gflops,
                Unit::GFlops,
            ));
        }
    }
    Ok(())
}
