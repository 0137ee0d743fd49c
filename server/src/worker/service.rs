//! The internal gRPC service of a worker process: the coordinator's calls on the
//! [`Worker`] trait, carried over `ndserve.v1.WorkerService`.

use std::pin::Pin;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use ndserve_proto::pb::worker_service_server::WorkerService;
use ndserve_proto::{Attrs, Error, Meta, Scalar, pb};
use tonic::{Request, Response, Status, Streaming};

use super::{Worker, WorkerCall, WorkerInput, collect_chunks, remote};

/// Serves a worker (in practice a [`super::LocalWorker`]) to the coordinator.
pub struct WorkerServer {
    worker: Arc<dyn Worker>,
}

impl WorkerServer {
    /// A service over `worker`.
    pub fn new(worker: Arc<dyn Worker>) -> WorkerServer {
        WorkerServer { worker }
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
        let mut id = None;
        let limit = super::memory_limit(self.worker.devices());
        let (meta, data) = collect_chunks(&mut stream, limit, |c: &pb::WorkerPutChunk| {
            id.get_or_insert(c.array);
            (c.meta.clone(), c.data.clone())
        })
        .await?;
        let id = id.ok_or_else(|| Error::invalid("put", "array", "empty put stream"))?;
        self.worker.put(id, meta, data).await?;
        Ok(Response::new(pb::WorkerPutResult {}))
    }

    type GetStream = BoxStream<pb::WorkerGetChunk>;

    async fn get(
        &self,
        req: Request<pb::WorkerGetRequest>,
    ) -> Result<Response<Self::GetStream>, Status> {
        let r = req.into_inner();
        let chunk = match r.chunk_bytes {
            0 => ndserve_proto::CHUNK_BYTES,
            n => (n as usize).clamp(4 << 10, 16 << 20),
        };
        let (meta, chunks) = self.worker.get(r.array, chunk).await?;
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
        Ok(Response::new(Box::pin(head.chain(body))))
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
