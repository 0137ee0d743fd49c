//! The internal gRPC service of a worker process: the coordinator's calls on the
//! [`Worker`] trait, carried over `ndserve.v1.WorkerService`.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use ndserve_proto::pb::worker_service_server::WorkerService;
use ndserve_proto::{Attrs, Error, Meta, Scalar, pb};
use parking_lot::Mutex;
use tonic::{Request, Response, Status, Streaming};

use super::{Worker, WorkerCall, WorkerInput, remote};

/// Serves a worker (in practice a [`super::LocalWorker`]) to the coordinator, and direct
/// fetches to clients that hold a ticket the coordinator granted.
pub struct WorkerServer {
    worker: Arc<dyn Worker>,
    /// Tickets of direct fetches: ticket -> (array, valid until).
    tickets: Mutex<HashMap<bytes::Bytes, (u64, Instant)>>,
}

/// The most tickets outstanding at once; a Grant beyond it is refused.
const MAX_TICKETS: usize = 4096;

impl WorkerServer {
    /// A service over `worker`.
    pub fn new(worker: Arc<dyn Worker>) -> WorkerServer {
        WorkerServer {
            worker,
            tickets: Mutex::new(HashMap::new()),
        }
    }

    /// An array's chunks as `WorkerGetChunk`s, the first carrying its meta.
    async fn stream_array(
        &self,
        array: u64,
        chunk_bytes: u64,
    ) -> Result<BoxStream<pb::WorkerGetChunk>, Status> {
        let chunk = match chunk_bytes {
            0 => ndserve_proto::CHUNK_BYTES,
            n => (n as usize).clamp(4 << 10, 16 << 20),
        };
        let (meta, chunks) = self.worker.get(array, chunk).await?;
        let mut first = Some(meta.to_wire());
        // The meta travels even for an array with no bytes.
        let head: Vec<Result<pb::WorkerGetChunk, Status>> = if meta.numel() == 0 {
            vec![Ok(pb::WorkerGetChunk {
                meta: first.take(),
                data: Default::default(),
            })]
        } else {
            vec![]
        };
        let head = futures::stream::iter(head);
        let body = chunks.map(move |c| {
            c.map(|data| pb::WorkerGetChunk {
                meta: first.take(),
                data,
            })
            .map_err(Status::from)
        });
        Ok(Box::pin(head.chain(body)))
    }
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

fn call_from_wire(op: pb::WorkerOp) -> Result<WorkerCall, Error> {
    let inputs = op
        .inputs
        .iter()
        .map(|i| match &i.kind {
            Some(pb::worker_operand::Kind::Array(id)) => Ok(WorkerInput::Array(*id)),
            Some(pb::worker_operand::Kind::Scalar(s)) => {
                Ok(WorkerInput::Scalar(Scalar::from_wire(s)?))
            }
            None => Err(Error::invalid(&op.op, "inputs", "empty operand")),
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(WorkerCall {
        inputs,
        outputs: op.outputs,
        output_metas: op
            .output_metas
            .iter()
            .map(Meta::from_wire)
            .collect::<Result<_, _>>()?,
        attrs: Attrs::from_wire(&op.attrs)?,
        device: op.device,
        op: op.op,
    })
}

#[tonic::async_trait]
impl WorkerService for WorkerServer {
    async fn run_op(
        &self,
        req: Request<pb::WorkerOp>,
    ) -> Result<Response<pb::WorkerOpResult>, Status> {
        let call = call_from_wire(req.into_inner())?;
        let metas = self.worker.run_op(call).await?;
        Ok(Response::new(pb::WorkerOpResult {
            outputs: metas.iter().map(Meta::to_wire).collect(),
        }))
    }

    async fn put(
        &self,
        req: Request<Streaming<pb::WorkerPutChunk>>,
    ) -> Result<Response<pb::WorkerPutResult>, Status> {
        let mut stream = req.into_inner();
        let first = stream
            .message()
            .await?
            .ok_or_else(|| Error::invalid("put", "array", "empty put stream"))?;
        let meta = Meta::from_wire(first.meta.as_ref().ok_or_else(|| {
            Error::invalid(
                "put",
                "meta",
                "the first message must carry the array's meta",
            )
        })?)?;
        super::within_limit(&meta, super::memory_limit(self.worker.devices()))?;
        let (id, device) = (first.array, first.device.clone());
        // The chunks go on as they arrive (a GPU copies each on), not gathered here first.
        let chunks = super::data_stream(first.data, stream, |c: pb::WorkerPutChunk| {
            if c.meta.is_some() {
                return Err(Error::invalid("put", "meta", "the meta came twice"));
            }
            Ok(c.data)
        });
        self.worker.put_chunks(id, meta, chunks, &device).await?;
        Ok(Response::new(pb::WorkerPutResult {}))
    }

    type GetStream = BoxStream<pb::WorkerGetChunk>;

    async fn get(
        &self,
        req: Request<pb::WorkerGetRequest>,
    ) -> Result<Response<Self::GetStream>, Status> {
        let r = req.into_inner();
        Ok(Response::new(
            self.stream_array(r.array, r.chunk_bytes).await?,
        ))
    }

    async fn grant(
        &self,
        req: Request<pb::WorkerGrantRequest>,
    ) -> Result<Response<pb::WorkerGrantResult>, Status> {
        let r = req.into_inner();
        if r.ticket.len() < 16 {
            return Err(Error::invalid("grant", "ticket", "a ticket has at least 16 bytes").into());
        }
        let now = Instant::now();
        let ttl = Duration::from_millis(r.ttl_ms.min(60_000));
        let mut tickets = self.tickets.lock();
        tickets.retain(|_, (_, until)| *until > now);
        if tickets.len() >= MAX_TICKETS {
            return Err(Error::exhausted(
                "grant",
                format!("{MAX_TICKETS} direct fetches are already outstanding"),
            )
            .into());
        }
        tickets.insert(r.ticket, (r.array, now + ttl));
        Ok(Response::new(pb::WorkerGrantResult {}))
    }

    type FetchStream = BoxStream<pb::WorkerGetChunk>;

    async fn fetch(
        &self,
        req: Request<pb::WorkerFetchRequest>,
    ) -> Result<Response<Self::FetchStream>, Status> {
        let r = req.into_inner();
        // A ticket admits one fetch of one array, before it expires.
        let admitted = self
            .tickets
            .lock()
            .remove(&r.ticket)
            .is_some_and(|(array, until)| array == r.array && until > Instant::now());
        if !admitted {
            return Err(Error::NotFound {
                what: format!("a ticket for array {}", r.array),
                message: "a direct fetch needs a ticket from the coordinator; this one is unknown, used or expired".into(),
            }
            .into());
        }
        Ok(Response::new(
            self.stream_array(r.array, r.chunk_bytes).await?,
        ))
    }

    async fn free(
        &self,
        req: Request<pb::WorkerFreeRequest>,
    ) -> Result<Response<pb::WorkerFreeResult>, Status> {
        let freed_bytes = self.worker.free(&req.into_inner().arrays).await;
        Ok(Response::new(pb::WorkerFreeResult { freed_bytes }))
    }

    async fn status(
        &self,
        _req: Request<pb::WorkerStatusRequest>,
    ) -> Result<Response<pb::WorkerStatus>, Status> {
        Ok(Response::new(pb::WorkerStatus {
            name: self.worker.name().to_string(),
            devices: self
                .worker
                .devices()
                .iter()
                .map(remote::device_to_wire)
                .collect(),
        }))
    }

    async fn pull(
        &self,
        req: Request<pb::WorkerPullRequest>,
    ) -> Result<Response<pb::WorkerPutResult>, Status> {
        let r = req.into_inner();
        self.worker.pull(r.array, &r.source, r.source_array).await?;
        Ok(Response::new(pb::WorkerPutResult {}))
    }
}
