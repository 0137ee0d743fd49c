//! Reductions: `sum`, `prod`, `mean`, `max`/`amax`, `min`/`amin`, `all`, `any`, `argmax`,
//! `argmin`.
//!
//! The input is cast to the plan's compute dtype and laid out in C order; axes of length 1
//! are dropped and neighbouring axes that are both reduced (or both kept) are merged. Then
//! one of two loops runs:
//!
//! - *lanes* (reduced axes last, `[K, R]`): every output element reduces one contiguous lane;
//!   floating sums are pairwise (NumPy's algorithm) in f64;
//! - *columns* (`[K0, R, K2]`): rows of `K2` contiguous elements are folded into `K2`
//!   accumulators, as NumPy does for a reduction over a leading axis.
//!
//! Any other pattern (`[R, K, R]`, ...) is permuted to `[K, R]` first. Large inputs run on
//! rayon: over outputs, over column chunks, or over chunks of one lane that are merged in
//! order (so argmax still finds the first occurrence).

use std::marker::PhantomData;

use half::{bf16, f16};
use ndarray::{Array, IxDyn};
use ndserve_proto::Result;
use ndserve_proto::ops::reduce::{ReduceKind, plan};
use num_complex::{Complex32, Complex64};
use rayon::prelude::*;

use super::array::{Element, HostArray, Nd};
use super::cast::{Cast, cast_elem};
use super::kernels::KernelCall;

/// Inputs smaller than this (in elements) are reduced on the calling thread.
const PAR_MIN: usize = 1 << 16;

/// The kernels of this family.
pub fn kernels() -> Vec<(&'static str, super::KernelFn)> {
    ndserve_proto::ops::reduce::REDUCTIONS
        .iter()
        .map(|r| (r.0, reduce_kernel as super::KernelFn))
        .collect()
}

fn reduce_kernel(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let plan = plan(&call.call())?;
    let a = call.inputs[0].to_array(plan.compute);
    let op = call.op;
    let shape = &plan.out.shape;
    let axes = &plan.axes;
    let out = crate::with_array!(&a, x, T => match plan.kind {
        ReduceKind::Accumulate if op == "prod" => drive(&Prod::<T>(PhantomData), x, axes, shape),
        ReduceKind::Accumulate => drive(&Sum::<T>(PhantomData), x, axes, shape),
        ReduceKind::Mean => drive(&Mean::<T>(PhantomData), x, axes, shape),
        ReduceKind::Extreme if op.ends_with("max") => drive(&Max::<T>(PhantomData), x, axes, shape),
        ReduceKind::Extreme => drive(&Min::<T>(PhantomData), x, axes, shape),
        ReduceKind::Truth if op == "all" => drive(&All::<T>(PhantomData), x, axes, shape),
        ReduceKind::Truth => drive(&Any::<T>(PhantomData), x, axes, shape),
        ReduceKind::Arg if op == "argmax" => drive(&Arg::<T, true>(PhantomData), x, axes, shape),
        ReduceKind::Arg => drive(&Arg::<T, false>(PhantomData), x, axes, shape),
    });
    Ok(vec![out])
}

// ---------------------------------------------------------------------------------------
// Element arithmetic.

/// What the reductions need of an element type.
pub(crate) trait RElem: Element + Cast {
    /// Sum accumulator (f64 for real floats, `Complex64` for complex, the type for ints).
    type S: Copy + Send + Sync + std::fmt::Debug;
    /// Product accumulator.
    type P: Copy + Send + Sync;
    fn s_zero() -> Self::S;
    fn s_add(a: Self::S, x: Self) -> Self::S;
    fn s_merge(a: Self::S, b: Self::S) -> Self::S;
    fn s_lane(xs: &[Self]) -> Self::S {
        xs.iter().fold(Self::s_zero(), |a, &x| Self::s_add(a, x))
    }
    fn s_out(a: Self::S) -> Self;
    /// `sum / n` as NumPy's `mean` computes it in this dtype.
    fn s_mean(a: Self::S, n: usize) -> Self;
    fn p_one() -> Self::P;
    fn p_mul(a: Self::P, x: Self) -> Self::P;
    fn p_merge(a: Self::P, b: Self::P) -> Self::P;
    fn p_out(a: Self::P) -> Self;
    /// NaN (either part of a complex).
    fn is_nan(self) -> bool;
    /// `self > o` (lexicographic for complex); false when either is NaN.
    fn gt(self, o: Self) -> bool;
    /// `self < o` (lexicographic for complex); false when either is NaN.
    fn lt(self, o: Self) -> bool;
    /// The identity of `maximum` (no element is below it).
    fn lowest() -> Self;
    /// The identity of `minimum`.
    fn highest() -> Self;
    /// Nonzero (NaN is true).
    fn truthy(self) -> bool;
    /// The largest (`MAX`) or smallest element of a non-empty slice, NaN if it holds one,
    /// where this type has a branch-free path that vectorises; `None` otherwise.
    #[inline(always)]
    fn fast_extreme<const MAX: bool>(c: &[Self]) -> Option<Self> {
        let _ = c;
        None
    }
}

/// [`RElem::fast_extreme`] of a float slice: a plain max (or min) per lane, which compiles to
/// vector max/min instructions, and a separate NaN flag per lane; NaN if any element is.
#[inline(always)]
fn float_extreme<F: num_traits::Float, const MAX: bool>(c: &[F]) -> F {
    const L: usize = 16;
    let mut acc = [c[0]; L];
    let mut nan = [false; L];
    let mut rows = c.chunks_exact(L);
    for row in &mut rows {
        for j in 0..L {
            let x = row[j];
            nan[j] |= x.is_nan();
            let take = if MAX { x > acc[j] } else { x < acc[j] };
            acc[j] = if take { x } else { acc[j] };
        }
    }
    let mut m = acc[0];
    let mut any_nan = nan.iter().any(|&n| n);
    for &x in acc[1..].iter().chain(rows.remainder()) {
        any_nan |= x.is_nan();
        if (MAX && x > m) || (!MAX && x < m) {
            m = x;
        }
    }
    if any_nan || m.is_nan() { F::nan() } else { m }
}

/// NumPy's pairwise summation (blocks of 128 with 8 accumulators), in `A`.
fn pairwise<T: Copy, A>(xs: &[T], zero: A, f: &impl Fn(T) -> A) -> A
where
    A: Copy + std::ops::Add<Output = A>,
{
    let n = xs.len();
    if n <= 128 {
        pairwise_block(xs, zero, f)
    } else {
        let half = (n / 2) & !7;
        pairwise(&xs[..half], zero, f) + pairwise(&xs[half..], zero, f)
    }
}

/// One block of at most 128 elements of [`pairwise`]: 8 independent accumulators.
#[inline(always)]
fn pairwise_block<T: Copy, A>(xs: &[T], zero: A, f: &impl Fn(T) -> A) -> A
where
    A: Copy + std::ops::Add<Output = A>,
{
    if xs.len() < 8 {
        return xs.iter().fold(zero, |a, &x| a + f(x));
    }
    let mut r = [zero; 8];
    for (j, v) in r.iter_mut().enumerate() {
        *v = f(xs[j]);
    }
    let mut chunks = xs[8..].chunks_exact(8);
    for c in &mut chunks {
        for j in 0..8 {
            r[j] = r[j] + f(c[j]);
        }
    }
    let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for &x in chunks.remainder() {
        res = res + f(x);
    }
    res
}

/// [`pairwise`] in float64 of a float32 or float64 slice, compiled also for AVX-512 and
/// AVX2 and run with the widest the CPU has. The additions are the same, in the same
/// order, so every path gives the same bits.
macro_rules! pairwise_f64_of {
    ($name:ident, $T:ty) => {
        fn $name(xs: &[$T]) -> f64 {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,fma")]
                fn wide(xs: &[$T]) -> f64 {
                    if xs.len() <= 128 {
                        pairwise_block(xs, 0.0, &|x: $T| f64::from(x))
                    } else {
                        let half = (xs.len() / 2) & !7;
                        wide(&xs[..half]) + wide(&xs[half..])
                    }
                }
                #[target_feature(enable = "avx2,fma")]
                fn avx2(xs: &[$T]) -> f64 {
                    if xs.len() <= 128 {
                        pairwise_block(xs, 0.0, &|x: $T| f64::from(x))
                    } else {
                        let half = (xs.len() / 2) & !7;
                        avx2(&xs[..half]) + avx2(&xs[half..])
                    }
                }
                if super::vecmath::has_avx512() {
                    // SAFETY: the CPU has every feature `wide` is compiled for.
                    return unsafe { wide(xs) };
                }
                if super::vecmath::has_avx2() {
                    // SAFETY: the CPU has AVX2 and FMA.
                    return unsafe { avx2(xs) };
                }
            }
            pairwise(xs, 0.0, &|x: $T| f64::from(x))
        }
    };
}
pairwise_f64_of!(pairwise_f32, f32);
pairwise_f64_of!(pairwise_f64, f64);

macro_rules! int_relem {
    ($($T:ty),*) => {$(
        impl RElem for $T {
            type S = $T;
            type P = $T;
            #[inline(always)]
            fn s_zero() -> $T { 0 }
            #[inline(always)]
            fn s_add(a: $T, x: $T) -> $T { a.wrapping_add(x) }
            #[inline(always)]
            fn s_merge(a: $T, b: $T) -> $T { a.wrapping_add(b) }
            #[inline(always)]
            fn s_out(a: $T) -> $T { a }
            fn s_mean(a: $T, n: usize) -> $T { cast_elem::<f64, $T>(cast_elem::<$T, f64>(a) / n as f64) }
            #[inline(always)]
            fn p_one() -> $T { 1 }
            #[inline(always)]
            fn p_mul(a: $T, x: $T) -> $T { a.wrapping_mul(x) }
            #[inline(always)]
            fn p_merge(a: $T, b: $T) -> $T { a.wrapping_mul(b) }
            #[inline(always)]
            fn p_out(a: $T) -> $T { a }
            #[inline(always)]
            fn is_nan(self) -> bool { false }
            #[inline(always)]
            fn gt(self, o: $T) -> bool { self > o }
            #[inline(always)]
            fn lt(self, o: $T) -> bool { self < o }
            fn lowest() -> $T { <$T>::MIN }
            fn highest() -> $T { <$T>::MAX }
            #[inline(always)]
            fn truthy(self) -> bool { self != 0 }
        }
    )*};
}

int_relem!(i8, i16, i32, i64, u8, u16, u32, u64);

impl RElem for bool {
    type S = bool;
    type P = bool;
    fn s_zero() -> bool {
        false
    }
    fn s_add(a: bool, x: bool) -> bool {
        a | x
    }
    fn s_merge(a: bool, b: bool) -> bool {
        a | b
    }
    fn s_out(a: bool) -> bool {
        a
    }
    fn s_mean(a: bool, n: usize) -> bool {
        (a as u8 as f64 / n as f64) != 0.0
    }
    fn p_one() -> bool {
        true
    }
    fn p_mul(a: bool, x: bool) -> bool {
        a & x
    }
    fn p_merge(a: bool, b: bool) -> bool {
        a & b
    }
    fn p_out(a: bool) -> bool {
        a
    }
    fn is_nan(self) -> bool {
        false
    }
    fn gt(self, o: bool) -> bool {
        self & !o
    }
    fn lt(self, o: bool) -> bool {
        !self & o
    }
    fn lowest() -> bool {
        false
    }
    fn highest() -> bool {
        true
    }
    fn truthy(self) -> bool {
        self
    }
}

/// Real floats: sums in f64 (pairwise), products in `$P`; `$mean` gives `sum / n` rounded
/// as NumPy's mean rounds it (float16 divides in float32).
macro_rules! float_relem {
    ($($T:ty, $P:ty, $to:expr, $lane:expr, $from_f64:expr, $to_p:expr, $from_p:expr, $mean:expr, $fast:expr;)*) => {$(
        impl RElem for $T {
            type S = f64;
            type P = $P;
            #[inline(always)]
            fn s_zero() -> f64 { 0.0 }
            #[inline(always)]
            fn s_add(a: f64, x: $T) -> f64 { let t: fn($T) -> f64 = $to; a + t(x) }
            #[inline(always)]
            fn s_merge(a: f64, b: f64) -> f64 { a + b }
            fn s_lane(xs: &[$T]) -> f64 { ($lane)(xs) }
            #[inline(always)]
            fn s_out(a: f64) -> $T { let f: fn(f64) -> $T = $from_f64; f(a) }
            fn s_mean(a: f64, n: usize) -> $T { let f: fn(f64, usize) -> $T = $mean; f(a, n) }
            #[inline(always)]
            fn p_one() -> $P { 1.0 }
            #[inline(always)]
            fn p_mul(a: $P, x: $T) -> $P { let t: fn($T) -> $P = $to_p; a * t(x) }
            #[inline(always)]
            fn p_merge(a: $P, b: $P) -> $P { a * b }
            #[inline(always)]
            fn p_out(a: $P) -> $T { let f: fn($P) -> $T = $from_p; f(a) }
            #[inline(always)]
            fn is_nan(self) -> bool { self.is_nan() }
            #[inline(always)]
            fn gt(self, o: $T) -> bool { let t: fn($T) -> $P = $to_p; t(self) > t(o) }
            #[inline(always)]
            fn lt(self, o: $T) -> bool { let t: fn($T) -> $P = $to_p; t(self) < t(o) }
            fn lowest() -> $T { <$T>::NEG_INFINITY }
            fn highest() -> $T { <$T>::INFINITY }
            #[inline(always)]
            fn truthy(self) -> bool { let t: fn($T) -> $P = $to_p; t(self) != 0.0 }
            #[inline(always)]
            fn fast_extreme<const MAX: bool>(c: &[$T]) -> Option<$T> {
                $fast.then(|| float_extreme::<$T, MAX>(c))
            }
        }
    )*};
}

float_relem! {
    f16, f32, |x| x.to_f64(), |xs: &[f16]| pairwise(xs, 0.0, &|x: f16| x.to_f64()),
        f16::from_f64, |x| x.to_f32(), f16::from_f32,
        |a, n| f16::from_f32(a as f32 / n as f32), false;
    bf16, f32, |x| x.to_f64(), |xs: &[bf16]| pairwise(xs, 0.0, &|x: bf16| x.to_f64()),
        bf16::from_f64, |x| x.to_f32(), bf16::from_f32,
        |a, n| bf16::from_f32(a as f32 / n as f32), false;
    f32, f32, |x| x as f64, pairwise_f32, |a| a as f32, |x| x, |x| x, |a, n| a as f32 / n as f32, true;
    f64, f64, |x| x, pairwise_f64, |a| a, |x| x, |x| x, |a, n| a / n as f64, true;
}

/// Complex: sums in `Complex64` (pairwise), products in the type itself, NumPy's
/// lexicographic order; `mean` divides as NumPy's complex division by `n + 0j` does.
macro_rules! complex_relem {
    ($($T:ty, $F:ty;)*) => {$(
        impl RElem for $T {
            type S = Complex64;
            type P = $T;
            #[inline(always)]
            fn s_zero() -> Complex64 { Complex64::new(0.0, 0.0) }
            #[inline(always)]
            fn s_add(a: Complex64, x: $T) -> Complex64 {
                Complex64::new(a.re + x.re as f64, a.im + x.im as f64)
            }
            #[inline(always)]
            fn s_merge(a: Complex64, b: Complex64) -> Complex64 { a + b }
            fn s_lane(xs: &[$T]) -> Complex64 {
                pairwise(xs, Self::s_zero(), &|x: $T| Complex64::new(x.re as f64, x.im as f64))
            }
            #[inline(always)]
            fn s_out(a: Complex64) -> $T { <$T>::new(a.re as $F, a.im as $F) }
            fn s_mean(a: Complex64, n: usize) -> $T {
                let s = Self::s_out(a);
                let (rat, scl): ($F, $F) = (0.0, 1.0 / (n as $F));
                <$T>::new((s.re + s.im * rat) * scl, (s.im - s.re * rat) * scl)
            }
            #[inline(always)]
            fn p_one() -> $T { <$T>::new(1.0, 0.0) }
            #[inline(always)]
            fn p_mul(a: $T, x: $T) -> $T {
                <$T>::new(a.re * x.re - a.im * x.im, a.re * x.im + a.im * x.re)
            }
            #[inline(always)]
            fn p_merge(a: $T, b: $T) -> $T { Self::p_mul(a, b) }
            #[inline(always)]
            fn p_out(a: $T) -> $T { a }
            #[inline(always)]
            fn is_nan(self) -> bool { self.re.is_nan() || self.im.is_nan() }
            #[inline(always)]
            fn gt(self, o: $T) -> bool { self.re > o.re || (self.re == o.re && self.im > o.im) }
            #[inline(always)]
            fn lt(self, o: $T) -> bool { self.re < o.re || (self.re == o.re && self.im < o.im) }
            fn lowest() -> $T { <$T>::new(<$F>::NEG_INFINITY, <$F>::NEG_INFINITY) }
            fn highest() -> $T { <$T>::new(<$F>::INFINITY, <$F>::INFINITY) }
            #[inline(always)]
            fn truthy(self) -> bool { self.re != 0.0 || self.im != 0.0 }
        }
    )*};
}

complex_relem! {
    Complex32, f32;
    Complex64, f64;
}

// ---------------------------------------------------------------------------------------
// Reducers.

/// One reduction: an accumulator folded over elements, merged in order, finished into the
/// output element.
trait Red: Sync {
    type In: Element;
    type Acc: Copy + Send + Sync;
    type Out: Element;
    fn init(&self) -> Self::Acc;
    /// Folds the element at position `i` of the reduced range.
    fn step(&self, acc: Self::Acc, x: Self::In, i: usize) -> Self::Acc;
    /// `a` then `b` (a covers earlier positions).
    fn merge(&self, a: Self::Acc, b: Self::Acc) -> Self::Acc;
    /// A contiguous run of elements starting at position `base`.
    fn lane(&self, xs: &[Self::In], base: usize) -> Self::Acc {
        xs.iter()
            .enumerate()
            .fold(self.init(), |a, (i, &x)| self.step(a, x, base + i))
    }
    /// The result of `n` elements folded into `acc`.
    fn finish(&self, acc: Self::Acc, n: usize) -> Self::Out;
}

struct Sum<T>(PhantomData<T>);
struct Mean<T>(PhantomData<T>);
struct Prod<T>(PhantomData<T>);
struct Max<T>(PhantomData<T>);
struct Min<T>(PhantomData<T>);
struct All<T>(PhantomData<T>);
struct Any<T>(PhantomData<T>);
/// `argmax` (`MAX`) or `argmin`.
struct Arg<T, const MAX: bool>(PhantomData<T>);

impl<T: RElem> Red for Sum<T> {
    type In = T;
    type Acc = T::S;
    type Out = T;
    fn init(&self) -> T::S {
        T::s_zero()
    }
    #[inline(always)]
    fn step(&self, acc: T::S, x: T, _: usize) -> T::S {
        T::s_add(acc, x)
    }
    fn merge(&self, a: T::S, b: T::S) -> T::S {
        T::s_merge(a, b)
    }
    fn lane(&self, xs: &[T], _: usize) -> T::S {
        T::s_lane(xs)
    }
    fn finish(&self, acc: T::S, _: usize) -> T {
        T::s_out(acc)
    }
}

impl<T: RElem> Red for Mean<T> {
    type In = T;
    type Acc = T::S;
    type Out = T;
    fn init(&self) -> T::S {
        T::s_zero()
    }
    #[inline(always)]
    fn step(&self, acc: T::S, x: T, _: usize) -> T::S {
        T::s_add(acc, x)
    }
    fn merge(&self, a: T::S, b: T::S) -> T::S {
        T::s_merge(a, b)
    }
    fn lane(&self, xs: &[T], _: usize) -> T::S {
        T::s_lane(xs)
    }
    fn finish(&self, acc: T::S, n: usize) -> T {
        T::s_mean(acc, n)
    }
}

impl<T: RElem> Red for Prod<T> {
    type In = T;
    type Acc = T::P;
    type Out = T;
    fn init(&self) -> T::P {
        T::p_one()
    }
    #[inline(always)]
    fn step(&self, acc: T::P, x: T, _: usize) -> T::P {
        T::p_mul(acc, x)
    }
    fn merge(&self, a: T::P, b: T::P) -> T::P {
        T::p_merge(a, b)
    }
    fn finish(&self, acc: T::P, _: usize) -> T {
        T::p_out(acc)
    }
}

impl<T: RElem> Red for Max<T> {
    type In = T;
    type Acc = T;
    type Out = T;
    fn init(&self) -> T {
        T::lowest()
    }
    /// NumPy's `maximum`: the first NaN wins, otherwise the first of equal maxima.
    #[inline(always)]
    fn step(&self, acc: T, x: T, _: usize) -> T {
        if !acc.is_nan() && (x.is_nan() || x.gt(acc)) {
            x
        } else {
            acc
        }
    }
    fn merge(&self, a: T, b: T) -> T {
        self.step(a, b, 0)
    }
    fn finish(&self, acc: T, _: usize) -> T {
        acc
    }
}

impl<T: RElem> Red for Min<T> {
    type In = T;
    type Acc = T;
    type Out = T;
    fn init(&self) -> T {
        T::highest()
    }
    #[inline(always)]
    fn step(&self, acc: T, x: T, _: usize) -> T {
        if !acc.is_nan() && (x.is_nan() || x.lt(acc)) {
            x
        } else {
            acc
        }
    }
    fn merge(&self, a: T, b: T) -> T {
        self.step(a, b, 0)
    }
    fn finish(&self, acc: T, _: usize) -> T {
        acc
    }
}

impl<T: RElem> Red for All<T> {
    type In = T;
    type Acc = bool;
    type Out = bool;
    fn init(&self) -> bool {
        true
    }
    #[inline(always)]
    fn step(&self, acc: bool, x: T, _: usize) -> bool {
        acc & x.truthy()
    }
    fn merge(&self, a: bool, b: bool) -> bool {
        a & b
    }
    fn lane(&self, xs: &[T], _: usize) -> bool {
        xs.iter().all(|x| x.truthy())
    }
    fn finish(&self, acc: bool, _: usize) -> bool {
        acc
    }
}

impl<T: RElem> Red for Any<T> {
    type In = T;
    type Acc = bool;
    type Out = bool;
    fn init(&self) -> bool {
        false
    }
    #[inline(always)]
    fn step(&self, acc: bool, x: T, _: usize) -> bool {
        acc | x.truthy()
    }
    fn merge(&self, a: bool, b: bool) -> bool {
        a | b
    }
    fn lane(&self, xs: &[T], _: usize) -> bool {
        xs.iter().any(|x| x.truthy())
    }
    fn finish(&self, acc: bool, _: usize) -> bool {
        acc
    }
}

/// The best value so far and its position; `None` before the first element.
type ArgAcc<T> = Option<(T, usize)>;

/// Independent accumulators of [`Arg`]'s extreme search.
const ARG_LANES: usize = 16;

impl<T: RElem, const MAX: bool> Arg<T, MAX> {
    /// Whether `x` replaces the best so far `b`: NaN counts as the extreme, the first
    /// occurrence wins.
    #[inline(always)]
    fn better(x: T, b: T) -> bool {
        !b.is_nan() && (x.is_nan() || if MAX { x.gt(b) } else { x.lt(b) })
    }

    /// The extreme value of a non-empty chunk (NaN if it holds one), with the widest
    /// vector instructions the CPU has (the same comparisons, so the same answer).
    fn extreme(c: &[T]) -> T {
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,fma")]
            fn wide<T: RElem, const MAX: bool>(c: &[T]) -> T {
                Arg::<T, MAX>::extreme_body(c)
            }
            #[target_feature(enable = "avx2,fma")]
            fn avx2<T: RElem, const MAX: bool>(c: &[T]) -> T {
                Arg::<T, MAX>::extreme_body(c)
            }
            if super::vecmath::has_avx512() {
                // SAFETY: the CPU has every feature `wide` is compiled for.
                return unsafe { wide::<T, MAX>(c) };
            }
            if super::vecmath::has_avx2() {
                // SAFETY: the CPU has AVX2 and FMA.
                return unsafe { avx2::<T, MAX>(c) };
            }
        }
        Self::extreme_body(c)
    }

    #[inline(always)]
    fn extreme_body(c: &[T]) -> T {
        if let Some(m) = T::fast_extreme::<MAX>(c) {
            return m;
        }
        let mut acc = [c[0]; ARG_LANES];
        let mut rows = c.chunks_exact(ARG_LANES);
        for row in &mut rows {
            for (a, &x) in acc.iter_mut().zip(row) {
                if Self::better(x, *a) {
                    *a = x;
                }
            }
        }
        let mut m = acc[0];
        for &x in acc[1..].iter().chain(rows.remainder()) {
            if Self::better(x, m) {
                m = x;
            }
        }
        m
    }
}

impl<T: RElem, const MAX: bool> Red for Arg<T, MAX> {
    type In = T;
    type Acc = ArgAcc<T>;
    type Out = i64;
    fn init(&self) -> ArgAcc<T> {
        None
    }
    #[inline(always)]
    fn step(&self, acc: ArgAcc<T>, x: T, i: usize) -> ArgAcc<T> {
        match acc {
            Some((b, _)) if !Self::better(x, b) => acc,
            _ => Some((x, i)),
        }
    }
    fn merge(&self, a: ArgAcc<T>, b: ArgAcc<T>) -> ArgAcc<T> {
        match (a, b) {
            (Some((va, _)), Some((vb, _))) if Self::better(vb, va) => b,
            (Some(_), _) => a,
            (None, _) => b,
        }
    }
    /// Chunk by chunk: the chunk's extreme value first (a select per lane of
    /// [`ARG_LANES`] independent accumulators, which vectorises), and only where it beats
    /// the best so far, the position of its first occurrence.
    fn lane(&self, xs: &[T], base: usize) -> ArgAcc<T> {
        const CHUNK: usize = 4096;
        let mut best: ArgAcc<T> = None;
        for (ci, c) in xs.chunks(CHUNK).enumerate() {
            let m = Self::extreme(c);
            if best.is_some_and(|(b, _)| !Self::better(m, b)) {
                continue;
            }
            let at = if m.is_nan() {
                c.iter().position(|x| x.is_nan())
            } else {
                c.iter().position(|&x| x == m)
            };
            best = Some((
                m,
                base + ci * CHUNK + at.expect("the extreme is in its chunk"),
            ));
            if m.is_nan() {
                break;
            }
        }
        best
    }
    fn finish(&self, acc: ArgAcc<T>, _: usize) -> i64 {
        acc.map_or(0, |(_, i)| i as i64)
    }
}

// ---------------------------------------------------------------------------------------
// Driving loops.

/// Reduces `x` over `axes` into an array of `out_shape` (the kept axes in order, with
/// length-1 axes where `keepdims` kept them).
fn drive<R: Red>(r: &R, x: &Nd<R::In>, axes: &[usize], out_shape: &[usize]) -> HostArray {
    let count: usize = axes.iter().map(|&i| x.shape()[i]).product();
    let out_n: usize = out_shape.iter().product();
    let vals = if x.is_empty() {
        vec![r.finish(r.init(), count); out_n]
    } else {
        reduce_nonempty(r, x, axes, count)
    };
    debug_assert_eq!(vals.len(), out_n);
    let a = Array::from_shape_vec(IxDyn(out_shape), vals).expect("reduction output size");
    <R::Out as Element>::wrap(a.into_shared())
}

/// Groups of merged axes, `(length, reduced)`, without axes of length 1.
fn groups(shape: &[usize], axes: &[usize]) -> Vec<(usize, bool)> {
    let mut g: Vec<(usize, bool)> = Vec::new();
    for (i, &d) in shape.iter().enumerate() {
        if d == 1 {
            continue;
        }
        let red = axes.contains(&i);
        match g.last_mut() {
            Some(last) if last.1 == red => last.0 *= d,
            _ => g.push((d, red)),
        }
    }
    g
}

fn reduce_nonempty<R: Red>(r: &R, x: &Nd<R::In>, axes: &[usize], count: usize) -> Vec<R::Out> {
    let g = groups(x.shape(), axes);
    let pattern: Vec<bool> = g.iter().map(|p| p.1).collect();
    let (outer, rows, inner, lanes) = match pattern.as_slice() {
        [] => (1, 1, 1, false),
        [true] => (1, g[0].0, 1, true),
        [false] => (1, 1, g[0].0, false),
        [false, true] => (g[0].0, g[1].0, 1, true),
        [true, false] => (1, g[0].0, g[1].0, false),
        [false, true, false] => (g[0].0, g[1].0, g[2].0, false),
        _ => {
            // Kept axes first, reduced axes last, then one copy in that order.
            let mut perm: Vec<usize> = (0..x.ndim()).filter(|i| !axes.contains(i)).collect();
            perm.extend(axes.iter().copied());
            let v = x.view().permuted_axes(perm);
            let std = v.as_standard_layout();
            let xs = std.as_slice().expect("standard layout");
            return lanes_reduce(r, xs, count, count);
        }
    };
    let std = x.as_standard_layout();
    let xs = std.as_slice().expect("standard layout");
    if lanes {
        lanes_reduce(r, &xs[..outer * rows], rows, count)
    } else {
        columns_reduce(r, xs, outer, rows, inner, count)
    }
}

fn threads() -> usize {
    rayon::current_num_threads().max(1)
}

/// One lane, split over threads when long; the chunks merge in order.
fn lane_par<R: Red>(r: &R, xs: &[R::In]) -> R::Acc {
    if xs.len() < PAR_MIN || threads() == 1 {
        return r.lane(xs, 0);
    }
    let chunk = xs
        .len()
        .div_ceil(threads() * 4)
        .max(PAR_MIN / 4)
        .next_multiple_of(128);
    let parts: Vec<R::Acc> = xs
        .par_chunks(chunk)
        .enumerate()
        .map(|(i, c)| r.lane(c, i * chunk))
        .collect();
    let mut it = parts.into_iter();
    let first = it.next().unwrap_or_else(|| r.init());
    it.fold(first, |a, b| r.merge(a, b))
}

/// `[K, R]`: every output reduces one contiguous lane of `len` elements.
fn lanes_reduce<R: Red>(r: &R, xs: &[R::In], len: usize, count: usize) -> Vec<R::Out> {
    let k = xs.len() / len;
    if xs.len() < PAR_MIN {
        xs.chunks_exact(len)
            .map(|l| r.finish(r.lane(l, 0), count))
            .collect()
    } else if k >= 2 * threads() {
        let min_len = (PAR_MIN / 4 / len).max(1);
        xs.par_chunks_exact(len)
            .with_min_len(min_len)
            .map(|l| r.finish(r.lane(l, 0), count))
            .collect()
    } else {
        xs.chunks_exact(len)
            .map(|l| r.finish(lane_par(r, l), count))
            .collect()
    }
}

/// Folds `rows` rows of a block (`rows x accs.len()`, row stride `stride`, starting at
/// row `row0`) into `accs`.
fn fold_rows<R: Red>(r: &R, block: &[R::In], stride: usize, accs: &mut [R::Acc], row0: usize) {
    let w = accs.len();
    for (ri, row) in block.chunks(stride).enumerate() {
        for (a, &x) in accs.iter_mut().zip(&row[..w]) {
            *a = r.step(*a, x, row0 + ri);
        }
    }
}

/// `[K0, R, K2]`: `outer` blocks of `rows` rows of `inner` contiguous elements; the rows
/// fold into `inner` accumulators per block.
fn columns_reduce<R: Red>(
    r: &R,
    xs: &[R::In],
    outer: usize,
    rows: usize,
    inner: usize,
    count: usize,
) -> Vec<R::Out> {
    let block = rows * inner;
    let mut accs = vec![r.init(); outer * inner];
    let nt = threads();
    if xs.len() < PAR_MIN || nt == 1 {
        for (acc, b) in accs.chunks_mut(inner).zip(xs.chunks(block)) {
            fold_rows(r, b, inner, acc, 0);
        }
    } else if outer >= 2 * nt {
        accs.par_chunks_mut(inner)
            .zip(xs.par_chunks(block))
            .for_each(|(acc, b)| fold_rows(r, b, inner, acc, 0));
    } else if inner >= 4096 * nt {
        // Wide rows: each task folds a band of columns over all rows.
        let band = inner.div_ceil(2 * nt).next_multiple_of(64);
        for (acc, b) in accs.chunks_mut(inner).zip(xs.chunks(block)) {
            acc.par_chunks_mut(band).enumerate().for_each(|(j, a)| {
                let c0 = j * band;
                let w = a.len();
                for (ri, row) in b.chunks(inner).enumerate() {
                    for (acc, &x) in a.iter_mut().zip(&row[c0..c0 + w]) {
                        *acc = r.step(*acc, x, ri);
                    }
                }
            });
        }
    } else {
        // Many rows: each task folds a run of rows; the partial results merge in order.
        let per = rows.div_ceil(4 * nt).max((PAR_MIN / 4).div_ceil(inner));
        for (acc, b) in accs.chunks_mut(inner).zip(xs.chunks(block)) {
            let parts: Vec<Vec<R::Acc>> = b
                .par_chunks(per * inner)
                .enumerate()
                .map(|(i, c)| {
                    let mut a = vec![r.init(); inner];
                    fold_rows(r, c, inner, &mut a, i * per);
                    a
                })
                .collect();
            for p in parts {
                for (a, v) in acc.iter_mut().zip(p) {
                    *a = r.merge(*a, v);
                }
            }
        }
    }
    accs.into_iter().map(|a| r.finish(a, count)).collect()
}

#[cfg(test)]
mod tests {
    use ndarray::ArcArray;
    use ndserve_proto::{Attr, Attrs, DType};

    use super::super::cast::cast;
    use super::super::kernels::{CpuInput, run};
    use super::super::testing::{arange, arr, vals};
    use super::*;

    fn red(op: &str, a: &HostArray, attrs: Attrs) -> ndserve_proto::Result<HostArray> {
        let ins = [CpuInput::Array(a.clone())];
        let metas: Vec<_> = ins.iter().map(CpuInput::meta).collect();
        let outs = ndserve_proto::ops::infer(op, &metas, &attrs)?;
        Ok(run(op, &ins, &attrs, &outs)?.remove(0))
    }

    fn axis(v: &[i64]) -> Attrs {
        Attrs::new().with("axis", Attr::Ints(v.to_vec()))
    }

    fn same(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!(g == w || (g.is_nan() && w.is_nan()), "{got:?} vs {want:?}");
        }
    }

    #[test]
    fn sum_over_axes_matches_numpy() {
        let a = arange(DType::Float64, &[2, 3, 4]);
        type Case<'a> = (Option<&'a [i64]>, &'a [f64], &'a [usize]);
        let cases: &[Case<'_>] = &[
            (None, &[276.0], &[1, 1, 1]),
            (
                Some(&[0]),
                &[12., 14., 16., 18., 20., 22., 24., 26., 28., 30., 32., 34.],
                &[1, 3, 4],
            ),
            (
                Some(&[1]),
                &[12., 15., 18., 21., 48., 51., 54., 57.],
                &[2, 1, 4],
            ),
            (Some(&[2]), &[6., 22., 38., 54., 70., 86.], &[2, 3, 1]),
            (Some(&[-1]), &[6., 22., 38., 54., 70., 86.], &[2, 3, 1]),
            (Some(&[0, 2]), &[60., 92., 124.], &[1, 3, 1]),
            (Some(&[2, 0]), &[60., 92., 124.], &[1, 3, 1]),
            (Some(&[0, 1]), &[60., 66., 72., 78.], &[1, 1, 4]),
            (Some(&[1, -1]), &[66., 210.], &[2, 1, 1]),
        ];
        for &(ax, want, kshape) in cases {
            for keep in [false, true] {
                let mut attrs = Attrs::new().with("keepdims", Attr::Bool(keep));
                if let Some(ax) = ax {
                    attrs.set("axis", Attr::Ints(ax.to_vec()));
                }
                let r = red("sum", &a, attrs).unwrap();
                same(&vals(&r), want);
                if keep {
                    assert_eq!(r.shape(), kshape);
                }
            }
        }
        // Integer input: int64 result; dtype= narrows and wraps.
        let r = red("sum", &arange(DType::Int32, &[2, 3, 4]), axis(&[0, 2])).unwrap();
        assert_eq!(r.dtype(), DType::Int64);
        same(&vals(&r), &[60., 92., 124.]);
    }

    #[test]
    fn other_reductions_match_numpy() {
        // (np.arange(24) % 7).reshape(2, 3, 4) - 3
        let v: Vec<f64> = (0..24).map(|i| (i % 7) as f64 - 3.0).collect();
        let b = arr(DType::Float64, &[2, 3, 4], &v);
        same(
            &vals(&red("prod", &b, axis(&[0, 2])).unwrap()),
            &[0.0, 0.0, 0.0],
        );
        same(
            &vals(&red("mean", &b, axis(&[0, 2])).unwrap()),
            &[-0.75, 0.625, -0.625],
        );
        same(
            &vals(&red("max", &b, axis(&[1])).unwrap()),
            &[1., 2., 3., 1., 3., 3., 1., 2.],
        );
        let am = red("argmax", &b, axis(&[1])).unwrap();
        assert_eq!(am.dtype(), DType::Int64);
        same(&vals(&am), &[1., 1., 1., 2., 2., 0., 1., 1.]);
        same(
            &vals(&red("argmin", &b, axis(&[0])).unwrap()),
            &[0., 0., 1., 1., 1., 1., 1., 0., 0., 1., 1., 1.],
        );
        same(&vals(&red("argmax", &b, Attrs::new()).unwrap()), &[6.0]);
        same(&vals(&red("argmin", &b, Attrs::new()).unwrap()), &[0.0]);
        let k = Attrs::new().with("keepdims", Attr::Bool(true));
        assert_eq!(red("argmax", &b, k.clone()).unwrap().shape(), &[1, 1, 1]);
        assert_eq!(
            red("argmax", &b, k.with("axis", Attr::Int(1)))
                .unwrap()
                .shape(),
            &[2, 1, 4]
        );
        // Same data as int8 through every kind.
        let i = arr(DType::Int8, &[2, 3, 4], &v);
        same(
            &vals(&red("min", &i, axis(&[2])).unwrap()),
            &[-3., -3., -2., -3., -1., -3.],
        );
        same(
            &vals(&red("amax", &i, axis(&[2])).unwrap()),
            &[0., 3., 1., 3., 2., 3.],
        );
        same(&vals(&red("amin", &i, Attrs::new()).unwrap()), &[-3.0]);
        assert_eq!(red("amin", &i, Attrs::new()).unwrap().dtype(), DType::Int8);
        same(
            &vals(&red("all", &i, axis(&[2])).unwrap()),
            &[0., 1., 0., 1., 0., 1.],
        );
        same(
            &vals(&red("any", &i, axis(&[0, 2])).unwrap()),
            &[1., 1., 1.],
        );
    }

    #[test]
    fn integer_sums_wrap_and_uint64_is_exact() {
        let a = arr(DType::Int8, &[3], [100.0, 100.0, 100.0]);
        same(&vals(&red("sum", &a, Attrs::new()).unwrap()), &[300.0]);
        let r = red(
            "sum",
            &a,
            Attrs::new().with("dtype", Attr::DType(DType::Int8)),
        )
        .unwrap();
        assert_eq!(r.typed::<i8>().unwrap()[[]], 44);
        let big = HostArray::I64(ArcArray::from_shape_vec(IxDyn(&[3]), vec![1 << 62; 3]).unwrap());
        let r = red("sum", &big, Attrs::new()).unwrap();
        assert_eq!(r.typed::<i64>().unwrap()[[]], -4611686018427387904);
        let r = red("prod", &big, Attrs::new()).unwrap();
        assert_eq!(r.typed::<i64>().unwrap()[[]], 0);
        let u = HostArray::U64(
            ArcArray::from_shape_vec(IxDyn(&[2]), vec![(1 << 63) + 5, (1 << 63) + 7]).unwrap(),
        );
        assert_eq!(
            red("sum", &u, Attrs::new())
                .unwrap()
                .typed::<u64>()
                .unwrap()[[]],
            12
        );
        assert_eq!(
            red("max", &u, Attrs::new())
                .unwrap()
                .typed::<u64>()
                .unwrap()[[]],
            (1 << 63) + 7
        );
        assert_eq!(
            red("min", &u, Attrs::new())
                .unwrap()
                .typed::<u64>()
                .unwrap()[[]],
            (1 << 63) + 5
        );
        assert_eq!(
            red("argmax", &u, Attrs::new())
                .unwrap()
                .typed::<i64>()
                .unwrap()[[]],
            1
        );
        let m = red("mean", &u, Attrs::new()).unwrap();
        assert_eq!(m.dtype(), DType::Float64);
        assert_eq!(m.typed::<f64>().unwrap()[[]], 9.223372036854776e18);
        let b = arr(DType::Bool, &[3], [1.0, 1.0, 0.0]);
        let s = red("sum", &b, Attrs::new()).unwrap();
        assert_eq!((s.dtype(), vals(&s)), (DType::Int64, vec![2.0]));
        let mx = red("max", &b, Attrs::new()).unwrap();
        assert_eq!((mx.dtype(), vals(&mx)), (DType::Bool, vec![1.0]));
        same(&vals(&red("mean", &b, Attrs::new()).unwrap()), &[2.0 / 3.0]);
    }

    #[test]
    fn nan_and_ties_follow_numpy() {
        let nan = f64::NAN;
        let a = arr(DType::Float64, &[4], [1.0, nan, 3.0, nan]);
        same(&vals(&red("max", &a, Attrs::new()).unwrap()), &[nan]);
        same(&vals(&red("min", &a, Attrs::new()).unwrap()), &[nan]);
        same(&vals(&red("argmax", &a, Attrs::new()).unwrap()), &[1.0]);
        same(&vals(&red("argmin", &a, Attrs::new()).unwrap()), &[1.0]);
        let h = cast(&a, DType::Float16);
        same(&vals(&red("argmax", &h, Attrs::new()).unwrap()), &[1.0]);
        same(&vals(&red("amax", &h, Attrs::new()).unwrap()), &[nan]);
        same(
            &vals(
                &red(
                    "argmax",
                    &arr(DType::Int16, &[3], [3., 1., 3.]),
                    Attrs::new(),
                )
                .unwrap(),
            ),
            &[0.0],
        );
        same(
            &vals(
                &red(
                    "argmin",
                    &arr(DType::UInt8, &[3], [1., 0., 0.]),
                    Attrs::new(),
                )
                .unwrap(),
            ),
            &[1.0],
        );
        let t = arr(DType::Float32, &[2, 3], [5., 5., 1., 2., 7., 7.]);
        same(&vals(&red("argmax", &t, axis(&[1])).unwrap()), &[0.0, 1.0]);
        same(
            &vals(&red("argmax", &t, axis(&[0])).unwrap()),
            &[0.0, 1.0, 1.0],
        );
        // all/any: NaN is true, -0.0 is false.
        same(
            &vals(&red("all", &arr(DType::Float64, &[2], [nan, 1.0]), Attrs::new()).unwrap()),
            &[1.0],
        );
        same(
            &vals(&red("any", &arr(DType::Float64, &[2], [0.0, -0.0]), Attrs::new()).unwrap()),
            &[0.0],
        );
    }

    #[test]
    fn complex_reductions_are_lexicographic() {
        let v = vec![
            Complex64::new(1.0, 5.0),
            Complex64::new(3.0, 1.0),
            Complex64::new(3.0, 2.0),
            Complex64::new(3.0, 2.0),
            Complex64::new(-0.0, -1.0),
        ];
        let c = HostArray::C128(ArcArray::from_shape_vec(IxDyn(&[5]), v).unwrap());
        let one = |op: &str| red(op, &c, Attrs::new()).unwrap();
        assert_eq!(
            one("max").typed::<Complex64>().unwrap()[[]],
            Complex64::new(3.0, 2.0)
        );
        assert_eq!(
            one("min").typed::<Complex64>().unwrap()[[]],
            Complex64::new(-0.0, -1.0)
        );
        assert_eq!(one("argmax").typed::<i64>().unwrap()[[]], 2);
        assert_eq!(one("argmin").typed::<i64>().unwrap()[[]], 4);
        // A NaN in the imaginary part wins too.
        let w = vec![Complex64::new(2.0, 0.0), Complex64::new(1.0, f64::NAN)];
        let c = HostArray::C128(ArcArray::from_shape_vec(IxDyn(&[2]), w).unwrap());
        let m = red("max", &c, Attrs::new())
            .unwrap()
            .typed::<Complex64>()
            .unwrap()[[]];
        assert!(m.im.is_nan() && m.re == 1.0);
        // np.mean(np.array([1+2j, 3-1j, 0.5j], np.complex64)) == (1.3333334+0.5j)
        let w = vec![
            Complex32::new(1.0, 2.0),
            Complex32::new(3.0, -1.0),
            Complex32::new(0.0, 0.5),
        ];
        let c = HostArray::C64(ArcArray::from_shape_vec(IxDyn(&[3]), w).unwrap());
        let m = red("mean", &c, Attrs::new()).unwrap();
        assert_eq!(
            m.typed::<Complex32>().unwrap()[[]],
            Complex32::new(1.333_333_4, 0.5)
        );
    }

    #[test]
    fn float16_mean_and_zero_d() {
        let h = arr(DType::Float16, &[3], [0.1, 0.2, 0.3]);
        let m = red("mean", &h, Attrs::new()).unwrap();
        assert_eq!(m.typed::<f16>().unwrap()[[]], f16::from_f64(0.2));
        let z = arr(DType::Float32, &[], [2.5]);
        for op in ["sum", "prod", "mean", "max", "min"] {
            let r = red(op, &z, Attrs::new()).unwrap();
            assert_eq!((r.shape(), vals(&r)), (&[][..], vec![2.5]), "{op}");
        }
        let r = red("sum", &z, Attrs::new().with("keepdims", Attr::Bool(true))).unwrap();
        assert_eq!(r.shape(), &[] as &[usize]);
        same(&vals(&red("argmax", &z, Attrs::new()).unwrap()), &[0.0]);
        same(&vals(&red("all", &z, Attrs::new()).unwrap()), &[1.0]);
    }

    #[test]
    fn empty_reductions() {
        let z = arr(DType::Float64, &[0, 3], [0.0f64; 0]);
        let ax0 = || axis(&[0]);
        same(&vals(&red("sum", &z, ax0()).unwrap()), &[0.0; 3]);
        same(&vals(&red("mean", &z, ax0()).unwrap()), &[f64::NAN; 3]);
        same(&vals(&red("prod", &z, ax0()).unwrap()), &[1.0; 3]);
        same(&vals(&red("all", &z, ax0()).unwrap()), &[1.0; 3]);
        same(&vals(&red("any", &z, ax0()).unwrap()), &[0.0; 3]);
        assert_eq!(red("max", &z, axis(&[1])).unwrap().shape(), &[0]);
        assert!(red("max", &z, ax0()).is_err());
        assert!(red("argmax", &z, Attrs::new()).is_err());
        let zi = arr(DType::Int16, &[0], [0.0f64; 0]);
        let s = red("sum", &zi, Attrs::new()).unwrap();
        assert_eq!((s.dtype(), vals(&s)), (DType::Int64, vec![0.0]));
    }

    /// Large inputs take the parallel paths; the results must equal a plain loop.
    #[test]
    fn parallel_paths_agree_with_plain_loops() {
        let (r, c) = (700, 300);
        let v: Vec<f64> = (0..r * c)
            .map(|i| ((i * 7919) % 1013) as f64 - 500.0)
            .collect();
        let a = arr(DType::Float64, &[r, c], &v);
        let col: Vec<f64> = (0..c).map(|j| (0..r).map(|i| v[i * c + j]).sum()).collect();
        let row: Vec<f64> = (0..r).map(|i| v[i * c..(i + 1) * c].iter().sum()).collect();
        same(&vals(&red("sum", &a, axis(&[0])).unwrap()), &col);
        same(&vals(&red("sum", &a, axis(&[1])).unwrap()), &row);
        same(
            &vals(&red("sum", &a, Attrs::new()).unwrap()),
            &[v.iter().sum()],
        );
        let i32a = cast(&a, DType::Int32);
        same(&vals(&red("sum", &i32a, axis(&[0])).unwrap()), &col);
        // Tall and narrow: the row-chunk path, merged in order.
        let t = arr(DType::Float64, &[r * c / 2, 2], &v);
        let am = red("argmax", &t, axis(&[0])).unwrap();
        let first_max = |j: usize| {
            let m = (0..r * c / 2)
                .map(|i| v[2 * i + j])
                .fold(f64::MIN, f64::max);
            (0..r * c / 2).position(|i| v[2 * i + j] == m).unwrap() as f64
        };
        same(&vals(&am), &[first_max(0), first_max(1)]);
        // One long lane split over threads: the first of equal maxima.
        let mut w = vec![0.0; 1 << 20];
        w[700_001] = 5.0;
        w[900_000] = 5.0;
        let l = arr(DType::Float32, &[1 << 20], &w);
        same(
            &vals(&red("argmax", &l, Attrs::new()).unwrap()),
            &[700_001.0],
        );
        w[800_000] = f64::NAN;
        w[1_000_000] = f64::NAN;
        let l = arr(DType::Float32, &[1 << 20], &w);
        same(
            &vals(&red("argmax", &l, Attrs::new()).unwrap()),
            &[800_000.0],
        );
        same(&vals(&red("max", &l, Attrs::new()).unwrap()), &[f64::NAN]);
        // A float32 sum of a million 0.1s is accurate.
        let s = red(
            "sum",
            &arr(DType::Float32, &[1 << 20], vec![0.1; 1 << 20]),
            Attrs::new(),
        )
        .unwrap();
        let got = s.typed::<f32>().unwrap()[[]] as f64;
        assert!((got - 104857.6).abs() < 0.01, "{got}");
        // The permuted pattern [R, K, R].
        let p = arr(DType::Float64, &[10, r, 30], &v);
        let want: Vec<f64> = (0..r)
            .map(|j| {
                (0..10)
                    .flat_map(|i| (0..30).map(move |k| (i, k)))
                    .map(|(i, k)| v[i * r * 30 + j * 30 + k])
                    .sum()
            })
            .collect();
        same(&vals(&red("sum", &p, axis(&[0, 2])).unwrap()), &want);
        // [K0, R, K2] with many blocks, and wide rows folded in column bands.
        let want: Vec<f64> = (0..10)
            .flat_map(|i| (0..30).map(move |k| (i, k)))
            .map(|(i, k)| (0..r).map(|j| v[i * r * 30 + j * 30 + k]).sum())
            .collect();
        same(&vals(&red("sum", &p, axis(&[1])).unwrap()), &want);
        let q = arr(DType::Float64, &[3, 70_000], &v);
        let want: Vec<f64> = (0..70_000)
            .map(|j| v[j] + v[70_000 + j] + v[140_000 + j])
            .collect();
        same(&vals(&red("sum", &q, axis(&[0])).unwrap()), &want);
        let want: Vec<f64> = (0..70_000)
            .map(|j| v[j].max(v[70_000 + j]).max(v[140_000 + j]))
            .collect();
        same(&vals(&red("max", &q, axis(&[0])).unwrap()), &want);
    }

    #[test]
    fn argmax_of_long_lanes_finds_the_first_extreme_across_chunks() {
        // Many ties of the extreme, spread over chunks and threads; then a NaN late on.
        let n = 300_001;
        let v: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1000) as f64).collect();
        let first = |want: f64| v.iter().position(|&x| x == want).unwrap() as f64;
        for dt in [DType::Float64, DType::Float32, DType::Int32, DType::Float16] {
            let a = arr(dt, &[n], &v);
            same(
                &vals(&red("argmax", &a, Attrs::new()).unwrap()),
                &[first(999.0)],
            );
            same(
                &vals(&red("argmin", &a, Attrs::new()).unwrap()),
                &[first(0.0)],
            );
        }
        let mut w = v.clone();
        w[250_000] = f64::NAN;
        w[260_000] = f64::NAN;
        for dt in [DType::Float64, DType::Float32] {
            let a = arr(dt, &[n], &w);
            same(
                &vals(&red("argmax", &a, Attrs::new()).unwrap()),
                &[250_000.0],
            );
            same(
                &vals(&red("argmin", &a, Attrs::new()).unwrap()),
                &[250_000.0],
            );
        }
    }

    #[test]
    fn long_sums_take_the_wide_path_and_match_the_baseline() {
        let n = 1 << 20;
        let v: Vec<f64> = (0..n).map(|i| ((i % 977) as f64) * 0.37 - 100.0).collect();
        let x32: Vec<f32> = v.iter().map(|&x| x as f32).collect();
        // the dispatched builds add in the same order as the generic pairwise sum
        assert_eq!(
            pairwise_f64(&v).to_bits(),
            pairwise(&v, 0.0, &|x: f64| x).to_bits()
        );
        assert_eq!(
            pairwise_f32(&x32).to_bits(),
            pairwise(&x32, 0.0, &|x: f32| f64::from(x)).to_bits()
        );
    }
}
