//! Casting between dtypes with NumPy's C casting rules: integers wrap, floats truncate
//! toward zero (out-of-range and NaN give the x86 "integer indefinite" value NumPy gives
//! on this platform), complex to real drops the imaginary part, anything to bool is `!= 0`.

use half::{bf16, f16};
use ndserve_proto::DType;
use num_complex::{Complex32, Complex64};

use super::array::{Element, HostArray};

/// One element on its way between dtypes.
#[derive(Clone, Copy, Debug)]
pub enum Lane {
    /// bool
    B(bool),
    /// signed integer
    I(i64),
    /// unsigned integer
    U(u64),
    /// real float
    F(f64),
    /// complex
    C(f64, f64),
}

/// Conversion through [`Lane`]; with inlining the `match` folds away per type pair.
pub trait Cast: Element {
    /// To a lane.
    fn to_lane(self) -> Lane;
    /// From a lane, with C casting semantics.
    fn from_lane(l: Lane) -> Self;
}

/// x86's conversion of a double to a 32-bit integer (`cvttsd2si`): out of range or NaN
/// gives `i32::MIN`.
fn f64_to_i32_x86(f: f64) -> i32 {
    if f > -2147483649.0 && f < 2147483648.0 {
        f as i32
    } else {
        i32::MIN
    }
}

/// x86's conversion of a double to a 64-bit integer: out of range or NaN gives `i64::MIN`.
fn f64_to_i64_x86(f: f64) -> i64 {
    if (-9223372036854775808.0..9223372036854775808.0).contains(&f) {
        f as i64
    } else {
        i64::MIN
    }
}

fn f64_to_u64_x86(f: f64) -> u64 {
    if f < 9223372036854775808.0 {
        f64_to_i64_x86(f) as u64
    } else if f < 18446744073709551616.0 {
        (f64_to_i64_x86(f - 9223372036854775808.0) as u64) ^ (1 << 63)
    } else {
        1 << 63
    }
}

macro_rules! int_cast {
    ($($T:ty, $signed:expr, $from_f:expr;)*) => {$(
        impl Cast for $T {
            #[inline(always)]
            fn to_lane(self) -> Lane {
                if $signed { Lane::I(self as i64) } else { Lane::U(self as u64) }
            }
            #[inline(always)]
            fn from_lane(l: Lane) -> Self {
                match l {
                    Lane::B(b) => b as $T,
                    Lane::I(i) => i as $T,
                    Lane::U(u) => u as $T,
                    Lane::F(f) | Lane::C(f, _) => {
                        let g: fn(f64) -> $T = $from_f;
                        g(f)
                    }
                }
            }
        }
    )*};
}

int_cast! {
    i8, true, |f| f64_to_i32_x86(f) as i8;
    i16, true, |f| f64_to_i32_x86(f) as i16;
    i32, true, f64_to_i32_x86;
    i64, true, f64_to_i64_x86;
    u8, false, |f| f64_to_i32_x86(f) as u8;
    u16, false, |f| f64_to_i32_x86(f) as u16;
    u32, false, |f| f64_to_i64_x86(f) as u32;
    u64, false, f64_to_u64_x86;
}

impl Cast for bool {
    #[inline(always)]
    fn to_lane(self) -> Lane {
        Lane::B(self)
    }
    #[inline(always)]
    fn from_lane(l: Lane) -> Self {
        match l {
            Lane::B(b) => b,
            Lane::I(i) => i != 0,
            Lane::U(u) => u != 0,
            Lane::F(f) => f != 0.0,
            Lane::C(re, im) => re != 0.0 || im != 0.0,
        }
    }
}

macro_rules! float_cast {
    ($($T:ty, $to:expr, $from:expr;)*) => {$(
        impl Cast for $T {
            #[inline(always)]
            fn to_lane(self) -> Lane {
                let t: fn($T) -> f64 = $to;
                Lane::F(t(self))
            }
            #[inline(always)]
            fn from_lane(l: Lane) -> Self {
                let f: fn(f64) -> $T = $from;
                match l {
                    Lane::B(b) => f(b as u8 as f64),
                    Lane::I(i) => f(i as f64),
                    Lane::U(u) => f(u as f64),
                    Lane::F(x) | Lane::C(x, _) => f(x),
                }
            }
        }
    )*};
}

float_cast! {
    f16, |x| x.to_f64(), f16::from_f64;
    bf16, |x| x.to_f64(), bf16::from_f64;
    f64, |x| x, |x| x;
}

impl Cast for f32 {
    #[inline(always)]
    fn to_lane(self) -> Lane {
        Lane::F(self as f64)
    }
    #[inline(always)]
    fn from_lane(l: Lane) -> Self {
        match l {
            Lane::B(b) => b as u8 as f32,
            Lane::I(i) => i as f32,
            Lane::U(u) => u as f32,
            Lane::F(x) | Lane::C(x, _) => x as f32,
        }
    }
}

impl Cast for Complex32 {
    #[inline(always)]
    fn to_lane(self) -> Lane {
        Lane::C(self.re as f64, self.im as f64)
    }
    #[inline(always)]
    fn from_lane(l: Lane) -> Self {
        match l {
            Lane::C(re, im) => Complex32::new(re as f32, im as f32),
            other => Complex32::new(f32::from_lane(other), 0.0),
        }
    }
}

impl Cast for Complex64 {
    #[inline(always)]
    fn to_lane(self) -> Lane {
        Lane::C(self.re, self.im)
    }
    #[inline(always)]
    fn from_lane(l: Lane) -> Self {
        match l {
            Lane::C(re, im) => Complex64::new(re, im),
            other => Complex64::new(f64::from_lane(other), 0.0),
        }
    }
}

/// One element converted.
#[inline(always)]
pub fn cast_elem<S: Cast, T: Cast>(x: S) -> T {
    T::from_lane(x.to_lane())
}

/// `a.astype(to)`. The same dtype returns a cheap clone (arrays are immutable).
pub fn cast(a: &HostArray, to: DType) -> HostArray {
    if a.dtype() == to {
        return a.clone();
    }
    crate::with_array!(a, src, _S => crate::with_dtype!(to, T => {
        let out = src.mapv(cast_elem::<_, T>);
        <T as Element>::wrap(out.into_shared())
    }))
}

/// A Python scalar as a 0-d array of `dtype` (after NEP 50 resolution, the scalar takes
/// the computation dtype).
pub fn scalar_array(s: &ndserve_proto::Scalar, dtype: DType) -> HostArray {
    use ndserve_proto::Scalar;
    let lane = match *s {
        Scalar::Bool(b) => Lane::B(b),
        Scalar::Int(i) if i < 0 => Lane::I(i as i64),
        Scalar::Int(i) => Lane::U(i as u64),
        Scalar::Float(f) => Lane::F(f),
        Scalar::Complex(re, im) => Lane::C(re, im),
    };
    crate::with_dtype!(dtype, T => HostArray::scalar(<T as Cast>::from_lane(lane)))
}

/// `v` rounded to the float dtype `dt`, as storing it in an array of `dt` would (unchanged
/// for float64 and non-float dtypes).
pub fn round_to(v: f64, dt: DType) -> f64 {
    match dt {
        DType::Float32 => v as f32 as f64,
        DType::Float16 => half::f16::from_f64(v).to_f64(),
        DType::BFloat16 => half::bf16::from_f64(v).to_f64(),
        _ => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_follow_numpy_c_rules() {
        assert_eq!(cast_elem::<i32, i8>(300), 44);
        assert_eq!(cast_elem::<i8, u8>(-1), 255);
        assert_eq!(cast_elem::<f64, i16>(-2.9), -2);
        assert_eq!(cast_elem::<f64, i64>(f64::NAN), i64::MIN);
        assert!(cast_elem::<f64, bool>(f64::NAN));
        assert!(!cast_elem::<f64, bool>(-0.0));
        assert_eq!(cast_elem::<Complex64, f32>(Complex64::new(1.5, 2.0)), 1.5);
        assert_eq!(cast_elem::<f64, f16>(65519.0), f16::from_f64(65504.0));
        assert_eq!(cast_elem::<u64, f64>(u64::MAX), 18446744073709551615.0);
        assert_eq!(cast_elem::<f64, u64>(1e19), 10000000000000000000);
        assert_eq!(cast_elem::<bool, Complex32>(true), Complex32::new(1.0, 0.0));
    }

    #[test]
    fn scalars_take_the_computation_dtype() {
        let a = scalar_array(&ndserve_proto::Scalar::Int(-1), DType::UInt8);
        assert_eq!(a.typed::<u8>().unwrap()[[]], 255);
        let a = scalar_array(&ndserve_proto::Scalar::Float(2.5), DType::Complex64);
        assert_eq!(
            a.typed::<Complex32>().unwrap()[[]],
            Complex32::new(2.5, 0.0)
        );
    }
}
