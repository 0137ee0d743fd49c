//! The CPU kernel of a fused elementwise chain ([`crate::fusion`]).
//!
//! Every node runs its op's own kernel over the whole arrays, so every element is computed
//! exactly as the unfused ops compute it; what the chain saves is the coordinator's work
//! per op. (A chunked one-pass mode, each node's kernel on cache-sized pieces, measured
//! 0.31-0.40x the unfused chain for f32 here and was removed: BENCHMARKS.md.)

use ndarray::IxDyn;
use ndserve_proto::ops::Input;
use ndserve_proto::{Attrs, Error, Result};

use super::array::{Element, HostArray};
use super::kernels::{CpuInput, KernelCall, KernelFn};
use crate::fusion::{Arg, FUSED_OP, Program};

/// The kernels of this family.
pub fn kernels() -> Vec<(&'static str, KernelFn)> {
    vec![(FUSED_OP, fused as KernelFn)]
}

/// A one-element array as 0-d (sharing its data), so that it broadcasts against the
/// result's shape as the unfused op saw it, whatever its own rank.
fn zero_d(a: &HostArray) -> HostArray {
    crate::with_array!(a, x, T => {
        let std = if x.is_standard_layout() {
            x.clone()
        } else {
            x.as_standard_layout().into_owned().into_shared()
        };
        <T as Element>::wrap(
            std.into_shape_with_order(IxDyn(&[]))
                .expect("one element"),
        )
    })
}

fn fused(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let prog = Program::from_attrs(call.attrs, call.inputs.len())?;
    let out = &call.outs[0];
    let inputs = call
        .inputs
        .iter()
        .map(|i| match i {
            CpuInput::Array(a) if a.shape() == out.shape.as_slice() => Ok(i.clone()),
            CpuInput::Array(a) if a.len() == 1 => Ok(CpuInput::Array(zero_d(a))),
            CpuInput::Array(_) => Err(Error::invalid(
                FUSED_OP,
                "inputs",
                "a fused input has neither the result's shape nor one element",
            )),
            CpuInput::Scalar(_) => Ok(i.clone()),
        })
        .collect::<Result<Vec<_>>>()?;
    let metas: Vec<Input> = inputs.iter().map(CpuInput::meta).collect();
    let node_metas = prog.metas(&metas)?;
    let none = Attrs::default();
    let mut vals: Vec<HostArray> = Vec::with_capacity(prog.nodes.len());
    for (j, node) in prog.nodes.iter().enumerate() {
        let args: Vec<CpuInput> = node
            .args
            .iter()
            .map(|a| match a {
                Arg::Input(k) => inputs[*k].clone(),
                Arg::Node(k) => CpuInput::Array(vals[*k].clone()),
            })
            .collect();
        let mut r = super::run(node.op, &args, &none, &node_metas[j..=j])?;
        vals.push(r.pop().expect("one output"));
    }
    Ok(vec![vals.pop().expect("a program has nodes")])
}
