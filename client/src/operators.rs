//! Arithmetic operators on arrays, candle's pattern: `+ - * / %` and unary `-` for
//! `Array`, `&Array`, `Result<Array>` and Rust numbers (weak Python scalars) on either
//! side, all returning `Result<Array>`; `& | ^` and `!` for bool arrays.
//!
//! | operator | op |
//! |---|---|
//! | `a + b` | `add` |
//! | `a - b` | `subtract` |
//! | `a * b` | `multiply` |
//! | `a / b` | `true_divide` |
//! | `a % b` | `remainder` |
//! | `-a` | `negative` |
//! | `a & b`, `a \| b`, `a ^ b` (bool) | `logical_and`, `logical_or`, `logical_xor` |
//! | `!a` (bool) | `logical_not` |
//!
//! The scalar side is one of Python's scalar types: `f64`, `i64`, `bool` or
//! `Complex<f64>` (one impl per kind keeps literals unambiguous, so `(&a * 2.0)?` and
//! `(&a + 1)?` need no annotation); other Rust numbers go through the typed methods
//! (`a.multiply(x_f32)`) or a cast.
//!
//! Rust's orphan rules allow `Result<Array> + Array` but not `Result<Array> + 2.0`: apply
//! `?` first, as in `((&a + &b)? * 2.0)?`.

use ndserve_proto::{DType, Error, Result, Scalar};

use crate::array::Array;
use crate::operand::Operand;

/// The op of an operator symbol.
fn op_of(sym: &str) -> &'static str {
    match sym {
        "+" => "add",
        "-" => "subtract",
        "*" => "multiply",
        "/" => "true_divide",
        "%" => "remainder",
        "&" => "logical_and",
        "|" => "logical_or",
        "^" => "logical_xor",
        _ => unreachable!("unknown operator {sym}"),
    }
}

fn is_bool(x: &Operand) -> bool {
    match x {
        Operand::Array(a) => a.dtype() == DType::Bool,
        Operand::Scalar(s) => matches!(s, Scalar::Bool(_)),
    }
}

impl Array {
    /// `self <sym> other` (or `other <sym> self` when `reversed`).
    pub(crate) fn operator(&self, sym: &str, other: Operand, reversed: bool) -> Result<Array> {
        let this = Operand::from(self);
        let (x1, x2) = if reversed {
            (other, this)
        } else {
            (this, other)
        };
        let op = op_of(sym);
        if matches!(sym, "&" | "|" | "^") {
            for (x, arg) in [(&x1, "x1"), (&x2, "x2")] {
                if !is_bool(x) {
                    return Err(Error::dtype(
                        op,
                        arg,
                        format!(
                            "the `{sym}` operator is defined for bool arrays only (ndserve has no bitwise ops)"
                        ),
                    ));
                }
            }
        }
        self.client().call1(op, &[x1, x2], Default::default())
    }

    /// `!self` for a bool array.
    pub(crate) fn not_operator(&self) -> Result<Array> {
        if self.dtype() != DType::Bool {
            return Err(Error::dtype(
                "logical_not",
                "x",
                "the `!` operator is defined for bool arrays only (ndserve has no bitwise ops)",
            ));
        }
        self.logical_not()
    }
}

/// Implements one binary operator trait for `$A`, `&$A`, `Result<$A>` and the given
/// scalar types.
macro_rules! binary_operator {
    ($A:ty; $trait:ident, $method:ident, $sym:literal; [$($S:ty),*]) => {
        impl std::ops::$trait<&$A> for &$A {
            type Output = ndserve_proto::Result<$A>;
            fn $method(self, rhs: &$A) -> Self::Output {
                self.operator($sym, rhs.into(), false)
            }
        }
        impl std::ops::$trait<$A> for &$A {
            type Output = ndserve_proto::Result<$A>;
            fn $method(self, rhs: $A) -> Self::Output {
                self.operator($sym, (&rhs).into(), false)
            }
        }
        impl std::ops::$trait<&$A> for $A {
            type Output = ndserve_proto::Result<$A>;
            fn $method(self, rhs: &$A) -> Self::Output {
                (&self).operator($sym, rhs.into(), false)
            }
        }
        impl std::ops::$trait<$A> for $A {
            type Output = ndserve_proto::Result<$A>;
            fn $method(self, rhs: $A) -> Self::Output {
                (&self).operator($sym, (&rhs).into(), false)
            }
        }
        impl std::ops::$trait<ndserve_proto::Result<$A>> for &$A {
            type Output = ndserve_proto::Result<$A>;
            fn $method(self, rhs: ndserve_proto::Result<$A>) -> Self::Output {
                self.operator($sym, (&rhs?).into(), false)
            }
        }
        impl std::ops::$trait<ndserve_proto::Result<$A>> for $A {
            type Output = ndserve_proto::Result<$A>;
            fn $method(self, rhs: ndserve_proto::Result<$A>) -> Self::Output {
                (&self).operator($sym, (&rhs?).into(), false)
            }
        }
        impl std::ops::$trait<&$A> for ndserve_proto::Result<$A> {
            type Output = ndserve_proto::Result<$A>;
            fn $method(self, rhs: &$A) -> Self::Output {
                (&self?).operator($sym, rhs.into(), false)
            }
        }
        impl std::ops::$trait<$A> for ndserve_proto::Result<$A> {
            type Output = ndserve_proto::Result<$A>;
            fn $method(self, rhs: $A) -> Self::Output {
                (&self?).operator($sym, (&rhs).into(), false)
            }
        }
        $(
            impl std::ops::$trait<$S> for &$A {
                type Output = ndserve_proto::Result<$A>;
                fn $method(self, rhs: $S) -> Self::Output {
                    self.operator($sym, rhs.into(), false)
                }
            }
            impl std::ops::$trait<$S> for $A {
                type Output = ndserve_proto::Result<$A>;
                fn $method(self, rhs: $S) -> Self::Output {
                    (&self).operator($sym, rhs.into(), false)
                }
            }
            impl std::ops::$trait<&$A> for $S {
                type Output = ndserve_proto::Result<$A>;
                fn $method(self, rhs: &$A) -> Self::Output {
                    rhs.operator($sym, self.into(), true)
                }
            }
            impl std::ops::$trait<$A> for $S {
                type Output = ndserve_proto::Result<$A>;
                fn $method(self, rhs: $A) -> Self::Output {
                    (&rhs).operator($sym, self.into(), true)
                }
            }
        )*
    };
}

/// Every operator of `$A` (which has `operator(&self, sym, Operand, reversed)`,
/// `negative()` and `not_operator()`).
macro_rules! operators {
    ($A:ty) => {
        $crate::operators::operators!(@arith $A; [
            Add add "+", Sub sub "-", Mul mul "*", Div div "/", Rem rem "%"
        ]; [
bool, i64, f64, num_complex::Complex<f64>]);
        $crate::operators::operators!(@arith $A; [
            BitAnd bitand "&", BitOr bitor "|", BitXor bitxor "^"
        ]; [bool]);
        impl std::ops::Neg for &$A {
            type Output = ndserve_proto::Result<$A>;
            fn neg(self) -> Self::Output {
                self.negative()
            }
        }
        impl std::ops::Neg for $A {
            type Output = ndserve_proto::Result<$A>;
            fn neg(self) -> Self::Output {
                self.negative()
            }
        }
        impl std::ops::Not for &$A {
            type Output = ndserve_proto::Result<$A>;
            fn not(self) -> Self::Output {
                self.not_operator()
            }
        }
        impl std::ops::Not for $A {
            type Output = ndserve_proto::Result<$A>;
            fn not(self) -> Self::Output {
                self.not_operator()
            }
        }
    };
    (@arith $A:ty; [$($trait:ident $method:ident $sym:literal),*]; $scalars:tt) => {
        $( $crate::operators::binary_operator!($A; $trait, $method, $sym; $scalars); )*
    };
}

pub(crate) use {binary_operator, operators};

operators!(Array);
