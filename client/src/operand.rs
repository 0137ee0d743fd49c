//! Arguments of ops: [`Operand`] (an array or a Python scalar), [`Axis`] and [`Idx`].

use std::ops::{Range, RangeFrom, RangeFull, RangeInclusive, RangeTo, RangeToInclusive};

use ndserve_proto::attrs::IndexItem;
use ndserve_proto::ops::Input;
use ndserve_proto::{Attr, Scalar, pb};
use num_complex::Complex;

use crate::array::Array;

/// One input of an op: an [`Array`] or a Python scalar.
///
/// A Rust number converts to a *weak* Python scalar (NumPy 2, NEP 50): it takes the dtype
/// of the arrays it meets unless its kind is higher, so `int8_array + 1` stays int8 and
/// `float32_array * 2.0` stays float32, while `int8_array * 2.5` is float64. To pass a
/// strongly typed number, upload a 0-d array or use [`crate::Client::full`].
///
/// ```
/// use ndserve_client::{Operand, Scalar};
/// assert_eq!(Operand::from(2.5f32), Operand::Scalar(Scalar::Float(2.5)));
/// assert_eq!(Operand::from(7u8), Operand::Scalar(Scalar::Int(7)));
/// assert_eq!(Operand::from(true), Operand::Scalar(Scalar::Bool(true)));
/// ```
#[derive(Clone, Debug)]
pub enum Operand {
    /// An array of this client.
    Array(Array),
    /// A Python scalar.
    Scalar(Scalar),
}

impl PartialEq for Operand {
    /// Arrays are equal when they are the same handle of the same client.
    fn eq(&self, other: &Operand) -> bool {
        match (self, other) {
            (Operand::Array(a), Operand::Array(b)) => {
                a.handle() == b.handle() && a.client().same(b.client())
            }
            (Operand::Scalar(a), Operand::Scalar(b)) => a == b,
            _ => false,
        }
    }
}

impl Operand {
    /// The contract's view of the operand: what `infer` sees of it.
    pub fn to_input(&self) -> Input {
        match self {
            Operand::Array(a) => Input::Array(a.meta().clone()),
            Operand::Scalar(s) => Input::Scalar(*s),
        }
    }

    pub(crate) fn to_wire(&self) -> pb::Operand {
        pb::Operand {
            kind: Some(match self {
                Operand::Array(a) => pb::operand::Kind::Handle(a.handle()),
                Operand::Scalar(s) => pb::operand::Kind::Scalar(s.to_wire()),
            }),
        }
    }

    /// The array, when it is one.
    pub fn as_array(&self) -> Option<&Array> {
        match self {
            Operand::Array(a) => Some(a),
            Operand::Scalar(_) => None,
        }
    }
}

impl From<Array> for Operand {
    fn from(a: Array) -> Operand {
        Operand::Array(a)
    }
}

impl From<&Array> for Operand {
    fn from(a: &Array) -> Operand {
        Operand::Array(a.clone())
    }
}

impl From<Scalar> for Operand {
    fn from(s: Scalar) -> Operand {
        Operand::Scalar(s)
    }
}

macro_rules! operand_from_number {
    ($($t:ty),*) => {$(
        impl From<$t> for Operand {
            fn from(v: $t) -> Operand {
                Operand::Scalar(Scalar::from(v))
            }
        }
    )*};
}
operand_from_number!(
    bool,
    i8,
    i16,
    i32,
    i64,
    isize,
    u8,
    u16,
    u32,
    u64,
    usize,
    f32,
    f64,
    Complex<f32>,
    Complex<f64>
);

/// The `axis` argument of reductions and axis ops: all axes (NumPy's `axis=None`), one
/// axis, or several. Negative axes count from the end.
///
/// It converts from `None` (all axes), integers, `Some(i)`, slices, arrays and vectors
/// of `i64`:
///
/// ```
/// use ndserve_client::Axis;
/// assert_eq!(Axis::from(None), Axis::All);
/// assert_eq!(Axis::from(-1), Axis::One(-1));
/// assert_eq!(Axis::from(Some(2)), Axis::One(2));
/// assert_eq!(Axis::from([0, 2]), Axis::Many(vec![0, 2]));
/// assert_eq!(Axis::from(&[1i64][..]), Axis::Many(vec![1]));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Axis {
    /// Every axis (`axis=None`).
    #[default]
    All,
    /// One axis (`axis=1`).
    One(i64),
    /// Several axes (`axis=(0, 2)`).
    Many(Vec<i64>),
}

impl Axis {
    /// The attribute value (`None` for all axes: the attribute is left out).
    pub(crate) fn to_attr(&self) -> Option<Attr> {
        match self {
            Axis::All => None,
            Axis::One(i) => Some(Attr::Int(*i)),
            Axis::Many(v) => Some(Attr::Ints(v.clone())),
        }
    }
}

impl From<Option<i64>> for Axis {
    fn from(a: Option<i64>) -> Axis {
        a.map_or(Axis::All, Axis::One)
    }
}
impl From<i64> for Axis {
    fn from(a: i64) -> Axis {
        Axis::One(a)
    }
}
impl From<i32> for Axis {
    fn from(a: i32) -> Axis {
        Axis::One(a as i64)
    }
}
impl From<usize> for Axis {
    fn from(a: usize) -> Axis {
        Axis::One(a as i64)
    }
}
impl From<&[i64]> for Axis {
    fn from(a: &[i64]) -> Axis {
        Axis::Many(a.to_vec())
    }
}
impl From<Vec<i64>> for Axis {
    fn from(a: Vec<i64>) -> Axis {
        Axis::Many(a)
    }
}
impl<const N: usize> From<[i64; N]> for Axis {
    fn from(a: [i64; N]) -> Axis {
        Axis::Many(a.to_vec())
    }
}
impl<const N: usize> From<&[i64; N]> for Axis {
    fn from(a: &[i64; N]) -> Axis {
        Axis::Many(a.to_vec())
    }
}

/// One item of an indexing key, as in NumPy's `a[0, 1:3, np.newaxis, ...]`
/// ([`Array::getitem`]).
///
/// Integers convert to [`Idx::Int`]; Rust ranges to slices (`1..3` is `1:3`, `..` is `:`,
/// `2..` is `2:`; `a..=b` is `a:b+1`, with `..=-1` running to the end).
///
/// ```
/// use ndserve_client::Idx;
/// assert_eq!(Idx::from(-1), Idx::Int(-1));
/// assert_eq!(Idx::from(1..3), Idx::Slice(Some(1), Some(3), None));
/// assert_eq!(Idx::from(..), Idx::all());
/// assert_eq!(Idx::from(..=-1), Idx::Slice(None, None, None));
/// assert_eq!(Idx::slice(None, None, Some(-1)), Idx::Slice(None, None, Some(-1))); // ::-1
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idx {
    /// One position; the axis disappears (negative counts from the end).
    Int(i64),
    /// `start:stop:step`, each optional (NumPy's `None`).
    Slice(Option<i64>, Option<i64>, Option<i64>),
    /// A new length-1 axis (`np.newaxis`).
    NewAxis,
    /// As many full slices as needed (`...`).
    Ellipsis,
}

impl Idx {
    /// `:`, the whole axis.
    pub fn all() -> Idx {
        Idx::Slice(None, None, None)
    }

    /// `start:stop:step`.
    pub fn slice(start: Option<i64>, stop: Option<i64>, step: Option<i64>) -> Idx {
        Idx::Slice(start, stop, step)
    }

    /// `start:stop`.
    pub fn range(start: i64, stop: i64) -> Idx {
        Idx::Slice(Some(start), Some(stop), None)
    }

    /// `::step` (`Idx::step(-1)` reverses an axis).
    pub fn step(step: i64) -> Idx {
        Idx::Slice(None, None, Some(step))
    }

    pub(crate) fn to_item(self) -> IndexItem {
        match self {
            Idx::Int(i) => IndexItem::Int(i),
            Idx::Slice(a, b, c) => IndexItem::Slice(a, b, c),
            Idx::NewAxis => IndexItem::NewAxis,
            Idx::Ellipsis => IndexItem::Ellipsis,
        }
    }
}

impl From<i64> for Idx {
    fn from(i: i64) -> Idx {
        Idx::Int(i)
    }
}
impl From<i32> for Idx {
    fn from(i: i32) -> Idx {
        Idx::Int(i as i64)
    }
}
impl From<usize> for Idx {
    fn from(i: usize) -> Idx {
        Idx::Int(i as i64)
    }
}
impl From<Range<i64>> for Idx {
    fn from(r: Range<i64>) -> Idx {
        Idx::Slice(Some(r.start), Some(r.end), None)
    }
}
impl From<RangeFrom<i64>> for Idx {
    fn from(r: RangeFrom<i64>) -> Idx {
        Idx::Slice(Some(r.start), None, None)
    }
}
impl From<RangeTo<i64>> for Idx {
    fn from(r: RangeTo<i64>) -> Idx {
        Idx::Slice(None, Some(r.end), None)
    }
}
impl From<RangeFull> for Idx {
    fn from(_: RangeFull) -> Idx {
        Idx::all()
    }
}

fn inclusive_stop(end: i64) -> Option<i64> {
    if end == -1 { None } else { Some(end + 1) }
}

impl From<RangeInclusive<i64>> for Idx {
    fn from(r: RangeInclusive<i64>) -> Idx {
        Idx::Slice(Some(*r.start()), inclusive_stop(*r.end()), None)
    }
}
impl From<RangeToInclusive<i64>> for Idx {
    fn from(r: RangeToInclusive<i64>) -> Idx {
        Idx::Slice(None, inclusive_stop(r.end), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(a: impl Into<Axis>) -> Axis {
        a.into()
    }

    fn idx(i: impl Into<Idx>) -> Idx {
        i.into()
    }

    #[test]
    fn axis_conversions() {
        assert_eq!(axis(None), Axis::All);
        assert_eq!(axis(0), Axis::One(0));
        assert_eq!(axis(-2), Axis::One(-2));
        assert_eq!(axis(3usize), Axis::One(3));
        assert_eq!(axis(vec![0, 1]), Axis::Many(vec![0, 1]));
        assert_eq!(axis([1, 2]), Axis::Many(vec![1, 2]));
        assert_eq!(Axis::from(&[1, 2]), Axis::Many(vec![1, 2]));
        assert_eq!(Axis::All.to_attr(), None);
        assert_eq!(axis(1).to_attr(), Some(Attr::Int(1)));
        assert_eq!(axis([1]).to_attr(), Some(Attr::Ints(vec![1])));
    }

    #[test]
    fn idx_conversions() {
        assert_eq!(idx(3), Idx::Int(3));
        assert_eq!(idx(2..), Idx::Slice(Some(2), None, None));
        assert_eq!(idx(..2), Idx::Slice(None, Some(2), None));
        assert_eq!(idx(1..=2), Idx::Slice(Some(1), Some(3), None));
        assert_eq!(idx(-3..=-1), Idx::Slice(Some(-3), None, None));
        assert_eq!(idx(..=-2), Idx::Slice(None, Some(-1), None));
        assert_eq!(
            Idx::step(-1).to_item(),
            IndexItem::Slice(None, None, Some(-1))
        );
        assert_eq!(Idx::NewAxis.to_item(), IndexItem::NewAxis);
        assert_eq!(Idx::Ellipsis.to_item(), IndexItem::Ellipsis);
        assert_eq!(
            Idx::range(1, 4).to_item(),
            IndexItem::Slice(Some(1), Some(4), None)
        );
    }

    #[test]
    fn scalars_are_weak_python_scalars() {
        assert_eq!(Operand::from(1.5f64), Operand::Scalar(Scalar::Float(1.5)));
        assert_eq!(
            Operand::from(u64::MAX),
            Operand::Scalar(Scalar::Int(u64::MAX as i128))
        );
        assert_eq!(
            Operand::from(Complex::new(1.0f64, 2.0)),
            Operand::Scalar(Scalar::Complex(1.0, 2.0))
        );
        let w = Operand::from(-3i8).to_wire();
        assert_eq!(
            w.kind,
            Some(pb::operand::Kind::Scalar(Scalar::Int(-3).to_wire()))
        );
        assert_eq!(Operand::from(2).to_input(), Input::Scalar(Scalar::Int(2)));
    }
}
