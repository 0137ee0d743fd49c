//! Elementwise ops: the table rows that define them, and their dtype/shape rules.
//!
//! Each row is `(name, rule, "summary", bool: E, int: E, float: E, complex: E)` where `E` is
//! `none` (NumPy has no loop for that kind: the op raises TypeError) or a closure in braces
//! over elements of that kind. The closures use the element traits of the server's CPU
//! backend (`IntElem`, `FloatElem`, `ComplexElem`); this crate only reads which kinds have a
//! loop. The client's typed methods, the server's kernels and the coverage table all come
//! from these rows.

use super::DataDependence;
use crate::dtype::{DType, Kind, result_type};
use crate::error::{Error, Result};
use crate::ops::{Call, Input, Meta, OpDef, Param, arr};
use crate::scalar::Scalar;
use crate::shape::broadcast_all;

/// Unary ops whose result has the computation dtype.
///
/// Rules: `Same` computes in the input dtype; `IntBool` too, but bool computes as int8
/// (NumPy has no bool loop for `square`); `Float` first casts bool and integers to the
/// smallest float that holds them ([`DType::to_inexact`]), as NumPy's loops do.
#[macro_export]
macro_rules! for_each_unary_op {
    ($m:ident) => {
        $m! {
            (negative, Same, "Numerical negative, element-wise (np.negative).",
                bool: none, int: {|x| x.wrapping_neg()}, float: {|x| -x}, complex: {|x| -x},
                cuda: "-x"),
            (positive, Same, "Numerical positive, element-wise (np.positive).",
                bool: none, int: {|x| x}, float: {|x| x}, complex: {|x| x},
                cuda: "x"),
            (square, IntBool, "Square, element-wise (np.square).",
                bool: none, int: {|x| x.wrapping_mul(x)}, float: {|x| x * x}, complex: {|x| x * x},
                cuda: "x * x"),
            (sqrt, Float, "Non-negative square root, element-wise (np.sqrt).",
                bool: none, int: none, float: {|x| x.sqrt()}, complex: {|x| x.sqrt()},
                cuda: "nd_sqrt(x)"),
            (exp, Float, "Exponential, element-wise (np.exp).",
                bool: none, int: none, float: {|x| x.exp()}, complex: {|x| x.exp()},
                cuda: "nd_exp(x)"),
            (log, Float, "Natural logarithm, element-wise (np.log).",
                bool: none, int: none, float: {|x| x.ln()}, complex: {|x| x.ln()},
                cuda: "nd_log(x)"),
            (sin, Float, "Sine, element-wise (np.sin).",
                bool: none, int: none, float: {|x| x.sin()}, complex: {|x| x.sin()},
                cuda: "nd_sin(x)"),
            (cos, Float, "Cosine, element-wise (np.cos).",
                bool: none, int: none, float: {|x| x.cos()}, complex: {|x| x.cos()},
                cuda: "nd_cos(x)"),
            (tan, Float, "Tangent, element-wise (np.tan).",
                bool: none, int: none, float: {|x| x.tan()}, complex: {|x| x.tan()},
                cuda: "nd_tan(x)"),
            (tanh, Float, "Hyperbolic tangent, element-wise (np.tanh).",
                bool: none, int: none, float: {|x| x.tanh()}, complex: {|x| x.tanh()},
                cuda: "nd_tanh(x)"),
            (sinh, Float, "Hyperbolic sine, element-wise (np.sinh).",
                bool: none, int: none, float: {|x| x.sinh()}, complex: {|x| x.sinh()},
                cuda: "nd_sinh(x)"),
            (cosh, Float, "Hyperbolic cosine, element-wise (np.cosh).",
                bool: none, int: none, float: {|x| x.cosh()}, complex: {|x| x.cosh()},
                cuda: "nd_cosh(x)"),
            (arcsin, Float, "Inverse sine, element-wise (np.arcsin).",
                bool: none, int: none, float: {|x| x.asin()}, complex: {|x| x.asin()},
                cuda: "nd_asin(x)"),
            (arccos, Float, "Inverse cosine, element-wise (np.arccos).",
                bool: none, int: none, float: {|x| x.acos()}, complex: {|x| x.acos()},
                cuda: "nd_acos(x)"),
            (arctan, Float, "Inverse tangent, element-wise (np.arctan).",
                bool: none, int: none, float: {|x| x.atan()}, complex: {|x| x.atan()},
                cuda: "nd_atan(x)"),
            (arcsinh, Float, "Inverse hyperbolic sine, element-wise (np.arcsinh).",
                bool: none, int: none, float: {|x| x.asinh()}, complex: {|x| x.asinh()},
                cuda: "nd_asinh(x)"),
            (arccosh, Float, "Inverse hyperbolic cosine, element-wise (np.arccosh).",
                bool: none, int: none, float: {|x| x.acosh()}, complex: {|x| x.acosh()},
                cuda: "nd_acosh(x)"),
            (arctanh, Float, "Inverse hyperbolic tangent, element-wise (np.arctanh).",
                bool: none, int: none, float: {|x| x.atanh()}, complex: {|x| x.atanh()},
                cuda: "nd_atanh(x)"),
            (exp2, Float, "2**x, element-wise (np.exp2).",
                bool: none, int: none, float: {|x| x.exp2()}, complex: {|x| x.exp2()},
                cuda: "nd_exp2(x)"),
            (expm1, Float, "exp(x) - 1, element-wise (np.expm1).",
                bool: none, int: none, float: {|x| x.exp_m1()}, complex: {|x| x.exp_m1()},
                cuda: "nd_expm1(x)"),
            (log2, Float, "Base-2 logarithm, element-wise (np.log2).",
                bool: none, int: none, float: {|x| x.log2()}, complex: {|x| x.log2()},
                cuda: "nd_log2(x)"),
            (log10, Float, "Base-10 logarithm, element-wise (np.log10).",
                bool: none, int: none, float: {|x| x.log10()}, complex: {|x| x.log10()},
                cuda: "nd_log10(x)"),
            (log1p, Float, "log(1 + x), element-wise (np.log1p).",
                bool: none, int: none, float: {|x| x.ln_1p()}, complex: {|x| x.ln_1p()},
                cuda: "nd_log1p(x)"),
            (cbrt, Float, "Cube root, element-wise (np.cbrt).",
                bool: none, int: none, float: {|x| x.cbrt()}, complex: none,
                cuda: "nd_cbrt(x)"),
            (fabs, Float, "Absolute value of real input, as a float (np.fabs).",
                bool: none, int: none, float: {|x| x.abs()}, complex: none,
                cuda: "nd_fabs(x)"),
            (reciprocal, IntBool, "Reciprocal 1/x, element-wise; integers divide as integers (np.reciprocal).",
                bool: none, int: {|x| x.recip_np()}, float: {|x| x.recip()}, complex: {|x| C::div_np(C::one(), x)},
                cuda: "nd_recip(x)"),
            (deg2rad, Float, "Degrees to radians, element-wise (np.deg2rad).",
                bool: none, int: none, float: {|x| x.deg2rad_np()}, complex: none,
                cuda: "x * (T)(3.14159265358979323846 / 180.0)"),
            (rad2deg, Float, "Radians to degrees, element-wise (np.rad2deg).",
                bool: none, int: none, float: {|x| x.rad2deg_np()}, complex: none,
                cuda: "x * (T)(180.0 / 3.14159265358979323846)"),
            (ceil, Same, "Ceiling, element-wise; integers and bool are kept (np.ceil).",
                bool: {|x| x}, int: {|x| x}, float: {|x| x.ceil()}, complex: none,
                cuda: "nd_ceil(x)"),
            (floor, Same, "Floor, element-wise; integers and bool are kept (np.floor).",
                bool: {|x| x}, int: {|x| x}, float: {|x| x.floor()}, complex: none,
                cuda: "nd_floor(x)"),
            (trunc, Same, "Truncation toward zero, element-wise; integers and bool are kept (np.trunc).",
                bool: {|x| x}, int: {|x| x}, float: {|x| x.trunc()}, complex: none,
                cuda: "nd_trunc(x)"),
            (fix, Same, "Round toward zero, element-wise; integers and bool are kept (np.fix).",
                bool: {|x| x}, int: {|x| x}, float: {|x| x.trunc()}, complex: none,
                cuda: "nd_trunc(x)"),
            (sign, Same, "Sign, element-wise; complex gives x/|x| (np.sign).",
                bool: none, int: {|x| x.sign_np()}, float: {|x| x.sign_np()}, complex: {|x| x.sign_np()},
                cuda: "nd_sign(x)"),
            (sinc, Div, "Normalized sinc sin(pi x)/(pi x), element-wise (np.sinc).",
                bool: none, int: none, float: {|x| x.sinc_np()}, complex: {|x| x.sinc_np()},
                cuda: "nd_sinc(x)"),
            (conj, IntBool, "Complex conjugate, element-wise (np.conj).",
                bool: none, int: {|x| x}, float: {|x| x}, complex: {|x| x.conj_np()},
                cuda: "nd_conj(x)"),
            (conjugate, IntBool, "Complex conjugate, element-wise (np.conjugate).",
                bool: none, int: {|x| x}, float: {|x| x}, complex: {|x| x.conj_np()},
                cuda: "nd_conj(x)"),
            (bitwise_not, Same, "Bitwise NOT, element-wise (np.bitwise_not).",
                bool: {|x| !x}, int: {|x| !x}, float: none, complex: none,
                cuda: "nd_invert(x)"),
            (invert, Same, "Bitwise NOT, element-wise (np.invert).",
                bool: {|x| !x}, int: {|x| !x}, float: none, complex: none,
                cuda: "nd_invert(x)"),
        }
    };
}

/// Unary ops whose result is real for complex input (`abs` of complex64 is float32).
#[macro_export]
macro_rules! for_each_unary_real_op {
    ($m:ident) => {
        $m! {
            (abs, Same, "Absolute value, element-wise (np.abs).",
                bool: {|x| x}, int: {|x| x.abs_np()}, float: {|x| x.abs()}, complex: {|x| x.norm()},
                cuda: "nd_abs(x)"),
            (absolute, Same, "Absolute value, element-wise (np.absolute).",
                bool: {|x| x}, int: {|x| x.abs_np()}, float: {|x| x.abs()}, complex: {|x| x.norm()},
                cuda: "nd_abs(x)"),
            (real, Same, "Real part, element-wise (np.real).",
                bool: {|x| x}, int: {|x| x}, float: {|x| x}, complex: {|x| x.re()},
                cuda: "nd_real(x)"),
            (imag, Same, "Imaginary part, element-wise; zero for real input (np.imag).",
                bool: {|_x| false}, int: {|_x| T::zero()}, float: {|_x| T::zero()}, complex: {|x| x.im()},
                cuda: "nd_imag(x)"),
        }
    };
}

/// Unary predicates: the result is bool.
#[macro_export]
macro_rules! for_each_unary_pred_op {
    ($m:ident) => {
        $m! {
            (isnan, Same, "Test for NaN, element-wise (np.isnan).",
                bool: {|_x| false}, int: {|_x| false}, float: {|x| x.is_nan()}, complex: {|x| x.re().is_nan() || x.im().is_nan()},
                cuda: "nd_isnan(x)"),
            (isinf, Same, "Test for +/- infinity, element-wise (np.isinf).",
                bool: {|_x| false}, int: {|_x| false}, float: {|x| x.is_infinite()}, complex: {|x| x.re().is_infinite() || x.im().is_infinite()},
                cuda: "nd_isinf(x)"),
            (isfinite, Same, "Test for finiteness, element-wise (np.isfinite).",
                bool: {|_x| true}, int: {|_x| true}, float: {|x| x.is_finite()}, complex: {|x| x.re().is_finite() && x.im().is_finite()},
                cuda: "nd_isfinite(x)"),
            (logical_not, Same, "Logical NOT, element-wise (np.logical_not).",
                bool: {|x| !x}, int: {|x| x.is_zero()}, float: {|x| x.is_zero()}, complex: {|x| x.is_zero()},
                cuda: "nd_is_zero(x)"),
            (isneginf, Same, "Test for negative infinity, element-wise (np.isneginf).",
                bool: {|_x| false}, int: {|_x| false}, float: {|x| x == T::neg_infinity()}, complex: none,
                cuda: "nd_isneginf(x)"),
            (isposinf, Same, "Test for positive infinity, element-wise (np.isposinf).",
                bool: {|_x| false}, int: {|_x| false}, float: {|x| x == T::infinity()}, complex: none,
                cuda: "nd_isposinf(x)"),
            (iscomplex, Same, "Whether the imaginary part is non-zero, element-wise (np.iscomplex).",
                bool: {|_x| false}, int: {|_x| false}, float: {|_x| false}, complex: {|x| x.im() != num_traits::Zero::zero()},
                cuda: "nd_iscomplex(x)"),
            (isreal, Same, "Whether the imaginary part is zero, element-wise (np.isreal).",
                bool: {|_x| true}, int: {|_x| true}, float: {|_x| true}, complex: {|x| x.im() == num_traits::Zero::zero()},
                cuda: "!nd_iscomplex(x)"),
            (signbit, Same, "Whether the sign bit is set, element-wise (np.signbit).",
                bool: {|_x| false}, int: {|x| x.is_negative_np()}, float: {|x| x.is_sign_negative()}, complex: none,
                cuda: "nd_signbit(x)"),
        }
    };
}

/// Binary ops whose result has the computation dtype.
///
/// Rules: `Same` computes in the promoted dtype; `IntBool` is `Same` with bool computed
/// as int8 (NumPy has no bool loop for `floor_divide`, `mod`, `power`); `Float` casts
/// integers to the smallest float that holds them; `Div` casts integers and bool to
/// float64 (`true_divide`).
#[macro_export]
macro_rules! for_each_binary_op {
    ($m:ident) => {
        $m! {
            (add, Same, "Add arguments element-wise (np.add).",
                bool: {|a, b| a | b}, int: {|a, b| a.wrapping_add(b)}, float: {|a, b| a + b}, complex: {|a, b| a + b},
                cuda: "a + b"),
            (subtract, Same, "Subtract arguments element-wise (np.subtract).",
                bool: none, int: {|a, b| a.wrapping_sub(b)}, float: {|a, b| a - b}, complex: {|a, b| a - b},
                cuda: "a - b"),
            (multiply, Same, "Multiply arguments element-wise (np.multiply).",
                bool: {|a, b| a & b}, int: {|a, b| a.wrapping_mul(b)}, float: {|a, b| a * b}, complex: {|a, b| a * b},
                cuda: "a * b"),
            (true_divide, Div, "True division, element-wise (np.true_divide).",
                bool: none, int: none, float: {|a, b| a / b}, complex: {|a, b| C::div_np(a, b)},
                cuda: "nd_div(a, b)"),
            (divide, Div, "True division, element-wise (np.divide).",
                bool: none, int: none, float: {|a, b| a / b}, complex: {|a, b| C::div_np(a, b)},
                cuda: "nd_div(a, b)"),
            (floor_divide, IntBool, "Floor division, element-wise (np.floor_divide).",
                bool: none, int: {|a, b| a.floor_div_np(b)}, float: {|a, b| a.floor_div_np(b)}, complex: none,
                cuda: "nd_floor_div(a, b)"),
            (remainder, IntBool, "Remainder with the divisor's sign, element-wise (np.remainder).",
                bool: none, int: {|a, b| a.mod_np(b)}, float: {|a, b| a.mod_np(b)}, complex: none,
                cuda: "nd_mod(a, b)"),
            (mod, IntBool, "Remainder with the divisor's sign, element-wise (np.mod).",
                bool: none, int: {|a, b| a.mod_np(b)}, float: {|a, b| a.mod_np(b)}, complex: none,
                cuda: "nd_mod(a, b)"),
            (power, IntBool, "First array raised to powers from the second, element-wise (np.power).",
                bool: none, int: {|a, b| a.pow_np(b)}, float: {|a, b| a.powf(b)}, complex: {|a, b| C::pow_np(a, b)},
                cuda: "nd_pow(a, b)"),
            (maximum, Same, "Element-wise maximum, propagating NaNs (np.maximum).",
                bool: {|a, b| a | b}, int: {|a, b| if a >= b { a } else { b }}, float: {|a, b| a.max_np(b)}, complex: {|a, b| C::max_np(a, b)},
                cuda: "nd_maximum(a, b)"),
            (minimum, Same, "Element-wise minimum, propagating NaNs (np.minimum).",
                bool: {|a, b| a & b}, int: {|a, b| if a <= b { a } else { b }}, float: {|a, b| a.min_np(b)}, complex: {|a, b| C::min_np(a, b)},
                cuda: "nd_minimum(a, b)"),
            (arctan2, Float, "Arc tangent of x1/x2 choosing the quadrant (np.arctan2).",
                bool: none, int: none, float: {|a, b| a.atan2(b)}, complex: none,
                cuda: "nd_atan2(a, b)"),
            (hypot, Float, "sqrt(x1**2 + x2**2), element-wise (np.hypot).",
                bool: none, int: none, float: {|a, b| a.hypot(b)}, complex: none,
                cuda: "nd_hypot(a, b)"),
            (float_power, F64, "First array raised to powers from the second, in float64/complex128 (np.float_power).",
                bool: none, int: none, float: {|a, b| a.powf(b)}, complex: {|a, b| C::pow_np(a, b)},
                cuda: "nd_pow(a, b)"),
            (logaddexp, Float, "log(exp(x1) + exp(x2)), element-wise (np.logaddexp).",
                bool: none, int: none, float: {|a, b| a.logaddexp_np(b)}, complex: none,
                cuda: "nd_logaddexp(a, b)"),
            (logaddexp2, Float, "log2(2**x1 + 2**x2), element-wise (np.logaddexp2).",
                bool: none, int: none, float: {|a, b| a.logaddexp2_np(b)}, complex: none,
                cuda: "nd_logaddexp2(a, b)"),
            (nextafter, Float, "The next float after x1 towards x2, element-wise (np.nextafter).",
                bool: none, int: none, float: {|a, b| a.nextafter_np(b)}, complex: none,
                cuda: "nd_nextafter<S>(a, b)"),
            (heaviside, Float, "Heaviside step function, x2 where x1 == 0 (np.heaviside).",
                bool: none, int: none, float: {|a, b| a.heaviside_np(b)}, complex: none,
                cuda: "nd_heaviside(a, b)"),
            (copysign, Float, "x1 with the sign of x2, element-wise (np.copysign).",
                bool: none, int: none, float: {|a, b| a.copysign_np(b)}, complex: none,
                cuda: "nd_copysign(a, b)"),
            (gcd, Same, "Greatest common divisor of |x1| and |x2| (np.gcd).",
                bool: none, int: {|a, b| a.gcd_np(b)}, float: none, complex: none,
                cuda: "nd_gcd(a, b)"),
            (lcm, Same, "Lowest common multiple of |x1| and |x2| (np.lcm).",
                bool: none, int: {|a, b| a.lcm_np(b)}, float: none, complex: none,
                cuda: "nd_lcm(a, b)"),
            (bitwise_and, Same, "Bitwise AND, element-wise (np.bitwise_and).",
                bool: {|a, b| a & b}, int: {|a, b| a & b}, float: none, complex: none,
                cuda: "a & b"),
            (bitwise_or, Same, "Bitwise OR, element-wise (np.bitwise_or).",
                bool: {|a, b| a | b}, int: {|a, b| a | b}, float: none, complex: none,
                cuda: "a | b"),
            (bitwise_xor, Same, "Bitwise XOR, element-wise (np.bitwise_xor).",
                bool: {|a, b| a ^ b}, int: {|a, b| a ^ b}, float: none, complex: none,
                cuda: "a ^ b"),
            (left_shift, IntBool, "Shift the bits of x1 left by x2, element-wise (np.left_shift).",
                bool: none, int: {|a, b| a.shl_np(b)}, float: none, complex: none,
                cuda: "nd_shl(a, b)"),
            (right_shift, IntBool, "Shift the bits of x1 right by x2, element-wise (np.right_shift).",
                bool: none, int: {|a, b| a.shr_np(b)}, float: none, complex: none,
                cuda: "nd_shr(a, b)"),
            (fmod, IntBool, "C remainder with the dividend's sign, element-wise (np.fmod).",
                bool: none, int: {|a, b| a.fmod_np(b)}, float: {|a, b| a % b}, complex: none,
                cuda: "nd_fmod(a, b)"),
            (fmax, Same, "Element-wise maximum, ignoring NaNs (np.fmax).",
                bool: {|a, b| a | b}, int: {|a, b| if a >= b { a } else { b }}, float: {|a, b| a.fmax_np(b)}, complex: {|a, b| a.fmax_np(b)},
                cuda: "nd_fmax(a, b)"),
            (fmin, Same, "Element-wise minimum, ignoring NaNs (np.fmin).",
                bool: {|a, b| a & b}, int: {|a, b| if a <= b { a } else { b }}, float: {|a, b| a.fmin_np(b)}, complex: {|a, b| a.fmin_np(b)},
                cuda: "nd_fmin(a, b)"),
        }
    };
}

/// Binary comparisons and logical ops: the result is bool.
///
/// Rules: `Same` compares in the promoted dtype (complex orders lexicographically, as
/// NumPy 2 does); `Logical` treats every input as truth values.
#[macro_export]
macro_rules! for_each_compare_op {
    ($m:ident) => {
        $m! {
            (equal, Same, "Return (x1 == x2) element-wise (np.equal).",
                bool: {|a, b| a == b}, int: {|a, b| a == b}, float: {|a, b| a == b}, complex: {|a, b| a == b},
                cuda: "a == b"),
            (not_equal, Same, "Return (x1 != x2) element-wise (np.not_equal).",
                bool: {|a, b| a != b}, int: {|a, b| a != b}, float: {|a, b| a != b}, complex: {|a, b| a != b},
                cuda: "a != b"),
            (less, Same, "Return (x1 < x2) element-wise (np.less).",
                bool: {|a, b| !a & b}, int: {|a, b| a < b}, float: {|a, b| a < b}, complex: {|a, b| C::lt_np(a, b)},
                cuda: "nd_lt(a, b)"),
            (less_equal, Same, "Return (x1 <= x2) element-wise (np.less_equal).",
                bool: {|a, b| a <= b}, int: {|a, b| a <= b}, float: {|a, b| a <= b}, complex: {|a, b| C::le_np(a, b)},
                cuda: "nd_le(a, b)"),
            (greater, Same, "Return (x1 > x2) element-wise (np.greater).",
                bool: {|a, b| a & !b}, int: {|a, b| a > b}, float: {|a, b| a > b}, complex: {|a, b| C::lt_np(b, a)},
                cuda: "nd_lt(b, a)"),
            (greater_equal, Same, "Return (x1 >= x2) element-wise (np.greater_equal).",
                bool: {|a, b| a >= b}, int: {|a, b| a >= b}, float: {|a, b| a >= b}, complex: {|a, b| C::le_np(b, a)},
                cuda: "nd_le(b, a)"),
            (logical_and, Logical, "Logical AND, element-wise (np.logical_and).",
                bool: {|a, b| a & b}, int: none, float: none, complex: none,
                cuda: "a && b"),
            (logical_or, Logical, "Logical OR, element-wise (np.logical_or).",
                bool: {|a, b| a | b}, int: none, float: none, complex: none,
                cuda: "a || b"),
            (logical_xor, Logical, "Logical XOR, element-wise (np.logical_xor).",
                bool: {|a, b| a ^ b}, int: none, float: none, complex: none,
                cuda: "a != b"),
        }
    };
}

/// Whether a row's column has a loop (`none` has none). Used by the row callbacks.
#[doc(hidden)]
#[macro_export]
macro_rules! __has_loop {
    (none) => {
        false
    };
    ($e:tt) => {
        true
    };
}

/// A row's `cuda` column: `none` or a string literal.
#[doc(hidden)]
#[macro_export]
macro_rules! __cuda_expr {
    (none) => {
        None
    };
    ($e:literal) => {
        Some($e)
    };
}

/// The dtype rule of an elementwise row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Compute in the (promoted) input dtype.
    Same,
    /// Bool computes as int8.
    IntBool,
    /// Integers and bool compute in the smallest float that holds them.
    Float,
    /// Integers and bool compute in float64.
    Div,
    /// Inputs are truth values.
    Logical,
    /// Everything computes in float64, or complex128 for complex input (`float_power`).
    F64,
}

/// Which dtype kinds have a loop.
#[derive(Clone, Copy, Debug)]
pub struct Loops {
    /// bool
    pub bool: bool,
    /// signed and unsigned integers
    pub int: bool,
    /// floats
    pub float: bool,
    /// complex
    pub complex: bool,
}

impl Loops {
    fn has(&self, d: DType) -> bool {
        match d.kind() {
            Kind::Bool => self.bool,
            Kind::Int | Kind::UInt => self.int,
            Kind::Float => self.float,
            Kind::Complex => self.complex,
        }
    }
}

/// The families of elementwise ops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// One input, result in the computation dtype.
    Unary,
    /// One input, real result for complex input.
    UnaryReal,
    /// One input, bool result.
    UnaryPred,
    /// Two inputs, result in the computation dtype.
    Binary,
    /// Two inputs, bool result.
    Compare,
}

/// A row of an elementwise table, as the contract sees it.
#[derive(Clone, Copy, Debug)]
pub struct Row {
    /// Name.
    pub name: &'static str,
    /// Family.
    pub family: Family,
    /// Dtype rule.
    pub rule: Rule,
    /// Loops.
    pub loops: Loops,
    /// Summary.
    pub summary: &'static str,
    /// The CUDA C++ expression of the GPU kernel (`None`: the GPU runs the CPU kernel). It
    /// reads `x` (one input) or `a` and `b` (two), of the computation type `T` (`float` for
    /// the 16-bit floats), `S` is the computation dtype's storage type, and the `nd_*`
    /// helpers are the GPU backend's prelude, one overload per element kind.
    pub cuda: Option<&'static str>,
}

macro_rules! rows {
    ($family:ident; $( ($name:ident, $rule:ident, $doc:literal, bool: $b:tt, int: $i:tt, float: $f:tt, complex: $c:tt, cuda: $g:tt) ),* $(,)?) => {
        &[$(Row {
            name: stringify!($name),
            family: Family::$family,
            rule: Rule::$rule,
            loops: Loops {
                bool: $crate::__has_loop!($b),
                int: $crate::__has_loop!($i),
                float: $crate::__has_loop!($f),
                complex: $crate::__has_loop!($c),
            },
            summary: $doc,
            cuda: $crate::__cuda_expr!($g),
        }),*]
    };
}
macro_rules! unary_rows { ($($t:tt)*) => { rows!(Unary; $($t)*) }; }
macro_rules! unary_real_rows { ($($t:tt)*) => { rows!(UnaryReal; $($t)*) }; }
macro_rules! unary_pred_rows { ($($t:tt)*) => { rows!(UnaryPred; $($t)*) }; }
macro_rules! binary_rows { ($($t:tt)*) => { rows!(Binary; $($t)*) }; }
macro_rules! compare_rows { ($($t:tt)*) => { rows!(Compare; $($t)*) }; }

/// Every elementwise row.
pub fn rows() -> impl Iterator<Item = &'static Row> {
    const UNARY: &[Row] = crate::for_each_unary_op!(unary_rows);
    const UNARY_REAL: &[Row] = crate::for_each_unary_real_op!(unary_real_rows);
    const UNARY_PRED: &[Row] = crate::for_each_unary_pred_op!(unary_pred_rows);
    const BINARY: &[Row] = crate::for_each_binary_op!(binary_rows);
    const COMPARE: &[Row] = crate::for_each_compare_op!(compare_rows);
    UNARY
        .iter()
        .chain(UNARY_REAL)
        .chain(UNARY_PRED)
        .chain(BINARY)
        .chain(COMPARE)
}

/// The row of an elementwise op.
pub fn row(name: &str) -> Option<&'static Row> {
    rows().find(|r| r.name == name)
}

const UNARY_PARAMS: &[Param] = &[arr("x")];
const BINARY_PARAMS: &[Param] = &[arr("x1"), arr("x2")];

/// The catalogue entries of the elementwise rows.
pub(crate) fn defs() -> Vec<OpDef> {
    rows()
        .map(|r| OpDef {
            name: r.name,
            params: match r.family {
                Family::Unary | Family::UnaryReal | Family::UnaryPred => UNARY_PARAMS,
                Family::Binary | Family::Compare => BINARY_PARAMS,
            },
            summary: r.summary,
            infer: infer_elementwise,
            data_dependent: DataDependence::Never,
        })
        .collect()
}

/// What the server needs to run an elementwise call: the dtype to compute in, and the
/// result's meta.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Every input is cast to this dtype first.
    pub compute: DType,
    /// The result.
    pub out: Meta,
}

/// Plans an elementwise call: NumPy's type resolution for the row, and broadcasting.
pub fn plan(call: &Call<'_>) -> Result<Plan> {
    let r = row(call.op).ok_or_else(|| Error::UnknownOp {
        op: call.op.to_string(),
    })?;
    let arity = match r.family {
        Family::Unary | Family::UnaryReal | Family::UnaryPred => 1,
        _ => 2,
    };
    call.expect_inputs(arity)?;
    call.attrs.check_known(call.op, &[])?;
    let ops: Vec<_> = call.inputs.iter().map(Input::operand).collect();
    let promoted = result_type(&ops).expect("at least one input");
    let mut compute = match r.rule {
        Rule::Logical => DType::Bool,
        Rule::Same => promoted,
        Rule::IntBool if promoted == DType::Bool => DType::Int8,
        Rule::IntBool => promoted,
        // NumPy picks the first float loop every input casts to safely: each array input
        // goes to its own smallest float (int8 with uint16 is float32, not float64). A
        // Python int takes the dtype of the integer arrays it meets, but beside bool arrays
        // only it is the default int64 (NEP 50), whose float is float64.
        Rule::Float if !promoted.is_inexact() => {
            let all_bool = call
                .inputs
                .iter()
                .all(|i| !matches!(i, Input::Array(m) if m.dtype != DType::Bool));
            call.inputs
                .iter()
                .filter_map(|i| match i {
                    Input::Array(m) => Some(m.dtype.to_inexact()),
                    Input::Scalar(Scalar::Int(_)) if all_bool => Some(DType::Float64),
                    Input::Scalar(_) => None,
                })
                .reduce(crate::dtype::promote_types)
                .unwrap_or_else(|| promoted.to_inexact())
        }
        Rule::Float => promoted,
        Rule::Div if !promoted.is_inexact() => DType::Float64,
        Rule::Div => promoted,
        Rule::F64 if promoted.is_complex() => DType::Complex128,
        Rule::F64 => DType::Float64,
    };
    // A Python int must fit the integer dtype it meets (NumPy 2 raises OverflowError);
    // comparisons instead compare the true values (NumPy 2 does the same).
    for inp in call.inputs {
        if let Input::Scalar(s @ Scalar::Int(v)) = inp
            && !s.fits(compute)
            && r.rule != Rule::Logical
        {
            if r.family == Family::Compare {
                compute = DType::Float64;
            } else {
                return Err(Error::invalid(
                    call.op,
                    "x2",
                    format!("Python integer {v} out of bounds for {compute}"),
                ));
            }
        }
    }
    if !r.loops.has(compute) {
        let dts: Vec<DType> = call.inputs.iter().map(|i| i.as_array().dtype).collect();
        let mut e = Error::no_loop(call.op, &dts);
        if call.op == "subtract" && compute == DType::Bool {
            e = Error::dtype(
                call.op,
                "x1",
                "numpy boolean subtract, the `-` operator, is not supported, use the bitwise_xor, the `^` operator, or the logical_xor function instead.",
            );
        } else if call.op == "negative" && compute == DType::Bool {
            e = Error::dtype(
                call.op,
                "x",
                "The numpy boolean negative, the `-` operator, is not supported, use the `~` operator or the logical_not function instead.",
            );
        }
        return Err(e);
    }
    let shape = broadcast_all(call.op, call.inputs.iter().map(Input::shape))?;
    let dtype = match r.family {
        Family::UnaryPred | Family::Compare => DType::Bool,
        Family::UnaryReal => compute.real(),
        _ => compute,
    };
    Ok(Plan {
        compute,
        out: Meta { dtype, shape },
    })
}

fn infer_elementwise(call: &Call<'_>) -> Result<Vec<Meta>> {
    Ok(vec![plan(call)?.out])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Attrs;

    fn out(op: &str, inputs: &[Input]) -> DType {
        let attrs = Attrs::new();
        let call = Call {
            op,
            inputs,
            attrs: &attrs,
        };
        plan(&call).expect("plans").out.dtype
    }

    #[test]
    fn float_loops_follow_nep50_for_python_ints() {
        let arr = |d| Input::Array(Meta::new(d, vec![]));
        let int = Input::Scalar(Scalar::Int(6));
        // np.hypot(6, np.array(True)): the int is int64 beside bool, so float64.
        assert_eq!(
            out("hypot", &[int.clone(), arr(DType::Bool)]),
            DType::Float64
        );
        assert_eq!(
            out("arctan2", &[arr(DType::Bool), int.clone()]),
            DType::Float64
        );
        // Beside an integer array it takes that array's dtype: int8 gives float16.
        assert_eq!(
            out("hypot", &[arr(DType::Int8), int.clone()]),
            DType::Float16
        );
        assert_eq!(
            out("hypot", &[arr(DType::Bool), arr(DType::Bool)]),
            DType::Float16
        );
        assert_eq!(
            out(
                "hypot",
                &[arr(DType::Bool), Input::Scalar(Scalar::Bool(true))]
            ),
            DType::Float16
        );
    }
}
