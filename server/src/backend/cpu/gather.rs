//! Gathers by flat source offsets: the common kernel of the rearranging and indexing ops
//! (`tile`, `repeat`, `pad`, `roll`, `take`, advanced `getitem`, ...).
//!
//! An op describes its result as an outer sum of per-dimension offset lists (C order),
//! plus a base offset; [`FILL`] marks positions that take a fill value (`pad`'s constant).

use ndarray::{ArcArray, IxDyn};
use ndserve_proto::Result;

use super::array::{Element, HostArray, Nd};
use super::cast::cast;

/// The offset of a position that takes the fill value.
pub const FILL: usize = usize::MAX;

/// The outer sum of per-dimension offset lists, in C order, plus `base`; [`FILL`] is
/// absorbing.
pub fn outer_offsets(base: usize, dims: &[Vec<usize>]) -> Vec<usize> {
    let mut cur = vec![base];
    for d in dims {
        let mut next = Vec::with_capacity(cur.len() * d.len());
        for &c in &cur {
            for &o in d {
                next.push(if c == FILL || o == FILL { FILL } else { c + o });
            }
        }
        cur = next;
    }
    cur
}

/// The elements of `x` in C order.
pub fn c_vec<T: Element>(x: &Nd<T>) -> Vec<T> {
    match x.as_slice() {
        Some(s) => s.to_vec(),
        None => x.iter().copied().collect(),
    }
}

/// `a`'s elements at `src` (flat C-order offsets), shaped `shape`; [`FILL`] positions take
/// `fill` (a 0-d array of any dtype, cast to `a`'s).
pub fn gather(
    a: &HostArray,
    src: &[usize],
    shape: &[usize],
    fill: Option<&HostArray>,
) -> HostArray {
    let fill = fill.map(|f| cast(f, a.dtype()));
    crate::with_array!(a, x, T => {
        let fv: T = fill
            .as_ref()
            .and_then(|f| f.typed::<T>().and_then(|f| f.iter().next().copied()))
            .unwrap_or_default();
        let data: Vec<T> = match x.as_slice() {
            Some(s) => src.iter().map(|&o| if o == FILL { fv } else { s[o] }).collect(),
            None => {
                let v = c_vec(x);
                src.iter().map(|&o| if o == FILL { fv } else { v[o] }).collect()
            }
        };
        <T as Element>::wrap(
            ArcArray::from_shape_vec(IxDyn(shape), data).expect("offsets match the shape"),
        )
    })
}

/// `a` (flattened first when `flatten`) at positions `idx` along `axis`, every other axis
/// whole: the gather of `take` and `compress`. `idx` are in range; the result has
/// `idx_shape` in place of the axis.
pub fn take_axis(
    a: &HostArray,
    flatten: bool,
    axis: usize,
    idx: &[usize],
    idx_shape: &[usize],
) -> HostArray {
    let shape: Vec<usize> = if flatten {
        vec![a.len()]
    } else {
        a.shape().to_vec()
    };
    let st = ndserve_proto::shape::c_strides(&shape);
    let mut dims: Vec<Vec<usize>> = (0..axis).map(|j| axis_offsets(shape[j], st[j])).collect();
    dims.push(idx.iter().map(|&i| i * st[axis]).collect());
    dims.extend((axis + 1..shape.len()).map(|j| axis_offsets(shape[j], st[j])));
    let mut out: Vec<usize> = shape[..axis].to_vec();
    out.extend_from_slice(idx_shape);
    out.extend_from_slice(&shape[axis + 1..]);
    gather(a, &outer_offsets(0, &dims), &out, None)
}

/// The elements of an integer (or bool) array as i64, broadcast to `shape`, C order.
pub fn i64_values(a: &HostArray, shape: &[usize]) -> Result<Vec<i64>> {
    let c = cast(a, ndserve_proto::DType::Int64);
    let x = c.typed::<i64>().expect("cast to int64");
    let b = x.broadcast(IxDyn(shape)).ok_or_else(|| {
        ndserve_proto::Error::internal("gather", "index broadcast failed after infer")
    })?;
    Ok(b.iter().copied().collect())
}

/// `(0..n).map(|i| i * stride)`.
pub fn axis_offsets(n: usize, stride: usize) -> Vec<usize> {
    (0..n).map(|i| i * stride).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outer_sums_in_c_order() {
        assert_eq!(
            outer_offsets(1, &[vec![0, 10], vec![0, 1, 2]]),
            vec![1, 2, 3, 11, 12, 13]
        );
        assert_eq!(outer_offsets(0, &[vec![0, FILL]]), vec![0, FILL]);
        assert_eq!(outer_offsets(5, &[]), vec![5]);
        assert!(outer_offsets(0, &[vec![], vec![1]]).is_empty());
    }
}
