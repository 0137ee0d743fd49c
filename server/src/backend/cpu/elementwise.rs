//! Elementwise kernels, expanded from the rows of `ndserve_proto`'s elementwise tables.
//!
//! Each row becomes one kernel: the row's closures are compiled as generic loops over
//! [`IntElem`], [`FloatElem`] and [`ComplexElem`] (and `bool`), and the kernel casts its
//! inputs to the plan's computation dtype, broadcasts them and maps them into a new array.
//! Contiguous operands take a slice fast path; arrays of [`PAR_MIN_LEN`] elements or more
//! are mapped on the rayon pool.

use ndarray::{Array, IxDyn, Zip};
use ndserve_proto::ops::elementwise::plan;
use ndserve_proto::{Error, Result};
use num_traits::Float as _;
use rayon::prelude::*;

use super::array::{Element, HostArray, Nd};
use super::elem::{ComplexElem, FloatElem, FloatMath, IntElem, IntMath};
use super::kernels::{KernelCall, KernelFn};

/// Arrays with at least this many elements are mapped in parallel.
pub const PAR_MIN_LEN: usize = 1 << 15;
/// The smallest piece of a slice one rayon task maps.
const PAR_CHUNK: usize = 1 << 12;

#[inline]
fn wrap<U: Element>(a: Nd<U>) -> HostArray {
    U::wrap(a)
}

#[inline]
fn from_vec<U: Clone>(dim: IxDyn, v: Vec<U>) -> Nd<U> {
    Array::from_shape_vec(dim, v)
        .expect("length matches the shape")
        .into_shared()
}

#[inline]
fn map_slice<T, U, F>(xs: &[T], f: F) -> Vec<U>
where
    T: Copy + Sync,
    U: Send,
    F: Fn(T) -> U + Sync + Send,
{
    if xs.len() >= PAR_MIN_LEN {
        xs.par_iter()
            .with_min_len(PAR_CHUNK)
            .map(|&x| f(x))
            .collect()
    } else {
        xs.iter().map(|&x| f(x)).collect()
    }
}

#[inline]
fn zip_slices<T, U, F>(xs: &[T], ys: &[T], f: F) -> Vec<U>
where
    T: Copy + Sync,
    U: Send,
    F: Fn(T, T) -> U + Sync + Send,
{
    if xs.len() >= PAR_MIN_LEN {
        xs.par_iter()
            .with_min_len(PAR_CHUNK)
            .zip(ys.par_iter())
            .map(|(&x, &y)| f(x, y))
            .collect()
    } else {
        xs.iter().zip(ys).map(|(&x, &y)| f(x, y)).collect()
    }
}

/// `f` applied to every element of `a`, into a new array of `a`'s shape.
pub fn map1<T, U, F>(a: &Nd<T>, f: F) -> Nd<U>
where
    T: Element,
    U: Element,
    F: Fn(T) -> U + Sync + Send,
{
    if let Some(xs) = a.as_slice() {
        return from_vec(a.raw_dim(), map_slice(xs, f));
    }
    if a.len() >= PAR_MIN_LEN {
        Zip::from(a).par_map_collect(|&x| f(x)).into_shared()
    } else {
        a.map(|&x| f(x)).into_shared()
    }
}

/// `f` applied to the elements of `a` and `b` broadcast to `shape` (which both must
/// broadcast to), into a new array.
pub fn map2<T, U, F>(a: &Nd<T>, b: &Nd<T>, shape: &[usize], f: F) -> Nd<U>
where
    T: Element,
    U: Element,
    F: Fn(T, T) -> U + Sync + Send,
{
    let dim = IxDyn(shape);
    let one = |v: &Nd<T>| v.iter().next().copied().expect("one element");
    if a.shape() == shape
        && let Some(xs) = a.as_slice()
    {
        if b.shape() == shape
            && let Some(ys) = b.as_slice()
        {
            return from_vec(dim, zip_slices(xs, ys, f));
        }
        if b.len() == 1 {
            let y = one(b);
            return from_vec(dim, map_slice(xs, |x| f(x, y)));
        }
    }
    if b.shape() == shape
        && a.len() == 1
        && let Some(ys) = b.as_slice()
    {
        let x = one(a);
        return from_vec(dim, map_slice(ys, |y| f(x, y)));
    }
    let av = a
        .broadcast(dim.clone())
        .expect("operand broadcasts to the planned shape");
    let bv = b
        .broadcast(dim)
        .expect("operand broadcasts to the planned shape");
    let z = Zip::from(&av).and(&bv);
    if av.len() >= PAR_MIN_LEN {
        z.par_map_collect(|&x, &y| f(x, y)).into_shared()
    } else {
        z.map_collect(|&x, &y| f(x, y)).into_shared()
    }
}

/// NumPy's check in the integer `power` loop: a negative exponent is a ValueError.
fn check_int_power(op: &str, exp: &HostArray, out_len: usize) -> Result<()> {
    fn any_negative<T: IntElem>(b: &Nd<T>) -> bool {
        match b.as_slice() {
            Some(s) if s.len() >= PAR_MIN_LEN => s.par_iter().any(|v| v.is_negative_np()),
            Some(s) => s.iter().any(|v| v.is_negative_np()),
            None => b.iter().any(|v| v.is_negative_np()),
        }
    }
    if out_len == 0 {
        return Ok(());
    }
    let negative = match exp {
        HostArray::I8(b) => any_negative(b),
        HostArray::I16(b) => any_negative(b),
        HostArray::I32(b) => any_negative(b),
        HostArray::I64(b) => any_negative(b),
        _ => false,
    };
    if negative {
        return Err(Error::invalid(
            op,
            "x2",
            "Integers to negative integer powers are not allowed.",
        ));
    }
    Ok(())
}

fn no_loop(call: &KernelCall<'_>) -> Error {
    Error::internal(call.op, "the plan chose a dtype this op has no loop for")
}

/// The generic loop of one column of a unary row (`none`: no loop).
macro_rules! loop1 {
    ($fname:ident, bool, none) => {
        fn $fname(_: &Nd<bool>) -> Option<HostArray> {
            None
        }
    };
    ($fname:ident, bool, $f:tt) => {
        fn $fname(a: &Nd<bool>) -> Option<HostArray> {
            Some(wrap(map1(a, $f)))
        }
    };
    ($fname:ident, $T:ident: $Tr:ident, none) => {
        fn $fname<$T: $Tr>(_: &Nd<$T>) -> Option<HostArray> {
            None
        }
    };
    ($fname:ident, $T:ident: $Tr:ident, $f:tt) => {
        fn $fname<$T: $Tr>(a: &Nd<$T>) -> Option<HostArray> {
            Some(wrap(map1(a, $f)))
        }
    };
}

/// The generic loop of one column of a binary row (`none`: no loop).
macro_rules! loop2 {
    ($fname:ident, bool, none) => {
        fn $fname(_: &Nd<bool>, _: &Nd<bool>, _: &[usize]) -> Option<HostArray> {
            None
        }
    };
    ($fname:ident, bool, $f:tt) => {
        fn $fname(a: &Nd<bool>, b: &Nd<bool>, shape: &[usize]) -> Option<HostArray> {
            Some(wrap(map2(a, b, shape, $f)))
        }
    };
    ($fname:ident, $T:ident: $Tr:ident, none) => {
        fn $fname<$T: $Tr>(_: &Nd<$T>, _: &Nd<$T>, _: &[usize]) -> Option<HostArray> {
            None
        }
    };
    ($fname:ident, $T:ident: $Tr:ident, $f:tt) => {
        fn $fname<$T: $Tr>(a: &Nd<$T>, b: &Nd<$T>, shape: &[usize]) -> Option<HostArray> {
            Some(wrap(map2(a, b, shape, $f)))
        }
    };
}

/// Calls the loop of `x`'s element type.
macro_rules! dispatch1 {
    ($x:expr) => {
        match $x {
            HostArray::Bool(a) => bool_loop(a),
            HostArray::I8(a) => int_loop(a),
            HostArray::I16(a) => int_loop(a),
            HostArray::I32(a) => int_loop(a),
            HostArray::I64(a) => int_loop(a),
            HostArray::U8(a) => int_loop(a),
            HostArray::U16(a) => int_loop(a),
            HostArray::U32(a) => int_loop(a),
            HostArray::U64(a) => int_loop(a),
            HostArray::F16(a) => float_loop(a),
            HostArray::BF16(a) => float_loop(a),
            HostArray::F32(a) => float_loop(a),
            HostArray::F64(a) => float_loop(a),
            HostArray::C64(a) => complex_loop(a),
            HostArray::C128(a) => complex_loop(a),
        }
    };
}

/// Calls the loop of the (common) element type of `x` and `y`.
macro_rules! dispatch2 {
    ($x:expr, $y:expr, $shape:expr) => {
        match ($x, $y) {
            (HostArray::Bool(a), HostArray::Bool(b)) => bool_loop(a, b, $shape),
            (HostArray::I8(a), HostArray::I8(b)) => int_loop(a, b, $shape),
            (HostArray::I16(a), HostArray::I16(b)) => int_loop(a, b, $shape),
            (HostArray::I32(a), HostArray::I32(b)) => int_loop(a, b, $shape),
            (HostArray::I64(a), HostArray::I64(b)) => int_loop(a, b, $shape),
            (HostArray::U8(a), HostArray::U8(b)) => int_loop(a, b, $shape),
            (HostArray::U16(a), HostArray::U16(b)) => int_loop(a, b, $shape),
            (HostArray::U32(a), HostArray::U32(b)) => int_loop(a, b, $shape),
            (HostArray::U64(a), HostArray::U64(b)) => int_loop(a, b, $shape),
            (HostArray::F16(a), HostArray::F16(b)) => float_loop(a, b, $shape),
            (HostArray::BF16(a), HostArray::BF16(b)) => float_loop(a, b, $shape),
            (HostArray::F32(a), HostArray::F32(b)) => float_loop(a, b, $shape),
            (HostArray::F64(a), HostArray::F64(b)) => float_loop(a, b, $shape),
            (HostArray::C64(a), HostArray::C64(b)) => complex_loop(a, b, $shape),
            (HostArray::C128(a), HostArray::C128(b)) => complex_loop(a, b, $shape),
            _ => None,
        }
    };
}

/// Row callback of the one-input tables: one kernel per row.
macro_rules! unary_kernels {
    ($( ($name:ident, $rule:ident, $doc:literal,
        bool: $b:tt, int: $i:tt, float: $f:tt, complex: $c:tt, cuda: $g:tt) ),* $(,)?) => {
        vec![$(
            (stringify!($name), {
                loop1!(bool_loop, bool, $b);
                loop1!(int_loop, T: IntElem, $i);
                loop1!(float_loop, T: FloatElem, $f);
                loop1!(complex_loop, C: ComplexElem, $c);
                fn kernel(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
                    let plan = plan(&call.call())?;
                    let x = call.inputs[0].to_array(plan.compute);
                    if let Some(out) = super::vecmath::unary(stringify!($name), &x) {
                        return Ok(vec![out]);
                    }
                    let out = dispatch1!(&x).ok_or_else(|| no_loop(call))?;
                    Ok(vec![out])
                }
                kernel as KernelFn
            })
        ),*]
    };
}

/// Row callback of the two-input tables: one kernel per row.
macro_rules! binary_kernels {
    ($( ($name:ident, $rule:ident, $doc:literal,
        bool: $b:tt, int: $i:tt, float: $f:tt, complex: $c:tt, cuda: $g:tt) ),* $(,)?) => {
        vec![$(
            (stringify!($name), {
                loop2!(bool_loop, bool, $b);
                loop2!(int_loop, T: IntElem, $i);
                loop2!(float_loop, T: FloatElem, $f);
                loop2!(complex_loop, C: ComplexElem, $c);
                fn kernel(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
                    let plan = plan(&call.call())?;
                    let x = call.inputs[0].to_array(plan.compute);
                    let y = call.inputs[1].to_array(plan.compute);
                    if stringify!($name) == "power" {
                        check_int_power(call.op, &y, plan.out.numel())?;
                    }
                    let out = dispatch2!(&x, &y, &plan.out.shape).ok_or_else(|| no_loop(call))?;
                    Ok(vec![out])
                }
                kernel as KernelFn
            })
        ),*]
    };
}

/// One piece of a unary op over one float type: `out[i] = op(xs[i])`.
pub type Slice1<T> = fn(&[T], &mut [T]);
/// One piece of a binary op over one float type: `out[i] = op(xs[i], ys[i])`.
pub type Slice2<T> = fn(&[T], &[T], &mut [T]);

#[inline(always)]
fn apply1<T: Copy, F: Fn(T) -> T>(xs: &[T], out: &mut [T], f: F) {
    for (o, &x) in out.iter_mut().zip(xs) {
        *o = f(x);
    }
}

#[inline(always)]
fn apply2<T: Copy, F: Fn(T, T) -> T>(xs: &[T], ys: &[T], out: &mut [T], f: F) {
    for ((o, &x), &y) in out.iter_mut().zip(xs).zip(ys) {
        *o = f(x, y);
    }
}

/// A row's float column as a [`Slice1`] (`none`: no loop).
macro_rules! slice1_of {
    (none) => {
        None
    };
    ($f:tt) => {{
        fn piece<T: FloatElem>(xs: &[T], out: &mut [T]) {
            apply1(xs, out, $f)
        }
        Some(piece::<T> as Slice1<T>)
    }};
}

/// A row's float column as a [`Slice2`] (`none`: no loop).
macro_rules! slice2_of {
    (none) => {
        None
    };
    ($f:tt) => {{
        fn piece<T: FloatElem>(xs: &[T], ys: &[T], out: &mut [T]) {
            apply2(xs, ys, out, $f)
        }
        Some(piece::<T> as Slice2<T>)
    }};
}

/// Row callback: op name to its float column's [`Slice1`], as a closure over the name.
macro_rules! unary_slices {
    ($( ($name:ident, $rule:ident, $doc:literal,
        bool: $b:tt, int: $i:tt, float: $f:tt, complex: $c:tt, cuda: $g:tt) ),* $(,)?) => {
        |op: &str| -> Option<Slice1<T>> {
            match op {
                $( stringify!($name) => slice1_of!($f), )*
                _ => None,
            }
        }
    };
}

/// Row callback: op name to its float column's [`Slice2`], as a closure over the name.
macro_rules! binary_slices {
    ($( ($name:ident, $rule:ident, $doc:literal,
        bool: $b:tt, int: $i:tt, float: $f:tt, complex: $c:tt, cuda: $g:tt) ),* $(,)?) => {
        |op: &str| -> Option<Slice2<T>> {
            match op {
                $( stringify!($name) => slice2_of!($f), )*
                _ => None,
            }
        }
    };
}

/// The float loop of a one-input row whose result has the input's float type (the `unary`
/// and `unary_real` tables) over contiguous pieces, for the fused CPU kernel: the same
/// closure the row's kernel maps, so the same bits. (The vectorised functions of
/// [`super::vecmath`] are the caller's to prefer, as the kernel does.)
pub fn float_slice1<T: FloatElem>(op: &str) -> Option<Slice1<T>> {
    let plain = ndserve_proto::for_each_unary_op!(unary_slices);
    let real = ndserve_proto::for_each_unary_real_op!(unary_slices);
    plain(op).or_else(|| real(op))
}

/// The float loop of a two-input row of the `binary` table over contiguous pieces (see
/// [`float_slice1`]).
pub fn float_slice2<T: FloatElem>(op: &str) -> Option<Slice2<T>> {
    let binary = ndserve_proto::for_each_binary_op!(binary_slices);
    binary(op)
}

/// The kernels of this family: every row of the five elementwise tables.
pub fn kernels() -> Vec<(&'static str, KernelFn)> {
    let mut v: Vec<(&'static str, KernelFn)> = ndserve_proto::for_each_unary_op!(unary_kernels);
    v.extend(ndserve_proto::for_each_unary_real_op!(unary_kernels));
    v.extend(ndserve_proto::for_each_unary_pred_op!(unary_kernels));
    v.extend(ndserve_proto::for_each_binary_op!(binary_kernels));
    v.extend(ndserve_proto::for_each_compare_op!(binary_kernels));
    v
}

#[cfg(test)]
mod tests {
    use half::f16;
    use ndarray::{Array, IxDyn};
    use ndserve_proto::ops::elementwise::{Family, rows};
    use ndserve_proto::{Attrs, DType, Error, Scalar};
    use num_complex::{Complex32, Complex64};

    use super::super::array::{Element, HostArray};
    use super::super::kernels::CpuInput;

    fn exec(op: &str, inputs: Vec<CpuInput>) -> Result<HostArray, Error> {
        let attrs = Attrs::new();
        let metas: Vec<_> = inputs.iter().map(CpuInput::meta).collect();
        let outs = ndserve_proto::ops::infer(op, &metas, &attrs)?;
        let mut r = super::super::run(op, &inputs, &attrs, &outs)?;
        assert_eq!(r.len(), 1);
        Ok(r.remove(0))
    }

    fn host<T: Element>(shape: &[usize], v: Vec<T>) -> HostArray {
        T::wrap(
            Array::from_shape_vec(IxDyn(shape), v)
                .unwrap()
                .into_shared(),
        )
    }

    fn arr<T: Element>(shape: &[usize], v: Vec<T>) -> CpuInput {
        CpuInput::Array(host(shape, v))
    }

    fn sc(s: impl Into<Scalar>) -> CpuInput {
        CpuInput::Scalar(s.into())
    }

    /// The values in C order (whatever the layout), checking the dtype.
    fn vals<T: Element>(h: &HostArray) -> Vec<T> {
        let a = h
            .typed::<T>()
            .unwrap_or_else(|| panic!("dtype is {}", h.dtype()));
        a.iter().copied().collect()
    }

    #[test]
    fn integer_arithmetic_wraps_like_numpy() {
        let r = exec("add", vec![arr(&[2], vec![127i8, -128]), sc(1)]).unwrap();
        assert_eq!(r.dtype(), DType::Int8);
        assert_eq!(vals::<i8>(&r), vec![-128, -127]);
        let r = exec("negative", vec![arr(&[3], vec![0u8, 1, 255])]).unwrap();
        assert_eq!(vals::<u8>(&r), vec![0, 255, 1]);
        let r = exec("abs", vec![arr(&[2], vec![i8::MIN, -3])]).unwrap();
        assert_eq!(vals::<i8>(&r), vec![i8::MIN, 3]);
        let r = exec("multiply", vec![arr(&[1], vec![i64::MAX]), sc(2)]).unwrap();
        assert_eq!(vals::<i64>(&r), vec![-2]);
        let r = exec("square", vec![arr(&[1], vec![16u8])]).unwrap();
        assert_eq!(vals::<u8>(&r), vec![0]);
    }

    #[test]
    fn integer_floor_divide_and_mod() {
        let a = || arr(&[6], vec![-7i64, 7, -8, 5, i64::MIN, 7]);
        let b = || arr(&[6], vec![2i64, -2, 2, 0, -1, 2]);
        let r = exec("floor_divide", vec![a(), b()]).unwrap();
        assert_eq!(vals::<i64>(&r), vec![-4, -4, -4, 0, i64::MIN, 3]);
        let r = exec("remainder", vec![a(), b()]).unwrap();
        assert_eq!(vals::<i64>(&r), vec![1, -1, 0, 0, 0, 1]);
        let r = exec("mod", vec![a(), b()]).unwrap();
        assert_eq!(vals::<i64>(&r), vec![1, -1, 0, 0, 0, 1]);
        // bool computes as int8.
        let r = exec(
            "floor_divide",
            vec![arr(&[2], vec![true, false]), arr(&[2], vec![true, true])],
        )
        .unwrap();
        assert_eq!(r.dtype(), DType::Int8);
        assert_eq!(vals::<i8>(&r), vec![1, 0]);
    }

    #[test]
    fn float_floor_divide_and_mod() {
        let r = exec(
            "mod",
            vec![
                arr(&[4], vec![-7.5f64, 7.5, 5.0, -5.0]),
                arr(&[4], vec![2.0, -2.0, f64::INFINITY, f64::INFINITY]),
            ],
        )
        .unwrap();
        assert_eq!(vals::<f64>(&r), vec![0.5, -0.5, 5.0, f64::INFINITY]);
        let r = exec(
            "floor_divide",
            vec![
                arr(&[3], vec![5.0f64, -5.0, -7.0]),
                arr(&[3], vec![0.0, 0.0, 2.0]),
            ],
        )
        .unwrap();
        assert_eq!(
            vals::<f64>(&r),
            vec![f64::INFINITY, f64::NEG_INFINITY, -4.0]
        );
        let r = exec("remainder", vec![sc(-7.5), arr(&[1], vec![2.0f32])]).unwrap();
        assert_eq!(vals::<f32>(&r), vec![0.5]);
    }

    #[test]
    fn power_rejects_negative_integer_exponents() {
        let e = exec(
            "power",
            vec![arr(&[2], vec![2i64, 3]), arr(&[2], vec![1i64, -1])],
        )
        .unwrap_err();
        assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
        assert!(
            e.to_string()
                .contains("Integers to negative integer powers are not allowed."),
            "{e}"
        );
        let e = exec("power", vec![arr(&[1], vec![2i8]), sc(-1)]).unwrap_err();
        assert!(e.to_string().contains("negative integer powers"));
        // Nothing is computed for an empty result.
        let r = exec(
            "power",
            vec![arr(&[0], Vec::<i32>::new()), arr(&[1], vec![-1i32])],
        )
        .unwrap();
        assert_eq!(r.shape(), &[0]);
        let r = exec(
            "power",
            vec![arr(&[3], vec![2i8, 3, -2]), arr(&[3], vec![7i8, 2, 3])],
        )
        .unwrap();
        assert_eq!(vals::<i8>(&r), vec![-128, 9, -8]);
        let r = exec("power", vec![arr(&[1], vec![3i64]), sc(40)]).unwrap();
        assert_eq!(vals::<i64>(&r), vec![-6289078614652622815]);
        let r = exec("power", vec![arr(&[1], vec![2.0f64]), sc(-1)]).unwrap();
        assert_eq!(vals::<f64>(&r), vec![0.5]);
        let r = exec("power", vec![arr(&[1], vec![2u8]), arr(&[1], vec![200u8])]).unwrap();
        assert_eq!(vals::<u8>(&r), vec![0]);
    }

    #[test]
    fn uint64_above_2_63() {
        let big = (1u64 << 63) + 5;
        let a = || arr(&[2], vec![big, u64::MAX]);
        let r = exec("add", vec![a(), sc(1)]).unwrap();
        assert_eq!(vals::<u64>(&r), vec![big + 1, 0]);
        let r = exec("greater", vec![a(), sc(1u64 << 63)]).unwrap();
        assert_eq!(vals::<bool>(&r), vec![true, true]);
        let r = exec("floor_divide", vec![a(), sc(2)]).unwrap();
        assert_eq!(vals::<u64>(&r), vec![big / 2, u64::MAX / 2]);
        let r = exec("maximum", vec![a(), arr(&[2], vec![0u64, 1])]).unwrap();
        assert_eq!(vals::<u64>(&r), vec![big, u64::MAX]);
        // uint64 with int64 computes in float64, as NumPy promotes.
        let r = exec("add", vec![a(), arr(&[2], vec![0i64, 0])]).unwrap();
        assert_eq!(r.dtype(), DType::Float64);
        assert_eq!(vals::<f64>(&r), vec![big as f64, u64::MAX as f64]);
    }

    #[test]
    fn zero_d_and_empty_arrays() {
        let r = exec("negative", vec![arr(&[], vec![5i32])]).unwrap();
        assert_eq!(r.shape(), &[] as &[usize]);
        assert_eq!(vals::<i32>(&r), vec![-5]);
        let r = exec("add", vec![arr(&[], vec![1.5f64]), sc(1)]).unwrap();
        assert_eq!(r.shape(), &[] as &[usize]);
        assert_eq!(vals::<f64>(&r), vec![2.5]);
        let r = exec(
            "add",
            vec![
                arr(&[0, 3], Vec::<f32>::new()),
                arr(&[3], vec![1.0f32, 2.0, 3.0]),
            ],
        )
        .unwrap();
        assert_eq!(r.shape(), &[0, 3]);
        assert_eq!(r.dtype(), DType::Float32);
        let r = exec("sqrt", vec![arr(&[0], Vec::<i64>::new())]).unwrap();
        assert_eq!(
            (r.shape(), r.dtype()),
            (&[0usize] as &[usize], DType::Float64)
        );
        let r = exec("less", vec![arr(&[2, 0], Vec::<u8>::new()), sc(3)]).unwrap();
        assert_eq!(
            (r.shape(), r.dtype()),
            (&[2usize, 0] as &[usize], DType::Bool)
        );
    }

    #[test]
    fn broadcasting() {
        let r = exec(
            "add",
            vec![arr(&[2, 1], vec![1i64, 2]), arr(&[1, 2], vec![10i64, 20])],
        )
        .unwrap();
        assert_eq!(r.shape(), &[2, 2]);
        assert_eq!(vals::<i64>(&r), vec![11, 21, 12, 22]);
        let r = exec(
            "subtract",
            vec![
                arr(&[3], vec![1.0f64, 2.0, 3.0]),
                arr(&[2, 1], vec![1.0f64, 2.0]),
            ],
        )
        .unwrap();
        assert_eq!(r.shape(), &[2, 3]);
        assert_eq!(vals::<f64>(&r), vec![0.0, 1.0, 2.0, -1.0, 0.0, 1.0]);
        let r = exec("less", vec![sc(2), arr(&[2, 2], vec![1i16, 2, 3, 4])]).unwrap();
        assert_eq!(vals::<bool>(&r), vec![false, false, true, true]);
        let e = exec(
            "add",
            vec![arr(&[2], vec![1i64, 2]), arr(&[3], vec![1i64, 2, 3])],
        )
        .unwrap_err();
        assert!(matches!(e, Error::ShapeMismatch { .. }), "{e:?}");
    }

    #[test]
    fn dtypes_of_results() {
        let r = exec("sqrt", vec![arr(&[2], vec![4i8, -1])]).unwrap();
        assert_eq!(r.dtype(), DType::Float16);
        let v = vals::<f16>(&r);
        assert_eq!(v[0], f16::from_f32(2.0));
        assert!(v[1].is_nan());
        let r = exec("true_divide", vec![arr(&[3], vec![1i32, -1, 0]), sc(0)]).unwrap();
        assert_eq!(r.dtype(), DType::Float64);
        let v = vals::<f64>(&r);
        assert_eq!(&v[..2], &[f64::INFINITY, f64::NEG_INFINITY]);
        assert!(v[2].is_nan());
        let r = exec("divide", vec![arr(&[1], vec![7u8]), arr(&[1], vec![2u8])]).unwrap();
        assert_eq!(vals::<f64>(&r), vec![3.5]);
        let r = exec("abs", vec![arr(&[1], vec![Complex32::new(3.0, -4.0)])]).unwrap();
        assert_eq!(r.dtype(), DType::Float32);
        assert_eq!(vals::<f32>(&r), vec![5.0]);
        let r = exec(
            "isnan",
            vec![arr(&[3], vec![1.0f64, f64::NAN, f64::INFINITY])],
        )
        .unwrap();
        assert_eq!(vals::<bool>(&r), vec![false, true, false]);
        let r = exec(
            "isinf",
            vec![arr(
                &[2],
                vec![
                    Complex64::new(f64::INFINITY, f64::NAN),
                    Complex64::new(1.0, 0.0),
                ],
            )],
        )
        .unwrap();
        assert_eq!(vals::<bool>(&r), vec![true, false]);
        let r = exec("isfinite", vec![arr(&[2], vec![3i64, 4])]).unwrap();
        assert_eq!(vals::<bool>(&r), vec![true, true]);
        let r = exec("logical_not", vec![arr(&[3], vec![0.0f32, -0.0, f32::NAN])]).unwrap();
        assert_eq!(vals::<bool>(&r), vec![true, true, false]);
        let r = exec(
            "logical_and",
            vec![arr(&[3], vec![f64::NAN, 0.0, 2.0]), sc(1)],
        )
        .unwrap();
        assert_eq!(vals::<bool>(&r), vec![true, false, true]);
        let r = exec(
            "logical_xor",
            vec![
                arr(&[2], vec![1i8, 0]),
                arr(
                    &[2],
                    vec![Complex64::new(0.0, 1.0), Complex64::new(0.0, 0.0)],
                ),
            ],
        )
        .unwrap();
        assert_eq!(vals::<bool>(&r), vec![false, false]);
        let r = exec(
            "arctan2",
            vec![arr(&[1], vec![1i16]), arr(&[1], vec![1i16])],
        )
        .unwrap();
        assert_eq!(r.dtype(), DType::Float32);
        assert_eq!(vals::<f32>(&r), vec![std::f32::consts::FRAC_PI_4]);
        // NumPy has no bool loop for square: bool squares as int8.
        let r = exec("square", vec![arr(&[2], vec![true, false])]).unwrap();
        assert_eq!((r.dtype(), vals::<i8>(&r)), (DType::Int8, vec![1, 0]));
        let r = exec(
            "add",
            vec![arr(&[2], vec![true, false]), arr(&[2], vec![true, false])],
        )
        .unwrap();
        assert_eq!(vals::<bool>(&r), vec![true, false]);
        let r = exec(
            "add",
            vec![
                arr(&[1], vec![f16::from_f32(1.0)]),
                sc(Complex64::new(0.0, 1.0)),
            ],
        )
        .unwrap();
        assert_eq!(r.dtype(), DType::Complex64);
    }

    #[test]
    fn errors_numpy_raises() {
        let e = exec(
            "subtract",
            vec![arr(&[1], vec![true]), arr(&[1], vec![false])],
        )
        .unwrap_err();
        assert!(e.to_string().contains("boolean subtract"), "{e}");
        let e = exec("negative", vec![arr(&[1], vec![true])]).unwrap_err();
        assert!(e.to_string().contains("boolean negative"), "{e}");
        let e = exec("cbrt", vec![arr(&[1], vec![Complex64::new(1.0, 0.0)])]).unwrap_err();
        assert!(matches!(e, Error::UnsupportedDType { .. }), "{e:?}");
        let e = exec("add", vec![arr(&[1], vec![1i8]), sc(1000)]).unwrap_err();
        assert!(e.to_string().contains("out of bounds for int8"), "{e}");
        // Comparisons compare the true values instead.
        let r = exec("less", vec![arr(&[2], vec![1i8, 127]), sc(1000)]).unwrap();
        assert_eq!(vals::<bool>(&r), vec![true, true]);
    }

    #[test]
    fn nan_and_complex_ordering() {
        let r = exec(
            "maximum",
            vec![
                arr(&[3], vec![f64::NAN, 1.0, 2.0]),
                arr(&[3], vec![1.0f64, f64::NAN, 1.0]),
            ],
        )
        .unwrap();
        let v = vals::<f64>(&r);
        assert!(v[0].is_nan() && v[1].is_nan() && v[2] == 2.0);
        let r = exec(
            "minimum",
            vec![arr(&[2], vec![f32::NAN, 1.0]), arr(&[2], vec![1.0f32, 0.5])],
        )
        .unwrap();
        let v = vals::<f32>(&r);
        assert!(v[0].is_nan() && v[1] == 0.5);
        let z = |re, im| Complex64::new(re, im);
        let r = exec(
            "less",
            vec![
                arr(&[3], vec![z(1.0, 5.0), z(1.0, 1.0), z(1.0, f64::NAN)]),
                arr(&[3], vec![z(2.0, 0.0), z(1.0, 2.0), z(2.0, 0.0)]),
            ],
        )
        .unwrap();
        assert_eq!(vals::<bool>(&r), vec![true, true, false]);
        let r = exec(
            "greater_equal",
            vec![arr(&[2], vec![z(1.0, 2.0), z(0.0, 9.0)]), sc(1)],
        )
        .unwrap();
        assert_eq!(vals::<bool>(&r), vec![true, false]);
        let r = exec(
            "maximum",
            vec![
                arr(&[2], vec![z(1.0, 2.0), z(1.0, f64::NAN)]),
                arr(&[2], vec![z(1.0, 3.0), z(0.0, 0.0)]),
            ],
        )
        .unwrap();
        let v = vals::<Complex64>(&r);
        assert_eq!(v[0], z(1.0, 3.0));
        assert!(v[1].im.is_nan());
        let r = exec("divide", vec![arr(&[1], vec![z(1.0, 1.0)]), sc(0)]).unwrap();
        assert_eq!(vals::<Complex64>(&r), vec![z(f64::INFINITY, f64::INFINITY)]);
        let r = exec(
            "power",
            vec![
                arr(&[3], vec![z(0.0, 0.0), z(0.0, 0.0), z(1.0, 1.0)]),
                arr(&[3], vec![z(0.0, 0.0), z(2.0, 0.0), z(3.0, 0.0)]),
            ],
        )
        .unwrap();
        assert_eq!(
            vals::<Complex64>(&r),
            vec![z(1.0, 0.0), z(0.0, 0.0), z(-2.0, 2.0)]
        );
    }

    #[test]
    fn large_arrays_take_the_parallel_paths() {
        let n = 3 * super::PAR_MIN_LEN + 7;
        let a: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let b: Vec<f64> = (0..n).map(|i| (i % 13) as f64).collect();
        let r = exec("add", vec![arr(&[n], a.clone()), arr(&[n], b.clone())]).unwrap();
        let want: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
        assert_eq!(vals::<f64>(&r), want);
        let r = exec("multiply", vec![sc(2.0), arr(&[n], a.clone())]).unwrap();
        assert_eq!(
            vals::<f64>(&r),
            a.iter().map(|x| 2.0 * x).collect::<Vec<_>>()
        );
        let r = exec("sqrt", vec![arr(&[n], a.clone())]).unwrap();
        assert_eq!(
            vals::<f64>(&r),
            a.iter().map(|x| x.sqrt()).collect::<Vec<_>>()
        );
        // Broadcast: (rows, 1) against (1, cols), through Zip.
        let (rows, cols) = (400usize, 300usize);
        let c: Vec<i32> = (0..rows as i32).collect();
        let d: Vec<i32> = (0..cols as i32).collect();
        let r = exec("subtract", vec![arr(&[rows, 1], c), arr(&[1, cols], d)]).unwrap();
        assert_eq!(r.shape(), &[rows, cols]);
        let v = vals::<i32>(&r);
        for i in [0, 1, rows - 1] {
            for j in [0, 7, cols - 1] {
                assert_eq!(v[i * cols + j], i as i32 - j as i32);
            }
        }
        // A transposed (non-contiguous) operand.
        let m: Vec<i64> = (0..(rows * cols) as i64).collect();
        let t = host(&[rows, cols], m)
            .typed::<i64>()
            .unwrap()
            .clone()
            .reversed_axes();
        let tr = CpuInput::Array(i64::wrap(t.clone()));
        let r = exec("negative", vec![tr.clone()]).unwrap();
        assert_eq!(r.shape(), &[cols, rows]);
        assert_eq!(vals::<i64>(&r), t.iter().map(|x| -x).collect::<Vec<_>>());
        let r = exec("add", vec![tr, sc(1)]).unwrap();
        assert_eq!(vals::<i64>(&r), t.iter().map(|x| x + 1).collect::<Vec<_>>());
        let e = exec(
            "power",
            vec![
                arr(&[n], vec![2i64; n]),
                arr(&[n], (0..n as i64).map(|i| 3 - i).collect()),
            ],
        )
        .unwrap_err();
        assert!(e.to_string().contains("negative integer powers"));
    }

    /// Every row has a kernel, and every dtype with a loop runs through it with the dtype
    /// and shape `infer` promised (`run` checks them).
    #[test]
    fn every_row_runs_for_every_dtype_with_a_loop() {
        let ops = super::super::supported_ops();
        for row in rows() {
            assert!(ops.contains(&row.name), "no kernel for {}", row.name);
            for dt in DType::ALL {
                let x = CpuInput::Array(crate::backend::cpu::cast::cast(
                    &host(&[2, 2], vec![1i8, 2, 3, 0]),
                    dt,
                ));
                let y = CpuInput::Array(crate::backend::cpu::cast::cast(
                    &host(&[2], vec![1i8, 2]),
                    dt,
                ));
                let inputs = match row.family {
                    Family::Unary | Family::UnaryReal | Family::UnaryPred => vec![x],
                    Family::Binary | Family::Compare => vec![x, y],
                };
                match exec(row.name, inputs) {
                    Ok(r) => assert_eq!(r.shape(), &[2, 2]),
                    Err(e) => assert!(
                        matches!(e, Error::UnsupportedDType { .. }),
                        "{} {dt}: {e:?}",
                        row.name
                    ),
                }
            }
        }
    }
}
