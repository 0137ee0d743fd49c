//! Typed methods of the rearranging, joining, splitting and conversion ops
//! (`ndserve_proto::ops::shape_ops` and the conversions of `ndserve_proto::ops::creation`):
//! `flatten`, `swapaxes`, `moveaxis`, `atleast_*d`, `broadcast_arrays`, `hstack`/`vstack`/
//! `dstack`, `append`, `split` and its variants, `tile`, `repeat`, `pad`, `flip`/`flipud`/
//! `fliplr`, `roll`, `rot90`, and `array`/`asarray`/`asanyarray`/`ascontiguousarray`.
//!
//! Each one is a thin layer over [`crate::Client::call`]: checked locally, queued at once.
//!
//! ```
//! use ndarray::array;
//! use ndserve_client::Client;
//!
//! # fn main() -> ndserve_client::Result<()> {
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let client = Client::embedded().await?;
//! let a = client.arange_n(6)?.reshape(&[2, 3])?; // [[0, 1, 2], [3, 4, 5]]
//!
//! // np.flip(a, 1), np.roll(a, 1), np.rot90(a)
//! assert_eq!(a.flip(1)?.to_ndarray::<i64>().await?, array![[2i64, 1, 0], [5, 4, 3]].into_dyn());
//! assert_eq!(a.roll(1, None)?.to_vec::<i64>().await?, vec![5, 0, 1, 2, 3, 4]);
//! assert_eq!(
//!     a.rot90(1, (0, 1))?.to_ndarray::<i64>().await?,
//!     array![[2i64, 5], [1, 4], [0, 3]].into_dyn()
//! );
//! // np.swapaxes(a, 0, 1).shape, np.atleast_3d(a).shape
//! assert_eq!(a.swapaxes(0, 1)?.shape(), &[3, 2]);
//! assert_eq!(a.atleast_3d()?.shape(), &[2, 3, 1]);
//!
//! // np.split(np.arange(6), [2, 5]) and np.split(np.arange(6), 3)
//! let x = client.arange_n(6)?;
//! let parts = x.split([2, 5], 0)?;
//! assert_eq!(parts[1].to_vec::<i64>().await?, vec![2, 3, 4]);
//! assert_eq!(x.split(3, 0)?.len(), 3);
//!
//! // np.repeat([1, 2, 3], [1, 0, 2]), np.tile([1, 2], (2, 2)), np.pad([1, 2], (1, 2), constant_values=9)
//! let v = client.upload(&array![1i64, 2, 3]).await?;
//! assert_eq!(v.repeat(&[1, 0, 2], None)?.to_vec::<i64>().await?, vec![1, 3, 3]);
//! let w = client.upload(&array![1i64, 2]).await?;
//! assert_eq!(w.tile(&[2, 2])?.to_vec::<i64>().await?, vec![1, 2, 1, 2, 1, 2, 1, 2]);
//! assert_eq!(
//!     w.pad(&[1, 2], "constant", Some(9.into()))?.to_vec::<i64>().await?,
//!     vec![9, 1, 2, 9, 9]
//! );
//! // np.vstack([w, w]), np.append(a, [7, 8])
//! assert_eq!(client.vstack(&[&w, &w])?.shape(), &[2, 2]);
//! assert_eq!(a.append(&w, None)?.to_vec::<i64>().await?, vec![0, 1, 2, 3, 4, 5, 1, 2]);
//! # Ok(())
//! # })
//! # }
//! ```

use ndserve_proto::{Attr, Attrs, DType, Result, Scalar};

use crate::array::Array;
use crate::client::Client;
use crate::operand::{Axis, Operand};

/// NumPy's `indices_or_sections` argument of [`Array::split`] and its variants: a number
/// of equal sections, or the indices to cut at.
///
/// ```
/// use ndserve_client::Sections;
/// assert_eq!(Sections::from(3), Sections::Equal(3));
/// assert_eq!(Sections::from([2, 5]), Sections::At(vec![2, 5]));
/// assert_eq!(Sections::from(vec![1i64]), Sections::At(vec![1]));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sections {
    /// This many equal sections (`np.split(a, 3)`).
    Equal(i64),
    /// Cut before each of these indices (`np.split(a, [2, 5])`).
    At(Vec<i64>),
}

impl Sections {
    fn to_attr(&self) -> Attr {
        match self {
            Sections::Equal(n) => Attr::Int(*n),
            Sections::At(v) => Attr::Ints(v.clone()),
        }
    }
}

impl From<i64> for Sections {
    fn from(n: i64) -> Sections {
        Sections::Equal(n)
    }
}
impl From<i32> for Sections {
    fn from(n: i32) -> Sections {
        Sections::Equal(n as i64)
    }
}
impl From<usize> for Sections {
    fn from(n: usize) -> Sections {
        Sections::Equal(n as i64)
    }
}
impl From<&[i64]> for Sections {
    fn from(v: &[i64]) -> Sections {
        Sections::At(v.to_vec())
    }
}
impl From<Vec<i64>> for Sections {
    fn from(v: Vec<i64>) -> Sections {
        Sections::At(v)
    }
}
impl<const N: usize> From<[i64; N]> for Sections {
    fn from(v: [i64; N]) -> Sections {
        Sections::At(v.to_vec())
    }
}
impl<const N: usize> From<&[i64; N]> for Sections {
    fn from(v: &[i64; N]) -> Sections {
        Sections::At(v.to_vec())
    }
}

fn optional_axis(axis: Option<i64>) -> Attr {
    axis.map_or(Attr::None, Attr::Int)
}

impl Array {
    fn shape_op(&self, op: &str, attrs: Attrs) -> Result<Array> {
        self.client().call1(op, &[self.into()], attrs)
    }

    fn split_op(&self, op: &str, attrs: Attrs) -> Result<Vec<Array>> {
        self.client().call(op, &[self.into()], attrs)
    }

    /// A flattened copy, C order (`ndarray.flatten`).
    ///
    /// # Errors
    ///
    /// None beyond a closed client.
    #[doc(alias = "ndarray.flatten")]
    pub fn flatten(&self) -> Result<Array> {
        self.shape_op("flatten", Attrs::new())
    }

    /// Interchanges two axes (`np.swapaxes`).
    ///
    /// # Errors
    ///
    /// A bad axis, at the call.
    #[doc(alias = "np.swapaxes")]
    pub fn swapaxes(&self, axis1: i64, axis2: i64) -> Result<Array> {
        let attrs = Attrs::new()
            .with("axis1", Attr::Int(axis1))
            .with("axis2", Attr::Int(axis2));
        self.shape_op("swapaxes", attrs)
    }

    /// Moves the axes `source` to the positions `destination`, the others keeping their
    /// order (`np.moveaxis`).
    ///
    /// # Errors
    ///
    /// A bad or repeated axis, `source` and `destination` of different lengths, or
    /// [`Axis::All`] for either, at the call.
    #[doc(alias = "np.moveaxis")]
    pub fn moveaxis(&self, source: impl Into<Axis>, destination: impl Into<Axis>) -> Result<Array> {
        let mut attrs = Attrs::new();
        if let Some(s) = source.into().to_attr() {
            attrs.set("source", s);
        }
        if let Some(d) = destination.into().to_attr() {
            attrs.set("destination", d);
        }
        self.shape_op("moveaxis", attrs)
    }

    /// The array with at least one dimension (`np.atleast_1d`).
    ///
    /// # Errors
    ///
    /// None beyond a closed client.
    #[doc(alias = "np.atleast_1d")]
    pub fn atleast_1d(&self) -> Result<Array> {
        self.shape_op("atleast_1d", Attrs::new())
    }

    /// The array with at least two dimensions (`np.atleast_2d`): a 1-D array becomes a row.
    ///
    /// # Errors
    ///
    /// None beyond a closed client.
    #[doc(alias = "np.atleast_2d")]
    pub fn atleast_2d(&self) -> Result<Array> {
        self.shape_op("atleast_2d", Attrs::new())
    }

    /// The array with at least three dimensions (`np.atleast_3d`): shape `(n,)` becomes
    /// `(1, n, 1)`, `(m, n)` becomes `(m, n, 1)`.
    ///
    /// # Errors
    ///
    /// None beyond a closed client.
    #[doc(alias = "np.atleast_3d")]
    pub fn atleast_3d(&self) -> Result<Array> {
        self.shape_op("atleast_3d", Attrs::new())
    }

    /// `values` appended at the end along `axis`; `None` flattens both first
    /// (`np.append`).
    ///
    /// # Errors
    ///
    /// A bad axis, or shapes that differ off the axis, at the call.
    #[doc(alias = "np.append")]
    pub fn append(&self, values: impl Into<Operand>, axis: Option<i64>) -> Result<Array> {
        self.client().call1(
            "append",
            &[self.into(), values.into()],
            Attrs::new().with("axis", optional_axis(axis)),
        )
    }

    /// Splits along `axis` into equal sections or at the given indices (`np.split`).
    ///
    /// # Errors
    ///
    /// A bad axis, or a number of sections that does not divide the axis, at the call.
    #[doc(alias = "np.split")]
    pub fn split(&self, indices_or_sections: impl Into<Sections>, axis: i64) -> Result<Vec<Array>> {
        let attrs = Attrs::new()
            .with("indices_or_sections", indices_or_sections.into().to_attr())
            .with("axis", Attr::Int(axis));
        self.split_op("split", attrs)
    }

    /// Splits column-wise: along axis 1, or 0 for a 1-D array (`np.hsplit`).
    ///
    /// # Errors
    ///
    /// A 0-d array, or an unequal division, at the call.
    #[doc(alias = "np.hsplit")]
    pub fn hsplit(&self, indices_or_sections: impl Into<Sections>) -> Result<Vec<Array>> {
        let attrs = Attrs::new().with("indices_or_sections", indices_or_sections.into().to_attr());
        self.split_op("hsplit", attrs)
    }

    /// Splits row-wise, along axis 0 of an array of 2 or more dimensions (`np.vsplit`).
    ///
    /// # Errors
    ///
    /// An array of fewer than 2 dimensions, or an unequal division, at the call.
    #[doc(alias = "np.vsplit")]
    pub fn vsplit(&self, indices_or_sections: impl Into<Sections>) -> Result<Vec<Array>> {
        let attrs = Attrs::new().with("indices_or_sections", indices_or_sections.into().to_attr());
        self.split_op("vsplit", attrs)
    }

    /// Splits along axis 2 of an array of 3 or more dimensions (`np.dsplit`).
    ///
    /// # Errors
    ///
    /// An array of fewer than 3 dimensions, or an unequal division, at the call.
    #[doc(alias = "np.dsplit")]
    pub fn dsplit(&self, indices_or_sections: impl Into<Sections>) -> Result<Vec<Array>> {
        let attrs = Attrs::new().with("indices_or_sections", indices_or_sections.into().to_attr());
        self.split_op("dsplit", attrs)
    }

    /// The whole array repeated `reps[i]` times along each axis (`np.tile`); the shorter
    /// of `reps` and the shape is padded with leading 1s.
    ///
    /// # Errors
    ///
    /// A negative repetition, at the call.
    #[doc(alias = "np.tile")]
    pub fn tile(&self, reps: &[i64]) -> Result<Array> {
        self.shape_op("tile", Attrs::new().with("reps", Attr::Ints(reps.to_vec())))
    }

    /// Each element repeated along `axis` (`None` flattens first) (`np.repeat`):
    /// `repeats` is one count for every element or one count per position.
    ///
    /// # Errors
    ///
    /// A negative count, a bad axis, or counts that do not match the axis, at the call.
    #[doc(alias = "np.repeat")]
    pub fn repeat(&self, repeats: &[i64], axis: Option<i64>) -> Result<Array> {
        let repeats = match repeats {
            [r] => Attr::Int(*r),
            v => Attr::Ints(v.to_vec()),
        };
        let attrs = Attrs::new()
            .with("repeats", repeats)
            .with("axis", optional_axis(axis));
        self.shape_op("repeat", attrs)
    }

    /// Pads the array (`np.pad`). `pad_width` is `[w]` (every side), `[before, after]`
    /// (every axis), or `[before_0, after_0, before_1, after_1, ...]`; `mode` is
    /// `"constant"`, `"edge"`, `"reflect"`, `"symmetric"` or `"wrap"`;
    /// `constant_values` (default 0) fills in constant mode.
    ///
    /// # Errors
    ///
    /// A bad width or mode, or a non-constant mode on an empty axis, at the call.
    #[doc(alias = "np.pad")]
    pub fn pad(
        &self,
        pad_width: &[usize],
        mode: &str,
        constant_values: Option<Scalar>,
    ) -> Result<Array> {
        let width = pad_width.iter().map(|&w| w as i64).collect();
        let mut attrs = Attrs::new()
            .with("pad_width", Attr::Ints(width))
            .with("mode", Attr::Str(mode.to_string()));
        if let Some(v) = constant_values {
            attrs.set("constant_values", Attr::Scalar(v));
        }
        self.shape_op("pad", attrs)
    }

    /// Reverses the order of the elements along the given axes, every axis for
    /// [`Axis::All`] (`np.flip`).
    ///
    /// # Errors
    ///
    /// A bad axis, at the call.
    #[doc(alias = "np.flip")]
    pub fn flip(&self, axis: impl Into<Axis>) -> Result<Array> {
        self.shape_op("flip", crate::methods::with_axis(Attrs::new(), axis.into()))
    }

    /// Reverses along axis 0 (`np.flipud`).
    ///
    /// # Errors
    ///
    /// A 0-d array, at the call.
    #[doc(alias = "np.flipud")]
    pub fn flipud(&self) -> Result<Array> {
        self.shape_op("flipud", Attrs::new())
    }

    /// Reverses along axis 1 (`np.fliplr`).
    ///
    /// # Errors
    ///
    /// An array of fewer than 2 dimensions, at the call.
    #[doc(alias = "np.fliplr")]
    pub fn fliplr(&self) -> Result<Array> {
        self.shape_op("fliplr", Attrs::new())
    }

    /// Rolls the elements by `shift` along `axis`; `None` rolls the flattened array and
    /// keeps the shape (`np.roll`).
    ///
    /// # Errors
    ///
    /// A bad axis, at the call.
    #[doc(alias = "np.roll")]
    pub fn roll(&self, shift: i64, axis: Option<i64>) -> Result<Array> {
        let attrs = Attrs::new()
            .with("shift", Attr::Int(shift))
            .with("axis", optional_axis(axis));
        self.shape_op("roll", attrs)
    }

    /// `np.roll(a, shift, axis)` with several shifts and axes, paired (a single one of
    /// either applies to all of the other).
    ///
    /// # Errors
    ///
    /// A bad axis or lengths that do not pair, at the call.
    #[doc(alias = "np.roll")]
    pub fn roll_axes(&self, shift: &[i64], axes: &[i64]) -> Result<Array> {
        let attrs = Attrs::new()
            .with("shift", Attr::Ints(shift.to_vec()))
            .with("axis", Attr::Ints(axes.to_vec()));
        self.shape_op("roll", attrs)
    }

    /// Rotates by 90 degrees `k` times, from the first axis of `axes` towards the second
    /// (`np.rot90(m, k, axes)`; NumPy's default `axes` is `(0, 1)`).
    ///
    /// # Errors
    ///
    /// Equal or out-of-range axes, at the call.
    #[doc(alias = "np.rot90")]
    pub fn rot90(&self, k: i64, axes: (i64, i64)) -> Result<Array> {
        let attrs = Attrs::new()
            .with("k", Attr::Int(k))
            .with("axes", Attr::Ints(vec![axes.0, axes.1]));
        self.shape_op("rot90", attrs)
    }
}

impl Client {
    fn convert(&self, op: &str, a: Operand, dtype: Option<DType>, extra: Attrs) -> Result<Array> {
        let mut attrs = extra;
        if let Some(d) = dtype {
            attrs.set("dtype", Attr::DType(d));
        }
        self.call1(op, &[a], attrs)
    }

    fn joined(&self, op: &str, arrays: &[&Array]) -> Result<Array> {
        let inputs: Vec<Operand> = arrays.iter().map(|&a| a.into()).collect();
        self.call1(op, &inputs, Attrs::new())
    }

    /// A new array from an array or a Python scalar, cast to `dtype` when given, with at
    /// least `ndmin` dimensions (leading 1s added) (`np.array(object, dtype, ndmin=ndmin)`).
    ///
    /// # Errors
    ///
    /// `ndmin` above 64, at the call.
    #[doc(alias = "np.array")]
    pub fn array(
        &self,
        object: impl Into<Operand>,
        dtype: Option<DType>,
        ndmin: usize,
    ) -> Result<Array> {
        let extra = if ndmin > 0 {
            Attrs::new().with("ndmin", Attr::Int(ndmin as i64))
        } else {
            Attrs::new()
        };
        self.convert("array", object.into(), dtype, extra)
    }

    /// An array from an array or a Python scalar, cast to `dtype` when given
    /// (`np.asarray`); a Python scalar becomes a 0-d array of its default dtype.
    ///
    /// # Errors
    ///
    /// None beyond a closed client.
    #[doc(alias = "np.asarray")]
    pub fn asarray(&self, a: impl Into<Operand>, dtype: Option<DType>) -> Result<Array> {
        self.convert("asarray", a.into(), dtype, Attrs::new())
    }

    /// As [`Client::asarray`] (`np.asanyarray`: ndserve has no subclasses).
    ///
    /// # Errors
    ///
    /// None beyond a closed client.
    #[doc(alias = "np.asanyarray")]
    pub fn asanyarray(&self, a: impl Into<Operand>, dtype: Option<DType>) -> Result<Array> {
        self.convert("asanyarray", a.into(), dtype, Attrs::new())
    }

    /// A C-contiguous array of at least one dimension (`np.ascontiguousarray`): a 0-d input
    /// becomes shape `(1,)`.
    ///
    /// # Errors
    ///
    /// None beyond a closed client.
    #[doc(alias = "np.ascontiguousarray")]
    pub fn ascontiguousarray(&self, a: impl Into<Operand>, dtype: Option<DType>) -> Result<Array> {
        self.convert("ascontiguousarray", a.into(), dtype, Attrs::new())
    }

    /// The arrays broadcast against each other, each keeping its dtype
    /// (`np.broadcast_arrays`).
    ///
    /// # Errors
    ///
    /// Shapes that do not broadcast, at the call.
    #[doc(alias = "np.broadcast_arrays")]
    pub fn broadcast_arrays(&self, args: &[Operand]) -> Result<Vec<Array>> {
        self.call("broadcast_arrays", args, Attrs::new())
    }

    /// Joins arrays column-wise: along axis 1, or 0 for 1-D arrays (`np.hstack`).
    ///
    /// # Errors
    ///
    /// No arrays, or shapes that differ off the axis, at the call.
    #[doc(alias = "np.hstack")]
    pub fn hstack(&self, tup: &[&Array]) -> Result<Array> {
        self.joined("hstack", tup)
    }

    /// Joins arrays row-wise, 1-D ones as rows (`np.vstack`).
    ///
    /// # Errors
    ///
    /// No arrays, or shapes that differ off the axis, at the call.
    #[doc(alias = "np.vstack")]
    pub fn vstack(&self, tup: &[&Array]) -> Result<Array> {
        self.joined("vstack", tup)
    }

    /// Joins arrays along the third axis, after [`Array::atleast_3d`] (`np.dstack`).
    ///
    /// # Errors
    ///
    /// No arrays, or shapes that differ off the axis, at the call.
    #[doc(alias = "np.dstack")]
    pub fn dstack(&self, tup: &[&Array]) -> Result<Array> {
        self.joined("dstack", tup)
    }
}
