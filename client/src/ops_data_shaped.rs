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
}
