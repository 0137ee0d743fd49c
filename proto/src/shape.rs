//! Shapes, broadcasting and axis rules, as NumPy has them.

use crate::error::{Error, Result};

/// An array shape: one length per axis, C order.
pub type Shape = Vec<usize>;

/// The most elements one array may have (2^48): larger requests are RESOURCE_EXHAUSTED
/// before any memory limit is consulted.
pub const MAX_ELEMENTS: u128 = 1 << 48;
/// The most axes an array may have (NumPy's limit).
pub const MAX_NDIM: usize = 64;

/// NumPy's shape notation: `(2,3)`, `(4,)`, `()`.
pub fn fmt_shape(s: &[usize]) -> String {
    match s.len() {
        1 => format!("({},)", s[0]),
        _ => format!(
            "({})",
            s.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

/// The number of elements, checked against [`MAX_ELEMENTS`] (RESOURCE_EXHAUSTED) and
/// [`MAX_NDIM`] (INVALID_ARGUMENT).
pub fn checked_numel(op: &str, shape: &[usize]) -> Result<usize> {
    if shape.len() > MAX_NDIM {
        return Err(Error::invalid(
            op,
            "shape",
            format!(
                "maximum supported dimension for an ndarray is {MAX_NDIM}, found {}",
                shape.len()
            ),
        ));
    }
    let mut n: u128 = 1;
    for &d in shape {
        n = n.saturating_mul(d as u128);
    }
    if shape.contains(&0) {
        return Ok(0);
    }
    if n > MAX_ELEMENTS {
        return Err(Error::exhausted(
            op,
            format!(
                "array of shape {} has {n} elements, more than the {MAX_ELEMENTS} one array may hold",
                fmt_shape(shape)
            ),
        ));
    }
    Ok(n as usize)
}

/// Converts NumPy dims (which may be negative in a request) to a shape.
pub fn shape_from_dims(op: &str, arg: &str, dims: &[i64]) -> Result<Shape> {
    dims.iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| {
                Error::invalid(op, arg, "negative dimensions are not allowed".to_string())
            })
        })
        .collect()
}

/// Broadcasts two shapes (NumPy's rules: align right, 1 stretches).
pub fn broadcast_shapes(op: &str, a: &[usize], b: &[usize]) -> Result<Shape> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(Error::ShapeMismatch {
                op: op.to_string(),
                lhs: a.to_vec(),
                rhs: b.to_vec(),
            });
        };
    }
    Ok(out)
}

/// Broadcasts any number of shapes.
pub fn broadcast_all<'a>(op: &str, shapes: impl IntoIterator<Item = &'a [usize]>) -> Result<Shape> {
    let mut out: Shape = vec![];
    for s in shapes {
        out = broadcast_shapes(op, &out, s)?;
    }
    Ok(out)
}

/// Normalises one axis into `0..ndim` (negative counts from the end).
pub fn normalize_axis(op: &str, axis: i64, ndim: usize) -> Result<usize> {
    let n = ndim as i64;
    if axis < -n || axis >= n {
        return Err(Error::AxisOutOfRange {
            op: op.to_string(),
            axis,
            ndim,
        });
    }
    Ok(if axis < 0 { axis + n } else { axis } as usize)
}

/// Normalises an `axis` argument that may be None (all axes), an int or a tuple; rejects
/// repeated axes. The result is sorted.
pub fn normalize_axes(op: &str, axes: Option<&[i64]>, ndim: usize) -> Result<Vec<usize>> {
    let Some(axes) = axes else {
        return Ok((0..ndim).collect());
    };
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let a = normalize_axis(op, a, ndim)?;
        if out.contains(&a) {
            return Err(Error::invalid(op, "axis", "repeated axis"));
        }
        out.push(a);
    }
    out.sort_unstable();
    Ok(out)
}

/// Strides (in elements) of a C-order array of this shape.
pub fn c_strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(
            broadcast_shapes("add", &[2, 1], &[1, 2]).unwrap(),
            vec![2, 2]
        );
        assert_eq!(broadcast_shapes("add", &[], &[3]).unwrap(), vec![3]);
        assert_eq!(broadcast_shapes("add", &[4, 0], &[1]).unwrap(), vec![4, 0]);
        assert_eq!(
            broadcast_shapes("add", &[1, 3, 1], &[2, 1, 5]).unwrap(),
            vec![2, 3, 5]
        );
        let e = broadcast_shapes("add", &[2, 3], &[4]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "add: operands could not be broadcast together with shapes (2,3) (4,)"
        );
        assert!(broadcast_shapes("add", &[0], &[2]).is_err());
    }

    #[test]
    fn axes_normalise_and_reject() {
        assert_eq!(normalize_axis("sum", -1, 3).unwrap(), 2);
        assert_eq!(
            normalize_axes("sum", Some(&[-1, 0]), 3).unwrap(),
            vec![0, 2]
        );
        assert_eq!(normalize_axes("sum", None, 2).unwrap(), vec![0, 1]);
        let e = normalize_axis("sum", 3, 3).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::InvalidArgument);
        assert!(
            e.to_string()
                .contains("axis 3 is out of bounds for array of dimension 3")
        );
        assert!(normalize_axes("sum", Some(&[1, -2]), 3).is_err());
        assert!(normalize_axis("sum", 0, 0).is_err());
    }

    #[test]
    fn sizes_are_checked() {
        assert_eq!(checked_numel("zeros", &[2, 3]).unwrap(), 6);
        assert_eq!(checked_numel("zeros", &[]).unwrap(), 1);
        assert_eq!(checked_numel("zeros", &[0, 1 << 40, 1 << 40]).unwrap(), 0);
        let e = checked_numel("zeros", &[1 << 40, 1 << 40]).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::ResourceExhausted);
    }
}
