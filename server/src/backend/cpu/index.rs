//! Indexing: `getitem` with NumPy basic indexing (ints, slices with any step, newaxis,
//! ellipsis). The result is a view of the same shared data.

use half::{bf16, f16};
use ndarray::{ArcArray, IxDyn, SliceInfoElem, Zip};
use ndserve_proto::ops::index::{
    AdvPlan, AxisSel, OutDim, adv_plan, diag_indices_args, diagonal_plan, plan, select_out,
    take_along_plan, take_plan, update_check, where_out,
};
use ndserve_proto::shape::c_strides;
use ndserve_proto::{DType, Error, IndexItem, Result};
use num_complex::{Complex32, Complex64};

use super::array::{Element, HostArray};
use super::cast::cast;
use super::elementwise::PAR_MIN_LEN;
use super::gather::{axis_offsets, c_vec, gather, i64_values, outer_offsets, take_axis};
use super::kernels::{CpuInput, KernelCall};
use super::shape::reshape_c;

/// The kernels of this family.
pub fn kernels() -> Vec<(&'static str, super::KernelFn)> {
    vec![
        ("getitem", getitem as super::KernelFn),
        ("index_update", index_update),
        ("index_add", index_update),
        ("index_min", index_update),
        ("index_max", index_update),
        ("take", take),
        ("take_along_axis", take_along_axis),
        ("where", where_),
        ("select", select),
        ("diagonal", diagonal),
        ("diag_indices", diag_indices),
        ("ix_", ix),
    ]
}

/// One resolved selection as ndarray's slice element.
///
/// NumPy walks `start, start+step, ...` (`len` positions). ndarray's `Slice` selects the
/// range `[lo, hi)` and, for a negative step, walks it from its last element backwards;
/// so the range is exactly the span of the positions NumPy visits.
fn slice_elem(sel: &AxisSel) -> SliceInfoElem {
    match *sel {
        AxisSel::Index { pos, .. } => SliceInfoElem::Index(pos as isize),
        AxisSel::NewAxis => SliceInfoElem::NewAxis,
        AxisSel::Range { len: 0, .. } => SliceInfoElem::Slice {
            start: 0,
            end: Some(0),
            step: 1,
        },
        AxisSel::Range {
            start, step, len, ..
        } => {
            let start = start as isize;
            let last = start + (len as isize - 1) * step;
            let (lo, hi) = if step > 0 {
                (start, last)
            } else {
                (last, start)
            };
            SliceInfoElem::Slice {
                start: lo,
                end: Some(hi + 1),
                step,
            }
        }
    }
}

fn getitem(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    if let Some(low) = ndserve_proto::ops::data_shaped::lower(&call.call())? {
        // `a[mask]` is `a[mask.nonzero()]`: an integer index once the mask is read.
        let inputs = super::data_shaped::lowered_inputs(call, &low);
        let metas: Vec<_> = inputs.iter().map(CpuInput::meta).collect();
        let attrs = low.attrs(call.attrs);
        return getitem_adv(&KernelCall {
            op: call.op,
            inputs: &inputs,
            attrs: &attrs,
            outs: call.outs,
            metas: &metas,
        });
    }
    let key = call.attrs.index(call.op, "key")?;
    if key.iter().any(|k| matches!(k, IndexItem::Array(_))) {
        return getitem_adv(call);
    }
    let plan = plan(&call.call())?;
    let elems: Vec<SliceInfoElem> = plan.sels.iter().map(slice_elem).collect();
    let a = call.inputs[0].as_array();
    Ok(vec![crate::with_array!(&a, x, T => {
        let v = x.clone().slice_move(elems.as_slice());
        <T as Element>::wrap(v)
    })])
}

// ---- advanced indexing, gathers and selection ---------------------------------------

fn oob(op: &str, v: i64, axis: usize, n: usize) -> Error {
    Error::invalid(
        op,
        "key",
        format!("index {v} is out of bounds for axis {axis} with size {n}"),
    )
}

/// Normalises index `v` on an axis of length `n` (NumPy's `mode='raise'`).
fn norm_index(op: &str, v: i64, axis: usize, n: usize) -> Result<usize> {
    let p = if v < 0 { v + n as i64 } else { v };
    if p < 0 || p >= n as i64 {
        return Err(oob(op, v, axis, n));
    }
    Ok(p as usize)
}

/// The flat offsets into input 0 that an advanced index selects, in the result's C order.
fn adv_offsets(call: &KernelCall<'_>, p: &AdvPlan) -> Result<Vec<usize>> {
    let shape = call.metas[0].shape().to_vec();
    let st = c_strides(&shape);
    let base: usize = p.ints.iter().map(|&(ax, pos)| pos * st[ax]).sum();
    let bn: usize = p.bshape.iter().product();
    let mut adv = vec![0usize; bn];
    for &(ax, pos) in &p.arrays {
        let CpuInput::Array(h) = &call.inputs[pos] else {
            return Err(Error::internal(call.op, "index operand is not an array"));
        };
        let vals = i64_values(h, &p.bshape)?;
        for (o, v) in adv.iter_mut().zip(vals) {
            *o += norm_index(call.op, v, ax, shape[ax])? * st[ax];
        }
    }
    let dims: Vec<Vec<usize>> = p
        .dims
        .iter()
        .map(|d| match *d {
            OutDim::Range {
                axis,
                start,
                step,
                len,
            } => (0..len)
                .map(|i| (start as isize + step * i as isize) as usize * st[axis])
                .collect(),
            OutDim::NewAxis => vec![0],
            OutDim::Adv => adv.clone(),
        })
        .collect();
    Ok(outer_offsets(base, &dims))
}

fn getitem_adv(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let p = adv_plan(&call.call(), "a")?;
    let offs = adv_offsets(call, &p)?;
    Ok(vec![gather(
        &call.inputs[0].as_array(),
        &offs,
        &p.out.shape,
        None,
    )])
}

/// The combining functions of `index_add`/`index_min`/`index_max`.
trait AtOps: Element {
    fn add(a: Self, b: Self) -> Self;
    fn min(a: Self, b: Self) -> Self;
    fn max(a: Self, b: Self) -> Self;
}

macro_rules! at_int {
    ($($T:ty),*) => {$(
        impl AtOps for $T {
            fn add(a: Self, b: Self) -> Self { a.wrapping_add(b) }
            fn min(a: Self, b: Self) -> Self { Ord::min(a, b) }
            fn max(a: Self, b: Self) -> Self { Ord::max(a, b) }
        }
    )*};
}
at_int!(i8, i16, i32, i64, u8, u16, u32, u64);

impl AtOps for bool {
    fn add(a: Self, b: Self) -> Self {
        a | b
    }
    fn min(a: Self, b: Self) -> Self {
        a & b
    }
    fn max(a: Self, b: Self) -> Self {
        a | b
    }
}

macro_rules! at_float {
    ($($T:ty: $to:expr, $from:expr;)*) => {$(
        impl AtOps for $T {
            fn add(a: Self, b: Self) -> Self { $from($to(a) + $to(b)) }
            fn min(a: Self, b: Self) -> Self {
                if $to(a).is_nan() || $to(a) <= $to(b) { a } else { b }
            }
            fn max(a: Self, b: Self) -> Self {
                if $to(a).is_nan() || $to(a) >= $to(b) { a } else { b }
            }
        }
    )*};
}
at_float! {
    f16: |x: f16| x.to_f64(), f16::from_f64;
    bf16: |x: bf16| x.to_f64(), bf16::from_f64;
    f32: |x: f32| x, |x: f32| x;
    f64: |x: f64| x, |x: f64| x;
}

macro_rules! at_complex {
    ($($T:ty),*) => {$(
        impl AtOps for $T {
            fn add(a: Self, b: Self) -> Self { a + b }
            fn min(a: Self, b: Self) -> Self {
                if a.re.is_nan() || a.im.is_nan() || (a.re, a.im) <= (b.re, b.im) { a } else { b }
            }
            fn max(a: Self, b: Self) -> Self {
                if a.re.is_nan() || a.im.is_nan() || (a.re, a.im) >= (b.re, b.im) { a } else { b }
            }
        }
    )*};
}
at_complex!(Complex32, Complex64);

fn index_update(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let Some(low) = ndserve_proto::ops::data_shaped::lower_after(&call.call(), 2)? else {
        return index_update_adv(call);
    };
    // Masks in the key: the same update through `mask.nonzero()`, on `a` reshaped as the
    // lowering needs (a 0-d mask adds a length-1 axis) and shaped back after.
    let inputs = super::data_shaped::lowered_inputs(call, &low);
    let metas: Vec<_> = inputs.iter().map(CpuInput::meta).collect();
    let attrs = low.attrs(call.attrs);
    let res = index_update_adv(&KernelCall {
        op: call.op,
        inputs: &inputs,
        attrs: &attrs,
        outs: call.outs,
        metas: &metas,
    })?;
    Ok(res
        .iter()
        .map(|r| crate::with_array!(r, x, T => <T as Element>::wrap(reshape_c(x, &call.outs[0].shape))))
        .collect())
}

fn index_update_adv(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let (p, dt) = update_check(&call.call())?;
    let offs = adv_offsets(call, &p)?;
    let a = call.inputs[0].as_array();
    let out_dtype = a.dtype();
    // `b[idx] = y` casts y straight to a's dtype; the ufuncs compute in the promoted one.
    let work = if call.op == "index_update" {
        out_dtype
    } else {
        dt
    };
    let y = call.inputs[1].to_array(dt);
    let y = cast(&y, work);
    let a = cast(&a, work);
    let res = crate::with_dtype!(work, T => {
        let mut data = c_vec(a.typed::<T>().expect("cast"));
        let yt = y.typed::<T>().expect("cast");
        let yshape = &p.out.shape;
        let mut ys: &[usize] = yt.shape();
        while ys.len() > yshape.len() && ys[0] == 1 {
            ys = &ys[1..];
        }
        let yv = reshape_c(yt, ys);
        let yb = yv.broadcast(IxDyn(yshape)).ok_or_else(|| {
            Error::internal(call.op, "broadcast failed after infer accepted it")
        })?;
        let f: fn(T, T) -> T = match call.op {
            "index_add" => <T as AtOps>::add,
            "index_min" => <T as AtOps>::min,
            "index_max" => <T as AtOps>::max,
            _ => |_, y| y,
        };
        for (&o, &v) in offs.iter().zip(yb.iter()) {
            data[o] = f(data[o], v);
        }
        <T as Element>::wrap(
            ArcArray::from_shape_vec(IxDyn(a.shape()), data).expect("same shape"),
        )
    });
    Ok(vec![cast(&res, out_dtype)])
}

fn index_values(input: &CpuInput, shape: &[usize]) -> Result<Vec<i64>> {
    match input {
        CpuInput::Array(h) => i64_values(h, shape),
        CpuInput::Scalar(s) => Ok(vec![s.as_int().unwrap_or(0) as i64]),
    }
}

fn take(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let plan = take_plan(&call.call())?;
    let a = call.inputs[0].as_array();
    let shape: Vec<usize> = if plan.flatten {
        vec![a.len()]
    } else {
        a.shape().to_vec()
    };
    let ishape = call.metas[1].shape().to_vec();
    let n = shape[plan.axis];
    let idx: Vec<usize> = index_values(&call.inputs[1], &ishape)?
        .into_iter()
        .map(|v| match plan.mode {
            1 => Ok(v.rem_euclid(n.max(1) as i64) as usize),
            2 => Ok(v.clamp(0, n as i64 - 1).max(0) as usize),
            _ => norm_index(call.op, v, plan.axis, n),
        })
        .collect::<Result<_>>()?;
    Ok(vec![take_axis(&a, plan.flatten, plan.axis, &idx, &ishape)])
}

fn take_along_axis(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let plan = take_along_plan(&call.call())?;
    let a = call.inputs[0].as_array();
    let shape: Vec<usize> = if plan.flatten {
        vec![a.len()]
    } else {
        a.shape().to_vec()
    };
    let st = c_strides(&shape);
    let out = plan.out.shape.clone();
    let CpuInput::Array(ih) = &call.inputs[1] else {
        return Err(Error::internal(call.op, "indices is not an array"));
    };
    let ishape = ih.shape().to_vec();
    let ist = c_strides(&ishape);
    let ivals = i64_values(ih, &ishape)?;
    let total: usize = out.iter().product();
    let mut src = Vec::with_capacity(total);
    let mut coord = vec![0usize; out.len()];
    for _ in 0..total {
        let mut ioff = 0;
        let mut off = 0;
        for (j, &cj) in coord.iter().enumerate() {
            ioff += if ishape[j] == 1 { 0 } else { cj * ist[j] };
            if j != plan.axis {
                off += if shape[j] == 1 { 0 } else { cj * st[j] };
            }
        }
        let v = norm_index(call.op, ivals[ioff], plan.axis, shape[plan.axis])?;
        src.push(off + v * st[plan.axis]);
        for j in (0..coord.len()).rev() {
            coord[j] += 1;
            if coord[j] < out[j] {
                break;
            }
            coord[j] = 0;
        }
    }
    Ok(vec![gather(&a, &src, &out, None)])
}

/// An input cast to `dtype` and broadcast to `shape`, in C order.
fn broadcast_vec<T: Element>(i: &CpuInput, dtype: DType, shape: &[usize]) -> Result<Vec<T>> {
    let h = i.to_array(dtype);
    let x = h.typed::<T>().expect("cast");
    let b = x
        .broadcast(IxDyn(shape))
        .ok_or_else(|| Error::internal("where", "broadcast failed after infer accepted it"))?;
    Ok(b.iter().copied().collect())
}

fn where_(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    if call.inputs.len() == 1 {
        return super::data_shaped::nonzero(call);
    }
    let m = where_out(&call.call())?;
    let dim = IxDyn(&m.shape);
    let broken = || Error::internal("where", "broadcast failed after infer accepted it");
    let cond = call.inputs[0].to_array(DType::Bool);
    let cond = cond.typed::<bool>().expect("cast to bool");
    let c = cond.broadcast(dim.clone()).ok_or_else(broken)?;
    Ok(vec![crate::with_dtype!(m.dtype, T => {
        let xh = call.inputs[1].to_array(m.dtype);
        let yh = call.inputs[2].to_array(m.dtype);
        let x = xh.typed::<T>().expect("cast").broadcast(dim.clone()).ok_or_else(broken)?;
        let y = yh.typed::<T>().expect("cast").broadcast(dim.clone()).ok_or_else(broken)?;
        // One pass over the three broadcast views (contiguous ones as slices), on the
        // rayon pool for large arrays.
        let zip = Zip::from(&c).and(&x).and(&y);
        let pick = |&c: &bool, &x: &T, &y: &T| if c { x } else { y };
        let v = if m.numel() >= PAR_MIN_LEN {
            zip.par_map_collect(pick)
        } else {
            zip.map_collect(pick)
        };
        <T as Element>::wrap(v.into_shared())
    })])
}

fn select(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let m = select_out(&call.call())?;
    let k = call.inputs.len() / 2;
    let default = call
        .attrs
        .scalar(call.op, "default")?
        .unwrap_or(ndserve_proto::Scalar::Int(0));
    let conds: Vec<Vec<bool>> = call.inputs[..k]
        .iter()
        .map(|i| broadcast_vec(i, DType::Bool, &m.shape))
        .collect::<Result<_>>()?;
    Ok(vec![crate::with_dtype!(m.dtype, T => {
        let d: Vec<T> = broadcast_vec(&CpuInput::Scalar(default), m.dtype, &m.shape)?;
        let choices: Vec<Vec<T>> = call.inputs[k..]
            .iter()
            .map(|i| broadcast_vec(i, m.dtype, &m.shape))
            .collect::<Result<_>>()?;
        let v: Vec<T> = (0..d.len())
            .map(|e| {
                (0..k)
                    .find(|&j| conds[j][e])
                    .map_or(d[e], |j| choices[j][e])
            })
            .collect();
        <T as Element>::wrap(ArcArray::from_shape_vec(IxDyn(&m.shape), v).expect("shape"))
    })])
}

fn diagonal(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let (off, a1, a2, m) = diagonal_plan(&call.call())?;
    let a = call.inputs[0].as_array();
    let shape = a.shape().to_vec();
    let st = c_strides(&shape);
    let mut dims: Vec<Vec<usize>> = (0..shape.len())
        .filter(|&j| j != a1 && j != a2)
        .map(|j| axis_offsets(shape[j], st[j]))
        .collect();
    let (r0, c0) = ((-off).max(0) as usize, off.max(0) as usize);
    let len = *m.shape.last().expect("diag axis");
    dims.push(
        (0..len)
            .map(|i| (i + r0) * st[a1] + (i + c0) * st[a2])
            .collect(),
    );
    Ok(vec![gather(&a, &outer_offsets(0, &dims), &m.shape, None)])
}

fn diag_indices(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let (n, nd) = diag_indices_args(&call.call())?;
    let r =
        HostArray::I64(ArcArray::from_shape_vec(IxDyn(&[n]), (0..n as i64).collect()).expect("n"));
    Ok(vec![r; nd])
}

fn ix(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    Ok(call
        .inputs
        .iter()
        .zip(call.outs)
        .enumerate()
        .map(|(k, (i, m))| match i {
            // A boolean sequence: the indices where it is true, along axis k.
            CpuInput::Array(b) if b.dtype().is_bool() => {
                let idx = super::data_shaped::nonzero_coords(b).swap_remove(0);
                let mut shape = m.shape.clone();
                shape[k] = idx.len();
                HostArray::I64(ArcArray::from_shape_vec(IxDyn(&shape), idx).expect("1 x n"))
            }
            _ => {
                let h = i.to_array(m.dtype);
                crate::with_array!(&h, x, T => <T as Element>::wrap(reshape_c(x, &m.shape)))
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use ndserve_proto::{Attr, Attrs};

    use super::super::cast::cast;
    use super::super::kernels::{CpuInput, run};
    use super::super::testing::arange;
    use super::*;

    fn get(a: &HostArray, key: Vec<IndexItem>) -> ndserve_proto::Result<(Vec<usize>, Vec<f64>)> {
        let attrs = Attrs::new().with("key", Attr::Index(key));
        let ins = [CpuInput::Array(a.clone())];
        let metas: Vec<_> = ins.iter().map(CpuInput::meta).collect();
        let outs = ndserve_proto::ops::infer("getitem", &metas, &attrs)?;
        let r = run("getitem", &ins, &attrs, &outs)?.remove(0);
        // Through the wire bytes too, which lay views out in C order.
        let bytes = r.to_le_bytes();
        let back = HostArray::from_le_bytes(&r.meta(), &bytes).unwrap();
        let v = cast(&back, DType::Float64)
            .typed::<f64>()
            .unwrap()
            .iter()
            .copied()
            .collect();
        Ok((r.shape().to_vec(), v))
    }

    fn sl(a: Option<i64>, b: Option<i64>, c: Option<i64>) -> IndexItem {
        IndexItem::Slice(a, b, c)
    }

    fn f(v: &[i32]) -> Vec<f64> {
        v.iter().map(|&x| x as f64).collect()
    }

    #[test]
    fn one_d_slices_match_numpy() {
        let a = arange(DType::Int32, &[10]);
        let b = arange(DType::Float16, &[4]);
        let cases: &[(&HostArray, IndexItem, &[i32])] = &[
            (
                &a,
                sl(None, None, Some(-1)),
                &[9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
            ),
            (&a, sl(Some(5), Some(1), Some(-2)), &[5, 3]),
            (&b, sl(Some(-1), Some(-10), Some(-3)), &[3, 0]),
            (&a, sl(Some(8), Some(2), None), &[]),
            (&a, sl(None, None, Some(-3)), &[9, 6, 3, 0]),
            (&a, sl(Some(-100), Some(100), Some(4)), &[0, 4, 8]),
            (&a, sl(Some(7), Some(-100), Some(-4)), &[7, 3]),
            (&a, sl(Some(1), Some(9), Some(3)), &[1, 4, 7]),
        ];
        for (x, k, want) in cases {
            let (shape, v) = get(x, vec![k.clone()]).unwrap();
            assert_eq!((shape, v), (vec![want.len()], f(want)), "{k:?}");
        }
        let (shape, v) = get(&a, vec![IndexItem::Int(-3)]).unwrap();
        assert_eq!((shape, v), (vec![], vec![7.0]));
        assert!(get(&a, vec![IndexItem::Int(10)]).is_err());
        assert!(get(&a, vec![sl(None, None, Some(0))]).is_err());
    }

    #[test]
    fn n_d_keys_match_numpy() {
        let c = arange(DType::Int64, &[3, 4]);
        let g = |k: Vec<IndexItem>| get(&c, k).unwrap();
        use IndexItem::{Ellipsis, Int, NewAxis};
        assert_eq!(g(vec![Int(1)]), (vec![4], f(&[4, 5, 6, 7])));
        assert_eq!(
            g(vec![Ellipsis, sl(None, None, Some(-2))]),
            (vec![3, 2], f(&[3, 1, 7, 5, 11, 9]))
        );
        assert_eq!(
            g(vec![NewAxis, sl(Some(1), None, None), Int(-1)]),
            (vec![1, 2], f(&[7, 11]))
        );
        assert_eq!(
            g(vec![sl(None, None, None), NewAxis, Int(2)]),
            (vec![3, 1], f(&[2, 6, 10]))
        );
        assert_eq!(
            g(vec![Int(-1), sl(None, None, Some(-1))]),
            (vec![4], f(&[11, 10, 9, 8]))
        );
        assert_eq!(
            g(vec![sl(None, None, Some(-2)), sl(Some(1), Some(3), None)]),
            (vec![2, 2], f(&[9, 10, 1, 2]))
        );
        assert_eq!(
            g(vec![
                sl(Some(2), Some(0), Some(-1)),
                sl(None, None, Some(-3))
            ]),
            (vec![2, 2], f(&[11, 8, 7, 4]))
        );
        assert_eq!(g(vec![sl(Some(5), None, None)]), (vec![0, 4], vec![]));
        assert_eq!(g(vec![]), (vec![3, 4], (0..12).map(f64::from).collect()));
        let z = arange(DType::Complex128, &[]);
        assert_eq!(get(&z, vec![]).unwrap(), (vec![], vec![0.0]));
        assert_eq!(
            get(&z, vec![NewAxis, Ellipsis]).unwrap(),
            (vec![1], vec![0.0])
        );
        assert!(get(&z, vec![Int(0)]).is_err());
        // Slicing a slice (views of views).
        let a = arange(DType::UInt8, &[10]);
        let attrs = Attrs::new().with("key", Attr::Index(vec![sl(None, None, Some(-2))]));
        let ins = [CpuInput::Array(a)];
        let metas: Vec<_> = ins.iter().map(CpuInput::meta).collect();
        let outs = ndserve_proto::ops::infer("getitem", &metas, &attrs).unwrap();
        let r = run("getitem", &ins, &attrs, &outs).unwrap().remove(0);
        assert_eq!(
            get(&r, vec![sl(Some(1), None, Some(-1))]).unwrap(),
            (vec![2], f(&[7, 9]))
        );
    }
}
