//! Python scalars as op operands (weakly typed under NEP 50).

use std::fmt;

use crate::dtype::{DType, Kind};

/// A Python scalar: `True`, `3`, `2.5`, `1+2j`.
///
/// Integers are kept as `i128` so every Python int in the range of int64 or uint64 is
/// exact.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
    /// Python `bool`.
    Bool(bool),
    /// Python `int` (int64 or uint64 range).
    Int(i128),
    /// Python `float`.
    Float(f64),
    /// Python `complex` as (re, im).
    Complex(f64, f64),
}

impl Scalar {
    /// The scalar's kind, for NEP 50 promotion.
    pub fn kind(&self) -> Kind {
        match self {
            Scalar::Bool(_) => Kind::Bool,
            Scalar::Int(_) => Kind::Int,
            Scalar::Float(_) => Kind::Float,
            Scalar::Complex(..) => Kind::Complex,
        }
    }

    /// The value as f64 (real part of complex; bool as 0/1).
    pub fn as_f64(&self) -> f64 {
        match *self {
            Scalar::Bool(b) => b as u8 as f64,
            Scalar::Int(i) => i as f64,
            Scalar::Float(f) => f,
            Scalar::Complex(re, _) => re,
        }
    }

    /// The value as (re, im).
    pub fn as_complex(&self) -> (f64, f64) {
        match *self {
            Scalar::Complex(re, im) => (re, im),
            s => (s.as_f64(), 0.0),
        }
    }

    /// The value as an integer, if it is a bool or int.
    pub fn as_int(&self) -> Option<i128> {
        match *self {
            Scalar::Bool(b) => Some(b as i128),
            Scalar::Int(i) => Some(i),
            _ => None,
        }
    }

    /// Whether NumPy 2 accepts this Python scalar with an array of `dtype`: a Python int
    /// must fit an integer dtype (NumPy raises OverflowError otherwise).
    pub fn fits(&self, dtype: DType) -> bool {
        match (self, dtype.int_range()) {
            (Scalar::Int(i), Some((lo, hi))) => *i >= lo && *i <= hi,
            _ => true,
        }
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Bool(b) => write!(f, "{}", if *b { "True" } else { "False" }),
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Float(x) => write!(f, "{x:?}"),
            Scalar::Complex(re, im) => write!(f, "({re:?}{im:+?}j)"),
        }
    }
}

impl From<bool> for Scalar {
    fn from(v: bool) -> Self {
        Scalar::Bool(v)
    }
}
macro_rules! scalar_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Scalar {
            fn from(v: $t) -> Self {
                Scalar::Int(v as i128)
            }
        }
    )*};
}
scalar_from_int!(i8, i16, i32, i64, u8, u16, u32, u64, isize, usize);
impl From<f64> for Scalar {
    fn from(v: f64) -> Self {
        Scalar::Float(v)
    }
}
impl From<f32> for Scalar {
    fn from(v: f32) -> Self {
        Scalar::Float(v as f64)
    }
}
impl From<num_complex::Complex<f64>> for Scalar {
    fn from(v: num_complex::Complex<f64>) -> Self {
        Scalar::Complex(v.re, v.im)
    }
}
impl From<num_complex::Complex<f32>> for Scalar {
    fn from(v: num_complex::Complex<f32>) -> Self {
        Scalar::Complex(v.re as f64, v.im as f64)
    }
}
