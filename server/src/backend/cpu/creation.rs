//! Creation kernels: `zeros`, `ones`, `empty`, `full`, the `*_like` forms, `arange`,
//! `linspace`, `logspace`, `geomspace`, `eye`, `identity`, and the conversions `astype`,
//! `array`, `asarray`, `asanyarray`, `ascontiguousarray`, `copy`.
//!
//! Shapes and dtypes come from the contract (`infer`'s metas, `arange_plan`,
//! `linspace_plan`, `eye_params`, ...); values follow NumPy's algorithms, including its
//! rounding (`arange` fills `start + i*delta` in the result dtype; `linspace` computes in
//! the inexact dtype of its ends and casts, and `logspace`/`geomspace` compose it with
//! the elementwise kernels as NumPy composes ufuncs).

use half::{bf16, f16};
use ndarray::{ArcArray, Array, Axis, IxDyn};
use ndserve_proto::ops::creation::{
    Samples, arange_plan, eye_params, geomspace_plan, linspace_plan, logspace_plan, samples,
};
use ndserve_proto::{Attrs, DType, Error, Kind, Meta, Result, Scalar};
use num_complex::{Complex, Complex32, Complex64};
use rayon::prelude::*;

use super::array::{Element, HostArray, Nd};
use super::cast::{Cast, Lane, cast};
use super::kernels::{CpuInput, KernelCall, KernelFn};
use super::shape::reshape_c;

/// The kernels of this family.
pub fn kernels() -> Vec<(&'static str, super::KernelFn)> {
    vec![
        ("zeros", filled as KernelFn),
        ("ones", filled),
        ("empty", filled),
        ("full", full),
        ("zeros_like", like),
        ("ones_like", like),
        ("empty_like", like),
        ("full_like", like),
        ("arange", arange),
        ("linspace", linspace),
        ("logspace", logspace),
        ("geomspace", geomspace),
        ("eye", eye),
        ("identity", eye),
        ("astype", convert),
        ("array", convert),
        ("asarray", convert),
        ("asanyarray", convert),
        ("ascontiguousarray", convert),
        ("copy", convert),
    ]
}

/// Lengths from which generated sequences are filled in parallel.
const PAR_MIN_LEN: usize = 1 << 16;

/// The first output `infer` promised.
fn out_meta<'a>(call: &'a KernelCall<'_>) -> Result<&'a Meta> {
    call.outs
        .first()
        .ok_or_else(|| Error::internal(call.op, "infer gave no output"))
}

fn input<'a>(call: &'a KernelCall<'_>, i: usize, name: &str) -> Result<&'a CpuInput> {
    call.inputs
        .get(i)
        .ok_or_else(|| Error::invalid(call.op, name, format!("missing required argument '{name}'")))
}

/// An input as an array of `dtype`. A Python int must fit an integer dtype, as NumPy 2
/// requires (`np.full(3, -1, dtype=np.uint8)` is an OverflowError).
fn input_as(call: &KernelCall<'_>, i: usize, name: &str, dtype: DType) -> Result<HostArray> {
    let inp = input(call, i, name)?;
    if let CpuInput::Scalar(s) = inp {
        check_fits(call.op, name, s, dtype)?;
    }
    Ok(inp.to_array(dtype))
}

fn check_fits(op: &str, name: &str, s: &Scalar, dtype: DType) -> Result<()> {
    match s {
        Scalar::Int(v) if !s.fits(dtype) => Err(Error::invalid(
            op,
            name,
            format!("Python integer {v} out of bounds for {dtype}"),
        )),
        _ => Ok(()),
    }
}

/// NumPy's conversion of a Python number into an integer array element (`arange` stores
/// its first two values that way): a float is truncated to a Python int first, and the int
/// must fit.
fn check_python_int(op: &str, name: &str, s: &Scalar, dtype: DType) -> Result<()> {
    match *s {
        Scalar::Float(f) if dtype.is_integer() => {
            if f.is_nan() {
                Err(Error::invalid(
                    op,
                    name,
                    "cannot convert float NaN to integer",
                ))
            } else if f.is_infinite() {
                Err(Error::invalid(
                    op,
                    name,
                    "cannot convert float infinity to integer",
                ))
            } else {
                check_fits(op, name, &Scalar::Int(f.trunc() as i128), dtype)
            }
        }
        _ => check_fits(op, name, s, dtype),
    }
}

/// A Python scalar on its way into an array.
fn lane(s: &Scalar) -> Lane {
    match *s {
        Scalar::Bool(b) => Lane::B(b),
        Scalar::Int(i) if i < 0 => Lane::I(i as i64),
        Scalar::Int(i) => Lane::U(i as u64),
        Scalar::Float(f) => Lane::F(f),
        Scalar::Complex(re, im) => Lane::C(re, im),
    }
}

/// An array of `meta` with every element `v`.
fn full_of(meta: &Meta, v: Lane) -> HostArray {
    crate::with_dtype!(meta.dtype, T => {
        let x = <T as Cast>::from_lane(v);
        <T as Element>::wrap(ArcArray::from_elem(IxDyn(&meta.shape), x))
    })
}

/// `a` broadcast to `shape` and laid out as a new C-order array.
fn broadcast_to(op: &str, a: &HostArray, shape: &[usize]) -> Result<HostArray> {
    crate::with_array!(a, a, T => {
        let out: Nd<T> = if a.len() == 1 {
            ArcArray::from_elem(IxDyn(shape), *a.iter().next().expect("one element"))
        } else {
            let v = a.broadcast(IxDyn(shape)).ok_or_else(|| {
                Error::invalid(
                    op,
                    "fill_value",
                    format!(
                        "could not broadcast input array from shape {} into shape {}",
                        ndserve_proto::shape::fmt_shape(a.shape()),
                        ndserve_proto::shape::fmt_shape(shape)
                    ),
                )
            })?;
            v.to_owned().into_shared()
        };
        Ok(<T as Element>::wrap(out))
    })
}

/// `zeros`, `ones`, `empty` (zero-filled).
fn filled(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let meta = out_meta(call)?;
    Ok(vec![full_of(meta, Lane::B(call.op == "ones"))])
}

/// `full(shape, fill_value, dtype)`.
fn full(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let meta = out_meta(call)?;
    let fill = input_as(call, 0, "fill_value", meta.dtype)?;
    Ok(vec![broadcast_to(call.op, &fill, &meta.shape)?])
}

/// `zeros_like`, `ones_like`, `empty_like`, `full_like`.
fn like(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let meta = out_meta(call)?;
    input(call, 0, "a")?;
    let out = match call.op {
        "full_like" => {
            let fill = input_as(call, 1, "fill_value", meta.dtype)?;
            broadcast_to(call.op, &fill, &meta.shape)?
        }
        op => full_of(meta, Lane::B(op == "ones_like")),
    };
    Ok(vec![out])
}

/// A vector of `len` values `f(i)`, filled in parallel when long.
fn generate<T: Send, F: Fn(usize) -> T + Sync + Send>(len: usize, f: F) -> Vec<T> {
    if len >= PAR_MIN_LEN {
        (0..len).into_par_iter().with_min_len(4096).map(f).collect()
    } else {
        (0..len).map(f).collect()
    }
}

fn from_vec<T: Element>(v: Vec<T>) -> HostArray {
    let n = v.len();
    T::wrap(
        Array::from_shape_vec(IxDyn(&[n]), v)
            .expect("1-d")
            .into_shared(),
    )
}

/// The two's-complement bits of an integer lane.
fn int_bits(l: Lane) -> u64 {
    match l {
        Lane::B(b) => b as u64,
        Lane::I(i) => i as u64,
        Lane::U(u) => u,
        Lane::F(f) | Lane::C(f, _) => f as i64 as u64,
    }
}

/// NumPy's `arange` for an integer type: the first two values are converted from Python
/// numbers, then `start + i*delta` fills the rest, wrapping in the type.
fn arange_int<T: Cast>(first: Lane, second: Lane, len: usize) -> HostArray {
    let f = T::from_lane(first);
    let s = T::from_lane(second);
    let fb = int_bits(f.to_lane());
    let d = int_bits(s.to_lane()).wrapping_sub(fb);
    from_vec(generate(len, |i| match i {
        0 => f,
        1 => s,
        _ => T::from_lane(Lane::U(fb.wrapping_add((i as u64).wrapping_mul(d)))),
    }))
}

/// `arange` for a 16-bit float type: NumPy (and ml_dtypes) fill in `f32`.
fn arange_half<T: Cast>(
    first: Lane,
    second: Lane,
    len: usize,
    to_f32: fn(T) -> f32,
    from_f32: fn(f32) -> T,
) -> HostArray {
    let f = T::from_lane(first);
    let s = T::from_lane(second);
    let start = to_f32(f);
    let delta = to_f32(s) - start;
    from_vec(generate(len, |i| match i {
        0 => f,
        1 => s,
        _ => from_f32(start + i as f32 * delta),
    }))
}

macro_rules! arange_float {
    ($first:expr, $second:expr, $len:expr, $R:ty) => {{
        let f = <$R as Cast>::from_lane($first);
        let s = <$R as Cast>::from_lane($second);
        let delta = s - f;
        from_vec(generate($len, |i| match i {
            0 => f,
            1 => s,
            _ => f + i as $R * delta,
        }))
    }};
}

macro_rules! arange_complex {
    ($first:expr, $second:expr, $len:expr, $C:ty, $R:ty) => {{
        let f = <$C as Cast>::from_lane($first);
        let s = <$C as Cast>::from_lane($second);
        let (dr, di) = (s.re - f.re, s.im - f.im);
        from_vec(generate($len, |i| match i {
            0 => f,
            1 => s,
            _ => Complex::new(f.re + i as $R * dr, f.im + i as $R * di),
        }))
    }};
}

/// `arange(start, stop, step, dtype)`, as NumPy fills it.
fn arange(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let op = call.op;
    let p = arange_plan(&call.call())?;
    let dtype = p.out.dtype;
    let len = p.len;
    // NumPy stores `start` and `start + step` (Python arithmetic) and fills from them.
    let second = match (p.start.as_int(), p.step.as_int()) {
        (Some(a), Some(b)) => Scalar::Int(a + b),
        _ => Scalar::Float(p.start.as_f64() + p.step.as_f64()),
    };
    if len > 0 {
        check_python_int(op, "start", &p.start, dtype)?;
    }
    if len > 1 {
        check_python_int(op, "step", &second, dtype)?;
    }
    if dtype == DType::Bool && len > 2 {
        return Err(Error::dtype(
            op,
            "dtype",
            "arange() is only supported for booleans when the result has at most length 2.",
        ));
    }
    let (first, second) = (lane(&p.start), lane(&second));
    let out = match dtype {
        DType::Bool => {
            let v: Vec<bool> = [first, second]
                .iter()
                .take(len)
                .map(|&l| bool::from_lane(l))
                .collect();
            from_vec(v)
        }
        DType::Int8 => arange_int::<i8>(first, second, len),
        DType::Int16 => arange_int::<i16>(first, second, len),
        DType::Int32 => arange_int::<i32>(first, second, len),
        DType::Int64 => arange_int::<i64>(first, second, len),
        DType::UInt8 => arange_int::<u8>(first, second, len),
        DType::UInt16 => arange_int::<u16>(first, second, len),
        DType::UInt32 => arange_int::<u32>(first, second, len),
        DType::UInt64 => arange_int::<u64>(first, second, len),
        DType::Float16 => arange_half::<f16>(first, second, len, f16::to_f32, f16::from_f32),
        DType::BFloat16 => arange_half::<bf16>(first, second, len, bf16::to_f32, bf16::from_f32),
        DType::Float32 => arange_float!(first, second, len, f32),
        DType::Float64 => arange_float!(first, second, len, f64),
        DType::Complex64 => arange_complex!(first, second, len, Complex32, f32),
        DType::Complex128 => arange_complex!(first, second, len, Complex64, f64),
    };
    Ok(vec![out])
}

/// Runs the kernel of `op` (an elementwise op, or any other with `attrs`) on `inputs`,
/// with the metas `infer` gives: NumPy composes these ops from ufuncs, and so do we.
fn sub(op: &str, inputs: &[CpuInput], attrs: &Attrs) -> Result<HostArray> {
    let metas: Vec<_> = inputs.iter().map(CpuInput::meta).collect();
    let outs = ndserve_proto::ops::infer(op, &metas, attrs)?;
    Ok(super::kernels::run(op, inputs, attrs, &outs)?.remove(0))
}

/// [`sub`] of an elementwise op.
fn ufunc(op: &str, inputs: &[CpuInput]) -> Result<HostArray> {
    sub(op, inputs, &Attrs::new())
}

fn a(h: HostArray) -> CpuInput {
    CpuInput::Array(h)
}

/// `y` with its first axis moved to `axis` (`np.moveaxis(y, 0, axis)`), in C order.
fn move_first_axis(y: HostArray, axis: usize) -> HostArray {
    if axis == 0 {
        return y;
    }
    let mut perm: Vec<usize> = (1..y.shape().len()).collect();
    perm.insert(axis, 0);
    crate::with_array!(y, a, T => {
        let a = a.permuted_axes(IxDyn(&perm));
        <T as Element>::wrap(a.as_standard_layout().into_owned().into_shared())
    })
}

/// `y[i, ...] = v`, with `v` cast to `y`'s dtype and broadcast.
fn set_sample(y: HostArray, i: usize, v: &HostArray) -> HostArray {
    let v = cast(v, y.dtype());
    crate::with_array!(y, a, T => {
        let mut a = a.into_owned();
        let src = <T as Element>::unwrap(&v).expect("cast to y's dtype");
        let mut row = a.index_axis_mut(Axis(0), i);
        let dim = row.raw_dim();
        row.assign(&src.broadcast(dim).expect("start/stop broadcast to a sample"));
        <T as Element>::wrap(a.into_shared())
    })
}

/// Whether any element is zero (complex: both parts).
fn any_zero(h: &HostArray) -> bool {
    let c = cast(h, DType::Complex128);
    let c = c.typed::<Complex64>().expect("complex128");
    c.iter().any(|z| z.re == 0.0 && z.im == 0.0)
}

/// A Python scalar or an array as an array of `meta` (NumPy's `np.array(x, ndmin=..)`:
/// a scalar takes its default dtype, the shape gains leading ones).
fn conform(x: &CpuInput, to: &ndserve_proto::Input) -> CpuInput {
    match to {
        ndserve_proto::Input::Scalar(_) => x.clone(),
        ndserve_proto::Input::Array(m) => {
            let h = x.to_array(m.dtype);
            crate::with_array!(&h, v, T => {
                CpuInput::Array(<T as Element>::wrap(reshape_c(v, &m.shape)))
            })
        }
    }
}

/// NumPy's `linspace` before the axis move and the cast: `num` samples of
/// `start`..`stop` along a new first axis, in `s.compute`, and the step (`s.compute`
/// with the samples' shape, or a float64 NaN when `num - endpoint <= 0`).
fn linspace_samples(
    op: &str,
    start: &CpuInput,
    stop: &CpuInput,
    s: &Samples,
) -> Result<(HostArray, HostArray)> {
    let dt = s.compute;
    let start = start.to_array(dt);
    let stop = stop.to_array(dt);
    let run = |name: &str, inputs: &[CpuInput]| ufunc(name, inputs).map_err(|e| e.with_op(op));
    let delta = run("subtract", &[a(stop.clone()), a(start.clone())])?;
    // `arange(0, num).reshape((-1,) + (1,) * delta.ndim)`, in the compute dtype.
    let mut idx = vec![s.num];
    idx.extend(std::iter::repeat_n(1, delta.shape().len()));
    let ramp = Array::from_shape_vec(IxDyn(&idx), (0..s.num).map(|i| i as f64).collect())
        .expect("num elements");
    let mut y = cast(&HostArray::F64(ramp.into_shared()), dt);
    let div = s.div();
    let step = if div > 0 {
        let d = CpuInput::Scalar(Scalar::Int(div as i128));
        let step = run("true_divide", &[a(delta.clone()), d.clone()])?;
        if any_zero(&step) {
            // Denormal deltas: divide first, then multiply (NumPy's gh-5437).
            y = run("true_divide", &[a(y), d])?;
            y = run("multiply", &[a(y), a(delta)])?;
        } else {
            y = run("multiply", &[a(y), a(step.clone())])?;
        }
        step
    } else {
        y = run("multiply", &[a(y), a(delta)])?;
        HostArray::scalar(f64::NAN)
    };
    y = run("add", &[a(y), a(start)])?;
    if s.endpoint && s.num > 1 {
        y = set_sample(y, s.num - 1, &stop);
    }
    Ok((y, step))
}

/// `linspace(start, stop, num, endpoint, retstep, dtype, axis)`: NumPy's algorithm in its
/// compute dtype (float64, or the inexact dtype of array ends), then `floor` for an
/// integer dtype, then the cast.
fn linspace(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let p = linspace_plan(&call.call())?;
    let (start, stop) = match call.inputs {
        [start, stop] => (start.clone(), stop.clone()),
        _ => {
            let get = |name: &str| -> Result<CpuInput> {
                let s = call.attrs.scalar(call.op, name)?.ok_or_else(|| {
                    Error::invalid(call.op, name, format!("missing required argument '{name}'"))
                })?;
                Ok(CpuInput::Scalar(s))
            };
            (get("start")?, get("stop")?)
        }
    };
    let (y, step) = linspace_samples(call.op, &start, &stop, &p.samples)?;
    let mut y = move_first_axis(y, p.axis);
    if p.out.dtype.is_integer() {
        y = ufunc("floor", &[a(y)]).map_err(|e| e.with_op(call.op))?;
    }
    let mut out = vec![cast(&y, p.out.dtype)];
    if p.retstep {
        out.push(step);
    }
    Ok(out)
}

/// `logspace(start, stop, num, endpoint, base, dtype, axis)`:
/// `power(base, linspace(start, stop, num, endpoint, axis))`, cast to `dtype`.
fn logspace(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let p = logspace_plan(&call.call())?;
    let base = match call.inputs.get(2) {
        Some(b) => b.clone(),
        None => CpuInput::Scalar(Scalar::Float(10.0)),
    };
    let [start, stop, base] = [&call.inputs[0], &call.inputs[1], &base]
        .into_iter()
        .zip(&p.operands)
        .map(|(x, to)| conform(x, to))
        .collect::<Vec<_>>()
        .try_into()
        .expect("three operands");
    let (y, _) = linspace_samples(call.op, &start, &stop, &p.samples)?;
    let y = move_first_axis(y, p.axis);
    let r = ufunc("power", &[base, a(y)]).map_err(|e| e.with_op(call.op))?;
    Ok(vec![cast(&r, p.out.dtype)])
}

/// `geomspace(start, stop, num, endpoint, dtype, axis)`, as NumPy computes it: rotate
/// `start` to the positive real axis, take `logspace` of the `log10`s, put back the exact
/// ends, rotate back.
fn geomspace(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let op = call.op;
    let p = geomspace_plan(&call.call())?;
    let run = |name: &str, inputs: &[CpuInput]| ufunc(name, inputs).map_err(|e| e.with_op(op));
    let start = call.inputs[0].as_array();
    let stop = call.inputs[1].as_array();
    if any_zero(&start) || any_zero(&stop) {
        return Err(Error::invalid(
            op,
            "start",
            "Geometric sequence cannot include zero",
        ));
    }
    let start = cast(&start, p.compute);
    let stop = cast(&stop, p.compute);
    let sign = run("sign", &[a(start.clone())])?;
    let start = run("true_divide", &[a(start), a(sign.clone())])?;
    let stop = run("true_divide", &[a(stop), a(sign.clone())])?;
    let log_start = a(run("log10", &[a(start.clone())])?);
    let log_stop = a(run("log10", &[a(stop.clone())])?);
    let s = samples(
        op,
        &log_start.meta(),
        &log_stop.meta(),
        p.num as i64,
        p.endpoint,
    )?;
    let (y, _) = linspace_samples(op, &log_start, &log_stop, &s)?;
    let ten = CpuInput::Scalar(Scalar::Float(10.0));
    let mut r = cast(&run("power", &[ten, a(y)])?, p.compute);
    if p.num > 0 {
        r = set_sample(r, 0, &start);
        if p.num > 1 && p.endpoint {
            r = set_sample(r, p.num - 1, &stop);
        }
    }
    let r = cast(&run("multiply", &[a(r), a(sign)])?, p.compute);
    let r = move_first_axis(r, p.axis);
    Ok(vec![cast(&r, p.out.dtype)])
}

/// `eye(N, M, k, dtype)`, `identity(n, dtype)`.
fn eye(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let (n, m, k, dtype) = eye_params(&call.call())?;
    let out = crate::with_dtype!(dtype, T => {
        let one = <T as Cast>::from_lane(Lane::B(true));
        let mut v = vec![T::default(); n * m];
        for i in 0..n {
            let j = i as i64 + k;
            if j >= 0 && (j as u64) < m as u64 {
                v[i * m + j as usize] = one;
            }
        }
        let a = Array::from_shape_vec(IxDyn(&[n, m]), v).expect("n*m elements");
        <T as Element>::wrap(a.into_shared())
    });
    Ok(vec![out])
}

/// The rank of a dtype's kind in NumPy's `same_kind` order (b < u < i < f < c).
fn kind_rank(d: DType) -> u8 {
    match d.kind() {
        Kind::Bool => 0,
        Kind::UInt => 1,
        Kind::Int => 2,
        Kind::Float => 3,
        Kind::Complex => 4,
    }
}

/// `np.can_cast(from, to, casting)`.
fn can_cast(op: &str, from: DType, to: DType, casting: &str) -> Result<bool> {
    Ok(match casting {
        "unsafe" => true,
        "no" | "equiv" => from == to,
        "safe" => from.can_cast_safely(to),
        "same_kind" => from.can_cast_safely(to) || kind_rank(to) >= kind_rank(from),
        other => {
            return Err(Error::invalid(
                op,
                "casting",
                format!(
                    "casting must be one of 'no', 'equiv', 'safe', 'same_kind', or 'unsafe' (got '{other}')"
                ),
            ));
        }
    })
}

/// `astype`, `array`, `asarray`, `asanyarray`, `ascontiguousarray`, `copy`. Arrays are
/// immutable, so a "copy" of one is a cheap clone of its handle.
fn convert(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let op = call.op;
    let meta = out_meta(call)?;
    let name = match op {
        "array" => "object",
        "astype" => "x",
        _ => "a",
    };
    let src = input(call, 0, name)?;
    if op == "astype"
        && let Some(casting) = call.attrs.str(op, "casting")?
    {
        let from = src.as_array().dtype();
        if !can_cast(op, from, meta.dtype, casting)? {
            return Err(Error::dtype(
                op,
                "dtype",
                format!(
                    "Cannot cast array data from dtype('{from}') to dtype('{}') according to the rule '{casting}'",
                    meta.dtype
                ),
            ));
        }
    }
    if op == "array" && !call.attrs.bool_or(op, "copy", true)? {
        let needs_copy = match src {
            CpuInput::Scalar(_) => true,
            CpuInput::Array(a) => a.dtype() != meta.dtype,
        };
        if needs_copy {
            return Err(Error::invalid(
                op,
                "copy",
                "Unable to avoid copy while creating an array as requested.",
            ));
        }
    }
    let a = input_as(call, 0, name, meta.dtype)?;
    let out = crate::with_array!(a, a, T => {
        let mut a: Nd<T> = a;
        while a.ndim() < meta.shape.len() {
            a.insert_axis_inplace(Axis(0));
        }
        if op == "ascontiguousarray" && !a.is_standard_layout() {
            a = a.as_standard_layout().into_owned().into_shared();
        }
        <T as Element>::wrap(a)
    });
    Ok(vec![out])
}

#[cfg(test)]
mod tests {
    use half::{bf16, f16};
    use ndarray::{Array, IxDyn};
    use ndserve_proto::{Attr, Attrs, DType, Error, Scalar};
    use num_complex::Complex64;

    use super::super::array::{Element, HostArray};
    use super::super::kernels::CpuInput;
    use super::super::testing::{run_inputs, run_one};

    fn exec(op: &str, inputs: Vec<CpuInput>, attrs: Attrs) -> Result<Vec<HostArray>, Error> {
        run_inputs(op, &inputs, &attrs)
    }

    fn one(op: &str, inputs: Vec<CpuInput>, attrs: Attrs) -> HostArray {
        run_one(op, inputs, attrs)
    }

    fn host<T: Element>(shape: &[usize], v: Vec<T>) -> HostArray {
        T::wrap(
            Array::from_shape_vec(IxDyn(shape), v)
                .unwrap()
                .into_shared(),
        )
    }

    fn arr<T: Element>(shape: &[usize], v: Vec<T>) -> CpuInput {
        CpuInput::Array(host(shape, v))
    }

    fn vals<T: Element>(h: &HostArray) -> Vec<T> {
        let a = h
            .typed::<T>()
            .unwrap_or_else(|| panic!("dtype is {}", h.dtype()));
        a.iter().copied().collect()
    }

    fn attrs(kv: &[(&str, Attr)]) -> Attrs {
        kv.iter()
            .fold(Attrs::new(), |a, (k, v)| a.with(k, v.clone()))
    }

    fn s(v: impl Into<Scalar>) -> Attr {
        Attr::Scalar(v.into())
    }

    fn dt(d: DType) -> Attr {
        Attr::DType(d)
    }

    #[test]
    fn filled_arrays() {
        let r = one("zeros", vec![], attrs(&[("shape", Attr::Ints(vec![2, 3]))]));
        assert_eq!(
            (r.dtype(), r.shape()),
            (DType::Float64, &[2usize, 3] as &[usize])
        );
        assert_eq!(vals::<f64>(&r), vec![0.0; 6]);
        let r = one(
            "ones",
            vec![],
            attrs(&[("shape", Attr::Int(3)), ("dtype", dt(DType::Complex64))]),
        );
        assert_eq!(
            vals::<num_complex::Complex32>(&r),
            vec![num_complex::Complex32::new(1.0, 0.0); 3]
        );
        let r = one(
            "empty",
            vec![],
            attrs(&[("shape", Attr::Ints(vec![])), ("dtype", dt(DType::Int8))]),
        );
        assert_eq!((r.shape(), vals::<i8>(&r)), (&[] as &[usize], vec![0]));
        let r = one(
            "ones",
            vec![],
            attrs(&[
                ("shape", Attr::Ints(vec![0, 4])),
                ("dtype", dt(DType::Bool)),
            ]),
        );
        assert_eq!(r.shape(), &[0, 4]);
        let r = one(
            "full",
            vec![CpuInput::Scalar(Scalar::Float(2.7))],
            attrs(&[
                ("shape", Attr::Ints(vec![2, 3])),
                ("dtype", dt(DType::Int32)),
            ]),
        );
        assert_eq!(vals::<i32>(&r), vec![2; 6]);
        let r = one(
            "full",
            vec![CpuInput::Scalar(Scalar::Int(7))],
            attrs(&[("shape", Attr::Int(2))]),
        );
        assert_eq!((r.dtype(), vals::<i64>(&r)), (DType::Int64, vec![7, 7]));
        let r = one(
            "full",
            vec![arr(&[2], vec![1i16, 2])],
            attrs(&[("shape", Attr::Ints(vec![2, 2]))]),
        );
        assert_eq!(
            (r.dtype(), vals::<i16>(&r)),
            (DType::Int16, vec![1, 2, 1, 2])
        );
        let r = one(
            "full",
            vec![CpuInput::Scalar(Scalar::Float(-1.0))],
            attrs(&[("shape", Attr::Int(1)), ("dtype", dt(DType::UInt8))]),
        );
        assert_eq!(vals::<u8>(&r), vec![255]);
        let e = exec(
            "full",
            vec![CpuInput::Scalar(Scalar::Int(-1))],
            attrs(&[("shape", Attr::Int(3)), ("dtype", dt(DType::UInt8))]),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("Python integer -1 out of bounds for uint8"),
            "{e}"
        );
    }

    #[test]
    fn like_arrays() {
        let a = || arr(&[2, 2], vec![1u8, 2, 3, 4]);
        let r = one("zeros_like", vec![a()], Attrs::new());
        assert_eq!(
            (r.dtype(), r.shape(), vals::<u8>(&r)),
            (DType::UInt8, &[2usize, 2] as &[usize], vec![0; 4])
        );
        let r = one(
            "ones_like",
            vec![a()],
            attrs(&[("dtype", dt(DType::Float16))]),
        );
        assert_eq!(vals::<f16>(&r), vec![f16::ONE; 4]);
        let r = one("empty_like", vec![a()], attrs(&[("shape", Attr::Int(3))]));
        assert_eq!(
            (r.shape(), vals::<u8>(&r)),
            (&[3usize] as &[usize], vec![0; 3])
        );
        let r = one(
            "full_like",
            vec![a(), CpuInput::Scalar(Scalar::Float(300.5))],
            Attrs::new(),
        );
        assert_eq!(vals::<u8>(&r), vec![44; 4]);
        let r = one(
            "full_like",
            vec![a(), arr(&[2, 1], vec![true, false])],
            attrs(&[("dtype", dt(DType::Int64))]),
        );
        assert_eq!(vals::<i64>(&r), vec![1, 1, 0, 0]);
        let r = one(
            "zeros_like",
            vec![CpuInput::Scalar(Scalar::Int(3))],
            Attrs::new(),
        );
        assert_eq!((r.dtype(), r.shape()), (DType::Int64, &[] as &[usize]));
    }

    #[test]
    fn arange_fills_like_numpy() {
        let r = one("arange", vec![], attrs(&[("start", s(5))]));
        assert_eq!(
            (r.dtype(), vals::<i64>(&r)),
            (DType::Int64, vec![0, 1, 2, 3, 4])
        );
        let r = one(
            "arange",
            vec![],
            attrs(&[("start", s(0)), ("stop", s(1)), ("step", s(0.1))]),
        );
        assert_eq!(
            vals::<f64>(&r),
            vec![
                0.0,
                0.1,
                0.2,
                0.30000000000000004,
                0.4,
                0.5,
                0.6000000000000001,
                0.7000000000000001,
                0.8,
                0.9
            ]
        );
        let r = one(
            "arange",
            vec![],
            attrs(&[
                ("start", s(1e16)),
                ("stop", s(1e16 + 10.0)),
                ("step", s(3.0)),
            ]),
        );
        assert_eq!(
            vals::<f64>(&r),
            vec![
                1e16,
                1.0000000000000004e16,
                1.0000000000000008e16,
                1.0000000000000012e16
            ]
        );
        let r = one(
            "arange",
            vec![],
            attrs(&[
                ("start", s(0.1)),
                ("stop", s(1.0)),
                ("step", s(0.1)),
                ("dtype", dt(DType::Float32)),
            ]),
        );
        let want = [0.1f32, 0.2, 0.3, 0.4, 0.5, 0.6, 0.70000005, 0.8, 0.90000004];
        assert_eq!(vals::<f32>(&r), want.to_vec());
        let r = one(
            "arange",
            vec![],
            attrs(&[
                ("start", s(0.1)),
                ("stop", s(1.0)),
                ("step", s(0.1)),
                ("dtype", dt(DType::Float16)),
            ]),
        );
        let want = [
            0.0999755859375,
            0.199951171875,
            0.2998046875,
            0.39990234375,
            0.5,
            0.599609375,
            0.69970703125,
            0.7998046875,
            0.89990234375,
        ];
        assert_eq!(
            vals::<f16>(&r)
                .iter()
                .map(|x| x.to_f64())
                .collect::<Vec<_>>(),
            want.to_vec()
        );
        let r = one(
            "arange",
            vec![],
            attrs(&[
                ("start", s(0.1)),
                ("stop", s(1.0)),
                ("step", s(0.1)),
                ("dtype", dt(DType::BFloat16)),
            ]),
        );
        let want = [
            0.10009765625,
            0.2001953125,
            0.30078125,
            0.400390625,
            0.5,
            0.6015625,
            0.69921875,
            0.80078125,
            0.90234375,
        ];
        assert_eq!(
            vals::<bf16>(&r)
                .iter()
                .map(|x| x.to_f64())
                .collect::<Vec<_>>(),
            want.to_vec()
        );
        // NumPy's quirk: integer dtypes fill from int(start) and int(start + step).
        let r = one(
            "arange",
            vec![],
            attrs(&[
                ("start", s(-3)),
                ("stop", s(3)),
                ("step", s(0.5)),
                ("dtype", dt(DType::Int64)),
            ]),
        );
        assert_eq!(vals::<i64>(&r), vec![-3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
        let r = one(
            "arange",
            vec![],
            attrs(&[
                ("start", s(0)),
                ("stop", s(300)),
                ("step", s(100)),
                ("dtype", dt(DType::Int8)),
            ]),
        );
        assert_eq!(vals::<i8>(&r), vec![0, 100, -56]);
        let r = one(
            "arange",
            vec![],
            attrs(&[
                ("start", s(10)),
                ("stop", s(0)),
                ("step", s(-3)),
                ("dtype", dt(DType::UInt8)),
            ]),
        );
        assert_eq!(vals::<u8>(&r), vec![10, 7, 4, 1]);
        let r = one(
            "arange",
            vec![],
            attrs(&[
                ("start", s(-0.5)),
                ("stop", s(3.0)),
                ("dtype", dt(DType::UInt8)),
            ]),
        );
        assert_eq!(vals::<u8>(&r), vec![0, 0, 0, 0]);
        let r = one(
            "arange",
            vec![],
            attrs(&[
                ("start", s(0)),
                ("stop", s(5)),
                ("step", s(2)),
                ("dtype", dt(DType::Complex128)),
            ]),
        );
        assert_eq!(
            vals::<Complex64>(&r),
            vec![
                Complex64::new(0.0, 0.0),
                Complex64::new(2.0, 0.0),
                Complex64::new(4.0, 0.0)
            ]
        );
        let r = one(
            "arange",
            vec![],
            attrs(&[("start", s(2)), ("dtype", dt(DType::Bool))]),
        );
        assert_eq!(vals::<bool>(&r), vec![false, true]);
        let r = one("arange", vec![], attrs(&[("start", s(3)), ("stop", s(3))]));
        assert_eq!(r.shape(), &[0]);
        let big = (1u64 << 63) + 1;
        let r = one(
            "arange",
            vec![],
            attrs(&[
                ("start", s(big)),
                ("stop", s(big + 3)),
                ("dtype", dt(DType::UInt64)),
            ]),
        );
        assert_eq!(vals::<u64>(&r), vec![big, big + 1, big + 2]);
        for (a, msg) in [
            (
                attrs(&[
                    ("start", s(0)),
                    ("stop", s(300)),
                    ("step", s(200)),
                    ("dtype", dt(DType::Int8)),
                ]),
                "Python integer 200 out of bounds for int8",
            ),
            (
                attrs(&[
                    ("start", s(300.5)),
                    ("stop", s(302)),
                    ("dtype", dt(DType::UInt8)),
                ]),
                "Python integer 300 out of bounds for uint8",
            ),
            (
                attrs(&[("start", s(3)), ("dtype", dt(DType::Bool))]),
                "at most length 2",
            ),
        ] {
            let e = exec("arange", vec![], a).unwrap_err();
            assert!(e.to_string().contains(msg), "{e}");
        }
        // Long ranges take the parallel fill.
        let n = 200_000;
        let r = one(
            "arange",
            vec![],
            attrs(&[("start", s(n)), ("dtype", dt(DType::Int32))]),
        );
        assert!(
            vals::<i32>(&r)
                .iter()
                .enumerate()
                .all(|(i, &v)| v == i as i32)
        );
    }

    #[test]
    fn linspace_follows_numpy() {
        let r = one(
            "linspace",
            vec![],
            attrs(&[("start", s(0)), ("stop", s(1)), ("num", Attr::Int(7))]),
        );
        assert_eq!(
            vals::<f64>(&r),
            vec![
                0.0,
                0.16666666666666666,
                0.3333333333333333,
                0.5,
                0.6666666666666666,
                0.8333333333333333,
                1.0
            ]
        );
        let mut r = exec(
            "linspace",
            vec![],
            attrs(&[
                ("start", s(2)),
                ("stop", s(3)),
                ("num", Attr::Int(5)),
                ("endpoint", Attr::Bool(false)),
                ("retstep", Attr::Bool(true)),
            ]),
        )
        .unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(vals::<f64>(&r[0]), vec![2.0, 2.2, 2.4, 2.6, 2.8]);
        let step = r.remove(1);
        assert_eq!(
            (step.dtype(), step.shape(), vals::<f64>(&step)),
            (DType::Float64, &[] as &[usize], vec![0.2])
        );
        let r = exec(
            "linspace",
            vec![],
            attrs(&[
                ("start", s(0)),
                ("stop", s(1)),
                ("num", Attr::Int(0)),
                ("retstep", Attr::Bool(true)),
            ]),
        )
        .unwrap();
        assert_eq!(r[0].shape(), &[0]);
        assert!(vals::<f64>(&r[1])[0].is_nan());
        let r = exec(
            "linspace",
            vec![],
            attrs(&[
                ("start", s(0)),
                ("stop", s(1)),
                ("num", Attr::Int(1)),
                ("retstep", Attr::Bool(true)),
            ]),
        )
        .unwrap();
        assert_eq!(vals::<f64>(&r[0]), vec![0.0]);
        assert!(vals::<f64>(&r[1])[0].is_nan());
        let r = one(
            "linspace",
            vec![],
            attrs(&[
                ("start", s(0)),
                ("stop", s(10)),
                ("num", Attr::Int(5)),
                ("dtype", dt(DType::Int64)),
            ]),
        );
        assert_eq!(vals::<i64>(&r), vec![0, 2, 5, 7, 10]);
        let r = one(
            "linspace",
            vec![],
            attrs(&[
                ("start", s(-1)),
                ("stop", s(1)),
                ("num", Attr::Int(5)),
                ("dtype", dt(DType::Int64)),
            ]),
        );
        assert_eq!(vals::<i64>(&r), vec![-1, -1, 0, 0, 1]);
        let r = one(
            "linspace",
            vec![],
            attrs(&[
                ("start", s(0.5)),
                ("stop", s(-2.5)),
                ("num", Attr::Int(4)),
                ("dtype", dt(DType::Int8)),
            ]),
        );
        assert_eq!(vals::<i8>(&r), vec![0, -1, -2, -3]);
        let r = one(
            "linspace",
            vec![],
            attrs(&[
                ("start", s(0)),
                ("stop", s(1)),
                ("num", Attr::Int(3)),
                ("dtype", dt(DType::Bool)),
            ]),
        );
        assert_eq!(vals::<bool>(&r), vec![false, true, true]);
        // Denormal step: divide first, then multiply.
        let r = one(
            "linspace",
            vec![],
            attrs(&[
                ("start", s(1e-320)),
                ("stop", s(2e-320)),
                ("num", Attr::Int(3)),
            ]),
        );
        assert_eq!(vals::<f64>(&r), vec![1e-320, 1.5e-320, 2e-320]);
        let r = exec(
            "linspace",
            vec![],
            attrs(&[
                ("start", s(1)),
                ("stop", s(Complex64::new(1.0, 2.0))),
                ("num", Attr::Int(3)),
                ("retstep", Attr::Bool(true)),
            ]),
        )
        .unwrap();
        let z = Complex64::new;
        assert_eq!(
            vals::<Complex64>(&r[0]),
            vec![z(1.0, 0.0), z(1.0, 1.0), z(1.0, 2.0)]
        );
        assert_eq!(
            (r[1].dtype(), vals::<Complex64>(&r[1])),
            (DType::Complex128, vec![z(0.0, 1.0)])
        );
        let r = one(
            "linspace",
            vec![],
            attrs(&[
                ("start", s(0)),
                ("stop", s(1)),
                ("num", Attr::Int(3)),
                ("dtype", dt(DType::Float32)),
            ]),
        );
        assert_eq!(vals::<f32>(&r), vec![0.0, 0.5, 1.0]);
        let e = exec(
            "linspace",
            vec![],
            attrs(&[
                ("start", s(0)),
                ("stop", s(Complex64::new(0.0, 1.0))),
                ("num", Attr::Int(5)),
                ("dtype", dt(DType::Int64)),
            ]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("floor"), "{e}");
    }

    #[test]
    fn linspace_over_arrays() {
        // np.linspace(np.array([1, 2], np.float32), 5, 3, axis=-1, retstep=True):
        // computed in float32, the step has the ends' shape.
        let f32s = || arr(&[2], vec![1.0f32, 2.0]);
        let n = |v: i64| Attr::Int(v);
        let r = exec(
            "linspace",
            vec![f32s(), CpuInput::Scalar(Scalar::Int(5))],
            attrs(&[
                ("num", n(3)),
                ("axis", n(-1)),
                ("retstep", Attr::Bool(true)),
            ]),
        )
        .unwrap();
        assert_eq!(
            (r[0].dtype(), r[0].shape()),
            (DType::Float32, &[2usize, 3] as &[usize])
        );
        assert_eq!(vals::<f32>(&r[0]), vec![1.0, 3.0, 5.0, 2.0, 3.5, 5.0]);
        assert_eq!(
            (r[1].dtype(), vals::<f32>(&r[1])),
            (DType::Float32, vec![2.0, 1.5])
        );
        // np.linspace([[1, 2], [3, 4]], [10., 20.], 3, axis=1): shape (2, 3, 2).
        let r = one(
            "linspace",
            vec![
                arr(&[2, 2], vec![1i64, 2, 3, 4]),
                arr(&[2], vec![10.0f64, 20.0]),
            ],
            attrs(&[("num", n(3)), ("axis", n(1))]),
        );
        assert_eq!(r.shape(), &[2, 3, 2]);
        assert_eq!(
            vals::<f64>(&r),
            vec![
                1.0, 2.0, 5.5, 11.0, 10.0, 20.0, 3.0, 4.0, 6.5, 12.0, 10.0, 20.0
            ]
        );
        // An integer dtype floors: np.linspace(np.array([1, 2], np.int32), 5, 4, dtype=int16).
        let r = one(
            "linspace",
            vec![arr(&[2], vec![1i32, 2]), CpuInput::Scalar(Scalar::Int(5))],
            attrs(&[("num", n(4)), ("dtype", dt(DType::Int16))]),
        );
        assert_eq!(vals::<i16>(&r), vec![1, 2, 2, 3, 3, 4, 5, 5]);
        // The new axis must exist in the result; ends must broadcast.
        for (inputs, a) in [
            (
                vec![f32s(), CpuInput::Scalar(Scalar::Int(5))],
                attrs(&[("axis", n(2))]),
            ),
            (
                vec![f32s(), arr(&[3], vec![1.0f32, 2.0, 3.0])],
                Attrs::new(),
            ),
        ] {
            assert!(exec("linspace", inputs, a).is_err());
        }
    }

    #[test]
    fn logspace_and_geomspace_follow_numpy() {
        let int = |v: i64| CpuInput::Scalar(Scalar::Int(v.into()));
        // np.logspace(0, 2, 3, base=np.array([2., 3.]), axis=-1): the base gets its own axis.
        let r = one(
            "logspace",
            vec![int(0), int(2), arr(&[2], vec![2.0f64, 3.0])],
            attrs(&[("num", Attr::Int(3)), ("axis", Attr::Int(-1))]),
        );
        assert_eq!(r.shape(), &[2, 3]);
        assert_eq!(vals::<f64>(&r), vec![1.0, 2.0, 4.0, 1.0, 3.0, 9.0]);
        // A Python-int base keeps float32 exponents float32.
        let r = one(
            "logspace",
            vec![arr(&[2], vec![0.0f32, 1.0]), int(2), int(3)],
            attrs(&[("num", Attr::Int(3))]),
        );
        assert_eq!(r.dtype(), DType::Float32);
        let geom = |start: CpuInput, stop: CpuInput, num: i64, extra: &[(&str, Attr)]| {
            let mut a = attrs(extra);
            a.set("num", Attr::Int(num));
            exec("geomspace", vec![start, stop], a)
        };
        // Negative ends; ends of different signs give NaN between exact ends.
        let r = geom(int(-1000), int(-1), 4, &[]).unwrap();
        assert_eq!(vals::<f64>(&r[0]), vec![-1000.0, -100.0, -10.0, -1.0]);
        let v = vals::<f64>(&geom(int(-1), int(100), 4, &[]).unwrap()[0]);
        assert_eq!((v[0], v[3]), (-1.0, 100.0));
        assert!(v[1].is_nan() && v[2].is_nan());
        // Imaginary ends: a straight line up the imaginary axis.
        let z = |im: f64| Complex64::new(0.0, im);
        let r = geom(
            CpuInput::Scalar(Scalar::Complex(0.0, 1.0)),
            CpuInput::Scalar(Scalar::Complex(0.0, 1000.0)),
            4,
            &[],
        )
        .unwrap();
        assert_eq!(
            vals::<Complex64>(&r[0]),
            vec![z(1.0), z(10.0), z(100.0), z(1000.0)]
        );
        // np.geomspace(1, 256, 9, dtype=int) truncates pow's rounding, as NumPy does.
        let r = geom(int(1), int(256), 9, &[("dtype", dt(DType::Int64))]).unwrap();
        assert_eq!(vals::<i64>(&r[0]), vec![1, 2, 4, 7, 16, 32, 63, 127, 256]);
        // A zero end is an error of the kernel (it depends on the data).
        let e = geom(arr(&[2], vec![1.0f64, 0.0]), int(10), 3, &[]).unwrap_err();
        assert!(e.to_string().contains("cannot include zero"), "{e}");
    }

    #[test]
    fn eye_and_identity() {
        let r = one(
            "eye",
            vec![],
            attrs(&[
                ("N", Attr::Int(3)),
                ("M", Attr::Int(4)),
                ("k", Attr::Int(1)),
                ("dtype", dt(DType::Int16)),
            ]),
        );
        assert_eq!(r.shape(), &[3, 4]);
        assert_eq!(vals::<i16>(&r), vec![0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
        let r = one(
            "eye",
            vec![],
            attrs(&[
                ("N", Attr::Int(2)),
                ("M", Attr::Int(3)),
                ("k", Attr::Int(-1)),
            ]),
        );
        assert_eq!(vals::<f64>(&r), vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
        let r = one(
            "eye",
            vec![],
            attrs(&[("N", Attr::Int(2)), ("k", Attr::Int(5))]),
        );
        assert_eq!(vals::<f64>(&r), vec![0.0; 4]);
        let r = one(
            "identity",
            vec![],
            attrs(&[("n", Attr::Int(2)), ("dtype", dt(DType::Bool))]),
        );
        assert_eq!(vals::<bool>(&r), vec![true, false, false, true]);
        let r = one("eye", vec![], attrs(&[("N", Attr::Int(0))]));
        assert_eq!(r.shape(), &[0, 0]);
    }

    #[test]
    fn conversions() {
        let a = || arr(&[2, 2], vec![1.5f64, -2.5, 300.0, f64::NAN]);
        let r = one("astype", vec![a()], attrs(&[("dtype", dt(DType::Int32))]));
        assert_eq!(vals::<i32>(&r), vec![1, -2, 300, i32::MIN]);
        let r = one("astype", vec![a()], attrs(&[("dtype", dt(DType::UInt8))]));
        assert_eq!(r.dtype(), DType::UInt8);
        let r = one(
            "astype",
            vec![a()],
            attrs(&[
                ("dtype", dt(DType::Float32)),
                ("casting", Attr::Str("same_kind".into())),
            ]),
        );
        assert_eq!(r.dtype(), DType::Float32);
        let e = exec(
            "astype",
            vec![a()],
            attrs(&[
                ("dtype", dt(DType::Int32)),
                ("casting", Attr::Str("safe".into())),
            ]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("Cannot cast array data from dtype('float64') to dtype('int32') according to the rule 'safe'"), "{e}");
        let e = exec(
            "astype",
            vec![a()],
            attrs(&[
                ("dtype", dt(DType::Int32)),
                ("casting", Attr::Str("bogus".into())),
            ]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("casting must be one of"), "{e}");
        let e = exec(
            "astype",
            vec![arr(&[1], vec![1i8])],
            attrs(&[
                ("dtype", dt(DType::UInt64)),
                ("casting", Attr::Str("same_kind".into())),
            ]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("same_kind"), "{e}");
        let r = one(
            "astype",
            vec![arr(&[1], vec![u64::MAX])],
            attrs(&[
                ("dtype", dt(DType::Int8)),
                ("casting", Attr::Str("same_kind".into())),
            ]),
        );
        assert_eq!(vals::<i8>(&r), vec![-1]);

        let r = one(
            "array",
            vec![CpuInput::Scalar(Scalar::Int(3))],
            attrs(&[("ndmin", Attr::Int(2))]),
        );
        assert_eq!(
            (r.dtype(), r.shape(), vals::<i64>(&r)),
            (DType::Int64, &[1usize, 1] as &[usize], vec![3])
        );
        let r = one(
            "array",
            vec![a()],
            attrs(&[("dtype", dt(DType::Complex64))]),
        );
        assert_eq!(r.dtype(), DType::Complex64);
        let r = one("array", vec![a()], attrs(&[("copy", Attr::Bool(false))]));
        assert_eq!(r.dtype(), DType::Float64);
        let e = exec(
            "array",
            vec![a()],
            attrs(&[("copy", Attr::Bool(false)), ("dtype", dt(DType::Float32))]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("Unable to avoid copy"), "{e}");
        let e = exec(
            "array",
            vec![CpuInput::Scalar(Scalar::Int(-1))],
            attrs(&[("dtype", dt(DType::UInt8))]),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("Python integer -1 out of bounds for uint8"),
            "{e}"
        );
        let r = one(
            "asarray",
            vec![CpuInput::Scalar(Scalar::Float(2.5))],
            Attrs::new(),
        );
        assert_eq!((r.dtype(), r.shape()), (DType::Float64, &[] as &[usize]));
        let r = one(
            "asanyarray",
            vec![arr(&[3], vec![1u16, 2, 3])],
            attrs(&[("dtype", dt(DType::Int8))]),
        );
        assert_eq!(vals::<i8>(&r), vec![1, 2, 3]);
        let r = one("copy", vec![a()], Attrs::new());
        assert_eq!(r.shape(), &[2, 2]);

        // A transposed array comes back C-contiguous, a 0-d one as shape (1,).
        let t = host(&[2, 3], vec![1i32, 2, 3, 4, 5, 6])
            .typed::<i32>()
            .unwrap()
            .clone()
            .reversed_axes();
        let r = one(
            "ascontiguousarray",
            vec![CpuInput::Array(i32::wrap(t))],
            Attrs::new(),
        );
        let c = r.typed::<i32>().unwrap();
        assert!(c.is_standard_layout());
        assert_eq!(c.as_slice().unwrap(), &[1, 4, 2, 5, 3, 6]);
        let r = one(
            "ascontiguousarray",
            vec![arr(&[], vec![7i32])],
            Attrs::new(),
        );
        assert_eq!(
            (r.shape(), vals::<i32>(&r)),
            (&[1usize] as &[usize], vec![7])
        );
    }
}
