//! Reductions: `sum`, `prod`, `mean`, `max`/`amax`, `min`/`amin`, `all`, `any`, `argmax`,
//! `argmin`, with NumPy's `axis` (None, int, tuple, negative) and `keepdims`.

use super::DataDependence;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::ops::{Call, Meta, OpDef, Param, arr, attr};
use crate::shape::{normalize_axes, normalize_axis};

/// How a reduction chooses its result dtype.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceKind {
    /// `sum`/`prod`: small integers and bool widen to 64 bits; `dtype=` overrides.
    Accumulate,
    /// `mean`: integers and bool give float64; `dtype=` overrides.
    Mean,
    /// `max`/`min`: the input dtype; no identity, so empty reductions fail.
    Extreme,
    /// `all`/`any`: bool.
    Truth,
    /// `argmax`/`argmin`: int64 indices along one axis.
    Arg,
}

/// The reduction ops: (name, kind, NumPy name of the ufunc for messages, summary).
pub const REDUCTIONS: &[(&str, ReduceKind, &str, &str)] = &[
    (
        "sum",
        ReduceKind::Accumulate,
        "add",
        "Sum of array elements over the given axes (np.sum).",
    ),
    (
        "prod",
        ReduceKind::Accumulate,
        "multiply",
        "Product of array elements over the given axes (np.prod).",
    ),
    (
        "mean",
        ReduceKind::Mean,
        "add",
        "Arithmetic mean over the given axes (np.mean).",
    ),
    (
        "max",
        ReduceKind::Extreme,
        "maximum",
        "Maximum over the given axes, propagating NaNs (np.max).",
    ),
    (
        "amax",
        ReduceKind::Extreme,
        "maximum",
        "Maximum over the given axes, propagating NaNs (np.amax).",
    ),
    (
        "min",
        ReduceKind::Extreme,
        "minimum",
        "Minimum over the given axes, propagating NaNs (np.min).",
    ),
    (
        "amin",
        ReduceKind::Extreme,
        "minimum",
        "Minimum over the given axes, propagating NaNs (np.amin).",
    ),
    (
        "all",
        ReduceKind::Truth,
        "logical_and",
        "Whether all elements over the given axes are true (np.all).",
    ),
    (
        "any",
        ReduceKind::Truth,
        "logical_or",
        "Whether any element over the given axes is true (np.any).",
    ),
    (
        "argmax",
        ReduceKind::Arg,
        "argmax",
        "Indices of the first maximum along an axis (np.argmax).",
    ),
    (
        "argmin",
        ReduceKind::Arg,
        "argmin",
        "Indices of the first minimum along an axis (np.argmin).",
    ),
];

const ACC_PARAMS: &[Param] = &[
    arr("a"),
    attr("axis"),
    attr("dtype"),
    attr("out"),
    attr("keepdims"),
];
const EXT_PARAMS: &[Param] = &[arr("a"), attr("axis"), attr("out"), attr("keepdims")];

pub(crate) fn defs() -> Vec<OpDef> {
    REDUCTIONS
        .iter()
        .map(|&(name, kind, _, summary)| OpDef {
            name,
            params: match kind {
                ReduceKind::Accumulate | ReduceKind::Mean => ACC_PARAMS,
                _ => EXT_PARAMS,
            },
            summary,
            infer: |c| Ok(vec![plan(c)?.out]),
            data_dependent: DataDependence::Never,
        })
        .collect()
}

/// What the server needs to run a reduction.
#[derive(Clone, Debug, PartialEq)]
pub struct ReducePlan {
    /// The kind.
    pub kind: ReduceKind,
    /// The input is cast to this dtype before reducing.
    pub compute: DType,
    /// Reduced axes, sorted, normalised.
    pub axes: Vec<usize>,
    /// Keep reduced axes as length 1.
    pub keepdims: bool,
    /// The result.
    pub out: Meta,
}

/// Plans a reduction call.
pub fn plan(call: &Call<'_>) -> Result<ReducePlan> {
    let op = call.op;
    let &(_, kind, ufunc, _) = REDUCTIONS
        .iter()
        .find(|r| r.0 == op)
        .ok_or_else(|| Error::UnknownOp { op: op.into() })?;
    call.expect_inputs(1)?;
    let known: &[&str] = match kind {
        ReduceKind::Accumulate | ReduceKind::Mean => &["axis", "dtype", "out", "keepdims"],
        _ => &["axis", "out", "keepdims"],
    };
    call.attrs.check_known(op, known)?;
    if call.attrs.get("out").is_some() {
        return Err(Error::invalid(
            op,
            "out",
            "out= is not supported: arrays are immutable",
        ));
    }
    let a = call.array(0, "a")?;
    let keepdims = call.attrs.bool_or(op, "keepdims", false)?;
    let axes = match kind {
        ReduceKind::Arg => match call.attrs.ints(op, "axis")? {
            None => (0..a.ndim()).collect(),
            Some(v) if v.len() == 1 => vec![normalize_axis(op, v[0], a.ndim())?],
            Some(_) => {
                return Err(Error::invalid(
                    op,
                    "axis",
                    "axis must be an integer or None",
                ));
            }
        },
        _ => normalize_axes(op, call.attrs.ints(op, "axis")?.as_deref(), a.ndim())?,
    };
    let arg_flat = kind == ReduceKind::Arg && call.attrs.get("axis").is_none();
    let dtype_attr = call.attrs.dtype(op, "dtype")?;
    let (compute, out_dtype) = match kind {
        ReduceKind::Accumulate => {
            let d = dtype_attr.unwrap_or(a.dtype.sum_dtype());
            (d, d)
        }
        ReduceKind::Mean => {
            let d = dtype_attr.unwrap_or(if a.dtype.is_inexact() {
                a.dtype
            } else {
                DType::Float64
            });
            (d, d)
        }
        ReduceKind::Extreme => (a.dtype, a.dtype),
        ReduceKind::Truth => (a.dtype, DType::Bool),
        ReduceKind::Arg => (a.dtype, DType::Int64),
    };
    let mut shape = Vec::with_capacity(a.ndim());
    for (i, &d) in a.shape.iter().enumerate() {
        if !axes.contains(&i) {
            shape.push(d);
        } else if keepdims {
            shape.push(1);
        }
    }
    if arg_flat && keepdims {
        shape = vec![1; a.ndim()];
    }
    let reduced: usize = axes.iter().map(|&i| a.shape[i]).product();
    let out_numel: usize = shape.iter().product();
    if reduced == 0 && out_numel > 0 {
        match kind {
            ReduceKind::Extreme => {
                return Err(Error::invalid(
                    op,
                    "a",
                    format!("zero-size array to reduction operation {ufunc} which has no identity"),
                ));
            }
            ReduceKind::Arg => {
                return Err(Error::invalid(
                    op,
                    "a",
                    format!("attempt to get {ufunc} of an empty sequence"),
                ));
            }
            _ => {}
        }
    }
    Ok(ReducePlan {
        kind,
        compute,
        axes,
        keepdims,
        out: Meta::new(out_dtype, shape),
    })
}
