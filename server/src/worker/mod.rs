//! Workers: the devices that hold arrays and run kernels.
//!
//! The coordinator reaches every worker through [`Worker`]; the in-process CPU worker
//! ([`LocalWorker`]) implements it directly, a remote worker implements it over the
//! internal gRPC service (`ndserve.v1.WorkerService`).

#[cfg(feature = "cuda")]
mod gpu;
#[cfg(feature = "cuda")]
pub mod gpu_bench;
mod local;
pub mod process;
pub mod remote;
mod service;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use futures::stream::BoxStream;
use ndserve_proto::{Attrs, Error, Meta, Result, Scalar, pb};

use crate::backend::cpu::array::HostArray;

pub use local::LocalWorker;
pub use remote::RemoteWorker;
pub use service::WorkerServer;

/// One input of a worker op.
#[derive(Clone, Debug)]
pub enum WorkerInput {
    /// A worker-resident array.
    Array(u64),
    /// A Python scalar.
    Scalar(Scalar),
}

/// One op for a worker: inputs resident on it, outputs to create with the metas `infer`
/// gave.
#[derive(Clone, Debug)]
pub struct WorkerCall {
    /// Op name.
    pub op: String,
    /// Inputs.
    pub inputs: Vec<WorkerInput>,
    /// Worker-side ids of the outputs.
    pub outputs: Vec<u64>,
    /// The outputs' metas.
    pub output_metas: Vec<Meta>,
    /// Attributes.
    pub attrs: Attrs,
    /// The worker's device to run on (`cuda:0`, `cpu:0`); empty: where the inputs live.
    pub device: String,
}

/// A device as the coordinator reports it.
#[derive(Clone, Debug)]
pub struct DeviceStatus {
    /// `worker/cpu:0`.
    pub name: String,
    /// `cpu` or `cuda`.
    pub kind: String,
    /// Live arrays.
    pub live_arrays: u64,
    /// Live bytes.
    pub live_bytes: u64,
    /// Memory limit.
    pub memory_limit: u64,
    /// Human description (cores, model).
    pub description: String,
}

/// The coordinator's interface to a worker.
#[tonic::async_trait]
pub trait Worker: Send + Sync + 'static {
    /// The worker's name.
    fn name(&self) -> &str;
    /// Its devices with their live arrays and bytes.
    fn devices(&self) -> Vec<DeviceStatus>;
    /// Runs one op; returns the metas of the outputs it created.
    async fn run_op(&self, call: WorkerCall) -> Result<Vec<Meta>>;
    /// Stores an array from little-endian C-order bytes on `device` (empty: the first).
    async fn put(&self, id: u64, meta: Meta, data: Bytes, device: &str) -> Result<()>;
    /// Stores an array whose bytes arrive as chunks (an upload) on `device`. By default
    /// the chunks are gathered into one buffer for [`Worker::put`]; a worker that can
    /// place each chunk as it arrives (a GPU copying it on) overrides this.
    async fn put_chunks(
        &self,
        id: u64,
        meta: Meta,
        chunks: BoxStream<'static, Result<Bytes>>,
        device: &str,
    ) -> Result<()> {
        let data = gather_chunks("upload", &meta, chunks).await?;
        self.put(id, meta, data, device).await
    }
    /// The device holding array `id` (`worker/cuda:0`), where the worker can tell.
    fn device_of(&self, id: u64) -> Option<String> {
        let _ = id;
        None
    }
    /// Reads an array as chunks of little-endian C-order bytes.
    async fn get(
        &self,
        id: u64,
        chunk_bytes: usize,
    ) -> Result<(Meta, BoxStream<'static, Result<Bytes>>)>;
    /// Frees arrays; returns the bytes freed. Unknown ids are ignored.
    async fn free(&self, ids: &[u64]) -> u64;
    /// Where other processes reach this worker's `WorkerService` (`None` in-process).
    fn endpoint(&self) -> Option<&str> {
        None
    }
    /// Admits one direct fetch of `array` by whoever presents `ticket` within `ttl`, at
    /// [`Worker::endpoint`]'s `WorkerService.Fetch`. Only workers with an endpoint can.
    async fn grant(&self, array: u64, ticket: Bytes, ttl: std::time::Duration) -> Result<()> {
        let _ = (array, ticket, ttl);
        Err(Error::internal(
            "fetch",
            format!("worker {} has no endpoint for direct fetches", self.name()),
        ))
    }
    /// Copies array `source_id` of the worker at `source` (its endpoint) in as `id`,
    /// streamed from that worker directly.
    async fn pull(&self, id: u64, source: &str, source_id: u64) -> Result<()> {
        let mut client = remote::worker_client(source)?;
        let mut stream = client
            .get(pb::WorkerGetRequest {
                array: source_id,
                chunk_bytes: 0,
            })
            .await
            .map_err(Error::from_call)?
            .into_inner();
        let limit = memory_limit(self.devices());
        let (meta, data) =
            collect_chunks(&mut stream, limit, |c| (c.meta.clone(), c.data.clone())).await?;
        self.put(id, meta, data, "").await
    }
}

/// The bytes of an array of `meta` (an upload, or an inline fetch), gathered from its
/// chunks: no more than the array holds (checked as they come) and no fewer; errors
/// name `op`. Data in one chunk (up to [`ndserve_proto::CHUNK_BYTES`]) is that chunk's
/// buffer, not a copy of it.
pub async fn gather_chunks(
    op: &str,
    meta: &Meta,
    mut chunks: BoxStream<'static, Result<Bytes>>,
) -> Result<Bytes> {
    let want = meta.nbytes() as usize;
    let mut first: Option<Bytes> = None;
    let mut buf = BytesMut::new();
    let mut got = 0usize;
    while let Some(c) = chunks.next().await {
        let c = c?;
        got = counted(op, meta, got, c.len())?;
        if c.is_empty() {
            continue;
        }
        match first.take() {
            None if buf.is_empty() => first = Some(c),
            earlier => {
                if buf.is_empty() {
                    buf.reserve(want);
                }
                if let Some(e) = earlier {
                    buf.extend_from_slice(&e);
                }
                buf.extend_from_slice(&c);
            }
        }
    }
    all_counted(op, meta, got)?;
    Ok(first.unwrap_or_else(|| buf.freeze()))
}

/// A host array of `meta` built from its chunks as they come: each byte is copied once,
/// into the array's own buffer (where [`gather_chunks`] and
/// [`HostArray::from_le_bytes`] would copy twice). The byte count is checked as there.
pub async fn host_array_from_chunks(
    op: &str,
    meta: &Meta,
    mut chunks: BoxStream<'static, Result<Bytes>>,
) -> Result<HostArray> {
    let mut fill = HostArray::le_fill(meta);
    while let Some(c) = chunks.next().await {
        if !fill.push(&c?) {
            return Err(too_many_bytes(op, meta));
        }
    }
    all_counted(op, meta, fill.filled())?;
    fill.finish(&meta.shape)
        .ok_or_else(|| Error::internal(op, "the array's bytes did not make its shape"))
}

/// `got` bytes of an array of `meta` so far plus `len` more: the new count, unless it
/// exceeds the array.
fn counted(op: &str, meta: &Meta, got: usize, len: usize) -> Result<usize> {
    match got.checked_add(len) {
        Some(n) if n as u64 <= meta.nbytes() => Ok(n),
        _ => Err(too_many_bytes(op, meta)),
    }
}

/// Fails unless `got` bytes are all of an array of `meta`.
fn all_counted(op: &str, meta: &Meta, got: usize) -> Result<()> {
    if got as u64 != meta.nbytes() {
        return Err(Error::invalid(
            op,
            "data",
            format!("{got} bytes for an array of {} bytes", meta.nbytes()),
        ));
    }
    Ok(())
}

/// The data of a gRPC stream of chunks as a stream of bytes, `first` (the first
/// message's data) first; `data` takes each later message's data or refuses the message.
/// The stream ends at the first error.
pub fn data_stream<M: Send + 'static>(
    first: Bytes,
    rest: tonic::Streaming<M>,
    data: fn(M) -> Result<Bytes>,
) -> BoxStream<'static, Result<Bytes>> {
    let later = futures::stream::unfold(Some(rest), move |s| async move {
        let mut s = s?;
        match s.message().await {
            Ok(Some(m)) => match data(m) {
                Ok(d) => Some((Ok(d), Some(s))),
                Err(e) => Some((Err(e), None)),
            },
            Ok(None) => None,
            Err(status) => Some((Err(Error::from_call(status)), None)),
        }
    });
    futures::stream::once(async move { Ok(first) })
        .chain(later)
        .boxed()
}

/// Data (of an upload, for `op`) of more bytes than its array holds.
pub fn too_many_bytes(op: &str, meta: &Meta) -> Error {
    Error::invalid(
        op,
        "data",
        format!(
            "more than the {} bytes that shape {} of {} needs",
            meta.nbytes(),
            ndserve_proto::shape::fmt_shape(&meta.shape),
            meta.dtype
        ),
    )
}

/// RESOURCE_EXHAUSTED for an array larger than a worker's `limit` (see
/// [`memory_limit`]): no device of the worker could hold it.
pub fn within_limit(meta: &Meta, limit: u64) -> Result<()> {
    if meta.nbytes() > limit {
        return Err(Error::exhausted(
            "put",
            format!(
                "an array of {} bytes exceeds the worker's memory limit of {limit} bytes",
                meta.nbytes()
            ),
        ));
    }
    Ok(())
}

/// The largest memory limit of a worker's devices: no array it can hold is larger.
pub fn memory_limit(devices: Vec<DeviceStatus>) -> u64 {
    devices.iter().map(|d| d.memory_limit).max().unwrap_or(0)
}

/// Reads a stream of chunks whose first carries the array's meta into one buffer. The
/// sender is not trusted: a declared size above `limit` is RESOURCE_EXHAUSTED before
/// anything is allocated, and data beyond the declared size, or before any meta, is
/// refused as it arrives.
pub async fn collect_chunks<C, S>(
    stream: &mut S,
    limit: u64,
    mut parts: impl FnMut(&C) -> (Option<pb::ArrayMeta>, Bytes),
) -> Result<(Meta, Bytes)>
where
    S: futures::Stream<Item = std::result::Result<C, tonic::Status>> + Unpin,
{
    let mut meta: Option<Meta> = None;
    let mut buf = BytesMut::new();
    while let Some(c) = stream.next().await {
        let (m, data) = parts(&c.map_err(Error::from_call)?);
        if let Some(m) = m {
            if meta.is_some() {
                return Err(Error::invalid("put", "meta", "the meta came twice"));
            }
            let m = Meta::from_wire(&m)?;
            within_limit(&m, limit)?;
            buf.reserve(m.nbytes() as usize);
            meta = Some(m);
        }
        let Some(m) = &meta else {
            return Err(Error::invalid(
                "put",
                "meta",
                "data came before the array's meta",
            ));
        };
        if (buf.len() + data.len()) as u64 > m.nbytes() {
            return Err(Error::invalid(
                "put",
                "data",
                format!("more bytes than the {} of the declared array", m.nbytes()),
            ));
        }
        buf.extend_from_slice(&data);
    }
    let meta =
        meta.ok_or_else(|| Error::invalid("put", "meta", "no chunk carried the array's meta"))?;
    if buf.len() as u64 != meta.nbytes() {
        return Err(Error::invalid(
            "put",
            "data",
            format!(
                "{} bytes for an array of {} bytes",
                buf.len(),
                meta.nbytes()
            ),
        ));
    }
    Ok((meta, buf.freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndserve_proto::DType;

    fn chunk(
        meta: Option<Meta>,
        data: &[u8],
    ) -> std::result::Result<pb::WorkerPutChunk, tonic::Status> {
        Ok(pb::WorkerPutChunk {
            array: 1,
            meta: meta.map(|m| m.to_wire()),
            device: String::new(),
            data: Bytes::copy_from_slice(data),
        })
    }

    async fn collect(
        chunks: Vec<std::result::Result<pb::WorkerPutChunk, tonic::Status>>,
        limit: u64,
    ) -> Result<(Meta, Bytes)> {
        let mut s = futures::stream::iter(chunks);
        collect_chunks(&mut s, limit, |c: &pb::WorkerPutChunk| {
            (c.meta.clone(), c.data.clone())
        })
        .await
    }

    /// `bytes` cut after each of `cuts` bytes (the rest last), as a chunk stream.
    fn cut(bytes: &[u8], cuts: &[usize]) -> BoxStream<'static, Result<Bytes>> {
        let mut parts = Vec::new();
        let mut rest = Bytes::copy_from_slice(bytes);
        for &n in cuts {
            parts.push(Ok(rest.split_to(n.min(rest.len()))));
        }
        parts.push(Ok(rest));
        futures::stream::iter(parts).boxed()
    }

    #[tokio::test]
    async fn host_arrays_build_from_chunks_cut_anywhere() {
        let values = [1.5f32, -2.0, 3.25, 0.0, 1e30, f32::NAN];
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let m = Meta::new(DType::Float32, vec![2, 3]);
        // Cuts inside elements, an empty chunk, one chunk holding everything.
        for cuts in [&[3usize, 0, 7, 10][..], &[], &[24]] {
            let a = host_array_from_chunks("upload", &m, cut(&bytes, cuts))
                .await
                .unwrap();
            assert_eq!(a.meta(), m);
            assert_eq!(a.to_le_bytes().as_ref(), &bytes[..], "cuts {cuts:?}");
        }
        let b = Meta::new(DType::Bool, vec![4]);
        let a = host_array_from_chunks("upload", &b, cut(&[0, 1, 2, 0], &[1]))
            .await
            .unwrap();
        assert_eq!(a.to_le_bytes().as_ref(), &[0, 1, 1, 0]);
        let empty = Meta::new(DType::Int64, vec![0, 3]);
        let a = host_array_from_chunks("upload", &empty, cut(&[], &[]))
            .await
            .unwrap();
        assert_eq!(a.meta(), empty);
        let scalar = Meta::new(DType::Float64, vec![]);
        let a = host_array_from_chunks("upload", &scalar, cut(&2.5f64.to_le_bytes(), &[5]))
            .await
            .unwrap();
        assert_eq!(a.to_le_bytes().as_ref(), &2.5f64.to_le_bytes());
        // One byte too many (in the last chunk or the first), one too few.
        let long = [bytes.clone(), vec![0]].concat();
        for (data, cuts) in [
            (&long[..], &[20usize][..]),
            (&long[..], &[]),
            (&bytes[..23], &[4]),
        ] {
            let e = host_array_from_chunks("upload", &m, cut(data, cuts))
                .await
                .unwrap_err();
            assert_eq!(e.code(), ndserve_proto::ErrorCode::InvalidArgument);
            assert_eq!(e.op(), Some("upload"));
        }
    }

    #[tokio::test]
    async fn put_streams_are_not_trusted() {
        let m = Meta::new(DType::UInt8, vec![4]);
        let ok = collect(
            vec![chunk(Some(m.clone()), &[1, 2]), chunk(None, &[3, 4])],
            100,
        )
        .await;
        assert_eq!(ok.unwrap().1.as_ref(), &[1, 2, 3, 4]);
        // A declared size above the limit is refused before any allocation.
        let huge = Meta::new(DType::Float64, vec![1 << 40]);
        let e = collect(vec![chunk(Some(huge), &[])], 1 << 30)
            .await
            .unwrap_err();
        assert_eq!(e.code(), ndserve_proto::ErrorCode::ResourceExhausted);
        // More data than declared, data before the meta, a second meta, too little data.
        let bad = [
            vec![chunk(Some(m.clone()), &[1, 2, 3]), chunk(None, &[4, 5])],
            vec![chunk(None, &[1]), chunk(Some(m.clone()), &[2, 3, 4])],
            vec![chunk(Some(m.clone()), &[1]), chunk(Some(m.clone()), &[2])],
            vec![chunk(Some(m), &[1])],
        ];
        for (i, chunks) in bad.into_iter().enumerate() {
            let e = collect(chunks, 100).await.unwrap_err();
            assert_eq!(
                e.code(),
                ndserve_proto::ErrorCode::InvalidArgument,
                "stream {i}"
            );
        }
    }
}
