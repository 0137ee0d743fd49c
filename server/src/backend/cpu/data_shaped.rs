//! Ops whose result shape depends on the data: `nonzero`, `where(condition)`, `compress`,
//! and `getitem` with boolean masks (which the contract lowers to integer indices).
//!
//! `infer` gives these calls upper bounds; the kernels return the actual shapes, which the
//! registry checks against the bounds.

use ndarray::{ArcArray, IxDyn};
use ndserve_proto::ops::data_shaped::{LoweredInput, MaskLowering, compress_plan};
use ndserve_proto::{DType, Error, Result};

use super::array::HostArray;
use super::cast::cast;
use super::gather::take_axis;
use super::kernels::{CpuInput, KernelCall};
use super::shape::reshaped;

/// The kernels of this family.
pub fn kernels() -> Vec<(&'static str, super::KernelFn)> {
    vec![
        ("nonzero", nonzero as super::KernelFn),
        ("compress", compress),
    ]
}

/// The positions of `a`'s non-zero (true) elements in C order, one index list per axis; a
/// 0-d array counts as a 1-d array of one element.
pub fn nonzero_coords(a: &HostArray) -> Vec<Vec<i64>> {
    let b = cast(a, DType::Bool);
    let x = b.typed::<bool>().expect("cast to bool");
    let shape: Vec<usize> = if x.ndim() == 0 {
        vec![1]
    } else {
        x.shape().to_vec()
    };
    let mut out = vec![Vec::new(); shape.len()];
    let mut at = vec![0usize; shape.len()];
    for &v in x.iter() {
        if v {
            for (o, &i) in out.iter_mut().zip(&at) {
                o.push(i as i64);
            }
        }
        // The next position in C order.
        for d in (0..shape.len()).rev() {
            at[d] += 1;
            if at[d] < shape[d] {
                break;
            }
            at[d] = 0;
        }
    }
    out
}

fn int64_vector(v: Vec<i64>) -> HostArray {
    HostArray::I64(ArcArray::from_shape_vec(IxDyn(&[v.len()]), v).expect("1-d"))
}

/// `np.nonzero(a)`, and `np.where(condition)` with the condition alone.
pub fn nonzero(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    Ok(nonzero_coords(&call.inputs[0].as_array())
        .into_iter()
        .map(int64_vector)
        .collect())
}

fn compress(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let plan = compress_plan(&call.call())?;
    let a = call.inputs[1].as_array();
    let n = if plan.flatten {
        a.len()
    } else {
        a.shape()[plan.axis]
    };
    let picked = nonzero_coords(&call.inputs[0].as_array()).remove(0);
    let idx = picked
        .iter()
        .map(|&i| {
            if (i as usize) < n {
                Ok(i as usize)
            } else {
                Err(Error::invalid(
                    call.op,
                    "condition",
                    format!(
                        "index {i} is out of bounds for axis {} with size {n}",
                        plan.axis
                    ),
                ))
            }
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(vec![take_axis(
        &a,
        plan.flatten,
        plan.axis,
        &idx,
        &[idx.len()],
    )])
}

/// The inputs of a `getitem` whose boolean masks are lowered: the source reshaped, integer
/// index arrays kept, and each mask's dims replaced by the positions of its true elements.
pub fn lowered_inputs(call: &KernelCall<'_>, low: &MaskLowering) -> Vec<CpuInput> {
    let mut coords: Vec<Option<Vec<Vec<i64>>>> = vec![None; call.inputs.len()];
    low.inputs
        .iter()
        .map(|i| match *i {
            LoweredInput::Source => {
                CpuInput::Array(reshaped(&call.inputs[0].as_array(), &low.a_shape))
            }
            LoweredInput::Keep(p) | LoweredInput::Pass(p) => call.inputs[p].clone(),
            LoweredInput::MaskDim { input, dim } => {
                let c = coords[input]
                    .get_or_insert_with(|| nonzero_coords(&call.inputs[input].as_array()));
                CpuInput::Array(int64_vector(std::mem::take(&mut c[dim])))
            }
        })
        .collect()
}
