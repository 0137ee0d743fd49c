//! Typed methods of the creation ops beyond the basic constructors
//! (`ndserve_proto::ops::creation` and `ndserve_proto::ops::creation_matrix`): `linspace`
//! over arrays, `logspace`, `geomspace`, `meshgrid`, `diag`, `diagflat`, `tri`, `tril`,
//! `triu`, `vander`.

use ndserve_proto::{Attr, Attrs, DType, Result};

use crate::array::Array;
use crate::client::Client;
use crate::operand::Operand;

/// The attributes shared by `linspace`, `logspace` and `geomspace`.
fn space_attrs(num: usize, endpoint: bool, dtype: Option<DType>, axis: i64) -> Attrs {
    let mut a = Attrs::new()
        .with("num", Attr::Int(num as i64))
        .with("endpoint", Attr::Bool(endpoint))
        .with("axis", Attr::Int(axis));
    if let Some(d) = dtype {
        a.set("dtype", Attr::DType(d));
    }
    a
}

fn k_attrs(k: i64) -> Attrs {
    Attrs::new().with("k", Attr::Int(k))
}

impl Client {
    /// `num` evenly spaced samples from `start` to `stop` (`np.linspace(start, stop, num,
    /// endpoint, dtype=dtype, axis=axis)`).
    ///
    /// `start` and `stop` are arrays or Rust numbers (weak Python scalars); arrays are
    /// broadcast together and the samples run along a new axis at `axis` (0: first, -1:
    /// last). The samples are computed in `result_type(start, stop, 0.0)` (float64 for
    /// numbers, float32 for float32 arrays) and cast to `dtype`, rounding towards minus
    /// infinity for an integer dtype. Without `endpoint`, `stop` is left out.
    ///
    /// ```
    /// use ndarray::array;
    /// use ndserve_client::{Client, DType};
    ///
    /// # fn main() -> ndserve_client::Result<()> {
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let client = Client::embedded().await?;
    /// let start = client.upload(&array![0.0f32, 10.0]).await?;
    /// // np.linspace(np.array([0, 10], np.float32), 1, 3, axis=-1)
    /// let a = client.linspace_with(&start, 1, 3, true, None, -1)?;
    /// assert_eq!((a.dtype(), a.shape()), (DType::Float32, &[2usize, 3] as &[usize]));
    /// assert_eq!(a.to_vec::<f32>().await?, vec![0.0, 0.5, 1.0, 10.0, 5.5, 1.0]);
    /// // np.logspace(0, 3, 4, base=2) and np.geomspace(1, 1000, 4)
    /// let l = client.logspace(0, 3, 4, true, 2, None, 0)?;
    /// assert_eq!(l.to_vec::<f64>().await?, vec![1.0, 2.0, 4.0, 8.0]);
    /// let g = client.geomspace(1, 1000, 4, true, None, 0)?;
    /// assert_eq!(g.to_vec::<f64>().await?, vec![1.0, 10.0, 100.0, 1000.0]);
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// Ends that do not broadcast, a bad `axis`, or an integer `dtype` for complex ends,
    /// at the call.
    #[doc(alias = "np.linspace")]
    pub fn linspace_with(
        &self,
        start: impl Into<Operand>,
        stop: impl Into<Operand>,
        num: usize,
        endpoint: bool,
        dtype: Option<DType>,
        axis: i64,
    ) -> Result<Array> {
        let attrs = space_attrs(num, endpoint, dtype, axis);
        self.call1("linspace", &[start.into(), stop.into()], attrs)
    }

    /// [`Client::linspace_with`] that also returns the step (`retstep=True`): an array of
    /// the broadcast shape of the ends, or a float64 NaN when there is no step (`num` is 0,
    /// or 1 with `endpoint`).
    ///
    /// # Errors
    ///
    /// As [`Client::linspace_with`].
    #[doc(alias = "np.linspace")]
    pub fn linspace_step(
        &self,
        start: impl Into<Operand>,
        stop: impl Into<Operand>,
        num: usize,
        endpoint: bool,
        dtype: Option<DType>,
        axis: i64,
    ) -> Result<(Array, Array)> {
        let attrs = space_attrs(num, endpoint, dtype, axis).with("retstep", Attr::Bool(true));
        let mut v = self.call("linspace", &[start.into(), stop.into()], attrs)?;
        let step = v.pop().expect("two outputs");
        let samples = v.pop().expect("two outputs");
        Ok((samples, step))
    }

    /// `num` samples from `base**start` to `base**stop`, evenly spaced on a log scale
    /// (`np.logspace(start, stop, num, endpoint, base, dtype, axis)`; NumPy's default base
    /// is 10.0). An array `base` is broadcast with the ends and gets a length-1 axis at
    /// `axis`.
    ///
    /// # Errors
    ///
    /// Operands that do not broadcast or a bad `axis`, at the call.
    #[doc(alias = "np.logspace")]
    #[allow(clippy::too_many_arguments)]
    pub fn logspace(
        &self,
        start: impl Into<Operand>,
        stop: impl Into<Operand>,
        num: usize,
        endpoint: bool,
        base: impl Into<Operand>,
        dtype: Option<DType>,
        axis: i64,
    ) -> Result<Array> {
        let attrs = space_attrs(num, endpoint, dtype, axis);
        self.call1("logspace", &[start.into(), stop.into(), base.into()], attrs)
    }

    /// `num` samples of the geometric progression from `start` to `stop`
    /// (`np.geomspace(start, stop, num, endpoint, dtype, axis)`). Negative and complex
    /// ends follow NumPy: the progression runs from `start` rotated onto the positive real
    /// axis, then is rotated back.
    ///
    /// # Errors
    ///
    /// Ends that do not broadcast or a bad `axis`, at the call; an end equal to zero at
    /// the next fetch ("Geometric sequence cannot include zero").
    #[doc(alias = "np.geomspace")]
    pub fn geomspace(
        &self,
        start: impl Into<Operand>,
        stop: impl Into<Operand>,
        num: usize,
        endpoint: bool,
        dtype: Option<DType>,
        axis: i64,
    ) -> Result<Array> {
        let attrs = space_attrs(num, endpoint, dtype, axis);
        self.call1("geomspace", &[start.into(), stop.into()], attrs)
    }

    /// Coordinate arrays from coordinate vectors (`np.meshgrid(*xi, indexing=indexing,
    /// sparse=sparse)`): one output per input, each input flattened onto its own axis.
    /// `indexing` is `"xy"` (NumPy's default: the first two axes swapped, for Cartesian
    /// coordinates) or `"ij"` (matrix indexing); `sparse` keeps each output's other axes
    /// at length 1 instead of broadcasting to the full grid.
    ///
    /// # Errors
    ///
    /// An `indexing` other than `"xy"` or `"ij"`, at the call.
    #[doc(alias = "np.meshgrid")]
    pub fn meshgrid(&self, xi: &[Operand], indexing: &str, sparse: bool) -> Result<Vec<Array>> {
        let attrs = Attrs::new()
            .with("indexing", Attr::Str(indexing.to_string()))
            .with("sparse", Attr::Bool(sparse));
        self.call("meshgrid", xi, attrs)
    }

    /// An `n` x `m` array (`m` defaults to `n`) with ones at and below the `k`-th diagonal
    /// and zeros elsewhere (`np.tri(N, M, k, dtype)`; NumPy's default dtype is float64).
    ///
    /// # Errors
    ///
    /// None beyond a closed client or an absurd size.
    #[doc(alias = "np.tri")]
    pub fn tri(&self, n: usize, m: Option<usize>, k: i64, dtype: DType) -> Result<Array> {
        let mut attrs = k_attrs(k)
            .with("N", Attr::Int(n as i64))
            .with("dtype", Attr::DType(dtype));
        if let Some(m) = m {
            attrs.set("M", Attr::Int(m as i64));
        }
        self.call1("tri", &[], attrs)
    }
}

impl Array {
    /// The `k`-th diagonal of a 2-D array, or a square 2-D array with a 1-D one on its
    /// `k`-th diagonal (`np.diag(v, k)`; `k > 0` above the main diagonal, `k < 0` below).
    ///
    /// # Errors
    ///
    /// An array of other than 1 or 2 dimensions, at the call.
    #[doc(alias = "np.diag")]
    pub fn diag(&self, k: i64) -> Result<Array> {
        self.client().call1("diag", &[self.into()], k_attrs(k))
    }

    /// A square 2-D array with this array, flattened, on its `k`-th diagonal
    /// (`np.diagflat(v, k)`).
    ///
    /// # Errors
    ///
    /// None beyond a closed client or an absurd size.
    #[doc(alias = "np.diagflat")]
    pub fn diagflat(&self, k: i64) -> Result<Array> {
        self.client().call1("diagflat", &[self.into()], k_attrs(k))
    }

    /// The lower triangle: a copy with the elements above the `k`-th diagonal of the last
    /// two axes zeroed (`np.tril(m, k)`). A 1-D array is taken as every row of a square
    /// matrix, as NumPy does.
    ///
    /// # Errors
    ///
    /// A 0-d array, at the call.
    #[doc(alias = "np.tril")]
    pub fn tril(&self, k: i64) -> Result<Array> {
        self.client().call1("tril", &[self.into()], k_attrs(k))
    }

    /// The upper triangle: a copy with the elements below the `k`-th diagonal of the last
    /// two axes zeroed (`np.triu(m, k)`); 1-D arrays as in [`Array::tril`].
    ///
    /// # Errors
    ///
    /// A 0-d array, at the call.
    #[doc(alias = "np.triu")]
    pub fn triu(&self, k: i64) -> Result<Array> {
        self.client().call1("triu", &[self.into()], k_attrs(k))
    }

    /// The Vandermonde matrix of this 1-D array (`np.vander(x, N, increasing)`): `n`
    /// columns (default: the length), column `j` holding `x**(n-1-j)`, or `x**j` when
    /// `increasing`. The dtype is `promote_types(x.dtype, int64)`; integer powers wrap.
    ///
    /// # Errors
    ///
    /// An array that is not 1-D, or a bfloat16 one (no common dtype with int64), at the
    /// call.
    #[doc(alias = "np.vander")]
    pub fn vander(&self, n: Option<usize>, increasing: bool) -> Result<Array> {
        let mut attrs = Attrs::new().with("increasing", Attr::Bool(increasing));
        if let Some(n) = n {
            attrs.set("N", Attr::Int(n as i64));
        }
        self.client().call1("vander", &[self.into()], attrs)
    }
}
