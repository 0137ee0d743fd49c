//! The native ops that move elements to new places: `take` (a gather) and
//! `sort`/`argsort`/`partition`/`argpartition` (a radix sort of every lane; the CPU's
//! partitions are full sorts too). Their kernels' sources are [`super::gather`] and
//! [`super::radix`].

use std::sync::Arc;

use cudarc::driver::PushKernelArg;
use ndserve_proto::ops::Call;
use ndserve_proto::ops::index::take_plan;
use ndserve_proto::ops::stats::{StatKind, stats_plan};
use ndserve_proto::{DType, Meta, Result};

use super::device::{CudaDevice, DeviceArray, driver_error};
use super::gather::{MODE_RAISE, TakeKernel, take_extents};
use super::ops::{GpuInput, alloc_out, array, grid, launch_cfg, scan_lanes};
use super::radix::{SCAN_THREADS, SortKernel, TILE, key_bits, passes};

/// `take` along an axis or of the flattened array, in any mode. In raise mode an index
/// out of range answers `None` after the gather (a four-byte flag comes back), and the
/// CPU kernel, run by the caller, answers NumPy's error naming the index.
pub(super) fn take(
    dev: &Arc<CudaDevice>,
    call: &Call<'_>,
    inputs: &[GpuInput],
    out: &Meta,
) -> Option<Result<DeviceArray>> {
    let a = array(inputs.first()?)?;
    let plan = native_try!(take_plan(call));
    let (indices, scalar, index) = match inputs.get(1)? {
        GpuInput::Array(i) => (i.ptr(), 0i64, i.meta.dtype),
        GpuInput::Scalar(s) => (0u64, i64::try_from(s.as_int()?).ok()?, DType::Int64),
    };
    let axis = (!plan.flatten).then_some(plan.axis);
    let (outer, n, post) = take_extents(&a.meta.shape, axis);
    let total = out.numel() as u64;
    if total == 0 {
        return Some(alloc_out(dev, call.op, out));
    }
    let m = (total as usize / outer.max(1) / post.max(1)) as i64;
    let k = TakeKernel {
        value_bytes: a.meta.dtype.itemsize(),
        index,
    };
    let kernel = dev.kernel(&k.key(), &["nd_take"], || k.source()).ok()?;
    let op = call.op;
    let run = || -> Result<Option<DeviceArray>> {
        let dst = alloc_out(dev, op, out)?;
        let bad = if plan.mode == MODE_RAISE {
            Some(dev.upload(op, Meta::new(DType::UInt32, vec![1]), &[0; 4])?)
        } else {
            None
        };
        dev.bind()?;
        let stream = dev.stream();
        let (src, dst_ptr) = (a.ptr(), dst.ptr());
        let bad_ptr = bad.as_ref().map_or(0, DeviceArray::ptr);
        let (n, post, mode) = (n as i64, post as i64, i32::from(plan.mode));
        let mut b = stream.launch_builder(kernel.function("nd_take")?);
        b.arg(&src).arg(&indices).arg(&scalar).arg(&dst_ptr);
        b.arg(&m)
            .arg(&n)
            .arg(&post)
            .arg(&mode)
            .arg(&bad_ptr)
            .arg(&total);
        // SAFETY: the arguments match nd_take's; `src` holds `outer * n * post` values,
        // `indices` (when not null) `m` indices, `dst` `total` values, and `bad` (read
        // only in raise mode, where it is live) four bytes. Wrap and clip modes read only
        // inside the axis (n > 0 whenever total > 0: the plan refuses a non-empty take
        // from an empty axis).
        unsafe { b.launch(launch_cfg(grid(dev, total))) }.map_err(|e| driver_error(op, e))?;
        if let Some(bad) = bad
            && dev.download(op, &bad)?.iter().any(|&b| b != 0)
        {
            return Ok(None);
        }
        Ok(Some(dst))
    };
    run().transpose()
}

/// `sort`, `argsort` and the partitions (full sorts) along an axis or of the flattened
/// array, for bool, integers and real floats of up to 2^32 elements.
pub(super) fn sort(
    dev: &Arc<CudaDevice>,
    call: &Call<'_>,
    inputs: &[GpuInput],
    out: &Meta,
) -> Option<Result<DeviceArray>> {
    let a = array(inputs.first()?)?;
    let plan = native_try!(stats_plan(call));
    let arg = plan.kind == StatKind::ArgSort;
    let n = a.meta.numel();
    let bits = key_bits(a.meta.dtype)?;
    if n == 0 || n > u32::MAX as usize {
        return None;
    }
    let k = SortKernel {
        dtype: a.meta.dtype,
    };
    let src = k.source()?;
    let kernel = dev.kernel(&k.key(), &SortKernel::ENTRIES, || src).ok()?;
    let axis = (!plan.flatten)
        .then(|| plan.axes.first().copied())
        .flatten();
    let (lanes, len, inner) = scan_lanes(&a.meta.shape, axis);
    let with_pos = arg || lanes > 1;
    let key_dtype = if bits == 64 {
        DType::UInt64
    } else {
        DType::UInt32
    };
    let tiles = n.div_ceil(TILE);
    let op = call.op;
    let run = || -> Result<DeviceArray> {
        let scratch = |d: DType, count: usize| alloc_out(dev, op, &Meta::new(d, vec![count]));
        let keys = [scratch(key_dtype, n)?, scratch(key_dtype, n)?];
        let pos = if with_pos {
            Some([scratch(DType::UInt32, n)?, scratch(DType::UInt32, n)?])
        } else {
            None
        };
        let counts = scratch(DType::UInt32, 256 * tiles)?;
        let dst = alloc_out(dev, op, out)?;
        dev.bind()?;
        let stream = dev.stream();
        let pos_ptr = |i: usize| pos.as_ref().map_or(0, |p| p[i].ptr());
        let (n64, len64, inner64) = (n as u64, len as i64, inner as i64);
        let (counts_ptr, tiles32, m) = (counts.ptr(), tiles as u32, (256 * tiles) as u64);
        let launch = |b: &mut cudarc::driver::LaunchArgs<'_>, blocks: u32, threads: u32| {
            let cfg = cudarc::driver::LaunchConfig {
                grid_dim: (blocks, 1, 1),
                block_dim: (threads, 1, 1),
                shared_mem_bytes: 0,
            };
            // SAFETY: every launch below passes the arguments of its entry point in
            // order: `keys` and `pos` hold `n` elements each (`pos` null when unused,
            // and then never read), `counts` 256 per tile, `dst` the output's `n`
            // elements; the stream orders each pass after the one that wrote its input.
            unsafe { b.launch(cfg) }
                .map(|_| ())
                .map_err(|e| driver_error(op, e))
        };
        let (x, canon) = (a.ptr(), i32::from(arg));
        let (k0, p0) = (keys[0].ptr(), pos_ptr(0));
        let mut b = stream.launch_builder(kernel.function("nd_sort_init")?);
        b.arg(&x)
            .arg(&k0)
            .arg(&p0)
            .arg(&n64)
            .arg(&len64)
            .arg(&inner64)
            .arg(&canon);
        launch(&mut b, grid(dev, n64), super::codegen::BLOCK)?;
        let mut cur = 0;
        for pass in passes(bits, lanes) {
            let (kin, kout) = (keys[cur].ptr(), keys[1 - cur].ptr());
            let (pin, pout) = (pos_ptr(cur), pos_ptr(1 - cur));
            let (shift, lane) = (pass.shift, i32::from(pass.lane));
            let mut b = stream.launch_builder(kernel.function("nd_sort_hist")?);
            b.arg(&kin)
                .arg(&pin)
                .arg(&n64)
                .arg(&shift)
                .arg(&lane)
                .arg(&len64);
            b.arg(&counts_ptr).arg(&tiles32);
            launch(&mut b, tiles32, 256)?;
            let mut b = stream.launch_builder(kernel.function("nd_sort_scan")?);
            b.arg(&counts_ptr).arg(&m);
            launch(&mut b, 1, SCAN_THREADS)?;
            let mut b = stream.launch_builder(kernel.function("nd_sort_scatter")?);
            b.arg(&kin)
                .arg(&pin)
                .arg(&kout)
                .arg(&pout)
                .arg(&n64)
                .arg(&shift);
            b.arg(&lane).arg(&len64).arg(&counts_ptr).arg(&tiles32);
            launch(&mut b, tiles32, 256)?;
            cur = 1 - cur;
        }
        let d = dst.ptr();
        let (entry, from) = if arg {
            ("nd_sort_idx", pos_ptr(cur))
        } else {
            ("nd_sort_vals", keys[cur].ptr())
        };
        let mut b = stream.launch_builder(kernel.function(entry)?);
        b.arg(&from);
        b.arg(&d).arg(&n64).arg(&len64).arg(&inner64);
        launch(&mut b, grid(dev, n64), super::codegen::BLOCK)?;
        // The scratch buffers go back to the pool; any reuse is queued after these
        // launches on the same stream.
        Ok(dst)
    };
    Some(run())
}
