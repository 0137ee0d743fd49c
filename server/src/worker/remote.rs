//! A worker in another process, reached over the internal gRPC service
//! (`ndserve.v1.WorkerService`). The coordinator holds one per joined worker; its device
//! usage is the one the worker's last heartbeat reported.

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use ndserve_proto::pb::worker_service_client::WorkerServiceClient;
use ndserve_proto::{Error, Meta, Result, pb};
use parking_lot::Mutex;
use std::sync::atomic::Ordering;
use tonic::transport::{Channel, Endpoint};

use super::{DeviceStatus, Worker, WorkerCall, WorkerInput};

/// A connection to a remote worker.
pub struct RemoteWorker {
    name: String,
    endpoint: String,
    client: WorkerServiceClient<Channel>,
    devices: Mutex<Vec<DeviceStatus>>,
    /// Bytes created (+) and freed (-) through this connection since the last heartbeat,
    /// so placement sees them at once.
    delta: std::sync::atomic::AtomicI64,
}

/// A lazily connecting channel with ndserve's HTTP/2 settings (1 MiB frames, 16/32 MiB
/// windows: `MEASURED.md`). HTTP/2 pings every 2 s, and a peer that does not answer one
/// in 5 s fails the calls in flight: a worker whose host vanishes (no TCP reset) must not
/// leave an op waiting for minutes.
pub fn channel(endpoint: &str) -> Result<Channel> {
    let ep = Endpoint::from_shared(endpoint.to_string())
        .map_err(|e| Error::invalid("join", "endpoint", format!("'{endpoint}': {e}")))?
        .connect_timeout(std::time::Duration::from_secs(5))
        .http2_keep_alive_interval(std::time::Duration::from_secs(2))
        .keep_alive_timeout(std::time::Duration::from_secs(5))
        .keep_alive_while_idle(true)
        .tcp_nodelay(true)
        .http2_adaptive_window(false)
        .initial_stream_window_size(Some(16 << 20))
        .initial_connection_window_size(Some(32 << 20))
        .http2_max_header_list_size(1 << 20);
    Ok(ep.connect_lazy())
}

/// A WorkerService client without message size limits.
pub fn worker_client(endpoint: &str) -> Result<WorkerServiceClient<Channel>> {
    Ok(WorkerServiceClient::new(channel(endpoint)?)
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX))
}

/// A device as the wire carries it, named `worker/device`.
pub fn device_from_wire(worker: &str, d: &pb::WorkerDevice) -> DeviceStatus {
    DeviceStatus {
        name: format!("{worker}/{}", d.name),
        kind: d.kind.clone(),
        live_arrays: d.live_arrays,
        live_bytes: d.live_bytes,
        memory_limit: d.memory_limit_bytes,
        description: d.description.clone(),
    }
}

/// A device on the wire, its name without the worker's.
pub fn device_to_wire(d: &DeviceStatus) -> pb::WorkerDevice {
    pb::WorkerDevice {
        name: d.name.rsplit('/').next().unwrap_or(&d.name).to_string(),
        kind: d.kind.clone(),
        memory_limit_bytes: d.memory_limit,
        description: d.description.clone(),
        live_arrays: d.live_arrays,
        live_bytes: d.live_bytes,
    }
}

/// A put's messages: `head` (the meta) first, then each chunk as it arrives, forwarded by
/// a task. A failed chunk ends the stream and is kept in `failed`.
fn put_messages(
    id: u64,
    head: pb::WorkerPutChunk,
    mut chunks: BoxStream<'static, Result<Bytes>>,
    failed: std::sync::Arc<Mutex<Option<Error>>>,
) -> tokio_stream::wrappers::ReceiverStream<pb::WorkerPutChunk> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        if tx.send(head).await.is_err() {
            return;
        }
        while let Some(c) = chunks.next().await {
            match c {
                Ok(data) => {
                    let msg = pb::WorkerPutChunk {
                        array: id,
                        meta: None,
                        device: String::new(),
                        data,
                    };
                    if tx.send(msg).await.is_err() {
                        return; // the put ended; its error is answered
                    }
                }
                Err(e) => {
                    *failed.lock() = Some(e);
                    return;
                }
            }
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

impl RemoteWorker {
    /// A worker reached at `endpoint`, with the devices it announced.
    pub fn new(name: &str, endpoint: &str, devices: &[pb::WorkerDevice]) -> Result<RemoteWorker> {
        Ok(RemoteWorker {
            name: name.to_string(),
            endpoint: endpoint.to_string(),
            client: worker_client(endpoint)?,
            devices: Mutex::new(devices.iter().map(|d| device_from_wire(name, d)).collect()),
            delta: Default::default(),
        })
    }

    /// Records the usage a heartbeat reported.
    pub fn update_devices(&self, devices: &[pb::WorkerDevice]) {
        let mut d = self.devices.lock();
        *d = devices
            .iter()
            .map(|d| device_from_wire(&self.name, d))
            .collect();
        self.delta.store(0, Ordering::Relaxed);
    }

    fn account(&self, bytes: i64) {
        self.delta.fetch_add(bytes, Ordering::Relaxed);
    }

    fn unavailable(&self, what: &str, e: Error) -> Error {
        match e {
            Error::Unavailable { message } => Error::Unavailable {
                message: format!(
                    "worker {} ({}): {what}: {message}",
                    self.name, self.endpoint
                ),
            },
            e => e,
        }
    }
}

/// Splits `data` into chunks of at most `chunk` bytes without copying (none for no data).
pub fn chunks(data: Bytes, chunk: usize) -> impl Iterator<Item = Bytes> {
    let chunk = chunk.max(1);
    let n = data.len().div_ceil(chunk);
    (0..n).map(move |i| data.slice((i * chunk).min(data.len())..((i + 1) * chunk).min(data.len())))
}

#[tonic::async_trait]
impl Worker for RemoteWorker {
    fn name(&self) -> &str {
        &self.name
    }

    fn endpoint(&self) -> Option<&str> {
        Some(&self.endpoint)
    }

    fn devices(&self) -> Vec<DeviceStatus> {
        let mut d = self.devices.lock().clone();
        if let Some(first) = d.first_mut() {
            let delta = self.delta.load(Ordering::Relaxed);
            first.live_bytes = first.live_bytes.saturating_add_signed(delta);
        }
        d
    }

    async fn run_op(&self, call: WorkerCall) -> Result<Vec<Meta>> {
        let req = pb::WorkerOp {
            op: call.op.clone(),
            inputs: call
                .inputs
                .iter()
                .map(|i| pb::WorkerOperand {
                    kind: Some(match i {
                        WorkerInput::Array(id) => pb::worker_operand::Kind::Array(*id),
                        WorkerInput::Scalar(s) => pb::worker_operand::Kind::Scalar(s.to_wire()),
                    }),
                })
                .collect(),
            outputs: call.outputs.clone(),
            output_metas: call.output_metas.iter().map(Meta::to_wire).collect(),
            attrs: call.attrs.to_wire(),
            device: call.device.clone(),
        };
        let resp = self
            .client
            .clone()
            .run_op(req)
            .await
            .map_err(|s| self.unavailable(&call.op, Error::from_call(s)))?;
        let metas: Vec<Meta> = resp
            .into_inner()
            .outputs
            .iter()
            .map(Meta::from_wire)
            .collect::<Result<_>>()?;
        self.account(metas.iter().map(|m| m.nbytes() as i64).sum());
        Ok(metas)
    }

    async fn put(&self, id: u64, meta: Meta, data: Bytes, device: &str) -> Result<()> {
        // Whole bytes go through the same put protocol as an upload's chunks.
        let parts: Vec<Result<Bytes>> = chunks(data, ndserve_proto::CHUNK_BYTES).map(Ok).collect();
        self.put_chunks(id, meta, futures::stream::iter(parts).boxed(), device)
            .await
    }

    async fn put_chunks(
        &self,
        id: u64,
        meta: Meta,
        chunks: BoxStream<'static, Result<Bytes>>,
        device: &str,
    ) -> Result<()> {
        let bytes = meta.nbytes() as i64;
        // The first message carries the meta (even of an array with no bytes); each chunk
        // follows as it arrives, so the coordinator never holds the whole array. A failed
        // chunk ends the stream early (the worker then refuses the short array) and is
        // the error answered.
        let failed: std::sync::Arc<Mutex<Option<Error>>> = Default::default();
        let seen = failed.clone();
        let head = pb::WorkerPutChunk {
            array: id,
            meta: Some(meta.to_wire()),
            device: device.to_string(),
            data: Bytes::new(),
        };
        let msgs = put_messages(id, head, chunks, seen);
        let sent = self.client.clone().put(msgs).await;
        if let Some(e) = failed.lock().take() {
            return Err(e);
        }
        sent.map_err(|s| self.unavailable("put", Error::from_call(s)))?;
        self.account(bytes);
        Ok(())
    }

    async fn get(
        &self,
        id: u64,
        chunk_bytes: usize,
    ) -> Result<(Meta, BoxStream<'static, Result<Bytes>>)> {
        let mut stream = self
            .client
            .clone()
            .get(pb::WorkerGetRequest {
                array: id,
                chunk_bytes: chunk_bytes as u64,
            })
            .await
            .map_err(|s| self.unavailable("get", Error::from_call(s)))?
            .into_inner();
        let first = stream
            .message()
            .await
            .map_err(|s| self.unavailable("get", Error::from_call(s)))?
            .ok_or_else(|| Error::Unavailable {
                message: format!("worker {}: get of array {id} ended early", self.name),
            })?;
        let meta = Meta::from_wire(first.meta.as_ref().ok_or_else(|| {
            Error::internal("get", format!("worker {} sent no meta", self.name))
        })?)?;
        let head = futures::stream::iter([Ok(first.data)]);
        let rest = stream.map(|c| c.map(|c| c.data).map_err(Error::from_call));
        Ok((meta, head.chain(rest).boxed()))
    }

    async fn free(&self, ids: &[u64]) -> u64 {
        let req = pb::WorkerFreeRequest {
            arrays: ids.to_vec(),
        };
        match self.client.clone().free(req).await {
            Ok(r) => {
                let freed = r.into_inner().freed_bytes;
                self.account(-(freed as i64));
                freed
            }
            Err(s) => {
                tracing::warn!(worker = %self.name, error = %s, "free failed");
                0
            }
        }
    }

    async fn grant(&self, array: u64, ticket: Bytes, ttl: std::time::Duration) -> Result<()> {
        self.client
            .clone()
            .grant(pb::WorkerGrantRequest {
                array,
                ticket,
                ttl_ms: ttl.as_millis() as u64,
            })
            .await
            .map_err(|s| self.unavailable("fetch", Error::from_call(s)))?;
        Ok(())
    }

    async fn pull(&self, id: u64, source: &str, source_id: u64) -> Result<()> {
        self.client
            .clone()
            .pull(pb::WorkerPullRequest {
                array: id,
                source: source.to_string(),
                source_array: source_id,
            })
            .await
            .map_err(|s| self.unavailable("pull", Error::from_call(s)))?;
        Ok(())
    }
}
