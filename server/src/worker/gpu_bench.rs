//! `ndserve gpu-bench` (feature `cuda`): the GPU figures of issue 5, each as a ratio to a
//! limit measured in the same run on the same device.
//!
//! | row | ratio against |
//! |---|---|
//! | `add_f32` | device-to-device copy bandwidth (bytes moved / time) |
//! | `sum_f32` | the same copy bandwidth |
//! | `sum_axis0_f32`, `sum_axis1_f32` | the same (reported, no target) |
//! | `matmul_f32_N` | cuBLAS SGEMM called directly on the same buffers |
//! | `dispatch_small_add` | a bare launch of the same kernel (time per op, lower is better) |
//! | `fused_muladd_f32` | `multiply` then `add` unfused (time of the unfused pair / fused) |
//! | `upload_N`, `fetch_N` | one copy from (to) page-locked host memory |
//! | `sort_f32_N` | the copy bandwidth (bytes sorted per second; reported, no target) |
//!
//! Ops run through the worker ([`LocalWorker::run_op`]), as the server runs them, with
//! the data already on the device; every timing ends with a device synchronize.

use std::sync::Arc;
use std::time::Instant;

use cudarc::driver::{LaunchConfig, PushKernelArg};
use ndserve_proto::{Attr, Attrs, DType, Meta, Result};

use super::local::{LocalWorker, Stored};
use super::{Worker, WorkerCall, WorkerInput};
use crate::backend::cuda::device::CudaDevice;

/// One measured row.
pub struct Row {
    /// Name.
    pub name: String,
    /// The measured figure.
    pub value: f64,
    /// Its unit.
    pub unit: &'static str,
    /// The ratio to the reference measured in the same run.
    pub ratio: f64,
    /// What the issue asks of the ratio.
    pub target: &'static str,
}

fn call(op: &str, inputs: &[u64], out: u64, meta: Meta) -> WorkerCall {
    WorkerCall {
        op: op.into(),
        inputs: inputs.iter().map(|&i| WorkerInput::Array(i)).collect(),
        outputs: vec![out],
        output_metas: vec![meta],
        attrs: Attrs::default(),
        device: "cuda:0".into(),
    }
}

/// Seconds per repetition of `f`, the best of `reps` timed batches of `iters`, each ended
/// by a device synchronize.
/// An error in `f` ends the benchmark: a failed op must not pass for a fast one.
fn time(
    dev: &CudaDevice,
    reps: usize,
    iters: usize,
    mut f: impl FnMut() -> Result<()>,
) -> Result<f64> {
    f()?;
    dev.sync("bench")?;
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        for _ in 0..iters {
            f()?;
        }
        dev.sync("bench")?;
        best = best.min(t.elapsed().as_secs_f64() / iters as f64);
    }
    Ok(best)
}

/// Runs the GPU benchmarks on `cuda:0` (`quick`: smaller sizes).
pub async fn run(quick: bool) -> Result<Vec<Row>> {
    let worker = LocalWorker::new("bench", 0, 1 << 30)?;
    let Some(dev) = worker.gpus.first().cloned() else {
        return Err(ndserve_proto::Error::invalid(
            "gpu-bench",
            "device",
            "no CUDA device (see the log line above)",
        ));
    };
    let mut rows = Vec::new();
    let n: usize = if quick { 1 << 24 } else { 1 << 28 };
    let meta = Meta::new(DType::Float32, vec![n]);
    let bytes = n * 4;
    // Inputs are uninitialised device memory: the timings don't depend on the values.
    let fresh = |id: u64| -> Result<()> {
        let buf = dev.alloc("bench", bytes)?;
        let a = crate::backend::cuda::device::DeviceArray {
            meta: meta.clone(),
            buf: Arc::new(buf),
        };
        worker.store(&[id], vec![Stored::Gpu(worker.wrap_gpu(0, a))]);
        Ok(())
    };
    fresh(1)?;
    fresh(2)?;
    let (pa, pb) = (worker.gpu_ptr(1)?, worker.gpu_ptr(2)?);
    let copy = time(&dev, 5, 5, || dev.copy("bench", pb, pa, bytes))?;
    let copy_bw = 2.0 * bytes as f64 / copy;
    rows.push(Row {
        name: "copy_d2d_f32".into(),
        value: copy_bw / 1e9,
        unit: "GB/s",
        ratio: 1.0,
        target: "reference",
    });
    let mut out = 100u64;
    let mut run = |op: &str, inputs: &[u64], m: Meta| {
        out += 1;
        let c = call(op, inputs, out, m);
        let w = &worker;
        let r = futures::executor::block_on(w.run_op(c));
        futures::executor::block_on(w.free(&[out]));
        r.map(|_| ())
    };
    let add = time(&dev, 5, 5, || run("add", &[1, 2], meta.clone()))?;
    let add_bw = 3.0 * bytes as f64 / add;
    rows.push(Row {
        name: format!("add_f32_{n}"),
        value: add_bw / 1e9,
        unit: "GB/s",
        ratio: add_bw / copy_bw,
        target: ">= 0.8",
    });
    let scalar = Meta::new(DType::Float32, vec![]);
    let sum = time(&dev, 5, 5, || run("sum", &[1], scalar.clone()))?;
    let sum_bw = bytes as f64 / sum;
    rows.push(Row {
        name: format!("sum_f32_{n}"),
        value: sum_bw / 1e9,
        unit: "GB/s",
        ratio: sum_bw / copy_bw,
        target: ">= 0.8",
    });
    // Over one axis of a 2-D view of the same data: the leading axis (one thread per
    // output, each warp reading adjacent columns) and the trailing one (a block per row).
    let (wide, tall) = (n >> 16, 1usize << 16);
    for (axis, shape) in [(0i64, vec![wide, tall]), (1, vec![tall, wide])] {
        let m2 = Meta::new(DType::Float32, shape.clone());
        let view = match worker.lookup(1)? {
            Stored::Gpu(g) => g.array.with_meta(m2),
            Stored::Host(_) => {
                return Err(ndserve_proto::Error::internal(
                    "gpu-bench",
                    "input not on the GPU",
                ));
            }
        };
        worker.store(&[6], vec![Stored::Gpu(worker.wrap_gpu(0, view))]);
        let kept = Meta::new(DType::Float32, vec![tall]);
        let t = time(&dev, 5, 5, || {
            let mut c = call("sum", &[6], 93, kept.clone());
            c.attrs = Attrs::new().with("axis", Attr::Int(axis));
            let r = futures::executor::block_on(worker.run_op(c));
            futures::executor::block_on(worker.free(&[93]));
            r.map(|_| ())
        })?;
        worker.free(&[6]).await;
        let bw = bytes as f64 / t;
        rows.push(Row {
            name: format!("sum_axis{axis}_f32_{}x{}", shape[0], shape[1]),
            value: bw / 1e9,
            unit: "GB/s",
            ratio: bw / copy_bw,
            target: "reported",
        });
    }
    // a * b + a: one fused kernel against multiply then add (the coordinator fuses such
    // a chain when the client has released the product).
    let program = crate::fusion::Program {
        nodes: vec![
            crate::fusion::Node {
                op: "multiply",
                args: vec![crate::fusion::Arg::Input(0), crate::fusion::Arg::Input(1)],
            },
            crate::fusion::Node {
                op: "add",
                args: vec![crate::fusion::Arg::Node(0), crate::fusion::Arg::Input(2)],
            },
        ],
    };
    let fused = time(&dev, 5, 5, || {
        let mut c = call(crate::fusion::FUSED_OP, &[1, 2, 1], 90, meta.clone());
        c.attrs = program.to_attrs();
        let r = futures::executor::block_on(worker.run_op(c));
        futures::executor::block_on(worker.free(&[90]));
        r.map(|_| ())
    })?;
    let unfused = time(&dev, 5, 5, || {
        futures::executor::block_on(worker.run_op(call("multiply", &[1, 2], 91, meta.clone())))?;
        let r = futures::executor::block_on(worker.run_op(call("add", &[91, 1], 92, meta.clone())));
        futures::executor::block_on(worker.free(&[91, 92]));
        r.map(|_| ())
    })?;
    rows.push(Row {
        name: format!("fused_muladd_f32_{n}"),
        value: 4.0 * bytes as f64 / fused / 1e9,
        unit: "GB/s",
        ratio: unfused / fused,
        target: ">= 1.4 (x unfused)",
    });
    for size in if quick { vec![1024] } else { vec![4096, 8192] } {
        let m = Meta::new(DType::Float32, vec![size, size]);
        let mb = size * size * 4;
        for id in [3, 4, 5] {
            let buf = dev.alloc("bench", mb)?;
            let a = crate::backend::cuda::device::DeviceArray {
                meta: m.clone(),
                buf: Arc::new(buf),
            };
            worker.store(&[id], vec![Stored::Gpu(worker.wrap_gpu(0, a))]);
        }
        let ours = time(&dev, 3, 3, || run("matmul", &[3, 4], m.clone()))?;
        let (a, b, c) = (worker.gpu_ptr(3)?, worker.gpu_ptr(4)?, worker.gpu_ptr(5)?);
        let direct = time(&dev, 3, 3, || {
            dev.with_blas(|blas| {
                let (alpha, beta) = (1.0f32, 0.0f32);
                let s = size as i32;
                // SAFETY: three live size x size f32 buffers of this device.
                unsafe {
                    cudarc::cublas::result::sgemm(
                        *blas.handle(),
                        cudarc::cublas::sys::cublasOperation_t::CUBLAS_OP_N,
                        cudarc::cublas::sys::cublasOperation_t::CUBLAS_OP_N,
                        s,
                        s,
                        s,
                        &alpha,
                        b as *const f32,
                        s,
                        a as *const f32,
                        s,
                        &beta,
                        c as *mut f32,
                        s,
                    )
                }
            })?
            .map_err(|e| ndserve_proto::Error::internal("gpu-bench", format!("cuBLAS: {e:?}")))
        })?;
        let flops = 2.0 * (size as f64).powi(3);
        rows.push(Row {
            name: format!("matmul_f32_{size}"),
            value: flops / ours / 1e12,
            unit: "TFLOP/s",
            ratio: direct / ours,
            target: ">= 0.95",
        });
        worker.free(&[3, 4, 5]).await;
    }
    transfers_and_sort(&worker, &dev, quick, copy_bw, &mut rows).await?;
    // Dispatch: a 1024-element add through the worker against a bare launch of a kernel.
    let small = Meta::new(DType::Float32, vec![1024]);
    for id in [6, 7] {
        worker
            .put(
                id,
                small.clone(),
                bytes::Bytes::from(vec![0u8; 4096]),
                "cuda:0",
            )
            .await?;
    }
    let ours = time(&dev, 5, 200, || run("add", &[6, 7], small.clone()))?;
    let k = dev
        .kernel(
            "bench|bare",
            &["bare"],
            || "extern \"C\" __global__ void bare(float* o, const float* a, const float* b, unsigned long long n) { unsigned long long i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) o[i] = a[i] + b[i]; }".into(),
        )
        .map_err(|e| ndserve_proto::Error::internal("gpu-bench", e))?;
    let f = k.function("bare")?;
    let (x, y) = (worker.gpu_ptr(6)?, worker.gpu_ptr(7)?);
    let o = dev.alloc("bench", 4096)?;
    let len = 1024u64;
    let bare = time(&dev, 5, 200, || {
        let mut b = dev.stream().launch_builder(f);
        b.arg(&o.ptr).arg(&x).arg(&y).arg(&len);
        // SAFETY: the arguments match `bare`'s parameters; all buffers hold 1024 floats.
        unsafe { b.launch(LaunchConfig::for_num_elems(1024)) }
            .map(|_| ())
            .map_err(|e| crate::backend::cuda::device::driver_error("gpu-bench", e))
    })?;
    rows.push(Row {
        name: "dispatch_small_add".into(),
        value: ours * 1e6,
        unit: "us/op",
        ratio: ours / bare,
        target: "<= 2 (x a bare launch)",
    });
    worker.clear();
    Ok(rows)
}

/// Upload and fetch through the staging buffer against one copy from and to pinned
/// memory, and a radix sort of random float32 values (its bytes per second against the
/// copy bandwidth: how many copies of the array one sort costs).
async fn transfers_and_sort(
    worker: &LocalWorker,
    dev: &Arc<CudaDevice>,
    quick: bool,
    copy_bw: f64,
    rows: &mut Vec<Row>,
) -> Result<()> {
    use cudarc::driver::result;
    let bytes: usize = if quick { 64 << 20 } else { 256 << 20 };
    let n = bytes / 4;
    let meta = Meta::new(DType::Float32, vec![n]);
    // Random floats, so that the sort's digits spread as real data's do.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let host: Vec<u8> = (0..n)
        .flat_map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 40) as f32 / (1u64 << 24) as f32 - 0.5).to_le_bytes()
        })
        .collect();
    let up = time(dev, 3, 1, || {
        dev.upload("bench", meta.clone(), &host).map(|_| ())
    })?;
    let a = dev.upload("bench", meta.clone(), &host)?;
    let down = time(dev, 3, 1, || dev.download("bench", &a).map(|_| ()))?;
    // SAFETY: page-locked host memory, freed below after the stream is synchronized.
    let pinned = unsafe { result::malloc_host(bytes, 0) }
        .map_err(|e| crate::backend::cuda::device::driver_error("gpu-bench", e))?;
    let reference = (|| -> Result<(f64, f64)> {
        // SAFETY: `pinned` holds `bytes` bytes and lives until after the last synchronize.
        let host = unsafe { std::slice::from_raw_parts_mut(pinned.cast::<u8>(), bytes) };
        let cu = dev.stream().cu_stream();
        let err = |e| crate::backend::cuda::device::driver_error("gpu-bench", e);
        // SAFETY: `a` holds `bytes` bytes; each copy is synchronized by `time`.
        let h2d = time(dev, 3, 1, || {
            unsafe { result::memcpy_htod_async(a.ptr(), &*host, cu) }.map_err(err)
        })?;
        // SAFETY: as above.
        let d2h = time(dev, 3, 1, || {
            unsafe { result::memcpy_dtoh_async(&mut *host, a.ptr(), cu) }.map_err(err)
        })?;
        Ok((h2d, d2h))
    })();
    dev.sync("bench")?;
    // SAFETY: allocated above by malloc_host; no copy uses it any more.
    unsafe {
        let _ = result::free_host(pinned);
    }
    let (h2d, d2h) = reference?;
    let gb = |t: f64| bytes as f64 / t / 1e9;
    for (name, ours, pinned) in [("upload", up, h2d), ("fetch", down, d2h)] {
        rows.push(Row {
            name: format!("{name}_{}MiB", bytes >> 20),
            value: gb(ours),
            unit: "GB/s",
            ratio: pinned / ours,
            target: "reported (of a pinned copy)",
        });
    }
    worker.store(&[8], vec![Stored::Gpu(worker.wrap_gpu(0, a))]);
    let mut out = 200u64;
    let sort = time(dev, 3, 1, || {
        out += 1;
        let c = call("sort", &[8], out, meta.clone());
        let r = futures::executor::block_on(worker.run_op(c));
        futures::executor::block_on(worker.free(&[out]));
        r.map(|_| ())
    })?;
    rows.push(Row {
        name: format!("sort_f32_{n}"),
        value: n as f64 / sort / 1e6,
        unit: "Mkeys/s",
        ratio: bytes as f64 / sort / copy_bw,
        target: "reported (of the copy bandwidth)",
    });
    worker.free(&[8]).await;
    Ok(())
}

/// The rows as a table.
pub fn table(rows: &[Row]) -> String {
    let mut s = format!(
        "{:<26} {:>12} {:<8} {:>8}  {}\n",
        "BENCH", "VALUE", "UNIT", "RATIO", "TARGET"
    );
    for r in rows {
        s.push_str(&format!(
            "{:<26} {:>12.3} {:<8} {:>8.3}  {}\n",
            r.name, r.value, r.unit, r.ratio, r.target
        ));
    }
    s
}
