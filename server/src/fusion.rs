//! Elementwise fusion: a chain of queued elementwise ops (`t = a * b`, `d = t + c`) whose
//! intermediates the client has already released runs as one worker op, [`FUSED_OP`], in
//! one pass over memory: on the CPU piece by piece through the ops' typed loops (so the
//! result has the same bits as the unfused chain), on a GPU as one generated kernel.
//!
//! The coordinator finds the chains ([`crate::coordinator`]'s executor looks ahead in the
//! session's queue) and sends the chain as a [`Program`] in the call's `program` attribute;
//! the worker parses it again, trusting nothing.

use ndserve_proto::ops::elementwise::{self, Family, Plan};
use ndserve_proto::ops::{Call, Input};
use ndserve_proto::{Attr, Attrs, Error, Meta, Result};

/// The worker op that runs a fused chain.
pub const FUSED_OP: &str = "fused";
/// The attribute carrying the [`Program`].
pub const PROGRAM_ATTR: &str = "program";
/// The most ops one fused call runs.
pub const MAX_NODES: usize = 16;
/// The most inputs (arrays and scalars) one fused call reads.
pub const MAX_INPUTS: usize = 8;
/// Chains whose result has fewer elements run unfused: one pass over memory saves nothing
/// measurable there.
pub const MIN_ELEMENTS: usize = 1 << 16;

/// An operand of a fused node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// Input `k` of the fused call.
    Input(usize),
    /// The result of node `k` (an earlier one).
    Node(usize),
}

/// One elementwise op of a chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// The elementwise row's name.
    pub op: &'static str,
    /// Its operands.
    pub args: Vec<Arg>,
}

/// A chain of elementwise ops; the last node's result is the fused call's output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    /// The nodes, each reading inputs and earlier nodes.
    pub nodes: Vec<Node>,
}

fn arity(op: &str) -> Option<usize> {
    elementwise::row(op).map(|r| match r.family {
        Family::Unary | Family::UnaryReal | Family::UnaryPred => 1,
        Family::Binary | Family::Compare => 2,
    })
}

impl Program {
    /// The wire form: `multiply:i0,i1;add:n0,i2`.
    pub fn encode(&self) -> String {
        self.nodes
            .iter()
            .map(|n| {
                let args: Vec<String> = n
                    .args
                    .iter()
                    .map(|a| match a {
                        Arg::Input(k) => format!("i{k}"),
                        Arg::Node(k) => format!("n{k}"),
                    })
                    .collect();
                format!("{}:{}", n.op, args.join(","))
            })
            .collect::<Vec<_>>()
            .join(";")
    }

    /// Parses and checks a program for a call with `inputs` inputs: every op an
    /// elementwise row with its arity, every argument an input or an earlier node, every
    /// node but the last used.
    pub fn parse(s: &str, inputs: usize) -> Result<Program> {
        let bad = |m: String| Error::invalid(FUSED_OP, PROGRAM_ATTR, m);
        let mut nodes = Vec::new();
        for (j, part) in s.split(';').enumerate() {
            let (op, args) = part
                .split_once(':')
                .ok_or_else(|| bad(format!("node {j} '{part}' is not op:args")))?;
            let row = elementwise::row(op)
                .ok_or_else(|| bad(format!("node {j}: '{op}' is not an elementwise op")))?;
            let args = args
                .split(',')
                .map(|a| {
                    let (kind, k) = a.split_at(a.len().min(1));
                    let k: usize = k
                        .parse()
                        .map_err(|_| bad(format!("node {j}: argument '{a}'")))?;
                    match kind {
                        "i" if k < inputs => Ok(Arg::Input(k)),
                        "n" if k < j => Ok(Arg::Node(k)),
                        _ => Err(bad(format!(
                            "node {j}: argument '{a}' names nothing before it"
                        ))),
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            if Some(args.len()) != arity(op) {
                return Err(bad(format!(
                    "node {j}: {op} takes {:?} operands",
                    arity(op)
                )));
            }
            nodes.push(Node { op: row.name, args });
        }
        if nodes.is_empty() || nodes.len() > MAX_NODES {
            return Err(bad(format!("{} nodes (1 to {MAX_NODES})", nodes.len())));
        }
        for j in 0..nodes.len() - 1 {
            if !nodes[j + 1..]
                .iter()
                .any(|n| n.args.contains(&Arg::Node(j)))
            {
                return Err(bad(format!("node {j}'s result is never used")));
            }
        }
        Ok(Program { nodes })
    }

    /// The program of a fused call's attributes.
    pub fn from_attrs(attrs: &Attrs, inputs: usize) -> Result<Program> {
        match attrs.get(PROGRAM_ATTR) {
            Some(Attr::Str(s)) => Program::parse(s, inputs),
            _ => Err(Error::invalid(
                FUSED_OP,
                PROGRAM_ATTR,
                "a fused call needs its program",
            )),
        }
    }

    /// The attributes that carry this program.
    pub fn to_attrs(&self) -> Attrs {
        let mut a = Attrs::default();
        a.0.insert(PROGRAM_ATTR.to_string(), Attr::Str(self.encode()));
        a
    }

    /// Every node's plan (computation dtype and result) for inputs of these metas, each
    /// node planned as its op alone would be.
    pub fn plans(&self, inputs: &[Input]) -> Result<Vec<Plan>> {
        let mut out: Vec<Plan> = Vec::with_capacity(self.nodes.len());
        let none = Attrs::default();
        for n in &self.nodes {
            let args: Vec<Input> = n
                .args
                .iter()
                .map(|a| match a {
                    Arg::Input(k) => inputs[*k].clone(),
                    Arg::Node(k) => Input::Array(out[*k].out.clone()),
                })
                .collect();
            out.push(elementwise::plan(&Call {
                op: n.op,
                inputs: &args,
                attrs: &none,
            })?);
        }
        Ok(out)
    }

    /// Every node's result meta (as [`Program::plans`]).
    pub fn metas(&self, inputs: &[Input]) -> Result<Vec<Meta>> {
        Ok(self.plans(inputs)?.into_iter().map(|p| p.out).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndserve_proto::{DType, ErrorCode, Scalar};

    #[test]
    fn programs_round_trip_and_bad_ones_are_refused() {
        let p = Program {
            nodes: vec![
                Node {
                    op: "multiply",
                    args: vec![Arg::Input(0), Arg::Input(1)],
                },
                Node {
                    op: "add",
                    args: vec![Arg::Node(0), Arg::Input(2)],
                },
            ],
        };
        assert_eq!(p.encode(), "multiply:i0,i1;add:n0,i2");
        assert_eq!(Program::parse(&p.encode(), 3).unwrap(), p);
        for bad in [
            "",
            "multiply:i0",              // arity
            "multiply:i0,i9",           // no such input
            "add:n0,i1",                // no earlier node
            "sum:i0",                   // not elementwise
            "negative:i0;negative:i0",  // node 0 unused
            "multiply:i0,i1;add:n0,x2", // bad argument
            "exp",                      // no args
        ] {
            let e = Program::parse(bad, 3).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidArgument, "{bad}");
        }
        let metas = p
            .metas(&[
                Input::Array(Meta::new(DType::Float32, vec![4])),
                Input::Array(Meta::new(DType::Float32, vec![4])),
                Input::Scalar(Scalar::Float(1.5)),
            ])
            .unwrap();
        assert_eq!(metas[1], Meta::new(DType::Float32, vec![4]));
    }
}
