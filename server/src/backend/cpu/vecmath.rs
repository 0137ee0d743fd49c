//! Vectorised `exp`, `log`, `sin`, `cos` and `sqrt` for contiguous float32 and float64
//! arrays.
//!
//! The scalar functions of the standard library are calls into libm that the compiler
//! cannot vectorise, and the default x86-64 target has SSE2 only. Here each function is
//! written branch-free (range reduction, a polynomial, a select for the special values),
//! so a loop over a slice vectorises; the loop is compiled three times, for AVX-512, for
//! AVX2 with FMA, and for the baseline, and the widest one the CPU has runs (checked at
//! run time, once per call). They compute the same function as the elementwise rows of
//! `ndserve_proto::ops::elementwise` (that table stays the one definition of each op):
//! within 2 ulp, with IEEE special values (NaN, infinities, signed zero, subnormals) as
//! libm gives them.
//!
//! - `exp`: `x = n ln2 + r`, `|r| <= ln2/2` (Cody-Waite), a Taylor polynomial in `r`,
//!   and `2^n` applied in two halves so results in the subnormal range and overflow to
//!   infinity come out right without a branch.
//! - `log`: `x = 2^k m`, `m` in `[sqrt(2)/2, sqrt(2))`, subnormal inputs scaled first, and
//!   fdlibm's `log1p`-style polynomial in `s = f / (2 + f)`.
//! - float32 `sin`/`cos`: reduced by `pi/2` and evaluated in float64 (so the float32
//!   result is correctly rounded but for rare ties), the polynomials in fused
//!   multiply-adds in the AVX-512 and AVX2 builds; inputs beyond `2^19` or not finite
//!   take libm's path. (float64 `sin`/`cos` already run at NumPy's speed through libm.)
//! - `sqrt`: the hardware's correctly rounded square root, the same bits in every build;
//!   only the vector width differs. In the baseline build (4 float32 lanes) `sqrt_f32`
//!   moved its arrays at 0.61-0.73 of the host memcpy rate in four of five bench runs on
//!   the 2-vCPU AMD EPYC guest with AVX-512, where `add` reached 1.1-1.4.

#![allow(clippy::excessive_precision)] // the constants are fdlibm's, digit for digit

use rayon::prelude::*;

use super::array::{HostArray, Nd};
use super::elementwise::PAR_MIN_LEN;
use super::stream_store;

/// The piece of a slice one rayon task (and one feature-dispatched call) maps.
const CHUNK: usize = 1 << 14;

/// Elements per piece of a streamed output (4 KiB of float32): computed into a buffer
/// in the L1 cache, then streamed out.
const PIECE: usize = 1 << 10;

/// `op` of the elementwise table computed by the vectorised kernels here, when `x` is a
/// contiguous float32 or float64 array and this module has that function; `None` sends
/// the caller to the table's generic loop.
pub fn unary(op: &str, x: &HostArray) -> Option<HostArray> {
    match x {
        HostArray::F32(a) => map(a, slice_f32(op)?).map(HostArray::F32),
        HostArray::F64(a) => map(a, slice_f64(op)?).map(HostArray::F64),
        _ => None,
    }
}

/// A vectorised function over a slice: `out[i] = f(xs[i])`.
pub type SliceFn<T> = fn(&[T], &mut [T]);

/// The vectorised float32 slice function of `op`, if this module has one.
pub fn slice_f32(op: &str) -> Option<SliceFn<f32>> {
    Some(match op {
        "exp" => exp_f32_slice,
        "log" => log_f32_slice,
        "sin" => sin_f32_slice,
        "cos" => cos_f32_slice,
        "sqrt" => sqrt_f32_slice,
        _ => return None,
    })
}

/// The vectorised float64 slice function of `op`, if this module has one.
pub fn slice_f64(op: &str) -> Option<SliceFn<f64>> {
    Some(match op {
        "exp" => exp_f64_slice,
        "log" => log_f64_slice,
        "sqrt" => sqrt_f64_slice,
        _ => return None,
    })
}

/// `f` over the contiguous elements of `a`, in parallel pieces for large arrays.
fn map<T>(a: &Nd<T>, f: SliceFn<T>) -> Option<Nd<T>>
where
    T: bytemuck::Pod + Default + Send + Sync,
{
    let xs = a.as_slice()?;
    let out = streamed(xs, f).unwrap_or_else(|| mapped(xs, f));
    Some(
        ndarray::Array::from_shape_vec(a.raw_dim(), out)
            .expect("length matches the shape")
            .into_shared(),
    )
}

/// `f` over `xs` into a new vector written with streaming stores, when the output is
/// large enough for them ([`stream_store::worth_streaming`]); `None` otherwise. Each piece
/// is computed into a buffer that stays in cache, then streamed out, so the output's
/// memory is not read before it is written: a unary op reads one array and writes one,
/// and that read was a third of its memory traffic.
fn streamed<T>(xs: &[T], f: SliceFn<T>) -> Option<Vec<T>>
where
    T: bytemuck::Pod + Default + Send + Sync,
{
    if std::mem::size_of_val(xs) < stream_store::STREAM_MIN_BYTES {
        return None;
    }
    let n = xs.len();
    let mut out: Vec<T> = Vec::with_capacity(n);
    let spare = &mut out.spare_capacity_mut()[..n];
    if !stream_store::worth_streaming(spare) {
        return None;
    }
    spare
        .par_chunks_mut(CHUNK)
        .zip(xs.par_chunks(CHUNK))
        .for_each(|(o, x)| {
            let mut buf = [T::default(); PIECE];
            for (op, xp) in o.chunks_mut(PIECE).zip(x.chunks(PIECE)) {
                let b = &mut buf[..xp.len()];
                f(xp, b);
                stream_store::copy_streaming(op, b);
            }
            stream_store::fence();
        });
    // SAFETY: the chunks cover `0..n`, and `copy_streaming` wrote every element of each
    // piece.
    unsafe { out.set_len(n) };
    Some(out)
}

/// `f` over `xs` into a new vector with ordinary stores.
fn mapped<T>(xs: &[T], f: SliceFn<T>) -> Vec<T>
where
    T: Copy + Default + Send + Sync,
{
    // Zeroed memory comes fresh from the OS for large arrays: no extra pass.
    let mut out = vec![T::default(); xs.len()];
    if xs.len() >= PAR_MIN_LEN {
        out.par_chunks_mut(CHUNK)
            .zip(xs.par_chunks(CHUNK))
            .for_each(|(o, x)| f(x, o));
    } else {
        f(xs, &mut out);
    }
    out
}

/// Whether the CPU has the features of the widest compiled variants (AVX-512 F, DQ, VL
/// with AVX2 and FMA). `is_x86_feature_detected!` caches its answer: this is a load.
#[cfg(target_arch = "x86_64")]
#[inline]
pub fn has_avx512() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512dq")
        && std::arch::is_x86_feature_detected!("avx512vl")
        && has_avx2()
}

/// Whether the CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[inline]
pub fn has_avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

/// Defines `fn $name(args) $body`, compiled for AVX-512, for AVX2+FMA and for the
/// baseline; a call runs the widest variant the CPU has (checked at run time).
macro_rules! multiversion {
    ($(#[$m:meta])* fn $name:ident($($arg:ident: $ty:ty),*) $body:block) => {
        $(#[$m])*
        fn $name($($arg: $ty),*) {
            // `FMA`: this build has fused multiply-add (see [`madd`]).
            #[inline(always)]
            fn body<const FMA: bool>($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,fma")]
                fn wide($($arg: $ty),*) {
                    body::<true>($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) {
                    body::<true>($($arg),*)
                }
                if has_avx512() {
                    // SAFETY: the CPU has every feature `wide` is compiled for (checked
                    // just above), which is all `#[target_feature]` requires.
                    unsafe { wide($($arg),*) };
                    return;
                }
                if has_avx2() {
                    // SAFETY: the CPU has AVX2 and FMA (checked just above).
                    unsafe { avx2($($arg),*) };
                    return;
                }
            }
            body::<false>($($arg),*)
        }
    };
}

/// Defines `$name(xs, out)`: `$f` over the slice, [`multiversion`]ed (`$f` may name
/// the variant's `FMA`).
macro_rules! dispatched {
    ($name:ident, $T:ty, $f:expr) => {
        multiversion! {
            fn $name(xs: &[$T], out: &mut [$T]) {
                for (o, &x) in out.iter_mut().zip(xs) {
                    *o = $f(x);
                }
            }
        }
    };
}

dispatched!(exp_f32_slice, f32, exp_f32);
dispatched!(exp_f64_slice, f64, exp_f64::<FMA>);
dispatched!(log_f32_slice, f32, log_f32);
dispatched!(log_f64_slice, f64, log_f64);
dispatched!(sqrt_f32_slice, f32, f32::sqrt);
dispatched!(sqrt_f64_slice, f64, f64::sqrt);

/// float32 `sin`: the vector loop over the slice, then the scalar path for the inputs it
/// does not reduce (large or not finite).
fn sin_f32_slice(xs: &[f32], out: &mut [f32]) {
    sin_cos_f32(xs, out, 0);
    fix_up(xs, out, 0);
}

/// float32 `cos`, as [`sin_f32_slice`] one quadrant on.
fn cos_f32_slice(xs: &[f32], out: &mut [f32]) {
    sin_cos_f32(xs, out, 1);
    fix_up(xs, out, 1);
}

/// Redoes the elements the float32 reduction of [`sin_cos_kernel32`] does not cover:
/// through [`sin_cos_kernel`] up to [`TRIG_MAX`], beyond it (and NaN) through libm.
fn fix_up(xs: &[f32], out: &mut [f32], quadrant: i64) {
    let beyond = |x: f32| x.abs() > TRIG32_MAX || x.is_nan();
    if xs.iter().any(|&x| beyond(x)) {
        for (o, &x) in out.iter_mut().zip(xs) {
            if beyond(x) {
                *o = match (x.abs() <= TRIG_MAX, quadrant) {
                    (true, q) => sin_cos_kernel::<false>(x, q),
                    (false, 0) => x.sin(),
                    (false, _) => x.cos(),
                };
            }
        }
    }
}

multiversion! {
    /// The float32 sine or cosine over the slice: [`sin_cos_kernel32`] in the builds with
    /// fused multiply-add (16 lanes with AVX-512), [`sin_cos_kernel`] in float64 in the
    /// baseline build, whose float32 reduction would round too often without it.
    fn sin_cos_f32(xs: &[f32], out: &mut [f32], quadrant: i64) {
        for (o, &x) in out.iter_mut().zip(xs) {
            *o = if FMA {
                sin_cos_kernel32(x, quadrant as i32)
            } else {
                sin_cos_kernel::<FMA>(x, quadrant)
            };
        }
    }
}

/// `c[0] + x c[1] + x^2 c[2] + ...` by Horner's rule (unrolled: `c` is a constant).
#[inline(always)]
fn horner32(x: f32, c: &[f32]) -> f32 {
    let (&last, rest) = c.split_last().expect("coefficients");
    rest.iter().rev().fold(last, |acc, &k| acc * x + k)
}

/// [`horner32`] for float64, its steps fused when `FMA` (see [`madd`]).
#[inline(always)]
fn horner64<const FMA: bool>(x: f64, c: &[f64]) -> f64 {
    let (&last, rest) = c.split_last().expect("coefficients");
    rest.iter()
        .rev()
        .fold(last, |acc, &k| madd::<FMA>(acc, x, k))
}

/// `a * b + c`: one fused multiply-add when `FMA` (the builds for CPUs that have it), a
/// multiply and an add otherwise (the baseline build would call libm's software `fma`,
/// many times slower). A fused step rounds once instead of twice; the kernels' error
/// bounds hold either way.
#[inline(always)]
fn madd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

// ---- exp -------------------------------------------------------------------------------

/// `e**x` for float32.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    // 1.5 * 2^23: adding it rounds to an integer held in the low mantissa bits.
    const SHIFT: f32 = 12_582_912.0;
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4; // 0x3f318000: n * LN2_HI is exact
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Beyond these the result is 0 or inf anyway; the bound keeps 2^n representable.
    let xc = x.clamp(-110.0, 90.0);
    let t = xc * LOG2E + SHIFT;
    let nf = t - SHIFT;
    let n = (t.to_bits() as i32).wrapping_sub(SHIFT.to_bits() as i32);
    let r = (xc - nf * LN2_HI) - nf * LN2_LO;
    // Taylor to r^7 on |r| <= ln2/2: relative error below 2^-27.
    let p = horner32(
        r,
        &[
            1.0,
            1.0,
            0.5,
            1.0 / 6.0,
            1.0 / 24.0,
            1.0 / 120.0,
            1.0 / 720.0,
            1.0 / 5040.0,
        ],
    );
    let n1 = n >> 1;
    let n2 = n - n1;
    let s1 = f32::from_bits(((n1 + 127) as u32) << 23);
    let s2 = f32::from_bits(((n2 + 127) as u32) << 23);
    let y = p * s1 * s2;
    // NaN stays NaN (the clamp keeps it; the select makes it explicit).
    if x.is_nan() { x } else { y }
}

/// `e**x` for float64, the polynomial's steps fused when `FMA` (see [`madd`]).
#[inline(always)]
pub fn exp_f64<const FMA: bool>(x: f64) -> f64 {
    const SHIFT: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1; // fdlibm: n * LN2_HI exact
    const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
    let xc = x.clamp(-760.0, 720.0);
    let t = xc * LOG2E + SHIFT;
    let nf = t - SHIFT;
    let n = (t.to_bits() as i64).wrapping_sub(SHIFT.to_bits() as i64);
    let hi = xc - nf * LN2_HI;
    let lo = nf * LN2_LO;
    let r = hi - lo;
    // Taylor to r^13 on |r| <= ln2/2: truncation below 2^-58; evaluated as
    // 1 + r + r^2 q(r) with q's tail first.
    let q = horner64::<FMA>(
        r,
        &[
            0.5,
            1.0 / 6.0,
            1.0 / 24.0,
            1.0 / 120.0,
            1.0 / 720.0,
            1.0 / 5040.0,
            1.0 / 40320.0,
            1.0 / 362_880.0,
            1.0 / 3_628_800.0,
            1.0 / 39_916_800.0,
            1.0 / 479_001_600.0,
            1.0 / 6_227_020_800.0,
        ],
    );
    // r = hi - lo: keep lo's rounding error out of the leading term.
    let p = 1.0 + (hi + madd::<FMA>(r * r, q, -lo));
    let n1 = n >> 1;
    let n2 = n - n1;
    let s1 = f64::from_bits(((n1 + 1023) as u64) << 52);
    let s2 = f64::from_bits(((n2 + 1023) as u64) << 52);
    let y = p * s1 * s2;
    if x.is_nan() { x } else { y }
}

// ---- log -------------------------------------------------------------------------------

/// Defines `$name(x)`, the natural logarithm for `$F` with fdlibm's reduction and
/// polynomial: `x = 2^k m`, `m` in `[sqrt(2)/2, sqrt(2))` (subnormals scaled by
/// `2^$sub_exp` first), `f = m - 1`, `s = f / (2 + f)`, `log(1 + f)` from `s`, and IEEE's
/// special values by selects. `$I` is the signed integer of `$F`'s width, `$U` the unsigned
/// one; `$bias`, `$mant` and `$sqrt_half` are the exponent bias, the mantissa mask and
/// the bits of `sqrt(2)/2`; the `LG` coefficients and the split `ln 2` are fdlibm's for
/// that precision.
macro_rules! fdlibm_log {
    ($(#[$m:meta])* $name:ident, $F:ty, $I:ty, $U:ty, mant_bits: $mb:expr, bias: $bias:expr,
     sub_exp: $sub:expr, sqrt_half: $sh:expr, ln2: ($hi:expr, $lo:expr), lg: $lg:expr) => {
        $(#[$m])*
        #[inline(always)]
        pub fn $name(x: $F) -> $F {
            const ONE_BITS: $I = ($bias as $I) << $mb;
            const MANT: $I = ((1 as $I) << $mb) - 1;
            let lg: [$F; 7] = $lg;
            let sub = x < <$F>::MIN_POSITIVE;
            let xs = if sub { x * ((1u64 << $sub) as $F) } else { x };
            let ix = (xs.to_bits() as $I).wrapping_add(ONE_BITS - $sh);
            let k = (ix >> $mb) - $bias - if sub { $sub } else { 0 };
            let m = <$F>::from_bits(((ix & MANT) + $sh) as $U);
            let f = m - 1.0;
            let s = f / (2.0 + f);
            let z = s * s;
            let w = z * z;
            let t1 = w * (lg[1] + w * (lg[3] + w * lg[5]));
            let t2 = z * (lg[0] + w * (lg[2] + w * (lg[4] + w * lg[6])));
            let r = t2 + t1;
            let hfsq = 0.5 * f * f;
            let dk = k as $F;
            let y = dk * $hi - ((hfsq - (s * (hfsq + r) + dk * $lo)) - f);
            let y = if x == <$F>::INFINITY { x } else { y };
            let y = if x == 0.0 { <$F>::NEG_INFINITY } else { y };
            if x < 0.0 || x.is_nan() { <$F>::NAN } else { y }
        }
    };
}

fdlibm_log!(
    /// Natural logarithm for float32 (fdlibm's `logf`).
    log_f32, f32, i32, u32, mant_bits: 23, bias: 127, sub_exp: 25,
    sqrt_half: 0x3f35_04f3, ln2: (6.931_381_2e-1, 9.058_000_6e-6),
    lg: [6.666_666_9e-1, 4.000_000_6e-1, 2.857_143e-1, 2.222_219_8e-1, 1.818_357_3e-1,
         1.531_383_8e-1, 1.479_819_9e-1]
);

fdlibm_log!(
    /// Natural logarithm for float64 (fdlibm's `log`).
    log_f64, f64, i64, u64, mant_bits: 52, bias: 1023, sub_exp: 54,
    sqrt_half: 0x3fe6_a09e_667f_3bcd,
    ln2: (6.931_471_803_691_238_164_90e-1, 1.908_214_929_270_587_700_02e-10),
    lg: [6.666_666_666_666_735_130e-1, 3.999_999_999_940_941_908e-1,
         2.857_142_874_366_239_149e-1, 2.222_219_843_214_978_396e-1,
         1.818_357_216_161_805_012e-1, 1.531_383_769_920_937_332e-1,
         1.479_819_860_511_658_591e-1]
);

// ---- sin and cos -------------------------------------------------------------------------

/// The largest float32 input [`sin_cos_kernel`] reduces exactly enough (`j < 2^20`).
const TRIG_MAX: f32 = 524_288.0;

/// The largest float32 [`sin_cos_kernel32`] reduces: NumPy's bound for the same
/// three-part reduction.
const TRIG32_MAX: f32 = 71_476.062_5;

/// `sin(x + quadrant * pi/2)` for float32 `|x| <= TRIG32_MAX`, in float32 with fused
/// multiply-adds (only the builds that have them call it): a three-part Cody-Waite
/// reduction and the Cephes polynomials on [-π/4, π/4], as NumPy's SIMD loops do. Every
/// float32 input up to the bound, checked once against float64 `sin`/`cos`: within
/// 1.53 ulp (the float64 kernel: 0.5), twice as many lanes.
#[inline(always)]
fn sin_cos_kernel32(x: f32, quadrant: i32) -> f32 {
    const SHIFT: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer
    const PIO2_HI: f32 = 1.570_796_4; // π/2 rounded up to float32
    const PIO2_MED: f32 = -4.371_139e-8; // π/2 - PIO2_HI, rounded
    const PIO2_LO: f32 = -1.715_124_5e-15; // the rest
    let t = x.mul_add(std::f32::consts::FRAC_2_PI, SHIFT);
    let q = t - SHIFT;
    let j = (t.to_bits() as i32).wrapping_sub(SHIFT.to_bits() as i32) + quadrant;
    let r = (-q).mul_add(PIO2_HI, x);
    let r = (-q).mul_add(PIO2_MED, r);
    let r = (-q).mul_add(PIO2_LO, r);
    // (x itself below π/4, where the steps above give x but +0.0 for -0.0)
    let r = if q == 0.0 { x } else { r };
    let z = r * r;
    let sin_p = z
        .mul_add(-1.951_529_6e-4, 8.332_161e-3)
        .mul_add(z, -1.666_665_5e-1);
    // sin(r) has r's sign on [-π/4, π/4]; copying it keeps sin(-0.0) = -0.0
    let sin = (sin_p * z).mul_add(r, r).copysign(r);
    let cos = z
        .mul_add(2.443_315_7e-5, -1.388_731_6e-3)
        .mul_add(z, 4.166_664_6e-2)
        .mul_add(z, -0.5)
        .mul_add(z, 1.0);
    let v = if j & 1 == 0 { sin } else { cos };
    if j & 2 == 0 { v } else { -v }
}

/// `sin(x + quadrant * pi/2)` for float32 `|x| <= TRIG_MAX`, in float64 inside.
#[inline(always)]
fn sin_cos_kernel<const FMA: bool>(x: f32, quadrant: i64) -> f32 {
    const SHIFT: f64 = 6_755_399_441_055_744.0;
    const TWO_OVER_PI: f64 = std::f64::consts::FRAC_2_PI;
    const PIO2_HI: f64 = 1.570_796_326_734_125_614_17; // fdlibm pio2_1: 33 bits
    const PIO2_LO: f64 = 6.077_100_506_506_192_249_32e-11; // pio2_1t
    let xd = f64::from(x);
    let t = xd * TWO_OVER_PI + SHIFT;
    let jf = t - SHIFT;
    let j = (t.to_bits() as i64).wrapping_sub(SHIFT.to_bits() as i64) + quadrant;
    let r = (xd - jf * PIO2_HI) - jf * PIO2_LO;
    let z = r * r;
    // Taylor on |r| <= pi/4: errors below 2^-33, far under float32's half ulp.
    // (The reduction above stays unfused: `jf * PIO2_HI` is exact as it is.)
    // (r's sign copied: sin(-0.0) = -0.0)
    let sin = madd::<FMA>(
        r * z,
        horner64::<FMA>(
            z,
            &[
                -1.0 / 6.0,
                1.0 / 120.0,
                -1.0 / 5040.0,
                1.0 / 362_880.0,
                -1.0 / 39_916_800.0,
            ],
        ),
        r,
    )
    .copysign(r);
    let cos = horner64::<FMA>(
        z,
        &[
            1.0,
            -0.5,
            1.0 / 24.0,
            -1.0 / 720.0,
            1.0 / 40320.0,
            -1.0 / 3_628_800.0,
            1.0 / 479_001_600.0,
        ],
    );
    let v = if j & 1 == 0 { sin } else { cos };
    let v = if j & 2 == 0 { v } else { -v };
    v as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ulps between a and b (same sign, finite).
    fn ulps32(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }
    fn ulps64(a: f64, b: f64) -> u64 {
        (a.to_bits() as i128 - b.to_bits() as i128).unsigned_abs() as u64
    }

    /// A deterministic spread of inputs: dense near 0, then logarithmic out to `hi`.
    fn inputs(hi: f64) -> Vec<f64> {
        let mut v = Vec::new();
        let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let u = (s >> 11) as f64 / (1u64 << 53) as f64;
            let mag = (u * hi.ln_1p()).exp_m1();
            v.push(if s & 1 == 0 { mag } else { -mag });
        }
        v
    }

    fn same_special32(got: f32, want: f32) -> bool {
        (got.is_nan() && want.is_nan()) || got.to_bits() == want.to_bits()
    }

    #[test]
    fn float32_functions_are_within_two_ulps_of_libm() {
        for &x in &inputs(200.0) {
            let x = x as f32;
            let (g, w) = (exp_f32(x), x.exp());
            if g == w {
            } else if w.is_normal() || g.is_normal() {
                assert!(ulps32(g, w) <= 2, "exp({x:e}) = {g:e}, libm {w:e}");
            } else {
                assert!(
                    (g - w).abs() <= f32::MIN_POSITIVE,
                    "exp({x:e}) = {g:e}, libm {w:e}"
                );
            }
            let a = x.abs();
            assert!(ulps32(log_f32(a), a.ln()) <= 2 || a == 1.0, "log({a:e})");
        }
        for &x in &inputs(TRIG_MAX as f64) {
            let x = x as f32;
            for (q, w, fma) in [
                (0, x.sin(), false),
                (1, x.cos(), false),
                (0, x.sin(), true),
                (1, x.cos(), true),
            ] {
                let g = if fma {
                    sin_cos_kernel::<true>(x, q)
                } else {
                    sin_cos_kernel::<false>(x, q)
                };
                // relative to 1: near zeros of sin/cos the absolute error is what counts
                let near = |g: f32| (g - w).abs() <= 2.0 * f32::EPSILON * w.abs().max(f32::EPSILON);
                assert!(near(g), "q{q}({x:e}) = {g:e}, libm {w:e}");
                if x.abs() <= TRIG32_MAX {
                    let g = sin_cos_kernel32(x, q as i32);
                    assert!(near(g), "float32 q{q}({x:e}) = {g:e}, libm {w:e}");
                }
            }
        }
    }

    #[test]
    fn float64_functions_are_within_two_ulps_of_libm() {
        for (&x, fma) in inputs(800.0).iter().zip([false, true].into_iter().cycle()) {
            let g = if fma {
                exp_f64::<true>(x)
            } else {
                exp_f64::<false>(x)
            };
            let w = x.exp();
            if g == w {
            } else if w.is_normal() || g.is_normal() {
                assert!(ulps64(g, w) <= 2, "exp({x:e}) = {g:e}, libm {w:e}");
            } else {
                assert!(
                    (g - w).abs() <= f64::MIN_POSITIVE,
                    "exp({x:e}) = {g:e}, libm {w:e}"
                );
            }
            let a = x.abs();
            assert!(
                ulps64(log_f64(a), a.ln()) <= 2,
                "log({a:e}) = {:e}, libm {:e}",
                log_f64(a),
                a.ln()
            );
        }
    }

    #[test]
    fn special_values_are_libms() {
        let specials32 = [
            0.0f32,
            -0.0,
            1.0,
            -1.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            f32::MIN_POSITIVE,
            1e-45,
            3e-39,
            f32::MAX,
            88.72,
            88.73,
            -87.34,
            -103.9,
            -104.0,
            -200.0,
            1e-30,
            // either side of the float32 reduction's bound and of the float64 one's
            71_476.06,
            71_477.0,
            -300_000.0,
            600_000.0,
            1e7,
        ];
        for &x in &specials32 {
            let g = exp_f32(x);
            let w = x.exp();
            assert!(
                same_special32(g, w) || ulps32(g, w) <= 2 || (g - w).abs() <= 1e-45,
                "exp({x:e}) = {g:e}, libm {w:e}"
            );
            let g = log_f32(x);
            let w = x.ln();
            assert!(
                same_special32(g, w) || ulps32(g, w) <= 2,
                "log({x:e}) = {g:e}, libm {w:e}"
            );
        }
        let xs: Vec<f32> = specials32.to_vec();
        let mut out = vec![0.0f32; xs.len()];
        sin_f32_slice(&xs, &mut out);
        for (&x, &g) in xs.iter().zip(&out) {
            let w = x.sin();
            assert!(
                same_special32(g, w) || (g - w).abs() <= 2.0 * f32::EPSILON * w.abs(),
                "sin({x:e}) = {g:e}"
            );
            // sin keeps the sign of a zero (and of every tiny input): np.sin(-0.0) is -0.0
            if x.abs() < 1e-30 {
                assert_eq!(g.to_bits(), x.to_bits(), "sin({x:e}) = {g:e}");
            }
        }
        cos_f32_slice(&xs, &mut out);
        for (&x, &g) in xs.iter().zip(&out) {
            let w = x.cos();
            assert!(
                same_special32(g, w) || (g - w).abs() <= 2.0 * f32::EPSILON * w.abs(),
                "cos({x:e}) = {g:e}"
            );
        }
        for &x in &[
            0.0f64,
            -0.0,
            1.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            5e-324,
            1e-310,
            709.78,
            709.79,
            -708.4,
            -745.1,
            -746.0,
            f64::MAX,
        ] {
            let w = x.exp();
            for g in [exp_f64::<false>(x), exp_f64::<true>(x)] {
                assert!(
                    (g.is_nan() && w.is_nan()) || g == w || ulps64(g, w) <= 2,
                    "exp({x:e}) = {g:e}, libm {w:e}"
                );
            }
            let (g, w) = (log_f64(x), x.ln());
            assert!(
                (g.is_nan() && w.is_nan()) || g.to_bits() == w.to_bits() || ulps64(g, w) <= 2,
                "log({x:e}) = {g:e}, libm {w:e}"
            );
        }
    }

    #[test]
    fn the_dispatched_slice_kernels_agree_with_the_scalar_functions() {
        let xs: Vec<f64> = inputs(50.0);
        let x32: Vec<f32> = xs.iter().map(|&x| x as f32).collect();
        let mut o32 = vec![0.0f32; xs.len()];
        exp_f32_slice(&x32, &mut o32);
        assert!(
            x32.iter()
                .zip(&o32)
                .all(|(&x, &o)| o.to_bits() == exp_f32(x).to_bits())
        );
        let mut o64 = vec![0.0f64; xs.len()];
        log_f64_slice(&xs, &mut o64);
        assert!(xs.iter().zip(&o64).all(|(&x, &o)| same64(o, log_f64(x))));
        // The builds with fused multiply-add (chosen on CPUs that have it) give the
        // fused scalar functions' bits: `mul_add` rounds once, in hardware or not.
        #[cfg(target_arch = "x86_64")]
        let fused = has_avx2();
        #[cfg(not(target_arch = "x86_64"))]
        let fused = false;
        exp_f64_slice(&xs, &mut o64);
        assert!(xs.iter().zip(&o64).all(|(&x, &o)| {
            same64(
                o,
                if fused {
                    exp_f64::<true>(x)
                } else {
                    exp_f64::<false>(x)
                },
            )
        }));
        sin_f32_slice(&x32, &mut o32);
        assert!(x32.iter().zip(&o32).all(|(&x, &o)| {
            let want = if fused {
                sin_cos_kernel32(x, 0)
            } else {
                sin_cos_kernel::<false>(x, 0)
            };
            o.to_bits() == want.to_bits()
        }));
    }

    /// The square root is correctly rounded in every build: the dispatched slices give
    /// the scalar function's bits, special values included.
    #[test]
    fn the_dispatched_square_roots_are_the_scalar_ones() {
        let mut xs: Vec<f64> = inputs(1e6);
        xs.extend([0.0, -0.0, -1.0, 5e-324, 1e-310, f64::MAX, f64::INFINITY]);
        xs.extend([f64::NEG_INFINITY, f64::NAN, 2.0, 0.25]);
        let x32: Vec<f32> = xs.iter().map(|&x| x as f32).collect();
        let mut o32 = vec![0.0f32; xs.len()];
        sqrt_f32_slice(&x32, &mut o32);
        for (&x, &o) in x32.iter().zip(&o32) {
            let w = x.sqrt();
            assert!(
                o.to_bits() == w.to_bits() || (o.is_nan() && w.is_nan()),
                "{x:e}"
            );
        }
        let mut o64 = vec![0.0f64; xs.len()];
        sqrt_f64_slice(&xs, &mut o64);
        assert!(xs.iter().zip(&o64).all(|(&x, &o)| same64(o, x.sqrt())));
    }

    /// An output large enough for streaming stores takes that path (on x86-64) and gives
    /// the scalar function's bits, through the kernel's own entry point too.
    #[test]
    fn streamed_outputs_keep_the_bits() {
        let n = stream_store::STREAM_MIN_BYTES / 4 + PIECE + 5;
        let xs: Vec<f32> = (0..n).map(|i| (i % 9_973) as f32 * 0.37 - 50.0).collect();
        let same = |got: &[f32]| {
            xs.iter().zip(got).all(|(&x, &o)| {
                let w = x.sqrt();
                o.to_bits() == w.to_bits() || (o.is_nan() && w.is_nan())
            })
        };
        let s = streamed(&xs, sqrt_f32_slice);
        assert_eq!(s.is_some(), cfg!(target_arch = "x86_64"));
        if let Some(s) = s {
            assert!(same(&s));
        }
        assert!(streamed(&xs[..1000], sqrt_f32_slice).is_none());
        let a = HostArray::F32(
            ndarray::ArrayD::from_shape_vec(vec![n], xs.clone())
                .unwrap()
                .into_shared(),
        );
        let Some(HostArray::F32(got)) = unary("sqrt", &a) else {
            panic!("sqrt of a contiguous float32 array is vectorised")
        };
        assert!(same(got.as_slice().unwrap()));
    }

    fn same64(a: f64, b: f64) -> bool {
        (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
    }
}
