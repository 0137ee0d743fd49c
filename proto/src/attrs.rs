//! Op attributes: the plain Python values an op takes (axis, shape, dtype, keepdims, ...).
//!
//! An absent attribute means the NumPy default. The typed getters turn a wrong type into
//! an INVALID_ARGUMENT error that names the op and the attribute.

use std::collections::BTreeMap;

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// One item of an indexing key.
#[derive(Clone, Debug, PartialEq)]
pub enum IndexItem {
    /// An integer: selects one position and drops the axis.
    Int(i64),
    /// `start:stop:step`, each optional.
    Slice(Option<i64>, Option<i64>, Option<i64>),
    /// `np.newaxis` / `None`.
    NewAxis,
    /// `...`
    Ellipsis,
    /// An integer or boolean index array: the position of its operand among the op's inputs.
    Array(usize),
}

/// An attribute value.
#[derive(Clone, Debug, PartialEq)]
pub enum Attr {
    /// Python `None`.
    None,
    /// A bool.
    Bool(bool),
    /// An int.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string (`order`, `mode`, `subscripts`, ...).
    Str(String),
    /// A dtype.
    DType(DType),
    /// A tuple of ints (shape, axes).
    Ints(Vec<i64>),
    /// A tuple of floats (`histogram`'s `range`).
    Floats(Vec<f64>),
    /// A Python scalar of any kind (fill values, range bounds).
    Scalar(Scalar),
    /// An indexing key.
    Index(Vec<IndexItem>),
}

impl Attr {
    fn type_name(&self) -> &'static str {
        match self {
            Attr::None => "None",
            Attr::Bool(_) => "bool",
            Attr::Int(_) => "int",
            Attr::Float(_) => "float",
            Attr::Str(_) => "str",
            Attr::DType(_) => "dtype",
            Attr::Ints(_) => "tuple of ints",
            Attr::Floats(_) => "tuple of floats",
            Attr::Scalar(_) => "scalar",
            Attr::Index(_) => "index",
        }
    }
}

/// Named attributes of one op call.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attrs(pub BTreeMap<String, Attr>);

fn wrong(op: &str, name: &str, want: &str, got: &Attr) -> Error {
    Error::invalid(
        op,
        name,
        format!("expected {want}, got {} ({got:?})", got.type_name()),
    )
}

impl Attrs {
    /// No attributes.
    pub fn new() -> Attrs {
        Attrs::default()
    }

    /// Sets an attribute (builder style).
    pub fn with(mut self, name: &str, value: Attr) -> Attrs {
        self.0.insert(name.to_string(), value);
        self
    }

    /// Sets an attribute.
    pub fn set(&mut self, name: &str, value: Attr) {
        self.0.insert(name.to_string(), value);
    }

    /// The raw attribute; `None` when absent or Python `None`.
    pub fn get(&self, name: &str) -> Option<&Attr> {
        match self.0.get(name) {
            None | Some(Attr::None) => None,
            Some(a) => Some(a),
        }
    }

    /// Names not in `known` (so a misspelt keyword is an error, not silently ignored).
    pub fn check_known(&self, op: &str, known: &[&str]) -> Result<()> {
        for k in self.0.keys() {
            if !known.contains(&k.as_str()) {
                return Err(Error::invalid(
                    op,
                    k,
                    format!("{op}() got an unexpected keyword argument '{k}'"),
                ));
            }
        }
        Ok(())
    }

    /// An int attribute (bools are rejected, as NumPy rejects `axis=True`).
    pub fn int(&self, op: &str, name: &str) -> Result<Option<i64>> {
        match self.get(name) {
            None => Ok(None),
            Some(Attr::Int(i)) => Ok(Some(*i)),
            Some(Attr::Scalar(Scalar::Int(i))) => i64::try_from(*i)
                .map(Some)
                .map_err(|_| Error::invalid(op, name, format!("{i} does not fit in int64"))),
            Some(Attr::Float(f)) if f.fract() == 0.0 && name == "num" => Ok(Some(*f as i64)),
            Some(a) => Err(wrong(op, name, "an integer", a)),
        }
    }

    /// An int attribute with a default.
    pub fn int_or(&self, op: &str, name: &str, default: i64) -> Result<i64> {
        Ok(self.int(op, name)?.unwrap_or(default))
    }

    /// A bool attribute with a default.
    pub fn bool_or(&self, op: &str, name: &str, default: bool) -> Result<bool> {
        match self.get(name) {
            None => Ok(default),
            Some(Attr::Bool(b)) | Some(Attr::Scalar(Scalar::Bool(b))) => Ok(*b),
            Some(Attr::Int(i)) => Ok(*i != 0),
            Some(a) => Err(wrong(op, name, "a bool", a)),
        }
    }

    /// A float attribute (ints accepted).
    pub fn float(&self, op: &str, name: &str) -> Result<Option<f64>> {
        match self.get(name) {
            None => Ok(None),
            Some(Attr::Float(f)) => Ok(Some(*f)),
            Some(Attr::Int(i)) => Ok(Some(*i as f64)),
            Some(Attr::Scalar(s)) if !matches!(s, Scalar::Complex(..)) => Ok(Some(s.as_f64())),
            Some(a) => Err(wrong(op, name, "a float", a)),
        }
    }

    /// A string attribute.
    pub fn str(&self, op: &str, name: &str) -> Result<Option<&str>> {
        match self.get(name) {
            None => Ok(None),
            Some(Attr::Str(s)) => Ok(Some(s)),
            Some(a) => Err(wrong(op, name, "a string", a)),
        }
    }

    /// A dtype attribute.
    pub fn dtype(&self, op: &str, name: &str) -> Result<Option<DType>> {
        match self.get(name) {
            None => Ok(None),
            Some(Attr::DType(d)) => Ok(Some(*d)),
            Some(Attr::Str(s)) => s.parse().map(Some).map_err(|e: Error| e.with_op(op)),
            Some(a) => Err(wrong(op, name, "a dtype", a)),
        }
    }

    /// An int or tuple-of-ints attribute (`axis=1` or `axis=(0, 2)`), as a list.
    pub fn ints(&self, op: &str, name: &str) -> Result<Option<Vec<i64>>> {
        match self.get(name) {
            None => Ok(None),
            Some(Attr::Ints(v)) => Ok(Some(v.clone())),
            Some(Attr::Int(i)) => Ok(Some(vec![*i])),
            Some(Attr::Scalar(Scalar::Int(i))) => Ok(Some(vec![*i as i64])),
            Some(a) => Err(wrong(op, name, "an int or a tuple of ints", a)),
        }
    }

    /// A tuple of numbers (ints or floats) as floats; `None` when absent or Python's None.
    pub fn floats(&self, op: &str, name: &str) -> Result<Option<Vec<f64>>> {
        match self.get(name) {
            None | Some(Attr::None) => Ok(None),
            Some(Attr::Floats(v)) => Ok(Some(v.clone())),
            Some(Attr::Ints(v)) => Ok(Some(v.iter().map(|&i| i as f64).collect())),
            Some(a) => Err(wrong(op, name, "a tuple of numbers", a)),
        }
    }

    /// A Python scalar attribute (any kind).
    pub fn scalar(&self, op: &str, name: &str) -> Result<Option<Scalar>> {
        match self.get(name) {
            None => Ok(None),
            Some(Attr::Scalar(s)) => Ok(Some(*s)),
            Some(Attr::Int(i)) => Ok(Some(Scalar::Int(*i as i128))),
            Some(Attr::Float(f)) => Ok(Some(Scalar::Float(*f))),
            Some(Attr::Bool(b)) => Ok(Some(Scalar::Bool(*b))),
            Some(a) => Err(wrong(op, name, "a number", a)),
        }
    }

    /// An indexing key.
    pub fn index(&self, op: &str, name: &str) -> Result<Vec<IndexItem>> {
        match self.get(name) {
            None => Ok(vec![]),
            Some(Attr::Index(v)) => Ok(v.clone()),
            Some(a) => Err(wrong(op, name, "an index", a)),
        }
    }
}
