//! `random.*`: seeded, reproducible per session.
//!
//! The server keeps no generator state. The client holds the session's seed and a counter
//! and sends both as the attributes `seed` and `counter` of every random op; the kernel
//! draws from a ChaCha8 stream chosen by them, so the same seed replays the same values
//! and no two calls share a stream. Without those attributes the server draws a fresh
//! seed from the OS.

use super::DataDependence;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::ops::{Call, Input, Meta, OpDef, arr_or, attr};
use crate::params;
use crate::scalar::Scalar;
use crate::shape::{Shape, broadcast_all, shape_from_dims};

/// The attributes the client adds to every random op.
pub const SEED_ATTRS: [&str; 2] = ["seed", "counter"];

pub(crate) fn defs() -> Vec<OpDef> {
    vec![
        OpDef {
            name: "random.standard_normal",
            params: params![attr("size")],
            summary: "Samples from the standard normal distribution (np.random.standard_normal).",
            infer: |c| sized(c, &["size"], DType::Float64),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "random.randn",
            params: params![attr("size")],
            summary: "Standard normal samples of the given dimensions (np.random.randn).",
            infer: |c| sized(c, &["size"], DType::Float64),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "random.random",
            params: params![attr("size")],
            summary: "Uniform samples in [0, 1) (np.random.random).",
            infer: |c| sized(c, &["size"], DType::Float64),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "random.rand",
            params: params![attr("size")],
            summary: "Uniform samples in [0, 1) of the given dimensions (np.random.rand).",
            infer: |c| sized(c, &["size"], DType::Float64),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "random.uniform",
            params: params![
                arr_or("low", Scalar::Float(0.0)),
                arr_or("high", Scalar::Float(1.0)),
                attr("size")
            ],
            summary: "Uniform samples in [low, high) (np.random.uniform).",
            infer: |c| Ok(vec![param_plan(c, &["low", "high"], DType::Float64)?]),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "random.poisson",
            params: params![arr_or("lam", Scalar::Float(1.0)), attr("size")],
            summary: "Poisson samples with expectation lam (np.random.poisson).",
            infer: |c| Ok(vec![param_plan(c, &["lam"], DType::Int64)?]),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "random.randint",
            params: params![attr("low"), attr("high"), attr("size"), attr("dtype")],
            summary: "Random integers in [low, high), or [0, low) without high (np.random.randint).",
            infer: |c| Ok(vec![randint_plan(c)?.2]),
            data_dependent: DataDependence::Never,
        },
    ]
}

/// The `size` attribute: None gives `()`, an int `(n,)`.
pub fn size_attr(c: &Call<'_>) -> Result<Option<Shape>> {
    match c.attrs.ints(c.op, "size")? {
        None => Ok(None),
        Some(d) => shape_from_dims(c.op, "size", &d).map(Some),
    }
}

fn sized(c: &Call<'_>, known: &[&str], dtype: DType) -> Result<Vec<Meta>> {
    c.expect_inputs(0)?;
    let mut k: Vec<&str> = known.to_vec();
    k.extend(SEED_ATTRS);
    c.attrs.check_known(c.op, &k)?;
    Ok(vec![Meta::new(dtype, size_attr(c)?.unwrap_or_default())])
}

/// Ops with array parameters (`uniform`'s low/high, `poisson`'s lam): `size`, or the
/// broadcast shape of the parameters.
pub fn param_plan(c: &Call<'_>, names: &[&str], dtype: DType) -> Result<Meta> {
    let mut k: Vec<&str> = vec!["size"];
    k.extend(SEED_ATTRS);
    c.attrs.check_known(c.op, &k)?;
    if c.inputs.len() != names.len() {
        return Err(Error::invalid(
            c.op,
            names[0],
            format!("{} takes {} distribution parameters", c.op, names.len()),
        ));
    }
    for (i, n) in c.inputs.iter().zip(names) {
        if i.as_array().dtype.is_complex() {
            return Err(Error::invalid(
                c.op,
                n,
                "complex parameters are not supported",
            ));
        }
    }
    let pshape = broadcast_all(c.op, c.inputs.iter().map(Input::shape))?;
    let shape = match size_attr(c)? {
        Some(s) => {
            if broadcast_all(c.op, [pshape.as_slice(), s.as_slice()])? != s {
                return Err(Error::invalid(
                    c.op,
                    "size",
                    "shape mismatch: objects cannot be broadcast to a single shape",
                ));
            }
            s
        }
        None => pshape,
    };
    Ok(Meta::new(dtype, shape))
}

/// `randint` resolved: `[low, high)`, and the result.
pub fn randint_plan(c: &Call<'_>) -> Result<(i128, i128, Meta)> {
    let op = c.op;
    c.expect_inputs(0)?;
    let mut k: Vec<&str> = vec!["low", "high", "size", "dtype"];
    k.extend(SEED_ATTRS);
    c.attrs.check_known(op, &k)?;
    let int = |name: &str| -> Result<Option<i128>> {
        match c.attrs.scalar(op, name)? {
            None => Ok(None),
            Some(s) => s
                .as_int()
                .map(Some)
                .ok_or_else(|| Error::invalid(op, name, "must be an integer")),
        }
    };
    let a =
        int("low")?.ok_or_else(|| Error::invalid(op, "low", "missing required argument 'low'"))?;
    let (low, high) = match int("high")? {
        Some(h) => (a, h),
        None => (0, a),
    };
    if low >= high {
        return Err(Error::invalid(op, "high", "low >= high"));
    }
    let dtype = c.attrs.dtype(op, "dtype")?.unwrap_or(DType::Int64);
    let Some((lo, hi)) = dtype.int_range() else {
        return Err(Error::dtype(
            op,
            "dtype",
            format!("Unsupported dtype {dtype} for randint"),
        ));
    };
    if low < lo || high - 1 > hi {
        return Err(Error::invalid(
            op,
            "low",
            format!("low or high is out of bounds for {dtype}"),
        ));
    }
    Ok((
        low,
        high,
        Meta::new(dtype, size_attr(c)?.unwrap_or_default()),
    ))
}
