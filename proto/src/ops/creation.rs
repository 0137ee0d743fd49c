//! Creation ops: `zeros`, `ones`, `empty`, `full`, the `*_like` forms, `arange`,
//! `linspace`, `logspace`, `geomspace`, `eye`, `identity`, and the conversions `array`,
//! `asarray`, `copy`, `astype`. The matrix builders (`diag`, `tri`, `meshgrid`, ...) are
//! in [`super::creation_matrix`].

use super::DataDependence;
use crate::attrs::Attrs;
use crate::dtype::{DType, Kind, Operand, result_type};
use crate::error::{Error, Result};
use crate::ops::{Call, Input, Meta, OpDef, Param, arr, arr_or, attr};
use crate::params;
use crate::scalar::Scalar;
use crate::shape::{Shape, broadcast_shapes, normalize_axis, shape_from_dims};

const SHAPE_DTYPE: &[Param] = &[attr("shape"), attr("dtype")];
const LIKE: &[Param] = &[arr("a"), attr("dtype"), attr("shape")];

pub(crate) fn defs() -> Vec<OpDef> {
    vec![
        OpDef {
            name: "zeros",
            params: SHAPE_DTYPE,
            summary: "A new array of zeros (np.zeros).",
            infer: infer_filled,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "ones",
            params: SHAPE_DTYPE,
            summary: "A new array of ones (np.ones).",
            infer: infer_filled,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "empty",
            params: SHAPE_DTYPE,
            summary: "A new array; ndserve fills it with zeros, as tnp does (np.empty).",
            infer: infer_filled,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "full",
            params: params![attr("shape"), arr("fill_value"), attr("dtype")],
            summary: "A new array filled with fill_value, broadcast to shape (np.full).",
            infer: infer_full,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "zeros_like",
            params: LIKE,
            summary: "Zeros with the shape and dtype of a (np.zeros_like).",
            infer: infer_like,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "ones_like",
            params: LIKE,
            summary: "Ones with the shape and dtype of a (np.ones_like).",
            infer: infer_like,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "empty_like",
            params: LIKE,
            summary: "Zeros with the shape and dtype of a (np.empty_like).",
            infer: infer_like,
            data_dependent: DataDependence::Never,
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
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "arange",
            params: params![attr("start"), attr("stop"), attr("step"), attr("dtype")],
            summary: "Evenly spaced values in [start, stop) (np.arange).",
            infer: |c| Ok(vec![arange_plan(c)?.out]),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "linspace",
            params: params![
                arr("start"),
                arr("stop"),
                attr("num"),
                attr("endpoint"),
                attr("retstep"),
                attr("dtype"),
                attr("axis")
            ],
            summary: "num evenly spaced samples over [start, stop] (np.linspace).",
            infer: infer_linspace,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "logspace",
            params: params![
                arr("start"),
                arr("stop"),
                attr("num"),
                attr("endpoint"),
                arr_or("base", Scalar::Float(10.0)),
                attr("dtype"),
                attr("axis")
            ],
            summary: "num samples spaced evenly on a log scale, base**start to base**stop (np.logspace).",
            infer: |c| Ok(vec![logspace_plan(c)?.out]),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "geomspace",
            params: params![
                arr("start"),
                arr("stop"),
                attr("num"),
                attr("endpoint"),
                attr("dtype"),
                attr("axis")
            ],
            summary: "num samples of a geometric progression from start to stop (np.geomspace).",
            infer: |c| Ok(vec![geomspace_plan(c)?.out]),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "eye",
            params: params![attr("N"), attr("M"), attr("k"), attr("dtype")],
            summary: "A 2-D array with ones on the k-th diagonal (np.eye).",
            infer: infer_eye,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "identity",
            params: params![attr("n"), attr("dtype")],
            summary: "The n x n identity matrix (np.identity).",
            infer: infer_eye,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "astype",
            params: params![arr("x"), attr("dtype")],
            summary: "A copy cast to dtype, with C casting rules (ndarray.astype).",
            infer: infer_convert,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "array",
            params: params![arr("object"), attr("dtype"), attr("copy"), attr("ndmin")],
            summary: "An array from an array-like (np.array).",
            infer: infer_convert,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "asarray",
            params: params![arr("a"), attr("dtype")],
            summary: "An array from an array-like (np.asarray).",
            infer: infer_convert,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "asanyarray",
            params: params![arr("a"), attr("dtype")],
            summary: "An array from an array-like (np.asanyarray).",
            infer: infer_convert,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "ascontiguousarray",
            params: params![arr("a"), attr("dtype")],
            summary: "A C-contiguous array of at least one dimension (np.ascontiguousarray).",
            infer: infer_convert,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "copy",
            params: params![arr("a")],
            summary: "An array copy of the given object (np.copy).",
            infer: infer_convert,
            data_dependent: DataDependence::Never,
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
        out.push(p.step);
    }
    Ok(out)
}

/// The samples of `linspace(start, stop, num, endpoint)` before NumPy moves their axis and
/// casts them: `num` samples along a new first axis, computed in `compute`.
#[derive(Clone, Debug, PartialEq)]
pub struct Samples {
    /// Number of samples.
    pub num: usize,
    /// Include stop.
    pub endpoint: bool,
    /// The dtype the samples are computed in: `result_type(start, stop, 0.0)` (an
    /// inexact dtype; bfloat16, which NumPy does not count as inexact, gives float64).
    pub compute: DType,
    /// `start` and `stop` broadcast together: the shape of one sample.
    pub shape: Shape,
}

impl Samples {
    /// `num - 1` with an endpoint, else `num`: the divisor of the step.
    pub fn div(&self) -> i64 {
        if self.endpoint {
            self.num as i64 - 1
        } else {
            self.num as i64
        }
    }

    /// The shape with the sample axis inserted at `axis`.
    fn shape_at(&self, axis: usize) -> Shape {
        let mut s = self.shape.clone();
        s.insert(axis, self.num);
        s
    }
}

/// NumPy's `linspace` core: the dtype and shape of the samples of `start`..`stop`.
pub fn samples(op: &str, start: &Input, stop: &Input, num: i64, endpoint: bool) -> Result<Samples> {
    if num < 0 {
        return Err(Error::invalid(
            op,
            "num",
            format!("Number of samples, {num}, must be non-negative."),
        ));
    }
    for (x, name) in [(start, "start"), (stop, "stop")] {
        if let Input::Scalar(Scalar::Int(i)) = x
            && (*i < i64::MIN as i128 || *i > u64::MAX as i128)
        {
            return Err(Error::invalid(
                op,
                name,
                format!("Python integer {i} is too large to convert to an array"),
            ));
        }
    }
    let dt = result_type(&[
        start.operand(),
        stop.operand(),
        Operand::Scalar(Kind::Float),
    ])
    .expect("operands");
    let compute = if dt == DType::BFloat16 {
        DType::Float64
    } else {
        dt
    };
    Ok(Samples {
        num: num as usize,
        endpoint,
        compute,
        shape: broadcast_shapes(op, start.shape(), stop.shape())?,
    })
}

/// `linspace` resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct LinspacePlan {
    /// The samples before their axis is moved and they are cast.
    pub samples: Samples,
    /// Where the sample axis goes in the result.
    pub axis: usize,
    /// Also return the step.
    pub retstep: bool,
    /// The samples.
    pub out: Meta,
    /// The step: `compute` with the samples' shape, or a float64 NaN when there is no
    /// step (`num - endpoint <= 0`).
    pub step: Meta,
}

/// The first two inputs of a call (`start`, `stop`), or Python scalars in the `start` and
/// `stop` attributes (the form older clients send).
fn ends(c: &Call<'_>) -> Result<(Input, Input)> {
    let op = c.op;
    match c.inputs.len() {
        0 => {
            let get = |name: &str| -> Result<Input> {
                c.attrs.scalar(op, name)?.map(Input::Scalar).ok_or_else(|| {
                    Error::invalid(op, name, format!("missing required argument '{name}'"))
                })
            };
            Ok((get("start")?, get("stop")?))
        }
        2 => Ok((c.inputs[0].clone(), c.inputs[1].clone())),
        n => Err(Error::invalid(
            op,
            "inputs",
            format!("takes 2 array argument(s), got {n}"),
        )),
    }
}

/// Resolves a `linspace` call.
pub fn linspace_plan(c: &Call<'_>) -> Result<LinspacePlan> {
    let op = c.op;
    let mut known = vec!["num", "endpoint", "retstep", "dtype", "axis"];
    if c.inputs.is_empty() {
        known.extend(["start", "stop"]);
    }
    c.attrs.check_known(op, &known)?;
    let (start, stop) = ends(c)?;
    let s = samples(
        op,
        &start,
        &stop,
        c.attrs.int_or(op, "num", 50)?,
        c.attrs.bool_or(op, "endpoint", true)?,
    )?;
    let axis = normalize_axis(op, c.attrs.int_or(op, "axis", 0)?, s.shape.len() + 1)?;
    let dtype = dtype_or(op, c.attrs, s.compute)?;
    if s.compute.is_complex() && dtype.is_integer() {
        return Err(Error::dtype(
            op,
            "dtype",
            "ufunc 'floor' not supported for the input types, and the inputs could not be safely coerced to any supported types according to the casting rule ''safe''",
        ));
    }
    let step = if s.div() > 0 {
        Meta::new(s.compute, s.shape.clone())
    } else {
        Meta::new(DType::Float64, vec![])
    };
    Ok(LinspacePlan {
        axis,
        retstep: c.attrs.bool_or(op, "retstep", false)?,
        out: Meta::new(dtype, s.shape_at(axis)),
        step,
        samples: s,
    })
}

/// `logspace` resolved: `power(base, linspace(start, stop, num, endpoint, axis))`.
#[derive(Clone, Debug, PartialEq)]
pub struct LogspacePlan {
    /// `start`, `stop` and `base` as NumPy passes them on: when `base` is an array of at
    /// least one dimension, all three become arrays of the same rank (Python scalars take
    /// their default dtype) and `base` gets a length-1 axis at `axis`; otherwise they are
    /// the inputs.
    pub operands: [Input; 3],
    /// The exponents: the samples of `start`..`stop`.
    pub samples: Samples,
    /// Where the sample axis goes.
    pub axis: usize,
    /// The dtype of `power(base, samples)`.
    pub power: DType,
    /// The result.
    pub out: Meta,
}

fn num_endpoint_axis(c: &Call<'_>) -> Result<(i64, bool, i64)> {
    Ok((
        c.attrs.int_or(c.op, "num", 50)?,
        c.attrs.bool_or(c.op, "endpoint", true)?,
        c.attrs.int_or(c.op, "axis", 0)?,
    ))
}

/// Resolves a `logspace` call (inputs `start`, `stop`, `base`).
pub fn logspace_plan(c: &Call<'_>) -> Result<LogspacePlan> {
    let op = c.op;
    c.attrs
        .check_known(op, &["num", "endpoint", "dtype", "axis"])?;
    let base = match c.inputs.len() {
        2 => Input::Scalar(Scalar::Float(10.0)),
        _ => {
            c.expect_inputs(3)?;
            c.inputs[2].clone()
        }
    };
    let (start, stop) = (c.inputs[0].clone(), c.inputs[1].clone());
    let (num, endpoint, axis) = num_endpoint_axis(c)?;
    let operands = match &base {
        Input::Array(b) if !b.shape.is_empty() => {
            // NumPy broadcasts an array base with the others, since it may change which
            // axis `axis` names.
            let nd =
                crate::shape::broadcast_all(op, [start.shape(), stop.shape(), &b.shape])?.len();
            let ndmin = |m: Meta| {
                let mut shape = vec![1; nd - m.ndim()];
                shape.extend(&m.shape);
                Meta::new(m.dtype, shape)
            };
            let mut b = ndmin(b.clone());
            let ax = normalize_axis(op, axis, nd + 1)?;
            b.shape.insert(ax, 1);
            [
                Input::Array(ndmin(start.as_array())),
                Input::Array(ndmin(stop.as_array())),
                Input::Array(b),
            ]
        }
        _ => [start, stop, base],
    };
    let s = samples(op, &operands[0], &operands[1], num, endpoint)?;
    let axis = normalize_axis(op, axis, s.shape.len() + 1)?;
    let y = Input::Array(Meta::new(s.compute, s.shape_at(axis)));
    let pow = crate::ops::math::plan_on(c, "power", &[operands[2].clone(), y])?;
    let out = Meta::new(dtype_or(op, c.attrs, pow.out.dtype)?, pow.out.shape.clone());
    Ok(LogspacePlan {
        operands,
        samples: s,
        axis,
        power: pow.out.dtype,
        out,
    })
}

/// `geomspace` resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct GeomspacePlan {
    /// Number of samples.
    pub num: usize,
    /// Include stop.
    pub endpoint: bool,
    /// The dtype NumPy computes in: `result_type(start, stop, float(num),
    /// zeros((), dtype))`, with `start` and `stop` as arrays.
    pub compute: DType,
    /// Where the sample axis goes.
    pub axis: usize,
    /// The result.
    pub out: Meta,
}

/// Resolves a `geomspace` call (inputs `start`, `stop`).
pub fn geomspace_plan(c: &Call<'_>) -> Result<GeomspacePlan> {
    let op = c.op;
    c.attrs
        .check_known(op, &["num", "endpoint", "dtype", "axis"])?;
    c.expect_inputs(2)?;
    let (start, stop) = (c.inputs[0].as_array(), c.inputs[1].as_array());
    let (num, endpoint, axis) = num_endpoint_axis(c)?;
    if num < 0 {
        return Err(Error::invalid(
            op,
            "num",
            format!("Number of samples, {num}, must be non-negative."),
        ));
    }
    let requested = c.attrs.dtype(op, "dtype")?;
    let compute = result_type(&[
        Operand::Array(start.dtype),
        Operand::Array(stop.dtype),
        Operand::Scalar(Kind::Float),
        Operand::Array(requested.unwrap_or(DType::Float64)),
    ])
    .expect("operands");
    let mut shape = broadcast_shapes(op, &start.shape, &stop.shape)?;
    let axis = normalize_axis(op, axis, shape.len() + 1)?;
    shape.insert(axis, num as usize);
    Ok(GeomspacePlan {
        num: num as usize,
        endpoint,
        compute,
        axis,
        out: Meta::new(requested.unwrap_or(compute), shape),
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
