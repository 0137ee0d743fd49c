//! The same API without `async`, for scripts and tests that do not run a tokio runtime.
//!
//! [`Client`] owns a tokio runtime that runs the session's background tasks (and an
//! embedded server). Methods that wait (uploads, fetches, syncs) block the calling thread;
//! op methods return at once, as in the async API. The blocking types must not be used
//! (or dropped) inside an async runtime: tokio forbids blocking there.
//!
//! ```
//! use ndarray::array;
//! use ndserve_client::blocking::Client;
//! use ndserve_client::DType;
//!
//! # fn main() -> ndserve_client::Result<()> {
//! let client = Client::embedded()?;
//! let a = client.upload(&array![[1.0, 2.0], [3.0, 4.0]])?;
//! let b = (a.matmul(&a.t()?)? + 1.0)?;
//! assert_eq!(b.dtype(), DType::Float64);
//! assert_eq!(b.to_ndarray::<f64>()?, array![[6.0, 12.0], [12.0, 26.0]].into_dyn());
//! assert_eq!(b.max(None, false)?.item::<f64>()?, 26.0);
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ndarray::{ArrayBase, ArrayD, Data, Dimension};
use ndserve_proto::{Attrs, DType, Error, Meta, Result, Scalar, pb};

use crate::array::Description;
use crate::client::ClientOptions;
use crate::element::Element;
use crate::operand::{Axis, Idx, Operand};
use crate::ops_index::IndexArg;
use crate::ops_order_stats::Kth;
use crate::ops_shape::Sections;

/// The async client and the runtime that drives it. The client is declared first so it
/// drops before the runtime (the runtime must outlive what runs on it).
struct Rt {
    client: crate::Client,
    rt: tokio::runtime::Runtime,
}

impl Drop for Rt {
    fn drop(&mut self) {
        // Best effort: close the session (and an embedded server) while the runtime still
        // runs. Blocking is not allowed inside another runtime; the lease then expires.
        if tokio::runtime::Handle::try_current().is_err() {
            let client = &self.client;
            self.rt.block_on(async move {
                let _ = tokio::time::timeout(Duration::from_secs(5), client.close()).await;
            });
        }
    }
}

fn runtime(threads: Option<usize>) -> Result<tokio::runtime::Runtime> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = threads {
        b.worker_threads(n);
    }
    b.enable_all()
        .thread_name("ndserve-client")
        .build()
        .map_err(|e| Error::internal("runtime", format!("cannot start a tokio runtime: {e}")))
}

/// A blocking [`crate::Client`]: a session, with its own tokio runtime.
///
/// A cheap clone; the runtime lives until the last clone and the last array are dropped,
/// which also closes the session.
#[derive(Clone)]
pub struct Client {
    rt: Arc<Rt>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("blocking::Client")
            .field(&self.rt.client)
            .finish()
    }
}

/// A blocking [`crate::Array`]: the same handle, with methods that wait on the client's
/// runtime.
#[derive(Clone)]
pub struct Array {
    inner: crate::Array,
    rt: Arc<Rt>,
}

impl std::fmt::Debug for Array {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl std::fmt::Display for Array {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl From<&Array> for Operand {
    fn from(a: &Array) -> Operand {
        Operand::Array(a.inner.clone())
    }
}

impl From<Array> for Operand {
    fn from(a: Array) -> Operand {
        Operand::Array(a.inner.clone())
    }
}

impl From<&Array> for IndexArg {
    fn from(a: &Array) -> IndexArg {
        IndexArg::Array(a.inner.clone())
    }
}

impl From<Array> for IndexArg {
    fn from(a: Array) -> IndexArg {
        IndexArg::Array(a.inner)
    }
}

impl Client {
    fn new(rt: tokio::runtime::Runtime, client: Result<crate::Client>) -> Result<Client> {
        Ok(Client {
            rt: Arc::new(Rt {
                client: client?,
                rt,
            }),
        })
    }

    /// Connects to the server at `url` ([`crate::Client::connect`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::connect`].
    pub fn connect(url: impl Into<String>) -> Result<Client> {
        Client::connect_with(url, ClientOptions::default())
    }

    /// Connects with explicit options ([`crate::Client::connect_with`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::connect_with`].
    pub fn connect_with(url: impl Into<String>, options: ClientOptions) -> Result<Client> {
        let rt = runtime(Some(2))?;
        let client = rt.block_on(crate::Client::connect_with(url, options));
        Client::new(rt, client)
    }

    /// Starts a server in this process and connects to it ([`crate::Client::embedded`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::embedded`].
    #[cfg(feature = "embedded")]
    pub fn embedded() -> Result<Client> {
        Client::embedded_with(ClientOptions::default())
    }

    /// [`Client::embedded`] with explicit options.
    ///
    /// # Errors
    ///
    /// As [`crate::Client::embedded`].
    #[cfg(feature = "embedded")]
    pub fn embedded_with(options: ClientOptions) -> Result<Client> {
        let rt = runtime(None)?;
        let client = rt.block_on(crate::Client::embedded_with(options));
        Client::new(rt, client)
    }

    /// The async client inside.
    pub fn as_async(&self) -> &crate::Client {
        &self.rt.client
    }

    fn wrap(&self, a: Result<crate::Array>) -> Result<Array> {
        Ok(Array {
            inner: a?,
            rt: self.rt.clone(),
        })
    }

    fn wrap_all(&self, v: Result<Vec<crate::Array>>) -> Result<Vec<Array>> {
        Ok(v?
            .into_iter()
            .map(|inner| Array {
                inner,
                rt: self.rt.clone(),
            })
            .collect())
    }

    fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.rt.block_on(f)
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        self.rt.client.url()
    }

    /// The session id.
    pub fn session_id(&self) -> &str {
        self.rt.client.session_id()
    }

    /// The lease the server granted.
    pub fn lease(&self) -> Duration {
        self.rt.client.lease()
    }

    /// The server's version.
    pub fn server_version(&self) -> &str {
        self.rt.client.server_version()
    }

    /// The options this client was made with.
    pub fn options(&self) -> &ClientOptions {
        self.rt.client.options()
    }

    /// Runs an op by name ([`crate::Client::call`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::call`].
    pub fn call(&self, op: &str, inputs: &[Operand], attrs: Attrs) -> Result<Vec<Array>> {
        self.wrap_all(self.rt.client.call(op, inputs, attrs))
    }

    /// Runs an op and waits for it ([`crate::Client::run`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::run`].
    pub fn run(&self, op: &str, inputs: &[Operand], attrs: Attrs) -> Result<Vec<Array>> {
        let r = self.block_on(self.rt.client.run(op, inputs, attrs));
        self.wrap_all(r)
    }

    /// Uploads an ndarray array ([`crate::Client::upload`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::upload`].
    pub fn upload<T, S, D>(&self, array: &ArrayBase<S, D>) -> Result<Array>
    where
        T: Element,
        S: Data<Elem = T>,
        D: Dimension,
    {
        let r = self.block_on(self.rt.client.upload(array));
        self.wrap(r)
    }

    /// Uploads raw little-endian C-order data ([`crate::Client::upload_bytes`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::upload_bytes`].
    pub fn upload_bytes(&self, meta: Meta, data: Bytes) -> Result<Array> {
        let r = self.block_on(self.rt.client.upload_bytes(meta, data));
        self.wrap(r)
    }

    /// Waits until every op queued so far has been computed ([`crate::Client::sync_all`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::sync_all`].
    pub fn sync_all(&self) -> Result<()> {
        self.block_on(self.rt.client.sync_all())
    }

    /// The server's version and devices ([`crate::Client::server_info`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::server_info`].
    pub fn server_info(&self) -> Result<pb::ServerInfo> {
        self.block_on(self.rt.client.server_info())
    }

    /// Server-wide statistics ([`crate::Client::stats`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::stats`].
    pub fn stats(&self) -> Result<pb::Stats> {
        self.block_on(self.rt.client.stats())
    }

    /// This session's statistics ([`crate::Client::session_stats`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::session_stats`].
    pub fn session_stats(&self) -> Result<pb::Stats> {
        self.block_on(self.rt.client.session_stats())
    }

    /// The server's devices ([`crate::Client::devices`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::devices`].
    pub fn devices(&self) -> Result<Vec<pb::DeviceInfo>> {
        self.block_on(self.rt.client.devices())
    }

    /// The server's op catalogue ([`crate::Client::list_ops`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::list_ops`].
    pub fn list_ops(&self) -> Result<Vec<pb::OpInfo>> {
        self.block_on(self.rt.client.list_ops())
    }

    /// Closes the session ([`crate::Client::close`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::close`].
    pub fn close(&self) -> Result<()> {
        self.block_on(self.rt.client.close())
    }

    /// Zeros (`np.zeros`, [`crate::Client::zeros`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::zeros`].
    #[doc(alias = "np.zeros")]
    pub fn zeros(&self, shape: &[usize], dtype: DType) -> Result<Array> {
        self.wrap(self.rt.client.zeros(shape, dtype))
    }

    /// Ones (`np.ones`, [`crate::Client::ones`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::ones`].
    #[doc(alias = "np.ones")]
    pub fn ones(&self, shape: &[usize], dtype: DType) -> Result<Array> {
        self.wrap(self.rt.client.ones(shape, dtype))
    }

    /// A new (zero-filled) array (`np.empty`, [`crate::Client::empty`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::empty`].
    #[doc(alias = "np.empty")]
    pub fn empty(&self, shape: &[usize], dtype: DType) -> Result<Array> {
        self.wrap(self.rt.client.empty(shape, dtype))
    }

    /// A filled array (`np.full`, [`crate::Client::full`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::full`].
    #[doc(alias = "np.full")]
    pub fn full(
        &self,
        shape: &[usize],
        fill: impl Into<Operand>,
        dtype: Option<DType>,
    ) -> Result<Array> {
        self.wrap(self.rt.client.full(shape, fill, dtype))
    }

    /// `np.zeros_like` ([`crate::Client::zeros_like`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::zeros_like`].
    #[doc(alias = "np.zeros_like")]
    pub fn zeros_like(&self, a: &Array) -> Result<Array> {
        self.wrap(self.rt.client.zeros_like(&a.inner))
    }

    /// `np.ones_like` ([`crate::Client::ones_like`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::ones_like`].
    #[doc(alias = "np.ones_like")]
    pub fn ones_like(&self, a: &Array) -> Result<Array> {
        self.wrap(self.rt.client.ones_like(&a.inner))
    }

    /// `np.empty_like` ([`crate::Client::empty_like`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::empty_like`].
    #[doc(alias = "np.empty_like")]
    pub fn empty_like(&self, a: &Array) -> Result<Array> {
        self.wrap(self.rt.client.empty_like(&a.inner))
    }

    /// `np.full_like` ([`crate::Client::full_like`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::full_like`].
    #[doc(alias = "np.full_like")]
    pub fn full_like(&self, a: &Array, fill: impl Into<Operand>) -> Result<Array> {
        self.wrap(self.rt.client.full_like(&a.inner, fill))
    }

    /// `np.arange(start, stop, step, dtype)` ([`crate::Client::arange`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::arange`].
    #[doc(alias = "np.arange")]
    pub fn arange(
        &self,
        start: impl Into<Scalar>,
        stop: impl Into<Scalar>,
        step: impl Into<Scalar>,
        dtype: Option<DType>,
    ) -> Result<Array> {
        self.wrap(self.rt.client.arange(start, stop, step, dtype))
    }

    /// `np.arange(stop)` ([`crate::Client::arange_n`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::arange_n`].
    #[doc(alias = "np.arange")]
    pub fn arange_n(&self, stop: i64) -> Result<Array> {
        self.wrap(self.rt.client.arange_n(stop))
    }

    /// `np.linspace(start, stop, num)` ([`crate::Client::linspace`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::linspace`].
    #[doc(alias = "np.linspace")]
    pub fn linspace(&self, start: f64, stop: f64, num: usize) -> Result<Array> {
        self.wrap(self.rt.client.linspace(start, stop, num))
    }

    /// `np.eye(N, M, k, dtype)` ([`crate::Client::eye`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::eye`].
    #[doc(alias = "np.eye")]
    pub fn eye(&self, n: usize, m: Option<usize>, k: i64, dtype: DType) -> Result<Array> {
        self.wrap(self.rt.client.eye(n, m, k, dtype))
    }

    /// `np.identity(n, dtype)` ([`crate::Client::identity`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::identity`].
    #[doc(alias = "np.identity")]
    pub fn identity(&self, n: usize, dtype: DType) -> Result<Array> {
        self.wrap(self.rt.client.identity(n, dtype))
    }

    /// `np.concatenate(arrays, axis)` ([`crate::Client::concatenate`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::concatenate`].
    #[doc(alias = "np.concatenate")]
    pub fn concatenate(&self, arrays: &[&Array], axis: Option<i64>) -> Result<Array> {
        let inner: Vec<&crate::Array> = arrays.iter().map(|a| &a.inner).collect();
        self.wrap(self.rt.client.concatenate(&inner, axis))
    }

    /// `np.stack(arrays, axis)` ([`crate::Client::stack`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::stack`].
    #[doc(alias = "np.stack")]
    pub fn stack(&self, arrays: &[&Array], axis: i64) -> Result<Array> {
        let inner: Vec<&crate::Array> = arrays.iter().map(|a| &a.inner).collect();
        self.wrap(self.rt.client.stack(&inner, axis))
    }

    /// `np.array(object, dtype, ndmin=ndmin)` ([`crate::Client::array`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::array`].
    #[doc(alias = "np.array")]
    pub fn array(
        &self,
        object: impl Into<Operand>,
        dtype: Option<DType>,
        ndmin: usize,
    ) -> Result<Array> {
        self.wrap(self.rt.client.array(object, dtype, ndmin))
    }

    /// `np.asarray(a, dtype)` ([`crate::Client::asarray`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::asarray`].
    #[doc(alias = "np.asarray")]
    pub fn asarray(&self, a: impl Into<Operand>, dtype: Option<DType>) -> Result<Array> {
        self.wrap(self.rt.client.asarray(a, dtype))
    }

    /// `np.asanyarray(a, dtype)` ([`crate::Client::asanyarray`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::asanyarray`].
    #[doc(alias = "np.asanyarray")]
    pub fn asanyarray(&self, a: impl Into<Operand>, dtype: Option<DType>) -> Result<Array> {
        self.wrap(self.rt.client.asanyarray(a, dtype))
    }

    /// `np.ascontiguousarray(a, dtype)` ([`crate::Client::ascontiguousarray`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::ascontiguousarray`].
    #[doc(alias = "np.ascontiguousarray")]
    pub fn ascontiguousarray(&self, a: impl Into<Operand>, dtype: Option<DType>) -> Result<Array> {
        self.wrap(self.rt.client.ascontiguousarray(a, dtype))
    }

    /// `np.broadcast_arrays(*args)` ([`crate::Client::broadcast_arrays`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::broadcast_arrays`].
    #[doc(alias = "np.broadcast_arrays")]
    pub fn broadcast_arrays(&self, args: &[Operand]) -> Result<Vec<Array>> {
        self.wrap_all(self.rt.client.broadcast_arrays(args))
    }

    /// `np.hstack(tup)` ([`crate::Client::hstack`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::hstack`].
    #[doc(alias = "np.hstack")]
    pub fn hstack(&self, tup: &[&Array]) -> Result<Array> {
        let inner: Vec<&crate::Array> = tup.iter().map(|a| &a.inner).collect();
        self.wrap(self.rt.client.hstack(&inner))
    }

    /// `np.vstack(tup)` ([`crate::Client::vstack`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::vstack`].
    #[doc(alias = "np.vstack")]
    pub fn vstack(&self, tup: &[&Array]) -> Result<Array> {
        let inner: Vec<&crate::Array> = tup.iter().map(|a| &a.inner).collect();
        self.wrap(self.rt.client.vstack(&inner))
    }

    /// `np.dstack(tup)` ([`crate::Client::dstack`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::dstack`].
    #[doc(alias = "np.dstack")]
    pub fn dstack(&self, tup: &[&Array]) -> Result<Array> {
        let inner: Vec<&crate::Array> = tup.iter().map(|a| &a.inner).collect();
        self.wrap(self.rt.client.dstack(&inner))
    }

    /// `np.select(condlist, choicelist, default)` ([`crate::Client::select`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::select`].
    #[doc(alias = "np.select")]
    pub fn select(
        &self,
        condlist: &[Operand],
        choicelist: &[Operand],
        default: impl Into<Scalar>,
    ) -> Result<Array> {
        self.wrap(self.rt.client.select(condlist, choicelist, default))
    }

    /// `np.diag_indices(n, ndim)` ([`crate::Client::diag_indices`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::diag_indices`].
    #[doc(alias = "np.diag_indices")]
    pub fn diag_indices(&self, n: usize, ndim: usize) -> Result<Vec<Array>> {
        self.wrap_all(self.rt.client.diag_indices(n, ndim))
    }

    /// `np.ix_(*args)` of integer sequences ([`crate::Client::ix_`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::ix_`].
    #[doc(alias = "np.ix_")]
    pub fn ix_(&self, args: &[Operand]) -> Result<Vec<Array>> {
        self.wrap_all(self.rt.client.ix_(args))
    }

    /// `np.ix_(*args)`, boolean sequences included; waits ([`crate::Client::ix_run`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::ix_run`].
    #[doc(alias = "np.ix_")]
    pub fn ix_run(&self, args: &[Operand]) -> Result<Vec<Array>> {
        let r = self.block_on(self.rt.client.ix_run(args));
        self.wrap_all(r)
    }
}

macro_rules! blocking_unary {
    ($( ($name:ident, $rule:ident, $doc:literal, bool: $b:tt, int: $i:tt, float: $f:tt, complex: $c:tt, cuda: $g:tt) ),* $(,)?) => {
        impl Array {$(
            #[doc = $doc]
            pub fn $name(&self) -> Result<Array> {
                self.wrap(self.inner.$name())
            }
        )*}
    };
}

macro_rules! blocking_binary {
    ($( ($name:ident, $rule:ident, $doc:literal, bool: $b:tt, int: $i:tt, float: $f:tt, complex: $c:tt, cuda: $g:tt) ),* $(,)?) => {
        $( blocking_binary!(@one $name, $doc); )*
    };
    (@one mod, $doc:literal) => {
        blocking_binary!(@emit r#mod, "mod", $doc);
    };
    (@one $name:ident, $doc:literal) => {
        blocking_binary!(@emit $name, stringify!($name), $doc);
    };
    (@emit $name:ident, $op:expr, $doc:literal) => {
        impl Array {
            #[doc = $doc]
            pub fn $name(&self, other: impl Into<Operand>) -> Result<Array> {
                self.wrap(self.inner.$name(other))
            }
        }
    };
}

ndserve_proto::for_each_unary_op!(blocking_unary);
ndserve_proto::for_each_unary_real_op!(blocking_unary);
ndserve_proto::for_each_unary_pred_op!(blocking_unary);
ndserve_proto::for_each_binary_op!(blocking_binary);
ndserve_proto::for_each_compare_op!(blocking_binary);

/// Forwards op methods that take plain arguments to the async array's.
macro_rules! forward {
    ($( $(#[$m:meta])* fn $name:ident(&self $(, $arg:ident: $ty:ty)*); )*) => {
        impl Array {$(
            $(#[$m])*
            ///
            /// # Errors
            ///
            #[doc = concat!("As [`crate::Array::", stringify!($name), "`].")]
            pub fn $name(&self $(, $arg: $ty)*) -> Result<Array> {
                self.wrap(self.inner.$name($($arg),*))
            }
        )*}
    };
}

forward! {
    /// Sum over the given axes (`np.sum`, [`crate::Array::sum`]).
    #[doc(alias = "np.sum")]
    fn sum(&self, axis: impl Into<Axis>, keepdims: bool);
    /// [`Array::sum`] accumulating in `dtype`.
    fn sum_as(&self, axis: impl Into<Axis>, keepdims: bool, dtype: DType);
    /// Product over the given axes (`np.prod`).
    #[doc(alias = "np.prod")]
    fn prod(&self, axis: impl Into<Axis>, keepdims: bool);
    /// Mean over the given axes (`np.mean`).
    #[doc(alias = "np.mean")]
    fn mean(&self, axis: impl Into<Axis>, keepdims: bool);
    /// [`Array::mean`] computing in `dtype`.
    fn mean_as(&self, axis: impl Into<Axis>, keepdims: bool, dtype: DType);
    /// Maximum over the given axes (`np.max`).
    #[doc(alias = "np.max")]
    fn max(&self, axis: impl Into<Axis>, keepdims: bool);
    /// Maximum over the given axes (`np.amax`).
    #[doc(alias = "np.amax")]
    fn amax(&self, axis: impl Into<Axis>, keepdims: bool);
    /// Minimum over the given axes (`np.min`).
    #[doc(alias = "np.min")]
    fn min(&self, axis: impl Into<Axis>, keepdims: bool);
    /// Minimum over the given axes (`np.amin`).
    #[doc(alias = "np.amin")]
    fn amin(&self, axis: impl Into<Axis>, keepdims: bool);
    /// Whether all elements are true (`np.all`).
    #[doc(alias = "np.all")]
    fn all(&self, axis: impl Into<Axis>, keepdims: bool);
    /// Whether any element is true (`np.any`).
    #[doc(alias = "np.any")]
    fn any(&self, axis: impl Into<Axis>, keepdims: bool);
    /// Indices of the first maximum (`np.argmax`).
    #[doc(alias = "np.argmax")]
    fn argmax(&self, axis: Option<i64>);
    /// Indices of the first minimum (`np.argmin`).
    #[doc(alias = "np.argmin")]
    fn argmin(&self, axis: Option<i64>);
    /// A copy cast to `dtype` (`a.astype`).
    #[doc(alias = "ndarray.astype")]
    fn astype(&self, dtype: DType);
    /// A copy (`np.copy`).
    #[doc(alias = "np.copy")]
    fn copy(&self);
    /// A new shape, one dimension may be -1 (`np.reshape`).
    #[doc(alias = "np.reshape")]
    fn reshape(&self, shape: &[i64]);
    /// The flattened array (`np.ravel`).
    #[doc(alias = "np.ravel")]
    fn ravel(&self);
    /// Permuted axes, reversed for `None` (`np.transpose`).
    #[doc(alias = "np.transpose")]
    fn transpose(&self, axes: Option<&[i64]>);
    /// The transpose (`a.T`).
    #[doc(alias = "T")]
    fn t(&self);
    /// Inserts length-1 axes (`np.expand_dims`).
    #[doc(alias = "np.expand_dims")]
    fn expand_dims(&self, axis: impl Into<Axis>);
    /// Removes length-1 axes (`np.squeeze`).
    #[doc(alias = "np.squeeze")]
    fn squeeze(&self, axis: impl Into<Axis>);
    /// Broadcasts to `shape` (`np.broadcast_to`).
    #[doc(alias = "np.broadcast_to")]
    fn broadcast_to(&self, shape: &[usize]);
    /// Basic indexing `a[key]` ([`crate::Array::getitem`]).
    #[doc(alias = "__getitem__")]
    fn getitem(&self, key: &[Idx]);
    /// Dot product (`np.dot`).
    #[doc(alias = "np.dot")]
    fn dot(&self, other: impl Into<Operand>);
    /// Rounds half to even (`np.round`).
    #[doc(alias = "np.round")]
    fn round(&self, decimals: i64);
    /// A flattened copy (`ndarray.flatten`).
    #[doc(alias = "ndarray.flatten")]
    fn flatten(&self);
    /// Interchanges two axes (`np.swapaxes`).
    #[doc(alias = "np.swapaxes")]
    fn swapaxes(&self, axis1: i64, axis2: i64);
    /// Moves axes to new positions (`np.moveaxis`).
    #[doc(alias = "np.moveaxis")]
    fn moveaxis(&self, source: impl Into<Axis>, destination: impl Into<Axis>);
    /// At least one dimension (`np.atleast_1d`).
    #[doc(alias = "np.atleast_1d")]
    fn atleast_1d(&self);
    /// At least two dimensions (`np.atleast_2d`).
    #[doc(alias = "np.atleast_2d")]
    fn atleast_2d(&self);
    /// At least three dimensions (`np.atleast_3d`).
    #[doc(alias = "np.atleast_3d")]
    fn atleast_3d(&self);
    /// Appends values along an axis, flattening for `None` (`np.append`).
    #[doc(alias = "np.append")]
    fn append(&self, values: impl Into<Operand>, axis: Option<i64>);
    /// Repeats the whole array along each axis (`np.tile`).
    #[doc(alias = "np.tile")]
    fn tile(&self, reps: &[i64]);
    /// Repeats each element (`np.repeat`).
    #[doc(alias = "np.repeat")]
    fn repeat(&self, repeats: &[i64], axis: Option<i64>);
    /// Pads the array (`np.pad`).
    #[doc(alias = "np.pad")]
    fn pad(&self, pad_width: &[usize], mode: &str, constant_values: Option<Scalar>);
    /// Reverses along axes (`np.flip`).
    #[doc(alias = "np.flip")]
    fn flip(&self, axis: impl Into<Axis>);
    /// Reverses along axis 0 (`np.flipud`).
    #[doc(alias = "np.flipud")]
    fn flipud(&self);
    /// Reverses along axis 1 (`np.fliplr`).
    #[doc(alias = "np.fliplr")]
    fn fliplr(&self);
    /// Rolls the elements along an axis, the flattened array for `None` (`np.roll`).
    #[doc(alias = "np.roll")]
    fn roll(&self, shift: i64, axis: Option<i64>);
    /// Rolls by several shifts along several axes (`np.roll`).
    fn roll_axes(&self, shift: &[i64], axes: &[i64]);
    /// Rotates by 90 degrees in a plane (`np.rot90`).
    #[doc(alias = "np.rot90")]
    fn rot90(&self, k: i64, axes: (i64, i64));
    /// Indexing with index arrays, `a[key]` ([`crate::Array::index`]).
    #[doc(alias = "__getitem__")]
    fn index(&self, key: &[IndexArg]);
    /// A copy with `a[key] = y` ([`crate::Array::index_update`]).
    #[doc(alias = "__setitem__")]
    fn index_update(&self, key: &[IndexArg], y: impl Into<Operand>);
    /// A copy after `np.add.at(a, key, y)`.
    #[doc(alias = "np.add.at")]
    fn index_add(&self, key: &[IndexArg], y: impl Into<Operand>);
    /// A copy after `np.minimum.at(a, key, y)`.
    #[doc(alias = "np.minimum.at")]
    fn index_min(&self, key: &[IndexArg], y: impl Into<Operand>);
    /// A copy after `np.maximum.at(a, key, y)`.
    #[doc(alias = "np.maximum.at")]
    fn index_max(&self, key: &[IndexArg], y: impl Into<Operand>);
    /// Elements at indices along an axis (`np.take`).
    #[doc(alias = "np.take")]
    fn take(&self, indices: impl Into<Operand>, axis: Option<i64>);
    /// `np.take` with `mode` `"raise"`, `"wrap"` or `"clip"`.
    fn take_mode(&self, indices: impl Into<Operand>, axis: Option<i64>, mode: &str);
    /// Values at matching index slices (`np.take_along_axis`).
    #[doc(alias = "np.take_along_axis")]
    fn take_along_axis(&self, indices: impl Into<Operand>, axis: Option<i64>);
    /// A diagonal of the plane of two axes (`np.diagonal`).
    #[doc(alias = "np.diagonal")]
    fn diagonal(&self, offset: i64, axis1: i64, axis2: i64);
    /// Percentiles over the given axes (`np.percentile`).
    #[doc(alias = "np.percentile")]
    fn percentile(&self, q: impl Into<Operand>, axis: impl Into<Axis>, keepdims: bool);
    /// A partitioned copy (`np.partition`).
    #[doc(alias = "np.partition")]
    fn partition(&self, kth: impl Into<Kth>, axis: Option<i64>);
    /// Indices that partition (`np.argpartition`).
    #[doc(alias = "np.argpartition")]
    fn argpartition(&self, kth: impl Into<Kth>, axis: Option<i64>);
}

/// Forwards the splitting methods, which return several arrays.
macro_rules! forward_split {
    ($( $(#[$m:meta])* fn $name:ident; )*) => {
        impl Array {$(
            $(#[$m])*
            ///
            /// # Errors
            ///
            #[doc = concat!("As [`crate::Array::", stringify!($name), "`].")]
            pub fn $name(&self, indices_or_sections: impl Into<Sections>) -> Result<Vec<Array>> {
                self.client().wrap_all(self.inner.$name(indices_or_sections))
            }
        )*}
    };
}

forward_split! {
    /// Splits column-wise (`np.hsplit`).
    #[doc(alias = "np.hsplit")]
    fn hsplit;
    /// Splits row-wise (`np.vsplit`).
    #[doc(alias = "np.vsplit")]
    fn vsplit;
    /// Splits along the third axis (`np.dsplit`).
    #[doc(alias = "np.dsplit")]
    fn dsplit;
}

impl Array {
    fn wrap(&self, a: Result<crate::Array>) -> Result<Array> {
        Ok(Array {
            inner: a?,
            rt: self.rt.clone(),
        })
    }

    fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.rt.block_on(f)
    }

    pub(crate) fn operator(&self, sym: &str, other: Operand, reversed: bool) -> Result<Array> {
        self.wrap(self.inner.operator(sym, other, reversed))
    }

    pub(crate) fn not_operator(&self) -> Result<Array> {
        self.wrap(self.inner.not_operator())
    }

    /// The async array inside.
    pub fn as_async(&self) -> &crate::Array {
        &self.inner
    }

    /// The client (session) the array belongs to.
    pub fn client(&self) -> Client {
        Client {
            rt: self.rt.clone(),
        }
    }

    /// The array's handle in its session.
    pub fn handle(&self) -> u64 {
        self.inner.handle()
    }

    /// Its dtype and shape.
    pub fn meta(&self) -> &Meta {
        self.inner.meta()
    }

    /// The element type (`a.dtype`).
    pub fn dtype(&self) -> DType {
        self.inner.dtype()
    }

    /// The shape (`a.shape`).
    pub fn shape(&self) -> &[usize] {
        self.inner.shape()
    }

    /// The number of axes (`a.ndim`).
    pub fn ndim(&self) -> usize {
        self.inner.ndim()
    }

    /// The number of elements (`a.size`).
    pub fn size(&self) -> usize {
        self.inner.size()
    }

    /// The number of bytes of data (`a.nbytes`).
    pub fn nbytes(&self) -> usize {
        self.inner.nbytes()
    }

    /// Matrix product (`np.matmul`, [`crate::Array::matmul`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Array::matmul`].
    #[doc(alias = "np.matmul")]
    pub fn matmul(&self, other: &Array) -> Result<Array> {
        self.wrap(self.inner.matmul(&other.inner))
    }

    /// Splits into equal sections or at indices along `axis` (`np.split`,
    /// [`crate::Array::split`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Array::split`].
    #[doc(alias = "np.split")]
    pub fn split(&self, indices_or_sections: impl Into<Sections>, axis: i64) -> Result<Vec<Array>> {
        self.client()
            .wrap_all(self.inner.split(indices_or_sections, axis))
    }

    /// With this array as the condition, `x` where true and `y` elsewhere
    /// (`np.where(condition, x, y)`, `crate::Array::r#where`).
    ///
    /// # Errors
    ///
    /// As `crate::Array::r#where`.
    #[doc(alias = "np.where")]
    pub fn r#where(&self, x: impl Into<Operand>, y: impl Into<Operand>) -> Result<Array> {
        self.wrap(self.inner.r#where(x, y))
    }

    /// Indexing with any key, boolean masks included; waits for the actual shape
    /// ([`crate::Array::index_run`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Array::index_run`].
    #[doc(alias = "__getitem__")]
    pub fn index_run(&self, key: &[IndexArg]) -> Result<Array> {
        let r = self.block_on(self.inner.index_run(key));
        self.wrap(r)
    }

    /// Waits until the array is computed ([`crate::Array::sync`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Array::sync`].
    pub fn sync(&self) -> Result<()> {
        self.block_on(self.inner.sync())
    }

    /// Meta, device and state ([`crate::Array::describe`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Array::describe`].
    pub fn describe(&self) -> Result<Description> {
        self.block_on(self.inner.describe())
    }

    /// Split along `axis` over `devices` ([`crate::Array::shard`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Array::shard`].
    pub fn shard(&self, axis: isize, devices: &[&str]) -> Result<Array> {
        self.wrap(self.inner.shard(axis, devices))
    }

    /// Sharded anew ([`crate::Array::reshard`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Array::reshard`].
    pub fn reshard(&self, axis: isize, devices: &[&str]) -> Result<Array> {
        self.wrap(self.inner.reshard(axis, devices))
    }

    /// Mirrored over `devices` ([`crate::Array::replicate`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Array::replicate`].
    pub fn replicate(&self, devices: &[&str]) -> Result<Array> {
        self.wrap(self.inner.replicate(devices))
    }

    /// One array on one device ([`crate::Array::gather`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Array::gather`].
    pub fn gather(&self, device: Option<&str>) -> Result<Array> {
        self.wrap(self.inner.gather(device))
    }

    /// Sum or mean across replicas ([`crate::Array::reduce_replicas`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Array::reduce_replicas`].
    pub fn reduce_replicas(&self, op: crate::ReplicaReduce) -> Result<Array> {
        self.wrap(self.inner.reduce_replicas(op))
    }

    /// How it is laid out ([`crate::Array::layout`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Array::layout`].
    pub fn layout(&self) -> Result<crate::Layout> {
        self.block_on(self.inner.layout())
    }

    /// The raw data ([`crate::Array::fetch_bytes`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Array::fetch_bytes`].
    pub fn fetch_bytes(&self) -> Result<(Meta, Bytes)> {
        self.block_on(self.inner.fetch_bytes())
    }

    /// The data as an `ndarray::ArrayD<T>` ([`crate::Array::to_ndarray`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Array::to_ndarray`].
    pub fn to_ndarray<T: Element>(&self) -> Result<ArrayD<T>> {
        self.block_on(self.inner.to_ndarray())
    }

    /// The elements in C order ([`crate::Array::to_vec`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Array::to_vec`].
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        self.block_on(self.inner.to_vec())
    }

    /// The only element of a one-element array ([`crate::Array::item`]).
    ///
    /// # Errors
    ///
    /// As [`crate::Array::item`].
    pub fn item<T: Element>(&self) -> Result<T> {
        self.block_on(self.inner.item())
    }
}

crate::operators::operators!(Array);
