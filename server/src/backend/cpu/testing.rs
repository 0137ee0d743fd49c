//! Helpers of the kernels' unit tests: arrays from `f64` values, and ops run the way the
//! worker runs them (the contract's `infer`, then the registry's kernel and its checks).

use std::borrow::Borrow;

use ndarray::{ArcArray, IxDyn};
use ndserve_proto::{Attrs, DType, Result};

use super::array::HostArray;
use super::cast::cast;
use super::kernels::{CpuInput, run};

/// An array of `dtype` and `shape` from `f64` values (cast as NumPy's `astype`).
pub fn arr<V: Borrow<f64>>(
    dtype: DType,
    shape: &[usize],
    v: impl IntoIterator<Item = V>,
) -> HostArray {
    let v: Vec<f64> = v.into_iter().map(|x| *x.borrow()).collect();
    let a = ArcArray::from_shape_vec(IxDyn(shape), v).expect("values match the shape");
    cast(&HostArray::F64(a), dtype)
}

/// `np.arange(n).reshape(shape).astype(dtype)`.
pub fn arange(dtype: DType, shape: &[usize]) -> HostArray {
    let n: usize = shape.iter().product();
    arr(dtype, shape, (0..n).map(|i| i as f64))
}

/// The elements as `f64`, C order.
pub fn vals(h: &HostArray) -> Vec<f64> {
    cast(h, DType::Float64)
        .typed::<f64>()
        .expect("cast to float64")
        .iter()
        .copied()
        .collect()
}

/// Runs `op` on inputs (arrays or scalars) as the worker does.
pub fn run_inputs(op: &str, ins: &[CpuInput], attrs: &Attrs) -> Result<Vec<HostArray>> {
    let metas: Vec<_> = ins.iter().map(CpuInput::meta).collect();
    let outs = ndserve_proto::ops::infer(op, &metas, attrs)?;
    run(op, ins, attrs, &outs)
}

/// Runs `op` on arrays as the worker does.
pub fn run_op(op: &str, ins: &[HostArray], attrs: Attrs) -> Result<Vec<HostArray>> {
    let ins: Vec<_> = ins.iter().cloned().map(CpuInput::Array).collect();
    run_inputs(op, &ins, &attrs)
}

/// [`run_op`] for an op with one output.
pub fn run1(op: &str, ins: &[HostArray], attrs: Attrs) -> Result<HostArray> {
    Ok(run_op(op, ins, attrs)?.remove(0))
}

/// Runs an op with one output on inputs (arrays or scalars); panics naming the op on an
/// error.
pub fn run_one(op: &str, ins: Vec<CpuInput>, attrs: Attrs) -> HostArray {
    let mut r = run_inputs(op, &ins, &attrs).unwrap_or_else(|e| panic!("{op}: {e}"));
    assert_eq!(r.len(), 1, "{op} has one output");
    r.remove(0)
}
