//! Kernels of the math ops that are not table rows (`ndserve_proto::ops::math`):
//! `divmod`, `around`/`round`, `angle`, `clip`, `isclose`, `allclose`, `array_equal`.
//! Where NumPy composes ufuncs (`divmod`, `clip`), these compose the row kernels.

use ndarray::IxDyn;
use ndserve_proto::ops::math::clip_bound;
use ndserve_proto::{Attrs, DType, Error, Result};
use num_complex::{Complex, Complex64};

use super::array::{Element, HostArray, Nd};
use super::cast::cast;
use super::elem::FloatElem;
use super::elementwise::map1;
use super::kernels::{CpuInput, KernelCall, KernelFn, run};

/// The kernels of this family.
pub fn kernels() -> Vec<(&'static str, KernelFn)> {
    vec![
        ("divmod", divmod as KernelFn),
        ("around", around),
        ("round", around),
        ("angle", angle),
        ("clip", clip),
        ("isclose", isclose),
        ("allclose", isclose),
        ("array_equal", array_equal),
    ]
}

/// Runs elementwise `op` on `inputs` with the metas `infer` gives.
fn sub(op: &str, inputs: &[CpuInput]) -> Result<HostArray> {
    let attrs = Attrs::new();
    let metas: Vec<_> = inputs.iter().map(CpuInput::meta).collect();
    let outs = ndserve_proto::ops::infer(op, &metas, &attrs)?;
    Ok(run(op, inputs, &attrs, &outs)?.remove(0))
}

fn divmod(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let q = sub("floor_divide", call.inputs).map_err(|e| e.with_op(call.op))?;
    let r = sub("remainder", call.inputs).map_err(|e| e.with_op(call.op))?;
    Ok(vec![q, r])
}

fn clip(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let a = call.metas[0].as_array().dtype;
    let out = &call.outs[0];
    let bound = |i: &CpuInput| match i {
        CpuInput::Scalar(s) => CpuInput::Scalar(clip_bound(a, *s)),
        // bfloat16 clips in float32, as in NumPy (see the contract's rule).
        CpuInput::Array(x) if x.dtype() == DType::BFloat16 && out.dtype == DType::Float32 => {
            CpuInput::Array(cast(x, DType::Float32))
        }
        other => other.clone(),
    };
    let lo = sub("maximum", &[bound(&call.inputs[0]), bound(&call.inputs[1])])
        .map_err(|e| e.with_op(call.op))?;
    let r = sub("minimum", &[CpuInput::Array(lo), bound(&call.inputs[2])])
        .map_err(|e| e.with_op(call.op))?;
    let r = cast(&r, out.dtype);
    Ok(vec![broadcast_to(&r, &out.shape)])
}

fn broadcast_to(a: &HostArray, shape: &[usize]) -> HostArray {
    if a.shape() == shape {
        return a.clone();
    }
    crate::with_array!(a, x, T => {
        T::wrap(x.broadcast(IxDyn(shape)).expect("broadcasts").to_owned().into_shared())
    })
}

/// Round half to even.
#[inline]
fn rint<T: FloatElem>(x: T) -> T {
    let r = x.round();
    let two = T::one() + T::one();
    if (r - x).abs() == T::one() / two {
        (x / two).round() * two
    } else {
        r
    }
}

/// NumPy's `around` of one float: `rint(x * 10^d) / 10^d` (`d < 0`: divide first).
#[inline]
fn round_dec<T: FloatElem>(x: T, d: i64) -> T {
    let p = T::from(10f64.powi(d.unsigned_abs().min(400) as i32)).unwrap_or(T::infinity());
    if d >= 0 {
        rint(x * p) / p
    } else {
        rint(x / p) * p
    }
}

fn round_float<T: FloatElem>(a: &Nd<T>, d: i64) -> HostArray {
    T::wrap(map1(a, move |x| round_dec(x, d)))
}

fn round_complex<R: FloatElem>(a: &Nd<Complex<R>>, d: i64) -> HostArray
where
    Complex<R>: Element,
{
    Complex::<R>::wrap(map1(a, move |z: Complex<R>| {
        Complex::new(round_dec(z.re, d), round_dec(z.im, d))
    }))
}

fn around(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let d = call.attrs.int(call.op, "decimals")?.unwrap_or(0);
    let out = &call.outs[0];
    let x = call.inputs[0].to_array(out.dtype);
    let r = match &x {
        HostArray::F16(a) => round_float(a, d),
        HostArray::BF16(a) => round_float(a, d),
        HostArray::F32(a) => round_float(a, d),
        HostArray::F64(a) => round_float(a, d),
        HostArray::C64(a) => round_complex(a, d),
        HostArray::C128(a) => round_complex(a, d),
        _ if d >= 0 => x.clone(),
        // Integers with negative decimals round in float64 and cast back.
        _ => {
            let f = cast(&x, DType::Float64);
            let f = f.typed::<f64>().expect("float64");
            cast(&round_float(f, d), out.dtype)
        }
    };
    Ok(vec![r])
}

fn angle_real<T: FloatElem>(a: &Nd<T>, deg: bool) -> HostArray {
    let k = T::from(180.0 / std::f64::consts::PI).expect("constant");
    T::wrap(map1(a, move |x: T| {
        let r = T::zero().atan2(x);
        if deg { r * k } else { r }
    }))
}

fn angle_complex<R: FloatElem>(a: &Nd<Complex<R>>, deg: bool) -> HostArray
where
    Complex<R>: Element,
{
    let k = R::from(180.0 / std::f64::consts::PI).expect("constant");
    R::wrap(map1(a, move |z: Complex<R>| {
        let r = z.im.atan2(z.re);
        if deg { r * k } else { r }
    }))
}

fn angle(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let deg = call.attrs.bool_or(call.op, "deg", false)?;
    let out = &call.outs[0];
    let x = call.inputs[0].as_array();
    let x = if x.dtype().is_complex() {
        x
    } else {
        cast(&x, out.dtype)
    };
    let r = match &x {
        HostArray::F16(a) => angle_real(a, deg),
        HostArray::BF16(a) => angle_real(a, deg),
        HostArray::F32(a) => angle_real(a, deg),
        HostArray::F64(a) => angle_real(a, deg),
        HostArray::C64(a) => angle_complex(a, deg),
        HostArray::C128(a) => angle_complex(a, deg),
        _ => return Err(Error::internal(call.op, "angle of a non-inexact array")),
    };
    Ok(vec![r])
}

/// Both inputs as complex128, broadcast to `shape`, in C order.
fn as_c128(inputs: &[CpuInput], shape: &[usize]) -> (Vec<Complex64>, Vec<Complex64>) {
    let one = |i: &CpuInput| -> Vec<Complex64> {
        let a = i.to_array(DType::Complex128);
        let a = a.typed::<Complex64>().expect("complex128");
        a.broadcast(IxDyn(shape))
            .expect("broadcasts")
            .iter()
            .copied()
            .collect()
    };
    (one(&inputs[0]), one(&inputs[1]))
}

fn is_nan(z: Complex64) -> bool {
    z.re.is_nan() || z.im.is_nan()
}

fn isclose(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let rtol = call.attrs.float(call.op, "rtol")?.unwrap_or(1e-5);
    let atol = call.attrs.float(call.op, "atol")?.unwrap_or(1e-8);
    let equal_nan = call.attrs.bool_or(call.op, "equal_nan", false)?;
    let shape = ndserve_proto::shape::broadcast_all(
        call.op,
        call.metas.iter().map(ndserve_proto::Input::shape),
    )?;
    let (x, y) = as_c128(call.inputs, &shape);
    let v: Vec<bool> = x
        .iter()
        .zip(&y)
        .map(|(&a, &b)| {
            let fin = b.re.is_finite() && b.im.is_finite();
            ((a - b).norm() <= atol + rtol * b.norm() && fin)
                || a == b
                || (equal_nan && is_nan(a) && is_nan(b))
        })
        .collect();
    let out = &call.outs[0];
    let r = if call.op == "allclose" {
        ndarray::arr0(v.iter().all(|&b| b)).into_dyn().into_shared()
    } else {
        Nd::from_shape_vec(IxDyn(&out.shape), v).expect("shape")
    };
    Ok(vec![bool::wrap(r)])
}

fn array_equal(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let equal_nan = call.attrs.bool_or(call.op, "equal_nan", false)?;
    let (s0, s1) = (call.metas[0].shape(), call.metas[1].shape());
    let all = if s0 != s1 {
        false
    } else {
        let eq = sub("equal", call.inputs).map_err(|e| e.with_op(call.op))?;
        let eq: Vec<bool> = eq.typed::<bool>().expect("bool").iter().copied().collect();
        if equal_nan {
            let (x, y) = as_c128(call.inputs, s0);
            eq.iter()
                .zip(x.iter().zip(&y))
                .all(|(&e, (&a, &b))| e || (is_nan(a) && is_nan(b)))
        } else {
            eq.iter().all(|&e| e)
        }
    };
    Ok(vec![bool::wrap(
        ndarray::arr0(all).into_dyn().into_shared(),
    )])
}
