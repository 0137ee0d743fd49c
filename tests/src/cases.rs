//! The conformance case format: decoding arguments into SDK operands and attributes, and
//! encoding results, as `../shared/conformance/FORMAT.md` specifies.

use bytes::Bytes;
use ndserve_client::{Array, Client, Operand};
use ndserve_proto::ops::{ParamKind, lookup};
use ndserve_proto::{Attr, Attrs, DType, Error, IndexItem, Meta, Result, Scalar};
use serde_json::{Value, json};

fn bad(what: impl Into<String>) -> Error {
    Error::invalid("conformance", "case", what)
}

/// A Python scalar from `{"scalar": X}`'s X.
pub fn scalar(v: &Value) -> Result<Scalar> {
    Ok(match v {
        Value::Bool(b) => Scalar::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Scalar::Int(i as i128)
            } else if let Some(u) = n.as_u64() {
                Scalar::Int(u as i128)
            } else {
                Scalar::Float(n.as_f64().ok_or_else(|| bad("bad number"))?)
            }
        }
        Value::String(s) => Scalar::Float(special_float(s)?),
        Value::Object(o) if o.contains_key("complex") => {
            let c = o["complex"].as_array().ok_or_else(|| bad("bad complex"))?;
            Scalar::Complex(float_of(&c[0])?, float_of(&c[1])?)
        }
        _ => return Err(bad(format!("not a scalar: {v}"))),
    })
}

fn special_float(s: &str) -> Result<f64> {
    match s {
        "nan" => Ok(f64::NAN),
        "inf" => Ok(f64::INFINITY),
        "-inf" => Ok(f64::NEG_INFINITY),
        _ => Err(bad(format!("not a float: {s}"))),
    }
}

fn float_of(v: &Value) -> Result<f64> {
    match v {
        Value::Number(n) => n.as_f64().ok_or_else(|| bad("bad number")),
        Value::String(s) => special_float(s),
        Value::Bool(b) => Ok(*b as u8 as f64),
        _ => Err(bad(format!("not a float: {v}"))),
    }
}

/// Little-endian bytes of `data` (flat, C order) as `dtype`.
pub fn encode_data(dtype: DType, data: &[Value]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() * dtype.itemsize());
    for v in data {
        match dtype {
            DType::Bool => out.push(match v {
                Value::Bool(b) => *b as u8,
                other => (float_of(other)? != 0.0) as u8,
            }),
            DType::Int8
            | DType::Int16
            | DType::Int32
            | DType::Int64
            | DType::UInt8
            | DType::UInt16
            | DType::UInt32
            | DType::UInt64 => {
                let i: i128 = match v {
                    Value::Number(n) => n
                        .as_i64()
                        .map(|i| i as i128)
                        .or(n.as_u64().map(|u| u as i128))
                        .ok_or_else(|| bad("bad int"))?,
                    Value::Bool(b) => *b as i128,
                    _ => return Err(bad(format!("not an int: {v}"))),
                };
                let bytes = i.to_le_bytes();
                out.extend_from_slice(&bytes[..dtype.itemsize()]);
            }
            DType::Float16 => {
                out.extend_from_slice(&half::f16::from_f64(float_of(v)?).to_le_bytes())
            }
            DType::BFloat16 => {
                out.extend_from_slice(&half::bf16::from_f64(float_of(v)?).to_le_bytes())
            }
            DType::Float32 => out.extend_from_slice(&(float_of(v)? as f32).to_le_bytes()),
            DType::Float64 => out.extend_from_slice(&float_of(v)?.to_le_bytes()),
            DType::Complex64 | DType::Complex128 => {
                let (re, im) = match v {
                    Value::Array(p) if p.len() == 2 => (float_of(&p[0])?, float_of(&p[1])?),
                    other => (float_of(other)?, 0.0),
                };
                if dtype == DType::Complex64 {
                    out.extend_from_slice(&(re as f32).to_le_bytes());
                    out.extend_from_slice(&(im as f32).to_le_bytes());
                } else {
                    out.extend_from_slice(&re.to_le_bytes());
                    out.extend_from_slice(&im.to_le_bytes());
                }
            }
        }
    }
    Ok(out)
}

fn num(x: f64) -> Value {
    if x.is_nan() {
        json!("nan")
    } else if x.is_infinite() {
        json!(if x > 0.0 { "inf" } else { "-inf" })
    } else {
        json!(x)
    }
}

/// JSON values of little-endian data of `dtype`.
pub fn decode_data(dtype: DType, bytes: &[u8]) -> Vec<Value> {
    let n = dtype.itemsize();
    bytes
        .chunks_exact(n)
        .map(|c| match dtype {
            DType::Bool => json!(c[0] != 0),
            DType::Int8 => json!(c[0] as i8),
            DType::Int16 => json!(i16::from_le_bytes([c[0], c[1]])),
            DType::Int32 => json!(i32::from_le_bytes(c.try_into().expect("4"))),
            DType::Int64 => json!(i64::from_le_bytes(c.try_into().expect("8"))),
            DType::UInt8 => json!(c[0]),
            DType::UInt16 => json!(u16::from_le_bytes([c[0], c[1]])),
            DType::UInt32 => json!(u32::from_le_bytes(c.try_into().expect("4"))),
            DType::UInt64 => json!(u64::from_le_bytes(c.try_into().expect("8"))),
            DType::Float16 => num(half::f16::from_le_bytes([c[0], c[1]]).to_f64()),
            DType::BFloat16 => num(half::bf16::from_le_bytes([c[0], c[1]]).to_f64()),
            DType::Float32 => num(f32::from_le_bytes(c.try_into().expect("4")) as f64),
            DType::Float64 => num(f64::from_le_bytes(c.try_into().expect("8"))),
            DType::Complex64 => json!([
                num(f32::from_le_bytes(c[..4].try_into().expect("4")) as f64),
                num(f32::from_le_bytes(c[4..].try_into().expect("4")) as f64)
            ]),
            DType::Complex128 => json!([
                num(f64::from_le_bytes(c[..8].try_into().expect("8"))),
                num(f64::from_le_bytes(c[8..].try_into().expect("8")))
            ]),
        })
        .collect()
}

/// Whether array inputs are sharded along their first axis over every device after the
/// upload ([`shard_inputs`]): the same cases then run through the coordinator's
/// distributed paths, and must give the same answers.
static SHARD_INPUTS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes [`upload_json`] shard every array input of one or more dimensions.
pub fn shard_inputs(on: bool) {
    SHARD_INPUTS.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Uploads `{"dtype", "shape", "data"}` (sharded along axis 0 under [`shard_inputs`]).
pub async fn upload_json(client: &Client, a: &Value) -> Result<Array> {
    let x = upload_json_whole(client, a).await?;
    if SHARD_INPUTS.load(std::sync::atomic::Ordering::Relaxed) && x.ndim() > 0 {
        return x.shard(0, &[]);
    }
    Ok(x)
}

async fn upload_json_whole(client: &Client, a: &Value) -> Result<Array> {
    let dtype: DType = a["dtype"]
        .as_str()
        .ok_or_else(|| bad("array without dtype"))?
        .parse()?;
    let shape: Vec<usize> = a["shape"]
        .as_array()
        .ok_or_else(|| bad("array without shape"))?
        .iter()
        .map(|d| d.as_u64().map(|d| d as usize).ok_or_else(|| bad("bad dim")))
        .collect::<Result<_>>()?;
    let data = a["data"]
        .as_array()
        .ok_or_else(|| bad("array without data"))?;
    let bytes = encode_data(dtype, data)?;
    client
        .upload_bytes(Meta::new(dtype, shape), Bytes::from(bytes))
        .await
}

/// Flattens a nested Python list into (shape, flat values).
fn flatten_list(
    v: &Value,
    shape: &mut Vec<usize>,
    depth: usize,
    out: &mut Vec<Value>,
) -> Result<()> {
    match v {
        Value::Array(items) => {
            if shape.len() == depth {
                shape.push(items.len());
            } else if shape[depth] != items.len() {
                return Err(bad("ragged nested list"));
            }
            for it in items {
                flatten_list(it, shape, depth + 1, out)?;
            }
            Ok(())
        }
        other => {
            if shape.len() != depth {
                return Err(bad("ragged nested list"));
            }
            out.push(other.clone());
            Ok(())
        }
    }
}

/// `np.asarray` of a plain Python value (nested lists of bools, ints, floats).
pub async fn upload_value(client: &Client, v: &Value) -> Result<Array> {
    let mut shape = vec![];
    let mut flat = vec![];
    flatten_list(v, &mut shape, 0, &mut flat)?;
    let kind = flat.iter().fold(0u8, |k, x| {
        k.max(match x {
            Value::Bool(_) => 0,
            Value::Number(n) if n.is_i64() || n.is_u64() => 1,
            Value::Object(o) if o.contains_key("complex") => 3,
            _ => 2,
        })
    });
    let dtype = match (kind, flat.is_empty()) {
        (_, true) => DType::Float64,
        (0, _) => DType::Bool,
        (1, _) if flat.iter().all(|x| x.as_i64().is_some() || x.is_boolean()) => DType::Int64,
        (1, _) => DType::UInt64,
        (2, _) => DType::Float64,
        _ => DType::Complex128,
    };
    let flat: Vec<Value> = flat
        .into_iter()
        .map(|x| match x {
            Value::Object(o) if o.contains_key("complex") => o["complex"].clone(),
            other => other,
        })
        .collect();
    let bytes = encode_data(dtype, &flat)?;
    client
        .upload_bytes(Meta::new(dtype, shape), Bytes::from(bytes))
        .await
}

/// An attribute from a plain `{"value": V}`.
pub fn attr_of_value(v: &Value) -> Result<Attr> {
    Ok(match v {
        Value::Null => Attr::None,
        Value::Bool(b) => Attr::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Attr::Int(i),
            None => match n.as_u64() {
                Some(u) => Attr::Scalar(Scalar::Int(u as i128)),
                None => Attr::Float(n.as_f64().ok_or_else(|| bad("bad number"))?),
            },
        },
        Value::String(s) => Attr::Str(s.clone()),
        Value::Array(items) => {
            let ints: Option<Vec<i64>> = items.iter().map(|x| x.as_i64()).collect();
            // Nested lists of ints (`pad`'s pad_width) travel flattened, C order.
            let nested: Option<Vec<i64>> = items
                .iter()
                .map(|x| {
                    x.as_array()
                        .map(|r| r.iter().map(Value::as_i64).collect::<Option<Vec<_>>>())
                })
                .collect::<Option<Option<Vec<Vec<i64>>>>>()
                .flatten()
                .map(|v| v.concat());
            let floats: Option<Vec<f64>> = items.iter().map(Value::as_f64).collect();
            match (ints.or(nested), floats) {
                (Some(v), _) => Attr::Ints(v),
                (None, Some(f)) => Attr::Floats(f),
                _ => return Err(bad(format!("unsupported list attribute {v}"))),
            }
        }
        Value::Object(_) => return Err(bad(format!("unsupported attribute {v}"))),
    })
}

/// A decoded call: inputs and attributes.
pub struct Decoded {
    /// Inputs in order.
    pub inputs: Vec<Operand>,
    /// Attributes by NumPy parameter name.
    pub attrs: Attrs,
}

async fn array_arg(client: &Client, arg: &Value, inputs: &mut Vec<Operand>) -> Result<()> {
    if let Some(a) = arg.get("array") {
        inputs.push(Operand::from(upload_json(client, a).await?));
    } else if let Some(s) = arg.get("scalar") {
        inputs.push(Operand::Scalar(scalar(s)?));
    } else if let Some(v) = arg.get("value") {
        match v {
            Value::Array(_) => inputs.push(Operand::from(upload_value(client, v).await?)),
            Value::Null => return Err(bad("None is not an array")),
            other => inputs.push(Operand::Scalar(scalar(other)?)),
        }
    } else if let Some(items) = arg.get("list").and_then(Value::as_array) {
        inputs.push(Operand::from(upload_array_like(client, items).await?));
    } else {
        return Err(bad(format!("unsupported array argument {arg}")));
    }
    Ok(())
}

/// A nested list of Python scalars, as plain JSON (`{"scalar": x}` unwrapped), or None
/// when the list holds arrays.
fn plain_list(items: &[Value]) -> Option<Value> {
    let mut out = Vec::with_capacity(items.len());
    for it in items {
        if let Some(s) = it.get("scalar") {
            out.push(s.clone());
        } else if let Some(l) = it.get("list").and_then(Value::as_array) {
            out.push(plain_list(l)?);
        } else if let Some(v) = it.get("value") {
            out.push(v.clone());
        } else {
            return None;
        }
    }
    Some(Value::Array(out))
}

/// NumPy's conversion of a Python list argument: nested scalars become one array (the
/// dtype of the widest kind: bool, int64, float64, complex128); a list of arrays is
/// stacked, as `np.array([a, b])` does.
pub async fn upload_array_like(client: &Client, items: &[Value]) -> Result<Array> {
    if let Some(v) = plain_list(items) {
        return upload_value(client, &v).await;
    }
    let mut parts = Vec::with_capacity(items.len());
    for it in items {
        let mut one = Vec::new();
        Box::pin(array_arg(client, it, &mut one)).await?;
        parts.extend(one);
    }
    let out = client.call("stack", &parts, Attrs::new())?;
    Ok(out.into_iter().next().expect("stack has one output"))
}

async fn attr_arg(client: &Client, arg: &Value, inputs: &mut Vec<Operand>) -> Result<Attr> {
    if let Some(v) = arg.get("value") {
        attr_of_value(v)
    } else if let Some(s) = arg.get("scalar") {
        Ok(Attr::Scalar(scalar(s)?))
    } else if let Some(d) = arg.get("dtype") {
        Ok(Attr::DType(
            d.as_str().ok_or_else(|| bad("bad dtype"))?.parse()?,
        ))
    } else if let Some(items) = arg.get("index") {
        let items = items.as_array().ok_or_else(|| bad("bad index"))?;
        let mut key = Vec::with_capacity(items.len());
        for it in items {
            key.push(match it {
                Value::String(s) if s == "newaxis" => IndexItem::NewAxis,
                Value::String(s) if s == "ellipsis" => IndexItem::Ellipsis,
                Value::Object(o) if o.contains_key("int") => {
                    IndexItem::Int(o["int"].as_i64().ok_or_else(|| bad("bad int index"))?)
                }
                Value::Object(o) if o.contains_key("slice") => {
                    let s = o["slice"].as_array().ok_or_else(|| bad("bad slice"))?;
                    let g = |i: usize| s.get(i).and_then(|v| v.as_i64());
                    IndexItem::Slice(g(0), g(1), g(2))
                }
                Value::Object(o) if o.contains_key("array") => {
                    inputs.push(Operand::from(upload_json(client, &o["array"]).await?));
                    IndexItem::Array(inputs.len() - 1)
                }
                _ => return Err(bad(format!("unsupported index item {it}"))),
            });
        }
        Ok(Attr::Index(key))
    } else if let Some(items) = arg.get("list").and_then(Value::as_array) {
        // A sequence of plain ints (`randn(*dims)`, shapes given as tuples of values).
        let ints: Option<Vec<i64>> = items
            .iter()
            .map(|it| it.get("value").and_then(Value::as_i64))
            .collect();
        ints.map(Attr::Ints)
            .ok_or_else(|| bad(format!("unsupported list attribute {arg}")))
    } else if let Some(a) = arg.get("array") {
        // A literal integer array for a plain-valued parameter (`repeat`'s `repeats`):
        // the client has its values, as NumPy reads them with `asarray(x).tolist()`.
        let dtype: DType = a["dtype"].as_str().unwrap_or("").parse()?;
        let ndim = a["shape"].as_array().map_or(usize::MAX, Vec::len);
        let ints: Option<Vec<i64>> = a["data"]
            .as_array()
            .and_then(|d| d.iter().map(Value::as_i64).collect());
        match (dtype.is_integer(), ndim, ints) {
            (true, 0, Some(v)) if v.len() == 1 => Ok(Attr::Int(v[0])),
            (true, 1, Some(v)) => Ok(Attr::Ints(v)),
            _ => Err(bad(
                "an array where the op takes a plain value must be a 0-d or 1-d integer array",
            )),
        }
    } else {
        Err(bad(format!("unsupported argument {arg}")))
    }
}

/// Decodes a case's `args` and `kwargs` against the op's NumPy parameters.
pub async fn decode(
    client: &Client,
    op: &str,
    args: &[Value],
    kwargs: &serde_json::Map<String, Value>,
) -> Result<Decoded> {
    let def = lookup(op)?;
    let mut inputs = Vec::new();
    let mut attrs = Attrs::new();
    let params = def.params;
    if args.len() > params.len() {
        return Err(Error::invalid(
            op,
            "args",
            format!(
                "{op}() takes {} positional arguments but {} were given",
                params.len(),
                args.len()
            ),
        ));
    }
    let mut given: Vec<(&str, &Value)> = Vec::new();
    for (p, a) in params.iter().zip(args) {
        given.push((p.name, a));
    }
    for (k, v) in kwargs {
        if given.iter().any(|(n, _)| n == k) {
            return Err(Error::invalid(
                op,
                k,
                format!("{op}() got multiple values for argument '{k}'"),
            ));
        }
        given.push((k.as_str(), v));
    }
    // Arrays go first, in parameter order, so positions match the op's inputs.
    for p in params {
        let Some(&(_, v)) = given.iter().find(|(n, _)| *n == p.name) else {
            // An omitted optional array parameter travels as its NumPy default.
            if let Some(d) = p.default {
                inputs.push(Operand::Scalar(d));
            }
            continue;
        };
        match p.kind {
            ParamKind::Array => array_arg(client, v, &mut inputs).await?,
            ParamKind::ArrayList => {
                let items = v
                    .get("list")
                    .and_then(Value::as_array)
                    .ok_or_else(|| bad("expected a list of arrays"))?;
                for it in items {
                    array_arg(client, it, &mut inputs).await?;
                }
            }
            ParamKind::Attr => {}
        }
    }
    for (name, v) in &given {
        let kind = params.iter().find(|p| p.name == *name).map(|p| p.kind);
        match kind {
            Some(ParamKind::Array) | Some(ParamKind::ArrayList) => {}
            Some(ParamKind::Attr) | None => {
                let a = attr_arg(client, v, &mut inputs).await?;
                attrs.set(name, a);
            }
        }
    }
    Ok(Decoded { inputs, attrs })
}

/// Fetches an array and encodes it as `{"array": ...}`.
pub async fn encode_result(a: &Array) -> Result<Value> {
    let (meta, bytes) = a.fetch_bytes().await?;
    Ok(json!({"array": {
        "dtype": meta.dtype.name(),
        "shape": meta.shape,
        "data": decode_data(meta.dtype, &bytes),
    }}))
}

/// The argument named `name` (position `pos`) of a case.
fn arg_at<'a>(
    args: &'a [Value],
    kwargs: &'a serde_json::Map<String, Value>,
    pos: usize,
    name: &str,
) -> Option<&'a Value> {
    args.get(pos).or_else(|| kwargs.get(name))
}

/// (dtype, shape) of an array-like argument without uploading it: arrays, Python scalars
/// (their default dtype) and plain nested lists.
fn arg_meta(v: &Value) -> Result<(Option<DType>, Vec<usize>, bool)> {
    if let Some(a) = v.get("array") {
        let dtype: DType = a["dtype"]
            .as_str()
            .ok_or_else(|| bad("array without dtype"))?
            .parse()?;
        let shape = a["shape"]
            .as_array()
            .ok_or_else(|| bad("array without shape"))?
            .iter()
            .map(|d| d.as_u64().map(|d| d as usize).ok_or_else(|| bad("bad dim")))
            .collect::<Result<_>>()?;
        return Ok((Some(dtype), shape, false));
    }
    if let Some(s) = v.get("scalar") {
        let d = ndserve_proto::ops::scalar_dtype(&scalar(s)?);
        return Ok((Some(d), vec![], true));
    }
    if let Some(x) = v.get("value").or_else(|| v.get("list")) {
        let x = match (x, v.get("list").and_then(Value::as_array)) {
            (_, Some(items)) => plain_list(items).ok_or_else(|| bad("list of arrays"))?,
            (x, None) => x.clone(),
        };
        if !x.is_array() {
            let d = match &x {
                Value::String(_) | Value::Null => None,
                other => Some(ndserve_proto::ops::scalar_dtype(&scalar(other)?)),
            };
            return Ok((d, vec![], true));
        }
        let (mut shape, mut flat) = (vec![], vec![]);
        flatten_list(&x, &mut shape, 0, &mut flat)?;
        let complex = flat.iter().any(|x| x.get("complex").is_some());
        return Ok((
            Some(if complex {
                DType::Complex128
            } else {
                DType::Float64
            }),
            shape,
            false,
        ));
    }
    Err(bad(format!("unsupported argument {v}")))
}

fn dtype_arg(v: Option<&Value>) -> Result<DType> {
    let v = v.ok_or_else(|| bad("missing dtype argument"))?;
    match v
        .get("dtype")
        .or_else(|| v.get("value"))
        .and_then(Value::as_str)
    {
        Some(s) => s.parse(),
        None => match arg_meta(v)? {
            (Some(d), _, _) => Ok(d),
            _ => Err(bad(format!("not a dtype: {v}"))),
        },
    }
}

/// Answers the introspection and dtype utilities locally, as the SDK does (no server
/// data is needed): `shape`, `ndim`, `size`, `isscalar`, `iscomplexobj`, `isrealobj`,
/// `result_type`, `promote_types`, `finfo`, `iinfo`, `issubdtype`,
/// `experimental_enable_numpy_behavior`.
fn local_answer(
    op: &str,
    args: &[Value],
    kwargs: &serde_json::Map<String, Value>,
) -> Result<Option<Value>> {
    use ndserve_client::ops_linalg as ol;
    let first = || arg_at(args, kwargs, 0, "a").ok_or_else(|| bad("missing argument"));
    Ok(Some(match op {
        "shape" => json!({"value": arg_meta(first()?)?.1}),
        "ndim" => json!({"value": arg_meta(first()?)?.1.len()}),
        "size" => {
            let shape = arg_meta(first()?)?.1;
            match arg_at(args, kwargs, 1, "axis").and_then(|v| v.get("value")) {
                None | Some(Value::Null) => json!({"value": shape.iter().product::<usize>()}),
                Some(ax) => {
                    let ax = ax.as_i64().ok_or_else(|| bad("bad axis"))?;
                    let ax = ndserve_proto::shape::normalize_axis(op, ax, shape.len())?;
                    json!({"value": shape[ax]})
                }
            }
        }
        "isscalar" => {
            let v = arg_at(args, kwargs, 0, "element").ok_or_else(|| bad("missing argument"))?;
            json!({"value": v.get("scalar").is_some() || v.get("value").is_some_and(|x| !x.is_array() && !x.is_null())})
        }
        "iscomplexobj" | "isrealobj" => {
            let c = arg_meta(first()?)?.0.is_some_and(DType::is_complex);
            json!({"value": if op == "iscomplexobj" { c } else { !c }})
        }
        "result_type" => {
            let items: Vec<&Value> = match args
                .first()
                .and_then(|a| a.get("list"))
                .and_then(Value::as_array)
            {
                Some(l) => l.iter().collect(),
                None => args.iter().collect(),
            };
            let mut ops = Vec::new();
            for it in items {
                if let Some(d) = it.get("dtype").and_then(Value::as_str) {
                    ops.push(ndserve_proto::Operand::Array(d.parse()?));
                } else if let Some(s) = it.get("scalar") {
                    ops.push(ndserve_proto::Operand::Scalar(scalar(s)?.kind()));
                } else {
                    let d = arg_meta(it)?
                        .0
                        .ok_or_else(|| bad("not an array or dtype"))?;
                    ops.push(ndserve_proto::Operand::Array(d));
                }
            }
            let d = ol::result_type(&ops).ok_or_else(|| {
                Error::invalid(
                    op,
                    "arrays_and_dtypes",
                    "at least one array or dtype is required",
                )
            })?;
            json!({"dtype": d.name()})
        }
        "promote_types" => {
            let a = dtype_arg(arg_at(args, kwargs, 0, "type1"))?;
            let b = dtype_arg(arg_at(args, kwargs, 1, "type2"))?;
            json!({"dtype": ol::promote_types(a, b).name()})
        }
        "issubdtype" => {
            let a = dtype_arg(arg_at(args, kwargs, 0, "arg1"))?;
            let b = dtype_arg(arg_at(args, kwargs, 1, "arg2"))?;
            json!({"value": ol::issubdtype(a, b)})
        }
        "finfo" => {
            let f = ol::finfo(dtype_arg(arg_at(args, kwargs, 0, "dtype"))?)?;
            json!({"value": {
                "bits": f.bits, "dtype": f.dtype.name(), "eps": f.eps, "max": f.max,
                "min": f.min, "tiny": f.tiny, "smallest_subnormal": f.smallest_subnormal,
                "precision": f.precision, "resolution": f.resolution,
            }})
        }
        "iinfo" => {
            let i = ol::iinfo(dtype_arg(arg_at(args, kwargs, 0, "type"))?)?;
            let num = |x: i128| -> Value {
                match i64::try_from(x) {
                    Ok(v) => json!(v),
                    Err(_) => json!(x as u64),
                }
            };
            json!({"value": {"bits": i.bits, "dtype": i.dtype.name(), "min": num(i.min), "max": num(i.max)}})
        }
        "experimental_enable_numpy_behavior" => {
            let prefer =
                match arg_at(args, kwargs, 0, "prefer_float32").and_then(|v| v.get("value")) {
                    None => false,
                    Some(v) => v
                        .as_bool()
                        .ok_or_else(|| bad("prefer_float32 must be a bool"))?,
                };
            let mode = match arg_at(args, kwargs, 1, "dtype_conversion_mode")
                .and_then(|v| v.get("value"))
            {
                None => "legacy",
                Some(v) => v
                    .as_str()
                    .ok_or_else(|| bad("dtype_conversion_mode must be a string"))?,
            };
            ndserve_client::experimental_enable_numpy_behavior(prefer, mode)?;
            json!({"value": null})
        }
        _ => return Ok(None),
    }))
}

/// `tensordot`'s `axes=[[a...], [b...]]` travels flat as `[a..., b...]` (the attribute
/// format has no nested lists); an int or a pair of ints is left as it is.
fn flat_tensordot_axes(
    op: &str,
    args: &[Value],
    kwargs: &serde_json::Map<String, Value>,
) -> (Vec<Value>, serde_json::Map<String, Value>) {
    let (mut args, mut kwargs) = (args.to_vec(), kwargs.clone());
    if op == "tensordot" {
        let slot = if args.len() > 2 {
            args.get_mut(2)
        } else {
            kwargs.get_mut("axes")
        };
        if let Some(v) = slot
            && let Some(Value::Array(pair)) = v.get("value")
            && pair.len() == 2
            && pair.iter().all(Value::is_array)
        {
            let flat: Vec<Value> = pair
                .iter()
                .flat_map(|p| p.as_array().cloned().unwrap_or_default())
                .collect();
            *v = json!({"value": flat});
        }
    }
    (args, kwargs)
}

/// `np.clip` with a `None` bound (the `clip` op takes two bounds), as NumPy's `_clip`
/// runs it: a Python int bound beyond the range of an integer `a` counts as None, then
/// `positive`, `minimum` or `maximum` does the work. None when both bounds are given.
async fn clip_with_none(
    client: &Client,
    args: &[Value],
    kwargs: &serde_json::Map<String, Value>,
) -> Result<Option<Value>> {
    let is_none = |v: Option<&Value>| v.is_none_or(|v| v.get("value").is_some_and(Value::is_null));
    let (lo, hi) = (
        arg_at(args, kwargs, 1, "a_min"),
        arg_at(args, kwargs, 2, "a_max"),
    );
    if !is_none(lo) && !is_none(hi) {
        return Ok(None);
    }
    let mut inputs = Vec::new();
    let a = arg_at(args, kwargs, 0, "a").ok_or_else(|| bad("missing argument 'a'"))?;
    array_arg(client, a, &mut inputs).await?;
    let range = inputs[0].to_input().as_array().dtype.int_range();
    let mut op = "positive";
    for (v, name, is_min) in [(lo, "maximum", true), (hi, "minimum", false)] {
        let Some(v) = v.filter(|v| !is_none(Some(v))) else {
            continue;
        };
        let mut b = Vec::new();
        array_arg(client, v, &mut b).await?;
        if let (Some((min, max)), Operand::Scalar(Scalar::Int(i))) = (range, &b[0])
            && (if is_min { *i <= min } else { *i >= max })
        {
            continue;
        }
        op = name;
        inputs.extend(b);
    }
    let outs = client.call(op, &inputs, Attrs::new())?;
    encode_result(&outs[0]).await.map(Some)
}

/// `np.bincount` through the SDK's `Array::bincount`, which reads `max(x)` to pass the
/// result's length (the wire op takes it).
async fn bincount(
    client: &Client,
    args: &[Value],
    kwargs: &serde_json::Map<String, Value>,
) -> Result<Value> {
    let d = decode(client, "bincount", args, kwargs).await?;
    let arrays: Vec<Array> = d
        .inputs
        .iter()
        .map(|o| match o {
            Operand::Array(a) => Ok(a.clone()),
            _ => Err(bad("bincount takes arrays")),
        })
        .collect::<Result<_>>()?;
    let minlength = match d.attrs.get("minlength") {
        Some(Attr::Int(m)) if *m < 0 => {
            return Err(Error::invalid(
                "bincount",
                "minlength",
                "'minlength' must not be negative",
            ));
        }
        Some(Attr::Int(m)) => *m as usize,
        _ => 0,
    };
    let x = arrays.first().ok_or_else(|| bad("bincount needs x"))?;
    let out = x.bincount(arrays.get(1), minlength).await?;
    encode_result(&out).await
}

/// Runs one case through the SDK; returns the answer's `result`.
pub async fn run_case(client: &Client, case: &Value) -> Result<Value> {
    let op = case["op"].as_str().ok_or_else(|| bad("case without op"))?;
    let empty = vec![];
    let args = case["args"].as_array().unwrap_or(&empty);
    if op == "random.seed" {
        // The session's seed lives in the client.
        let seed = args
            .first()
            .and_then(|a| a.get("value"))
            .and_then(Value::as_i64)
            .ok_or_else(|| bad("random.seed needs an int"))?;
        client.random().seed(seed)?;
        return Ok(json!({ "value": null }));
    }
    let no_kwargs = serde_json::Map::new();
    let kwargs = case["kwargs"].as_object().unwrap_or(&no_kwargs);
    if let Some(v) = local_answer(op, args, kwargs)? {
        return Ok(v);
    }
    if op == "clip"
        && let Some(v) = clip_with_none(client, args, kwargs).await?
    {
        return Ok(v);
    }
    if op == "bincount" {
        return bincount(client, args, kwargs).await;
    }
    let (args, kwargs) = &flat_tensordot_axes(op, args, kwargs);
    let d = decode(client, op, args, kwargs).await?;
    let d_inputs = d.inputs.len();
    let metas: Vec<_> = d.inputs.iter().map(Operand::to_input).collect();
    let outs = if ndserve_proto::ops::is_data_dependent(op, &metas, &d.attrs) {
        // The result shape depends on the data: one round trip returns it.
        client.run(op, &d.inputs, d.attrs).await?
    } else {
        client.call(op, &d.inputs, d.attrs)?
    };
    // Ops that return a tuple even of one array.
    let tuple = matches!(
        op,
        "split"
            | "array_split"
            | "hsplit"
            | "vsplit"
            | "dsplit"
            | "broadcast_arrays"
            | "ix_"
            | "diag_indices"
            | "meshgrid"
            | "nonzero"
    ) || (op == "where" && d_inputs == 1);
    if outs.len() == 1 && !tuple {
        encode_result(&outs[0]).await
    } else {
        let mut items = Vec::with_capacity(outs.len());
        for o in &outs {
            items.push(encode_result(o).await?);
        }
        Ok(json!({ "list": items }))
    }
}

/// The answer line for a case.
pub fn answer(id: &str, result: Result<Value>) -> Value {
    match result {
        Ok(r) => json!({"id": id, "ok": true, "result": r}),
        Err(e) => {
            json!({"id": id, "ok": false, "error": {"code": e.code().as_str(), "message": e.to_string()}})
        }
    }
}
