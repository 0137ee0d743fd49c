//! `linalg.*`: NumPy's `numpy.linalg` (inverse, solve, determinants, norms, QR, Cholesky,
//! eigh, SVD, least squares, pseudo-inverse, rank), through [`Client::linalg`].
//!
//! Every function batches over leading axes as NumPy does. Bool and integer inputs compute
//! in float64; float32 and complex64 stay single precision; float16 is refused (NumPy:
//! "array type float16 is unsupported in linalg"), except by [`Linalg::norm`].
//! Eigenvectors, singular vectors and QR factors are unique only up to the sign (phase)
//! of each vector: ndserve computes them with faer, whose signs may differ from LAPACK's.
//!
//! ```
//! use ndarray::array;
//! use ndserve_client::Client;
//!
//! # fn main() -> ndserve_client::Result<()> {
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let client = Client::embedded().await?;
//! let a = client.upload(&array![[3.0, 1.0], [1.0, 2.0]]).await?;
//! let b = client.upload(&array![9.0, 8.0]).await?;
//! // np.linalg.solve(a, b) = [2, 3]
//! let x = client.linalg().solve(&a, &b)?.to_vec::<f64>().await?;
//! assert!((x[0] - 2.0).abs() < 1e-12 && (x[1] - 3.0).abs() < 1e-12);
//! // np.linalg.det(a) = 5
//! assert!((client.linalg().det(&a)?.item::<f64>().await? - 5.0).abs() < 1e-12);
//! # Ok(())
//! # })
//! # }
//! ```

use ndserve_proto::{Attr, Attrs, Error, Result};

pub use ndserve_proto::ops::numpy_linalg::{QrMode, RankTol};

use crate::{Array, Client, Operand};

/// The `linalg` namespace of a [`Client`] (`np.linalg`).
pub struct Linalg<'a> {
    client: &'a Client,
}

impl Client {
    /// Linear algebra (`np.linalg`).
    pub fn linalg(&self) -> Linalg<'_> {
        Linalg { client: self }
    }
}

/// A norm's order (`ord`); `None` in [`NormArgs`] is NumPy's default (2-norm of vectors,
/// Frobenius of matrices).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NormOrd {
    /// `'fro'`: Frobenius (matrices).
    Fro,
    /// `'nuc'`: nuclear, the sum of the singular values (matrices).
    Nuc,
    /// A number: `inf`, `-inf`, `0`, `1`, `-1`, `2`, `-2`, or any `p` for vectors.
    P(f64),
}

/// The arguments of [`Linalg::norm`] (`ord`, `axis`, `keepdims`); the default is NumPy's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NormArgs {
    ord: Option<NormOrd>,
    axis: Option<Vec<i64>>,
    keepdims: bool,
}

impl NormArgs {
    /// NumPy's defaults: the 2-norm of all elements.
    pub fn new() -> NormArgs {
        NormArgs::default()
    }
    /// The order.
    pub fn ord(mut self, ord: NormOrd) -> NormArgs {
        self.ord = Some(ord);
        self
    }
    /// One axis (a vector norm) or two (a matrix norm, rows then columns).
    pub fn axis(mut self, axis: &[i64]) -> NormArgs {
        self.axis = Some(axis.to_vec());
        self
    }
    /// Keep the reduced axes with length 1.
    pub fn keepdims(mut self, keepdims: bool) -> NormArgs {
        self.keepdims = keepdims;
        self
    }
    fn attrs(&self) -> Attrs {
        let mut a = Attrs::new();
        match self.ord {
            None => {}
            Some(NormOrd::Fro) => a.set("ord", Attr::Str("fro".into())),
            Some(NormOrd::Nuc) => a.set("ord", Attr::Str("nuc".into())),
            Some(NormOrd::P(p)) => a.set("ord", Attr::Float(p)),
        }
        if let Some(ax) = &self.axis {
            a.set("axis", Attr::Ints(ax.clone()));
        }
        if self.keepdims {
            a.set("keepdims", Attr::Bool(true));
        }
        a
    }
}

fn one(a: &Array) -> [Operand; 1] {
    [Operand::from(a)]
}

fn two(a: &Array, b: &Array) -> [Operand; 2] {
    [Operand::from(a), Operand::from(b)]
}

fn n_outputs<const N: usize>(op: &str, v: Vec<Array>) -> Result<[Array; N]> {
    let got = v.len();
    v.try_into()
        .map_err(|_| Error::internal(op, format!("expected {N} outputs, the op has {got}")))
}

impl Linalg<'_> {
    /// The inverse of each square matrix (`np.linalg.inv`).
    ///
    /// ```
    /// # use ndarray::array;
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let client = ndserve_client::Client::embedded().await.unwrap();
    /// let a = client.upload(&array![[2.0f32, 0.0], [0.0, 4.0]]).await.unwrap();
    /// let inv = client.linalg().inv(&a).unwrap();
    /// assert_eq!(inv.to_vec::<f32>().await.unwrap(), vec![0.5, 0.0, 0.0, 0.25]);
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// INVALID_ARGUMENT for fewer than two dimensions, non-square matrices, float16, or
    /// (at the next sync) a singular matrix ("Singular matrix").
    #[doc(alias = "np.linalg.inv")]
    pub fn inv(&self, a: &Array) -> Result<Array> {
        self.client.call1("linalg.inv", &one(a), Attrs::new())
    }

    /// The solution of `a @ x = b` (`np.linalg.solve`): `b` is one vector when it is 1-D,
    /// otherwise a stack of `(n, k)` matrices whose batch broadcasts with `a`'s (NumPy 2).
    ///
    /// ```
    /// # use ndarray::array;
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let client = ndserve_client::Client::embedded().await.unwrap();
    /// let a = client.upload(&array![[[2.0, 0.0], [0.0, 4.0]]]).await.unwrap();
    /// let b = client.upload(&array![[[2.0], [4.0]], [[4.0], [8.0]]]).await.unwrap();
    /// let x = client.linalg().solve(&a, &b).unwrap();
    /// assert_eq!(x.shape(), &[2, 2, 1]);
    /// assert_eq!(x.to_vec::<f64>().await.unwrap(), vec![1.0, 1.0, 2.0, 2.0]);
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// INVALID_ARGUMENT for mismatched shapes, float16, or (at the next sync) a singular
    /// matrix.
    #[doc(alias = "np.linalg.solve")]
    pub fn solve(&self, a: &Array, b: &Array) -> Result<Array> {
        self.client.call1("linalg.solve", &two(a, b), Attrs::new())
    }

    /// The determinant of each square matrix (`np.linalg.det`); 1 for a 0x0 matrix.
    ///
    /// ```
    /// # use ndarray::array;
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let client = ndserve_client::Client::embedded().await.unwrap();
    /// let a = client.upload(&array![[1i32, 2], [3, 4]]).await.unwrap();
    /// let d = client.linalg().det(&a).unwrap();
    /// assert_eq!(d.dtype(), ndserve_client::DType::Float64);
    /// assert!((d.item::<f64>().await.unwrap() + 2.0).abs() < 1e-12);
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// INVALID_ARGUMENT for fewer than two dimensions, non-square matrices or float16.
    #[doc(alias = "np.linalg.det")]
    pub fn det(&self, a: &Array) -> Result<Array> {
        self.client.call1("linalg.det", &one(a), Attrs::new())
    }

    /// The sign and the natural log of the absolute value of each determinant
    /// (`np.linalg.slogdet`): `(sign, logabsdet)`, `logabsdet` real.
    ///
    /// ```
    /// # use ndarray::array;
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let client = ndserve_client::Client::embedded().await.unwrap();
    /// let a = client.upload(&array![[0.0, 1.0], [2.0, 3.0]]).await.unwrap();
    /// let (sign, logdet) = client.linalg().slogdet(&a).unwrap();
    /// assert_eq!(sign.item::<f64>().await.unwrap(), -1.0);
    /// assert!((logdet.item::<f64>().await.unwrap() - 2f64.ln()).abs() < 1e-12);
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Linalg::det`].
    #[doc(alias = "np.linalg.slogdet")]
    pub fn slogdet(&self, a: &Array) -> Result<(Array, Array)> {
        let out = self.client.call("linalg.slogdet", &one(a), Attrs::new())?;
        let [s, l] = n_outputs("linalg.slogdet", out)?;
        Ok((s, l))
    }

    /// A vector or matrix norm (`np.linalg.norm`). Non-inexact input is computed as
    /// float64; float16 stays float16 (but has no SVD-based matrix norms).
    ///
    /// ```
    /// # use ndarray::array;
    /// use ndserve_client::ops_numpy_linalg::{NormArgs, NormOrd};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let client = ndserve_client::Client::embedded().await.unwrap();
    /// let a = client.upload(&array![[3.0, -4.0], [0.0, 0.0]]).await.unwrap();
    /// let fro = client.linalg().norm(&a, NormArgs::new()).unwrap();
    /// assert_eq!(fro.item::<f64>().await.unwrap(), 5.0);
    /// let rows = NormArgs::new().ord(NormOrd::P(1.0)).axis(&[1]);
    /// let l1 = client.linalg().norm(&a, rows).unwrap();
    /// assert_eq!(l1.to_vec::<f64>().await.unwrap(), vec![7.0, 0.0]);
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// INVALID_ARGUMENT for an order that does not apply ("Invalid norm order for
    /// matrices."), a bad axis, or more than two axes.
    #[doc(alias = "np.linalg.norm")]
    pub fn norm(&self, x: &Array, args: NormArgs) -> Result<Array> {
        self.client.call1("linalg.norm", &one(x), args.attrs())
    }

    /// The QR factorization (`np.linalg.qr`): `(Q, R)` for [`QrMode::Reduced`] and
    /// [`QrMode::Complete`], `(R, None)` for [`QrMode::R`].
    ///
    /// ```
    /// # use ndarray::array;
    /// use ndserve_client::ops_numpy_linalg::QrMode;
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let client = ndserve_client::Client::embedded().await.unwrap();
    /// let a = client.upload(&array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]).await.unwrap();
    /// let (q, r) = client.linalg().qr(&a, QrMode::Reduced).unwrap();
    /// let (q, r) = (q, r.unwrap());
    /// assert_eq!((q.shape(), r.shape()), (&[3usize, 2][..], &[2usize, 2][..]));
    /// // Q R = A (the signs of Q's columns and R's rows are not unique).
    /// let back = q.matmul(&r).unwrap().to_vec::<f64>().await.unwrap();
    /// assert!(back.iter().zip([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).all(|(x, y)| (x - y).abs() < 1e-12));
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// INVALID_ARGUMENT for fewer than two dimensions or float16.
    #[doc(alias = "np.linalg.qr")]
    pub fn qr(&self, a: &Array, mode: QrMode) -> Result<(Array, Option<Array>)> {
        let name = match mode {
            QrMode::Reduced => "reduced",
            QrMode::Complete => "complete",
            QrMode::R => "r",
        };
        let attrs = Attrs::new().with("mode", Attr::Str(name.into()));
        let mut out = self.client.call("linalg.qr", &one(a), attrs)?.into_iter();
        let first = out
            .next()
            .ok_or_else(|| Error::internal("linalg.qr", "no output"))?;
        Ok((first, out.next()))
    }

    /// The Cholesky factor of each Hermitian positive-definite matrix
    /// (`np.linalg.cholesky`): lower triangular `L` with `L L^H = a`, read from the lower
    /// triangle; with `upper`, `U = L^H` read from the upper triangle.
    ///
    /// ```
    /// # use ndarray::array;
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let client = ndserve_client::Client::embedded().await.unwrap();
    /// let a = client.upload(&array![[4.0, 2.0], [2.0, 5.0]]).await.unwrap();
    /// let l = client.linalg().cholesky(&a, false).unwrap();
    /// assert_eq!(l.to_vec::<f64>().await.unwrap(), vec![2.0, 0.0, 1.0, 2.0]);
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// INVALID_ARGUMENT for non-square matrices, float16, or (at the next sync) a matrix
    /// that is not positive definite ("Matrix is not positive definite").
    #[doc(alias = "np.linalg.cholesky")]
    pub fn cholesky(&self, a: &Array, upper: bool) -> Result<Array> {
        let attrs = Attrs::new().with("upper", Attr::Bool(upper));
        self.client.call1("linalg.cholesky", &one(a), attrs)
    }

    /// The eigenvalues (ascending, real) and eigenvectors (columns) of each Hermitian
    /// matrix (`np.linalg.eigh`), read from its lower triangle, or from its upper one when
    /// `upper` (NumPy's `UPLO='U'`).
    ///
    /// ```
    /// # use ndarray::array;
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let client = ndserve_client::Client::embedded().await.unwrap();
    /// let a = client.upload(&array![[2.0, 1.0], [1.0, 2.0]]).await.unwrap();
    /// let (w, v) = client.linalg().eigh(&a, false).unwrap();
    /// let w = w.to_vec::<f64>().await.unwrap();
    /// assert!((w[0] - 1.0).abs() < 1e-12 && (w[1] - 3.0).abs() < 1e-12);
    /// assert_eq!(v.shape(), &[2, 2]);
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// INVALID_ARGUMENT for non-square matrices or float16.
    #[doc(alias = "np.linalg.eigh")]
    pub fn eigh(&self, a: &Array, upper: bool) -> Result<(Array, Array)> {
        let uplo = if upper { "U" } else { "L" };
        let attrs = Attrs::new().with("UPLO", Attr::Str(uplo.into()));
        let out = self.client.call("linalg.eigh", &one(a), attrs)?;
        let [w, v] = n_outputs("linalg.eigh", out)?;
        Ok((w, v))
    }

    /// The singular value decomposition `(U, S, Vh)` with `a = U diag(S) Vh`
    /// (`np.linalg.svd`): `S` descending and real; `U` and `Vh` square with
    /// `full_matrices`, else `(m, k)` and `(k, n)`. With `hermitian`, computed from `eigh`
    /// as NumPy does.
    ///
    /// ```
    /// # use ndarray::array;
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let client = ndserve_client::Client::embedded().await.unwrap();
    /// let a = client.upload(&array![[3.0, 0.0], [0.0, -4.0], [0.0, 0.0]]).await.unwrap();
    /// let (u, s, vh) = client.linalg().svd(&a, false, false).unwrap();
    /// assert_eq!((u.shape(), vh.shape()), (&[3usize, 2][..], &[2usize, 2][..]));
    /// assert_eq!(s.to_vec::<f64>().await.unwrap(), vec![4.0, 3.0]);
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// INVALID_ARGUMENT for fewer than two dimensions, float16, or (at the next sync) an
    /// SVD that does not converge.
    #[doc(alias = "np.linalg.svd")]
    pub fn svd(
        &self,
        a: &Array,
        full_matrices: bool,
        hermitian: bool,
    ) -> Result<(Array, Array, Array)> {
        let attrs = Attrs::new()
            .with("full_matrices", Attr::Bool(full_matrices))
            .with("hermitian", Attr::Bool(hermitian));
        let out = self.client.call("linalg.svd", &one(a), attrs)?;
        let [u, s, vh] = n_outputs("linalg.svd", out)?;
        Ok((u, s, vh))
    }

    /// The singular values alone, descending (`np.linalg.svd(a, compute_uv=False)`).
    ///
    /// ```
    /// # use ndarray::array;
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let client = ndserve_client::Client::embedded().await.unwrap();
    /// let a = client.upload(&array![[0.0f32, 2.0], [1.0, 0.0]]).await.unwrap();
    /// let s = client.linalg().singular_values(&a, false).unwrap();
    /// assert_eq!(s.to_vec::<f32>().await.unwrap(), vec![2.0, 1.0]);
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Linalg::svd`].
    #[doc(alias = "np.linalg.svdvals")]
    pub fn singular_values(&self, a: &Array, hermitian: bool) -> Result<Array> {
        let attrs = Attrs::new()
            .with("compute_uv", Attr::Bool(false))
            .with("hermitian", Attr::Bool(hermitian));
        self.client.call1("linalg.svd", &one(a), attrs)
    }

    /// The Moore-Penrose pseudo-inverse of each matrix (`np.linalg.pinv`): singular values
    /// at most `rcond * max(s)` count as zero (`rcond` defaults to NumPy's `1e-15`).
    ///
    /// ```
    /// # use ndarray::array;
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let client = ndserve_client::Client::embedded().await.unwrap();
    /// let a = client.upload(&array![[1.0, 0.0], [0.0, 0.0]]).await.unwrap();
    /// let p = client.linalg().pinv(&a, None, false).unwrap();
    /// assert_eq!(p.to_vec::<f64>().await.unwrap(), vec![1.0, 0.0, 0.0, 0.0]);
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// INVALID_ARGUMENT for fewer than two dimensions or float16.
    #[doc(alias = "np.linalg.pinv")]
    pub fn pinv(&self, a: &Array, rcond: Option<f64>, hermitian: bool) -> Result<Array> {
        let mut attrs = Attrs::new().with("hermitian", Attr::Bool(hermitian));
        if let Some(r) = rcond {
            attrs.set("rcond", Attr::Float(r));
        }
        self.client.call1("linalg.pinv", &one(a), attrs)
    }

    /// The rank of each matrix (`np.linalg.matrix_rank`), int64: the number of singular
    /// values above the threshold (default `max(m, n) * eps * max(s)`). A 0-d or 1-d input
    /// has rank 1 unless all zero.
    ///
    /// ```
    /// # use ndarray::array;
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let client = ndserve_client::Client::embedded().await.unwrap();
    /// let a = client.upload(&array![[1.0, 2.0], [2.0, 4.0]]).await.unwrap();
    /// let r = client.linalg().matrix_rank(&a, None, false).unwrap();
    /// assert_eq!(r.item::<i64>().await.unwrap(), 1);
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// INVALID_ARGUMENT for float16 matrices.
    #[doc(alias = "np.linalg.matrix_rank")]
    pub fn matrix_rank(&self, a: &Array, tol: Option<RankTol>, hermitian: bool) -> Result<Array> {
        let mut attrs = Attrs::new().with("hermitian", Attr::Bool(hermitian));
        match tol {
            None => {}
            Some(RankTol::Absolute(t)) => attrs.set("tol", Attr::Float(t)),
            Some(RankTol::Relative(r)) => attrs.set("rtol", Attr::Float(r)),
        }
        self.client.call1("linalg.matrix_rank", &one(a), attrs)
    }

    /// The least-squares solution of `a @ x = b` (`np.linalg.lstsq`):
    /// `(x, residuals, rank, s)`. The residuals (squared 2-norms of `b - a x`, one per
    /// column of `b`) are present only when `a` has full column rank and more rows than
    /// columns, otherwise empty: their shape depends on the data, so this runs with one
    /// round trip and is `async`. `rank` is int32, as NumPy's; `rcond` defaults to
    /// `eps * max(m, n)`.
    ///
    /// ```
    /// # use ndarray::array;
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let client = ndserve_client::Client::embedded().await.unwrap();
    /// let a = client.upload(&array![[1.0, 1.0], [1.0, 2.0], [1.0, 3.0], [1.0, 4.0]]).await.unwrap();
    /// let b = client.upload(&array![6.0, 5.0, 7.0, 10.0]).await.unwrap();
    /// let (x, res, rank, _s) = client.linalg().lstsq(&a, &b, None).await.unwrap();
    /// let x = x.to_vec::<f64>().await.unwrap();
    /// assert!((x[0] - 3.5).abs() < 1e-12 && (x[1] - 1.4).abs() < 1e-12);
    /// assert!((res.to_vec::<f64>().await.unwrap()[0] - 4.2).abs() < 1e-12);
    /// assert_eq!(rank.item::<i32>().await.unwrap(), 2);
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// INVALID_ARGUMENT for inputs that are not 2-D (`b` may be 1-D), row counts that
    /// differ ("Incompatible dimensions") or float16.
    #[doc(alias = "np.linalg.lstsq")]
    pub async fn lstsq(
        &self,
        a: &Array,
        b: &Array,
        rcond: Option<f64>,
    ) -> Result<(Array, Array, Array, Array)> {
        let mut attrs = Attrs::new();
        if let Some(r) = rcond {
            attrs.set("rcond", Attr::Float(r));
        }
        let out = self.client.run("linalg.lstsq", &two(a, b), attrs).await?;
        let [x, res, rank, s] = n_outputs("linalg.lstsq", out)?;
        Ok((x, res, rank, s))
    }
}
