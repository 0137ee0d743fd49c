//! The CPU kernel of a fused elementwise chain ([`crate::fusion`]).
//!
//! A float32 or float64 chain whose every node computes in that type and whose inputs are
//! contiguous (or constants) runs in one pass: the output is cut into pieces of
//! [`PIECE_BYTES`] each, and each piece goes through every node's typed slice loop
//! (`elementwise::float_slice1`/`float_slice2`, or the vectorised functions of `vecmath`,
//! as the unfused kernels choose) with the intermediates in cache-sized scratch buffers,
//! so memory is crossed once; an output too large to stay in cache is written with
//! streaming stores ([`super::stream_store`]). Each node applies the same function to the
//! same values as its op's kernel does, so the bits are those of the unfused chain. Any
//! other chain runs node by node through each op's kernel over the whole arrays.

use std::mem::MaybeUninit;

use ndarray::IxDyn;
use ndserve_proto::ops::Input;
use ndserve_proto::ops::elementwise::Plan;
use ndserve_proto::{Attrs, DType, Error, Meta, Result};
use rayon::prelude::*;

use super::array::{Element, HostArray};
use super::elem::FloatElem;
use super::elementwise::{PAR_MIN_LEN, Slice1, Slice2, float_slice1, float_slice2};
use super::kernels::{CpuInput, KernelCall, KernelFn};
use super::stream_store;
use crate::fusion::{Arg, FUSED_OP, Program};

/// Bytes per piece of the one-pass mode (512 float64 or 1,024 float32 elements): a page
/// of each input per piece, and scratch buffers that stay in the L1 cache. Measured on
/// `a * b + c` over 1e7 elements into a warm output (2-vCPU AMD EPYC, medians of 11):
/// float64 5.9-6.6 ms with 4 KiB pieces against 10.0-10.5 ms with 32 KiB (1 and 2 KiB:
/// 7.6-9.3 ms; one hand-written loop: 5.3-5.4 ms); float32 3.1-3.3 ms against 4.9-5.1
/// with 16 KiB.
const PIECE_BYTES: usize = 4096;

/// Elements of `T` per piece.
const fn piece_len<T>() -> usize {
    PIECE_BYTES / std::mem::size_of::<T>()
}

/// Pieces per rayon task: a task ends with a store fence when it wrote with streaming
/// stores, and a fence after every piece costs most of what they gain
/// ([`super::stream_store`]).
const TASK_PIECES: usize = 16;

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
    let plans = prog.plans(&metas)?;
    let one_pass = match out.dtype {
        DType::Float32 => one_pass::<f32>(&prog, &inputs, &plans, out)?,
        DType::Float64 => one_pass::<f64>(&prog, &inputs, &plans, out)?,
        _ => None,
    };
    if let Some(r) = one_pass {
        return Ok(vec![r]);
    }
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
        let mut r = super::run(node.op, &args, &none, std::slice::from_ref(&plans[j].out))?;
        vals.push(r.pop().expect("one output"));
    }
    Ok(vec![vals.pop().expect("a program has nodes")])
}

/// A float type the one-pass mode runs.
trait PieceElem: FloatElem + bytemuck::Pod {
    /// The vectorised slice function of `op`, which the op's kernel prefers.
    fn vectorised(op: &str) -> Option<Slice1<Self>>;
}

impl PieceElem for f32 {
    fn vectorised(op: &str) -> Option<Slice1<f32>> {
        super::vecmath::slice_f32(op)
    }
}

impl PieceElem for f64 {
    fn vectorised(op: &str) -> Option<Slice1<f64>> {
        super::vecmath::slice_f64(op)
    }
}

/// A node's loop.
#[derive(Clone, Copy)]
enum Step<T> {
    Unary(Slice1<T>),
    Binary(Slice2<T>),
}

/// Where a node reads an operand from, piece by piece.
#[derive(Clone, Copy)]
enum Src<'a, T> {
    /// An input of the result's shape, contiguous: piece `[s, e)` is `[s, e)`.
    Slice(&'a [T]),
    /// A constant (a scalar or one-element input): its scratch buffer, filled once.
    Const(usize),
    /// An earlier node's scratch buffer.
    Node(usize),
}

/// The chain in one pass, or `None` when it does not qualify (a node that does not compute
/// in `T`, an op without a slice loop, an input that is not contiguous).
fn one_pass<T: PieceElem>(
    prog: &Program,
    inputs: &[CpuInput],
    plans: &[Plan],
    out: &Meta,
) -> Result<Option<HostArray>> {
    let mut steps: Vec<(Step<T>, Vec<Src<'_, T>>)> = Vec::with_capacity(prog.nodes.len());
    let mut consts: Vec<T> = Vec::new();
    // Each input's source, made once (a constant gets one scratch buffer).
    let mut leaves: Vec<Option<Src<'_, T>>> = vec![None; inputs.len()];
    for (node, p) in prog.nodes.iter().zip(plans) {
        if p.compute != T::DTYPE || p.out.dtype != T::DTYPE {
            return Ok(None);
        }
        let step = match node.args.len() {
            1 => match T::vectorised(node.op).or_else(|| float_slice1::<T>(node.op)) {
                Some(f) => Step::Unary(f),
                None => return Ok(None),
            },
            2 => match float_slice2::<T>(node.op) {
                Some(f) => Step::Binary(f),
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
        let mut srcs = Vec::with_capacity(node.args.len());
        for a in &node.args {
            let src = match *a {
                Arg::Node(k) => Src::Node(k),
                Arg::Input(k) => match leaves[k] {
                    Some(s) => s,
                    None => {
                        let s = match leaf::<T>(&inputs[k], out) {
                            Some(Leaf::Slice(v)) => Src::Slice(v),
                            Some(Leaf::Const(v)) => {
                                consts.push(v);
                                Src::Const(consts.len() - 1)
                            }
                            None => return Ok(None),
                        };
                        leaves[k] = Some(s);
                        s
                    }
                },
            };
            srcs.push(src);
        }
        steps.push((step, srcs));
    }
    let n = out.numel();
    let mut res: Vec<T> = Vec::with_capacity(n);
    let spare = &mut res.spare_capacity_mut()[..n];
    let streaming = stream_store::worth_streaming(spare);
    let scratch = || Scratch::new(steps.len(), &consts);
    let task = TASK_PIECES * piece_len::<T>();
    let run = |s: &mut Scratch<T>, (t, dst): (usize, &mut [MaybeUninit<T>])| {
        for (k, piece) in dst.chunks_mut(piece_len::<T>()).enumerate() {
            s.piece(&steps, t * task + k * piece_len::<T>(), piece, streaming);
        }
        if streaming {
            stream_store::fence();
        }
    };
    if n >= PAR_MIN_LEN {
        spare
            .par_chunks_mut(task)
            .enumerate()
            .for_each_init(scratch, run);
    } else {
        let mut s = scratch();
        spare
            .chunks_mut(task)
            .enumerate()
            .for_each(|t| run(&mut s, t));
    }
    // SAFETY: the tasks' pieces cover `0..n` and each piece wrote every one of its
    // elements (`Scratch::piece`), so all `n` are initialised.
    unsafe { res.set_len(n) };
    let a = ndarray::Array::from_shape_vec(IxDyn(&out.shape), res)
        .map_err(|e| Error::internal(FUSED_OP, e.to_string()))?;
    Ok(Some(T::wrap(a.into_shared())))
}

/// An input as the one-pass mode reads it.
enum Leaf<'a, T> {
    Slice(&'a [T]),
    Const(T),
}

fn leaf<'a, T: PieceElem>(input: &'a CpuInput, out: &Meta) -> Option<Leaf<'a, T>> {
    match input {
        CpuInput::Scalar(_) => {
            let a = input.to_array(T::DTYPE);
            T::unwrap(&a)?.iter().next().copied().map(Leaf::Const)
        }
        CpuInput::Array(a) => {
            let x = T::unwrap(a)?;
            if x.len() == 1 {
                return x.iter().next().copied().map(Leaf::Const);
            }
            if x.shape() != out.shape.as_slice() {
                return None;
            }
            x.as_slice().map(Leaf::Slice)
        }
    }
}

/// The `[start, start + len)` piece of an operand.
fn view<'a, T>(
    s: Src<'a, T>,
    consts: &'a [Vec<T>],
    done: &'a [Vec<T>],
    start: usize,
    len: usize,
) -> &'a [T] {
    match s {
        Src::Slice(v) => &v[start..start + len],
        Src::Const(k) => &consts[k][..len],
        Src::Node(k) => &done[k][..len],
    }
}

/// One rayon task's buffers: a piece of every node's result and of every constant.
struct Scratch<T> {
    nodes: Vec<Vec<T>>,
    consts: Vec<Vec<T>>,
}

impl<T: PieceElem> Scratch<T> {
    fn new(nodes: usize, consts: &[T]) -> Self {
        Scratch {
            nodes: vec![vec![T::zero(); piece_len::<T>()]; nodes],
            consts: consts.iter().map(|&v| vec![v; piece_len::<T>()]).collect(),
        }
    }

    /// The chain over the piece starting at `start`, its result written to `dst` (with
    /// streaming stores when `streaming`).
    fn piece(
        &mut self,
        steps: &[(Step<T>, Vec<Src<'_, T>>)],
        start: usize,
        dst: &mut [MaybeUninit<T>],
        streaming: bool,
    ) {
        let len = dst.len();
        let consts = &self.consts;
        for (j, (step, srcs)) in steps.iter().enumerate() {
            let (done, rest) = self.nodes.split_at_mut(j);
            let o = &mut rest[0][..len];
            match *step {
                Step::Unary(f) => f(view(srcs[0], consts, done, start, len), o),
                Step::Binary(f) => f(
                    view(srcs[0], consts, done, start, len),
                    view(srcs[1], consts, done, start, len),
                    o,
                ),
            }
        }
        let last = &self.nodes[steps.len() - 1][..len];
        if streaming {
            stream_store::copy_streaming(dst, last);
        } else {
            for (d, &v) in dst.iter_mut().zip(last) {
                d.write(v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array, IxDyn};
    use ndserve_proto::ops::elementwise::{Family, rows};
    use ndserve_proto::{Attrs, DType, Scalar};

    use super::super::array::{Element, HostArray};
    use super::super::kernels::CpuInput;
    use super::*;
    use crate::fusion::{Arg, Node, Program};

    /// Values with every special case, long enough for several pieces and a short tail.
    fn values<T: Element + num_traits::NumCast>(len: usize, salt: usize) -> HostArray {
        let specials = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e-310,
            -3.5,
            1e30,
            700.0,
            -745.5,
            89.0,
        ];
        let v: Vec<T> = (0..len)
            .map(|i| {
                let x = if (i + salt).is_multiple_of(7) {
                    specials[(i / 7 + salt) % specials.len()]
                } else {
                    (((i * 7919 + salt * 104729) % 20011) as f64 - 10005.0) / 997.0
                };
                num_traits::cast(x).expect("a float")
            })
            .collect();
        T::wrap(
            Array::from_shape_vec(IxDyn(&[len]), v)
                .unwrap()
                .into_shared(),
        )
    }

    fn bits(a: &HostArray) -> Vec<u64> {
        match a {
            HostArray::F32(x) => x.iter().map(|v| v.to_bits() as u64).collect(),
            HostArray::F64(x) => x.iter().map(|v| v.to_bits()).collect(),
            other => panic!("unexpected dtype {}", other.dtype()),
        }
    }

    /// `prog` over `inputs` through the fused kernel, and whether it ran in one pass.
    fn fused_run(prog: &Program, inputs: &[CpuInput]) -> (HostArray, bool) {
        let metas: Vec<_> = inputs.iter().map(CpuInput::meta).collect();
        let plans = prog.plans(&metas).unwrap();
        let out = plans.last().unwrap().out.clone();
        let one = match out.dtype {
            DType::Float32 => one_pass::<f32>(prog, inputs, &plans, &out),
            _ => one_pass::<f64>(prog, inputs, &plans, &out),
        }
        .unwrap()
        .is_some();
        let attrs = prog.to_attrs();
        let r = super::super::run(FUSED_OP, inputs, &attrs, &[out]).unwrap();
        (r.into_iter().next().unwrap(), one)
    }

    fn unfused(op: &'static str, inputs: &[CpuInput]) -> HostArray {
        let metas: Vec<_> = inputs.iter().map(CpuInput::meta).collect();
        let outs = ndserve_proto::ops::infer(op, &metas, &Attrs::new()).unwrap();
        super::super::run(op, inputs, &Attrs::new(), &outs)
            .unwrap()
            .remove(0)
    }

    /// Every unary and binary row with a float loop gives, in one pass, exactly the bits of
    /// its own kernel, for float32 and float64, arrays and constants, over several pieces.
    #[test]
    fn one_pass_matches_each_kernel_bit_for_bit() {
        // Several pieces of either type (float32's are the longer).
        let len = 3 * piece_len::<f32>() + 123;
        let mut covered = 0;
        for dtype in [DType::Float32, DType::Float64] {
            let arr = |salt| match dtype {
                DType::Float32 => values::<f32>(len, salt),
                _ => values::<f64>(len, salt),
            };
            for row in rows() {
                let binary = match row.family {
                    Family::Unary | Family::UnaryReal => false,
                    Family::Binary => true,
                    _ => continue,
                };
                let has_loop = if binary {
                    match dtype {
                        DType::Float32 => float_slice2::<f32>(row.name).is_some(),
                        _ => float_slice2::<f64>(row.name).is_some(),
                    }
                } else {
                    match dtype {
                        DType::Float32 => float_slice1::<f32>(row.name).is_some(),
                        _ => float_slice1::<f64>(row.name).is_some(),
                    }
                };
                let cases: Vec<Vec<CpuInput>> = if binary {
                    vec![
                        vec![CpuInput::Array(arr(1)), CpuInput::Array(arr(2))],
                        vec![
                            CpuInput::Array(arr(3)),
                            CpuInput::Scalar(Scalar::Float(2.5)),
                        ],
                        vec![CpuInput::Scalar(Scalar::Int(-3)), CpuInput::Array(arr(4))],
                    ]
                } else {
                    vec![vec![CpuInput::Array(arr(5))]]
                };
                for inputs in cases {
                    let metas: Vec<_> = inputs.iter().map(CpuInput::meta).collect();
                    let Ok(outs) = ndserve_proto::ops::infer(row.name, &metas, &Attrs::new())
                    else {
                        continue;
                    };
                    if outs[0].dtype != dtype {
                        continue;
                    }
                    let args = (0..inputs.len()).map(Arg::Input).collect();
                    // The op, then `x + 0.0`-free identity: `positive` keeps the bits.
                    let prog = Program {
                        nodes: vec![
                            Node { op: row.name, args },
                            Node {
                                op: "positive",
                                args: vec![Arg::Node(0)],
                            },
                        ],
                    };
                    let want = unfused(row.name, &inputs);
                    let (got, one) = fused_run(&prog, &inputs);
                    assert_eq!(one, has_loop, "{} {dtype}: one-pass mode", row.name);
                    assert_eq!(bits(&got), bits(&want), "{} {dtype}", row.name);
                    covered += usize::from(one);
                }
            }
        }
        assert!(covered > 100, "only {covered} one-pass cases ran");
    }

    /// A longer chain with a reused input and a constant, against the ops run one by one;
    /// a non-contiguous input and a mixed-dtype chain take the node-by-node path and give
    /// the same bits.
    #[test]
    fn chains_match_the_unfused_ops() {
        let len = 2 * piece_len::<f32>() + 7;
        let x = CpuInput::Array(values::<f32>(len, 1));
        let y = CpuInput::Array(values::<f32>(len, 2));
        let c = CpuInput::Scalar(Scalar::Float(1.5));
        // exp(x - 1.5) / (y*y + x)
        let prog = Program {
            nodes: vec![
                Node {
                    op: "subtract",
                    args: vec![Arg::Input(0), Arg::Input(2)],
                },
                Node {
                    op: "exp",
                    args: vec![Arg::Node(0)],
                },
                Node {
                    op: "multiply",
                    args: vec![Arg::Input(1), Arg::Input(1)],
                },
                Node {
                    op: "add",
                    args: vec![Arg::Node(2), Arg::Input(0)],
                },
                Node {
                    op: "divide",
                    args: vec![Arg::Node(1), Arg::Node(3)],
                },
            ],
        };
        let inputs = [x.clone(), y.clone(), c.clone()];
        let (got, one) = fused_run(&prog, &inputs);
        assert!(one);
        let t0 = CpuInput::Array(unfused("subtract", &[x.clone(), c]));
        let t1 = CpuInput::Array(unfused("exp", &[t0]));
        let t2 = CpuInput::Array(unfused("multiply", &[y.clone(), y]));
        let t3 = CpuInput::Array(unfused("add", &[t2, x]));
        let want = unfused("divide", &[t1, t3]);
        assert_eq!(bits(&got), bits(&want));

        // A reversed (non-contiguous) input: node by node, same bits.
        let HostArray::F32(a) = values::<f32>(len, 3) else {
            unreachable!()
        };
        let rev = CpuInput::Array(HostArray::F32(a.slice_move(ndarray::s![..;-1]).into_dyn()));
        let prog = Program {
            nodes: vec![
                Node {
                    op: "multiply",
                    args: vec![Arg::Input(0), Arg::Input(0)],
                },
                Node {
                    op: "sqrt",
                    args: vec![Arg::Node(0)],
                },
            ],
        };
        let (got, one) = fused_run(&prog, std::slice::from_ref(&rev));
        assert!(!one);
        let sq = CpuInput::Array(unfused("multiply", &[rev.clone(), rev]));
        assert_eq!(bits(&got), bits(&unfused("sqrt", &[sq])));

        // float32 times a float64 array computes in float64 from the first node on: the
        // float64 one-pass mode cannot run it (the first node's inputs are not float64).
        let z = CpuInput::Array(values::<f64>(len, 4));
        let x = CpuInput::Array(values::<f32>(len, 5));
        let prog = Program {
            nodes: vec![
                Node {
                    op: "multiply",
                    args: vec![Arg::Input(0), Arg::Input(1)],
                },
                Node {
                    op: "log",
                    args: vec![Arg::Node(0)],
                },
            ],
        };
        let (got, one) = fused_run(&prog, &[x.clone(), z.clone()]);
        assert!(!one);
        let m = CpuInput::Array(unfused("multiply", &[x, z]));
        assert_eq!(bits(&got), bits(&unfused("log", &[m])));
    }

    /// An output above `STREAM_MIN_BYTES` is written with streaming stores, over several
    /// rayon tasks and a tail shorter than a piece: the same bits as the ops one by one.
    #[test]
    fn large_outputs_stream_the_same_bits() {
        let len = stream_store::STREAM_MIN_BYTES / 8 + 37;
        let inputs: Vec<CpuInput> = (1..=3)
            .map(|salt| CpuInput::Array(values::<f64>(len, salt)))
            .collect();
        let prog = Program::parse("multiply:i0,i1;add:n0,i2", 3).unwrap();
        let (got, one) = fused_run(&prog, &inputs);
        assert!(one);
        let ab = CpuInput::Array(unfused("multiply", &inputs[..2]));
        let want = unfused("add", &[ab, inputs[2].clone()]);
        assert_eq!(bits(&got), bits(&want));
    }
}
