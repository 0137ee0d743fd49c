//! Workers: the devices that hold arrays and run kernels.
//!
//! The coordinator reaches every worker through [`Worker`]; the in-process CPU worker
//! ([`LocalWorker`]) implements it directly, a remote worker implements it over the
//! internal gRPC service (`ndserve.v1.WorkerService`).

mod local;

use bytes::Bytes;
use futures::stream::BoxStream;
use ndserve_proto::{Attrs, Meta, Result, Scalar};

pub use local::LocalWorker;

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
}
