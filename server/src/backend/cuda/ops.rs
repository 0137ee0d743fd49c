//! The ops that run natively on a CUDA device: every elementwise row (from its `cuda`
//! expression), `astype`, three-argument `where`, the reshapes (no copy), `transpose`,
//! `broadcast_to`, basic `getitem` (a strided copy), `concatenate`/`stack` (a copy per
//! input), `cumsum`/`cumprod` (chunked scans), `var`/`std` (composed of those), the
//! reductions (`sum`, `prod`, `mean`, `max`, `min`, `all`, `any`, `argmax`, `argmin`),
//! `clip` (composed of `maximum` and `minimum`), `matmul` and the `dot` of 1-D and 2-D
//! operands through cuBLAS, and `take` and the sorts ([`super::reorder`]). [`run`]
//! answers `None` for anything else (or a layout these kernels don't index), and the
//! worker then runs the CPU kernel on copies.

use std::sync::Arc;

use cudarc::driver::{DeviceRepr, LaunchConfig, PushKernelArg};
use ndserve_proto::attrs::{Attr, IndexItem};
use ndserve_proto::ops::index::AxisSel;
use ndserve_proto::ops::reduce::{self, ReduceKind};
use ndserve_proto::ops::shape_ops::{ConcatPlan, concat_plan};
use ndserve_proto::ops::{Call, Input, elementwise};
use ndserve_proto::{Attrs, DType, Error, Meta, Result, Scalar};

use super::codegen::{
    BLOCK, FusedArg, FusedKernel, FusedNode, MAX_RANK, MapInput, MapKernel, Operand, ReduceKernel,
    ScanKernel, broadcast_strides, c_strides, collapse,
};
use super::device::{CudaDevice, DeviceArray, Kernel, driver_error};
use crate::backend::cpu;

/// One input of a GPU op.
#[derive(Clone)]
pub enum GpuInput {
    /// An array on the op's device.
    Array(DeviceArray),
    /// A Python scalar.
    Scalar(Scalar),
}

/// A 16-byte kernel argument holding a scalar's bits (the prelude's `Sc`).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Sc {
    w: [u64; 2],
}
// SAFETY: plain old data with the layout of the prelude's `struct Sc`.
unsafe impl DeviceRepr for Sc {}

/// The map kernels' geometry (the prelude's `Geo`).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Geo {
    off: [i64; 3],
    shape: [i64; MAX_RANK],
    st: [[i64; MAX_RANK]; 3],
    rank: i32,
    pad: i32,
}
// SAFETY: plain old data with the layout of the prelude's `struct Geo`.
unsafe impl DeviceRepr for Geo {}

/// The reductions' geometry (the prelude's `RGeo`).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct RGeo {
    kshape: [i64; MAX_RANK],
    kst: [i64; MAX_RANK],
    rshape: [i64; MAX_RANK],
    rst: [i64; MAX_RANK],
    krank: i32,
    rrank: i32,
}
// SAFETY: plain old data with the layout of the prelude's `struct RGeo`.
unsafe impl DeviceRepr for RGeo {}

/// Runs `op` natively on `dev`, or answers `None` when it has no GPU kernel for this call.
pub fn run(
    dev: &Arc<CudaDevice>,
    op: &str,
    inputs: &[GpuInput],
    attrs: &Attrs,
    outs: &[Meta],
) -> Option<Result<Vec<DeviceArray>>> {
    let metas = input_metas(inputs);
    let call = Call {
        op,
        inputs: &metas,
        attrs,
    };
    // The arms below are `super::NATIVE_OPS` (plus the elementwise rows and reductions).
    let one = |r: Option<Result<DeviceArray>>| r.map(|r| r.map(|a| vec![a]));
    if outs.len() != 1 {
        return None;
    }
    let out = &outs[0];
    if let Some(row) = elementwise::row(op) {
        return one(elementwise_op(dev, &call, row, inputs, out));
    }
    match op {
        "astype" => one(astype(dev, inputs, out)),
        "where" if inputs.len() == 3 => one(where3(dev, inputs, out)),
        "reshape" | "ravel" | "flatten" | "expand_dims" | "squeeze" | "copy" => {
            one(reshape(&call, inputs, out))
        }
        "transpose" => one(transpose(dev, &call, inputs, out)),
        "getitem" => one(getitem(dev, &call, inputs, out)),
        "var" | "std" => one(moment(dev, &call, inputs, out)),
        "broadcast_to" => one(broadcast_to(dev, inputs, out)),
        "concatenate" | "stack" => one(concatenate(dev, &call, inputs, out)),
        "cumsum" | "cumprod" => one(cumulative(dev, &call, inputs, out)),
        "take" => one(super::reorder::take(dev, &call, inputs, out)),
        "sort" | "argsort" | "partition" | "argpartition" => {
            one(super::reorder::sort(dev, &call, inputs, out))
        }
        "matmul" => one(matmul(dev, inputs, out)),
        // dot of 1-D and 2-D operands is their matmul.
        "dot"
            if inputs
                .iter()
                .all(|i| array(i).is_some_and(|a| (1..=2).contains(&a.meta.shape.len()))) =>
        {
            one(matmul(dev, inputs, out))
        }
        "clip" => one(clip(dev, &call, inputs, out)),
        crate::fusion::FUSED_OP => one(fused(dev, inputs, attrs, out)),
        _ if reduce::REDUCTIONS.iter().any(|r| r.0 == op) => {
            one(reduction(dev, &call, inputs, out))
        }
        _ => None,
    }
}

/// The contract's view of the inputs.
fn input_metas(inputs: &[GpuInput]) -> Vec<Input> {
    inputs
        .iter()
        .map(|i| match i {
            GpuInput::Array(a) => Input::Array(a.meta.clone()),
            GpuInput::Scalar(s) => Input::Scalar(*s),
        })
        .collect()
}

pub(super) fn array(i: &GpuInput) -> Option<&DeviceArray> {
    match i {
        GpuInput::Array(a) => Some(a),
        GpuInput::Scalar(_) => None,
    }
}

pub(super) fn alloc_out(dev: &Arc<CudaDevice>, op: &str, out: &Meta) -> Result<DeviceArray> {
    let buf = dev.alloc(op, out.nbytes() as usize)?;
    Ok(DeviceArray {
        meta: out.clone(),
        buf: Arc::new(buf),
    })
}

/// A scalar in `dtype`, as the CPU kernel casts it, packed into 16 bytes.
fn scalar_bits(s: &Scalar, dtype: DType) -> Sc {
    let bytes = cpu::cast::scalar_array(s, dtype).to_le_bytes();
    let mut b = [0u8; 16];
    b[..bytes.len()].copy_from_slice(&bytes);
    Sc {
        w: [
            u64::from_le_bytes(b[..8].try_into().expect("8 bytes")),
            u64::from_le_bytes(b[8..].try_into().expect("8 bytes")),
        ],
    }
}

/// How a map kernel reads each input, the geometry, and the scalars.
struct MapPlan {
    inputs: Vec<MapInput>,
    ptrs: [u64; 3],
    scalars: [Sc; 3],
    geo: Geo,
}

/// Plans a map over `inputs` (variables `vars`, cast first to `computes`), broadcast to
/// `out`; each array input is read with `strides` (None: broadcast C-order strides).
/// `None` when the merged geometry has more than [`MAX_RANK`] dimensions.
fn map_plan(
    inputs: &[GpuInput],
    vars: &[&'static str],
    computes: &[DType],
    out: &Meta,
    views: &[Option<(i64, Vec<i64>)>],
) -> Option<MapPlan> {
    let mut plan = MapPlan {
        inputs: Vec::new(),
        ptrs: [0; 3],
        scalars: [Sc::default(); 3],
        geo: Geo::default(),
    };
    let mut strided: Vec<(usize, i64, Vec<i64>)> = Vec::new();
    for (k, i) in inputs.iter().enumerate() {
        let operand = match i {
            GpuInput::Scalar(s) => {
                plan.scalars[k] = scalar_bits(s, computes[k]);
                Operand::Scalar
            }
            GpuInput::Array(a) => {
                plan.ptrs[k] = a.ptr();
                match views.get(k).cloned().flatten() {
                    Some((off, st)) => {
                        strided.push((k, off, st));
                        Operand::Strided
                    }
                    None if a.meta.shape == out.shape => Operand::Contig,
                    None => {
                        strided.push((k, 0, broadcast_strides(&a.meta.shape, &out.shape)));
                        Operand::Strided
                    }
                }
            }
        };
        plan.inputs.push(MapInput {
            var: vars[k],
            dtype: match i {
                GpuInput::Scalar(_) => computes[k],
                GpuInput::Array(a) => a.meta.dtype,
            },
            compute: computes[k],
            operand,
        });
    }
    if !strided.is_empty() {
        let lists: Vec<Vec<i64>> = strided.iter().map(|s| s.2.clone()).collect();
        let (shape, sts) = collapse(&out.shape, &lists);
        if shape.len() > MAX_RANK {
            return None;
        }
        plan.geo.rank = shape.len() as i32;
        plan.geo.shape[..shape.len()].copy_from_slice(&shape);
        for ((k, off, _), st) in strided.iter().zip(&sts) {
            plan.geo.off[*k] = *off;
            plan.geo.st[*k][..st.len()].copy_from_slice(st);
        }
    }
    Some(plan)
}

/// `blocks` blocks of [`BLOCK`] threads.
pub(super) fn launch_cfg(blocks: u32) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (blocks, 1, 1),
        block_dim: (BLOCK, 1, 1),
        shared_mem_bytes: 0,
    }
}

pub(super) fn grid(dev: &CudaDevice, n: u64) -> u32 {
    let blocks = n.div_ceil(BLOCK as u64).max(1);
    blocks.min(dev.sms as u64 * 32) as u32
}

/// Compiles (once) and launches a map kernel into a new output.
fn launch_map(
    dev: &Arc<CudaDevice>,
    op: &str,
    expr: &'static str,
    compute: DType,
    plan: MapPlan,
    out: &Meta,
) -> Option<Result<DeviceArray>> {
    let k = MapKernel {
        expr,
        compute,
        inputs: plan.inputs.clone(),
        out: out.dtype,
        out_strided: false,
    };
    let kernel = dev.kernel(&k.key(), &["nd_map"], || k.source()).ok()?;
    Some(alloc_out(dev, op, out).and_then(|dst| {
        run_map(dev, op, &kernel, &plan, dst.ptr(), out.numel() as u64)?;
        Ok(dst)
    }))
}

/// Launches a compiled map kernel over `n` elements, writing through `dst`.
fn run_map(
    dev: &CudaDevice,
    op: &str,
    kernel: &Kernel,
    plan: &MapPlan,
    dst: u64,
    n: u64,
) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    dev.bind()?;
    let f = kernel.function("nd_map")?;
    let stream = dev.stream();
    let mut b = stream.launch_builder(f);
    for k in 0..3 {
        b.arg(&plan.ptrs[k]);
        b.arg(&plan.scalars[k]);
    }
    b.arg(&dst);
    b.arg(&plan.geo);
    b.arg(&n);
    let cfg = launch_cfg(grid(dev, n));
    // SAFETY: the arguments match nd_map's parameters (three pointer/scalar pairs, the
    // output, the geometry, the length); every pointer is a live buffer of this device
    // holding the elements the geometry addresses (the output: `n` elements, or those its
    // strided view addresses), and the stream orders the launch after the writes of its
    // inputs.
    unsafe { b.launch(cfg) }.map_err(|e| driver_error(op, e))?;
    Ok(())
}

fn elementwise_op(
    dev: &Arc<CudaDevice>,
    call: &Call<'_>,
    row: &elementwise::Row,
    inputs: &[GpuInput],
    out: &Meta,
) -> Option<Result<DeviceArray>> {
    let expr = row.cuda?;
    let plan = native_try!(elementwise::plan(call));
    // Integer powers raise for negative exponents: the CPU kernel checks.
    if call.op == "power" && !plan.compute.is_inexact() {
        return None;
    }
    let vars: &[&'static str] = if inputs.len() == 1 {
        &["x"]
    } else {
        &["a", "b"]
    };
    let computes = vec![plan.compute; inputs.len()];
    let mp = map_plan(inputs, vars, &computes, out, &[])?;
    launch_map(dev, call.op, expr, plan.compute, mp, out)
}

/// `clip` as the CPU kernel computes it: `maximum(a, a_min)`, then `minimum(.., a_max)`,
/// each an elementwise kernel, with integer Python-scalar bounds first clamped to `a`'s
/// range, then a cast to the result dtype. A bfloat16 operand (which NumPy clips in
/// float32) runs on the CPU.
fn clip(
    dev: &Arc<CudaDevice>,
    call: &Call<'_>,
    inputs: &[GpuInput],
    out: &Meta,
) -> Option<Result<DeviceArray>> {
    let a = array(inputs.first()?)?;
    if inputs.len() != 3
        || inputs
            .iter()
            .any(|i| array(i).is_some_and(|x| x.meta.dtype == DType::BFloat16))
    {
        return None;
    }
    let bound = |i: &GpuInput| match i {
        GpuInput::Scalar(s) => {
            GpuInput::Scalar(ndserve_proto::ops::math::clip_bound(a.meta.dtype, *s))
        }
        other => other.clone(),
    };
    let step = |op: &'static str, ins: [GpuInput; 2]| -> Option<Result<DeviceArray>> {
        let metas = input_metas(&ins);
        let sub = Call {
            op,
            inputs: &metas,
            attrs: call.attrs,
        };
        let m = native_try!(
            ndserve_proto::ops::infer(op, &metas, call.attrs).map_err(|e| e.with_op(call.op))
        );
        elementwise_op(dev, &sub, elementwise::row(op)?, &ins, m.first()?)
    };
    let lo = native_try!(step("maximum", [bound(&inputs[0]), bound(&inputs[1])])?);
    let r = native_try!(step("minimum", [GpuInput::Array(lo), bound(&inputs[2])])?);
    if r.meta == *out {
        return Some(Ok(r));
    }
    astype(dev, &[GpuInput::Array(r)], out)
}

fn astype(dev: &Arc<CudaDevice>, inputs: &[GpuInput], out: &Meta) -> Option<Result<DeviceArray>> {
    let a = array(inputs.first()?)?;
    if a.meta.dtype == out.dtype && a.meta.shape == out.shape {
        return Some(Ok(a.with_meta(out.clone())));
    }
    if a.meta.shape != out.shape {
        return None;
    }
    let mp = map_plan(inputs, &["x"], &[out.dtype], out, &[])?;
    launch_map(dev, "astype", "x", out.dtype, mp, out)
}

fn where3(dev: &Arc<CudaDevice>, inputs: &[GpuInput], out: &Meta) -> Option<Result<DeviceArray>> {
    let computes = [DType::Bool, out.dtype, out.dtype];
    let mp = map_plan(inputs, &["c", "x", "y"], &computes, out, &[])?;
    launch_map(dev, "where", "c ? x : y", out.dtype, mp, out)
}

/// Reshapes of C-order data are the same buffer under a new meta.
fn reshape(call: &Call<'_>, inputs: &[GpuInput], out: &Meta) -> Option<Result<DeviceArray>> {
    let a = array(inputs.first()?)?;
    if call.op != "copy"
        && call
            .attrs
            .str(call.op, "order")
            .ok()
            .flatten()
            .is_some_and(|o| o != "C")
    {
        return None;
    }
    if a.meta.numel() != out.numel() || a.meta.dtype != out.dtype {
        return None;
    }
    Some(Ok(a.with_meta(out.clone())))
}

fn transpose(
    dev: &Arc<CudaDevice>,
    call: &Call<'_>,
    inputs: &[GpuInput],
    out: &Meta,
) -> Option<Result<DeviceArray>> {
    let a = array(inputs.first()?)?;
    let perm = native_try!(ndserve_proto::ops::shape_ops::transpose_perm(call));
    let st = c_strides(&a.meta.shape);
    let view = perm.iter().map(|&p| st[p]).collect();
    let mp = map_plan(inputs, &["x"], &[a.meta.dtype], out, &[Some((0, view))])?;
    launch_map(dev, "transpose", "x", a.meta.dtype, mp, out)
}

/// `op` on device arrays through [`run`], its output as `infer` gives it; `None` when
/// a step has no GPU kernel.
fn step(
    dev: &Arc<CudaDevice>,
    op: &str,
    inputs: &[GpuInput],
    attrs: &Attrs,
) -> Option<Result<GpuInput>> {
    let outs = native_try!(ndserve_proto::ops::infer(op, &input_metas(inputs), attrs));
    let r = run(dev, op, inputs, attrs, &outs)?;
    Some(r.map(|mut v| GpuInput::Array(v.remove(0))))
}

/// `var` and `std` as NumPy computes them, in float64 (complex128 for complex input) as
/// the CPU kernel does: the mean over the axes (kept), the squared distances to it, their
/// sum, divided by `max(n - ddof, 0)`; then the square root for `std` and the result's
/// dtype. Every step is a GPU kernel of this module.
fn moment(
    dev: &Arc<CudaDevice>,
    call: &Call<'_>,
    inputs: &[GpuInput],
    out: &Meta,
) -> Option<Result<DeviceArray>> {
    let a = array(inputs.first()?)?;
    let plan = native_try!(ndserve_proto::ops::stats::stats_plan(call));
    // No axes (a 0-d input) or no elements: the CPU's answer, without empty reductions.
    if plan.axes.is_empty() || a.meta.numel() == 0 {
        return None;
    }
    let complex = a.meta.dtype.is_complex();
    let wide = if complex {
        DType::Complex128
    } else {
        DType::Float64
    };
    let keepdims = call.attrs.bool_or(call.op, "keepdims", false).ok()?;
    let axes = Attr::Ints(plan.axes.iter().map(|&x| x as i64).collect());
    let none = Attrs::new();
    let over = |keep: bool| {
        Attrs::new()
            .with("axis", axes.clone())
            .with("keepdims", Attr::Bool(keep))
    };
    let to = |d: DType| Attrs::new().with("dtype", Attr::DType(d));
    let n: usize = plan.axes.iter().map(|&x| a.meta.shape[x]).product();
    let denom = (n as f64 - plan.n as f64).max(0.0);
    let r = (|| -> Option<Result<GpuInput>> {
        macro_rules! go {
            ($op:expr, $inputs:expr, $attrs:expr) => {
                native_try!(step(dev, $op, $inputs, $attrs)?)
            };
        }
        let x = go!("astype", &[inputs[0].clone()], &to(wide));
        let m = go!("mean", std::slice::from_ref(&x), &over(true));
        let d = go!("subtract", &[x, m], &none);
        let q = if complex {
            let r = go!("abs", &[d], &none);
            go!("square", &[r], &none)
        } else {
            go!("square", &[d], &none)
        };
        let s = go!("sum", &[q], &over(keepdims));
        let mut v = go!(
            "divide",
            &[s, GpuInput::Scalar(Scalar::Float(denom))],
            &none
        );
        if call.op == "std" {
            v = go!("sqrt", &[v], &none);
        }
        Some(Ok(go!("astype", &[v], &to(out.dtype))))
    })()?;
    Some(r.and_then(|v| match v {
        GpuInput::Array(a) if a.meta == *out => Ok(a),
        _ => Err(Error::internal(
            call.op,
            "the GPU steps gave another result",
        )),
    }))
}

/// Basic indexing (ints, slices with any step, newaxis, ellipsis) reads a strided view of
/// the source: one copy kernel. Index arrays and masks run on the CPU.
fn getitem(
    dev: &Arc<CudaDevice>,
    call: &Call<'_>,
    inputs: &[GpuInput],
    out: &Meta,
) -> Option<Result<DeviceArray>> {
    let a = array(inputs.first()?)?;
    let key = call.attrs.index(call.op, "key").ok()?;
    if inputs.len() != 1 || key.iter().any(|k| matches!(k, IndexItem::Array(_))) {
        return None;
    }
    let plan = native_try!(ndserve_proto::ops::index::plan(call));
    let (off, view) = basic_view(&a.meta.shape, &plan.sels);
    if view.len() != out.shape.len() {
        return None;
    }
    let mp = map_plan(inputs, &["x"], &[a.meta.dtype], out, &[Some((off, view))])?;
    launch_map(dev, "getitem", "x", a.meta.dtype, mp, out)
}

/// The element offset and the strides (one per result axis) of a basic index into a
/// C-order array of `shape`.
fn basic_view(shape: &[usize], sels: &[AxisSel]) -> (i64, Vec<i64>) {
    let st = c_strides(shape);
    let mut off = 0i64;
    let mut view = Vec::with_capacity(sels.len());
    for s in sels {
        match *s {
            AxisSel::Index { axis, pos } => off += pos as i64 * st[axis],
            AxisSel::Range {
                axis, start, step, ..
            } => {
                off += start as i64 * st[axis];
                view.push(step as i64 * st[axis]);
            }
            AxisSel::NewAxis => view.push(0),
        }
    }
    (off, view)
}

fn broadcast_to(
    dev: &Arc<CudaDevice>,
    inputs: &[GpuInput],
    out: &Meta,
) -> Option<Result<DeviceArray>> {
    let a = array(inputs.first()?)?;
    let mp = map_plan(&inputs[..1], &["x"], &[a.meta.dtype], out, &[])?;
    launch_map(dev, "broadcast_to", "x", a.meta.dtype, mp, out)
}

/// Where one input of a concatenation lands: its shape as joined (flattened, or with
/// the stacked axis), and the output's element offset and strides over that shape.
#[derive(Debug, PartialEq)]
struct Slab {
    shape: Vec<usize>,
    off: i64,
    dst_st: Vec<i64>,
}

/// The slabs of inputs of `shapes` in the result of `plan`, in order along its axis.
fn concat_slabs(plan: &ConcatPlan, shapes: &[Vec<usize>]) -> Vec<Slab> {
    let out_st = c_strides(&plan.out.shape);
    let mut pos = 0;
    shapes
        .iter()
        .map(|s| {
            let mut shape = s.clone();
            if plan.flatten {
                shape = vec![s.iter().product()];
            } else if plan.new_axis {
                shape.insert(plan.axis, 1);
            }
            let slab = Slab {
                off: pos as i64 * out_st[plan.axis],
                dst_st: out_st.clone(),
                shape,
            };
            pos += slab.shape[plan.axis];
            slab
        })
        .collect()
}

/// `concatenate` and `stack`: each input is cast to the result's dtype (as `astype`)
/// and copied into its slab of the result, one copy kernel per input.
fn concatenate(
    dev: &Arc<CudaDevice>,
    call: &Call<'_>,
    inputs: &[GpuInput],
    out: &Meta,
) -> Option<Result<DeviceArray>> {
    let plan = native_try!(concat_plan(call));
    let arrays: Vec<&DeviceArray> = inputs.iter().map(array).collect::<Option<_>>()?;
    let shapes: Vec<Vec<usize>> = arrays.iter().map(|a| a.meta.shape.clone()).collect();
    let mut copies = Vec::with_capacity(arrays.len());
    for (a, slab) in arrays.iter().zip(concat_slabs(&plan, &shapes)) {
        if a.meta.numel() == 0 {
            continue;
        }
        let (shape, sts) = collapse(&slab.shape, &[c_strides(&slab.shape), slab.dst_st]);
        if shape.len() > MAX_RANK {
            return None;
        }
        let k = MapKernel {
            expr: "x",
            compute: out.dtype,
            inputs: vec![MapInput {
                var: "x",
                dtype: a.meta.dtype,
                compute: out.dtype,
                operand: Operand::Strided,
            }],
            out: out.dtype,
            out_strided: true,
        };
        let kernel = dev.kernel(&k.key(), &["nd_map"], || k.source()).ok()?;
        let mut plan = MapPlan {
            inputs: k.inputs,
            ptrs: [a.ptr(), 0, 0],
            scalars: [Sc::default(); 3],
            geo: Geo {
                rank: shape.len() as i32,
                ..Geo::default()
            },
        };
        plan.geo.shape[..shape.len()].copy_from_slice(&shape);
        plan.geo.st[0][..shape.len()].copy_from_slice(&sts[0]);
        plan.geo.st[2][..shape.len()].copy_from_slice(&sts[1]);
        plan.geo.off[2] = slab.off;
        copies.push((kernel, plan, a.meta.numel() as u64));
    }
    Some(alloc_out(dev, call.op, out).and_then(|dst| {
        for (kernel, plan, n) in &copies {
            run_map(dev, call.op, kernel, plan, dst.ptr(), *n)?;
        }
        Ok(dst)
    }))
}

/// The lanes of a cumulative op over `axis` (None: the flattened array) of a C-order
/// array of `shape`: (lanes, length, distance between a lane's elements).
pub(super) fn scan_lanes(shape: &[usize], axis: Option<usize>) -> (usize, usize, usize) {
    match axis {
        None => (1, shape.iter().product(), 1),
        Some(ax) => {
            let outer: usize = shape[..ax].iter().product();
            let inner: usize = shape[ax + 1..].iter().product();
            (outer * inner, shape[ax], inner)
        }
    }
}

/// How lanes of `len` elements are cut for a device of `sms` multiprocessors: (chunk
/// length, chunks per lane). Few long lanes are cut so that about `sms * 1024` threads
/// work; many lanes run one thread each.
fn scan_chunks(lanes: usize, len: usize, sms: usize) -> (usize, usize) {
    let want = (sms * 1024).div_ceil(lanes.max(1));
    let chunks = want.clamp(1, len.div_ceil(64).max(1));
    let chunk = len.div_ceil(chunks).max(1);
    (chunk, len.div_ceil(chunk).max(1))
}

/// `cumsum` and `cumprod` along an axis (or of the flattened array): each lane is cut
/// into chunks; the chunks' totals are scanned per lane, then every chunk is scanned from
/// its carry. Each step is the `add` (`multiply`) row's expression in the plan's dtype,
/// as the CPU kernel steps; floating results differ from its sequential sums only by the
/// order of the additions.
fn cumulative(
    dev: &Arc<CudaDevice>,
    call: &Call<'_>,
    inputs: &[GpuInput],
    out: &Meta,
) -> Option<Result<DeviceArray>> {
    let a = array(inputs.first()?)?;
    let plan = native_try!(ndserve_proto::ops::stats::stats_plan(call));
    if a.meta.numel() == 0 || out.dtype != plan.compute {
        return None;
    }
    let step = if call.op == "cumprod" {
        "multiply"
    } else {
        "add"
    };
    let k = ScanKernel {
        expr: elementwise::row(step)?.cuda?,
        input: a.meta.dtype,
        compute: plan.compute,
    };
    let axis = (!plan.flatten)
        .then(|| plan.axes.first().copied())
        .flatten();
    let (lanes, len, inner) = scan_lanes(&a.meta.shape, axis);
    let (chunk, chunks) = scan_chunks(lanes, len, dev.sms as usize);
    let threads = (lanes * chunks) as u64;
    let entries = ["nd_scan_part", "nd_scan_carry", "nd_scan_out"];
    let kernel = dev.kernel(&k.key(), &entries, || k.source()).ok()?;
    let [lanes, len, inner, chunk, chunks] = [lanes, len, inner, chunk, chunks].map(|v| v as i64);
    Some((|| {
        let dst = alloc_out(dev, call.op, out)?;
        let part = if chunks > 1 {
            Some(alloc_out(
                dev,
                call.op,
                &Meta::new(plan.compute, vec![threads as usize]),
            )?)
        } else {
            None
        };
        dev.bind()?;
        let stream = dev.stream();
        let parts = part.as_ref().map_or(0, DeviceArray::ptr);
        let (src, dst_ptr) = (a.ptr(), dst.ptr());
        if chunks > 1 {
            let mut b = stream.launch_builder(kernel.function("nd_scan_part")?);
            b.arg(&src).arg(&parts).arg(&lanes).arg(&len).arg(&inner);
            b.arg(&chunk).arg(&chunks);
            // SAFETY: arguments match nd_scan_part's; `src` holds the lanes' elements and
            // `parts` one value per (chunk, lane) thread.
            unsafe { b.launch(launch_cfg(grid(dev, threads))) }
                .map_err(|e| driver_error(call.op, e))?;
            let mut b = stream.launch_builder(kernel.function("nd_scan_carry")?);
            b.arg(&parts).arg(&lanes).arg(&chunks);
            // SAFETY: arguments match nd_scan_carry's; the part pass, queued before on
            // the same stream, filled `parts`.
            unsafe { b.launch(launch_cfg(grid(dev, lanes as u64))) }
                .map_err(|e| driver_error(call.op, e))?;
        }
        let mut b = stream.launch_builder(kernel.function("nd_scan_out")?);
        b.arg(&src)
            .arg(&parts)
            .arg(&dst_ptr)
            .arg(&lanes)
            .arg(&len)
            .arg(&inner);
        b.arg(&chunk).arg(&chunks);
        // SAFETY: arguments match nd_scan_out's; `dst` holds the output (the input's
        // element count) and `parts` the carries (read only when `chunks > 1`). The parts
        // buffer goes back to the pool after this launch is queued; any reuse is queued
        // after it on the same stream.
        unsafe { b.launch(launch_cfg(grid(dev, threads))) }
            .map_err(|e| driver_error(call.op, e))?;
        drop(part);
        Ok(dst)
    })())
}

/// Bytes of a reduction's accumulator (the prelude's `A`).
fn acc_bytes(kind: ReduceKind, compute: DType) -> usize {
    let t = match compute {
        DType::Float16 | DType::BFloat16 => 4,
        d => d.itemsize(),
    };
    match kind {
        ReduceKind::Truth => 1,
        ReduceKind::Extreme | ReduceKind::Arg => t.div_ceil(8) * 8 + 8,
        _ => t,
    }
}

fn reduction(
    dev: &Arc<CudaDevice>,
    call: &Call<'_>,
    inputs: &[GpuInput],
    out: &Meta,
) -> Option<Result<DeviceArray>> {
    let a = array(inputs.first()?)?;
    let plan = native_try!(reduce::plan(call));
    let shape = &a.meta.shape;
    let st = c_strides(shape);
    let (mut kshape, mut kst, mut rshape, mut rst) = (vec![], vec![], vec![], vec![]);
    for d in 0..shape.len() {
        if plan.axes.contains(&d) {
            rshape.push(shape[d]);
            rst.push(st[d]);
        } else {
            kshape.push(shape[d]);
            kst.push(st[d]);
        }
    }
    let m: usize = kshape.iter().product();
    let k: usize = rshape.iter().product();
    // Empty reductions (identities, or NumPy's errors) are the CPU kernel's.
    if m == 0 || k == 0 {
        return None;
    }
    let (ks, kst) = collapse(&kshape, &[kst]);
    let (rs, rst) = collapse(&rshape, &[rst]);
    if ks.len() > MAX_RANK || rs.len() > MAX_RANK {
        return None;
    }
    let mut g = RGeo {
        krank: ks.len() as i32,
        rrank: rs.len() as i32,
        ..RGeo::default()
    };
    g.kshape[..ks.len()].copy_from_slice(&ks);
    g.kst[..ks.len()].copy_from_slice(&kst[0]);
    g.rshape[..rs.len()].copy_from_slice(&rs);
    g.rst[..rs.len()].copy_from_slice(&rst[0]);
    let op_name: &'static str = reduce::REDUCTIONS.iter().find(|r| r.0 == call.op)?.0;
    let rk = ReduceKernel {
        op: op_name,
        kind: plan.kind,
        input: a.meta.dtype,
        compute: plan.compute,
        out: out.dtype,
    };
    let kernel = dev
        .kernel(
            &rk.key(),
            &["nd_reduce1", "nd_reduce2", "nd_reduce_narrow"],
            || rk.source(),
        )
        .ok()?;
    let (m, k) = (m as u64, k as u64);
    // Over leading axes with enough outputs to fill the device, one thread per output:
    // a warp's loads are then adjacent elements, where a block per output would read a
    // column, one element per row.
    let columns = kst[0].last() == Some(&1) && m >= dev.sms as u64 * 256;
    // Enough blocks to fill the device: split long reductions, two passes.
    let want = dev.sms as u64 * 8;
    let splits = if k <= 32 || columns {
        0
    } else if m >= want {
        1
    } else {
        want.div_ceil(m).min(k.div_ceil(8 * BLOCK as u64)).max(1)
    };
    if m * splits.max(1) > i32::MAX as u64 {
        return None;
    }
    Some((|| {
        let dst = alloc_out(dev, call.op, out)?;
        dev.bind()?;
        let stream = dev.stream();
        let count = k as f64;
        let src = a.ptr();
        let dst_ptr = dst.ptr();
        if splits == 0 {
            let f = kernel.function("nd_reduce_narrow")?;
            let mut b = stream.launch_builder(f);
            b.arg(&src)
                .arg(&dst_ptr)
                .arg(&g)
                .arg(&m)
                .arg(&k)
                .arg(&count);
            let cfg = launch_cfg(grid(dev, m));
            // SAFETY: arguments match nd_reduce_narrow's; `src` holds the input the
            // geometry addresses and `dst` its `m` results.
            unsafe { b.launch(cfg) }.map_err(|e| driver_error(call.op, e))?;
            return Ok(dst);
        }
        let chunk = k.div_ceil(splits).div_ceil(BLOCK as u64) * BLOCK as u64;
        let scratch = if splits > 1 {
            Some(dev.alloc(
                call.op,
                (m * splits) as usize * acc_bytes(plan.kind, plan.compute),
            )?)
        } else {
            None
        };
        let partial = scratch.as_ref().map_or(0, |s| s.ptr);
        let f1 = kernel.function("nd_reduce1")?;
        let mut b = stream.launch_builder(f1);
        b.arg(&src)
            .arg(&partial)
            .arg(&dst_ptr)
            .arg(&g)
            .arg(&k)
            .arg(&chunk)
            .arg(&splits)
            .arg(&count);
        let cfg = launch_cfg((m * splits) as u32);
        // SAFETY: arguments match nd_reduce1's; `partial` holds `m * splits` accumulators
        // when `splits > 1` (and is unused otherwise), `dst` holds `m` results.
        unsafe { b.launch(cfg) }.map_err(|e| driver_error(call.op, e))?;
        if splits > 1 {
            let f2 = kernel.function("nd_reduce2")?;
            let mut b = stream.launch_builder(f2);
            b.arg(&partial).arg(&dst_ptr).arg(&splits).arg(&count);
            let cfg = launch_cfg(m as u32);
            // SAFETY: arguments match nd_reduce2's; the first pass, queued before on the
            // same stream, filled `partial`. The scratch buffer goes back to the pool after
            // this launch is queued, and any reuse is queued after it.
            unsafe { b.launch(cfg) }.map_err(|e| driver_error(call.op, e))?;
        }
        drop(scratch);
        Ok(dst)
    })())
}

/// cuBLAS's data type, compute type and scalar bytes of alpha = 1 / beta = 0.
fn blas_types(
    d: DType,
) -> Option<(
    cudarc::cublas::sys::cudaDataType,
    cudarc::cublas::sys::cublasComputeType_t,
    Vec<u8>,
    Vec<u8>,
)> {
    use cudarc::cublas::sys::cublasComputeType_t::*;
    use cudarc::cublas::sys::cudaDataType::*;
    let f32s = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let f64s = |v: &[f64]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    Some(match d {
        DType::Float16 => (CUDA_R_16F, CUBLAS_COMPUTE_32F, f32s(&[1.0]), f32s(&[0.0])),
        DType::BFloat16 => (CUDA_R_16BF, CUBLAS_COMPUTE_32F, f32s(&[1.0]), f32s(&[0.0])),
        DType::Float32 => (CUDA_R_32F, CUBLAS_COMPUTE_32F, f32s(&[1.0]), f32s(&[0.0])),
        DType::Float64 => (CUDA_R_64F, CUBLAS_COMPUTE_64F, f64s(&[1.0]), f64s(&[0.0])),
        DType::Complex64 => (
            CUDA_C_32F,
            CUBLAS_COMPUTE_32F,
            f32s(&[1.0, 0.0]),
            f32s(&[0.0, 0.0]),
        ),
        DType::Complex128 => (
            CUDA_C_64F,
            CUBLAS_COMPUTE_64F,
            f64s(&[1.0, 0.0]),
            f64s(&[0.0, 0.0]),
        ),
        _ => return None,
    })
}

fn matmul(dev: &Arc<CudaDevice>, inputs: &[GpuInput], out: &Meta) -> Option<Result<DeviceArray>> {
    let (a, b) = (array(inputs.first()?)?, array(inputs.get(1)?)?);
    if a.meta.dtype != out.dtype || b.meta.dtype != out.dtype {
        return None;
    }
    let (dt, ct, alpha, beta) = blas_types(out.dtype)?;
    let (ash, bsh) = (&a.meta.shape, &b.meta.shape);
    if ash.is_empty() || bsh.is_empty() {
        return None;
    }
    let kdim = *ash.last()?;
    let mdim = if ash.len() >= 2 {
        ash[ash.len() - 2]
    } else {
        1
    };
    let ndim = if bsh.len() >= 2 { *bsh.last()? } else { 1 };
    if mdim == 0 || ndim == 0 || kdim == 0 || out.numel() == 0 {
        return None;
    }
    let batch = out.numel() / (mdim * ndim);
    let a_batch = a.meta.numel() / (mdim * kdim);
    let b_batch = b.meta.numel() / (kdim * ndim);
    let stride = |n: usize, per: usize| -> Option<i64> {
        if n == batch {
            Some(per as i64)
        } else if n == 1 {
            Some(0)
        } else {
            None
        }
    };
    let sa = stride(a_batch, mdim * kdim)?;
    let sb = stride(b_batch, kdim * ndim)?;
    // A batched operand must have the output's batch dimensions, not a broadcast of them.
    let out_batch = &out.shape[..out.shape.len().saturating_sub(2).min(out.shape.len())];
    let batch_of = |s: &[usize]| s[..s.len().saturating_sub(2)].to_vec();
    if (sa != 0 && ash.len() > 2 && batch_of(ash) != out_batch)
        || (sb != 0 && bsh.len() > 2 && batch_of(bsh) != out_batch)
    {
        return None;
    }
    let int = |v: usize| i32::try_from(v).ok();
    let (m, n, k, batch_i) = (int(mdim)?, int(ndim)?, int(kdim)?, int(batch)?);
    Some((|| {
        let dst = alloc_out(dev, "matmul", out)?;
        let (pa, pb, pc) = (a.ptr(), b.ptr(), dst.ptr());
        dev.with_blas(|blas| {
            // Row-major C = A B is column-major C^T = B^T A^T: swap the operands.
            // SAFETY: the pointers are live buffers of this device whose sizes match the
            // dimensions and strides given; alpha and beta point at scalars of the compute
            // type; the handle runs on the device's stream.
            unsafe {
                cudarc::cublas::result::gemm_strided_batched_ex(
                    *blas.handle(),
                    cudarc::cublas::sys::cublasOperation_t::CUBLAS_OP_N,
                    cudarc::cublas::sys::cublasOperation_t::CUBLAS_OP_N,
                    n,
                    m,
                    k,
                    alpha.as_ptr().cast(),
                    pb as *const std::ffi::c_void,
                    dt,
                    n,
                    sb,
                    pa as *const std::ffi::c_void,
                    dt,
                    k,
                    sa,
                    beta.as_ptr().cast(),
                    pc as *mut std::ffi::c_void,
                    dt,
                    n,
                    (mdim * ndim) as i64,
                    batch_i,
                    ct,
                    cudarc::cublas::sys::cublasGemmAlgo_t::CUBLAS_GEMM_DEFAULT,
                )
            }
        })?
        .map_err(|e| Error::internal("matmul", format!("cuBLAS: {e:?}")))?;
        Ok(dst)
    })())
}

/// A fused elementwise chain ([`crate::fusion`]) as one kernel; `None` (the CPU kernel on
/// copies) when a node has no GPU expression or an input is neither the result's shape nor
/// one element.
fn fused(
    dev: &Arc<CudaDevice>,
    inputs: &[GpuInput],
    attrs: &Attrs,
    out: &Meta,
) -> Option<Result<DeviceArray>> {
    use crate::fusion::{Arg, Program};
    let prog = native_try!(Program::from_attrs(attrs, inputs.len()));
    let metas = input_metas(inputs);
    let plans = native_try!(prog.plans(&metas));
    let mut k = FusedKernel {
        arrays: Vec::new(),
        scalars: Vec::new(),
        nodes: Vec::new(),
    };
    let mut ptrs: Vec<u64> = Vec::new();
    let mut bits: Vec<Sc> = Vec::new();
    // Each array input's parameter: (index, read whole or element 0).
    let mut slot: Vec<Option<(usize, bool)>> = Vec::new();
    for i in inputs {
        slot.push(match i {
            GpuInput::Array(a) => {
                let whole = a.meta.shape == out.shape;
                if !whole && a.meta.numel() != 1 {
                    return None;
                }
                k.arrays.push(a.meta.dtype);
                ptrs.push(a.ptr());
                Some((ptrs.len() - 1, whole))
            }
            GpuInput::Scalar(_) => None,
        });
    }
    for (node, plan) in prog.nodes.iter().zip(&plans) {
        let expr = elementwise::row(node.op)?.cuda?;
        if node.op == "power" && !plan.compute.is_inexact() {
            return None;
        }
        let mut args = Vec::new();
        for a in &node.args {
            args.push(match a {
                Arg::Node(n) => (FusedArg::Node(*n), plans[*n].out.dtype),
                Arg::Input(i) => match (&inputs[*i], slot[*i]) {
                    (GpuInput::Array(a), Some((p, true))) => (FusedArg::Array(p), a.meta.dtype),
                    (GpuInput::Array(a), Some((p, false))) => (FusedArg::One(p), a.meta.dtype),
                    (GpuInput::Scalar(s), _) => {
                        k.scalars.push(plan.compute);
                        bits.push(scalar_bits(s, plan.compute));
                        (FusedArg::Scalar(bits.len() - 1), plan.compute)
                    }
                    (GpuInput::Array(_), None) => return None,
                },
            });
        }
        k.nodes.push(FusedNode {
            expr,
            compute: plan.compute,
            out: plan.out.dtype,
            args,
        });
    }
    if k.nodes.last()?.out != out.dtype {
        return None;
    }
    let kernel = dev.kernel(&k.key(), &["nd_fused"], || k.source()).ok()?;
    Some((|| {
        let dst = alloc_out(dev, crate::fusion::FUSED_OP, out)?;
        let n = out.numel() as u64;
        if n == 0 {
            return Ok(dst);
        }
        dev.bind()?;
        let f = kernel.function("nd_fused")?;
        let mut b = dev.stream().launch_builder(f);
        for p in &ptrs {
            b.arg(p);
        }
        for sc in &bits {
            b.arg(sc);
        }
        let dst_ptr = dst.ptr();
        b.arg(&dst_ptr);
        b.arg(&n);
        let cfg = launch_cfg(grid(dev, n));
        // SAFETY: the arguments match nd_fused's parameters (the array pointers, the
        // scalars, the output, the length); every array holds the output's element count
        // or one element, as the kernel reads them.
        unsafe { b.launch(cfg) }.map_err(|e| driver_error(crate::fusion::FUSED_OP, e))?;
        Ok(dst)
    })())
}

#[cfg(test)]
mod tests {
    use ndarray::{Array, IxDyn};
    use ndserve_proto::{Attr, Attrs, IndexItem};

    use super::*;
    use crate::backend::cpu::array::HostArray;
    use crate::backend::cpu::kernels::CpuInput;

    /// The CPU kernel's int64 result of `op`.
    fn cpu_i64(op: &str, inputs: &[HostArray], attrs: &Attrs, out: &Meta) -> Vec<i64> {
        let ins: Vec<CpuInput> = inputs.iter().cloned().map(CpuInput::Array).collect();
        let r = cpu::run(op, &ins, attrs, std::slice::from_ref(out)).unwrap();
        r[0].typed::<i64>().unwrap().iter().copied().collect()
    }

    /// The GPU's view of a basic index (offset and strides, read by the copy kernel) selects
    /// exactly the elements the CPU kernel's `getitem` gives, in order: checked here by
    /// walking the view on the host, so it needs no GPU.
    #[test]
    fn basic_index_views_select_what_the_cpu_selects() {
        let shape = [4usize, 5, 6];
        let data: Vec<i64> = (0..120).collect();
        let host = HostArray::I64(
            Array::from_shape_vec(IxDyn(&shape), data.clone())
                .unwrap()
                .into_shared(),
        );
        let sl = |a: Option<i64>, b: Option<i64>, c: Option<i64>| IndexItem::Slice(a, b, c);
        let keys: Vec<Vec<IndexItem>> = vec![
            vec![IndexItem::Int(1)],
            vec![IndexItem::Int(-1), sl(None, None, Some(-2))],
            vec![
                sl(Some(1), Some(3), None),
                IndexItem::NewAxis,
                IndexItem::Int(2),
            ],
            vec![IndexItem::Ellipsis, sl(None, None, Some(-1))],
            vec![
                sl(Some(3), Some(0), Some(-2)),
                IndexItem::Ellipsis,
                IndexItem::Int(0),
            ],
            vec![sl(Some(2), Some(2), None)],
            vec![IndexItem::Int(0), IndexItem::Int(4), IndexItem::Int(5)],
        ];
        for key in keys {
            let attrs = Attrs::new().with("key", Attr::Index(key.clone()));
            let metas = [Input::Array(host.meta())];
            let call = Call {
                op: "getitem",
                inputs: &metas,
                attrs: &attrs,
            };
            let plan = ndserve_proto::ops::index::plan(&call).unwrap();
            let (off, view) = basic_view(&shape, &plan.sels);
            assert_eq!(view.len(), plan.out.shape.len(), "{key:?}");
            // Walk the result in C order through the view.
            let n = plan.out.numel();
            let mut got = Vec::with_capacity(n);
            for flat in 0..n {
                let mut rem = flat;
                let mut at = off;
                for d in (0..view.len()).rev() {
                    let len = plan.out.shape[d];
                    at += (rem % len) as i64 * view[d];
                    rem /= len;
                }
                got.push(data[at as usize]);
            }
            let want = cpu_i64("getitem", std::slice::from_ref(&host), &attrs, &plan.out);
            assert_eq!(got, want, "{key:?}");
        }
    }

    /// Copying each input through its slab fills the result exactly as the CPU's
    /// `concatenate` and `stack` do, for every axis and `axis=None`.
    #[test]
    fn concat_slabs_place_inputs_where_the_cpu_does() {
        let cases: Vec<(&str, Vec<Vec<usize>>, Attr)> = vec![
            (
                "concatenate",
                vec![vec![2, 3, 4], vec![1, 3, 4]],
                Attr::Int(0),
            ),
            (
                "concatenate",
                vec![vec![2, 3, 4], vec![2, 2, 4], vec![2, 1, 4]],
                Attr::Int(1),
            ),
            (
                "concatenate",
                vec![vec![2, 3, 4], vec![2, 3, 1]],
                Attr::Int(-1),
            ),
            (
                "concatenate",
                vec![vec![2, 3], vec![5], vec![1, 1, 2]],
                Attr::None,
            ),
            ("concatenate", vec![vec![3, 0], vec![3, 2]], Attr::Int(1)),
            ("stack", vec![vec![2, 3], vec![2, 3]], Attr::Int(0)),
            (
                "stack",
                vec![vec![2, 3], vec![2, 3], vec![2, 3]],
                Attr::Int(2),
            ),
            ("stack", vec![vec![2, 3], vec![2, 3]], Attr::Int(-2)),
        ];
        for (op, shapes, axis) in cases {
            let mut next = 0i64;
            let hosts: Vec<HostArray> = shapes
                .iter()
                .map(|s| {
                    let n: usize = s.iter().product();
                    let v: Vec<i64> = (next..next + n as i64).collect();
                    next += n as i64;
                    HostArray::I64(Array::from_shape_vec(IxDyn(s), v).unwrap().into_shared())
                })
                .collect();
            let attrs = Attrs::new().with("axis", axis.clone());
            let metas: Vec<Input> = hosts.iter().map(|h| Input::Array(h.meta())).collect();
            let call = Call {
                op,
                inputs: &metas,
                attrs: &attrs,
            };
            let plan = concat_plan(&call).unwrap();
            let mut got = vec![-1i64; plan.out.numel()];
            for (h, slab) in hosts.iter().zip(concat_slabs(&plan, &shapes)) {
                let x: Vec<i64> = h.typed::<i64>().unwrap().iter().copied().collect();
                for (flat, &v) in x.iter().enumerate() {
                    let (mut rem, mut at) = (flat, slab.off);
                    for d in (0..slab.shape.len()).rev() {
                        at += (rem % slab.shape[d]) as i64 * slab.dst_st[d];
                        rem /= slab.shape[d];
                    }
                    got[at as usize] = v;
                }
            }
            let want = cpu_i64(op, &hosts, &attrs, &plan.out);
            assert_eq!(got, want, "{op} {shapes:?} {axis:?}");
        }
    }

    /// The three scan passes, walked on the host with the lanes and chunks the GPU
    /// would use (several chunk counts, so carries cross chunks), give the CPU's
    /// `cumsum` for every axis and `axis=None`.
    #[test]
    fn scan_chunks_and_carries_give_the_cpus_cumsum() {
        let shape = [3usize, 70, 4];
        let data: Vec<i64> = (0..840).map(|i| (i * 7919) % 1000 - 500).collect();
        let host = HostArray::I64(
            Array::from_shape_vec(IxDyn(&shape), data.clone())
                .unwrap()
                .into_shared(),
        );
        for axis in [Attr::Int(0), Attr::Int(1), Attr::Int(-1), Attr::None] {
            let attrs = Attrs::new().with("axis", axis.clone());
            let metas = [Input::Array(host.meta())];
            let call = Call {
                op: "cumsum",
                inputs: &metas,
                attrs: &attrs,
            };
            let plan = ndserve_proto::ops::stats::stats_plan(&call).unwrap();
            let ax = (!plan.flatten).then(|| plan.axes[0]);
            let (lanes, len, inner) = scan_lanes(&shape, ax);
            let want = cpu_i64("cumsum", std::slice::from_ref(&host), &attrs, &plan.outs[0]);
            for sms in [1, 2, 1000] {
                let (chunk, chunks) = scan_chunks(lanes, len, sms);
                assert!(chunk * chunks >= len && chunk * (chunks - 1) < len);
                let base = |l: usize| (l / inner) * len * inner + l % inner;
                // nd_scan_part, then nd_scan_carry
                let mut part = vec![0i64; lanes * chunks];
                for (t, p) in part.iter_mut().enumerate() {
                    let (c, l) = (t / lanes, t % lanes);
                    let r1 = (c * chunk + chunk).min(len);
                    *p = (c * chunk..r1).map(|r| data[base(l) + r * inner]).sum();
                }
                for l in 0..lanes {
                    let mut run = part[l];
                    for c in 1..chunks {
                        let next = part[c * lanes + l];
                        part[c * lanes + l] = run;
                        run += next;
                    }
                }
                // nd_scan_out
                let mut got = vec![0i64; data.len()];
                for (t, &carry) in part.iter().enumerate() {
                    let (c, l) = (t / lanes, t % lanes);
                    let mut acc = if c > 0 { carry } else { 0 };
                    for r in c * chunk..(c * chunk + chunk).min(len) {
                        acc += data[base(l) + r * inner];
                        got[base(l) + r * inner] = acc;
                    }
                }
                assert_eq!(got, want, "axis {axis:?}, {chunks} chunks");
            }
        }
    }
}
