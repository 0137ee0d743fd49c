//! Typed methods of the ops whose result shape depends on the data
//! (`ndserve_proto::ops::data_shaped`): `nonzero`, boolean masks, `compress`.
//!
//! Their shapes cannot be known before the server has read the data, so these methods are
//! `async`: each runs its op with one round trip ([`crate::Client::run`]) and returns
//! arrays whose shapes are the actual ones.

use ndserve_proto::{Attr, Attrs, IndexItem, Result};

use crate::array::Array;
use crate::operand::{Axis, Operand};

impl Array {
    /// The indices of the non-zero (true) elements, one int64 array per axis
    /// (`np.nonzero`).
    ///
    /// ```
    /// use ndarray::array;
    /// use ndserve_client::Client;
    ///
    /// # fn main() -> ndserve_client::Result<()> {
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let client = Client::embedded().await?;
    /// let a = client.upload(&array![[1.0, 0.0], [0.0, 2.5]]).await?;
    /// let idx = a.nonzero().await?;
    /// assert_eq!(idx[0].to_vec::<i64>().await?, vec![0, 1]);
    /// assert_eq!(idx[1].to_vec::<i64>().await?, vec![0, 1]);
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// A 0-d array (NumPy 2 refuses it), or any error of the computation of `self`.
    #[doc(alias = "np.nonzero")]
    pub async fn nonzero(&self) -> Result<Vec<Array>> {
        self.client()
            .run("nonzero", &[self.into()], Attrs::new())
            .await
    }

    /// The elements where `mask` is true, in C order (`a[mask]`, `tf.boolean_mask`): a
    /// k-d mask indexes the first k axes, whose shape it must have.
    ///
    /// ```
    /// use ndarray::array;
    /// use ndserve_client::Client;
    ///
    /// # fn main() -> ndserve_client::Result<()> {
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let client = Client::embedded().await?;
    /// let a = client.upload(&array![3i32, -1, 4, -1, 5]).await?;
    /// let positive = a.greater(0)?;
    /// let b = a.boolean_mask(&positive).await?;
    /// assert_eq!(b.shape(), &[3]);
    /// assert_eq!(b.to_vec::<i32>().await?, vec![3, 4, 5]);
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// A mask whose shape does not match the axes it indexes, or one that is not bool.
    #[doc(alias = "__getitem__")]
    #[doc(alias = "tf.boolean_mask")]
    pub async fn boolean_mask(&self, mask: &Array) -> Result<Array> {
        let attrs = Attrs::new().with("key", Attr::Index(vec![IndexItem::Array(1)]));
        let mut out = self
            .client()
            .run("getitem", &[self.into(), mask.into()], attrs)
            .await?;
        Ok(out.remove(0))
    }

    /// The slices along `axis` (of the flattened array for `Axis::None`) where
    /// `condition` is true (`np.compress`).
    ///
    /// # Errors
    ///
    /// A condition that is not 1-D, or one with a true element beyond the axis' length.
    #[doc(alias = "np.compress")]
    pub async fn compress(&self, condition: impl Into<Operand>, axis: Axis) -> Result<Array> {
        let attrs = crate::methods::with_axis(Attrs::new(), axis);
        let mut out = self
            .client()
            .run("compress", &[condition.into(), self.into()], attrs)
            .await?;
        Ok(out.remove(0))
    }

    /// The sorted distinct values of the flattened array, NaNs collapsed into one
    /// (`np.unique`).
    ///
    /// ```
    /// use ndarray::array;
    /// use ndserve_client::Client;
    ///
    /// # fn main() -> ndserve_client::Result<()> {
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let client = Client::embedded().await?;
    /// let a = client.upload(&array![[3, 1, 3], [2, 1, 5]]).await?;
    /// assert_eq!(a.unique().await?.to_vec::<i32>().await?, vec![1, 2, 3, 5]);
    /// // np.unique(a, return_index=True, return_inverse=True, return_counts=True)
    /// let u = a.unique_all().await?;
    /// assert_eq!(u.index.to_vec::<i64>().await?, vec![1, 3, 0, 5]);
    /// assert_eq!(u.inverse.shape(), &[2, 3]);
    /// assert_eq!(u.inverse.to_vec::<i64>().await?, vec![2, 0, 2, 1, 0, 3]);
    /// assert_eq!(u.counts.to_vec::<i64>().await?, vec![2, 1, 2, 1]);
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    #[doc(alias = "np.unique")]
    pub async fn unique(&self) -> Result<Array> {
        let mut out = self
            .client()
            .run("unique", &[self.into()], Attrs::new())
            .await?;
        Ok(out.remove(0))
    }

    /// `np.unique(a, return_index=True, return_inverse=True, return_counts=True)`: the
    /// distinct values with each one's first index, every element's value index (in the
    /// array's shape) and each value's count.
    #[doc(alias = "np.unique")]
    pub async fn unique_all(&self) -> Result<Unique> {
        let attrs = Attrs::new()
            .with("return_index", Attr::Bool(true))
            .with("return_inverse", Attr::Bool(true))
            .with("return_counts", Attr::Bool(true));
        let mut out = self
            .client()
            .run("unique", &[self.into()], attrs)
            .await?
            .into_iter();
        let mut next = || {
            out.next().ok_or_else(|| {
                ndserve_proto::Error::internal("unique", "the server returned too few outputs")
            })
        };
        Ok(Unique {
            values: next()?,
            index: next()?,
            inverse: next()?,
            counts: next()?,
        })
    }
}

/// The results of [`Array::unique_all`] (NumPy's `unique_all`).
#[derive(Clone, Debug)]
pub struct Unique {
    /// The sorted distinct values.
    pub values: Array,
    /// The index of each value's first occurrence in the flattened array (int64).
    pub index: Array,
    /// For every element, the index of its value in `values`, in the array's shape.
    pub inverse: Array,
    /// Each value's number of occurrences (int64).
    pub counts: Array,
}
