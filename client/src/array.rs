//! [`Array`]: a handle to a server-resident array, and the calls that read it back.

use std::sync::Arc;

use bytes::Bytes;
use ndarray::{ArrayD, IxDyn};
use ndserve_proto::{DType, Error, Meta, Result, pb};

use crate::client::{Client, status_error};
use crate::element::Element;

/// A handle to an array on the server.
///
/// `Array` is a cheap clone (an `Arc` inside); its dtype and shape are known locally, so
/// [`Array::dtype`], [`Array::shape`] and friends never touch the network. Op methods
/// (`a.add(&b)`, `a.sum(None, false)`, `&a * 2.0`, ...) return new arrays at once; the
/// server computes them in order in the background. Reading the data
/// ([`Array::to_ndarray`], [`Array::fetch_bytes`]) or waiting for it ([`Array::sync`])
/// reports any error the server met computing it.
///
/// When the last clone is dropped the server frees the array (the release is queued,
/// never waited for).
#[derive(Clone)]
pub struct Array {
    pub(crate) inner: Arc<ArrayInner>,
}

pub(crate) struct ArrayInner {
    client: Client,
    handle: u64,
    meta: Meta,
}

impl Drop for ArrayInner {
    fn drop(&mut self) {
        // Never blocks, spawns or awaits; a closed client has nothing left to release.
        let _ = self.client.enqueue(pb::Command {
            command: Some(pb::command::Command::Release(pb::Release {
                handles: vec![self.handle],
            })),
        });
    }
}

impl std::fmt::Debug for Array {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Array")
            .field("handle", &self.inner.handle)
            .field("dtype", &self.inner.meta.dtype)
            .field("shape", &self.inner.meta.shape)
            .finish()
    }
}

impl std::fmt::Display for Array {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Array(handle={}, shape={}, dtype={})",
            self.inner.handle,
            ndserve_proto::shape::fmt_shape(&self.inner.meta.shape),
            self.inner.meta.dtype
        )
    }
}

/// Where an array stands on the server ([`Description::state`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArrayState {
    /// Queued or computing.
    Pending,
    /// Computed.
    Ready,
    /// Its op (or one it depends on) failed; [`Description::error`] says why.
    Failed,
    /// A state this client does not know (a newer server).
    Other(String),
}

/// What the server knows of an array, without its data ([`Array::describe`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Description {
    /// Its dtype and shape.
    pub meta: Meta,
    /// The device that holds it (`"worker/cpu:0"`).
    pub device: String,
    /// Pending, ready or failed.
    pub state: ArrayState,
    /// The error, when failed.
    pub error: Option<Error>,
    /// How it is laid out over devices (single, sharded or mirrored).
    pub layout: crate::Layout,
}

impl Array {
    pub(crate) fn new(client: Client, handle: u64, meta: Meta) -> Array {
        Array {
            inner: Arc::new(ArrayInner {
                client,
                handle,
                meta,
            }),
        }
    }

    /// The client (session) the array belongs to.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The array's handle in its session.
    pub fn handle(&self) -> u64 {
        self.inner.handle
    }

    /// Its dtype and shape.
    pub fn meta(&self) -> &Meta {
        &self.inner.meta
    }

    /// The element type (NumPy's `a.dtype`).
    #[doc(alias = "ndarray.dtype")]
    pub fn dtype(&self) -> DType {
        self.inner.meta.dtype
    }

    /// The shape (NumPy's `a.shape`).
    #[doc(alias = "ndarray.shape")]
    pub fn shape(&self) -> &[usize] {
        &self.inner.meta.shape
    }

    /// The number of axes (NumPy's `a.ndim`).
    #[doc(alias = "ndarray.ndim")]
    pub fn ndim(&self) -> usize {
        self.inner.meta.ndim()
    }

    /// The number of elements (NumPy's `a.size`).
    #[doc(alias = "ndarray.size")]
    pub fn size(&self) -> usize {
        self.inner.meta.numel()
    }

    /// The number of bytes of data (NumPy's `a.nbytes`).
    #[doc(alias = "ndarray.nbytes")]
    pub fn nbytes(&self) -> usize {
        self.size() * self.dtype().itemsize()
    }

    /// Waits until the array is computed.
    ///
    /// # Errors
    ///
    /// The error of the op that failed computing it (or an op it depends on).
    pub async fn sync(&self) -> Result<()> {
        self.inner.client.sync_handles(vec![self.handle()]).await
    }

    /// What the server knows of the array: meta, device and state, without its data.
    /// Waits until the server has received the op that creates it, not until it is
    /// computed.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for a handle the server does not know.
    pub async fn describe(&self) -> Result<Description> {
        let client = &self.inner.client;
        let req = pb::DescribeRequest {
            session_id: client.session_id().to_string(),
            handle: self.handle(),
            after_seq: client.sent_seq(),
        };
        let mut grpc = client.grpc();
        let r = client
            .guard(async move { grpc.describe(req).await.map_err(status_error) })
            .await?
            .into_inner();
        let meta = match &r.meta {
            Some(m) => Meta::from_wire(m)?,
            None => self.meta().clone(),
        };
        let state = match r.state.as_str() {
            "pending" => ArrayState::Pending,
            "ready" => ArrayState::Ready,
            "failed" => ArrayState::Failed,
            s => ArrayState::Other(s.to_string()),
        };
        Ok(Description {
            layout: crate::distribute::layout_from_wire(&r)?,
            meta,
            device: r.device,
            state,
            error: r.error.as_ref().map(Error::from_detail),
        })
    }

    /// Streams the array's data; calls `sink` with the meta first, then with each chunk.
    ///
    /// When the server redirects the fetch to the worker that holds the array, the data
    /// comes from that worker; if it cannot be reached (or refuses before sending data),
    /// the fetch is asked again through the coordinator.
    async fn fetch_with(
        &self,
        mut sink: impl FnMut(Option<&Meta>, Bytes) -> Result<()>,
    ) -> Result<()> {
        let client = self.inner.client.clone();
        let local = self.meta().clone();
        let handle = self.handle();
        if client.fetches_inline(self.nbytes() as u64) {
            // A small array comes back in a barrier's reply on the Execute stream.
            let arrays = client.barrier(vec![handle], true).await?;
            let [array] = <[pb::InlineArray; 1]>::try_from(arrays).map_err(|a| {
                Error::internal(
                    "fetch",
                    format!("asked for 1 array, the server sent {}", a.len()),
                )
            })?;
            let meta = checked_meta(array.meta.as_ref(), &local, handle)?;
            return sink(Some(&meta), array.data);
        }
        let mut req = pb::FetchRequest {
            session_id: client.session_id().to_string(),
            handle,
            after_seq: client.sent_seq(),
            chunk_bytes: client.options().chunk_bytes as u64,
            direct: client.direct_fetch(),
        };
        let c = client.clone();
        client
            .guard(async move {
                loop {
                    let mut stream = c
                        .grpc()
                        .fetch(req.clone())
                        .await
                        .map_err(status_error)?
                        .into_inner();
                    let Some(head) = stream.message().await.map_err(status_error)? else {
                        return Err(Error::internal("fetch", "the server sent no data"));
                    };
                    let meta = checked_meta(head.meta.as_ref(), &local, handle)?;
                    if let Some(r) = &head.redirect {
                        let Some((first, mut chunks)) =
                            open_direct(&c, r, req.chunk_bytes, &meta).await
                        else {
                            req.direct = false;
                            continue;
                        };
                        sink(Some(&meta), first)?;
                        while let Some(chunk) = chunks.message().await.map_err(status_error)? {
                            sink(None, chunk.data)?;
                        }
                        return Ok(());
                    }
                    sink(Some(&meta), head.data)?;
                    while let Some(chunk) = stream.message().await.map_err(status_error)? {
                        sink(None, chunk.data)?;
                    }
                    return Ok(());
                }
            })
            .await
    }

    /// Fetches the raw data: little-endian, C order (bools one byte each), with its meta.
    ///
    /// # Errors
    ///
    /// The error of the op that failed computing the array (or an op it depends on);
    /// [`Error::Unavailable`] when the server cannot be reached.
    pub async fn fetch_bytes(&self) -> Result<(Meta, Bytes)> {
        let total = self.nbytes();
        // One chunk that holds everything is kept as is (no copy); otherwise the chunks are
        // copied into one buffer, allocated when the first one arrives.
        let mut whole: Option<Bytes> = None;
        let mut buf: Option<Vec<u8>> = None;
        let mut len = 0usize;
        self.fetch_with(|first, data| {
            len += data.len();
            if len > total {
                return Err(too_many(total));
            }
            if first.is_some() && data.len() == total {
                whole = Some(data);
                return Ok(());
            }
            let b = match buf.as_mut() {
                Some(b) => b,
                None => {
                    let mut v = Vec::new();
                    v.try_reserve_exact(total).map_err(|_| {
                        Error::exhausted("fetch_bytes", format!("cannot allocate {total} bytes"))
                    })?;
                    buf.insert(v)
                }
            };
            b.extend_from_slice(&data);
            Ok(())
        })
        .await?;
        if len != total {
            return Err(too_few(total, len));
        }
        let data = match (whole, buf) {
            (Some(w), _) => w,
            (None, Some(b)) => Bytes::from(b),
            (None, None) => Bytes::new(),
        };
        Ok((self.meta().clone(), data))
    }

    /// Fetches the array as an `ndarray::ArrayD<T>`; `T` must be the array's dtype
    /// (see [`Element`]; convert on the server with [`Array::astype`] first).
    ///
    /// ```
    /// use ndarray::array;
    /// use ndserve_client::{Client, DType};
    ///
    /// # fn main() -> ndserve_client::Result<()> {
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let client = Client::embedded().await?;
    /// let a = client.upload(&array![1u8, 2, 3]).await?;
    /// let b = a.astype(DType::Float32)?.sqrt()?;
    /// let v = b.to_ndarray::<f32>().await?;
    /// assert_eq!(v.shape(), &[3]);
    /// assert!(a.to_ndarray::<f32>().await.is_err()); // a is uint8
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when `T` is not the array's dtype (before any call);
    /// as [`Array::fetch_bytes`].
    pub async fn to_ndarray<T: Element>(&self) -> Result<ArrayD<T>> {
        let v = self.to_vec::<T>().await?;
        ArrayD::from_shape_vec(IxDyn(self.shape()), v)
            .map_err(|e| Error::internal("to_ndarray", e.to_string()))
    }

    /// Fetches the array's elements in C order as a `Vec<T>`; `T` must be the array's
    /// dtype.
    ///
    /// # Errors
    ///
    /// As [`Array::to_ndarray`].
    pub async fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        self.expect_dtype::<T>("to_ndarray")?;
        let n = self.size();
        let total = self.nbytes();
        // Allocated when the first chunk arrives, so a failed op reports its error first.
        let mut buf: Option<Vec<T::Repr>> = None;
        let mut off = 0usize;
        self.fetch_with(|first, data| {
            if first.is_some() {
                buf = Some(if n == 0 {
                    Vec::new()
                } else {
                    bytemuck::try_zeroed_vec(n).map_err(|_| {
                        Error::exhausted("to_ndarray", format!("cannot allocate {total} bytes"))
                    })?
                });
            }
            let bytes: &mut [u8] = match buf.as_mut() {
                Some(b) => bytemuck::cast_slice_mut(b),
                None => return Err(Error::internal("fetch", "data before the meta")),
            };
            let end = off + data.len();
            if end > total {
                return Err(too_many(total));
            }
            bytes[off..end].copy_from_slice(&data);
            off = end;
            Ok(())
        })
        .await?;
        if off != total {
            return Err(too_few(total, off));
        }
        let buf = buf.ok_or_else(|| Error::internal("fetch", "the server sent no data"))?;
        Ok(T::vec_from_repr(buf))
    }

    /// Fetches the only element of a one-element array (NumPy's `a.item()`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when the array has more or fewer than one element; as
    /// [`Array::to_ndarray`].
    #[doc(alias = "ndarray.item")]
    pub async fn item<T: Element>(&self) -> Result<T> {
        self.expect_dtype::<T>("item")?;
        if self.size() != 1 {
            return Err(Error::invalid(
                "item",
                "a",
                "can only convert an array of size 1 to a Python scalar",
            ));
        }
        Ok(self.to_vec::<T>().await?[0])
    }

    fn expect_dtype<T: Element>(&self, op: &str) -> Result<()> {
        if T::DTYPE != self.dtype() {
            return Err(Error::invalid(
                op,
                "T",
                format!(
                    "the array's dtype is {}, not {} (convert with astype first)",
                    self.dtype(),
                    T::DTYPE
                ),
            ));
        }
        Ok(())
    }
}

fn too_many(total: usize) -> Error {
    Error::internal(
        "fetch",
        format!("the server sent more than the {total} bytes expected"),
    )
}

fn too_few(total: usize, got: usize) -> Error {
    Error::internal(
        "fetch",
        format!("the server sent {got} bytes, {total} expected"),
    )
}

/// The meta of a fetch's first chunk, checked against the one the client inferred.
fn checked_meta(wire: Option<&pb::ArrayMeta>, local: &Meta, handle: u64) -> Result<Meta> {
    let meta = wire
        .ok_or_else(|| Error::internal("fetch", "the first chunk carries no meta"))
        .and_then(Meta::from_wire)?;
    if &meta != local {
        return Err(Error::internal(
            "fetch",
            format!(
                "the server has {} {} for handle {}, the client expected {} {}",
                meta.dtype,
                ndserve_proto::shape::fmt_shape(&meta.shape),
                handle,
                local.dtype,
                ndserve_proto::shape::fmt_shape(&local.shape)
            ),
        ));
    }
    Ok(meta)
}

/// Starts a direct fetch from the worker a redirect names: its first chunk's data and the
/// rest of the stream, or `None` when the worker cannot be reached or refuses before any
/// data (the caller then fetches through the coordinator).
async fn open_direct(
    client: &Client,
    r: &pb::DirectFetch,
    chunk_bytes: u64,
    meta: &Meta,
) -> Option<(Bytes, tonic::Streaming<pb::WorkerGetChunk>)> {
    let mut worker = client.worker_client(&r.endpoint).await?;
    let req = pb::WorkerFetchRequest {
        array: r.array,
        ticket: r.ticket.clone(),
        chunk_bytes,
    };
    let mut stream = match worker.fetch(req).await {
        Ok(s) => s.into_inner(),
        Err(status) => {
            if status.code() == tonic::Code::Unavailable {
                client.worker_failed(&r.endpoint).await;
            }
            return None;
        }
    };
    let first = stream.message().await.ok()??;
    let same = first
        .meta
        .as_ref()
        .and_then(|m| Meta::from_wire(m).ok())
        .is_some_and(|m| &m == meta);
    same.then_some((first.data, stream))
}
