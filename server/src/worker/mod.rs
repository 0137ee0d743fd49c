//! Workers: the devices that hold arrays and run kernels.
//!
//! The coordinator reaches every worker through [`Worker`]; the in-process CPU worker
//! ([`LocalWorker`]) implements it directly, a remote worker implements it over the
//! internal gRPC service (`ndserve.v1.WorkerService`).

mod local;
pub mod process;
pub mod remote;
mod service;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use futures::stream::BoxStream;
use ndserve_proto::{Attrs, Error, Meta, Result, Scalar, pb};

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
    /// Stores an array from little-endian C-order bytes.
    async fn put(&self, id: u64, meta: Meta, data: Bytes) -> Result<()>;
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
        let (meta, data) =
            collect_chunks(&mut stream, |c| (c.meta.clone(), c.data.clone())).await?;
        self.put(id, meta, data).await
    }
}

/// Reads a stream of chunks whose first carries the array's meta into one buffer.
pub async fn collect_chunks<C, S>(
    stream: &mut S,
    mut parts: impl FnMut(&C) -> (Option<pb::ArrayMeta>, Bytes),
) -> Result<(Meta, Bytes)>
where
    S: futures::Stream<Item = std::result::Result<C, tonic::Status>> + Unpin,
{
    let mut meta = None;
    let mut buf = BytesMut::new();
    while let Some(c) = stream.next().await {
        let (m, data) = parts(&c.map_err(Error::from_call)?);
        if let Some(m) = m {
            let m = Meta::from_wire(&m)?;
            buf.reserve(m.nbytes() as usize);
            meta = Some(m);
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
