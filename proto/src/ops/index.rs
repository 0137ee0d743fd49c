//! Indexing: `getitem` (NumPy's `a[key]`) with ints, slices (negative steps too), newaxis
//! and ellipsis.

use super::DataDependence;
use crate::attrs::IndexItem;
use crate::error::{Error, Result};
use crate::ops::{Call, Meta, OpDef, arr, attr};
use crate::params;
use crate::shape::Shape;

pub(crate) fn defs() -> Vec<OpDef> {
    let mut v = vec![OpDef {
        name: "getitem",
        params: params![arr("a"), attr("key")],
        summary: "NumPy indexing a[key]: ints, slices, newaxis, ellipsis, integer arrays and boolean masks.",
        infer: |c| Ok(vec![getitem_out(c)?]),
        data_dependent: DataDependence::When(super::data_shaped::has_mask),
    }];
    v.extend(more_defs());
    v
}

/// One resolved axis of a basic index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AxisSel {
    /// Take one position of the source axis (the axis disappears).
    Index {
        /// Source axis.
        axis: usize,
        /// Position on it.
        pos: usize,
    },
    /// `start, start+step, ...` `len` positions of the source axis.
    Range {
        /// Source axis.
        axis: usize,
        /// First position.
        start: usize,
        /// Step (negative walks backwards).
        step: isize,
        /// Number of positions.
        len: usize,
    },
    /// A new length-1 axis.
    NewAxis,
}

/// A resolved basic index.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexPlan {
    /// One selection per source axis (in order), with new axes interleaved.
    pub sels: Vec<AxisSel>,
    /// The result.
    pub out: Meta,
}

/// Python's `slice.indices(len)` and the resulting length.
pub fn slice_indices(
    op: &str,
    len: usize,
    start: Option<i64>,
    stop: Option<i64>,
    step: Option<i64>,
) -> Result<(i64, i64, usize)> {
    let step = step.unwrap_or(1);
    if step == 0 {
        return Err(Error::invalid(op, "key", "slice step cannot be zero"));
    }
    let n = len as i64;
    let clamp = |v: Option<i64>, default: i64| -> i64 {
        match v {
            None => default,
            Some(v) if v < 0 => {
                let v = v + n;
                if v < 0 {
                    if step < 0 { -1 } else { 0 }
                } else {
                    v
                }
            }
            Some(v) if v >= n => {
                if step < 0 {
                    n - 1
                } else {
                    n
                }
            }
            Some(v) => v,
        }
    };
    let (start, stop) = if step > 0 {
        (clamp(start, 0), clamp(stop, n))
    } else {
        (clamp(start, n - 1), clamp(stop, -1))
    };
    let count = if step > 0 {
        if stop > start {
            (stop - start + step - 1) / step
        } else {
            0
        }
    } else if start > stop {
        (start - stop + (-step) - 1) / (-step)
    } else {
        0
    };
    Ok((start, step, count as usize))
}

/// Resolves a basic index against an array's shape.
pub fn plan(c: &Call<'_>) -> Result<IndexPlan> {
    let op = c.op;
    let a = c.array(0, "a")?;
    c.attrs.check_known(op, &["key"])?;
    let key = c.attrs.index(op, "key")?;
    if key.iter().any(|k| matches!(k, IndexItem::Array(_))) {
        return Err(Error::internal(op, "basic plan of an advanced index"));
    }
    let ellipses = key
        .iter()
        .filter(|k| matches!(k, IndexItem::Ellipsis))
        .count();
    if ellipses > 1 {
        return Err(Error::invalid(
            op,
            "key",
            "an index can only have a single ellipsis ('...')",
        ));
    }
    let consuming = key
        .iter()
        .filter(|k| matches!(k, IndexItem::Int(_) | IndexItem::Slice(..)))
        .count();
    if consuming > a.ndim() {
        return Err(Error::invalid(
            op,
            "key",
            format!(
                "too many indices for array: array is {}-dimensional, but {consuming} were indexed",
                a.ndim()
            ),
        ));
    }
    let mut sels = Vec::new();
    let mut shape: Shape = Vec::new();
    let mut axis = 0usize;
    let full = |axis: usize, shape: &mut Shape, sels: &mut Vec<AxisSel>| {
        sels.push(AxisSel::Range {
            axis,
            start: 0,
            step: 1,
            len: a.shape[axis],
        });
        shape.push(a.shape[axis]);
    };
    for k in &key {
        match *k {
            IndexItem::Int(i) => {
                let n = a.shape[axis] as i64;
                let p = if i < 0 { i + n } else { i };
                if p < 0 || p >= n {
                    return Err(Error::invalid(
                        op,
                        "key",
                        format!("index {i} is out of bounds for axis {axis} with size {n}"),
                    ));
                }
                sels.push(AxisSel::Index {
                    axis,
                    pos: p as usize,
                });
                axis += 1;
            }
            IndexItem::Slice(s, e, st) => {
                let (start, step, len) = slice_indices(op, a.shape[axis], s, e, st)?;
                let start = if len == 0 { 0 } else { start as usize };
                sels.push(AxisSel::Range {
                    axis,
                    start,
                    step: step as isize,
                    len,
                });
                shape.push(len);
                axis += 1;
            }
            IndexItem::NewAxis => {
                sels.push(AxisSel::NewAxis);
                shape.push(1);
            }
            IndexItem::Ellipsis => {
                let fill = a.ndim() - consuming;
                for _ in 0..fill {
                    full(axis, &mut shape, &mut sels);
                    axis += 1;
                }
            }
            IndexItem::Array(_) => unreachable!("rejected above"),
        }
    }
    while axis < a.ndim() {
        full(axis, &mut shape, &mut sels);
        axis += 1;
    }
    Ok(IndexPlan {
        sels,
        out: Meta::new(a.dtype, shape),
    })
}

// ---- advanced indexing, gathers and selection ---------------------------------------

use crate::dtype::{DType, Operand, result_type};
use crate::ops::{Input, arrs};
use crate::shape::{broadcast_all, normalize_axis};

fn more_defs() -> Vec<OpDef> {
    let upd = |name: &'static str, summary: &'static str| OpDef {
        name,
        params: params![arr("a"), attr("key"), arr("y")],
        summary,
        infer: |c| {
            update_infer(c)?;
            Ok(vec![c.array(0, "a")?])
        },
        data_dependent: DataDependence::Never,
    };
    vec![
        upd(
            "index_update",
            "A copy of a with a[key] = y (functional item assignment).",
        ),
        upd("index_add", "A copy of a after np.add.at(a, key, y)."),
        upd("index_min", "A copy of a after np.minimum.at(a, key, y)."),
        upd("index_max", "A copy of a after np.maximum.at(a, key, y)."),
        OpDef {
            name: "take",
            params: params![
                arr("a"),
                arr("indices"),
                attr("axis"),
                attr("out"),
                attr("mode")
            ],
            summary: "Take elements along an axis; mode raise (default), wrap or clip (np.take).",
            infer: |c| Ok(vec![take_plan(c)?.out]),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "take_along_axis",
            params: params![arr("arr"), arr("indices"), attr("axis")],
            summary: "Take values by matching 1-D index slices (np.take_along_axis).",
            infer: |c| Ok(vec![take_along_plan(c)?.out]),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "where",
            params: params![arr("condition"), arr("x"), arr("y")],
            summary: "Elements of x where condition, else of y; with the condition alone, np.nonzero of it.",
            infer: |c| match c.inputs.len() {
                1 => super::data_shaped::nonzero_outs(c, "condition"),
                _ => Ok(vec![where_out(c)?]),
            },
            data_dependent: DataDependence::When(|c| c.inputs.len() == 1),
        },
        OpDef {
            name: "select",
            params: params![arrs("condlist"), arrs("choicelist"), attr("default")],
            summary: "The choice of the first true condition, else default (np.select).",
            infer: |c| Ok(vec![select_out(c)?]),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "diagonal",
            params: params![arr("a"), attr("offset"), attr("axis1"), attr("axis2")],
            summary: "A diagonal of the plane of two axes, as the last axis (np.diagonal).",
            infer: |c| Ok(vec![diagonal_plan(c)?.3]),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "diag_indices",
            params: params![attr("n"), attr("ndim")],
            summary: "ndim copies of arange(n) (np.diag_indices).",
            infer: |c| {
                let (n, nd) = diag_indices_args(c)?;
                Ok(vec![Meta::new(DType::Int64, vec![n]); nd])
            },
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "ix_",
            params: params![arrs("args")],
            summary: "Open mesh of 1-D integer sequences; a boolean one stands for its nonzero indices (np.ix_).",
            infer: ix_infer,
            // A boolean sequence becomes the indices where it is true.
            data_dependent: DataDependence::When(|c| {
                c.inputs.iter().any(|i| i.as_array().dtype.is_bool())
            }),
        },
    ]
}

fn getitem_out(c: &Call<'_>) -> Result<Meta> {
    if let Some(low) = super::data_shaped::lower(c)? {
        let inputs = low.bound_inputs(c)?;
        let attrs = low.attrs(c.attrs);
        let lowered = Call {
            op: c.op,
            inputs: &inputs,
            attrs: &attrs,
        };
        return Ok(adv_plan(&lowered, "a")?.out);
    }
    let key = c.attrs.index(c.op, "key")?;
    if key.iter().any(|k| matches!(k, IndexItem::Array(_))) {
        Ok(adv_plan(c, "a")?.out)
    } else {
        if c.inputs.len() > 1 {
            return Err(Error::invalid(c.op, "key", "unexpected extra inputs"));
        }
        Ok(plan(c)?.out)
    }
}

/// One output dimension of an advanced index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutDim {
    /// `start, start+step, ...` along a source axis.
    Range {
        /// Source axis.
        axis: usize,
        /// First position.
        start: usize,
        /// Step.
        step: isize,
        /// Number of positions.
        len: usize,
    },
    /// A new length-1 axis.
    NewAxis,
    /// The broadcast dimensions of the index arrays (placed once).
    Adv,
}

/// A resolved index with integer arrays.
#[derive(Clone, Debug, PartialEq)]
pub struct AdvPlan {
    /// Integer indices: (source axis, position).
    pub ints: Vec<(usize, usize)>,
    /// Index arrays: (source axis, input position).
    pub arrays: Vec<(usize, usize)>,
    /// The broadcast shape of the index arrays.
    pub bshape: Shape,
    /// The output dimensions in order.
    pub dims: Vec<OutDim>,
    /// The selection's shape and the array's dtype.
    pub out: Meta,
}

/// Whether a dtype is accepted for index arrays.
fn index_dtype_ok(op: &str, d: DType) -> Result<()> {
    if d.is_integer() {
        Ok(())
    } else if d.is_bool() {
        Err(Error::invalid(
            op,
            "key",
            "boolean masks are supported by getitem only; index with np.nonzero(mask)",
        ))
    } else {
        Err(Error::invalid(
            op,
            "key",
            "arrays used as indices must be of integer (or boolean) type",
        ))
    }
}

/// Resolves any index (basic items and integer arrays) against input 0.
pub fn adv_plan(c: &Call<'_>, name: &str) -> Result<AdvPlan> {
    let op = c.op;
    let a = c.array(0, name)?;
    let key = c.attrs.index(op, "key")?;
    if key
        .iter()
        .filter(|k| matches!(k, IndexItem::Ellipsis))
        .count()
        > 1
    {
        return Err(Error::invalid(
            op,
            "key",
            "an index can only have a single ellipsis ('...')",
        ));
    }
    let consuming = key
        .iter()
        .filter(|k| !matches!(k, IndexItem::NewAxis | IndexItem::Ellipsis))
        .count();
    if consuming > a.ndim() {
        return Err(Error::invalid(
            op,
            "key",
            format!(
                "too many indices for array: array is {}-dimensional, but {consuming} were indexed",
                a.ndim()
            ),
        ));
    }
    let mut ints = Vec::new();
    let mut arrays = Vec::new();
    let mut ishapes: Vec<Shape> = Vec::new();
    let mut adv_pos = Vec::new();
    let mut dims = Vec::new();
    let mut axis = 0usize;
    for (kpos, k) in key.iter().enumerate() {
        match *k {
            IndexItem::Int(i) => {
                let n = a.shape[axis] as i64;
                let p = if i < 0 { i + n } else { i };
                if p < 0 || p >= n {
                    return Err(Error::invalid(
                        op,
                        "key",
                        format!("index {i} is out of bounds for axis {axis} with size {n}"),
                    ));
                }
                ints.push((axis, p as usize));
                adv_pos.push(kpos);
                axis += 1;
            }
            IndexItem::Array(pos) => {
                let m = match c.inputs.get(pos) {
                    Some(Input::Array(m)) => m.clone(),
                    _ => {
                        return Err(Error::invalid(
                            op,
                            "key",
                            format!("index array operand {pos} is missing"),
                        ));
                    }
                };
                index_dtype_ok(op, m.dtype)?;
                arrays.push((axis, pos));
                ishapes.push(m.shape);
                adv_pos.push(kpos);
                axis += 1;
            }
            IndexItem::Slice(s, e, st) => {
                let (start, step, len) = slice_indices(op, a.shape[axis], s, e, st)?;
                dims.push(OutDim::Range {
                    axis,
                    start: if len == 0 { 0 } else { start as usize },
                    step: step as isize,
                    len,
                });
                axis += 1;
            }
            IndexItem::NewAxis => dims.push(OutDim::NewAxis),
            IndexItem::Ellipsis => {
                for _ in 0..a.ndim() - consuming {
                    dims.push(OutDim::Range {
                        axis,
                        start: 0,
                        step: 1,
                        len: a.shape[axis],
                    });
                    axis += 1;
                }
            }
        }
    }
    while axis < a.ndim() {
        dims.push(OutDim::Range {
            axis,
            start: 0,
            step: 1,
            len: a.shape[axis],
        });
        axis += 1;
    }
    let bshape = broadcast_all(op, ishapes.iter().map(|s| &s[..])).map_err(|_| {
        Error::invalid(
            op,
            "key",
            format!(
                "shape mismatch: indexing arrays could not be broadcast together with shapes {}",
                ishapes
                    .iter()
                    .map(|s| crate::shape::fmt_shape(s))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        )
    })?;
    if !arrays.is_empty() {
        let contiguous = adv_pos.windows(2).all(|w| w[1] == w[0] + 1);
        let at = if contiguous {
            // The number of output dims produced by key items before the first advanced one.
            let first = adv_pos[0];
            key[..first]
                .iter()
                .map(|k| match k {
                    IndexItem::NewAxis | IndexItem::Slice(..) => 1,
                    IndexItem::Ellipsis => a.ndim() - consuming,
                    _ => 0,
                })
                .sum()
        } else {
            0
        };
        dims.insert(at, OutDim::Adv);
    }
    let mut shape = Vec::new();
    for d in &dims {
        match d {
            OutDim::Range { len, .. } => shape.push(*len),
            OutDim::NewAxis => shape.push(1),
            OutDim::Adv => shape.extend(bshape.iter().copied()),
        }
    }
    Ok(AdvPlan {
        ints,
        arrays,
        bshape,
        dims,
        out: Meta::new(a.dtype, shape),
    })
}

/// Checks an `index_*` call for `infer`. With boolean masks in the key the number of
/// selected elements is known only from the data: the masks' shapes and the rest of the key
/// are checked here, `y`'s shape by the kernel ([`update_check`] on the lowered call).
fn update_infer(c: &Call<'_>) -> Result<()> {
    c.attrs.check_known(c.op, &["key"])?;
    match super::data_shaped::lower_after(c, 2)? {
        Some(low) => {
            let inputs = low.bound_inputs(c)?;
            let attrs = low.attrs(c.attrs);
            adv_plan(
                &Call {
                    op: c.op,
                    inputs: &inputs,
                    attrs: &attrs,
                },
                "a",
            )?;
            update_dtype(c)?;
        }
        None => {
            update_check(c)?;
        }
    }
    Ok(())
}

/// The dtype an `index_*` call computes in; a Python int `y` must fit `a`'s dtype.
fn update_dtype(c: &Call<'_>) -> Result<DType> {
    let a = c.array(0, "a")?;
    let y = c.input(1, "y")?;
    if let Input::Scalar(s) = y
        && !s.fits(a.dtype)
    {
        return Err(Error::invalid(
            c.op,
            "y",
            format!("Python integer {s} out of bounds for {}", a.dtype),
        ));
    }
    Ok(result_type(&[Operand::Array(a.dtype), y.operand()]).expect("operands"))
}

/// Checks an `index_*` call whose key has no boolean mask: `a`, `y` broadcastable to
/// `a[key]`, and the dtypes.
pub fn update_check(c: &Call<'_>) -> Result<(AdvPlan, DType)> {
    let op = c.op;
    c.attrs.check_known(op, &["key"])?;
    let p = adv_plan(c, "a")?;
    let dt = update_dtype(c)?;
    let y = c.input(1, "y")?;
    let mut ys: &[usize] = y.shape();
    while ys.len() > p.out.ndim() && ys[0] == 1 {
        ys = &ys[1..];
    }
    let b = crate::shape::broadcast_shapes(op, ys, &p.out.shape);
    if b.as_ref().map(|b| b != &p.out.shape).unwrap_or(true) {
        return Err(Error::invalid(
            op,
            "y",
            format!(
                "could not broadcast input array from shape {} into shape {}",
                crate::shape::fmt_shape(y.shape()),
                crate::shape::fmt_shape(&p.out.shape)
            ),
        ));
    }
    Ok((p, dt))
}

/// `take` resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct TakePlan {
    /// Flatten `a` first (`axis=None`).
    pub flatten: bool,
    /// The axis.
    pub axis: usize,
    /// 0 raise, 1 wrap, 2 clip.
    pub mode: u8,
    /// The result.
    pub out: Meta,
}

/// Resolves `take`.
pub fn take_plan(c: &Call<'_>) -> Result<TakePlan> {
    let op = c.op;
    c.expect_inputs(2)?;
    c.attrs.check_known(op, &["axis", "out", "mode"])?;
    c.no_out()?;
    let a = c.array(0, "a")?;
    let idx = c.input(1, "indices")?;
    let ishape = idx.shape().to_vec();
    match idx {
        Input::Array(m)
            if !(m.dtype.is_integer() || m.dtype.is_bool()) || m.dtype == DType::UInt64 =>
        {
            return Err(Error::invalid(
                op,
                "indices",
                format!(
                    "Cannot cast array data from dtype('{}') to dtype('int64') according to the rule 'safe'",
                    m.dtype
                ),
            ));
        }
        Input::Scalar(s) if s.as_int().is_none() => {
            return Err(Error::invalid(
                op,
                "indices",
                "Cannot cast array data from dtype('float64') to dtype('int64') according to the rule 'safe'",
            ));
        }
        _ => {}
    }
    let mode = match c.attrs.str(op, "mode")? {
        None | Some("raise") => 0,
        Some("wrap") => 1,
        Some("clip") => 2,
        Some(m) => {
            return Err(Error::invalid(
                op,
                "mode",
                format!("clipmode must be one of 'clip', 'raise', or 'wrap' (got '{m}')"),
            ));
        }
    };
    let (flatten, axis, src) = match c.attrs.int(op, "axis")? {
        None => (true, 0, vec![a.numel()]),
        Some(ax) => (false, normalize_axis(op, ax, a.ndim())?, a.shape.clone()),
    };
    let n_idx: usize = ishape.iter().product();
    if src[axis] == 0 && n_idx > 0 {
        return Err(Error::invalid(
            op,
            "indices",
            "cannot do a non-empty take from an empty axes.",
        ));
    }
    let mut shape = src[..axis].to_vec();
    shape.extend(ishape);
    shape.extend_from_slice(&src[axis + 1..]);
    Ok(TakePlan {
        flatten,
        axis,
        mode,
        out: Meta::new(a.dtype, shape),
    })
}

/// `take_along_axis` resolved: flatten first or not, the axis, the result.
#[derive(Clone, Debug, PartialEq)]
pub struct TakeAlongPlan {
    /// `axis=None`.
    pub flatten: bool,
    /// The axis.
    pub axis: usize,
    /// The result.
    pub out: Meta,
}

/// Resolves `take_along_axis`.
pub fn take_along_plan(c: &Call<'_>) -> Result<TakeAlongPlan> {
    let op = c.op;
    c.expect_inputs(2)?;
    c.attrs.check_known(op, &["axis"])?;
    let a = c.array(0, "arr")?;
    let idx = c.array(1, "indices")?;
    if !idx.dtype.is_integer() {
        return Err(Error::invalid(
            op,
            "indices",
            "`indices` must be an integer array",
        ));
    }
    let axis_attr = match c.attrs.0.get("axis") {
        Some(crate::Attr::None) => None,
        None => Some(-1),
        Some(_) => c.attrs.int(op, "axis")?,
    };
    let (flatten, axis, src) = match axis_attr {
        None => {
            if idx.ndim() != 1 {
                return Err(Error::invalid(
                    op,
                    "indices",
                    "when axis=None, `indices` must have a single dimension.",
                ));
            }
            (true, 0, vec![a.numel()])
        }
        Some(ax) => (false, normalize_axis(op, ax, a.ndim())?, a.shape.clone()),
    };
    if idx.ndim() != src.len() {
        return Err(Error::invalid(
            op,
            "indices",
            "`indices` and `arr` must have the same number of dimensions",
        ));
    }
    let mut shape = Vec::with_capacity(src.len());
    for (j, (&s, &i)) in src.iter().zip(&idx.shape).enumerate() {
        if j == axis {
            shape.push(i);
        } else if s == i || i == 1 {
            shape.push(s);
        } else if s == 1 {
            shape.push(i);
        } else {
            return Err(Error::ShapeMismatch {
                op: op.to_string(),
                lhs: src.clone(),
                rhs: idx.shape.clone(),
            });
        }
    }
    Ok(TakeAlongPlan {
        flatten,
        axis,
        out: Meta::new(a.dtype, shape),
    })
}

/// `where(condition, x, y)`'s result.
pub fn where_out(c: &Call<'_>) -> Result<Meta> {
    let op = c.op;
    c.attrs.check_known(op, &[])?;
    match c.inputs.len() {
        3 => {}
        _ => {
            return Err(Error::invalid(
                op,
                "x",
                "either both or neither of x and y should be given",
            ));
        }
    }
    let ops: Vec<Operand> = c.inputs[1..].iter().map(Input::operand).collect();
    let dtype = result_type(&ops).expect("operands");
    let shape = broadcast_all(op, c.inputs.iter().map(Input::shape))?;
    Ok(Meta::new(dtype, shape))
}

/// `select`'s result; the inputs are the conditions then the choices.
pub fn select_out(c: &Call<'_>) -> Result<Meta> {
    let op = c.op;
    c.attrs.check_known(op, &["default"])?;
    let n = c.inputs.len();
    if n == 0 {
        return Err(Error::invalid(
            op,
            "condlist",
            "select with an empty condition list is not possible",
        ));
    }
    if !n.is_multiple_of(2) {
        return Err(Error::invalid(
            op,
            "choicelist",
            "list of cases must be same length as list of conditions",
        ));
    }
    let k = n / 2;
    for (i, cond) in c.inputs[..k].iter().enumerate() {
        if cond.as_array().dtype != DType::Bool {
            return Err(Error::invalid(
                op,
                "condlist",
                format!("invalid entry {i} in condlist: should be boolean ndarray"),
            ));
        }
    }
    let default = c
        .attrs
        .scalar(op, "default")?
        .unwrap_or(crate::Scalar::Int(0));
    let mut ops: Vec<Operand> = c.inputs[k..].iter().map(Input::operand).collect();
    ops.push(Operand::Scalar(default.kind()));
    let dtype = result_type(&ops).expect("operands");
    let shape = broadcast_all(op, c.inputs.iter().map(Input::shape))?;
    Ok(Meta::new(dtype, shape))
}

/// `diagonal`: offset, axis1, axis2 and the result.
pub fn diagonal_plan(c: &Call<'_>) -> Result<(i64, usize, usize, Meta)> {
    let op = c.op;
    c.expect_inputs(1)?;
    c.attrs.check_known(op, &["offset", "axis1", "axis2"])?;
    let a = c.array(0, "a")?;
    if a.ndim() < 2 {
        return Err(Error::invalid(
            op,
            "a",
            "diag requires an array of at least two dimensions",
        ));
    }
    let off = c.attrs.int_or(op, "offset", 0)?;
    let a1 = normalize_axis(op, c.attrs.int_or(op, "axis1", 0)?, a.ndim())?;
    let a2 = normalize_axis(op, c.attrs.int_or(op, "axis2", 1)?, a.ndim())?;
    if a1 == a2 {
        return Err(Error::invalid(
            op,
            "axis2",
            "axis1 and axis2 cannot be the same",
        ));
    }
    let (n1, n2) = (a.shape[a1] as i64, a.shape[a2] as i64);
    let len = if off >= 0 {
        n1.min(n2 - off)
    } else {
        (n1 + off).min(n2)
    }
    .max(0) as usize;
    let mut shape: Shape = (0..a.ndim())
        .filter(|&i| i != a1 && i != a2)
        .map(|i| a.shape[i])
        .collect();
    shape.push(len);
    Ok((off, a1, a2, Meta::new(a.dtype, shape)))
}

/// `diag_indices`' n and ndim.
pub fn diag_indices_args(c: &Call<'_>) -> Result<(usize, usize)> {
    let op = c.op;
    c.expect_inputs(0)?;
    c.attrs.check_known(op, &["n", "ndim"])?;
    let n = c
        .attrs
        .int(op, "n")?
        .ok_or_else(|| Error::invalid(op, "n", "missing required argument 'n'"))?;
    let nd = c.attrs.int_or(op, "ndim", 2)?;
    if n < 0 || nd < 0 {
        return Err(Error::invalid(
            op,
            "n",
            "negative dimensions are not allowed",
        ));
    }
    Ok((n as usize, nd as usize))
}

fn ix_infer(c: &Call<'_>) -> Result<Vec<Meta>> {
    let op = c.op;
    c.attrs.check_known(op, &[])?;
    let k = c.inputs.len();
    let mut out = Vec::with_capacity(k);
    for (i, inp) in c.inputs.iter().enumerate() {
        let m = inp.as_array();
        if m.ndim() != 1 {
            return Err(Error::invalid(
                op,
                "args",
                "Cross index must be 1 dimensional",
            ));
        }
        // A boolean sequence stands for its nonzero indices (at most its length of them);
        // any other keeps its dtype, as NumPy keeps an ndarray's.
        let dtype = if m.dtype.is_bool() {
            DType::Int64
        } else {
            m.dtype
        };
        let mut shape = vec![1; k];
        shape[i] = m.shape[0];
        out.push(Meta::new(dtype, shape));
    }
    Ok(out)
}
