//! The CPU kernel of a fused elementwise chain ([`crate::fusion`]).
//!
//! Every node runs its op's own kernel, so every element is computed exactly as the
//! unfused ops compute it. The chunked mode cuts the output into pieces small enough that
//! a piece of every operand and intermediate stays in cache, so memory is crossed once; it
//! is off ([`CHUNKED`]) because it measured slower here, and the nodes then run over the
//! whole arrays.

use ndarray::{Axis, IxDyn, Slice};
use ndserve_proto::ops::Input;
use ndserve_proto::{Attrs, Error, Result};
use rayon::prelude::*;

use super::array::{Element, HostArray};
use super::kernels::{CpuInput, KernelCall, KernelFn};
use crate::fusion::{Arg, FUSED_OP, Program};

/// Whether long chains run chunk by chunk. Measured on this 2-core machine (bench
/// `muladd_fusion_speedup`, BENCHMARKS.md) the chunked pass was 0.33x the unfused chain
/// for f32: the per-chunk calls through each op's kernel cost more than the memory they
/// save. Until that is fixed the CPU runs a fused chain node by node over whole arrays.
const CHUNKED: bool = false;

/// Elements per chunk: the chunks are the unit of parallelism, so a chunk stays below
/// the elementwise kernels' own parallel threshold, and five f64 operands of it (640 KiB)
/// stay in the L2 cache.
const CHUNK: usize = super::elementwise::PAR_MIN_LEN / 2;

/// The kernels of this family.
pub fn kernels() -> Vec<(&'static str, KernelFn)> {
    vec![(FUSED_OP, fused as KernelFn)]
}

/// An input as the chunks read it.
enum Leaf {
    /// The same for every chunk (a scalar, a one-element array as 0-d).
    Whole(CpuInput),
    /// An array of the output's shape, flattened: chunk `[s, e)` is its `[s, e)`.
    Flat(HostArray),
}

impl Leaf {
    fn chunk(&self, start: usize, end: usize) -> CpuInput {
        match self {
            Leaf::Whole(i) => i.clone(),
            Leaf::Flat(a) => CpuInput::Array(crate::with_array!(a, x, T => {
                let mut v = x.clone();
                v.slice_axis_inplace(Axis(0), Slice::from(start..end));
                <T as Element>::wrap(v)
            })),
        }
    }
}

/// `a` reshaped (C order) to `shape`, sharing its data when it is contiguous.
fn reshaped(a: &HostArray, shape: &[usize]) -> HostArray {
    crate::with_array!(a, x, T => {
        let std = if x.is_standard_layout() {
            x.clone()
        } else {
            x.as_standard_layout().into_owned().into_shared()
        };
        <T as Element>::wrap(
            std.into_shape_with_order(IxDyn(shape))
                .expect("the same number of elements"),
        )
    })
}

fn fused(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let prog = Program::from_attrs(call.attrs, call.inputs.len())?;
    let out = &call.outs[0];
    let n = out.numel();
    let leaves = call
        .inputs
        .iter()
        .map(|i| match i {
            CpuInput::Scalar(s) => Ok(Leaf::Whole(CpuInput::Scalar(*s))),
            CpuInput::Array(a) if a.shape() == out.shape.as_slice() => {
                Ok(Leaf::Flat(reshaped(a, &[n])))
            }
            CpuInput::Array(a) if a.len() == 1 => {
                Ok(Leaf::Whole(CpuInput::Array(reshaped(a, &[]))))
            }
            CpuInput::Array(_) => Err(Error::invalid(
                FUSED_OP,
                "inputs",
                "a fused input has neither the result's shape nor one element",
            )),
        })
        .collect::<Result<Vec<_>>>()?;
    let none = Attrs::default();
    // The chain's nodes over `inputs`, each through its op's kernel.
    let eval = |inputs: &[CpuInput], node_metas: &[ndserve_proto::Meta]| -> Result<HostArray> {
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
        Ok(vals.pop().expect("a node"))
    };
    if !CHUNKED || n <= CHUNK {
        // Node by node over the whole arrays: the unfused chain's work, in one worker call.
        let inputs: Vec<CpuInput> = leaves.iter().map(|l| l.chunk(0, n)).collect();
        let metas: Vec<Input> = inputs.iter().map(CpuInput::meta).collect();
        let r = eval(&inputs, &prog.metas(&metas)?)?;
        return Ok(vec![reshaped(&r, &out.shape)]);
    }
    // The nodes' metas for a whole chunk and for the last, shorter one.
    let metas_for = |len: usize| -> Result<Vec<ndserve_proto::Meta>> {
        let inputs: Vec<Input> = leaves.iter().map(|l| l.chunk(0, len).meta()).collect();
        prog.metas(&inputs)
    };
    let full = metas_for(CHUNK.min(n))?;
    let tail = metas_for(n % CHUNK)?;
    // One chunk of the chain: every node through its op's kernel.
    let run_chunk = |c: usize| -> Result<HostArray> {
        let (start, end) = (c * CHUNK, ((c + 1) * CHUNK).min(n));
        let inputs: Vec<CpuInput> = leaves.iter().map(|l| l.chunk(start, end)).collect();
        let node_metas = if end - start == full[0].numel() {
            &full
        } else {
            &tail
        };
        eval(&inputs, node_metas)
    };
    let result = crate::with_dtype!(out.dtype, T => {
        let mut v: Vec<T> = Vec::with_capacity(n);
        let write = |(c, dst): (usize, &mut [std::mem::MaybeUninit<T>])| -> Result<()> {
            let r = run_chunk(c)?;
            let typed = <T as Element>::unwrap(&r)
                .ok_or_else(|| Error::internal(FUSED_OP, "a chunk came back in another dtype"))?;
            // A slice copy: iterating an n-d array element by element is many times slower.
            let src = typed.as_slice().ok_or_else(|| {
                Error::internal(FUSED_OP, "a chunk's result is not contiguous")
            })?;
            for (d, s) in dst.iter_mut().zip(src) {
                d.write(*s);
            }
            Ok(())
        };
        let spare = &mut v.spare_capacity_mut()[..n];
        if n > CHUNK {
            spare.par_chunks_mut(CHUNK).enumerate().try_for_each(write)?;
        } else {
            spare.chunks_mut(CHUNK).enumerate().try_for_each(write)?;
        }
        // SAFETY: every one of the `n` elements was written above (the chunks cover
        // `0..n`, and an error returned before this point).
        unsafe { v.set_len(n) };
        <T as Element>::wrap(
            ndarray::Array::from_shape_vec(IxDyn(&out.shape), v)
                .expect("n elements")
                .into_shared(),
        )
    });
    Ok(vec![result])
}
