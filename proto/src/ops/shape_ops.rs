//! Shape ops: `reshape`, `ravel`, `transpose`, `expand_dims`, `squeeze`, `broadcast_to`,
//! `concatenate`, `stack`.

use crate::dtype::result_type;
use crate::error::{Error, Result};
use crate::ops::{Call, Input, Meta, OpDef, arr, arrs, attr};
use crate::params;
use crate::shape::{Shape, broadcast_shapes, fmt_shape, normalize_axes, normalize_axis};

pub(crate) fn defs() -> Vec<OpDef> {
    vec![
        OpDef {
            name: "reshape",
            params: params![arr("a"), attr("shape"), attr("order")],
            summary: "The same data with a new shape; one dimension may be -1 (np.reshape).",
            infer: |c| Ok(vec![Meta::new(c.array(0, "a")?.dtype, reshape_target(c)?)]),
        },
        OpDef {
            name: "ravel",
            params: params![arr("a"), attr("order")],
            summary: "The flattened array, C order (np.ravel).",
            infer: |c| {
                c.expect_inputs(1)?;
                let a = c.array(0, "a")?;
                Ok(vec![Meta::new(a.dtype, vec![a.numel()])])
            },
        },
        OpDef {
            name: "transpose",
            params: params![arr("a"), attr("axes")],
            summary: "Permute the axes; reverses them by default (np.transpose).",
            infer: |c| {
                let a = c.array(0, "a")?;
                let p = transpose_perm(c)?;
                Ok(vec![Meta::new(
                    a.dtype,
                    p.iter().map(|&i| a.shape[i]).collect::<Shape>(),
                )])
            },
        },
        OpDef {
            name: "expand_dims",
            params: params![arr("a"), attr("axis")],
            summary: "Insert length-1 axes at the given positions (np.expand_dims).",
            infer: |c| {
                let a = c.array(0, "a")?;
                Ok(vec![Meta::new(a.dtype, expand_dims_shape(c)?)])
            },
        },
        OpDef {
            name: "squeeze",
            params: params![arr("a"), attr("axis")],
            summary: "Remove length-1 axes (np.squeeze).",
            infer: |c| {
                let a = c.array(0, "a")?;
                Ok(vec![Meta::new(a.dtype, squeeze_shape(c)?)])
            },
        },
        OpDef {
            name: "broadcast_to",
            params: params![arr("array"), attr("shape")],
            summary: "Broadcast an array to a shape (np.broadcast_to).",
            infer: |c| {
                let a = c.array(0, "array")?;
                Ok(vec![Meta::new(a.dtype, broadcast_to_shape(c)?)])
            },
        },
        OpDef {
            name: "concatenate",
            params: params![arrs("arrays"), attr("axis")],
            summary: "Join arrays along an existing axis; axis=None flattens first (np.concatenate).",
            infer: |c| Ok(vec![concat_plan(c)?.out]),
        },
        OpDef {
            name: "stack",
            params: params![arrs("arrays"), attr("axis")],
            summary: "Join same-shape arrays along a new axis (np.stack).",
            infer: |c| Ok(vec![concat_plan(c)?.out]),
        },
    ]
}

/// The target shape of `reshape`, with -1 resolved; `order` must be C or F.
pub fn reshape_target(c: &Call<'_>) -> Result<Shape> {
    let op = c.op;
    c.expect_inputs(1)?;
    c.attrs
        .check_known(op, &["shape", "newshape", "order", "copy"])?;
    let a = c.array(0, "a")?;
    reshape_order(c)?;
    let name = if c.attrs.get("newshape").is_some() {
        "newshape"
    } else {
        "shape"
    };
    let dims = c
        .attrs
        .ints(op, name)?
        .ok_or_else(|| Error::invalid(op, "shape", "missing required argument 'shape'"))?;
    let size = a.numel();
    let mut unknown = None;
    let mut known: usize = 1;
    for (i, &d) in dims.iter().enumerate() {
        if d == -1 {
            if unknown.is_some() {
                return Err(Error::invalid(
                    op,
                    "shape",
                    "can only specify one unknown dimension",
                ));
            }
            unknown = Some(i);
        } else if d < 0 {
            return Err(Error::invalid(
                op,
                "shape",
                "negative dimensions not allowed",
            ));
        } else {
            known = known.saturating_mul(d as usize);
        }
    }
    let mut out: Shape = dims.iter().map(|&d| d.max(0) as usize).collect();
    let bad = || {
        Error::invalid(
            op,
            "shape",
            format!(
                "cannot reshape array of size {size} into shape {}",
                fmt_dims(&dims)
            ),
        )
    };
    match unknown {
        Some(i) => {
            if known == 0 || size % known != 0 {
                return Err(bad());
            }
            out[i] = size / known;
        }
        None if known != size => return Err(bad()),
        None => {}
    }
    Ok(out)
}

fn fmt_dims(d: &[i64]) -> String {
    match d.len() {
        1 => format!("({},)", d[0]),
        _ => format!(
            "({})",
            d.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `reshape`'s order: `false` for C, `true` for F.
pub fn reshape_order(c: &Call<'_>) -> Result<bool> {
    match c.attrs.str(c.op, "order")? {
        None | Some("C") => Ok(false),
        Some("F") => Ok(true),
        Some(o) => Err(Error::invalid(
            c.op,
            "order",
            format!("order must be 'C' or 'F', got '{o}'"),
        )),
    }
}

/// The permutation of `transpose`.
pub fn transpose_perm(c: &Call<'_>) -> Result<Vec<usize>> {
    let op = c.op;
    c.expect_inputs(1)?;
    c.attrs.check_known(op, &["axes"])?;
    let a = c.array(0, "a")?;
    let n = a.ndim();
    match c.attrs.ints(op, "axes")? {
        None => Ok((0..n).rev().collect()),
        Some(axes) => {
            if axes.len() != n {
                return Err(Error::invalid(op, "axes", "axes don't match array"));
            }
            let mut seen = vec![false; n];
            let mut p = Vec::with_capacity(n);
            for &ax in &axes {
                let i = normalize_axis(op, ax, n)?;
                if seen[i] {
                    return Err(Error::invalid(op, "axes", "repeated axis in transpose"));
                }
                seen[i] = true;
                p.push(i);
            }
            Ok(p)
        }
    }
}

fn expand_dims_shape(c: &Call<'_>) -> Result<Shape> {
    let op = c.op;
    c.expect_inputs(1)?;
    c.attrs.check_known(op, &["axis"])?;
    let a = c.array(0, "a")?;
    let axes = c
        .attrs
        .ints(op, "axis")?
        .ok_or_else(|| Error::invalid(op, "axis", "missing required argument 'axis'"))?;
    let n = a.ndim() + axes.len();
    let axes = normalize_axes(op, Some(&axes), n)?;
    let mut src = a.shape.iter();
    Ok((0..n)
        .map(|i| {
            if axes.contains(&i) {
                1
            } else {
                *src.next().expect("counted")
            }
        })
        .collect())
}

/// The axes `squeeze` removes.
pub fn squeeze_axes(c: &Call<'_>) -> Result<Vec<usize>> {
    let op = c.op;
    c.expect_inputs(1)?;
    c.attrs.check_known(op, &["axis"])?;
    let a = c.array(0, "a")?;
    match c.attrs.ints(op, "axis")? {
        None => Ok((0..a.ndim()).filter(|&i| a.shape[i] == 1).collect()),
        Some(v) => {
            let axes = normalize_axes(op, Some(&v), a.ndim())?;
            for &i in &axes {
                if a.shape[i] != 1 {
                    return Err(Error::invalid(
                        op,
                        "axis",
                        "cannot select an axis to squeeze out which has size not equal to one",
                    ));
                }
            }
            Ok(axes)
        }
    }
}

fn squeeze_shape(c: &Call<'_>) -> Result<Shape> {
    let a = c.array(0, "a")?;
    let axes = squeeze_axes(c)?;
    Ok(a.shape
        .iter()
        .enumerate()
        .filter(|(i, _)| !axes.contains(i))
        .map(|(_, &d)| d)
        .collect())
}

fn broadcast_to_shape(c: &Call<'_>) -> Result<Shape> {
    let op = c.op;
    c.expect_inputs(1)?;
    c.attrs.check_known(op, &["shape", "subok"])?;
    let a = c.array(0, "array")?;
    let shape = crate::ops::creation::shape_attr(op, c.attrs, "shape")?;
    let b = broadcast_shapes(op, &a.shape, &shape);
    if a.ndim() > shape.len() || b.as_ref().map(|b| b != &shape).unwrap_or(true) {
        return Err(Error::invalid(
            op,
            "shape",
            format!(
                "operands could not be broadcast together with remapped shapes [original->remapped]: {}  and requested shape {}",
                fmt_shape(&a.shape),
                fmt_shape(&shape)
            ),
        ));
    }
    Ok(shape)
}

/// `concatenate`/`stack` resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct ConcatPlan {
    /// Flatten every input first (`axis=None`).
    pub flatten: bool,
    /// The axis of the result along which inputs are joined.
    pub axis: usize,
    /// `stack`: each input gains a length-1 axis at `axis` first.
    pub new_axis: bool,
    /// Result.
    pub out: Meta,
}

/// Resolves `concatenate` or `stack`.
pub fn concat_plan(c: &Call<'_>) -> Result<ConcatPlan> {
    let op = c.op;
    let stack = op == "stack";
    c.attrs
        .check_known(op, &["axis", "dtype", "casting", "out"])?;
    if c.inputs.is_empty() {
        return Err(Error::invalid(
            op,
            "arrays",
            if stack {
                "need at least one array to stack"
            } else {
                "need at least one array to concatenate"
            },
        ));
    }
    let metas: Vec<Meta> = c.inputs.iter().map(Input::as_array).collect();
    let ops: Vec<_> = metas
        .iter()
        .map(|m| crate::dtype::Operand::Array(m.dtype))
        .collect();
    let dtype = match c.attrs.dtype(op, "dtype")? {
        Some(d) => d,
        None => result_type(&ops).expect("inputs"),
    };
    let axis_attr = match c.attrs.0.get("axis") {
        Some(crate::Attr::None) => None,
        None => Some(0),
        Some(_) => c.attrs.int(op, "axis")?,
    };
    if stack {
        let first = &metas[0].shape;
        if metas.iter().any(|m| &m.shape != first) {
            return Err(Error::invalid(
                op,
                "arrays",
                "all input arrays must have the same shape",
            ));
        }
        let axis = normalize_axis(op, axis_attr.unwrap_or(0), first.len() + 1)?;
        let mut shape = first.clone();
        shape.insert(axis, metas.len());
        return Ok(ConcatPlan {
            flatten: false,
            axis,
            new_axis: true,
            out: Meta::new(dtype, shape),
        });
    }
    let Some(axis) = axis_attr else {
        let n: usize = metas.iter().map(Meta::numel).sum();
        return Ok(ConcatPlan {
            flatten: true,
            axis: 0,
            new_axis: false,
            out: Meta::new(dtype, vec![n]),
        });
    };
    let nd = metas[0].ndim();
    if nd == 0 {
        return Err(Error::invalid(
            op,
            "arrays",
            "zero-dimensional arrays cannot be concatenated",
        ));
    }
    let axis = normalize_axis(op, axis, nd)?;
    let mut shape = metas[0].shape.clone();
    for (i, m) in metas.iter().enumerate().skip(1) {
        if m.ndim() != nd {
            return Err(Error::invalid(
                op,
                "arrays",
                format!(
                    "all the input array dimensions except for the concatenation axis must match exactly, but along dimension 0, the array at index 0 has {nd} dimension(s) and the array at index {i} has {} dimension(s)",
                    m.ndim()
                ),
            ));
        }
        for (d, (&have, &want)) in m.shape.iter().zip(&shape).enumerate() {
            if d != axis && have != want {
                return Err(Error::invalid(
                    op,
                    "arrays",
                    format!(
                        "all the input array dimensions except for the concatenation axis must match exactly, but along dimension {d}, the array at index 0 has size {} and the array at index {i} has size {}",
                        want, have
                    ),
                ));
            }
        }
        shape[axis] += m.shape[axis];
    }
    Ok(ConcatPlan {
        flatten: false,
        axis,
        new_axis: false,
        out: Meta::new(dtype, shape),
    })
}
