//! `histogram` and `bincount` (`unique` is in the data-dependent family: its length
//! depends on the data).
//!
//! ```
//! use ndarray::array;
//! use ndserve_client::{Client, DType};
//!
//! # fn main() -> ndserve_client::Result<()> {
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let client = Client::embedded().await?;
//! let a = client.upload(&array![1, 2, 2, 3, 7]).await?;
//! // np.histogram(a, bins=3) -> ([3, 1, 1], [1., 3., 5., 7.])
//! let (hist, edges) = a.histogram(3, None)?;
//! assert_eq!(hist.to_vec::<i64>().await?, vec![3, 1, 1]);
//! assert_eq!(edges.to_vec::<f64>().await?, vec![1.0, 3.0, 5.0, 7.0]);
//! // np.histogram(a, bins=[0, 2, 5, 8], density=True)
//! let e = client.upload(&array![0.0, 2.0, 5.0, 8.0]).await?;
//! let (d, _) = a.histogram_edges(&e, None, true)?;
//! assert_eq!(d.dtype(), DType::Float64);
//! // np.bincount(a, minlength=9) -> [0, 1, 2, 1, 0, 0, 0, 1, 0]
//! let c = a.bincount(None, 9).await?;
//! assert_eq!(c.to_vec::<i64>().await?, vec![0, 1, 2, 1, 0, 0, 0, 1, 0]);
//! # Ok(())
//! # })
//! # }
//! ```

use ndserve_proto::{Attr, Attrs, DType, Result, Scalar};

use crate::array::Array;
use crate::operand::{Axis, Operand};

fn range_attrs(range: Option<(f64, f64)>, density: bool) -> Attrs {
    let mut a = Attrs::new();
    if let Some((lo, hi)) = range {
        a = a.with("range", Attr::Floats(vec![lo, hi]));
    }
    if density {
        a = a.with("density", Attr::Bool(true));
    }
    a
}

fn pair(mut v: Vec<Array>) -> (Array, Array) {
    let edges = v.pop().expect("histogram has two outputs");
    (v.pop().expect("histogram has two outputs"), edges)
}

impl Array {
    /// `np.histogram(self, bins, range)`: counts in `bins` equal-width bins over `range`
    /// (default: the data's min and max), and the `bins + 1` edges.
    ///
    /// # Errors
    ///
    /// INVALID_ARGUMENT for `bins == 0`, a reversed or non-finite range, complex data, or
    /// (when the data is read) a NaN or infinity with no range given.
    #[doc(alias = "np.histogram")]
    pub fn histogram(&self, bins: usize, range: Option<(f64, f64)>) -> Result<(Array, Array)> {
        self.client()
            .call(
                "histogram",
                &[self.into(), Operand::Scalar(Scalar::Int(bins as i128))],
                range_attrs(range, false),
            )
            .map(pair)
    }

    /// `np.histogram(self, bins=edges, weights=weights, density=density)`: sums over the
    /// bins between consecutive `edges` (increasing; the last bin includes its right
    /// edge), and the edges. Counts are int64, weight sums take the weights' dtype,
    /// densities are float64.
    #[doc(alias = "np.histogram")]
    pub fn histogram_edges(
        &self,
        edges: &Array,
        weights: Option<&Array>,
        density: bool,
    ) -> Result<(Array, Array)> {
        let mut inputs: Vec<Operand> = vec![self.into(), edges.into()];
        inputs.extend(weights.map(Operand::from));
        self.client()
            .call("histogram", &inputs, range_attrs(None, density))
            .map(pair)
    }

    /// `np.bincount(self, weights, minlength)`: how often each non-negative integer occurs
    /// (int64), or the sum of its weights (float64).
    ///
    /// The result's length, `max(self) + 1` (at least `minlength`), depends on the data:
    /// this reads `max(self)` from the server first (one round trip), then runs
    /// `bincount` with that `length`.
    #[doc(alias = "np.bincount")]
    pub async fn bincount(&self, weights: Option<&Array>, minlength: usize) -> Result<Array> {
        let top = if self.size() == 0 || !(self.dtype().is_integer() || self.dtype().is_bool()) {
            // Nothing to count, or a dtype the server refuses with NumPy's message.
            -1
        } else {
            self.astype(DType::Int64)?
                .max(Axis::All, false)?
                .item::<i64>()
                .await?
        };
        let length = (top + 1).max(minlength as i64).max(0);
        let mut inputs: Vec<Operand> = vec![self.into()];
        inputs.extend(weights.map(Operand::from));
        self.client().call1(
            "bincount",
            &inputs,
            Attrs::new()
                .with("minlength", Attr::Int(minlength as i64))
                .with("length", Attr::Int(length)),
        )
    }
}
