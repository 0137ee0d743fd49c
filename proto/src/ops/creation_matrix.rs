//! Building matrices (NumPy's `numpy.lib._twodim_base_impl` and `meshgrid`): `diag`,
//! `diagflat`, `tri`, `tril`, `triu`, `vander`, `meshgrid`.
//!
//! Each op is one [`OpDef`]; the `*_plan` functions resolve a call's arguments for the
//! kernels, so client and server read them the same way.

use super::DataDependence;
use crate::attrs::Attr;
use crate::dtype::{DType, promote_types};
use crate::error::{Error, Result};
use crate::ops::{Call, Meta, OpDef, arr, arrs, attr};
use crate::params;
use crate::shape::Shape;

pub(crate) fn defs() -> Vec<OpDef> {
    vec![
        OpDef {
            name: "diag",
            params: params![arr("v"), attr("k")],
            summary: "The k-th diagonal of a 2-D array, or a 2-D array with a 1-D one on its k-th diagonal (np.diag).",
            infer: |c| Ok(vec![diag_plan(c)?.out]),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "diagflat",
            params: params![arr("v"), attr("k")],
            summary: "A 2-D array with the flattened input on its k-th diagonal (np.diagflat).",
            infer: |c| Ok(vec![diag_plan(c)?.out]),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "tri",
            params: params![attr("N"), attr("M"), attr("k"), attr("dtype")],
            summary: "An N x M array with ones at and below the k-th diagonal (np.tri).",
            infer: |c| {
                let (n, m, _, dtype) = tri_params(c)?;
                Ok(vec![Meta::new(dtype, vec![n, m])])
            },
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "tril",
            params: params![arr("m"), attr("k")],
            summary: "A copy with the elements above the k-th diagonal zeroed (np.tril).",
            infer: |c| Ok(vec![triangle_plan(c)?.1]),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "triu",
            params: params![arr("m"), attr("k")],
            summary: "A copy with the elements below the k-th diagonal zeroed (np.triu).",
            infer: |c| Ok(vec![triangle_plan(c)?.1]),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "vander",
            params: params![arr("x"), attr("N"), attr("increasing")],
            summary: "The Vandermonde matrix of a 1-D array: its columns are powers of it (np.vander).",
            infer: |c| Ok(vec![vander_plan(c)?.0]),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "meshgrid",
            params: params![arrs("xi"), attr("copy"), attr("sparse"), attr("indexing")],
            summary: "Coordinate arrays from coordinate vectors, one per input (np.meshgrid).",
            infer: |c| Ok(meshgrid_plan(c)?.into_iter().map(|g| g.out).collect()),
            data_dependent: DataDependence::Never,
        },
    ]
}

/// An optional int attribute; Python's `None` counts as absent.
fn opt_int(c: &Call<'_>, name: &str) -> Result<Option<i64>> {
    match c.attrs.get(name) {
        Some(Attr::None) => Ok(None),
        _ => c.attrs.int(c.op, name),
    }
}

/// `diag`/`diagflat` resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct DiagPlan {
    /// The diagonal.
    pub k: i64,
    /// True when the input's diagonal is read (`diag` of a 2-D array); false when the
    /// input, flattened, is written on the diagonal of a new square array.
    pub extract: bool,
    /// The result.
    pub out: Meta,
}

/// Resolves `diag(v, k)` and `diagflat(v, k)`.
pub fn diag_plan(c: &Call<'_>) -> Result<DiagPlan> {
    let op = c.op;
    c.expect_inputs(1)?;
    c.attrs.check_known(op, &["k"])?;
    let v = c.array(0, "v")?;
    let k = opt_int(c, "k")?.unwrap_or(0);
    let build = |n: usize| -> Result<DiagPlan> {
        let n = n as u128 + k.unsigned_abs() as u128;
        if n > crate::shape::MAX_ELEMENTS {
            return Err(Error::exhausted(
                op,
                format!("a {n} x {n} array is too large"),
            ));
        }
        let n = n as usize;
        Ok(DiagPlan {
            k,
            extract: false,
            out: Meta::new(v.dtype, vec![n, n]),
        })
    };
    match (op, v.ndim()) {
        ("diagflat", _) => build(v.numel()),
        (_, 1) => build(v.shape[0]),
        (_, 2) => {
            let (rows, cols) = (v.shape[0] as i128, v.shape[1] as i128);
            let k = k as i128;
            let len = (rows - (-k).max(0)).min(cols - k.max(0)).max(0);
            Ok(DiagPlan {
                k: k as i64,
                extract: true,
                out: Meta::new(v.dtype, vec![len as usize]),
            })
        }
        _ => Err(Error::invalid(op, "v", "Input must be 1- or 2-d.")),
    }
}

/// `tri(N, M, k, dtype)` resolved: rows, columns, diagonal, dtype. Negative sizes give
/// empty axes, as in NumPy (`arange` of a negative length is empty).
pub fn tri_params(c: &Call<'_>) -> Result<(usize, usize, i64, DType)> {
    let op = c.op;
    c.expect_inputs(0)?;
    c.attrs.check_known(op, &["N", "M", "k", "dtype", "like"])?;
    let n = c
        .attrs
        .int(op, "N")?
        .ok_or_else(|| Error::invalid(op, "N", "missing required argument 'N'"))?;
    let m = opt_int(c, "M")?.unwrap_or(n);
    let k = opt_int(c, "k")?.unwrap_or(0);
    let dtype = c.attrs.dtype(op, "dtype")?.unwrap_or(DType::Float64);
    Ok((n.max(0) as usize, m.max(0) as usize, k, dtype))
}

/// `tril`/`triu` resolved: the diagonal and the result. A 1-D input is the row of an
/// `n x n` result, as NumPy broadcasts it against the mask.
pub fn triangle_plan(c: &Call<'_>) -> Result<(i64, Meta)> {
    let op = c.op;
    c.expect_inputs(1)?;
    c.attrs.check_known(op, &["k"])?;
    let m = c.array(0, "m")?;
    let k = opt_int(c, "k")?.unwrap_or(0);
    let shape: Shape = match m.ndim() {
        0 => {
            return Err(Error::invalid(
                op,
                "m",
                "tri() missing 1 required positional argument: 'N'",
            ));
        }
        1 => vec![m.shape[0], m.shape[0]],
        _ => m.shape.clone(),
    };
    Ok((k, Meta::new(m.dtype, shape)))
}

/// `vander(x, N, increasing)` resolved: the result and `increasing`. The result dtype is
/// `promote_types(x.dtype, int64)`.
pub fn vander_plan(c: &Call<'_>) -> Result<(Meta, bool)> {
    let op = c.op;
    c.expect_inputs(1)?;
    c.attrs.check_known(op, &["N", "increasing"])?;
    let x = c.array(0, "x")?;
    if x.ndim() != 1 {
        return Err(Error::invalid(
            op,
            "x",
            "x must be a one-dimensional array or sequence.",
        ));
    }
    if x.dtype == DType::BFloat16 {
        // ml_dtypes' bfloat16 has no common dtype with int64.
        return Err(Error::dtype(
            op,
            "x",
            "The DTypes <class 'numpy.dtype[bfloat16]'> and <class 'numpy.dtypes.Int64DType'> do not have a common DType.",
        ));
    }
    let n = opt_int(c, "N")?.unwrap_or(x.shape[0] as i64);
    if n < 0 {
        return Err(Error::invalid(
            op,
            "N",
            "negative dimensions are not allowed",
        ));
    }
    let dtype = promote_types(x.dtype, DType::Int64);
    Ok((
        Meta::new(dtype, vec![x.shape[0], n as usize]),
        c.attrs.bool_or(op, "increasing", false)?,
    ))
}

/// One output of `meshgrid`.
#[derive(Clone, Debug, PartialEq)]
pub struct GridPlan {
    /// The input, flattened, reshaped to this (all ones but one axis).
    pub sparse: Shape,
    /// The output: `sparse` itself, or broadcast to the full grid.
    pub out: Meta,
}

/// Resolves `meshgrid(*xi, copy, sparse, indexing)`: one [`GridPlan`] per input.
pub fn meshgrid_plan(c: &Call<'_>) -> Result<Vec<GridPlan>> {
    let op = c.op;
    c.attrs.check_known(op, &["copy", "sparse", "indexing"])?;
    let indexing = c.attrs.str(op, "indexing")?.unwrap_or("xy");
    if indexing != "xy" && indexing != "ij" {
        return Err(Error::invalid(
            op,
            "indexing",
            "Valid values for `indexing` are 'xy' and 'ij'.",
        ));
    }
    let sparse = c.attrs.bool_or(op, "sparse", false)?;
    c.attrs.bool_or(op, "copy", true)?;
    let n = c.inputs.len();
    let metas: Vec<Meta> = c.inputs.iter().map(|i| i.as_array()).collect();
    let mut shapes: Vec<Shape> = metas
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut s = vec![1; n];
            s[i] = m.numel();
            s
        })
        .collect();
    if indexing == "xy" && n > 1 {
        shapes[0].swap(0, 1);
        shapes[1].swap(0, 1);
    }
    let full: Shape = (0..n)
        .map(|ax| shapes.iter().map(|s| s[ax]).product())
        .collect();
    Ok(metas
        .into_iter()
        .zip(shapes)
        .map(|(m, s)| GridPlan {
            out: Meta::new(m.dtype, if sparse { s.clone() } else { full.clone() }),
            sparse: s,
        })
        .collect())
}
