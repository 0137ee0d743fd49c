//! Property tests of the CPU kernels, one module per op family: random shapes (rank 0-3,
//! dims 0-4), dtypes and values, each result checked against a plain reference written
//! here from NumPy 2's rules (nested loops over `i128` / `f64` / complex values).

mod elementwise;
mod index;
mod matmul;
mod reduce;
mod shape;
mod sort;

use half::{bf16, f16};
use ndarray::{ArcArray, IxDyn};
use ndserve_proto::{Attrs, DType, Input, Result};
use ndserve_server::backend::cpu::{CpuInput, HostArray, run};
use num_complex::{Complex32, Complex64};
use proptest::prelude::*;

/// One element of any dtype, as the references see it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum V {
    B(bool),
    I(i128),
    F(f64),
    C(f64, f64),
}

impl V {
    /// NumPy truthiness.
    pub fn truthy(self) -> bool {
        match self {
            V::B(b) => b,
            V::I(i) => i != 0,
            V::F(f) => f != 0.0,
            V::C(r, i) => r != 0.0 || i != 0.0,
        }
    }
    /// As a float (bool 0/1, ints rounded once).
    pub fn f(self) -> f64 {
        match self {
            V::B(b) => b as i32 as f64,
            V::I(i) => i as f64,
            V::F(f) => f,
            V::C(r, _) => r,
        }
    }
    /// As an int (bool 0/1).
    pub fn i(self) -> i128 {
        match self {
            V::B(b) => b as i128,
            V::I(i) => i,
            v => panic!("not an integer: {v:?}"),
        }
    }
    /// (re, im).
    pub fn c(self) -> (f64, f64) {
        match self {
            V::C(r, i) => (r, i),
            v => (v.f(), 0.0),
        }
    }
    /// Has a NaN part.
    pub fn is_nan(self) -> bool {
        match self {
            V::F(f) => f.is_nan(),
            V::C(r, i) => r.is_nan() || i.is_nan(),
            _ => false,
        }
    }
    /// Magnitude (for tolerances).
    pub fn mag(self) -> f64 {
        match self {
            V::C(r, i) => r.hypot(i),
            v => v.f().abs(),
        }
    }
}

/// Wraps an integer into the range of an integer dtype (two's complement).
pub fn wrap(v: i128, dt: DType) -> i128 {
    let (bits, signed) = dt.int_bits().expect("integer dtype");
    let m = (v as u128) & ((1u128 << bits) - 1);
    if signed && m >= 1u128 << (bits - 1) {
        m as i128 - (1i128 << bits)
    } else {
        m as i128
    }
}

/// Rounds a float to a float dtype.
pub fn round_f(x: f64, dt: DType) -> f64 {
    match dt.real() {
        DType::Float16 => f16::from_f64(x).to_f64(),
        DType::BFloat16 => bf16::from_f64(x).to_f64(),
        DType::Float32 => x as f32 as f64,
        DType::Float64 => x,
        d => panic!("not a float dtype: {d:?}"),
    }
}

/// `np.asarray(v).astype(dt)` for the conversions the references need (never narrowing a
/// float to an integer).
pub fn cast_v(v: V, dt: DType) -> V {
    match dt {
        DType::Bool => V::B(v.truthy()),
        d if d.is_integer() => V::I(wrap(v.i(), d)),
        d if d.is_float() => V::F(round_f(v.f(), d)),
        d => {
            let (r, i) = v.c();
            V::C(round_f(r, d), round_f(i, d))
        }
    }
}

/// Machine epsilon of a float or complex dtype (0 for exact dtypes).
pub fn eps(dt: DType) -> f64 {
    match dt.real() {
        DType::Float16 => 2f64.powi(-10),
        DType::BFloat16 => 2f64.powi(-7),
        DType::Float32 => 2f64.powi(-23),
        DType::Float64 => 2f64.powi(-52),
        _ => 0.0,
    }
}

/// Smallest normal of a float or complex dtype.
pub fn tiny(dt: DType) -> f64 {
    match dt.real() {
        DType::Float16 => 2f64.powi(-14),
        DType::BFloat16 | DType::Float32 => 2f64.powi(-126),
        _ => 2f64.powi(-1022),
    }
}

/// Largest finite value of a float or complex dtype.
pub fn fmax(dt: DType) -> f64 {
    match dt.real() {
        DType::Float16 => 65504.0,
        DType::BFloat16 => bf16::MAX.to_f64(),
        DType::Float32 => f32::MAX as f64,
        _ => f64::MAX,
    }
}

fn close_f(g: f64, e: f64, tol: f64, signed_zero: bool) -> bool {
    if e.is_nan() || g.is_nan() {
        return e.is_nan() && g.is_nan();
    }
    if signed_zero && e == 0.0 && g == 0.0 {
        return e.is_sign_negative() == g.is_sign_negative();
    }
    if g == e {
        return true;
    }
    if e.is_infinite() || g.is_infinite() {
        return g == e;
    }
    if signed_zero && e == 0.0 && g == 0.0 {
        return e.is_sign_negative() == g.is_sign_negative();
    }
    g == e || (g - e).abs() <= tol
}

/// Whether a kernel's element matches the reference: exact for bool and integers; for
/// floats within `ulps` units of `dt`'s epsilon of `max(scale, |e|)` (NaN matches NaN; a
/// complex with any NaN part matches any other).
pub fn close(g: V, e: V, dt: DType, ulps: f64, scale: f64, signed_zero: bool) -> bool {
    let tol = |e: f64| ulps * eps(dt) * scale.max(e.abs()) + ulps * tiny(dt);
    match (g, e) {
        (V::B(a), V::B(b)) => a == b,
        (V::I(a), V::I(b)) => a == b,
        (V::F(a), V::F(b)) => close_f(a, b, tol(b), signed_zero),
        (V::C(gr, gi), V::C(er, ei)) => {
            if g.is_nan() || e.is_nan() {
                return g.is_nan() && e.is_nan();
            }
            let t = tol(e.mag());
            close_f(gr, er, t, signed_zero) && close_f(gi, ei, t, signed_zero)
        }
        _ => false,
    }
}

/// Identical elements (NaN matches NaN, zeros of either sign match).
pub fn same(g: V, e: V) -> bool {
    close(g, e, DType::Float64, 0.0, 0.0, false) || (g == e)
}

/// A test array: dtype, shape and its (exactly representable) values in C order.
#[derive(Clone, Debug)]
pub struct Arr {
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub vals: Vec<V>,
}

fn nd<T>(shape: &[usize], v: Vec<T>) -> ArcArray<T, IxDyn> {
    ArcArray::from_shape_vec(IxDyn(shape), v).expect("values match the shape")
}

impl Arr {
    /// The host array.
    pub fn host(&self) -> HostArray {
        let s = &self.shape;
        let v = &self.vals;
        macro_rules! ints {
            ($var:ident, $t:ty) => {
                HostArray::$var(nd(s, v.iter().map(|x| x.i() as $t).collect()))
            };
        }
        match self.dtype {
            DType::Bool => HostArray::Bool(nd(s, v.iter().map(|x| x.truthy()).collect())),
            DType::Int8 => ints!(I8, i8),
            DType::Int16 => ints!(I16, i16),
            DType::Int32 => ints!(I32, i32),
            DType::Int64 => ints!(I64, i64),
            DType::UInt8 => ints!(U8, u8),
            DType::UInt16 => ints!(U16, u16),
            DType::UInt32 => ints!(U32, u32),
            DType::UInt64 => ints!(U64, u64),
            DType::Float16 => {
                HostArray::F16(nd(s, v.iter().map(|x| f16::from_f64(x.f())).collect()))
            }
            DType::BFloat16 => {
                HostArray::BF16(nd(s, v.iter().map(|x| bf16::from_f64(x.f())).collect()))
            }
            DType::Float32 => HostArray::F32(nd(s, v.iter().map(|x| x.f() as f32).collect())),
            DType::Float64 => HostArray::F64(nd(s, v.iter().map(|x| x.f()).collect())),
            DType::Complex64 => HostArray::C64(nd(
                s,
                v.iter()
                    .map(|x| {
                        let (r, i) = x.c();
                        Complex32::new(r as f32, i as f32)
                    })
                    .collect(),
            )),
            DType::Complex128 => HostArray::C128(nd(
                s,
                v.iter()
                    .map(|x| {
                        let (r, i) = x.c();
                        Complex64::new(r, i)
                    })
                    .collect(),
            )),
        }
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// The elements of a host array in C order.
pub fn read(h: &HostArray) -> Vec<V> {
    match h {
        HostArray::Bool(a) => a.iter().map(|&x| V::B(x)).collect(),
        HostArray::I8(a) => a.iter().map(|&x| V::I(x as i128)).collect(),
        HostArray::I16(a) => a.iter().map(|&x| V::I(x as i128)).collect(),
        HostArray::I32(a) => a.iter().map(|&x| V::I(x as i128)).collect(),
        HostArray::I64(a) => a.iter().map(|&x| V::I(x as i128)).collect(),
        HostArray::U8(a) => a.iter().map(|&x| V::I(x as i128)).collect(),
        HostArray::U16(a) => a.iter().map(|&x| V::I(x as i128)).collect(),
        HostArray::U32(a) => a.iter().map(|&x| V::I(x as i128)).collect(),
        HostArray::U64(a) => a.iter().map(|&x| V::I(x as i128)).collect(),
        HostArray::F16(a) => a.iter().map(|x| V::F(x.to_f64())).collect(),
        HostArray::BF16(a) => a.iter().map(|x| V::F(x.to_f64())).collect(),
        HostArray::F32(a) => a.iter().map(|&x| V::F(x as f64)).collect(),
        HostArray::F64(a) => a.iter().map(|&x| V::F(x)).collect(),
        HostArray::C64(a) => a.iter().map(|x| V::C(x.re as f64, x.im as f64)).collect(),
        HostArray::C128(a) => a.iter().map(|x| V::C(x.re, x.im)).collect(),
    }
}

/// Runs `op` as the worker does: `infer` for the metas, then the CPU kernel.
pub fn run_op(op: &str, ins: &[&Arr], attrs: &Attrs) -> Result<Vec<HostArray>> {
    let cins: Vec<CpuInput> = ins.iter().map(|a| CpuInput::Array(a.host())).collect();
    let metas: Vec<Input> = cins.iter().map(CpuInput::meta).collect();
    let outs = ndserve_proto::ops::infer(op, &metas, attrs)?;
    run(op, &cins, attrs, &outs)
}

/// [`run_op`] for a one-output op that must succeed.
pub fn run1(op: &str, ins: &[&Arr], attrs: &Attrs) -> HostArray {
    let mut r = run_op(op, ins, attrs).unwrap_or_else(|e| panic!("{op} {attrs:?}: {e}"));
    assert_eq!(r.len(), 1, "{op} has one output");
    r.remove(0)
}

/// Checks a result's dtype and shape, then each element with [`close`]; `scale[i]` (or 0
/// when absent) is the magnitude the error of element i is relative to.
#[allow(clippy::too_many_arguments)]
pub fn check(
    what: &str,
    got: &HostArray,
    dtype: DType,
    shape: &[usize],
    exp: &[V],
    ulps: f64,
    scale: &[f64],
    signed_zero: bool,
) -> std::result::Result<(), TestCaseError> {
    prop_assert_eq!(got.dtype(), dtype, "{}: dtype", what);
    prop_assert_eq!(got.shape(), shape, "{}: shape", what);
    let g = read(got);
    prop_assert_eq!(g.len(), exp.len(), "{}: length", what);
    for (i, (&gv, &ev)) in g.iter().zip(exp).enumerate() {
        let s = scale.get(i).copied().unwrap_or(0.0);
        prop_assert!(
            close(gv, ev, dtype, ulps, s, signed_zero),
            "{}: element {} got {:?}, expected {:?} (dtype {:?}, shape {:?})",
            what,
            i,
            gv,
            ev,
            dtype,
            shape
        );
    }
    Ok(())
}

// ---- strategies -------------------------------------------------------------------------

/// How float values are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prof {
    /// Wide range with NaN, +-inf, -0.0.
    Full,
    /// Finite, moderate (no NaN/inf).
    Finite,
    /// Magnitudes near 1 (products), with rare NaN/inf.
    Small,
}

pub const ALL: &[DType] = &DType::ALL;
/// Every dtype but the complex ones (those `sort`/`searchsorted` draw).
pub fn real() -> Vec<DType> {
    DType::ALL.into_iter().filter(|d| !d.is_complex()).collect()
}

fn float_s(p: Prof) -> BoxedStrategy<f64> {
    let specials = prop::sample::select(vec![
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        -2.5,
    ]);
    match p {
        Prof::Full => prop_oneof![
            3 => -100.0..100.0f64,
            2 => -3.0..3.0f64,
            2 => specials,
        ]
        .boxed(),
        Prof::Finite => prop_oneof![
            3 => -10.0..10.0f64,
            1 => prop::sample::select(vec![0.0, -0.0, 1.0, -1.0, 2.5, 0.5]),
        ]
        .boxed(),
        Prof::Small => prop_oneof![
            20 => prop::sample::select(vec![
                0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 1.5, -1.5, 2.0, -2.0, 0.75, -1.25
            ]),
            1 => prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY]),
        ]
        .boxed(),
    }
}

/// One element of `dt`, exactly representable in it.
pub fn elem_s(dt: DType, p: Prof) -> BoxedStrategy<V> {
    match dt {
        DType::Bool => any::<bool>().prop_map(V::B).boxed(),
        d if d.is_integer() => {
            let (lo, hi) = d.int_range().expect("int");
            let edges = prop::sample::select(vec![lo, hi, 0, 1, lo + 1, hi - 1]);
            prop_oneof![
                3 => lo..=hi,
                1 => edges,
                2 => (-5i128..=5).prop_map(move |x| x.clamp(lo, hi)),
            ]
            .prop_map(V::I)
            .boxed()
        }
        d if d.is_float() => float_s(p).prop_map(move |x| V::F(round_f(x, d))).boxed(),
        d => {
            let q = if p == Prof::Full { Prof::Finite } else { p };
            prop_oneof![
                4 => (float_s(q), float_s(q)),
                1 => (float_s(p), float_s(p)),
            ]
            .prop_map(move |(r, i)| V::C(round_f(r, d), round_f(i, d)))
            .boxed()
        }
    }
}

/// Values for an array of `dt` and `shape`.
pub fn arr_s(dt: DType, shape: Vec<usize>, p: Prof) -> BoxedStrategy<Arr> {
    let n: usize = shape.iter().product();
    prop::collection::vec(elem_s(dt, p), n)
        .prop_map(move |vals| Arr {
            dtype: dt,
            shape: shape.clone(),
            vals,
        })
        .boxed()
}

/// A shape of rank `0..=max_rank`, dims `0..=4`.
pub fn shape_s(min_rank: usize, max_rank: usize) -> BoxedStrategy<Vec<usize>> {
    prop::collection::vec(0usize..=4, min_rank..=max_rank).boxed()
}

/// An array of a dtype from `dts` with a random shape.
pub fn any_arr(
    dts: &'static [DType],
    min_rank: usize,
    max_rank: usize,
    p: Prof,
) -> BoxedStrategy<Arr> {
    (prop::sample::select(dts), shape_s(min_rank, max_rank))
        .prop_flat_map(move |(dt, s)| arr_s(dt, s, p))
        .boxed()
}

/// C-order strides.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Every multi-index of `shape` in C order.
pub fn indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let n: usize = shape.iter().product();
    let st = strides(shape);
    (0..n)
        .map(|f| st.iter().zip(shape).map(|(&s, &d)| (f / s) % d).collect())
        .collect()
}

/// The flat C-order offset of a multi-index.
pub fn flat(idx: &[usize], shape: &[usize]) -> usize {
    idx.iter().zip(strides(shape)).map(|(i, s)| i * s).sum()
}

/// The configuration of every property: `cases` draws from a fixed seed, so CI runs the
/// same inputs every time; `PROPTEST_RNG_SEED=<u64>` explores others.
pub fn cfg(cases: u32) -> ProptestConfig {
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x6e64_7365_7276_6521);
    ProptestConfig {
        cases,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        // No regression files next to the sources: a failure prints its minimal input.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// An array of any dtype; complex values finite (NumPy's complex arithmetic with inf/NaN
/// parts is not covered by the references).
pub fn any_arr_cfinite(min_rank: usize, max_rank: usize, p: Prof) -> BoxedStrategy<Arr> {
    (prop::sample::select(ALL), shape_s(min_rank, max_rank))
        .prop_flat_map(move |(dt, s)| arr_s(dt, s, if dt.is_complex() { Prof::Finite } else { p }))
        .boxed()
}
