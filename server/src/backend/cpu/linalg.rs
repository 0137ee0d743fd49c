//! Products: `matmul` and `dot`.
//!
//! Both inputs are cast to the result dtype. float32/float64/complex run on faer's GEMM;
//! float16/bfloat16 are widened to float32 (NumPy accumulates them in float32) and rounded
//! once; integers wrap (`+=` of wrapping products, as NumPy's C loops do); bool is OR of
//! ANDs.

use half::{bf16, f16};
use ndarray::{Array, Axis, IxDyn};
use ndserve_proto::ops::linalg::{DotPlan, dot_plan, matmul_plan};
use ndserve_proto::{Error, Result};
use num_complex::{Complex32, Complex64};
use rayon::prelude::*;

use super::array::{Element, HostArray, Nd};
use super::kernels::KernelCall;
use super::shape::reshape_c;

/// Products with fewer multiply-adds than this run on the calling thread.
const PAR_MIN_FLOPS: usize = 1 << 18;

/// The kernels of this family.
pub fn kernels() -> Vec<(&'static str, super::KernelFn)> {
    vec![("matmul", matmul as super::KernelFn), ("dot", dot)]
}

/// What the products need of an element type.
pub(crate) trait MatElem: Element {
    /// `out = a @ b`, all row-major: `a` is `m x k`, `b` is `k x n`, `out` is `m x n`
    /// (overwritten). `par`: may use several threads.
    fn gemm(out: &mut [Self], a: &[Self], b: &[Self], m: usize, k: usize, n: usize, par: bool);
    /// One product, as NumPy's `multiply` gives it.
    fn mul(a: Self, b: Self) -> Self;
}

fn faer_gemm<T>(out: &mut [T], a: &[T], b: &[T], m: usize, k: usize, n: usize, par: bool)
where
    T: faer::traits::ComplexField,
{
    use faer::linalg::matmul::matmul as mm;
    use faer::{Accum, MatMut, MatRef, Par};
    let par = if par { Par::rayon(0) } else { Par::Seq };
    // Row-major C = A B is column-major C^T = B^T A^T over the same memory: faer gets
    // every operand in the column-major layout its kernels are built for.
    let dst = MatMut::from_column_major_slice_mut(out, n, m);
    let lhs = MatRef::from_column_major_slice(b, n, k);
    let rhs = MatRef::from_column_major_slice(a, k, m);
    mm(dst, Accum::Replace, lhs, rhs, T::one_impl(), par);
}

macro_rules! faer_elem {
    ($($T:ty),*) => {$(
        impl MatElem for $T {
            fn gemm(out: &mut [Self], a: &[Self], b: &[Self], m: usize, k: usize, n: usize, par: bool) {
                if k == 0 {
                    out.fill(<$T>::default());
                } else if m > 0 && n > 0 {
                    faer_gemm(out, a, b, m, k, n, par);
                }
            }
            #[inline(always)]
            fn mul(a: Self, b: Self) -> Self { a * b }
        }
    )*};
}

faer_elem!(f32, f64, Complex32, Complex64);

macro_rules! half_elem {
    ($($T:ty),*) => {$(
        impl MatElem for $T {
            fn gemm(out: &mut [Self], a: &[Self], b: &[Self], m: usize, k: usize, n: usize, par: bool) {
                let a32: Vec<f32> = a.iter().map(|x| x.to_f32()).collect();
                let b32: Vec<f32> = b.iter().map(|x| x.to_f32()).collect();
                let mut o32 = vec![0f32; out.len()];
                f32::gemm(&mut o32, &a32, &b32, m, k, n, par);
                for (o, v) in out.iter_mut().zip(o32) {
                    *o = <$T>::from_f32(v);
                }
            }
            #[inline(always)]
            fn mul(a: Self, b: Self) -> Self { <$T>::from_f32(a.to_f32() * b.to_f32()) }
        }
    )*};
}

half_elem!(f16, bf16);

/// The i-k-j loop over rows of the result, rows in parallel for large products.
/// `row(out_row, a_row)` accumulates one row into a zeroed `out_row`.
fn naive_gemm<T: Element>(
    out: &mut [T],
    a: &[T],
    k: usize,
    n: usize,
    par: bool,
    row: impl Fn(&mut [T], &[T]) + Sync,
) {
    if n == 0 {
        return;
    }
    let body = |(i, o): (usize, &mut [T])| {
        o.fill(T::default());
        row(o, &a[i * k..(i + 1) * k]);
    };
    if par {
        out.par_chunks_mut(n).enumerate().for_each(body);
    } else {
        out.chunks_mut(n).enumerate().for_each(body);
    }
}

macro_rules! int_elem {
    ($($T:ty),*) => {$(
        impl MatElem for $T {
            fn gemm(out: &mut [Self], a: &[Self], b: &[Self], m: usize, k: usize, n: usize, par: bool) {
                let _ = m;
                naive_gemm(out, a, k, n, par, |o, ar| {
                    for (p, &x) in ar.iter().enumerate() {
                        if x == 0 {
                            continue;
                        }
                        for (o, &y) in o.iter_mut().zip(&b[p * n..(p + 1) * n]) {
                            *o = o.wrapping_add(x.wrapping_mul(y));
                        }
                    }
                });
            }
            #[inline(always)]
            fn mul(a: Self, b: Self) -> Self { a.wrapping_mul(b) }
        }
    )*};
}

int_elem!(i8, i16, i32, i64, u8, u16, u32, u64);

impl MatElem for bool {
    fn gemm(out: &mut [Self], a: &[Self], b: &[Self], _m: usize, k: usize, n: usize, par: bool) {
        naive_gemm(out, a, k, n, par, |o, ar| {
            for (p, &x) in ar.iter().enumerate() {
                if x {
                    for (o, &y) in o.iter_mut().zip(&b[p * n..(p + 1) * n]) {
                        *o |= y;
                    }
                }
            }
        });
    }
    #[inline(always)]
    fn mul(a: Self, b: Self) -> Self {
        a & b
    }
}

/// `a` as a C-order slice (borrowed when it already is one).
fn contiguous<T: Element>(x: &Nd<T>) -> std::borrow::Cow<'_, [T]> {
    match x.as_slice() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(x.as_standard_layout().iter().copied().collect()),
    }
}

/// Batched `a @ b`: `a` is `[ba..., m, k]`, `b` is `[bb..., k, n]`, the batch shapes
/// broadcast to `batch`. Returns the `[batch..., m, n]` elements in C order.
fn batched<T: MatElem>(
    a: &Nd<T>,
    b: &Nd<T>,
    batch: &[usize],
    m: usize,
    k: usize,
    n: usize,
) -> Vec<T> {
    let nb = batch.len();
    let total: usize = batch.iter().product();
    let mut out = vec![T::default(); total * m * n];
    if out.is_empty() {
        return out;
    }
    let pad = |s: &[usize]| -> Vec<usize> {
        let bs = &s[..s.len() - 2];
        let mut v = vec![1; nb - bs.len()];
        v.extend_from_slice(bs);
        v
    };
    let pb = pad(b.shape());
    let (ad, bd) = (contiguous(a), contiguous(b));
    let flops = total
        .saturating_mul(m)
        .saturating_mul(n)
        .saturating_mul(k.max(1));
    let par = flops >= PAR_MIN_FLOPS;
    if pb.iter().all(|&d| d == 1) {
        // One right matrix: the batch of `a` folds into its rows.
        T::gemm(&mut out, &ad, &bd, total * m, k, n, par);
        return out;
    }
    let bs = |s: &[usize]| s[..s.len() - 2].to_vec();
    let (oa, ob) = (
        batch_offsets(&bs(a.shape()), batch),
        batch_offsets(&bs(b.shape()), batch),
    );
    let one = |(t, o): (usize, &mut [T]), par: bool| {
        let am = &ad[oa[t] * m * k..(oa[t] + 1) * m * k];
        let bm = &bd[ob[t] * k * n..(ob[t] + 1) * k * n];
        T::gemm(o, am, bm, m, k, n, par);
    };
    if par && total >= 2 * rayon::current_num_threads() {
        out.par_chunks_mut(m * n)
            .enumerate()
            .for_each(|x| one(x, false));
    } else {
        let each = m.saturating_mul(n).saturating_mul(k.max(1)) >= PAR_MIN_FLOPS;
        out.chunks_mut(m * n).enumerate().for_each(|x| one(x, each));
    }
    out
}

/// Offsets (in matrices) of each element of `batch` into an operand whose batch shape is
/// `own`, broadcast.
pub(crate) fn batch_offsets(own: &[usize], batch: &[usize]) -> Vec<usize> {
    let nb = batch.len();
    let mut pad = vec![1; nb - own.len()];
    pad.extend_from_slice(own);
    let mut strides = vec![0; nb];
    let mut s = 1;
    for d in (0..nb).rev() {
        strides[d] = if pad[d] == 1 { 0 } else { s };
        s *= pad[d];
    }
    let total: usize = batch.iter().product();
    (0..total)
        .map(|mut t| {
            let mut off = 0;
            for d in (0..nb).rev() {
                off += (t % batch[d]) * strides[d];
                t /= batch[d];
            }
            off
        })
        .collect()
}

fn matmul(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let plan = matmul_plan(&call.call())?;
    let dtype = plan.out.dtype;
    let a = call.inputs[0].to_array(dtype);
    let b = call.inputs[1].to_array(dtype);
    let (m, k, n) = (plan.m, plan.k, plan.n);
    Ok(vec![crate::with_dtype!(dtype, T => {
        let x = a.typed::<T>().expect("cast").clone();
        let y = b.typed::<T>().expect("cast").clone();
        let x = if x.ndim() == 1 { x.insert_axis(Axis(0)) } else { x };
        let y = if y.ndim() == 1 { y.insert_axis(Axis(1)) } else { y };
        let v = batched(&x, &y, &plan.batch, m, k, n);
        let out = Array::from_shape_vec(IxDyn(&plan.out.shape), v)
            .map_err(|e| Error::internal(call.op, e.to_string()))?;
        <T as Element>::wrap(out.into_shared())
    })])
}

fn dot(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let plan = dot_plan(&call.call())?;
    let dtype = plan.out.dtype;
    let shape = plan.out.shape.clone();
    let a = call.inputs[0].to_array(dtype);
    let b = call.inputs[1].to_array(dtype);
    Ok(vec![crate::with_dtype!(dtype, T => {
        let x = a.typed::<T>().expect("cast");
        let y = b.typed::<T>().expect("cast");
        let out = match plan.plan {
            DotPlan::Multiply(_) => {
                let bad = || Error::internal(call.op, "broadcast failed after infer accepted it");
                let xv = x.broadcast(IxDyn(&shape)).ok_or_else(bad)?;
                let yv = y.broadcast(IxDyn(&shape)).ok_or_else(bad)?;
                ndarray::Zip::from(&xv).and(&yv).map_collect(|&p, &q| <T as MatElem>::mul(p, q))
            }
            DotPlan::Contract { k, .. } => {
                let m = x.len().checked_div(k).unwrap_or_else(|| x.shape()[..x.ndim() - 1].iter().product());
                let xm = reshape_c(x, &[m, k]);
                // b's contracted axis first: (K, N).
                let bk = if y.ndim() == 1 { 0 } else { y.ndim() - 2 };
                let mut perm = vec![bk];
                perm.extend((0..y.ndim()).filter(|&i| i != bk));
                let n: usize = perm[1..].iter().map(|&i| y.shape()[i]).product();
                let yt = y.clone().permuted_axes(IxDyn(&perm));
                let ym = reshape_c(&yt, &[k, n]);
                let v = batched(&xm, &ym, &[], m, k, n);
                Array::from_shape_vec(IxDyn(&shape), v)
                    .map_err(|e| Error::internal(call.op, e.to_string()))?
            }
        };
        <T as Element>::wrap(out.into_shared())
    })])
}

#[cfg(test)]
mod tests {
    use ndarray::ArcArray;
    use ndserve_proto::{Attrs, DType, Scalar};

    use super::super::cast::cast;
    use super::super::kernels::{CpuInput, run};
    use super::super::testing::{arange, arr, run_inputs, vals};
    use super::*;

    fn op2(name: &str, a: CpuInput, b: CpuInput) -> ndserve_proto::Result<HostArray> {
        Ok(run_inputs(name, &[a, b], &Attrs::new())?.remove(0))
    }

    fn mm(a: &HostArray, b: &HostArray) -> HostArray {
        op2(
            "matmul",
            CpuInput::Array(a.clone()),
            CpuInput::Array(b.clone()),
        )
        .unwrap()
    }

    fn dot(a: &HostArray, b: &HostArray) -> HostArray {
        op2(
            "dot",
            CpuInput::Array(a.clone()),
            CpuInput::Array(b.clone()),
        )
        .unwrap()
    }

    #[test]
    fn matmul_shapes_and_values_match_numpy() {
        let a = arange(DType::Int64, &[2, 1, 2, 3]);
        let b = arr(DType::Int64, &[3, 3, 2], (0..18).map(|i| i as f64 - 5.0));
        let r = mm(&a, &b);
        assert_eq!(r.shape(), &[2, 3, 2, 2]);
        let want = [
            -5., -2., -32., -20., 13., 16., 40., 52., 31., 34., 112., 124., -59., -38., -86., -56.,
            67., 88., 94., 124., 193., 214., 274., 304.,
        ];
        assert_eq!(vals(&r), want);
        // The same in float64 and float32 (faer), complex128 and int16.
        for dt in [
            DType::Float64,
            DType::Float32,
            DType::Complex128,
            DType::Int16,
        ] {
            let r = mm(&cast(&a, dt), &cast(&b, dt));
            assert_eq!((r.dtype(), vals(&r)), (dt, want.to_vec()), "{dt}");
        }
        let v3 = arange(DType::Int32, &[3]);
        assert_eq!(vals(&mm(&v3, &arange(DType::Int32, &[3, 2]))), [10., 13.]);
        assert_eq!(vals(&mm(&arange(DType::Int32, &[2, 3]), &v3)), [5., 14.]);
        let s = mm(&v3, &v3);
        assert_eq!((s.shape(), vals(&s)), (&[][..], vec![5.0]));
        // Mixed dtypes promote first.
        let r = mm(&v3, &arange(DType::Float32, &[3]));
        assert_eq!(r.dtype(), DType::Float64);
        // Size-0 dims: k = 0 gives zeros.
        let z = mm(
            &arange(DType::Float64, &[2, 0]),
            &arange(DType::Float64, &[0, 3]),
        );
        assert_eq!((z.shape(), vals(&z)), (&[2, 3][..], vec![0.0; 6]));
        let z = mm(
            &arange(DType::Int8, &[4, 0, 2]),
            &arange(DType::Int8, &[2, 5]),
        );
        assert_eq!(z.shape(), &[4, 0, 5]);
        assert!(
            op2(
                "matmul",
                CpuInput::Array(v3.clone()),
                CpuInput::Array(arange(DType::Int32, &[2]))
            )
            .is_err()
        );
        assert!(
            op2(
                "matmul",
                CpuInput::Scalar(Scalar::Int(2)),
                CpuInput::Array(v3)
            )
            .is_err()
        );
    }

    #[test]
    fn matmul_dtype_rules() {
        // Integers wrap.
        let a = arr(DType::Int8, &[1, 2], [100.0, 100.0]);
        let b = arr(DType::Int8, &[2, 1], [100.0, 100.0]);
        assert_eq!(mm(&a, &b).typed::<i8>().unwrap()[[0, 0]], 32);
        let u = HostArray::U64(
            ArcArray::from_shape_vec(IxDyn(&[1, 2]), vec![(1 << 63) + 1, 3]).unwrap(),
        );
        let v = HostArray::U64(ArcArray::from_shape_vec(IxDyn(&[2, 1]), vec![2, 1 << 62]).unwrap());
        assert_eq!(
            mm(&u, &v).typed::<u64>().unwrap()[[0, 0]],
            13835058055282163714
        );
        // bool is OR of ANDs.
        let p = arr(DType::Bool, &[2, 2], [1., 0., 0., 0.]);
        let q = arr(DType::Bool, &[2, 2], [0., 1., 1., 1.]);
        let r = mm(&p, &q);
        assert_eq!((r.dtype(), vals(&r)), (DType::Bool, vec![0., 1., 0., 0.]));
        // float16 accumulates in float32.
        let h = arr(DType::Float16, &[1, 3], [0.1, 0.2, 0.3]);
        let ht = op2(
            "matmul",
            CpuInput::Array(h.clone()),
            CpuInput::Array(arr(DType::Float16, &[3, 1], [0.1, 0.2, 0.3])),
        )
        .unwrap();
        assert_eq!(
            ht.typed::<f16>().unwrap()[[0, 0]],
            f16::from_f64(0.1400146484375)
        );
        let c = HostArray::C128(
            ArcArray::from_shape_vec(
                IxDyn(&[1, 2]),
                vec![Complex64::new(1., 2.), Complex64::new(3., -1.)],
            )
            .unwrap(),
        );
        let d = HostArray::C128(
            ArcArray::from_shape_vec(
                IxDyn(&[2, 1]),
                vec![Complex64::new(2., -1.), Complex64::new(0., 0.5)],
            )
            .unwrap(),
        );
        assert_eq!(
            mm(&c, &d).typed::<Complex64>().unwrap()[[0, 0]],
            Complex64::new(4.5, 4.5)
        );
    }

    #[test]
    fn large_and_batched_products_agree_with_loops() {
        let (m, k, n) = (70, 130, 90);
        let av: Vec<f64> = (0..m * k).map(|i| ((i * 31) % 17) as f64 - 8.0).collect();
        let bv: Vec<f64> = (0..k * n).map(|i| ((i * 7) % 13) as f64 - 6.0).collect();
        let want: Vec<f64> = (0..m * n)
            .map(|t| {
                (0..k)
                    .map(|p| av[(t / n) * k + p] * bv[p * n + t % n])
                    .sum()
            })
            .collect();
        for dt in [
            DType::Float64,
            DType::Float32,
            DType::Int32,
            DType::BFloat16,
            DType::Complex64,
        ] {
            let (a, b) = (arr(dt, &[m, k], av.clone()), arr(dt, &[k, n], bv.clone()));
            let r = mm(&a, &b);
            if dt == DType::BFloat16 {
                let got = vals(&r);
                for (g, w) in got.iter().zip(&want) {
                    assert!((g - w).abs() <= w.abs() / 64.0 + 1e-9, "{g} vs {w}");
                }
            } else {
                assert_eq!(vals(&r), want, "{dt}");
            }
        }
        // Batches on both sides, broadcast, and a transposed operand.
        let a = arr(
            DType::Float64,
            &[4, 1, m, k],
            av.iter().cycle().take(4 * m * k).copied(),
        );
        let b = arr(
            DType::Float64,
            &[3, k, n],
            bv.iter().cycle().take(3 * k * n).copied(),
        );
        let r = mm(&a, &b);
        assert_eq!(r.shape(), &[4, 3, m, n]);
        assert_eq!(vals(&r)[..m * n], want[..]);
        assert_eq!(vals(&r)[11 * m * n..], want[..]);
        let bt = arr(
            DType::Float64,
            &[n, k],
            (0..k * n).map(|i| bv[(i % k) * n + i / k]),
        );
        let bt = op2(
            "matmul",
            CpuInput::Array(arr(DType::Float64, &[m, k], av.clone())),
            {
                let attrs = Attrs::new();
                let ins = [CpuInput::Array(bt)];
                let metas: Vec<_> = ins.iter().map(CpuInput::meta).collect();
                let outs = ndserve_proto::ops::infer("transpose", &metas, &attrs).unwrap();
                CpuInput::Array(run("transpose", &ins, &attrs, &outs).unwrap().remove(0))
            },
        )
        .unwrap();
        assert_eq!(vals(&bt), want);
    }

    #[test]
    fn dot_matches_numpy() {
        let a = arange(DType::Int64, &[2, 3, 4]);
        let b = arr(DType::Int64, &[5, 4, 6], (0..120).map(|i| (i % 7) as f64));
        let r = dot(&a, &b);
        assert_eq!(r.shape(), &[2, 3, 5, 6]);
        let v = vals(&r);
        assert_eq!(v[..10], [28., 27., 19., 4., 10., 16., 4., 10., 16., 22.]);
        assert_eq!(v[v.len() - 5..], [382., 328., 267., 199., 124.]);
        assert_eq!(v.iter().sum::<f64>(), 24636.0);
        let r = dot(&cast(&a, DType::Float32), &cast(&b, DType::Float64));
        assert_eq!((r.dtype(), vals(&r)), (DType::Float64, v));
        let r = dot(&arange(DType::Int64, &[4]), &b);
        assert_eq!(r.shape(), &[5, 6]);
        assert_eq!(vals(&r)[..6], [28., 27., 19., 4., 10., 16.]);
        let r = dot(&a, &arange(DType::Int64, &[4]));
        assert_eq!(
            (r.shape(), vals(&r)),
            (&[2, 3][..], vec![14., 38., 62., 86., 110., 134.])
        );
        let s = op2(
            "dot",
            CpuInput::Scalar(Scalar::Int(3)),
            CpuInput::Array(arange(DType::Int16, &[4])),
        )
        .unwrap();
        assert_eq!((s.dtype(), vals(&s)), (DType::Int64, vec![0., 3., 6., 9.]));
        let s = op2(
            "dot",
            CpuInput::Array(arange(DType::Int64, &[2, 3])),
            CpuInput::Scalar(Scalar::Float(2.5)),
        )
        .unwrap();
        assert_eq!(
            (s.dtype(), vals(&s)),
            (DType::Float64, vec![0., 2.5, 5., 7.5, 10., 12.5])
        );
        let s = dot(&arange(DType::Float32, &[3]), &arange(DType::Float32, &[3]));
        assert_eq!((s.shape(), vals(&s)), (&[][..], vec![5.0]));
        let z = dot(
            &arange(DType::Float64, &[2, 0]),
            &arange(DType::Float64, &[3, 0, 4]),
        );
        assert_eq!((z.shape(), vals(&z)), (&[2, 3, 4][..], vec![0.0; 24]));
        assert!(
            op2(
                "dot",
                CpuInput::Array(arange(DType::Int8, &[2, 3])),
                CpuInput::Array(arange(DType::Int8, &[2, 3]))
            )
            .is_err()
        );
    }
}
