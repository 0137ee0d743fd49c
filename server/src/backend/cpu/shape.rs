//! Shape ops: `reshape`, `ravel`, `transpose`, `expand_dims`, `squeeze`, `broadcast_to`,
//! `concatenate`, `stack`.
//!
//! Reshapes of standard-layout arrays, transposes, `expand_dims` and `squeeze` are views of
//! the same shared data; other results are fresh C-order arrays.

use ndarray::{Axis, IxDyn};
use ndserve_proto::ops::shape_ops::{
    PadMode, axes_perm, concat_plan, flatten_fortran, flip_axes, join_plan, pad_plan, repeat_plan,
    reshape_order, reshape_target, roll_plan, roll_shifts, rot90_plan, split_plan, squeeze_axes,
    tile_plan, transpose_perm,
};
use ndserve_proto::shape::{c_strides, normalize_axes};

use super::cast::scalar_array;
use super::gather::{FILL, axis_offsets, gather, outer_offsets};
use ndserve_proto::{Error, Result};

use super::array::{Element, HostArray, Nd};
use super::kernels::KernelCall;

/// The kernels of this family.
pub fn kernels() -> Vec<(&'static str, super::KernelFn)> {
    vec![
        ("reshape", reshape as super::KernelFn),
        ("ravel", ravel),
        ("transpose", transpose),
        ("expand_dims", expand_dims),
        ("squeeze", squeeze),
        ("broadcast_to", broadcast_to),
        ("concatenate", concatenate),
        ("stack", concatenate),
        ("flatten", flatten),
        ("swapaxes", permute),
        ("moveaxis", permute),
        ("atleast_1d", atleast),
        ("atleast_2d", atleast),
        ("atleast_3d", atleast),
        ("broadcast_arrays", broadcast_arrays),
        ("hstack", join),
        ("vstack", join),
        ("dstack", join),
        ("column_stack", join),
        ("append", join),
        ("split", split),
        ("array_split", split),
        ("hsplit", split),
        ("vsplit", split),
        ("dsplit", split),
        ("tile", tile),
        ("repeat", repeat),
        ("pad", pad),
        ("flip", flip),
        ("flipud", flip),
        ("fliplr", flip),
        ("roll", roll),
        ("rot90", rot90),
    ]
}

/// `x` with a new shape, reading and writing elements in C order: a view when `x` is in
/// standard layout, a copy otherwise.
pub(crate) fn reshape_c<T: Element>(x: &Nd<T>, shape: &[usize]) -> Nd<T> {
    let shape = IxDyn(shape);
    if x.is_standard_layout() {
        x.clone()
            .into_shape_with_order(shape)
            .expect("same number of elements")
    } else {
        x.as_standard_layout()
            .into_owned()
            .into_shared()
            .into_shape_with_order(shape)
            .expect("same number of elements")
    }
}

/// `x` with a new shape, in C or Fortran order. `a.reshape(s, order='F')` is
/// `a.T.reshape(s[::-1]).T`.
pub(crate) fn reshape_order_any<T: Element>(x: &Nd<T>, shape: &[usize], fortran: bool) -> Nd<T> {
    if !fortran {
        return reshape_c(x, shape);
    }
    let rev: Vec<usize> = shape.iter().rev().copied().collect();
    reshape_c(&x.clone().reversed_axes(), &rev).reversed_axes()
}

fn input(call: &KernelCall<'_>) -> Result<HostArray> {
    call.inputs
        .first()
        .map(|i| i.as_array())
        .ok_or_else(|| Error::invalid(call.op, "a", "missing required argument 'a'"))
}

fn reshape(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let c = call.call();
    let shape = reshape_target(&c)?;
    let fortran = reshape_order(&c)?;
    let a = input(call)?;
    Ok(vec![crate::with_array!(&a, x, T => {
        <T as Element>::wrap(reshape_order_any(x, &shape, fortran))
    })])
}

fn ravel(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    call.call().expect_inputs(1)?;
    call.attrs.check_known(call.op, &["order"])?;
    // ndserve arrays have no visible memory layout: 'A' and 'K' read as 'C'.
    let fortran = match call.attrs.str(call.op, "order")? {
        None | Some("C" | "A" | "K") => false,
        Some("F") => true,
        Some(o) => {
            return Err(Error::invalid(
                call.op,
                "order",
                format!("order must be one of 'C', 'F', 'A', or 'K' (got '{o}')"),
            ));
        }
    };
    let a = input(call)?;
    let n = a.len();
    Ok(vec![crate::with_array!(&a, x, T => {
        <T as Element>::wrap(reshape_order_any(x, &[n], fortran))
    })])
}

fn transpose(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let perm = transpose_perm(&call.call())?;
    let a = input(call)?;
    Ok(vec![crate::with_array!(&a, x, T => {
        <T as Element>::wrap(x.clone().permuted_axes(IxDyn(&perm)))
    })])
}

fn expand_dims(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let op = call.op;
    let a = input(call)?;
    let axes = call
        .attrs
        .ints(op, "axis")?
        .ok_or_else(|| Error::invalid(op, "axis", "missing required argument 'axis'"))?;
    let axes = normalize_axes(op, Some(&axes), a.shape().len() + axes.len())?;
    Ok(vec![crate::with_array!(&a, x, T => {
        // Ascending insertion puts every new axis at its final position.
        let v = axes.iter().fold(x.clone(), |v, &ax| v.insert_axis(Axis(ax)));
        <T as Element>::wrap(v)
    })])
}

fn squeeze(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let axes = squeeze_axes(&call.call())?;
    let a = input(call)?;
    Ok(vec![crate::with_array!(&a, x, T => {
        // Descending removal keeps the remaining positions valid.
        let v = axes.iter().rev().fold(x.clone(), |v, &ax| v.index_axis_move(Axis(ax), 0));
        <T as Element>::wrap(v)
    })])
}

fn broadcast_to(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let out = ndserve_proto::ops::infer(call.op, call.metas, call.attrs)?;
    let shape = out[0].shape.clone();
    let a = input(call)?;
    Ok(vec![crate::with_array!(&a, x, T => {
        let v = x.broadcast(IxDyn(&shape)).ok_or_else(|| {
            Error::internal(call.op, "broadcast failed after infer accepted it")
        })?;
        <T as Element>::wrap(v.to_owned().into_shared())
    })])
}

fn concatenate(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let plan = concat_plan(&call.call())?;
    let dtype = plan.out.dtype;
    let arrays: Vec<HostArray> = call.inputs.iter().map(|i| i.to_array(dtype)).collect();
    Ok(vec![crate::with_dtype!(dtype, T => {
        let parts: Vec<Nd<T>> = arrays
            .iter()
            .map(|h| {
                let x = h.typed::<T>().expect("cast to the out dtype").clone();
                if plan.flatten {
                    reshape_c(&x, &[x.len()])
                } else if plan.new_axis {
                    x.insert_axis(Axis(plan.axis))
                } else {
                    x
                }
            })
            .collect();
        let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
        let out = ndarray::concatenate(Axis(plan.axis), &views)
            .map_err(|e| Error::internal(call.op, e.to_string()))?;
        <T as Element>::wrap(out.into_shared())
    })])
}

// ---- rearranging, joining, splitting ------------------------------------------------

fn flatten(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let fortran = flatten_fortran(&call.call())?;
    let a = input(call)?;
    let n = a.len();
    Ok(vec![crate::with_array!(&a, x, T => {
        <T as Element>::wrap(reshape_order_any(x, &[n], fortran))
    })])
}

fn permute(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let perm = axes_perm(&call.call())?;
    let a = input(call)?;
    Ok(vec![crate::with_array!(&a, x, T => {
        <T as Element>::wrap(x.clone().permuted_axes(IxDyn(&perm)))
    })])
}

/// `a` reshaped in C order.
pub(crate) fn reshaped(a: &HostArray, shape: &[usize]) -> HostArray {
    crate::with_array!(a, x, T => <T as Element>::wrap(reshape_c(x, shape)))
}

fn atleast(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    Ok(call
        .inputs
        .iter()
        .zip(call.outs)
        .map(|(i, m)| reshaped(&i.as_array(), &m.shape))
        .collect())
}

fn broadcast_arrays(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    call.inputs
        .iter()
        .zip(call.outs)
        .map(|(i, m)| {
            let a = i.as_array();
            Ok(crate::with_array!(&a, x, T => {
                let v = x.broadcast(IxDyn(&m.shape)).ok_or_else(|| {
                    Error::internal(call.op, "broadcast failed after infer accepted it")
                })?;
                <T as Element>::wrap(v.to_owned().into_shared())
            }))
        })
        .collect()
}

fn join(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let (shapes, plan) = join_plan(&call.call())?;
    let dtype = plan.out.dtype;
    let arrays: Vec<HostArray> = call
        .inputs
        .iter()
        .zip(&shapes)
        .map(|(i, s)| reshaped(&i.to_array(dtype), s))
        .collect();
    Ok(vec![crate::with_dtype!(dtype, T => {
        let views: Vec<_> = arrays
            .iter()
            .map(|h| h.typed::<T>().expect("cast to the out dtype").view())
            .collect();
        let out = ndarray::concatenate(Axis(plan.axis), &views)
            .map_err(|e| Error::internal(call.op, e.to_string()))?;
        <T as Element>::wrap(out.into_shared())
    })])
}

fn split(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let (axis, pieces) = split_plan(&call.call())?;
    let a = input(call)?;
    Ok(pieces
        .iter()
        .map(|&(start, len)| {
            crate::with_array!(&a, x, T => {
                let v = x.slice_axis(Axis(axis), ndarray::Slice::from(start..start + len));
                <T as Element>::wrap(v.to_owned().into_shared())
            })
        })
        .collect())
}

fn tile(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let (_, src, out) = tile_plan(&call.call())?;
    let a = input(call)?;
    let st = c_strides(&src);
    let dims: Vec<Vec<usize>> = out
        .iter()
        .zip(&src)
        .zip(&st)
        .map(|((&o, &s), &t)| (0..o).map(|i| (i % s) * t).collect())
        .collect();
    Ok(vec![gather(&a, &outer_offsets(0, &dims), &out, None)])
}

fn repeat(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let plan = repeat_plan(&call.call())?;
    let a = input(call)?;
    let shape: Vec<usize> = if plan.flatten {
        vec![a.len()]
    } else {
        a.shape().to_vec()
    };
    let st = c_strides(&shape);
    let dims: Vec<Vec<usize>> = (0..shape.len())
        .map(|j| {
            if j == plan.axis {
                plan.counts
                    .iter()
                    .enumerate()
                    .flat_map(|(p, &k)| std::iter::repeat_n(p * st[j], k))
                    .collect()
            } else {
                axis_offsets(shape[j], st[j])
            }
        })
        .collect();
    Ok(vec![gather(
        &a,
        &outer_offsets(0, &dims),
        &plan.out.shape,
        None,
    )])
}

/// The source position of padded position `i` (relative to the first original element)
/// on an axis of length `n`, or `None` for the constant.
fn pad_src(mode: PadMode, i: i64, n: i64) -> Option<i64> {
    if (0..n).contains(&i) {
        return Some(i);
    }
    match mode {
        PadMode::Constant => None,
        PadMode::Edge => Some(i.clamp(0, n - 1)),
        PadMode::Wrap => Some(i.rem_euclid(n)),
        PadMode::Reflect if n == 1 => Some(0),
        PadMode::Reflect => {
            let p = 2 * (n - 1);
            let m = i.rem_euclid(p);
            Some(if m >= n { p - m } else { m })
        }
        PadMode::Symmetric => {
            let p = 2 * n;
            let m = i.rem_euclid(p);
            Some(if m >= n { p - 1 - m } else { m })
        }
    }
}

fn pad(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let plan = pad_plan(&call.call())?;
    let a = input(call)?;
    let st = c_strides(a.shape());
    let dims: Vec<Vec<usize>> = a
        .shape()
        .iter()
        .zip(&plan.widths)
        .zip(&st)
        .map(|((&n, &(b, e)), &t)| {
            (0..n + b + e)
                .map(
                    |o| match pad_src(plan.mode, o as i64 - b as i64, n as i64) {
                        Some(s) => s as usize * t,
                        None => FILL,
                    },
                )
                .collect()
        })
        .collect();
    let fill = scalar_array(&plan.value, a.dtype());
    Ok(vec![gather(
        &a,
        &outer_offsets(0, &dims),
        &plan.out.shape,
        Some(&fill),
    )])
}

fn flip(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let axes = flip_axes(&call.call())?;
    let a = input(call)?;
    Ok(vec![crate::with_array!(&a, x, T => {
        let mut v = x.clone();
        for &ax in &axes {
            v.invert_axis(Axis(ax));
        }
        <T as Element>::wrap(v)
    })])
}

fn roll(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let c = call.call();
    let a = input(call)?;
    let shape = a.shape().to_vec();
    let (flat_shape, shifts) = match roll_plan(&c)? {
        Some(s) => (vec![a.len()], vec![s]),
        None => (shape.clone(), roll_shifts(&c)?),
    };
    let st = c_strides(&flat_shape);
    let dims: Vec<Vec<usize>> = flat_shape
        .iter()
        .zip(&shifts)
        .zip(&st)
        .map(|((&n, &s), &t)| {
            (0..n)
                .map(|o| (o as i64 - s).rem_euclid(n as i64) as usize * t)
                .collect()
        })
        .collect();
    Ok(vec![gather(&a, &outer_offsets(0, &dims), &shape, None)])
}

fn rot90(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let (k, a0, a1) = rot90_plan(&call.call())?;
    let a = input(call)?;
    Ok(vec![crate::with_array!(&a, x, T => {
        let mut v = x.clone();
        match k {
            1 => {
                v.invert_axis(Axis(a1));
                v.swap_axes(a0, a1);
            }
            2 => {
                v.invert_axis(Axis(a0));
                v.invert_axis(Axis(a1));
            }
            3 => {
                v.swap_axes(a0, a1);
                v.invert_axis(Axis(a1));
            }
            _ => {}
        }
        <T as Element>::wrap(v)
    })])
}

#[cfg(test)]
mod tests {
    use ndarray::ArcArray;
    use ndserve_proto::{Attr, Attrs, DType};

    use super::super::testing::{arange, run1, vals};
    use super::*;

    fn op(name: &str, ins: &[HostArray], attrs: Attrs) -> ndserve_proto::Result<HostArray> {
        run1(name, ins, attrs)
    }

    fn ints(name: &str, v: &[i64]) -> Attrs {
        Attrs::new().with(name, Attr::Ints(v.to_vec()))
    }

    #[test]
    fn reshape_in_c_and_f_order() {
        let a = arange(DType::Int32, &[6]);
        let r = op("reshape", std::slice::from_ref(&a), ints("shape", &[2, -1])).unwrap();
        assert_eq!(
            (r.shape(), vals(&r)),
            (&[2, 3][..], vec![0., 1., 2., 3., 4., 5.])
        );
        let f = ints("shape", &[2, 3]).with("order", Attr::Str("F".into()));
        assert_eq!(
            vals(&op("reshape", &[a], f).unwrap()),
            vec![0., 2., 4., 1., 3., 5.]
        );
        let b = arange(DType::Float32, &[2, 3]);
        let f = ints("shape", &[3, 2]).with("order", Attr::Str("F".into()));
        assert_eq!(
            vals(&op("reshape", std::slice::from_ref(&b), f).unwrap()),
            vec![0., 4., 3., 2., 1., 5.]
        );
        let rf = op(
            "ravel",
            std::slice::from_ref(&b),
            Attrs::new().with("order", Attr::Str("F".into())),
        )
        .unwrap();
        assert_eq!(vals(&rf), vec![0., 3., 1., 4., 2., 5.]);
        // Of a transposed view.
        let t = op("transpose", &[b], Attrs::new()).unwrap();
        let r = op("reshape", std::slice::from_ref(&t), ints("shape", &[6])).unwrap();
        assert_eq!(vals(&r), vec![0., 3., 1., 4., 2., 5.]);
        let f = ints("shape", &[2, 3]).with("order", Attr::Str("F".into()));
        assert_eq!(
            vals(&op("reshape", std::slice::from_ref(&t), f).unwrap()),
            vec![0., 2., 4., 1., 3., 5.]
        );
        assert_eq!(
            vals(&op("ravel", &[t], Attrs::new()).unwrap()),
            vec![0., 3., 1., 4., 2., 5.]
        );
        // 0-d and size 0.
        let z = arange(DType::Bool, &[]);
        assert_eq!(
            op("reshape", &[z], ints("shape", &[1, 1])).unwrap().shape(),
            &[1, 1]
        );
        let e = arange(DType::Int8, &[0, 3]);
        assert_eq!(
            op("reshape", &[e], ints("shape", &[3, -1, 5]))
                .unwrap()
                .shape(),
            &[3, 0, 5]
        );
    }

    #[test]
    fn transpose_expand_squeeze() {
        let c = arange(DType::Int64, &[2, 3, 4]);
        let t = op(
            "transpose",
            std::slice::from_ref(&c),
            ints("axes", &[1, 0, -1]),
        )
        .unwrap();
        assert_eq!(t.shape(), &[3, 2, 4]);
        assert_eq!(
            vals(&t)[..12],
            [0., 1., 2., 3., 12., 13., 14., 15., 4., 5., 6., 7.]
        );
        let t = op("transpose", std::slice::from_ref(&c), Attrs::new()).unwrap();
        assert_eq!(t.shape(), &[4, 3, 2]);
        assert_eq!(vals(&t)[..8], [0., 12., 4., 16., 8., 20., 1., 13.]);
        assert_eq!(t.to_le_bytes().len(), 24 * 8);
        let b = arange(DType::Float64, &[2, 3]);
        let e = op(
            "expand_dims",
            std::slice::from_ref(&b),
            ints("axis", &[0, -1]),
        )
        .unwrap();
        assert_eq!((e.shape(), vals(&e)), (&[1, 2, 3, 1][..], vals(&b)));
        let e = op("expand_dims", std::slice::from_ref(&b), ints("axis", &[1])).unwrap();
        assert_eq!(e.shape(), &[2, 1, 3]);
        let s = arange(DType::UInt16, &[1, 2, 1, 3]);
        assert_eq!(
            op("squeeze", std::slice::from_ref(&s), Attrs::new())
                .unwrap()
                .shape(),
            &[2, 3]
        );
        assert_eq!(
            op("squeeze", std::slice::from_ref(&s), ints("axis", &[-2]))
                .unwrap()
                .shape(),
            &[1, 2, 3]
        );
        assert!(op("squeeze", &[s], ints("axis", &[1])).is_err());
        let z = op("squeeze", &[arange(DType::Float16, &[1, 1])], Attrs::new()).unwrap();
        assert_eq!((z.shape(), vals(&z)), (&[][..], vec![0.0]));
    }

    #[test]
    fn broadcast_to_shapes() {
        let a = arange(DType::Int16, &[3]);
        let r = op(
            "broadcast_to",
            std::slice::from_ref(&a),
            ints("shape", &[2, 3]),
        )
        .unwrap();
        assert_eq!(
            (r.shape(), vals(&r)),
            (&[2, 3][..], vec![0., 1., 2., 0., 1., 2.])
        );
        let z = arange(DType::Complex64, &[]);
        let r = op("broadcast_to", &[z], ints("shape", &[2, 2])).unwrap();
        assert_eq!((r.dtype(), r.shape()), (DType::Complex64, &[2, 2][..]));
        let r = op(
            "broadcast_to",
            &[arange(DType::Bool, &[1])],
            ints("shape", &[0]),
        )
        .unwrap();
        assert_eq!(r.shape(), &[0]);
        assert!(op("broadcast_to", &[a], ints("shape", &[2])).is_err());
    }

    #[test]
    fn concatenate_and_stack() {
        let a = arange(DType::Int8, &[2, 2]);
        // np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5
        let b = HostArray::F32(
            ArcArray::from_shape_vec(IxDyn(&[2, 3]), vec![0., 0.5, 1., 1.5, 2., 2.5]).unwrap(),
        );
        let r = op(
            "concatenate",
            &[a.clone(), b],
            Attrs::new().with("axis", Attr::Int(-1)),
        )
        .unwrap();
        assert_eq!(r.dtype(), DType::Float32);
        assert_eq!(vals(&r), vec![0., 1., 0., 0.5, 1., 2., 3., 1.5, 2., 2.5]);
        let t = op("transpose", &[arange(DType::Int64, &[2, 3])], Attrs::new()).unwrap();
        let nine = HostArray::I64(ArcArray::from_shape_vec(IxDyn(&[1, 1]), vec![9]).unwrap());
        let r = op(
            "concatenate",
            &[t, nine],
            Attrs::new().with("axis", Attr::None),
        )
        .unwrap();
        assert_eq!(vals(&r), vec![0., 3., 1., 4., 2., 5., 9.]);
        let e = arange(DType::Float64, &[2, 0]);
        let r = op(
            "concatenate",
            &[e, a.clone()],
            Attrs::new().with("axis", Attr::Int(1)),
        )
        .unwrap();
        assert_eq!(
            (r.dtype(), vals(&r)),
            (DType::Float64, vec![0., 1., 2., 3.])
        );
        let x = arange(DType::Int32, &[3]);
        let y = HostArray::I32(ArcArray::from_shape_vec(IxDyn(&[3]), vec![10, 11, 12]).unwrap());
        let r = op(
            "stack",
            &[x.clone(), y.clone()],
            Attrs::new().with("axis", Attr::Int(-1)),
        )
        .unwrap();
        assert_eq!(
            (r.shape(), vals(&r)),
            (&[3, 2][..], vec![0., 10., 1., 11., 2., 12.])
        );
        let r = op("stack", &[x, y], Attrs::new()).unwrap();
        assert_eq!(
            (r.shape(), vals(&r)),
            (&[2, 3][..], vec![0., 1., 2., 10., 11., 12.])
        );
        let s = op(
            "stack",
            &[arange(DType::Bool, &[]), arange(DType::UInt8, &[])],
            Attrs::new(),
        )
        .unwrap();
        assert_eq!((s.dtype(), s.shape()), (DType::UInt8, &[2][..]));
        assert!(op("concatenate", &[arange(DType::Int8, &[])], Attrs::new()).is_err());
    }
}
