//! Creation ops: `zeros`, `ones`, `empty`, `full`, the `*_like` forms, `arange`,
//! `linspace`, `eye`, `identity`, and the conversions `array`, `asarray`, `copy`, `astype`.

use crate::attrs::Attrs;
use crate::dtype::{DType, Kind, Operand, result_type};
use crate::error::{Error, Result};
use crate::ops::{Call, Meta, OpDef, Param, arr, attr};
use crate::params;
use crate::scalar::Scalar;
use crate::shape::{Shape, broadcast_shapes, shape_from_dims};

const SHAPE_DTYPE: &[Param] = &[attr("shape"), attr("dtype")];
const LIKE: &[Param] = &[arr("a"), attr("dtype"), attr("shape")];

pub(crate) fn defs() -> Vec<OpDef> {
    vec![
        OpDef {
            name: "zeros",
            params: SHAPE_DTYPE,
            summary: "A new array of zeros (np.zeros).",
            infer: infer_filled,
        },
        OpDef {
            name: "ones",
            params: SHAPE_DTYPE,
            summary: "A new array of ones (np.ones).",
            infer: infer_filled,
        },
        OpDef {
            name: "empty",
            params: SHAPE_DTYPE,
            summary: "A new array; ndserve fills it with zeros, as tnp does (np.empty).",
            infer: infer_filled,
        },
        OpDef {
            name: "full",
            params: params![attr("shape"), arr("fill_value"), attr("dtype")],
            summary: "A new array filled with fill_value, broadcast to shape (np.full).",
            infer: infer_full,
        },
        OpDef {
            name: "zeros_like",
            params: LIKE,
            summary: "Zeros with the shape and dtype of a (np.zeros_like).",
            infer: infer_like,
        },
        OpDef {
            name: "ones_like",
            params: LIKE,
            summary: "Ones with the shape and dtype of a (np.ones_like).",
            infer: infer_like,
        },
        OpDef {
            name: "empty_like",
            params: LIKE,
            summary: "Zeros with the shape and dtype of a (np.empty_like).",
            infer: infer_like,
        },
        OpDef {
            name: "full_like",
            params: params![
                arr("a"),
                arr("fill_value"),
                attr("dtype"),
                attr("order"),
                attr("subok"),
                attr("shape")
            ],
            summary: "fill_value with the shape and dtype of a (np.full_like).",
            infer: infer_like,
        },
        OpDef {
            name: "arange",
            params: params![attr("start"), attr("stop"), attr("step"), attr("dtype")],
            summary: "Evenly spaced values in [start, stop) (np.arange).",
            infer: |c| Ok(vec![arange_plan(c)?.out]),
        },
        OpDef {
            name: "linspace",
            params: params![
                attr("start"),
                attr("stop"),
                attr("num"),
                attr("endpoint"),
                attr("retstep"),
                attr("dtype"),
                attr("axis")
            ],
            summary: "num evenly spaced samples over [start, stop] (np.linspace).",
            infer: infer_linspace,
        },
        OpDef {
            name: "eye",
            params: params![attr("N"), attr("M"), attr("k"), attr("dtype")],
            summary: "A 2-D array with ones on the k-th diagonal (np.eye).",
            infer: infer_eye,
        },
        OpDef {
            name: "identity",
            params: params![attr("n"), attr("dtype")],
            summary: "The n x n identity matrix (np.identity).",
            infer: infer_eye,
        },
        OpDef {
            name: "astype",
            params: params![arr("x"), attr("dtype")],
            summary: "A copy cast to dtype, with C casting rules (ndarray.astype).",
            infer: infer_convert,
        },
        OpDef {
            name: "array",
            params: params![arr("object"), attr("dtype"), attr("copy"), attr("ndmin")],
            summary: "An array from an array-like (np.array).",
            infer: infer_convert,
        },
        OpDef {
            name: "asarray",
            params: params![arr("a"), attr("dtype")],
            summary: "An array from an array-like (np.asarray).",
            infer: infer_convert,
        },
        OpDef {
            name: "asanyarray",
            params: params![arr("a"), attr("dtype")],
            summary: "An array from an array-like (np.asanyarray).",
            infer: infer_convert,
        },
        OpDef {
            name: "ascontiguousarray",
            params: params![arr("a"), attr("dtype")],
            summary: "A C-contiguous array of at least one dimension (np.ascontiguousarray).",
            infer: infer_convert,
        },
        OpDef {
            name: "copy",
            params: params![arr("a")],
            summary: "An array copy of the given object (np.copy).",
            infer: infer_convert,
        },
    ]
}

/// Reads a `shape` attribute (an int or a tuple of ints).
pub fn shape_attr(op: &str, attrs: &Attrs, name: &str) -> Result<Shape> {
    let dims = attrs
        .ints(op, name)?
        .ok_or_else(|| Error::invalid(op, name, format!("missing required argument '{name}'")))?;
    shape_from_dims(op, name, &dims)
}

fn dtype_or(op: &str, attrs: &Attrs, default: DType) -> Result<DType> {
    Ok(attrs.dtype(op, "dtype")?.unwrap_or(default))
}

fn infer_filled(c: &Call<'_>) -> Result<Vec<Meta>> {
    c.expect_inputs(0)?;
    c.attrs.check_known(c.op, &["shape", "dtype", "order"])?;
    let shape = shape_attr(c.op, c.attrs, "shape")?;
    Ok(vec![Meta::new(
        dtype_or(c.op, c.attrs, DType::Float64)?,
        shape,
    )])
}

fn infer_full(c: &Call<'_>) -> Result<Vec<Meta>> {
    c.expect_inputs(1)?;
    c.attrs.check_known(c.op, &["shape", "dtype", "order"])?;
    let shape = shape_attr(c.op, c.attrs, "shape")?;
    let fill = c.array(0, "fill_value")?;
    check_fill_broadcast(c.op, &fill.shape, &shape)?;
    Ok(vec![Meta::new(dtype_or(c.op, c.attrs, fill.dtype)?, shape)])
}

fn check_fill_broadcast(op: &str, fill: &[usize], shape: &[usize]) -> Result<()> {
    let b = broadcast_shapes(op, fill, shape)?;
    if b != shape {
        return Err(Error::invalid(
            op,
            "fill_value",
            format!(
                "could not broadcast input array from shape {} into shape {}",
                crate::shape::fmt_shape(fill),
                crate::shape::fmt_shape(shape)
            ),
        ));
    }
    Ok(())
}

fn infer_like(c: &Call<'_>) -> Result<Vec<Meta>> {
    let a = c.array(0, "a")?;
    let n = if c.op == "full_like" { 2 } else { 1 };
    c.expect_inputs(n)?;
    c.attrs
        .check_known(c.op, &["dtype", "shape", "order", "subok"])?;
    let shape = match c.attrs.get("shape") {
        Some(_) => shape_attr(c.op, c.attrs, "shape")?,
        None => a.shape.clone(),
    };
    if c.op == "full_like" {
        let fill = c.array(1, "fill_value")?;
        check_fill_broadcast(c.op, &fill.shape, &shape)?;
    }
    Ok(vec![Meta::new(dtype_or(c.op, c.attrs, a.dtype)?, shape)])
}

fn infer_convert(c: &Call<'_>) -> Result<Vec<Meta>> {
    c.expect_inputs(1)?;
    let a = c.array(0, "a")?;
    let known: &[&str] = match c.op {
        "astype" => &["dtype", "copy", "casting"],
        "array" => &["dtype", "copy", "ndmin", "order"],
        "copy" => &["order"],
        _ => &["dtype", "order"],
    };
    c.attrs.check_known(c.op, known)?;
    let dtype = if c.op == "astype" {
        c.attrs
            .dtype(c.op, "dtype")?
            .ok_or_else(|| Error::invalid(c.op, "dtype", "missing required argument 'dtype'"))?
    } else {
        dtype_or(c.op, c.attrs, a.dtype)?
    };
    let mut shape = a.shape.clone();
    let ndmin = match c.op {
        "ascontiguousarray" => 1,
        "array" => c.attrs.int_or(c.op, "ndmin", 0)?,
        _ => 0,
    };
    if ndmin > crate::shape::MAX_NDIM as i64 {
        return Err(Error::invalid(
            c.op,
            "ndmin",
            format!(
                "ndmin bigger than allowable number of dimensions NPY_MAXDIMS ({})",
                crate::shape::MAX_NDIM
            ),
        ));
    }
    while (shape.len() as i64) < ndmin {
        shape.insert(0, 1);
    }
    Ok(vec![Meta::new(dtype, shape)])
}

/// `arange` resolved: the first value, the step, the length and the result.
#[derive(Clone, Debug, PartialEq)]
pub struct ArangePlan {
    /// First value.
    pub start: Scalar,
    /// Step.
    pub step: Scalar,
    /// Number of values.
    pub len: usize,
    /// Result.
    pub out: Meta,
}

/// Resolves `arange(stop)`, `arange(start, stop)`, `arange(start, stop, step)`.
pub fn arange_plan(c: &Call<'_>) -> Result<ArangePlan> {
    let op = c.op;
    c.expect_inputs(0)?;
    c.attrs
        .check_known(op, &["start", "stop", "step", "dtype"])?;
    let a = c.attrs.scalar(op, "start")?;
    let b = c.attrs.scalar(op, "stop")?;
    let (start, stop) = match (a, b) {
        (Some(a), Some(b)) => (a, b),
        (Some(a), None) => (Scalar::Int(0), a),
        (None, Some(b)) => (Scalar::Int(0), b),
        (None, None) => {
            return Err(Error::invalid(
                op,
                "stop",
                "arange() requires stop to be specified.",
            ));
        }
    };
    let step = c.attrs.scalar(op, "step")?.unwrap_or(Scalar::Int(1));
    for (s, n) in [(start, "start"), (stop, "stop"), (step, "step")] {
        if s.kind() == Kind::Complex {
            return Err(Error::invalid(
                op,
                n,
                "arange does not accept complex arguments",
            ));
        }
    }
    let ops = [
        Operand::Scalar(start.kind()),
        Operand::Scalar(stop.kind()),
        Operand::Scalar(step.kind()),
    ];
    let natural = result_type(&ops).expect("three operands");
    let natural = if natural == DType::Bool {
        DType::Int64
    } else {
        natural
    };
    let dtype = c.attrs.dtype(op, "dtype")?.unwrap_or(natural);
    let len = match (start.as_int(), stop.as_int(), step.as_int()) {
        (Some(a), Some(b), Some(s)) => {
            if s == 0 {
                return Err(Error::invalid(op, "step", "Maximum allowed size exceeded"));
            }
            let n = (b - a + s - s.signum()) / s;
            n.max(0) as u128
        }
        _ => {
            let (a, b, s) = (start.as_f64(), stop.as_f64(), step.as_f64());
            if s == 0.0 {
                return Err(Error::invalid(op, "step", "Maximum allowed size exceeded"));
            }
            let n = ((b - a) / s).ceil();
            if !n.is_finite() {
                return Err(Error::invalid(op, "stop", "arange: cannot compute length"));
            }
            n.max(0.0) as u128
        }
    };
    if len > crate::shape::MAX_ELEMENTS {
        return Err(Error::exhausted(
            op,
            format!("arange of {len} elements is too large"),
        ));
    }
    Ok(ArangePlan {
        start,
        step,
        len: len as usize,
        out: Meta::new(dtype, vec![len as usize]),
    })
}

fn infer_linspace(c: &Call<'_>) -> Result<Vec<Meta>> {
    let p = linspace_plan(c)?;
    let mut out = vec![p.out];
    if p.retstep {
        out.push(Meta::new(p.compute, vec![]));
    }
    Ok(out)
}

/// `linspace` resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct LinspacePlan {
    /// Start.
    pub start: Scalar,
    /// Stop.
    pub stop: Scalar,
    /// Number of samples.
    pub num: usize,
    /// Include stop.
    pub endpoint: bool,
    /// Also return the step.
    pub retstep: bool,
    /// The dtype the samples are computed in (float64 or complex128).
    pub compute: DType,
    /// The samples.
    pub out: Meta,
}

/// Resolves a `linspace` call.
pub fn linspace_plan(c: &Call<'_>) -> Result<LinspacePlan> {
    let op = c.op;
    c.expect_inputs(0)?;
    c.attrs.check_known(
        op,
        &[
            "start", "stop", "num", "endpoint", "retstep", "dtype", "axis",
        ],
    )?;
    let start = c
        .attrs
        .scalar(op, "start")?
        .ok_or_else(|| Error::invalid(op, "start", "missing required argument 'start'"))?;
    let stop = c
        .attrs
        .scalar(op, "stop")?
        .ok_or_else(|| Error::invalid(op, "stop", "missing required argument 'stop'"))?;
    let num = c.attrs.int_or(op, "num", 50)?;
    if num < 0 {
        return Err(Error::invalid(
            op,
            "num",
            format!("Number of samples, {num}, must be non-negative."),
        ));
    }
    let axis = c.attrs.int_or(op, "axis", 0)?;
    if axis != 0 && axis != -1 {
        return Err(Error::AxisOutOfRange {
            op: op.into(),
            axis,
            ndim: 1,
        });
    }
    let compute = result_type(&[
        Operand::Scalar(start.kind()),
        Operand::Scalar(stop.kind()),
        Operand::Scalar(Kind::Float),
    ])
    .expect("operands");
    let dtype = c.attrs.dtype(op, "dtype")?.unwrap_or(compute);
    Ok(LinspacePlan {
        start,
        stop,
        num: num as usize,
        endpoint: c.attrs.bool_or(op, "endpoint", true)?,
        retstep: c.attrs.bool_or(op, "retstep", false)?,
        compute,
        out: Meta::new(dtype, vec![num as usize]),
    })
}

/// `eye`/`identity` resolved: rows, columns, diagonal.
pub fn eye_params(c: &Call<'_>) -> Result<(usize, usize, i64, DType)> {
    let op = c.op;
    c.expect_inputs(0)?;
    let first = if op == "identity" { "n" } else { "N" };
    c.attrs
        .check_known(op, &[first, "M", "k", "dtype", "order"])?;
    let n = c
        .attrs
        .int(op, first)?
        .ok_or_else(|| Error::invalid(op, first, format!("missing required argument '{first}'")))?;
    let m = if op == "identity" {
        n
    } else {
        c.attrs.int(op, "M")?.unwrap_or(n)
    };
    let k = if op == "identity" {
        0
    } else {
        c.attrs.int_or(op, "k", 0)?
    };
    if n < 0 || m < 0 {
        return Err(Error::invalid(
            op,
            first,
            "negative dimensions are not allowed",
        ));
    }
    Ok((
        n as usize,
        m as usize,
        k,
        dtype_or(op, c.attrs, DType::Float64)?,
    ))
}

fn infer_eye(c: &Call<'_>) -> Result<Vec<Meta>> {
    let (n, m, _, d) = eye_params(c)?;
    Ok(vec![Meta::new(d, vec![n, m])])
}
