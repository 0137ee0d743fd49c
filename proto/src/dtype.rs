//! NumPy 2 dtypes and type promotion.
//!
//! [`promote_types`] is NumPy's `np.promote_types` (with `ml_dtypes`' bfloat16), checked
//! against a table generated from NumPy (`proto/tests/data/promotion.json`).
//! [`result_type`] adds NEP 50: a Python scalar is *weak*, it takes the dtype of the arrays
//! it meets unless its kind (bool < int < float < complex) is higher.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// The kind of a dtype, ordered as NumPy orders them for promotion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `bool`
    Bool,
    /// signed integers
    Int,
    /// unsigned integers
    UInt,
    /// real floating point
    Float,
    /// complex floating point
    Complex,
}

/// An array element type: the dtypes of NumPy 2 that ndserve supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)]
pub enum DType {
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Float16,
    BFloat16,
    Float32,
    Float64,
    Complex64,
    Complex128,
}

impl DType {
    /// Every dtype, in wire order.
    pub const ALL: [DType; 15] = [
        DType::Bool,
        DType::Int8,
        DType::Int16,
        DType::Int32,
        DType::Int64,
        DType::UInt8,
        DType::UInt16,
        DType::UInt32,
        DType::UInt64,
        DType::Float16,
        DType::BFloat16,
        DType::Float32,
        DType::Float64,
        DType::Complex64,
        DType::Complex128,
    ];

    /// NumPy's name: `"int16"`, `"bfloat16"`, `"complex128"`, ...
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::Int8 => "int8",
            DType::Int16 => "int16",
            DType::Int32 => "int32",
            DType::Int64 => "int64",
            DType::UInt8 => "uint8",
            DType::UInt16 => "uint16",
            DType::UInt32 => "uint32",
            DType::UInt64 => "uint64",
            DType::Float16 => "float16",
            DType::BFloat16 => "bfloat16",
            DType::Float32 => "float32",
            DType::Float64 => "float64",
            DType::Complex64 => "complex64",
            DType::Complex128 => "complex128",
        }
    }

    /// Bytes per element.
    pub fn itemsize(self) -> usize {
        match self {
            DType::Bool | DType::Int8 | DType::UInt8 => 1,
            DType::Int16 | DType::UInt16 | DType::Float16 | DType::BFloat16 => 2,
            DType::Int32 | DType::UInt32 | DType::Float32 => 4,
            DType::Int64 | DType::UInt64 | DType::Float64 | DType::Complex64 => 8,
            DType::Complex128 => 16,
        }
    }

    /// The dtype's kind.
    pub fn kind(self) -> Kind {
        match self {
            DType::Bool => Kind::Bool,
            DType::Int8 | DType::Int16 | DType::Int32 | DType::Int64 => Kind::Int,
            DType::UInt8 | DType::UInt16 | DType::UInt32 | DType::UInt64 => Kind::UInt,
            DType::Float16 | DType::BFloat16 | DType::Float32 | DType::Float64 => Kind::Float,
            DType::Complex64 | DType::Complex128 => Kind::Complex,
        }
    }

    /// True for bool.
    pub fn is_bool(self) -> bool {
        self == DType::Bool
    }
    /// True for signed and unsigned integers (not bool).
    pub fn is_integer(self) -> bool {
        matches!(self.kind(), Kind::Int | Kind::UInt)
    }
    /// True for real floats.
    pub fn is_float(self) -> bool {
        self.kind() == Kind::Float
    }
    /// True for complex dtypes.
    pub fn is_complex(self) -> bool {
        self.kind() == Kind::Complex
    }
    /// True for floats and complex (NumPy's `inexact`).
    pub fn is_inexact(self) -> bool {
        self.is_float() || self.is_complex()
    }

    /// The real dtype of a complex one (`complex64` gives `float32`); others unchanged.
    pub fn real(self) -> DType {
        match self {
            DType::Complex64 => DType::Float32,
            DType::Complex128 => DType::Float64,
            d => d,
        }
    }

    /// The complex dtype that holds this one (`float32` gives `complex64`).
    pub fn to_complex(self) -> DType {
        match self {
            DType::Complex64 | DType::Complex128 => self,
            DType::Float16 | DType::BFloat16 | DType::Float32 => DType::Complex64,
            _ => DType::Complex128,
        }
    }

    /// The smallest inexact dtype that an integer or bool casts to safely, as NumPy's
    /// ufunc loops choose it (`sqrt(int8)` is float16, `sqrt(int16)` float32, `sqrt(int32)`
    /// float64); inexact dtypes are unchanged.
    pub fn to_inexact(self) -> DType {
        match self {
            DType::Bool | DType::Int8 | DType::UInt8 => DType::Float16,
            DType::Int16 | DType::UInt16 => DType::Float32,
            DType::Int32 | DType::UInt32 | DType::Int64 | DType::UInt64 => DType::Float64,
            d => d,
        }
    }

    /// The dtype `np.sum` accumulates in by default: bool and integers narrower than 64 bits
    /// widen to int64 (unsigned to uint64).
    pub fn sum_dtype(self) -> DType {
        match self.kind() {
            Kind::Bool | Kind::Int => {
                if self == DType::Bool || self.itemsize() < 8 {
                    DType::Int64
                } else {
                    self
                }
            }
            Kind::UInt => DType::UInt64,
            _ => self,
        }
    }

    /// `(bits, signed)` of an integer dtype.
    pub fn int_bits(self) -> Option<(u32, bool)> {
        match self {
            DType::Int8 => Some((8, true)),
            DType::Int16 => Some((16, true)),
            DType::Int32 => Some((32, true)),
            DType::Int64 => Some((64, true)),
            DType::UInt8 => Some((8, false)),
            DType::UInt16 => Some((16, false)),
            DType::UInt32 => Some((32, false)),
            DType::UInt64 => Some((64, false)),
            _ => None,
        }
    }

    /// The range of an integer dtype, as `i128`.
    pub fn int_range(self) -> Option<(i128, i128)> {
        self.int_bits().map(|(bits, signed)| {
            if signed {
                (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
            } else {
                (0, (1i128 << bits) - 1)
            }
        })
    }

    /// Whether NumPy casts `self` to `to` under `casting='safe'`.
    pub fn can_cast_safely(self, to: DType) -> bool {
        promote_types(self, to) == to
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DType {
    type Err = Error;
    /// Parses NumPy's names and the usual aliases (`float` is float64, `int` int64, `complex`
    /// complex128, `f4`, `i8`, ...).
    fn from_str(s: &str) -> Result<Self, Error> {
        Ok(match s {
            "bool" | "bool_" | "?" | "b1" => DType::Bool,
            "int8" | "i1" => DType::Int8,
            "int16" | "i2" => DType::Int16,
            "int32" | "i4" => DType::Int32,
            "int64" | "i8" | "int" | "int_" | "intp" => DType::Int64,
            "uint8" | "u1" => DType::UInt8,
            "uint16" | "u2" => DType::UInt16,
            "uint32" | "u4" => DType::UInt32,
            "uint64" | "u8" | "uint" => DType::UInt64,
            "float16" | "f2" | "half" => DType::Float16,
            "bfloat16" => DType::BFloat16,
            "float32" | "f4" | "single" => DType::Float32,
            "float64" | "f8" | "float" | "double" => DType::Float64,
            "complex64" | "c8" => DType::Complex64,
            "complex128" | "c16" | "complex" => DType::Complex128,
            _ => {
                return Err(Error::invalid(
                    "dtype",
                    "dtype",
                    format!("data type '{s}' not understood"),
                ));
            }
        })
    }
}

/// NumPy's `np.promote_types(a, b)` for the supported dtypes, with `ml_dtypes`' bfloat16
/// rules (bfloat16 with float16 gives float32; with 16-bit integers float32; with wider
/// integers float64).
pub fn promote_types(a: DType, b: DType) -> DType {
    use DType::*;
    if a == b {
        return a;
    }
    let (a, b) = if a <= b { (a, b) } else { (b, a) };
    match (a.kind(), b.kind()) {
        (Kind::Bool, _) => b,
        (Kind::Int, Kind::Int) | (Kind::UInt, Kind::UInt) => {
            if a.itemsize() >= b.itemsize() {
                a
            } else {
                b
            }
        }
        (Kind::Int, Kind::UInt) => {
            // signed a, unsigned b
            match b.itemsize() {
                s if s < a.itemsize() => a,
                1 => Int16,
                2 => Int32,
                4 => Int64,
                _ => Float64,
            }
        }
        (Kind::Int | Kind::UInt, Kind::Float) => {
            let bits = a.itemsize();
            let need = match (bits, b) {
                (1, _) => b,
                (2, Float16 | BFloat16) => Float32,
                (2, _) => b,
                (_, Float64) => Float64,
                _ => Float64,
            };
            if need == Float64 || b == Float64 {
                Float64
            } else {
                need
            }
        }
        (Kind::Int | Kind::UInt, Kind::Complex) => {
            if a.itemsize() <= 2 {
                b
            } else {
                Complex128
            }
        }
        (Kind::Float, Kind::Float) => match (a, b) {
            (Float16, BFloat16) => Float32,
            _ => {
                if a.itemsize() >= b.itemsize() {
                    a
                } else {
                    b
                }
            }
        },
        (Kind::Float, Kind::Complex) => {
            if a == Float64 {
                Complex128
            } else {
                b
            }
        }
        (Kind::Complex, Kind::Complex) => Complex128,
        // (a <= b) ordering makes the remaining pairs impossible.
        _ => promote_types(b, a),
    }
}

/// One operand of NumPy's `result_type`: an array's dtype (strong) or a Python scalar of a
/// kind (weak, NEP 50).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operand {
    /// An array (or NumPy scalar) of this dtype.
    Array(DType),
    /// A Python scalar of this kind (`Kind::Bool`, `Int`, `Float` or `Complex`).
    Scalar(Kind),
}

/// NumPy 2's `np.result_type` over arrays and Python scalars (NEP 50).
///
/// Arrays promote with [`promote_types`]. A Python scalar whose kind is not above the
/// arrays' kind takes their dtype; a higher one promotes with its default dtype (int64,
/// float64, complex128), except that a complex scalar with float arrays keeps their
/// precision (`float32 + 1j` is complex64). Scalars alone give their default dtypes.
///
/// ```
/// use ndserve_proto::{DType, Kind, Operand, result_type};
/// let r = result_type(&[Operand::Array(DType::Int8), Operand::Scalar(Kind::Int)]);
/// assert_eq!(r, Some(DType::Int8));
/// let r = result_type(&[Operand::Array(DType::Int8), Operand::Scalar(Kind::Float)]);
/// assert_eq!(r, Some(DType::Float64));
/// ```
pub fn result_type(ops: &[Operand]) -> Option<DType> {
    let mut strong: Option<DType> = None;
    let mut weak: Option<Kind> = None;
    for op in ops {
        match *op {
            Operand::Array(d) => strong = Some(strong.map_or(d, |s| promote_types(s, d))),
            Operand::Scalar(k) => {
                let k = if k == Kind::UInt { Kind::Int } else { k };
                weak = Some(weak.map_or(k, |w| w.max(k)));
            }
        }
    }
    match (strong, weak) {
        (None, None) => None,
        (Some(s), None) => Some(s),
        (None, Some(w)) => Some(default_dtype(w)),
        (Some(s), Some(w)) => {
            let sk = match s.kind() {
                Kind::UInt => Kind::Int,
                k => k,
            };
            if w <= sk {
                Some(s)
            } else if w == Kind::Complex && sk == Kind::Float {
                Some(s.to_complex())
            } else {
                Some(promote_types(s, default_dtype(w)))
            }
        }
    }
}

/// The dtype NumPy gives a Python scalar of this kind on its own.
pub fn default_dtype(kind: Kind) -> DType {
    match kind {
        Kind::Bool => DType::Bool,
        Kind::Int | Kind::UInt => DType::Int64,
        Kind::Float => DType::Float64,
        Kind::Complex => DType::Complex128,
    }
}
