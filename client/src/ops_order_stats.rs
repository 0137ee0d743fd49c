//! Typed methods of the statistics ops (`ndserve_proto::ops::stats`) that do not fit the
//! macro rows of `ops_stats.rs`: `percentile`, `partition` and `argpartition`. (The `nan*`
//! reductions and moments, `median`, `ptp`, `count_nonzero`, `var` and `std` are rows
//! there.)
//!
//! ```
//! use ndarray::array;
//! use ndserve_client::Client;
//!
//! # fn main() -> ndserve_client::Result<()> {
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let client = Client::embedded().await?;
//! let a = client.upload(&array![[3.0, 1.0, 4.0], [1.0, 5.0, 9.0]]).await?;
//! // np.percentile(a, 50, axis=1), np.percentile(a, [25, 75])
//! assert_eq!(a.percentile(50.0, 1, false)?.to_vec::<f64>().await?, vec![3.0, 5.0]);
//! let q = client.upload(&array![25.0, 75.0]).await?;
//! assert_eq!(a.percentile(&q, None, false)?.to_vec::<f64>().await?, vec![1.5, 4.75]);
//!
//! // np.partition(x, 3)[3] is the 4th smallest; np.argpartition(x, 3)[3] points at it.
//! let x = client.upload(&array![3i64, 1, 4, 1, 5, 9, 2, 6]).await?;
//! let p = x.partition(3, Some(-1))?.to_vec::<i64>().await?;
//! assert_eq!(p[3], 3);
//! assert!(p[..3].iter().all(|&v| v <= 3) && p[4..].iter().all(|&v| v >= 3));
//! let i = x.argpartition(3, Some(-1))?.to_vec::<i64>().await?;
//! assert_eq!(i[3], 0); // x[0] == 3
//! // np.partition(x, (1, 6)): the 2nd and the 7th smallest in place
//! let p = x.partition([1, 6], None)?.to_vec::<i64>().await?;
//! assert_eq!((p[1], p[6]), (1, 6));
//!
//! // The nan-aware rows: np.nanmax, np.nanstd
//! let n = client.upload(&array![1.0, f64::NAN, 3.0]).await?;
//! assert_eq!(n.nanmax(None, false)?.item::<f64>().await?, 3.0);
//! assert_eq!(n.nanstd(None, 0, false, None)?.item::<f64>().await?, 1.0);
//! # Ok(())
//! # })
//! # }
//! ```

use ndserve_proto::{Attr, Attrs, Result};

use crate::array::Array;
use crate::operand::{Axis, Operand};

/// The `kth` argument of [`Array::partition`] and [`Array::argpartition`]: one index or
/// several (NumPy's `kth=(1, 3)` puts each of them in its sorted place). Negative indices
/// count from the end.
///
/// ```
/// use ndserve_client::Kth;
/// assert_eq!(Kth::from(2), Kth(vec![2]));
/// assert_eq!(Kth::from([1, -1]), Kth(vec![1, -1]));
/// assert_eq!(Kth::from(&[0i64, 3][..]), Kth(vec![0, 3]));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kth(pub Vec<i64>);

impl From<i64> for Kth {
    fn from(k: i64) -> Kth {
        Kth(vec![k])
    }
}
impl From<i32> for Kth {
    fn from(k: i32) -> Kth {
        Kth(vec![i64::from(k)])
    }
}
impl From<&[i64]> for Kth {
    fn from(k: &[i64]) -> Kth {
        Kth(k.to_vec())
    }
}
impl From<Vec<i64>> for Kth {
    fn from(k: Vec<i64>) -> Kth {
        Kth(k)
    }
}
impl<const N: usize> From<[i64; N]> for Kth {
    fn from(k: [i64; N]) -> Kth {
        Kth(k.to_vec())
    }
}

impl Array {
    fn partition_op(&self, op: &str, kth: Kth, axis: Option<i64>) -> Result<Array> {
        let kth = match kth.0.as_slice() {
            [k] => Attr::Int(*k),
            _ => Attr::Ints(kth.0),
        };
        // An explicit `axis=None` flattens; the attribute must be sent to say so.
        let attrs = Attrs::new()
            .with("kth", kth)
            .with("axis", axis.map_or(Attr::None, Attr::Int));
        self.client().call1(op, &[self.into()], attrs)
    }

    /// The `q`-th percentiles (method `linear`) over `axis` (`np.percentile`); `q` in
    /// [0, 100], a number or an array (whose shape leads the result's).
    ///
    /// # Errors
    ///
    /// A bad axis or complex input, at the call.
    #[doc(alias = "np.percentile")]
    pub fn percentile(
        &self,
        q: impl Into<Operand>,
        axis: impl Into<Axis>,
        keepdims: bool,
    ) -> Result<Array> {
        let mut attrs = Attrs::new().with("axis", axis.into().to_attr().unwrap_or(Attr::None));
        if keepdims {
            attrs.set("keepdims", Attr::Bool(true));
        }
        self.client()
            .call1("percentile", &[self.into(), q.into()], attrs)
    }

    /// A copy with the `kth` element (negative counts from the end; several with a list)
    /// in its sorted place along `axis`, smaller ones before it and larger ones after
    /// (`np.partition`); `None` flattens. ndserve sorts the whole axis (NaN last), which is
    /// one valid partition: NumPy leaves the order between the kth places unspecified.
    ///
    /// # Errors
    ///
    /// A bad axis, or `kth` out of bounds, at the call.
    #[doc(alias = "np.partition")]
    pub fn partition(&self, kth: impl Into<Kth>, axis: Option<i64>) -> Result<Array> {
        self.partition_op("partition", kth.into(), axis)
    }

    /// The int64 indices that partition along `axis` around the `kth` element or elements
    /// (`np.argpartition`); `None` flattens. ndserve gives a stable full sort's indices.
    ///
    /// # Errors
    ///
    /// A bad axis, or `kth` out of bounds, at the call.
    #[doc(alias = "np.argpartition")]
    pub fn argpartition(&self, kth: impl Into<Kth>, axis: Option<i64>) -> Result<Array> {
        self.partition_op("argpartition", kth.into(), axis)
    }
}
