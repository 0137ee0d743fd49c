//! Indexing: `getitem` (NumPy's `a[key]`) with ints, slices (negative steps too), newaxis
//! and ellipsis.

use crate::attrs::IndexItem;
use crate::error::{Error, Result};
use crate::ops::{Call, Meta, OpDef, arr, attr};
use crate::params;
use crate::shape::Shape;

pub(crate) fn defs() -> Vec<OpDef> {
    vec![OpDef {
        name: "getitem",
        params: params![arr("a"), attr("key")],
        summary: "NumPy basic indexing a[key]: ints, slices, newaxis, ellipsis.",
        infer: |c| Ok(vec![plan(c)?.out]),
    }]
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
    if key.iter().any(|k| matches!(k, IndexItem::Array(_))) || c.inputs.len() > 1 {
        return Err(Error::invalid(
            op,
            "key",
            "integer-array and boolean-mask indexing are not supported yet; use ints, slices, newaxis and ellipsis",
        ));
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
