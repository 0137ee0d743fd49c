//! Statistics, cumulative and sorting ops: `var`, `std`, `ptp`, the `nan*` reductions,
//! `count_nonzero`, `average`, `median`, `quantile`/`percentile`, `cumsum`/`cumprod`,
//! `diff`, `sort`/`argsort`, `partition`/`argpartition`, `searchsorted` and `isin`.
//!
//! Each op's dtype/shape rule lives here once, in [`stats_plan`]; the server's kernels
//! call the same function to learn the axes and dtypes they compute with.

use super::DataDependence;
use crate::dtype::{DType, Operand, promote_types, result_type};
use crate::error::{Error, Result};
use crate::ops::{Call, Meta, OpDef, Param, arr, attr};
use crate::shape::{normalize_axes, normalize_axis};

/// The family an op of this module belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatKind {
    /// `var`/`std`/`nanvar`/`nanstd`: real float result, `ddof`.
    Moment,
    /// `ptp`: the input dtype.
    Ptp,
    /// `nansum`/`nanprod`: as `sum`/`prod`.
    NanAccumulate,
    /// `nanmean`: as `mean`.
    NanMean,
    /// `nanmin`/`nanmax`: the input dtype.
    NanExtreme,
    /// `count_nonzero`: int64.
    CountNonzero,
    /// `average`: `(avg, sum_of_weights)`.
    Average,
    /// `median`/`quantile`/`percentile`/`nanmedian`: float results.
    Quantile,
    /// `cumsum`/`cumprod`.
    Cumulative,
    /// `diff`.
    Diff,
    /// `sort`/`partition`.
    Sort,
    /// `argsort`/`argpartition`.
    ArgSort,
    /// `searchsorted`.
    SearchSorted,
    /// `isin`.
    IsIn,
}

const MOMENT: &[Param] = &[
    arr("a"),
    attr("axis"),
    attr("dtype"),
    attr("out"),
    attr("ddof"),
    attr("keepdims"),
];
const ACC: &[Param] = &[
    arr("a"),
    attr("axis"),
    attr("dtype"),
    attr("out"),
    attr("keepdims"),
];
const EXT: &[Param] = &[arr("a"), attr("axis"), attr("out"), attr("keepdims")];

/// The ops of this module: (name, kind, parameters, summary).
pub const STATS: &[(&str, StatKind, &[Param], &str)] = &[
    (
        "var",
        StatKind::Moment,
        MOMENT,
        "Variance over the given axes (np.var).",
    ),
    (
        "std",
        StatKind::Moment,
        MOMENT,
        "Standard deviation over the given axes (np.std).",
    ),
    (
        "nanvar",
        StatKind::Moment,
        MOMENT,
        "Variance ignoring NaNs (np.nanvar).",
    ),
    (
        "nanstd",
        StatKind::Moment,
        MOMENT,
        "Standard deviation ignoring NaNs (np.nanstd).",
    ),
    (
        "ptp",
        StatKind::Ptp,
        EXT,
        "Range (maximum - minimum) over the given axes (np.ptp).",
    ),
    (
        "nansum",
        StatKind::NanAccumulate,
        ACC,
        "Sum treating NaNs as zero (np.nansum).",
    ),
    (
        "nanprod",
        StatKind::NanAccumulate,
        ACC,
        "Product treating NaNs as one (np.nanprod).",
    ),
    (
        "nanmean",
        StatKind::NanMean,
        ACC,
        "Mean ignoring NaNs (np.nanmean).",
    ),
    (
        "nanmax",
        StatKind::NanExtreme,
        EXT,
        "Maximum ignoring NaNs (np.nanmax).",
    ),
    (
        "nanmin",
        StatKind::NanExtreme,
        EXT,
        "Minimum ignoring NaNs (np.nanmin).",
    ),
    (
        "count_nonzero",
        StatKind::CountNonzero,
        &[arr("a"), attr("axis"), attr("keepdims")],
        "Number of nonzero elements over the given axes (np.count_nonzero).",
    ),
    (
        "average",
        StatKind::Average,
        &[
            arr("a"),
            attr("axis"),
            arr("weights"),
            attr("returned"),
            attr("keepdims"),
        ],
        "Weighted average, and the sum of the weights (np.average).",
    ),
    (
        "median",
        StatKind::Quantile,
        &[
            arr("a"),
            attr("axis"),
            attr("out"),
            attr("overwrite_input"),
            attr("keepdims"),
        ],
        "Median over the given axes (np.median).",
    ),
    (
        "quantile",
        StatKind::Quantile,
        &[
            arr("a"),
            arr("q"),
            attr("axis"),
            attr("out"),
            attr("overwrite_input"),
            attr("method"),
            attr("keepdims"),
        ],
        "q-th quantiles over the given axes, linear method (np.quantile).",
    ),
    (
        "percentile",
        StatKind::Quantile,
        &[
            arr("a"),
            arr("q"),
            attr("axis"),
            attr("out"),
            attr("overwrite_input"),
            attr("method"),
            attr("keepdims"),
        ],
        "q-th percentiles over the given axes, linear method (np.percentile).",
    ),
    (
        "cumsum",
        StatKind::Cumulative,
        &[arr("a"), attr("axis"), attr("dtype"), attr("out")],
        "Cumulative sum along an axis; axis None flattens (np.cumsum).",
    ),
    (
        "cumprod",
        StatKind::Cumulative,
        &[arr("a"), attr("axis"), attr("dtype"), attr("out")],
        "Cumulative product along an axis; axis None flattens (np.cumprod).",
    ),
    (
        "diff",
        StatKind::Diff,
        &[
            arr("a"),
            attr("n"),
            attr("axis"),
            attr("prepend"),
            attr("append"),
        ],
        "n-th discrete difference along an axis (np.diff).",
    ),
    (
        "sort",
        StatKind::Sort,
        &[
            arr("a"),
            attr("axis"),
            attr("kind"),
            attr("order"),
            attr("stable"),
        ],
        "Sorted copy along an axis, NaNs last; axis None flattens (np.sort).",
    ),
    (
        "argsort",
        StatKind::ArgSort,
        &[
            arr("a"),
            attr("axis"),
            attr("kind"),
            attr("order"),
            attr("stable"),
        ],
        "Indices that sort along an axis, stably (np.argsort).",
    ),
    (
        "partition",
        StatKind::Sort,
        &[
            arr("a"),
            attr("kth"),
            attr("axis"),
            attr("kind"),
            attr("order"),
        ],
        "Partitioned copy: the kth element in its sorted place (np.partition; fully sorted).",
    ),
    (
        "argpartition",
        StatKind::ArgSort,
        &[
            arr("a"),
            attr("kth"),
            attr("axis"),
            attr("kind"),
            attr("order"),
        ],
        "Indices that partition along an axis (np.argpartition; a stable full sort).",
    ),
    (
        "searchsorted",
        StatKind::SearchSorted,
        &[arr("a"), arr("v"), attr("side"), attr("sorter")],
        "Insertion indices of v into the sorted 1-D a (np.searchsorted).",
    ),
    (
        "isin",
        StatKind::IsIn,
        &[
            arr("element"),
            arr("test_elements"),
            attr("assume_unique"),
            attr("invert"),
            attr("kind"),
        ],
        "Whether each element is in test_elements (np.isin).",
    ),
];

pub(crate) fn defs() -> Vec<OpDef> {
    STATS
        .iter()
        .map(|&(name, _, params, summary)| OpDef {
            name,
            params,
            summary,
            infer: |c| Ok(stats_plan(c)?.outs),
            data_dependent: DataDependence::Never,
        })
        .collect()
}

/// What the server needs to run one of these ops.
#[derive(Clone, Debug, PartialEq)]
pub struct StatsPlan {
    /// The family.
    pub kind: StatKind,
    /// Axes the op works over (sorted; one axis for cumulative, diff and sort; all axes,
    /// of the flattened input, when `flatten`).
    pub axes: Vec<usize>,
    /// Axis None: the input is flattened first (cumulative, sort).
    pub flatten: bool,
    /// `ddof` of the moments, `n` of `diff`.
    pub n: i64,
    /// The dtype the kernel computes in (the first output's, for most).
    pub compute: DType,
    /// The results.
    pub outs: Vec<Meta>,
}

fn reduced_shape(shape: &[usize], axes: &[usize], keepdims: bool) -> Vec<usize> {
    let mut out = Vec::with_capacity(shape.len());
    for (i, &d) in shape.iter().enumerate() {
        if !axes.contains(&i) {
            out.push(d);
        } else if keepdims {
            out.push(1);
        }
    }
    out
}

fn one_axis(call: &Call<'_>, ndim: usize, default: Option<i64>) -> Result<Option<usize>> {
    let op = call.op;
    // `Attrs::get` reads an explicit `axis=None` as absent; `check_known` without "axis"
    // tells whether the name was given at all.
    let others: Vec<&str> = STATS
        .iter()
        .filter(|r| r.0 == op)
        .flat_map(|r| r.2.iter().map(|p| p.name))
        .filter(|&n| n != "axis")
        .collect();
    let given = call.attrs.check_known(op, &others).is_err();
    let ax = match call.attrs.ints(op, "axis")? {
        None if given => None,
        None => default,
        Some(v) if v.len() == 1 => Some(v[0]),
        Some(_) => {
            return Err(Error::invalid(
                op,
                "axis",
                "axis must be an integer or None",
            ));
        }
    };
    ax.map(|a| normalize_axis(op, a, ndim)).transpose()
}

/// The float dtype `mean`-like statistics give for `d`.
fn float_of(d: DType) -> DType {
    if d.is_inexact() { d } else { DType::Float64 }
}

/// Plans a call of any op of this module.
pub fn stats_plan(call: &Call<'_>) -> Result<StatsPlan> {
    let op = call.op;
    let &(_, kind, params, _) = STATS
        .iter()
        .find(|r| r.0 == op)
        .ok_or_else(|| Error::UnknownOp { op: op.into() })?;
    let known: Vec<&str> = params
        .iter()
        .filter(|p| p.kind == crate::ops::ParamKind::Attr)
        .map(|p| p.name)
        .collect();
    call.attrs.check_known(op, &known)?;
    call.no_out()?;
    let a = call.array(0, "a")?;
    let keepdims = call.attrs.bool_or(op, "keepdims", false)?;
    let dtype_attr = call.attrs.dtype(op, "dtype")?;
    let mut plan = StatsPlan {
        kind,
        axes: vec![],
        flatten: false,
        n: 0,
        compute: a.dtype,
        outs: vec![],
    };
    let reduce_axes = || normalize_axes(op, call.attrs.ints(op, "axis")?.as_deref(), a.ndim());
    match kind {
        StatKind::Moment
        | StatKind::Ptp
        | StatKind::NanAccumulate
        | StatKind::NanMean
        | StatKind::NanExtreme
        | StatKind::CountNonzero => {
            call.expect_inputs(1)?;
            let axes = reduce_axes()?;
            let shape = reduced_shape(&a.shape, &axes, keepdims);
            let reduced: usize = axes.iter().map(|&i| a.shape[i]).product();
            let out_dtype = match kind {
                StatKind::Moment => {
                    plan.n = call.attrs.int_or(op, "ddof", 0)?;
                    let d = dtype_attr.unwrap_or(float_of(a.dtype).real());
                    if !d.is_inexact() {
                        return Err(Error::invalid(op, "dtype", "dtype must be a float dtype"));
                    }
                    d
                }
                StatKind::Ptp | StatKind::NanExtreme => {
                    if kind == StatKind::Ptp && a.dtype == DType::Bool {
                        return Err(Error::invalid(
                            op,
                            "a",
                            "numpy boolean subtract, the `-` operator, is not supported",
                        ));
                    }
                    if reduced == 0 && shape.iter().product::<usize>() > 0 {
                        return Err(Error::invalid(
                            op,
                            "a",
                            "zero-size array to reduction operation which has no identity",
                        ));
                    }
                    a.dtype
                }
                StatKind::NanAccumulate => dtype_attr.unwrap_or(a.dtype.sum_dtype()),
                StatKind::NanMean => dtype_attr.unwrap_or(float_of(a.dtype)),
                _ => DType::Int64,
            };
            plan.axes = axes;
            plan.compute = out_dtype;
            plan.outs = vec![Meta::new(out_dtype, shape)];
        }
        StatKind::Average => {
            let axes = reduce_axes()?;
            let returned = call.attrs.bool_or(op, "returned", false)?;
            let shape = reduced_shape(&a.shape, &axes, keepdims);
            let d = match call.inputs.len() {
                1 => float_of(a.dtype),
                2 => {
                    let w = call.array(1, "weights")?;
                    if w.shape != a.shape {
                        let ok = axes.len() == 1
                            && call.attrs.get("axis").is_some()
                            && w.ndim() == 1
                            && w.shape[0] == a.shape[axes[0]];
                        if !ok {
                            return Err(Error::invalid(
                                op,
                                "weights",
                                "weights must have the shape of a, or be 1-D along one given axis",
                            ));
                        }
                    }
                    let mut d = promote_types(a.dtype, w.dtype);
                    if !a.dtype.is_inexact() {
                        d = promote_types(d, DType::Float64);
                    }
                    d
                }
                n => {
                    return Err(Error::invalid(
                        op,
                        "inputs",
                        format!("takes 1 or 2 arrays, got {n}"),
                    ));
                }
            };
            plan.axes = axes;
            plan.compute = d;
            plan.outs = vec![Meta::new(d, shape.clone())];
            if returned {
                plan.outs.push(Meta::new(d, shape));
            }
        }
        StatKind::Quantile => {
            let axes = reduce_axes()?;
            if let Some(m) = call.attrs.str(op, "method")?
                && m != "linear"
            {
                return Err(Error::invalid(
                    op,
                    "method",
                    "only method='linear' is supported",
                ));
            }
            if a.dtype.is_complex() {
                return Err(Error::invalid(op, "a", "a must be real"));
            }
            let mut shape = reduced_shape(&a.shape, &axes, keepdims);
            let mut d = float_of(a.dtype);
            if op != "median" {
                call.expect_inputs(2)?;
                let q = call.input(1, "q")?;
                let qm = q.as_array();
                if qm.dtype.is_complex() {
                    return Err(Error::invalid(op, "q", "q must be real"));
                }
                let mut s = qm.shape.to_vec();
                s.extend(shape);
                shape = s;
                d = result_type(&[Operand::Array(d), q.operand()]).unwrap_or(d);
                if !d.is_inexact() {
                    d = DType::Float64;
                }
            } else {
                call.expect_inputs(1)?;
            }
            if axes.iter().map(|&i| a.shape[i]).product::<usize>() == 0
                && !shape.is_empty()
                && shape.iter().product::<usize>() > 0
            {
                // NumPy answers NaN for an empty median; quantile raises.
                if op != "median" {
                    return Err(Error::invalid(
                        op,
                        "a",
                        "cannot take a quantile of an empty array",
                    ));
                }
            }
            plan.axes = axes;
            plan.compute = d;
            plan.outs = vec![Meta::new(d, shape)];
        }
        StatKind::Cumulative => {
            call.expect_inputs(1)?;
            let d = dtype_attr.unwrap_or(a.dtype.sum_dtype());
            match one_axis(call, a.ndim(), None)? {
                None => {
                    plan.flatten = true;
                    plan.axes = vec![0];
                    plan.outs = vec![Meta::new(d, vec![a.numel()])];
                }
                Some(ax) => {
                    plan.axes = vec![ax];
                    plan.outs = vec![Meta::new(d, a.shape.clone())];
                }
            }
            plan.compute = d;
        }
        StatKind::Diff => {
            call.expect_inputs(1)?;
            let n = call.attrs.int_or(op, "n", 1)?;
            if n < 0 {
                return Err(Error::invalid(
                    op,
                    "n",
                    format!("order must be non-negative but got {n}"),
                ));
            }
            if a.ndim() == 0 {
                return Err(Error::invalid(
                    op,
                    "a",
                    "diff requires input that is at least one dimensional",
                ));
            }
            let ax = one_axis(call, a.ndim(), Some(-1))?
                .ok_or_else(|| Error::invalid(op, "axis", "axis must be an integer"))?;
            let mut d = a.dtype;
            let mut len = a.shape[ax];
            for name in ["prepend", "append"] {
                if let Some(s) = call.attrs.scalar(op, name)? {
                    d = promote_types(d, crate::ops::scalar_dtype(&s));
                    if n > 0 {
                        len += 1;
                    }
                }
            }
            let mut shape = a.shape.clone();
            shape[ax] = len.saturating_sub(n as usize);
            if n == 0 {
                shape = a.shape.clone();
                d = a.dtype;
            }
            plan.axes = vec![ax];
            plan.n = n;
            plan.compute = d;
            plan.outs = vec![Meta::new(d, shape)];
        }
        StatKind::Sort | StatKind::ArgSort => {
            call.expect_inputs(1)?;
            if let Some(k) = call.attrs.str(op, "kind")?
                && ![
                    "quicksort",
                    "mergesort",
                    "heapsort",
                    "stable",
                    "introselect",
                ]
                .contains(&k)
            {
                return Err(Error::invalid(
                    op,
                    "kind",
                    format!("sort kind must be one of 'quick', 'heap', or 'stable' (got '{k}')"),
                ));
            }
            match call.attrs.get("order") {
                None | Some(crate::attrs::Attr::None) => {}
                Some(_) => {
                    return Err(Error::invalid(
                        op,
                        "order",
                        "order is only for structured arrays",
                    ));
                }
            }
            let partition = op.contains("partition");
            let arg = kind == StatKind::ArgSort;
            let ax = if arg && a.ndim() == 0 {
                plan.flatten = true;
                0
            } else {
                match one_axis(call, a.ndim(), Some(-1))? {
                    None => {
                        plan.flatten = true;
                        0
                    }
                    Some(ax) => ax,
                }
            };
            let shape = if plan.flatten {
                vec![a.numel()]
            } else {
                a.shape.clone()
            };
            if partition {
                let kth = call
                    .attrs
                    .ints(op, "kth")?
                    .ok_or_else(|| Error::invalid(op, "kth", "missing required argument 'kth'"))?;
                let len = shape[ax] as i64;
                for k in kth {
                    if k >= len || k < -len {
                        return Err(Error::invalid(
                            op,
                            "kth",
                            format!("kth(={k}) out of bounds ({len})"),
                        ));
                    }
                }
            }
            plan.axes = vec![ax];
            let d = if arg { DType::Int64 } else { a.dtype };
            plan.outs = vec![Meta::new(d, shape)];
        }
        StatKind::SearchSorted => {
            call.expect_inputs(2)?;
            if a.ndim() != 1 {
                return Err(Error::invalid(op, "a", "a must be 1-D"));
            }
            if let Some(s) = call.attrs.str(op, "side")?
                && s != "left"
                && s != "right"
            {
                return Err(Error::invalid(
                    op,
                    "side",
                    format!("side must be 'left' or 'right' (got '{s}')"),
                ));
            }
            if !matches!(
                call.attrs.get("sorter"),
                None | Some(crate::attrs::Attr::None)
            ) {
                return Err(Error::invalid(op, "sorter", "sorter is not supported"));
            }
            let v = call.input(1, "v")?;
            plan.compute = result_type(&[Operand::Array(a.dtype), v.operand()]).unwrap_or(a.dtype);
            plan.outs = vec![Meta::new(DType::Int64, v.shape().to_vec())];
        }
        StatKind::IsIn => {
            call.expect_inputs(2)?;
            let t = call.input(1, "test_elements")?;
            plan.compute = result_type(&[call.inputs[0].operand(), t.operand()]).unwrap_or(a.dtype);
            plan.outs = vec![Meta::new(DType::Bool, a.shape.clone())];
        }
    }
    Ok(plan)
}
