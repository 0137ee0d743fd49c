//! The public gRPC service (`ndserve.v1.ArrayService`) over the coordinator.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use ndserve_proto::pb::array_service_server::ArrayService;
use ndserve_proto::{Error, Meta, pb};
use tonic::{Request, Response, Status, Streaming};
use tracing::Instrument as _;

use crate::coordinator::{Coordinator, Fetched, LayoutKind, Session, SlotState, check_parts};

/// The service.
#[derive(Clone)]
pub struct Service {
    coord: Arc<Coordinator>,
}

impl Service {
    /// A service over a coordinator.
    pub fn new(coord: Arc<Coordinator>) -> Service {
        Service { coord }
    }

    /// The session `id`, recorded in the RPC's span.
    fn session(&self, id: &str) -> Result<Arc<Session>, Error> {
        tracing::Span::current().record("session", id);
        self.coord.session(id)
    }

    fn device_infos(&self) -> Vec<pb::DeviceInfo> {
        self.coord
            .devices()
            .into_iter()
            .map(|e| pb::DeviceInfo {
                name: e.status.name,
                kind: e.status.kind,
                worker: e.worker_name,
                state: e.state.into(),
                live_arrays: e.status.live_arrays,
                live_bytes: e.status.live_bytes,
                memory_limit_bytes: e.status.memory_limit,
                description: e.status.description,
            })
            .collect()
    }
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

fn chunk_size(requested: u64) -> usize {
    match requested {
        0 => ndserve_proto::CHUNK_BYTES,
        n => (n as usize).clamp(4 << 10, 16 << 20),
    }
}

#[tonic::async_trait]
impl ArrayService for Service {
    async fn get_server_info(
        &self,
        _: Request<pb::GetServerInfoRequest>,
    ) -> Result<Response<pb::ServerInfo>, Status> {
        Ok(Response::new(pb::ServerInfo {
            server_version: ndserve_proto::VERSION.into(),
            protocol_major: ndserve_proto::PROTOCOL_MAJOR,
            protocol_minor: ndserve_proto::PROTOCOL_MINOR,
            devices: self.device_infos(),
            memory_limit_bytes: self.coord.config().memory_limit,
        }))
    }

    async fn open_session(
        &self,
        req: Request<pb::OpenSessionRequest>,
    ) -> Result<Response<pb::OpenSessionResponse>, Status> {
        let r = req.into_inner();
        if r.protocol_major != ndserve_proto::PROTOCOL_MAJOR {
            return Err(Error::FailedPrecondition {
                message: format!(
                    "client {} speaks protocol {}.{}, this server (ndserve {}) speaks {}.{}",
                    if r.client_version.is_empty() {
                        "?"
                    } else {
                        &r.client_version
                    },
                    r.protocol_major,
                    r.protocol_minor,
                    ndserve_proto::VERSION,
                    ndserve_proto::PROTOCOL_MAJOR,
                    ndserve_proto::PROTOCOL_MINOR
                ),
            }
            .into());
        }
        let lease = (r.lease_ms > 0).then(|| Duration::from_millis(r.lease_ms));
        let s = self.coord.open_session(lease);
        Ok(Response::new(pb::OpenSessionResponse {
            session_id: s.id.clone(),
            lease_ms: s.lease.as_millis() as u64,
            server_version: ndserve_proto::VERSION.into(),
            protocol_minor: ndserve_proto::PROTOCOL_MINOR,
        }))
    }

    async fn close_session(
        &self,
        req: Request<pb::CloseSessionRequest>,
    ) -> Result<Response<pb::CloseSessionResponse>, Status> {
        let (arrays, bytes) = self
            .coord
            .close_session(&req.into_inner().session_id)
            .await?;
        Ok(Response::new(pb::CloseSessionResponse {
            freed_arrays: arrays,
            freed_bytes: bytes,
        }))
    }

    async fn keep_alive(
        &self,
        req: Request<pb::KeepAliveRequest>,
    ) -> Result<Response<pb::KeepAliveResponse>, Status> {
        let s = self.session(&req.into_inner().session_id)?;
        Ok(Response::new(pb::KeepAliveResponse {
            lease_ms: s.lease.as_millis() as u64,
        }))
    }

    async fn upload(
        &self,
        req: Request<Streaming<pb::UploadChunk>>,
    ) -> Result<Response<pb::UploadResponse>, Status> {
        let mut stream = req.into_inner();
        let first = stream
            .message()
            .await?
            .ok_or_else(|| Error::invalid("upload", "header", "empty upload stream"))?;
        let header = first.header.ok_or_else(|| {
            Error::invalid("upload", "header", "the first chunk must carry the header")
        })?;
        let session = self.session(&header.session_id)?;
        let meta = Meta::from_wire(header.meta.as_ref().ok_or_else(|| {
            Error::invalid(
                "upload",
                "meta",
                "the header must carry the array's dtype and shape",
            )
        })?)?;
        self.coord.check_upload_size(&meta)?;
        let want = meta.nbytes() as usize;
        let span = tracing::info_span!("upload", session = %session.id, handle = header.handle, dtype = %meta.dtype, bytes = want);
        // The chunks go on as they arrive: a GPU copies each on before the next comes.
        let chunks = crate::worker::data_stream(first.data, stream, |c: pb::UploadChunk| {
            if c.header.is_some() {
                return Err(Error::invalid(
                    "upload",
                    "header",
                    "only the first chunk may carry a header",
                ));
            }
            Ok(c.data)
        });
        // The span is attached to the future, not entered: a guard held across an await
        // would leave it entered on the thread while other tasks run there.
        self.coord
            .upload(&session, header.handle, meta, chunks, &header.device)
            .instrument(span)
            .await?;
        Ok(Response::new(pb::UploadResponse { bytes: want as u64 }))
    }

    type FetchStream = BoxStream<pb::FetchChunk>;

    async fn fetch(
        &self,
        req: Request<pb::FetchRequest>,
    ) -> Result<Response<Self::FetchStream>, Status> {
        let r = req.into_inner();
        let session = self.session(&r.session_id)?;
        let fetched = self
            .coord
            .fetch(
                &session,
                r.handle,
                r.after_seq,
                chunk_size(r.chunk_bytes),
                r.direct,
            )
            .await?;
        let (meta, chunks) = match fetched {
            Fetched::Stream(meta, chunks) => (meta, chunks),
            Fetched::Direct {
                meta,
                endpoint,
                array,
                ticket,
            } => {
                let only = pb::FetchChunk {
                    meta: Some(meta.to_wire()),
                    data: Bytes::new(),
                    redirect: Some(pb::DirectFetch {
                        endpoint,
                        array,
                        ticket,
                    }),
                };
                return Ok(Response::new(Box::pin(futures::stream::iter([Ok(only)]))));
            }
        };
        let mut first = Some(meta.to_wire());
        let empty = meta.numel() == 0;
        let head = if empty {
            futures::stream::iter(vec![Ok(pb::FetchChunk {
                meta: first.take(),
                data: Bytes::new(),
                redirect: None,
            })])
            .boxed()
        } else {
            futures::stream::empty().boxed()
        };
        let body = chunks.map(move |c| match c {
            Ok(data) => Ok(pb::FetchChunk {
                meta: first.take(),
                data,
                redirect: None,
            }),
            Err(e) => Err(Status::from(e)),
        });
        Ok(Response::new(Box::pin(head.chain(body))))
    }

    type ExecuteStream = BoxStream<pb::ExecuteEvent>;

    async fn execute(
        &self,
        req: Request<Streaming<pb::ExecuteRequest>>,
    ) -> Result<Response<Self::ExecuteStream>, Status> {
        let mut stream = req.into_inner();
        let coord = self.coord.clone();
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<pb::ExecuteEvent, Status>>(16);
        // Barrier replies come from the session's executor; the stream ends once this task
        // and every barrier still queued are done.
        let (replies, barriers) = tokio::sync::mpsc::unbounded_channel::<pb::ExecuteEvent>();
        tokio::spawn(async move {
            let mut session = None;
            loop {
                let msg = match stream.message().await {
                    Ok(Some(m)) => m,
                    Ok(None) => break,
                    Err(e) => {
                        tracing::debug!(error = %e, "execute stream ended");
                        break;
                    }
                };
                if session.is_none()
                    || (!msg.session_id.is_empty()
                        && session
                            .as_ref()
                            .is_some_and(|s: &Arc<crate::coordinator::Session>| {
                                s.id != msg.session_id
                            }))
                {
                    match coord.session(&msg.session_id) {
                        Ok(s) => session = Some(s),
                        Err(e) => {
                            let _ = tx.send(Err(e.into())).await;
                            break;
                        }
                    }
                }
                let s = session.as_ref().expect("set above");
                s.touch();
                // A message that ends in a barrier gets its count with the barrier's reply:
                // one message back per round trip, not two.
                let answered = msg
                    .commands
                    .last()
                    .is_some_and(|c| matches!(c.command, Some(pb::command::Command::Barrier(_))));
                if let Err(e) = s.accept(msg.commands, &replies) {
                    let _ = tx.send(Err(e.into())).await;
                    break;
                }
                if answered {
                    continue;
                }
                let seq = *s.received.borrow();
                // Progress events are advisory: never block the pipeline on a slow reader.
                let _ = tx.try_send(Ok(pb::ExecuteEvent {
                    received_seq: seq,
                    barrier: None,
                }));
            }
        });
        let barriers = tokio_stream::wrappers::UnboundedReceiverStream::new(barriers).map(Ok);
        Ok(Response::new(Box::pin(futures::stream::select(
            tokio_stream::wrappers::ReceiverStream::new(rx),
            barriers,
        ))))
    }

    async fn run(&self, req: Request<pb::RunRequest>) -> Result<Response<pb::RunResponse>, Status> {
        let r = req.into_inner();
        let session = self.session(&r.session_id)?;
        session
            .wait_received(r.after_seq, Duration::from_secs(60))
            .await?;
        let rx = session.accept_run(r.calls)?;
        let metas = rx.await.map_err(|_| Error::Unavailable {
            message: "session closed while running".into(),
        })??;
        Ok(Response::new(pb::RunResponse {
            outputs: metas.iter().map(Meta::to_wire).collect(),
        }))
    }

    async fn sync(
        &self,
        req: Request<pb::SyncRequest>,
    ) -> Result<Response<pb::SyncResponse>, Status> {
        let r = req.into_inner();
        let session = self.session(&r.session_id)?;
        session
            .wait_received(r.after_seq, Duration::from_secs(60))
            .await?;
        if r.handles.is_empty() {
            // Wait until every command received so far has run: a Run with no calls is
            // queued behind them.
            let rx = session.accept_run(vec![])?;
            rx.await.map_err(|_| Error::Unavailable {
                message: "session closed".into(),
            })??;
        }
        for h in r.handles {
            session.wait_ready(h).await?;
        }
        Ok(Response::new(pb::SyncResponse {}))
    }

    async fn describe(
        &self,
        req: Request<pb::DescribeRequest>,
    ) -> Result<Response<pb::DescribeResponse>, Status> {
        let r = req.into_inner();
        let session = self.session(&r.session_id)?;
        session
            .wait_received(r.after_seq, Duration::from_secs(60))
            .await?;
        let devices = self.coord.devices();
        let device_of = |w: usize| {
            devices
                .iter()
                .find(|d| d.worker == w)
                .map(|d| d.status.name.clone())
                .unwrap_or_default()
        };
        let state = |lost: bool| if lost { "lost" } else { "ready" }.to_string();
        let resp = match session.wait_ready(r.handle).await {
            Ok(SlotState::Ready {
                worker,
                array,
                meta,
            }) => {
                let lost = self.coord.workers().for_array(worker, r.handle).err();
                pb::DescribeResponse {
                    meta: Some(meta.to_wire()),
                    device: self
                        .coord
                        .workers()
                        .any(worker)
                        .and_then(|w| w.device_of(array))
                        .unwrap_or_else(|| device_of(worker)),
                    state: state(lost.is_some()),
                    error: lost.map(|e| e.to_detail()),
                    layout: "single".into(),
                    shard_axis: 0,
                    parts: Vec::new(),
                }
            }
            Ok(SlotState::Distributed(d)) => {
                let lost = check_parts(&self.coord, r.handle, &d).err();
                pb::DescribeResponse {
                    meta: Some(d.meta.to_wire()),
                    device: d
                        .parts
                        .first()
                        .map(|p| device_of(p.worker))
                        .unwrap_or_default(),
                    state: state(lost.is_some()),
                    error: lost.map(|e| e.to_detail()),
                    layout: d.layout_name().into(),
                    shard_axis: match d.kind {
                        LayoutKind::Sharded { axis } => axis as u32,
                        LayoutKind::Mirrored => 0,
                    },
                    parts: d
                        .parts
                        .iter()
                        .map(|p| pb::ArrayPart {
                            device: device_of(p.worker),
                            meta: Some(p.meta.to_wire()),
                            state: state(self.coord.workers().get(p.worker).is_err()),
                        })
                        .collect(),
                }
            }
            Ok(SlotState::Pending | SlotState::Failed(_)) => {
                return Err(Error::internal("describe", "slot neither computed nor failed").into());
            }
            Err(e @ Error::NotFound { .. }) => return Err(e.into()),
            Err(e) => pb::DescribeResponse {
                meta: None,
                device: String::new(),
                state: "failed".into(),
                error: Some(e.to_detail()),
                layout: String::new(),
                shard_axis: 0,
                parts: Vec::new(),
            },
        };
        Ok(Response::new(resp))
    }

    async fn list_devices(
        &self,
        _: Request<pb::ListDevicesRequest>,
    ) -> Result<Response<pb::ListDevicesResponse>, Status> {
        Ok(Response::new(pb::ListDevicesResponse {
            devices: self.device_infos(),
        }))
    }

    async fn get_stats(
        &self,
        req: Request<pb::GetStatsRequest>,
    ) -> Result<Response<pb::Stats>, Status> {
        let r = req.into_inner();
        let mut sessions: Vec<pb::SessionStats> = self
            .coord
            .session_usage()
            .into_iter()
            .filter(|(id, ..)| r.session_id.is_empty() || *id == r.session_id)
            .map(|(session_id, live_arrays, live_bytes)| pb::SessionStats {
                session_id,
                live_arrays,
                live_bytes,
            })
            .collect();
        sessions.sort_by(|a, b| a.session_id.cmp(&b.session_id));
        let devices = self.device_infos();
        Ok(Response::new(pb::Stats {
            live_arrays: devices
                .iter()
                .filter(|d| d.state == "ready")
                .map(|d| d.live_arrays)
                .sum(),
            live_bytes: devices
                .iter()
                .filter(|d| d.state == "ready")
                .map(|d| d.live_bytes)
                .sum(),
            sessions,
            devices,
            ops_executed: self.coord.ops_executed(),
            ops_fused: self.coord.ops_fused(),
        }))
    }

    async fn list_ops(
        &self,
        _: Request<pb::ListOpsRequest>,
    ) -> Result<Response<pb::ListOpsResponse>, Status> {
        let supported = crate::backend::cpu::supported_ops();
        let info = |d: &ndserve_proto::OpDef, numpy: String| pb::OpInfo {
            name: d.name.into(),
            numpy,
            params: d.params.iter().map(|p| p.name.to_string()).collect(),
            summary: d.summary.into(),
        };
        let mut ops: Vec<pb::OpInfo> = ndserve_proto::ops::catalogue()
            .iter()
            .filter(|d| supported.contains(&d.name))
            .map(|d| info(d, format!("numpy.{}", d.name)))
            .collect();
        // The distribution ops have no NumPy counterpart.
        ops.extend(
            ndserve_proto::ops::distribution_ops()
                .iter()
                .map(|d| info(d, String::new())),
        );
        Ok(Response::new(pb::ListOpsResponse { ops }))
    }
}
