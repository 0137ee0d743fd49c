//! Tensor products (`vdot`, `inner`, `outer`, `tensordot`, `einsum`, `kron`, `trace`),
//! `cross` and `polyval`.
//!
//! Every contraction runs the contract's [`ContractPlan`] with one strided loop: for each
//! result element, the sum over the summed labels of the product of the operands. Inputs
//! are cast to the result dtype first; integers wrap, bool is OR of ANDs, float16 and
//! bfloat16 accumulate in float32 and round once (as NumPy's einsum does for half).

use half::{bf16, f16};
use ndarray::{Array, IxDyn};
use ndserve_proto::ops::products::{ContractPlan, contract_plan, cross_plan, polyval_plan};
use ndserve_proto::{Error, Result};
use num_complex::{Complex32, Complex64};
use rayon::prelude::*;

use super::array::{Element, HostArray, Nd};
use super::kernels::KernelCall;

/// Results with more multiply-adds than this are computed on several threads.
const PAR_MIN_WORK: usize = 1 << 16;

/// The kernels of this family.
pub fn kernels() -> Vec<(&'static str, super::KernelFn)> {
    vec![
        ("vdot", contract as super::KernelFn),
        ("inner", contract),
        ("outer", contract),
        ("tensordot", contract),
        ("einsum", contract),
        ("kron", contract),
        ("trace", contract),
        ("cross", cross),
        ("polyval", polyval),
    ]
}

/// Arithmetic of the products, in an accumulator type.
pub(crate) trait ProdElem: Element {
    /// The accumulator.
    type Acc: Copy + Send + Sync;
    /// Widens.
    fn acc(self) -> Self::Acc;
    /// Rounds back.
    fn back(a: Self::Acc) -> Self;
    /// Zero.
    fn zero() -> Self::Acc;
    /// `a + b` (wrapping for integers, OR for bool).
    fn add(a: Self::Acc, b: Self::Acc) -> Self::Acc;
    /// `a - b`.
    fn sub(a: Self::Acc, b: Self::Acc) -> Self::Acc;
    /// `a * b` (AND for bool).
    fn mul(a: Self::Acc, b: Self::Acc) -> Self::Acc;
    /// Complex conjugate (identity for reals).
    fn conj(self) -> Self {
        self
    }
}

macro_rules! int_prod {
    ($($T:ty),*) => {$(
        impl ProdElem for $T {
            type Acc = $T;
            fn acc(self) -> $T { self }
            fn back(a: $T) -> $T { a }
            fn zero() -> $T { 0 }
            fn add(a: $T, b: $T) -> $T { a.wrapping_add(b) }
            fn sub(a: $T, b: $T) -> $T { a.wrapping_sub(b) }
            fn mul(a: $T, b: $T) -> $T { a.wrapping_mul(b) }
        }
    )*};
}
int_prod!(i8, i16, i32, i64, u8, u16, u32, u64);

macro_rules! float_prod {
    ($($T:ty, $zero:expr, $conj:expr;)*) => {$(
        impl ProdElem for $T {
            type Acc = $T;
            fn acc(self) -> $T { self }
            fn back(a: $T) -> $T { a }
            fn zero() -> $T { $zero }
            fn add(a: $T, b: $T) -> $T { a + b }
            fn sub(a: $T, b: $T) -> $T { a - b }
            fn mul(a: $T, b: $T) -> $T { a * b }
            fn conj(self) -> $T { let f: fn($T) -> $T = $conj; f(self) }
        }
    )*};
}
float_prod! {
    f32, 0.0, |x| x;
    f64, 0.0, |x| x;
    Complex32, Complex32::new(0.0, 0.0), |x| Complex32::conj(&x);
    Complex64, Complex64::new(0.0, 0.0), |x| Complex64::conj(&x);
}

macro_rules! half_prod {
    ($($T:ty),*) => {$(
        impl ProdElem for $T {
            type Acc = f32;
            fn acc(self) -> f32 { self.to_f32() }
            fn back(a: f32) -> $T { <$T>::from_f32(a) }
            fn zero() -> f32 { 0.0 }
            fn add(a: f32, b: f32) -> f32 { a + b }
            fn sub(a: f32, b: f32) -> f32 { a - b }
            fn mul(a: f32, b: f32) -> f32 { a * b }
        }
    )*};
}
half_prod!(f16, bf16);

impl ProdElem for bool {
    type Acc = bool;
    fn acc(self) -> bool {
        self
    }
    fn back(a: bool) -> bool {
        a
    }
    fn zero() -> bool {
        false
    }
    fn add(a: bool, b: bool) -> bool {
        a | b
    }
    fn sub(a: bool, b: bool) -> bool {
        a ^ b
    }
    fn mul(a: bool, b: bool) -> bool {
        a & b
    }
}

/// An array's elements in C order.
fn c_data<T: Element>(x: &Nd<T>) -> Vec<T> {
    match x.as_slice() {
        Some(s) => s.to_vec(),
        None => x.iter().copied().collect(),
    }
}

/// Runs a contraction plan over C-order operand data; returns the result in C order of
/// `plan.out_labels`.
pub(crate) fn run_plan<T: ProdElem>(plan: &ContractPlan, data: &[Vec<T>]) -> Vec<T> {
    let out_sizes: Vec<usize> = plan.out_labels.iter().map(|&l| plan.sizes[l]).collect();
    let summed = plan.summed();
    let sum_sizes: Vec<usize> = summed.iter().map(|&l| plan.sizes[l]).collect();
    let n_out: usize = out_sizes.iter().product();
    let n_sum: usize = sum_sizes.iter().product();
    let ops: Vec<(Vec<usize>, Vec<usize>, usize, bool)> = plan
        .operands
        .iter()
        .map(|o| {
            (
                plan.out_labels.iter().map(|&l| o.strides[l]).collect(),
                summed.iter().map(|&l| o.strides[l]).collect(),
                o.offset,
                o.conj,
            )
        })
        .collect();
    let offsets = |mut t: usize, sizes: &[usize], strides: &[usize]| -> usize {
        let mut off = 0;
        for d in (0..sizes.len()).rev() {
            off += (t % sizes[d]) * strides[d];
            t /= sizes[d];
        }
        off
    };
    let one = |i: usize| -> T {
        let bases: Vec<usize> = ops
            .iter()
            .map(|(os, _, base, _)| base + offsets(i, &out_sizes, os))
            .collect();
        let mut acc = T::zero();
        for j in 0..n_sum {
            let mut p: Option<T::Acc> = None;
            for (k, (_, ss, _, conj)) in ops.iter().enumerate() {
                let mut v = data[k][bases[k] + offsets(j, &sum_sizes, ss)];
                if *conj {
                    v = v.conj();
                }
                p = Some(match p {
                    None => v.acc(),
                    Some(q) => T::mul(q, v.acc()),
                });
            }
            if let Some(p) = p {
                acc = T::add(acc, p);
            }
        }
        T::back(acc)
    };
    if n_out.saturating_mul(n_sum.max(1)) >= PAR_MIN_WORK {
        (0..n_out).into_par_iter().map(one).collect()
    } else {
        (0..n_out).map(one).collect()
    }
}

fn contract(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let plan = contract_plan(&call.call())?;
    let dtype = plan.out.dtype;
    Ok(vec![crate::with_dtype!(dtype, T => {
        let data: Vec<Vec<T>> = call
            .inputs
            .iter()
            .map(|x| c_data(x.to_array(dtype).typed::<T>().expect("cast")))
            .collect();
        let v = run_plan::<T>(&plan, &data);
        let out = Array::from_shape_vec(IxDyn(&plan.out.shape), v)
            .map_err(|e| Error::internal(call.op, e.to_string()))?;
        <T as Element>::wrap(out.into_shared())
    })])
}

fn cross(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let plan = cross_plan(&call.call())?;
    let dtype = plan.out.dtype;
    let a = call.inputs[0].to_array(dtype);
    let b = call.inputs[1].to_array(dtype);
    let nb = plan.batch.len();
    Ok(vec![crate::with_dtype!(dtype, T => {
        let bad = || Error::internal(call.op, "broadcast failed after infer accepted it");
        // Vector axis last, then broadcast the rest.
        let last = |x: &Nd<T>, ax: usize| -> Result<Nd<T>> {
            let mut perm: Vec<usize> = (0..x.ndim()).filter(|&i| i != ax).collect();
            perm.push(ax);
            let d = x.shape()[ax];
            let y = x.clone().permuted_axes(IxDyn(&perm));
            let mut shape = plan.batch.clone();
            shape.push(d);
            Ok(y.broadcast(IxDyn(&shape)).ok_or_else(bad)?.to_owned().into_shared())
        };
        let x = last(a.typed::<T>().expect("cast"), plan.axisa)?;
        let y = last(b.typed::<T>().expect("cast"), plan.axisb)?;
        let (da, db) = (x.shape()[nb], y.shape()[nb]);
        let xs = c_data(&x);
        let ys = c_data(&y);
        let n: usize = plan.batch.iter().product();
        let three = plan.axisc.is_some();
        let mut v: Vec<T> = Vec::with_capacity(n * if three { 3 } else { 1 });
        let z = <T as ProdElem>::zero();
        for i in 0..n {
            let g = |s: &[T], d: usize, k: usize| if k < d { s[i * d + k].acc() } else { z };
            let (a0, a1, a2) = (g(&xs, da, 0), g(&xs, da, 1), g(&xs, da, 2));
            let (b0, b1, b2) = (g(&ys, db, 0), g(&ys, db, 1), g(&ys, db, 2));
            let m = <T as ProdElem>::mul;
            let s = <T as ProdElem>::sub;
            let c2 = s(m(a0, b1), m(a1, b0));
            if three {
                v.push(T::back(s(m(a1, b2), m(a2, b1))));
                v.push(T::back(s(m(a2, b0), m(a0, b2))));
            }
            v.push(T::back(c2));
        }
        let mut shape = plan.batch.clone();
        if three {
            shape.push(3);
        }
        let out = Array::from_shape_vec(IxDyn(&shape), v)
            .map_err(|e| Error::internal(call.op, e.to_string()))?;
        let out = match plan.axisc {
            Some(c) if c != nb => {
                let mut perm: Vec<usize> = (0..nb).collect();
                perm.insert(c, nb);
                out.permuted_axes(IxDyn(&perm)).as_standard_layout().to_owned()
            }
            _ => out,
        };
        <T as Element>::wrap(out.into_shared())
    })])
}

fn polyval(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let out = polyval_plan(&call.call())?;
    let dtype = out.dtype;
    let p = call.inputs[0].to_array(dtype);
    let x = call.inputs[1].to_array(dtype);
    Ok(vec![crate::with_dtype!(dtype, T => {
        let ps = c_data(p.typed::<T>().expect("cast"));
        let xs = c_data(x.typed::<T>().expect("cast"));
        // Horner's rule in the result dtype, rounding each step as NumPy's `y * x + pv`.
        let v: Vec<T> = xs
            .iter()
            .map(|&xv| {
                let mut y = <T as ProdElem>::zero();
                for &pv in &ps {
                    let t = T::back(<T as ProdElem>::mul(y, xv.acc()));
                    y = T::back(<T as ProdElem>::add(t.acc(), pv.acc())).acc();
                }
                T::back(y)
            })
            .collect();
        let out = Array::from_shape_vec(IxDyn(&out.shape), v)
            .map_err(|e| Error::internal(call.op, e.to_string()))?;
        <T as Element>::wrap(out.into_shared())
    })])
}

#[cfg(test)]
mod tests {
    use ndarray::ArcArray;
    use ndserve_proto::{Attr, Attrs, DType};

    use super::super::testing::{arange, arr, run1, vals};
    use super::*;

    fn op(name: &str, ins: Vec<HostArray>, attrs: Attrs) -> ndserve_proto::Result<HostArray> {
        run1(name, &ins, attrs)
    }

    #[test]
    fn products_match_numpy() {
        let a = arange(DType::Int64, &[2, 3]);
        let b = arange(DType::Int64, &[3, 2]);
        // np.tensordot(a, b, 1) == a @ b
        let r = op(
            "tensordot",
            vec![a.clone(), b.clone()],
            Attrs::new().with("axes", Attr::Int(1)),
        )
        .unwrap();
        assert_eq!(
            (r.shape(), vals(&r)),
            (&[2, 2][..], vec![10., 13., 28., 40.])
        );
        // axes=([0], [1])
        let r = op(
            "tensordot",
            vec![a.clone(), b.clone()],
            Attrs::new().with("axes", Attr::Ints(vec![0, 1])),
        )
        .unwrap();
        assert_eq!(
            (r.shape(), vals(&r)),
            (&[3, 3][..], vec![3., 9., 15., 4., 14., 24., 5., 19., 33.])
        );
        let r = op(
            "einsum",
            vec![a.clone(), b.clone()],
            Attrs::new().with("subscripts", Attr::Str("ij,jk".into())),
        )
        .unwrap();
        assert_eq!(vals(&r), vec![10., 13., 28., 40.]);
        let sq = arange(DType::Float64, &[3, 3]);
        let r = op(
            "einsum",
            vec![sq.clone()],
            Attrs::new().with("subscripts", Attr::Str("ii->i".into())),
        )
        .unwrap();
        assert_eq!(vals(&r), vec![0., 4., 8.]);
        let r = op(
            "einsum",
            vec![arange(DType::Int32, &[2, 2, 3])],
            Attrs::new().with("subscripts", Attr::Str("...ij->...ji".into())),
        )
        .unwrap();
        assert_eq!(r.shape(), &[2, 3, 2]);
        assert_eq!(vals(&r)[..6], [0., 3., 1., 4., 2., 5.]);
        let r = op(
            "trace",
            vec![sq.clone()],
            Attrs::new().with("offset", Attr::Int(1)),
        )
        .unwrap();
        assert_eq!(vals(&r), vec![6.]);
        let r = op("trace", vec![arange(DType::Int8, &[3, 3])], Attrs::new()).unwrap();
        assert_eq!((r.dtype(), vals(&r)), (DType::Int64, vec![12.]));
        let r = op(
            "kron",
            vec![arange(DType::Int64, &[2]), arange(DType::Int64, &[1, 2])],
            Attrs::new(),
        )
        .unwrap();
        assert_eq!((r.shape(), vals(&r)), (&[1, 4][..], vec![0., 0., 0., 1.]));
        let r = op(
            "outer",
            vec![arange(DType::Int64, &[2]), arange(DType::Int64, &[3])],
            Attrs::new(),
        )
        .unwrap();
        assert_eq!(vals(&r), vec![0., 0., 0., 0., 1., 2.]);
        let r = op("inner", vec![a.clone(), a.clone()], Attrs::new()).unwrap();
        assert_eq!(vals(&r), vec![5., 14., 14., 50.]);
        let r = op(
            "cross",
            vec![
                arr(DType::Int32, &[3], [1., 2., 3.]),
                arr(DType::Int32, &[3], [4., 5., 6.]),
            ],
            Attrs::new(),
        )
        .unwrap();
        assert_eq!(vals(&r), vec![-3., 6., -3.]);
        let r = op(
            "cross",
            vec![
                arr(DType::Float64, &[2], [1., 2.]),
                arr(DType::Float64, &[2], [4., 5.]),
            ],
            Attrs::new(),
        )
        .unwrap();
        assert_eq!((r.shape(), vals(&r)), (&[][..], vec![-3.]));
        let r = op(
            "polyval",
            vec![
                arr(DType::Int64, &[3], [1., 2., 3.]),
                arr(DType::Float64, &[2], [2., -1.]),
            ],
            Attrs::new(),
        )
        .unwrap();
        assert_eq!(vals(&r), vec![11., 2.]);
        let c = HostArray::C128(
            ArcArray::from_shape_vec(
                IxDyn(&[2]),
                vec![Complex64::new(1., 2.), Complex64::new(0., 1.)],
            )
            .unwrap(),
        );
        let r = op("vdot", vec![c.clone(), c], Attrs::new()).unwrap();
        assert_eq!(r.typed::<Complex64>().unwrap()[[]], Complex64::new(6., 0.));
        assert!(
            op(
                "einsum",
                vec![a.clone()],
                Attrs::new().with("subscripts", Attr::Str("ij,jk".into()))
            )
            .is_err()
        );
        assert!(
            op(
                "tensordot",
                vec![a.clone(), a],
                Attrs::new().with("axes", Attr::Int(1))
            )
            .is_err()
        );
    }
}
