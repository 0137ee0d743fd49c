//! Conversions between the domain types and the generated wire messages.

use std::collections::HashMap;

use crate::attrs::{Attr, Attrs, IndexItem};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::ops::Meta;
use crate::pb;
use crate::scalar::Scalar;

impl From<DType> for pb::DType {
    fn from(d: DType) -> pb::DType {
        match d {
            DType::Bool => pb::DType::DtypeBool,
            DType::Int8 => pb::DType::DtypeInt8,
            DType::Int16 => pb::DType::DtypeInt16,
            DType::Int32 => pb::DType::DtypeInt32,
            DType::Int64 => pb::DType::DtypeInt64,
            DType::UInt8 => pb::DType::DtypeUint8,
            DType::UInt16 => pb::DType::DtypeUint16,
            DType::UInt32 => pb::DType::DtypeUint32,
            DType::UInt64 => pb::DType::DtypeUint64,
            DType::Float16 => pb::DType::DtypeFloat16,
            DType::BFloat16 => pb::DType::DtypeBfloat16,
            DType::Float32 => pb::DType::DtypeFloat32,
            DType::Float64 => pb::DType::DtypeFloat64,
            DType::Complex64 => pb::DType::DtypeComplex64,
            DType::Complex128 => pb::DType::DtypeComplex128,
        }
    }
}

impl DType {
    /// The wire value (`pb::DType as i32`).
    pub fn to_wire(self) -> i32 {
        pb::DType::from(self) as i32
    }

    /// From the wire value; unknown or unspecified values are INVALID_ARGUMENT.
    pub fn from_wire(v: i32) -> Result<DType> {
        let d = pb::DType::try_from(v).unwrap_or(pb::DType::DtypeUnspecified);
        Ok(match d {
            pb::DType::DtypeUnspecified => {
                return Err(Error::invalid(
                    "request",
                    "dtype",
                    format!("unknown or missing dtype (wire value {v})"),
                ));
            }
            pb::DType::DtypeBool => DType::Bool,
            pb::DType::DtypeInt8 => DType::Int8,
            pb::DType::DtypeInt16 => DType::Int16,
            pb::DType::DtypeInt32 => DType::Int32,
            pb::DType::DtypeInt64 => DType::Int64,
            pb::DType::DtypeUint8 => DType::UInt8,
            pb::DType::DtypeUint16 => DType::UInt16,
            pb::DType::DtypeUint32 => DType::UInt32,
            pb::DType::DtypeUint64 => DType::UInt64,
            pb::DType::DtypeFloat16 => DType::Float16,
            pb::DType::DtypeBfloat16 => DType::BFloat16,
            pb::DType::DtypeFloat32 => DType::Float32,
            pb::DType::DtypeFloat64 => DType::Float64,
            pb::DType::DtypeComplex64 => DType::Complex64,
            pb::DType::DtypeComplex128 => DType::Complex128,
        })
    }
}

impl Meta {
    /// To the wire.
    pub fn to_wire(&self) -> pb::ArrayMeta {
        pb::ArrayMeta {
            dtype: self.dtype.to_wire(),
            shape: self.shape.iter().map(|&d| d as u64).collect(),
        }
    }

    /// From the wire, with the shape's size checked.
    pub fn from_wire(m: &pb::ArrayMeta) -> Result<Meta> {
        let dtype = DType::from_wire(m.dtype)?;
        let shape = m
            .shape
            .iter()
            .map(|&d| {
                usize::try_from(d)
                    .ok()
                    .filter(|&d| d as u128 <= crate::shape::MAX_ELEMENTS)
                    .ok_or_else(|| {
                        Error::exhausted("request", format!("dimension {d} is too large"))
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        crate::shape::checked_numel("request", &shape)?;
        Ok(Meta { dtype, shape })
    }
}

impl Scalar {
    /// To the wire.
    pub fn to_wire(&self) -> pb::Scalar {
        use pb::scalar::Value;
        let v = match *self {
            Scalar::Bool(b) => Value::Bool(b),
            Scalar::Int(i) => match i64::try_from(i) {
                Ok(i) => Value::Int(i),
                Err(_) => Value::Uint(i as u64),
            },
            Scalar::Float(f) => Value::Float(f),
            Scalar::Complex(re, im) => Value::Complex(pb::Complex { re, im }),
        };
        pb::Scalar { value: Some(v) }
    }

    /// From the wire.
    pub fn from_wire(s: &pb::Scalar) -> Result<Scalar> {
        use pb::scalar::Value;
        Ok(match &s.value {
            Some(Value::Bool(b)) => Scalar::Bool(*b),
            Some(Value::Int(i)) => Scalar::Int(*i as i128),
            Some(Value::Uint(u)) => Scalar::Int(*u as i128),
            Some(Value::Float(f)) => Scalar::Float(*f),
            Some(Value::Complex(c)) => Scalar::Complex(c.re, c.im),
            None => return Err(Error::invalid("request", "scalar", "empty scalar")),
        })
    }
}

impl IndexItem {
    fn to_wire(&self) -> pb::IndexItem {
        use pb::index_item::Item;
        let item = match self {
            IndexItem::Int(i) => Item::Int(*i),
            IndexItem::Slice(a, b, c) => Item::Slice(pb::Slice {
                start: *a,
                stop: *b,
                step: *c,
            }),
            IndexItem::NewAxis => Item::Newaxis(pb::Empty {}),
            IndexItem::Ellipsis => Item::Ellipsis(pb::Empty {}),
            IndexItem::Array(p) => Item::Operand(*p as u32),
        };
        pb::IndexItem { item: Some(item) }
    }

    fn from_wire(i: &pb::IndexItem) -> Result<IndexItem> {
        use pb::index_item::Item;
        Ok(match &i.item {
            Some(Item::Int(v)) => IndexItem::Int(*v),
            Some(Item::Slice(s)) => IndexItem::Slice(s.start, s.stop, s.step),
            Some(Item::Newaxis(_)) => IndexItem::NewAxis,
            Some(Item::Ellipsis(_)) => IndexItem::Ellipsis,
            Some(Item::Operand(p)) => IndexItem::Array(*p as usize),
            None => return Err(Error::invalid("getitem", "index", "empty index item")),
        })
    }
}

impl Attr {
    /// To the wire.
    pub fn to_wire(&self) -> pb::AttrValue {
        use pb::attr_value::Value;
        let v = match self {
            Attr::None => Value::None(pb::Empty {}),
            Attr::Bool(b) => Value::Bool(*b),
            Attr::Int(i) => Value::Int(*i),
            Attr::Float(f) => Value::Float(*f),
            Attr::Str(s) => Value::Str(s.clone()),
            Attr::DType(d) => Value::Dtype(d.to_wire()),
            Attr::Ints(v) => Value::Ints(pb::IntList { values: v.clone() }),
            Attr::Floats(v) => Value::Floats(pb::FloatList { values: v.clone() }),
            Attr::Scalar(s) => Value::Scalar(s.to_wire()),
            Attr::Index(items) => Value::Index(pb::IndexList {
                items: items.iter().map(IndexItem::to_wire).collect(),
            }),
        };
        pb::AttrValue { value: Some(v) }
    }

    /// From the wire.
    pub fn from_wire(a: &pb::AttrValue) -> Result<Attr> {
        use pb::attr_value::Value;
        Ok(match &a.value {
            None | Some(Value::None(_)) => Attr::None,
            Some(Value::Bool(b)) => Attr::Bool(*b),
            Some(Value::Int(i)) => Attr::Int(*i),
            Some(Value::Float(f)) => Attr::Float(*f),
            Some(Value::Str(s)) => Attr::Str(s.clone()),
            Some(Value::Dtype(d)) => Attr::DType(DType::from_wire(*d)?),
            Some(Value::Ints(v)) => Attr::Ints(v.values.clone()),
            Some(Value::Floats(v)) => Attr::Floats(v.values.clone()),
            Some(Value::Scalar(s)) => Attr::Scalar(Scalar::from_wire(s)?),
            Some(Value::Index(l)) => Attr::Index(
                l.items
                    .iter()
                    .map(IndexItem::from_wire)
                    .collect::<Result<_>>()?,
            ),
        })
    }
}

impl Attrs {
    /// To the wire map.
    pub fn to_wire(&self) -> HashMap<String, pb::AttrValue> {
        self.0
            .iter()
            .map(|(k, v)| (k.clone(), v.to_wire()))
            .collect()
    }

    /// From the wire map.
    pub fn from_wire(m: &HashMap<String, pb::AttrValue>) -> Result<Attrs> {
        let mut a = Attrs::new();
        for (k, v) in m {
            a.0.insert(k.clone(), Attr::from_wire(v)?);
        }
        Ok(a)
    }
}
