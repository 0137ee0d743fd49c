//! dtype introspection that needs no server: `np.finfo`, `np.iinfo`, `np.issubdtype`.
//!
//! These are pure functions of a [`DType`], so the client answers them without a round
//! trip. The values are NumPy 2's (and `ml_dtypes`' for bfloat16).

use crate::dtype::{DType, Kind};
use crate::error::{Error, Result};

/// `np.finfo(dtype)`: machine limits of a floating-point dtype.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FInfo {
    /// Bits of the (real) type.
    pub bits: u32,
    /// The real dtype described (`finfo(complex64).dtype` is float32).
    pub dtype: DType,
    /// Difference between 1.0 and the next representable float.
    pub eps: f64,
    /// Largest finite value.
    pub max: f64,
    /// Most negative finite value.
    pub min: f64,
    /// Smallest positive normal value (`smallest_normal`).
    pub tiny: f64,
    /// Smallest positive subnormal value.
    pub smallest_subnormal: f64,
    /// Approximate number of decimal digits.
    pub precision: u32,
    /// `10 ** -precision`, rounded to the dtype.
    pub resolution: f64,
}

/// `np.iinfo(dtype)`: limits of an integer dtype.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IInfo {
    /// Bits.
    pub bits: u32,
    /// The dtype.
    pub dtype: DType,
    /// Smallest value.
    pub min: i128,
    /// Largest value.
    pub max: i128,
}

/// `np.finfo(dtype)`.
///
/// ```
/// use ndserve_proto::{DType, dtype_info::finfo};
/// assert_eq!(finfo(DType::Float16).unwrap().max, 65504.0);
/// assert_eq!(finfo(DType::Complex64).unwrap().dtype, DType::Float32);
/// ```
///
/// # Errors
/// INVALID_ARGUMENT for a bool or integer dtype (NumPy's "data type not inexact").
pub fn finfo(dtype: DType) -> Result<FInfo> {
    let f = |bits, dtype, eps, max: f64, tiny, sub, precision, resolution| FInfo {
        bits,
        dtype,
        eps,
        max,
        min: -max,
        tiny,
        smallest_subnormal: sub,
        precision,
        resolution,
    };
    Ok(match dtype.real() {
        DType::Float16 => f(
            16,
            DType::Float16,
            0.0009765625,
            65504.0,
            6.103515625e-05,
            5.960464477539063e-08,
            3,
            0.0010004043579101562,
        ),
        DType::BFloat16 => f(
            16,
            DType::BFloat16,
            0.0078125,
            3.3895313892515355e+38,
            1.1754943508222875e-38,
            9.183549615799121e-41,
            2,
            0.010009765625,
        ),
        DType::Float32 => f(
            32,
            DType::Float32,
            f32::EPSILON as f64,
            f32::MAX as f64,
            f32::MIN_POSITIVE as f64,
            1.401298464324817e-45,
            6,
            9.999999974752427e-07,
        ),
        DType::Float64 => f(
            64,
            DType::Float64,
            f64::EPSILON,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            15,
            1e-15,
        ),
        _ => {
            return Err(Error::invalid(
                "finfo",
                "dtype",
                format!("data type {dtype} not inexact"),
            ));
        }
    })
}

/// `np.iinfo(dtype)`.
///
/// ```
/// use ndserve_proto::{DType, dtype_info::iinfo};
/// assert_eq!(iinfo(DType::Int8).unwrap().min, -128);
/// ```
///
/// # Errors
/// INVALID_ARGUMENT for a non-integer dtype (NumPy's "Invalid integer data type").
pub fn iinfo(dtype: DType) -> Result<IInfo> {
    match dtype.int_range() {
        Some((min, max)) if dtype.is_integer() => Ok(IInfo {
            bits: dtype.itemsize() as u32 * 8,
            dtype,
            min,
            max,
        }),
        _ => Err(Error::invalid(
            "iinfo",
            "type",
            format!("Invalid integer data type '{}'.", dtype.kind_char()),
        )),
    }
}

trait KindChar {
    fn kind_char(self) -> char;
}

impl KindChar for DType {
    fn kind_char(self) -> char {
        match self.kind() {
            Kind::Bool => 'b',
            Kind::Int => 'i',
            Kind::UInt => 'u',
            Kind::Float => 'f',
            Kind::Complex => 'c',
        }
    }
}

/// `np.issubdtype(arg1, arg2)` for two concrete dtypes: true only when they are equal
/// (NumPy's concrete dtypes form no hierarchy among themselves).
pub fn issubdtype(arg1: DType, arg2: DType) -> bool {
    arg1 == arg2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_match_numpy() {
        let f = finfo(DType::Float32).unwrap();
        assert_eq!(f.eps, 1.1920928955078125e-07);
        assert_eq!(f.tiny, 1.1754943508222875e-38);
        assert_eq!(
            finfo(DType::Complex128).unwrap(),
            finfo(DType::Float64).unwrap()
        );
        assert_eq!(finfo(DType::BFloat16).unwrap().precision, 2);
        assert!(finfo(DType::Int32).is_err());
        let i = iinfo(DType::UInt64).unwrap();
        assert_eq!((i.bits, i.min, i.max), (64, 0, u64::MAX as i128));
        assert_eq!(iinfo(DType::Int16).unwrap().min, -32768);
        assert!(iinfo(DType::Float32).is_err());
        assert!(issubdtype(DType::Int8, DType::Int8));
        assert!(!issubdtype(DType::Int8, DType::Int16));
    }
}
