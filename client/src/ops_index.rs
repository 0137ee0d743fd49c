//! Typed methods of the gathers, selections and functional item assignments
//! (`ndserve_proto::ops::index`): advanced indexing with index arrays ([`IndexArg`],
//! [`Array::index`]), `take`, `take_along_axis`, `where`, `select`, `diagonal`,
//! `diag_indices`, `ix_`, and `index_update`/`index_add`/`index_min`/`index_max` (NumPy's
//! `a[key] = y` and `np.add.at`, returning a new array: ndserve arrays are immutable).
//!
//! ```
//! use ndarray::array;
//! use ndserve_client::{Client, IndexArg};
//!
//! # fn main() -> ndserve_client::Result<()> {
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let client = Client::embedded().await?;
//! let a = client.arange_n(12)?.reshape(&[3, 4])?;
//! let rows = client.upload(&array![0i64, 2]).await?;
//! let cols = client.upload(&array![1i64, 3]).await?;
//!
//! // a[[0, 2], 1:3] and a[[0, 2], [1, 3]]
//! let b = a.index(&[IndexArg::from(&rows), (1..3).into()])?;
//! assert_eq!(b.to_ndarray::<i64>().await?, array![[1i64, 2], [9, 10]].into_dyn());
//! assert_eq!(a.index(&[(&rows).into(), (&cols).into()])?.to_vec::<i64>().await?, vec![1, 11]);
//!
//! // np.take(a, [0, 3], axis=1), np.diagonal(a, 1)
//! let t = a.take(&client.upload(&array![0i64, 3]).await?, Some(1))?;
//! assert_eq!(t.to_vec::<i64>().await?, vec![0, 3, 4, 7, 8, 11]);
//! assert_eq!(a.diagonal(1, 0, 1)?.to_vec::<i64>().await?, vec![1, 6, 11]);
//!
//! // np.where(a > 5, a, -1)
//! let w = a.greater(5)?.r#where(&a, -1)?;
//! assert_eq!(w.to_vec::<i64>().await?, vec![-1, -1, -1, -1, -1, -1, 6, 7, 8, 9, 10, 11]);
//!
//! // b = a.copy(); b[[0, 2], [1, 3]] = 0  and  np.add.at(a, ([0, 0], [0, 0]), 5)
//! let z = a.index_update(&[(&rows).into(), (&cols).into()], 0)?;
//! assert_eq!(z.getitem(&[0.into()])?.to_vec::<i64>().await?, vec![0, 0, 2, 3]);
//! let zeros = client.upload(&array![0i64, 0]).await?;
//! let s = a.index_add(&[(&zeros).into(), (&zeros).into()], 5)?;
//! assert_eq!(s.getitem(&[0.into(), 0.into()])?.item::<i64>().await?, 10);
//!
//! // a[np.ix_([0, 2], [1, 3])]
//! let ix = client.ix_(&[(&rows).into(), (&cols).into()])?;
//! assert_eq!(ix[0].shape(), &[2, 1]);
//! let sub = a.index(&[(&ix[0]).into(), (&ix[1]).into()])?;
//! assert_eq!(sub.to_ndarray::<i64>().await?, array![[1i64, 3], [9, 11]].into_dyn());
//! # Ok(())
//! # })
//! # }
//! ```

use std::ops::{Range, RangeFrom, RangeFull, RangeInclusive, RangeTo, RangeToInclusive};

use ndserve_proto::{Attr, Attrs, Error, IndexItem, Result, Scalar};

use crate::array::Array;
use crate::client::Client;
use crate::operand::{Idx, Operand};

/// One item of an advanced indexing key ([`Array::index`], [`Array::index_update`]): a
/// basic [`Idx`] (an integer, a slice, a new axis, an ellipsis) or an index array, of
/// integers (NumPy's integer-array indexing) or bools (a mask).
///
/// It converts from everything [`Idx`] converts from, from [`Idx`] itself and from arrays:
///
/// ```
/// use ndserve_client::{Idx, IndexArg};
/// assert!(matches!(IndexArg::from(2), IndexArg::Idx(Idx::Int(2))));
/// assert!(matches!(IndexArg::from(1..3), IndexArg::Idx(Idx::Slice(Some(1), Some(3), None))));
/// assert!(matches!(IndexArg::from(Idx::NewAxis), IndexArg::Idx(Idx::NewAxis)));
/// ```
#[derive(Clone, Debug)]
pub enum IndexArg {
    /// A basic index item.
    Idx(Idx),
    /// An integer index array or a boolean mask, of this client.
    Array(Array),
}

impl From<Idx> for IndexArg {
    fn from(i: Idx) -> IndexArg {
        IndexArg::Idx(i)
    }
}
impl From<Array> for IndexArg {
    fn from(a: Array) -> IndexArg {
        IndexArg::Array(a)
    }
}
impl From<&Array> for IndexArg {
    fn from(a: &Array) -> IndexArg {
        IndexArg::Array(a.clone())
    }
}

macro_rules! index_arg_from_idx {
    ($($t:ty),*) => {$(
        impl From<$t> for IndexArg {
            fn from(v: $t) -> IndexArg {
                IndexArg::Idx(Idx::from(v))
            }
        }
    )*};
}
index_arg_from_idx!(
    i64,
    i32,
    usize,
    Range<i64>,
    RangeFrom<i64>,
    RangeTo<i64>,
    RangeFull,
    RangeInclusive<i64>,
    RangeToInclusive<i64>
);

/// The wire key of `key`, its index arrays appended to `inputs` (whose positions the key
/// names).
fn wire_key(key: &[IndexArg], inputs: &mut Vec<Operand>) -> Attrs {
    let items = key
        .iter()
        .map(|k| match k {
            IndexArg::Idx(i) => i.to_item(),
            IndexArg::Array(a) => {
                inputs.push(a.into());
                IndexItem::Array(inputs.len() - 1)
            }
        })
        .collect();
    Attrs::new().with("key", Attr::Index(items))
}

impl Array {
    /// NumPy indexing `a[key]` with index arrays: integer arrays (broadcast together, as
    /// NumPy's advanced indexing) mixed with integers, slices, new axes and an ellipsis.
    /// For a key of basic items only, [`Array::getitem`] is the same.
    ///
    /// A boolean mask makes the result's shape depend on the data: use
    /// [`Array::index_run`] for such a key.
    ///
    /// # Errors
    ///
    /// An index out of bounds (at the next sync for array elements), index arrays that do
    /// not broadcast, a non-integer index array, or a boolean mask, at the call.
    #[doc(alias = "__getitem__")]
    pub fn index(&self, key: &[IndexArg]) -> Result<Array> {
        let mut inputs = vec![self.into()];
        let attrs = wire_key(key, &mut inputs);
        self.client().call1("getitem", &inputs, attrs)
    }

    /// [`Array::index`] for any key, boolean masks included: runs with one round trip
    /// ([`Client::run`]) and returns the array with its actual shape.
    ///
    /// # Errors
    ///
    /// As [`Array::index`] (a mask is accepted), plus the errors of the computation.
    #[doc(alias = "__getitem__")]
    pub async fn index_run(&self, key: &[IndexArg]) -> Result<Array> {
        let mut inputs = vec![self.into()];
        let attrs = wire_key(key, &mut inputs);
        let mut out = self.client().run("getitem", &inputs, attrs).await?;
        Ok(out.remove(0))
    }

    fn update(&self, op: &str, key: &[IndexArg], y: Operand) -> Result<Array> {
        let mut inputs = vec![self.into(), y];
        let attrs = wire_key(key, &mut inputs);
        self.client().call1(op, &inputs, attrs)
    }

    /// A copy with `a[key] = y` (functional item assignment): `y` broadcast to `a[key]`
    /// and cast to this array's dtype; with repeated indices the last assignment wins.
    /// The key may hold index arrays and boolean masks.
    ///
    /// # Errors
    ///
    /// A bad key, a `y` that does not broadcast to `a[key]`, or a Python integer that does
    /// not fit the dtype, at the call.
    #[doc(alias = "__setitem__")]
    #[doc(alias = "jax.numpy.ndarray.at")]
    pub fn index_update(&self, key: &[IndexArg], y: impl Into<Operand>) -> Result<Array> {
        self.update("index_update", key, y.into())
    }

    /// A copy after `np.add.at(a, key, y)`: repeated indices accumulate.
    ///
    /// # Errors
    ///
    /// As [`Array::index_update`].
    #[doc(alias = "np.add.at")]
    pub fn index_add(&self, key: &[IndexArg], y: impl Into<Operand>) -> Result<Array> {
        self.update("index_add", key, y.into())
    }

    /// A copy after `np.minimum.at(a, key, y)`.
    ///
    /// # Errors
    ///
    /// As [`Array::index_update`].
    #[doc(alias = "np.minimum.at")]
    pub fn index_min(&self, key: &[IndexArg], y: impl Into<Operand>) -> Result<Array> {
        self.update("index_min", key, y.into())
    }

    /// A copy after `np.maximum.at(a, key, y)`.
    ///
    /// # Errors
    ///
    /// As [`Array::index_update`].
    #[doc(alias = "np.maximum.at")]
    pub fn index_max(&self, key: &[IndexArg], y: impl Into<Operand>) -> Result<Array> {
        self.update("index_max", key, y.into())
    }

    /// The elements at `indices` along `axis`, of the flattened array for `None`
    /// (`np.take`); an out-of-bounds index is an error (NumPy's `mode='raise'`).
    ///
    /// # Errors
    ///
    /// A bad axis or non-integer indices at the call; an index out of bounds at the next
    /// sync.
    #[doc(alias = "np.take")]
    pub fn take(&self, indices: impl Into<Operand>, axis: Option<i64>) -> Result<Array> {
        self.take_mode(indices, axis, "raise")
    }

    /// [`Array::take`] with NumPy's `mode`: `"raise"`, `"wrap"` (indices wrap around) or
    /// `"clip"` (indices clip to the axis).
    ///
    /// # Errors
    ///
    /// As [`Array::take`]; an unknown mode, at the call.
    #[doc(alias = "np.take")]
    pub fn take_mode(
        &self,
        indices: impl Into<Operand>,
        axis: Option<i64>,
        mode: &str,
    ) -> Result<Array> {
        let attrs = Attrs::new()
            .with("axis", axis.map_or(Attr::None, Attr::Int))
            .with("mode", Attr::Str(mode.to_string()));
        self.client()
            .call1("take", &[self.into(), indices.into()], attrs)
    }

    /// Values at the matching 1-D index slices along `axis` (`np.take_along_axis`), as
    /// [`Array::argsort`] produces; `None` works on the flattened array with 1-D indices.
    ///
    /// # Errors
    ///
    /// A bad axis, non-integer indices, or shapes that do not match, at the call.
    #[doc(alias = "np.take_along_axis")]
    pub fn take_along_axis(&self, indices: impl Into<Operand>, axis: Option<i64>) -> Result<Array> {
        let attrs = Attrs::new().with("axis", axis.map_or(Attr::None, Attr::Int));
        self.client()
            .call1("take_along_axis", &[self.into(), indices.into()], attrs)
    }

    /// With this array as the condition, the elements of `x` where it is true and of `y`
    /// elsewhere (`np.where(condition, x, y)`); the three broadcast together. (For
    /// `np.where(condition)`, see [`Array::nonzero`].)
    ///
    /// # Errors
    ///
    /// Shapes that do not broadcast, at the call.
    #[doc(alias = "np.where")]
    pub fn r#where(&self, x: impl Into<Operand>, y: impl Into<Operand>) -> Result<Array> {
        self.client()
            .call1("where", &[self.into(), x.into(), y.into()], Attrs::new())
    }

    /// The diagonal with `offset` of the plane of `axis1` and `axis2`, as the last axis
    /// (`np.diagonal`).
    ///
    /// # Errors
    ///
    /// An array of fewer than 2 dimensions, or bad or equal axes, at the call.
    #[doc(alias = "np.diagonal")]
    pub fn diagonal(&self, offset: i64, axis1: i64, axis2: i64) -> Result<Array> {
        let attrs = Attrs::new()
            .with("offset", Attr::Int(offset))
            .with("axis1", Attr::Int(axis1))
            .with("axis2", Attr::Int(axis2));
        self.client().call1("diagonal", &[self.into()], attrs)
    }
}

impl Client {
    /// The element of the choice of the first true condition, else `default`
    /// (`np.select(condlist, choicelist, default)`); everything broadcasts together.
    ///
    /// # Errors
    ///
    /// Lists of different lengths, empty lists, a non-bool condition, or shapes that do
    /// not broadcast, at the call.
    #[doc(alias = "np.select")]
    pub fn select(
        &self,
        condlist: &[Operand],
        choicelist: &[Operand],
        default: impl Into<Scalar>,
    ) -> Result<Array> {
        if condlist.len() != choicelist.len() {
            return Err(Error::invalid(
                "select",
                "choicelist",
                "list of cases must be same length as list of conditions",
            ));
        }
        let inputs: Vec<Operand> = condlist.iter().chain(choicelist).cloned().collect();
        let attrs = Attrs::new().with("default", Attr::Scalar(default.into()));
        self.call1("select", &inputs, attrs)
    }

    /// `ndim` int64 copies of `arange(n)`: the indices of the main diagonal of an
    /// `n`-sided `ndim`-dimensional array (`np.diag_indices`).
    ///
    /// # Errors
    ///
    /// None beyond a closed client or an absurd size.
    #[doc(alias = "np.diag_indices")]
    pub fn diag_indices(&self, n: usize, ndim: usize) -> Result<Vec<Array>> {
        let attrs = Attrs::new()
            .with("n", Attr::Int(n as i64))
            .with("ndim", Attr::Int(ndim as i64));
        self.call("diag_indices", &[], attrs)
    }

    /// The open mesh of 1-D integer sequences (`np.ix_`): the `i`-th output has the
    /// `i`-th sequence along axis `i` and length 1 elsewhere, for indexing a cross
    /// product with [`Array::index`].
    ///
    /// # Errors
    ///
    /// A sequence that is not 1-D at the call; a boolean sequence (its indices depend on
    /// the data: use [`Client::ix_run`]).
    #[doc(alias = "np.ix_")]
    pub fn ix_(&self, args: &[Operand]) -> Result<Vec<Array>> {
        self.call("ix_", args, Attrs::new())
    }

    /// [`Client::ix_`] accepting boolean sequences, which stand for the indices where
    /// they are true: runs with one round trip ([`Client::run`]).
    ///
    /// # Errors
    ///
    /// A sequence that is not 1-D, and the errors of the computation.
    #[doc(alias = "np.ix_")]
    pub async fn ix_run(&self, args: &[Operand]) -> Result<Vec<Array>> {
        self.run("ix_", args, Attrs::new()).await
    }
}
