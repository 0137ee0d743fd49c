//! Shape ops: `reshape`, `ravel`, `transpose`, `expand_dims`, `squeeze`, `broadcast_to`,
//! `concatenate`, `stack`.

use super::DataDependence;
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
            data_dependent: DataDependence::Never,
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
            data_dependent: DataDependence::Never,
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
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "expand_dims",
            params: params![arr("a"), attr("axis")],
            summary: "Insert length-1 axes at the given positions (np.expand_dims).",
            infer: |c| {
                let a = c.array(0, "a")?;
                Ok(vec![Meta::new(a.dtype, expand_dims_shape(c)?)])
            },
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "squeeze",
            params: params![arr("a"), attr("axis")],
            summary: "Remove length-1 axes (np.squeeze).",
            infer: |c| {
                let a = c.array(0, "a")?;
                Ok(vec![Meta::new(a.dtype, squeeze_shape(c)?)])
            },
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "broadcast_to",
            params: params![arr("array"), attr("shape")],
            summary: "Broadcast an array to a shape (np.broadcast_to).",
            infer: |c| {
                let a = c.array(0, "array")?;
                Ok(vec![Meta::new(a.dtype, broadcast_to_shape(c)?)])
            },
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "concatenate",
            params: params![arrs("arrays"), attr("axis")],
            summary: "Join arrays along an existing axis; axis=None flattens first (np.concatenate).",
            infer: |c| Ok(vec![concat_plan(c)?.out]),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "stack",
            params: params![arrs("arrays"), attr("axis")],
            summary: "Join same-shape arrays along a new axis (np.stack).",
            infer: |c| Ok(vec![concat_plan(c)?.out]),
            data_dependent: DataDependence::Never,
        },
    ]
    .into_iter()
    .chain(more_defs())
    .collect()
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

// ---- rearranging, joining, splitting ------------------------------------------------

/// The catalogue entries of the rearranging, joining and splitting ops.
pub(crate) fn more_defs() -> Vec<OpDef> {
    vec![
        OpDef {
            name: "flatten",
            params: params![arr("a"), attr("order")],
            summary: "A flattened copy, C or F order (ndarray.flatten).",
            infer: |c| {
                c.expect_inputs(1)?;
                c.attrs.check_known(c.op, &["order"])?;
                flatten_fortran(c)?;
                let a = c.array(0, "a")?;
                Ok(vec![Meta::new(a.dtype, vec![a.numel()])])
            },
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "swapaxes",
            params: params![arr("a"), attr("axis1"), attr("axis2")],
            summary: "Interchange two axes (np.swapaxes).",
            infer: permuted,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "moveaxis",
            params: params![arr("a"), attr("source"), attr("destination")],
            summary: "Move axes to new positions (np.moveaxis).",
            infer: permuted,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "atleast_1d",
            params: params![arrs("arys")],
            summary: "Views with at least one dimension (np.atleast_1d).",
            infer: atleast_infer,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "atleast_2d",
            params: params![arrs("arys")],
            summary: "Views with at least two dimensions (np.atleast_2d).",
            infer: atleast_infer,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "atleast_3d",
            params: params![arrs("arys")],
            summary: "Views with at least three dimensions (np.atleast_3d).",
            infer: atleast_infer,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "broadcast_arrays",
            params: params![arrs("args")],
            summary: "Broadcast arrays against each other (np.broadcast_arrays).",
            infer: |c| {
                c.attrs.check_known(c.op, &["subok"])?;
                let metas: Vec<Meta> = c.inputs.iter().map(Input::as_array).collect();
                let shape = crate::shape::broadcast_all(c.op, metas.iter().map(|m| &m.shape[..]))?;
                Ok(metas
                    .iter()
                    .map(|m| Meta::new(m.dtype, shape.clone()))
                    .collect())
            },
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "hstack",
            params: params![arrs("tup")],
            summary: "Join arrays column-wise (np.hstack).",
            infer: |c| Ok(vec![join_plan(c)?.1.out]),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "vstack",
            params: params![arrs("tup")],
            summary: "Join arrays row-wise (np.vstack).",
            infer: |c| Ok(vec![join_plan(c)?.1.out]),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "dstack",
            params: params![arrs("tup")],
            summary: "Join arrays along the third axis (np.dstack).",
            infer: |c| Ok(vec![join_plan(c)?.1.out]),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "column_stack",
            params: params![arrs("tup")],
            summary: "Join 1-D arrays as columns (np.column_stack).",
            infer: |c| Ok(vec![join_plan(c)?.1.out]),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "append",
            params: params![arr("arr"), arr("values"), attr("axis")],
            summary: "Append values to the end of an array; axis=None flattens (np.append).",
            infer: |c| Ok(vec![join_plan(c)?.1.out]),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "split",
            params: params![arr("ary"), attr("indices_or_sections"), attr("axis")],
            summary: "Split into equal sections or at indices (np.split).",
            infer: split_infer,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "array_split",
            params: params![arr("ary"), attr("indices_or_sections"), attr("axis")],
            summary: "Split into possibly unequal sections (np.array_split).",
            infer: split_infer,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "hsplit",
            params: params![arr("ary"), attr("indices_or_sections")],
            summary: "Split column-wise (np.hsplit).",
            infer: split_infer,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "vsplit",
            params: params![arr("ary"), attr("indices_or_sections")],
            summary: "Split row-wise (np.vsplit).",
            infer: split_infer,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "dsplit",
            params: params![arr("ary"), attr("indices_or_sections")],
            summary: "Split along the third axis (np.dsplit).",
            infer: split_infer,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "tile",
            params: params![arr("A"), attr("reps")],
            summary: "Repeat the whole array along each axis (np.tile).",
            infer: |c| {
                let (a, _, out) = tile_plan(c)?;
                Ok(vec![Meta::new(a.dtype, out)])
            },
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "repeat",
            params: params![arr("a"), attr("repeats"), attr("axis")],
            summary: "Repeat each element (np.repeat).",
            infer: |c| Ok(vec![repeat_plan(c)?.out]),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "pad",
            params: params![
                arr("array"),
                attr("pad_width"),
                attr("mode"),
                attr("constant_values")
            ],
            summary: "Pad an array: constant, edge, reflect, symmetric or wrap (np.pad).",
            infer: |c| Ok(vec![pad_plan(c)?.out]),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "flip",
            params: params![arr("m"), attr("axis")],
            summary: "Reverse the order of elements along axes (np.flip).",
            infer: same_meta_flip,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "flipud",
            params: params![arr("m")],
            summary: "Reverse along axis 0 (np.flipud).",
            infer: same_meta_flip,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "fliplr",
            params: params![arr("m")],
            summary: "Reverse along axis 1 (np.fliplr).",
            infer: same_meta_flip,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "roll",
            params: params![arr("a"), attr("shift"), attr("axis")],
            summary: "Roll elements along axes; axis=None rolls the flattened array (np.roll).",
            infer: |c| {
                roll_plan(c)?;
                Ok(vec![c.array(0, "a")?])
            },
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "rot90",
            params: params![arr("m"), attr("k"), attr("axes")],
            summary: "Rotate by 90 degrees in the plane of two axes (np.rot90).",
            infer: |c| {
                let (k, a0, a1) = rot90_plan(c)?;
                let mut m = c.array(0, "m")?;
                if k % 2 == 1 {
                    m.shape.swap(a0, a1);
                }
                Ok(vec![m])
            },
            data_dependent: DataDependence::Never,
        },
    ]
}

/// `flatten`'s order: `false` for C (also 'A' and 'K'), `true` for F.
pub fn flatten_fortran(c: &Call<'_>) -> Result<bool> {
    match c.attrs.str(c.op, "order")? {
        None | Some("C" | "A" | "K") => Ok(false),
        Some("F") => Ok(true),
        Some(o) => Err(Error::invalid(
            c.op,
            "order",
            format!("order must be one of 'C', 'F', 'A', or 'K' (got '{o}')"),
        )),
    }
}

fn req_int(c: &Call<'_>, name: &str) -> Result<i64> {
    c.attrs
        .int(c.op, name)?
        .ok_or_else(|| Error::invalid(c.op, name, format!("missing required argument '{name}'")))
}

fn req_ints(c: &Call<'_>, name: &str) -> Result<Vec<i64>> {
    c.attrs
        .ints(c.op, name)?
        .ok_or_else(|| Error::invalid(c.op, name, format!("missing required argument '{name}'")))
}

/// The axis permutation of `swapaxes` or `moveaxis`.
pub fn axes_perm(c: &Call<'_>) -> Result<Vec<usize>> {
    let op = c.op;
    c.expect_inputs(1)?;
    let a = c.array(0, "a")?;
    let n = a.ndim();
    let mut p: Vec<usize> = (0..n).collect();
    if op == "swapaxes" {
        c.attrs.check_known(op, &["axis1", "axis2"])?;
        let i = normalize_axis(op, req_int(c, "axis1")?, n)?;
        let j = normalize_axis(op, req_int(c, "axis2")?, n)?;
        p.swap(i, j);
        return Ok(p);
    }
    c.attrs.check_known(op, &["source", "destination"])?;
    let norm = |name: &str| -> Result<Vec<usize>> {
        let v = req_ints(c, name)?;
        let mut out = Vec::new();
        for x in v {
            let i = normalize_axis(op, x, n)?;
            if out.contains(&i) {
                return Err(Error::invalid(
                    op,
                    name,
                    format!("repeated axis in `{name}` argument"),
                ));
            }
            out.push(i);
        }
        Ok(out)
    };
    let src = norm("source")?;
    let dst = norm("destination")?;
    if src.len() != dst.len() {
        return Err(Error::invalid(
            op,
            "destination",
            "`source` and `destination` arguments must have the same number of elements",
        ));
    }
    let mut order: Vec<usize> = (0..n).filter(|i| !src.contains(i)).collect();
    let mut pairs: Vec<(usize, usize)> = dst.into_iter().zip(src).collect();
    pairs.sort_unstable();
    for (d, s) in pairs {
        order.insert(d, s);
    }
    Ok(order)
}

fn permuted(c: &Call<'_>) -> Result<Vec<Meta>> {
    let a = c.array(0, "a")?;
    let p = axes_perm(c)?;
    Ok(vec![Meta::new(
        a.dtype,
        p.iter().map(|&i| a.shape[i]).collect::<Shape>(),
    )])
}

/// The shape `atleast_{nd}d` gives an array of shape `s`.
pub fn atleast_shape(nd: usize, s: &[usize]) -> Shape {
    match (nd, s.len()) {
        (_, k) if k >= nd => s.to_vec(),
        (1, _) => vec![1],
        (2, 0) => vec![1, 1],
        (2, _) => vec![1, s[0]],
        (3, 0) => vec![1, 1, 1],
        (3, 1) => vec![1, s[0], 1],
        _ => vec![s[0], s[1], 1],
    }
}

fn atleast_nd(op: &str) -> usize {
    match op {
        "atleast_1d" => 1,
        "atleast_2d" => 2,
        _ => 3,
    }
}

fn atleast_infer(c: &Call<'_>) -> Result<Vec<Meta>> {
    c.attrs.check_known(c.op, &[])?;
    let nd = atleast_nd(c.op);
    Ok(c.inputs
        .iter()
        .map(|i| {
            let m = i.as_array();
            Meta::new(m.dtype, atleast_shape(nd, &m.shape))
        })
        .collect())
}

/// `hstack`/`vstack`/`dstack`/`column_stack`/`append` as a `concatenate`: each input's
/// shape after reshaping, and the concatenation.
pub fn join_plan(c: &Call<'_>) -> Result<(Vec<Shape>, ConcatPlan)> {
    let op = c.op;
    let metas: Vec<Meta> = c.inputs.iter().map(Input::as_array).collect();
    let mut attrs = crate::attrs::Attrs::new();
    let shapes: Vec<Shape> = match op {
        "append" => {
            c.attrs.check_known(op, &["axis"])?;
            c.expect_inputs(2)?;
            match c.attrs.int(op, "axis")? {
                None => {
                    attrs.set("axis", crate::Attr::None);
                    metas.iter().map(|m| vec![m.numel()]).collect()
                }
                Some(ax) => {
                    attrs.set("axis", crate::Attr::Int(ax));
                    metas.iter().map(|m| m.shape.clone()).collect()
                }
            }
        }
        _ => {
            c.attrs.check_known(op, &["dtype", "casting"])?;
            if let Some(d) = c.attrs.get("dtype") {
                attrs.set("dtype", d.clone());
            }
            let (nd, axis) = match op {
                "hstack" => {
                    let one = metas.first().map(|m| m.ndim() <= 1).unwrap_or(false);
                    (1, if one { 0 } else { 1 })
                }
                "vstack" => (2, 0),
                "dstack" => (3, 2),
                _ => (0, 1),
            };
            attrs.set("axis", crate::Attr::Int(axis));
            metas
                .iter()
                .map(|m| match (nd, m.ndim()) {
                    (0, 0) => vec![1, 1],
                    (0, 1) => vec![m.shape[0], 1],
                    (0, _) => m.shape.clone(),
                    _ => atleast_shape(nd, &m.shape),
                })
                .collect()
        }
    };
    let inputs: Vec<Input> = metas
        .iter()
        .zip(&shapes)
        .map(|(m, s)| Input::Array(Meta::new(m.dtype, s.clone())))
        .collect();
    let call = Call {
        op: if op == "append" {
            "append"
        } else {
            "concatenate"
        },
        inputs: &inputs,
        attrs: &attrs,
    };
    let plan = concat_plan(&call).map_err(|e| e.with_op(op))?;
    Ok((shapes, plan))
}

/// The pieces of a split: the axis and each piece's `(start, len)` along it.
pub fn split_plan(c: &Call<'_>) -> Result<(usize, Vec<(usize, usize)>)> {
    let op = c.op;
    c.expect_inputs(1)?;
    let a = c.array(0, "ary")?;
    let nd = a.ndim();
    let axis = match op {
        "split" | "array_split" => {
            c.attrs.check_known(op, &["indices_or_sections", "axis"])?;
            normalize_axis(op, c.attrs.int_or(op, "axis", 0)?, nd)?
        }
        _ => {
            c.attrs.check_known(op, &["indices_or_sections"])?;
            let (need, axis) = match op {
                "hsplit" => (1, if nd > 1 { 1 } else { 0 }),
                "vsplit" => (2, 0),
                _ => (3, 2),
            };
            if nd < need {
                return Err(Error::invalid(
                    op,
                    "ary",
                    format!("{op} only works on arrays of {need} or more dimensions"),
                ));
            }
            axis
        }
    };
    let n = a.shape[axis];
    let pieces = match c.attrs.get("indices_or_sections") {
        Some(crate::Attr::Ints(cuts)) => {
            let mut bounds = vec![0i64];
            bounds.extend(cuts.iter().copied());
            let mut out = Vec::new();
            for (i, &st) in bounds.iter().enumerate() {
                let end = bounds.get(i + 1).copied();
                let (start, _, len) = crate::ops::index::slice_indices(op, n, Some(st), end, None)?;
                out.push((if len == 0 { 0 } else { start as usize }, len));
            }
            out
        }
        Some(_) => {
            let k = req_int(c, "indices_or_sections")?;
            if k <= 0 {
                return Err(Error::invalid(
                    op,
                    "indices_or_sections",
                    "number sections must be larger than 0.",
                ));
            }
            let k = k as usize;
            if op != "array_split" && n % k != 0 {
                return Err(Error::invalid(
                    op,
                    "indices_or_sections",
                    "array split does not result in an equal division",
                ));
            }
            let (each, extra) = (n / k, n % k);
            let mut start = 0;
            (0..k)
                .map(|i| {
                    let len = each + usize::from(i < extra);
                    let p = (start, len);
                    start += len;
                    p
                })
                .collect()
        }
        None => {
            return Err(Error::invalid(
                op,
                "indices_or_sections",
                "missing required argument 'indices_or_sections'",
            ));
        }
    };
    Ok((axis, pieces))
}

fn split_infer(c: &Call<'_>) -> Result<Vec<Meta>> {
    let a = c.array(0, "ary")?;
    let (axis, pieces) = split_plan(c)?;
    Ok(pieces
        .iter()
        .map(|&(_, len)| {
            let mut s = a.shape.clone();
            s[axis] = len;
            Meta::new(a.dtype, s)
        })
        .collect())
}

/// `tile`: the input, its shape padded with leading 1s, and the result shape.
pub fn tile_plan(c: &Call<'_>) -> Result<(Meta, Shape, Shape)> {
    let op = c.op;
    c.expect_inputs(1)?;
    c.attrs.check_known(op, &["reps"])?;
    let a = c.array(0, "A")?;
    let mut reps = req_ints(c, "reps")?;
    if reps.iter().any(|&r| r < 0) {
        return Err(Error::invalid(
            op,
            "reps",
            "negative dimensions are not allowed",
        ));
    }
    while reps.len() < a.ndim() {
        reps.insert(0, 1);
    }
    let mut src = a.shape.clone();
    while src.len() < reps.len() {
        src.insert(0, 1);
    }
    let out = src
        .iter()
        .zip(&reps)
        .map(|(&s, &r)| s * r as usize)
        .collect();
    Ok((a, src, out))
}

/// `repeat` resolved: flatten first or not, the axis, each position's count, the result.
#[derive(Clone, Debug, PartialEq)]
pub struct RepeatPlan {
    /// `axis=None`: repeat the flattened array.
    pub flatten: bool,
    /// The axis (0 when flattening).
    pub axis: usize,
    /// How many times each position along the axis is repeated.
    pub counts: Vec<usize>,
    /// The result.
    pub out: Meta,
}

/// Resolves `repeat`.
pub fn repeat_plan(c: &Call<'_>) -> Result<RepeatPlan> {
    let op = c.op;
    c.expect_inputs(1)?;
    c.attrs.check_known(op, &["repeats", "axis"])?;
    let a = c.array(0, "a")?;
    let (flatten, axis, shape) = match c.attrs.int(op, "axis")? {
        None => (true, 0, vec![a.numel()]),
        Some(ax) => (false, normalize_axis(op, ax, a.ndim())?, a.shape.clone()),
    };
    let n = shape[axis];
    let reps = match c.attrs.get("repeats") {
        Some(crate::Attr::Ints(v)) => v.clone(),
        _ => vec![req_int(c, "repeats")?],
    };
    if reps.iter().any(|&r| r < 0) {
        return Err(Error::invalid(
            op,
            "repeats",
            "negative dimensions are not allowed",
        ));
    }
    let counts: Vec<usize> = if reps.len() == 1 {
        vec![reps[0] as usize; n]
    } else if reps.len() == n {
        reps.iter().map(|&r| r as usize).collect()
    } else {
        return Err(Error::invalid(
            op,
            "repeats",
            format!(
                "operands could not be broadcast together with shape ({n},) ({},)",
                reps.len()
            ),
        ));
    };
    let mut out = shape;
    out[axis] = counts.iter().sum();
    Ok(RepeatPlan {
        flatten,
        axis,
        counts,
        out: Meta::new(a.dtype, out),
    })
}

/// `pad`'s modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PadMode {
    /// A constant value.
    Constant,
    /// The edge value.
    Edge,
    /// Mirror without repeating the edge.
    Reflect,
    /// Mirror repeating the edge.
    Symmetric,
    /// Wrap around.
    Wrap,
}

/// `pad` resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct PadPlan {
    /// (before, after) per axis.
    pub widths: Vec<(usize, usize)>,
    /// The mode.
    pub mode: PadMode,
    /// The constant value (constant mode), a Python scalar; 0 by default.
    pub value: crate::Scalar,
    /// The result.
    pub out: Meta,
}

/// Resolves `pad`.
pub fn pad_plan(c: &Call<'_>) -> Result<PadPlan> {
    let op = c.op;
    c.expect_inputs(1)?;
    c.attrs
        .check_known(op, &["pad_width", "mode", "constant_values"])?;
    let a = c.array(0, "array")?;
    let nd = a.ndim();
    let w = req_ints(c, "pad_width")?;
    if w.iter().any(|&x| x < 0) {
        return Err(Error::invalid(
            op,
            "pad_width",
            "index can't contain negative values",
        ));
    }
    let w: Vec<usize> = w.iter().map(|&x| x as usize).collect();
    let widths: Vec<(usize, usize)> = match w.len() {
        1 => vec![(w[0], w[0]); nd],
        2 => vec![(w[0], w[1]); nd],
        k if k == 2 * nd => (0..nd).map(|i| (w[2 * i], w[2 * i + 1])).collect(),
        k if k == nd => (0..nd).map(|i| (w[i], w[i])).collect(),
        _ => {
            return Err(Error::invalid(
                op,
                "pad_width",
                format!(
                    "operands could not be broadcast together with remapped shapes [original->remapped]: ({},)  and requested shape ({nd},2)",
                    w.len()
                ),
            ));
        }
    };
    let mode = match c.attrs.str(op, "mode")? {
        None | Some("constant") => PadMode::Constant,
        Some("edge") => PadMode::Edge,
        Some("reflect") => PadMode::Reflect,
        Some("symmetric") => PadMode::Symmetric,
        Some("wrap") => PadMode::Wrap,
        Some(m) => {
            return Err(Error::invalid(
                op,
                "mode",
                format!("mode '{m}' is not supported"),
            ));
        }
    };
    let value = c
        .attrs
        .scalar(op, "constant_values")?
        .unwrap_or(crate::Scalar::Int(0));
    if mode != PadMode::Constant {
        for (i, (&n, &(b, e))) in a.shape.iter().zip(&widths).enumerate() {
            if n == 0 && (b > 0 || e > 0) {
                return Err(Error::invalid(
                    op,
                    "array",
                    format!(
                        "can't extend empty axis {i} using modes other than 'constant' or 'empty'"
                    ),
                ));
            }
        }
    }
    let out = a
        .shape
        .iter()
        .zip(&widths)
        .map(|(&n, &(b, e))| n + b + e)
        .collect::<Shape>();
    Ok(PadPlan {
        widths,
        mode,
        value,
        out: Meta::new(a.dtype, out),
    })
}

/// The axes `flip`/`flipud`/`fliplr` reverse.
pub fn flip_axes(c: &Call<'_>) -> Result<Vec<usize>> {
    let op = c.op;
    c.expect_inputs(1)?;
    let m = c.array(0, "m")?;
    match op {
        "flipud" | "fliplr" => {
            c.attrs.check_known(op, &[])?;
            let need = if op == "flipud" { 1 } else { 2 };
            if m.ndim() < need {
                return Err(Error::invalid(
                    op,
                    "m",
                    format!("Input must be >= {need}-d."),
                ));
            }
            Ok(vec![need - 1])
        }
        _ => {
            c.attrs.check_known(op, &["axis"])?;
            let axes = c.attrs.ints(op, "axis")?;
            normalize_axes(op, axes.as_deref(), m.ndim())
        }
    }
}

fn same_meta_flip(c: &Call<'_>) -> Result<Vec<Meta>> {
    flip_axes(c)?;
    Ok(vec![c.array(0, "m")?])
}

/// `roll`: `None` when the flattened array rolls by the one shift, else `(axis, shift)`
/// pairs (shifts summed per axis, normalised into `0..len`).
pub fn roll_plan(c: &Call<'_>) -> Result<Option<i64>> {
    let op = c.op;
    c.expect_inputs(1)?;
    c.attrs.check_known(op, &["shift", "axis"])?;
    let shift = req_ints(c, "shift")?;
    match c.attrs.ints(op, "axis")? {
        None => {
            if shift.len() != 1 {
                return Err(Error::invalid(
                    op,
                    "shift",
                    "'shift' and 'axis' should be scalars or 1D sequences",
                ));
            }
            Ok(Some(shift[0]))
        }
        Some(_) => {
            roll_shifts(c)?;
            Ok(None)
        }
    }
}

/// Per-axis shifts of `roll` with an `axis`.
pub fn roll_shifts(c: &Call<'_>) -> Result<Vec<i64>> {
    let op = c.op;
    let a = c.array(0, "a")?;
    let shift = req_ints(c, "shift")?;
    let axes = req_ints(c, "axis")?;
    let n = shift.len().max(axes.len());
    if (shift.len() != n && shift.len() != 1) || (axes.len() != n && axes.len() != 1) {
        return Err(Error::invalid(
            op,
            "shift",
            format!(
                "shape mismatch: objects cannot be broadcast to a single shape.  Mismatch is between arg 0 with shape ({},) and arg 1 with shape ({},).",
                shift.len(),
                axes.len()
            ),
        ));
    }
    let mut out = vec![0i64; a.ndim()];
    for i in 0..n {
        let s = shift[if shift.len() == 1 { 0 } else { i }];
        let ax = normalize_axis(op, axes[if axes.len() == 1 { 0 } else { i }], a.ndim())?;
        out[ax] += s;
    }
    Ok(out)
}

/// `rot90`: k in `0..4` and the two normalised axes.
pub fn rot90_plan(c: &Call<'_>) -> Result<(usize, usize, usize)> {
    let op = c.op;
    c.expect_inputs(1)?;
    c.attrs.check_known(op, &["k", "axes"])?;
    let m = c.array(0, "m")?;
    let nd = m.ndim() as i64;
    let axes = c.attrs.ints(op, "axes")?.unwrap_or(vec![0, 1]);
    if axes.len() != 2 {
        return Err(Error::invalid(op, "axes", "len(axes) must be 2."));
    }
    if axes[0] == axes[1] || (axes[0] - axes[1]).abs() == nd {
        return Err(Error::invalid(op, "axes", "Axes must be different."));
    }
    if axes.iter().any(|&x| x >= nd || x < -nd) {
        return Err(Error::invalid(
            op,
            "axes",
            format!(
                "Axes=({}, {}) out of range for array of ndim={nd}.",
                axes[0], axes[1]
            ),
        ));
    }
    let k = c.attrs.int_or(op, "k", 1)?.rem_euclid(4) as usize;
    let a0 = normalize_axis(op, axes[0], m.ndim())?;
    let a1 = normalize_axis(op, axes[1], m.ndim())?;
    Ok((k, a0, a1))
}
