//! The Rust element types that map to ndserve dtypes.

use std::borrow::Cow;

use half::{bf16, f16};
use ndserve_proto::DType;
use num_complex::Complex;

mod private {
    pub trait Sealed {}
}

/// A Rust type that is the element of one ndserve dtype: `bool`, `i8`..`i64`, `u8`..`u64`,
/// `half::f16` (float16), `half::bf16` (bfloat16), `f32`, `f64`, `Complex<f32>`
/// (complex64) and `Complex<f64>` (complex128).
///
/// ```
/// use ndserve_client::{DType, Element};
/// assert_eq!(<half::bf16 as Element>::DTYPE, DType::BFloat16);
/// assert_eq!(<num_complex::Complex<f32> as Element>::DTYPE, DType::Complex64);
/// ```
pub trait Element: Copy + Send + Sync + std::fmt::Debug + 'static + private::Sealed {
    /// The dtype whose elements are this type.
    const DTYPE: DType;
    /// The plain-bytes form on the wire (`u8` for `bool`, the type itself otherwise).
    #[doc(hidden)]
    type Repr: bytemuck::Pod + Send;
    /// Elements as their wire form (borrowed when they already are).
    #[doc(hidden)]
    fn slice_to_repr(s: &[Self]) -> Cow<'_, [Self::Repr]>;
    /// Wire forms as elements (no copy when they already are).
    #[doc(hidden)]
    fn vec_from_repr(v: Vec<Self::Repr>) -> Vec<Self>;
}

macro_rules! pod_element {
    ($($t:ty => $d:ident),* $(,)?) => {$(
        impl private::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$d;
            type Repr = $t;
            fn slice_to_repr(s: &[Self]) -> Cow<'_, [Self::Repr]> {
                Cow::Borrowed(s)
            }
            fn vec_from_repr(v: Vec<Self::Repr>) -> Vec<Self> {
                v
            }
        }
    )*};
}

pod_element!(
    i8 => Int8, i16 => Int16, i32 => Int32, i64 => Int64,
    u8 => UInt8, u16 => UInt16, u32 => UInt32, u64 => UInt64,
    f16 => Float16, bf16 => BFloat16, f32 => Float32, f64 => Float64,
    Complex<f32> => Complex64, Complex<f64> => Complex128,
);

impl private::Sealed for bool {}
impl Element for bool {
    const DTYPE: DType = DType::Bool;
    type Repr = u8;
    fn slice_to_repr(s: &[Self]) -> Cow<'_, [Self::Repr]> {
        Cow::Owned(s.iter().map(|&b| b as u8).collect())
    }
    fn vec_from_repr(v: Vec<Self::Repr>) -> Vec<Self> {
        v.into_iter().map(|b| b != 0).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bools_round_trip() {
        assert_eq!(bool::vec_from_repr(vec![0, 1, 2]), vec![false, true, true]);
    }
}
