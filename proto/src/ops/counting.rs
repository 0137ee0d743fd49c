//! Ops that count values: `unique` (with first indices, inverse and counts), `histogram`
//! and `bincount`.
//!
//! `unique`'s result length is the number of distinct values: a data-dependent shape.
//! `infer` gives its upper bound (every element distinct); the kernel returns the actual
//! length. `histogram`'s shape follows from `bins`. `bincount`'s length, `max(x) + 1`, has
//! no bound a server could reserve memory for ahead of the data, so on the wire it takes
//! the length as the `length` attribute (at least `max(x) + 1`, checked by the kernel);
//! the SDK's `Array::bincount` reads `max(x)` first and passes it.

use super::DataDependence;
use crate::attrs::Attr;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::ops::{Call, Input, Meta, OpDef, arr, arr_or, attr};
use crate::params;
use crate::scalar::Scalar;

pub(crate) fn defs() -> Vec<OpDef> {
    vec![
        OpDef {
            name: "unique",
            params: params![
                arr("ar"),
                attr("return_index"),
                attr("return_inverse"),
                attr("return_counts"),
                attr("axis"),
                attr("equal_nan"),
                attr("sorted")
            ],
            summary: "The sorted distinct values of the flattened array, with first indices, inverse and counts on request (np.unique).",
            infer: |c| Ok(unique_plan(c)?.outs),
            data_dependent: DataDependence::Always,
        },
        OpDef {
            name: "histogram",
            params: params![
                arr("a"),
                arr_or("bins", Scalar::Int(10)),
                attr("range"),
                attr("density"),
                arr("weights")
            ],
            summary: "Counts (or weight sums, or densities) of the values in bins given by a count or by edges (np.histogram).",
            infer: |c| Ok(histogram_plan(c)?.outs),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "bincount",
            params: params![arr("x"), arr("weights"), attr("minlength"), attr("length")],
            summary: "Occurrences (or weight sums) of each non-negative integer; the wire takes length = max(x) + 1 (np.bincount).",
            infer: |c| Ok(vec![bincount_plan(c)?.out]),
            data_dependent: DataDependence::Never,
        },
    ]
}

/// How `histogram`'s bins are given.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bins {
    /// `n` equal-width bins over `range` (or the data's min and max).
    Count(usize),
    /// The bin edges: the `bins` input, increasing.
    Edges,
}

/// `histogram` resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramPlan {
    /// The bins.
    pub bins: Bins,
    /// The range of equal-width bins, when given.
    pub range: Option<(f64, f64)>,
    /// Return densities (float64) rather than counts.
    pub density: bool,
    /// Whether a `weights` input is given (the third input).
    pub weighted: bool,
    /// The edges' dtype.
    pub edge_dtype: DType,
    /// The dtype values and edges are compared in (the edges' for equal-width bins, else
    /// the promotion of the data's and the edges').
    pub compare_dtype: DType,
    /// The counts and the edges.
    pub outs: Vec<Meta>,
}

/// Resolves `histogram`.
pub fn histogram_plan(c: &Call<'_>) -> Result<HistogramPlan> {
    let op = c.op;
    c.attrs.check_known(op, &["range", "density"])?;
    if !(2..=3).contains(&c.inputs.len()) {
        return Err(Error::invalid(
            op,
            "a",
            "takes a, bins and optional weights",
        ));
    }
    let a = c.array(0, "a")?;
    if a.dtype.is_complex() {
        return Err(Error::invalid(
            op,
            "a",
            "histogram of complex values is not supported (NumPy bins their real parts)",
        ));
    }
    let density = matches!(c.attrs.get("density"), Some(Attr::Bool(true)));
    let range = match c.attrs.floats(op, "range")? {
        None => None,
        Some(r) if r.len() == 2 => {
            let (lo, hi) = (r[0], r[1]);
            if lo > hi {
                return Err(Error::invalid(
                    op,
                    "range",
                    "max must be larger than min in range parameter.",
                ));
            }
            if !(lo.is_finite() && hi.is_finite()) {
                return Err(Error::invalid(
                    op,
                    "range",
                    format!("supplied range of [{lo}, {hi}] is not finite"),
                ));
            }
            Some((lo, hi))
        }
        Some(_) => return Err(Error::invalid(op, "range", "range must be (min, max)")),
    };
    let (bins, edge_dtype, n) = match c.input(1, "bins")? {
        Input::Scalar(Scalar::Int(n)) if *n < 1 => {
            return Err(Error::invalid(
                op,
                "bins",
                "`bins` must be positive, when an integer",
            ));
        }
        Input::Scalar(Scalar::Int(n)) => {
            let n = usize::try_from(*n).map_err(|_| Error::invalid(op, "bins", "too many bins"))?;
            // NumPy's bin_type: the data's float dtype, float64 for integers and bools.
            let dt = if a.dtype.is_float() {
                a.dtype
            } else {
                DType::Float64
            };
            (Bins::Count(n), dt, n)
        }
        Input::Scalar(_) => {
            return Err(Error::invalid(
                op,
                "bins",
                "`bins` must be an integer, a string, or an array",
            ));
        }
        Input::Array(e) if e.ndim() != 1 => {
            return Err(Error::invalid(
                op,
                "bins",
                "`bins` must be 1d, when an array",
            ));
        }
        Input::Array(e) => (Bins::Edges, e.dtype, e.shape[0].saturating_sub(1)),
    };
    let compare_dtype = match bins {
        Bins::Count(_) => edge_dtype,
        Bins::Edges => crate::dtype::promote_types(a.dtype, edge_dtype),
    };
    let weighted = c.inputs.len() == 3;
    let hist_dtype = if density {
        DType::Float64
    } else if weighted {
        let w = c.array(2, "weights")?;
        if w.shape != a.shape {
            return Err(Error::invalid(
                op,
                "weights",
                "weights should have the same shape as a.",
            ));
        }
        if w.dtype.is_complex() {
            return Err(Error::invalid(
                op,
                "weights",
                "complex weights are not supported",
            ));
        }
        w.dtype
    } else {
        DType::Int64
    };
    let edges_len = match bins {
        Bins::Count(n) => n + 1,
        Bins::Edges => c.array(1, "bins")?.shape[0],
    };
    Ok(HistogramPlan {
        bins,
        range,
        density,
        weighted,
        edge_dtype,
        compare_dtype,
        outs: vec![
            Meta::new(hist_dtype, vec![n]),
            Meta::new(edge_dtype, vec![edges_len]),
        ],
    })
}

/// `bincount` resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct BincountPlan {
    /// The number of bins (`length` on the wire).
    pub length: usize,
    /// Whether a `weights` input is given (the second input).
    pub weighted: bool,
    /// The counts (int64) or weight sums (float64).
    pub out: Meta,
}

/// Resolves `bincount`.
pub fn bincount_plan(c: &Call<'_>) -> Result<BincountPlan> {
    let op = c.op;
    c.attrs.check_known(op, &["minlength", "length"])?;
    if !(1..=2).contains(&c.inputs.len()) {
        return Err(Error::invalid(op, "x", "takes x and optional weights"));
    }
    let x = c.array(0, "x")?;
    if !(x.dtype.is_integer() || x.dtype.is_bool()) {
        return Err(Error::invalid(
            op,
            "x",
            format!(
                "Cannot cast array data from dtype('{}') to dtype('int64') according to the rule 'safe'",
                x.dtype
            ),
        ));
    }
    if x.ndim() != 1 {
        return Err(Error::invalid(
            op,
            "x",
            if x.ndim() == 0 {
                "object of too small depth for desired array"
            } else {
                "object too deep for desired array"
            },
        ));
    }
    let minlength = match c.attrs.get("minlength") {
        None | Some(Attr::None) => 0,
        _ => c.attrs.int_or(op, "minlength", 0)?,
    };
    if minlength < 0 {
        return Err(Error::invalid(
            op,
            "minlength",
            "'minlength' must not be negative",
        ));
    }
    let length = c.attrs.int(op, "length")?.ok_or_else(|| {
        Error::invalid(
            op,
            "length",
            "bincount's result length depends on the data: pass length = max(max(x) + 1, minlength) (the SDK's Array::bincount does)",
        )
    })?;
    if length < minlength {
        return Err(Error::invalid(
            op,
            "length",
            "length must be at least minlength",
        ));
    }
    let weighted = c.inputs.len() == 2;
    if weighted {
        let w = c.array(1, "weights")?;
        if w.shape != x.shape {
            return Err(Error::invalid(
                op,
                "weights",
                "The weights and list don't have the same length.",
            ));
        }
    }
    // NumPy answers an empty x with int64 zeros, weights or not.
    let dtype = if weighted && x.numel() > 0 {
        DType::Float64
    } else {
        DType::Int64
    };
    Ok(BincountPlan {
        length: length as usize,
        weighted,
        out: Meta::new(dtype, vec![length as usize]),
    })
}

/// `unique` resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct UniquePlan {
    /// Return the index of each value's first occurrence.
    pub index: bool,
    /// Return, for every element, the index of its value (in the input's shape).
    pub inverse: bool,
    /// Return each value's number of occurrences.
    pub counts: bool,
    /// All NaNs count as one value (NumPy's default).
    pub equal_nan: bool,
    /// The outputs at their largest: values, then index, inverse, counts as requested.
    pub outs: Vec<Meta>,
}

/// Resolves `unique`.
pub fn unique_plan(c: &Call<'_>) -> Result<UniquePlan> {
    let op = c.op;
    c.expect_inputs(1)?;
    c.attrs.check_known(
        op,
        &[
            "return_index",
            "return_inverse",
            "return_counts",
            "axis",
            "equal_nan",
            "sorted",
        ],
    )?;
    match c.attrs.get("axis") {
        None | Some(Attr::None) => {}
        Some(_) => {
            return Err(Error::invalid(
                op,
                "axis",
                "unique along an axis (unique sub-arrays) is not supported; ndserve's unique flattens (axis=None)",
            ));
        }
    }
    let a = c.array(0, "ar")?;
    let n = a.numel();
    let index = c.attrs.bool_or(op, "return_index", false)?;
    let inverse = c.attrs.bool_or(op, "return_inverse", false)?;
    let counts = c.attrs.bool_or(op, "return_counts", false)?;
    // sorted=False lets NumPy return any order; ndserve's is always sorted.
    c.attrs.bool_or(op, "sorted", true)?;
    let mut outs = vec![Meta::new(a.dtype, vec![n])];
    if index {
        outs.push(Meta::new(DType::Int64, vec![n]));
    }
    if inverse {
        outs.push(Meta::new(DType::Int64, a.shape.clone()));
    }
    if counts {
        outs.push(Meta::new(DType::Int64, vec![n]));
    }
    Ok(UniquePlan {
        index,
        inverse,
        counts,
        equal_nan: c.attrs.bool_or(op, "equal_nan", true)?,
        outs,
    })
}
