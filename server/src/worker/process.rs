//! A worker process (`ndserve worker --join URL`): a CPU worker served over the internal
//! `WorkerService`, that joins a coordinator and keeps its membership with heartbeats.
//!
//! The worker retries its join until the coordinator answers (in a deployment the two may
//! start in any order). When a heartbeat finds that the coordinator no longer knows it
//! (the coordinator restarted, or removed the worker after missed heartbeats) it frees its
//! arrays, which the coordinator has written off, and joins again as a new worker.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ndserve_proto::pb;
use ndserve_proto::pb::cluster_client::ClusterClient;
use ndserve_proto::pb::worker_service_server::WorkerServiceServer;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

use super::{LocalWorker, Worker, WorkerServer, remote};
use crate::StartError;

/// How a worker process runs.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// The coordinator's URL.
    pub join: String,
    /// Address to listen on for the coordinator and other workers.
    pub listen: SocketAddr,
    /// The URL others reach this worker at (default `http://` + the bound address).
    pub advertise: Option<String>,
    /// The worker's name, unique in the cluster.
    pub name: String,
    /// Bytes of array data the worker may hold.
    pub memory_limit: u64,
    /// Compute threads (0 = all cores).
    pub threads: usize,
}

/// A worker serving in this process.
pub struct RunningWorker {
    addr: SocketAddr,
    endpoint: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningWorker {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The endpoint it advertises.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Stops serving and heartbeating.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(crate::SHUTDOWN_GRACE, t).await;
        }
    }
}

impl Drop for RunningWorker {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts a worker: binds, serves `WorkerService` and health, joins the coordinator and
/// sends heartbeats until [`RunningWorker::shutdown`].
pub async fn start_worker(config: WorkerConfig) -> Result<RunningWorker, StartError> {
    let (listener, addr) = crate::bind(config.listen).await?;
    let endpoint = config
        .advertise
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let local = Arc::new(
        LocalWorker::new(&config.name, config.threads, config.memory_limit)
            .map_err(StartError::Worker)?,
    );
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<WorkerServiceServer<WorkerServer>>()
        .await;
    let svc = WorkerServiceServer::new(WorkerServer::new(local.clone()))
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX);
    let router = crate::server_builder()
        .add_service(health_service)
        .add_service(svc);
    let coordinator = remote::channel(&config.join).map_err(StartError::Worker)?;
    let (tx, rx) = oneshot::channel::<()>();
    let (stop_beats, beats_stopped) = oneshot::channel::<()>();
    let membership = tokio::spawn(keep_membership(
        ClusterClient::new(coordinator),
        local,
        config.name.clone(),
        endpoint.clone(),
        beats_stopped,
    ));
    let task = tokio::spawn(async move {
        if let Err(e) = router
            .serve_with_incoming_shutdown(crate::incoming(listener), async {
                let _ = rx.await;
            })
            .await
        {
            tracing::error!(error = %e, "worker server stopped");
        }
        let _ = stop_beats.send(());
        let _ = membership.await;
    });
    Ok(RunningWorker {
        addr,
        endpoint,
        shutdown: Some(tx),
        task: Some(task),
    })
}

fn devices(worker: &LocalWorker) -> Vec<pb::WorkerDevice> {
    worker
        .devices()
        .iter()
        .map(remote::device_to_wire)
        .collect()
}

/// Joins (retrying), then beats; joins again whenever the coordinator forgets the worker.
async fn keep_membership(
    mut cluster: ClusterClient<Channel>,
    worker: Arc<LocalWorker>,
    name: String,
    endpoint: String,
    mut stop: oneshot::Receiver<()>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let join = pb::JoinRequest {
            name: name.clone(),
            endpoint: endpoint.clone(),
            devices: devices(&worker),
            protocol_major: ndserve_proto::PROTOCOL_MAJOR,
        };
        let joined = tokio::select! {
            r = cluster.join(join) => r,
            _ = &mut stop => return,
        };
        let resp = match joined {
            Ok(r) => r.into_inner(),
            Err(e) => {
                tracing::warn!(error = %e.message(), retry_in = ?backoff, "cannot join the coordinator");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = &mut stop => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        tracing::info!(worker = %name, id = resp.worker_id, endpoint = %endpoint, "joined the coordinator");
        let every = Duration::from_millis(resp.heartbeat_ms.max(50));
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = &mut stop => return,
            }
            let beat = pb::HeartbeatRequest {
                worker_id: resp.worker_id,
                devices: devices(&worker),
            };
            match cluster.heartbeat(beat).await {
                Ok(r) if r.get_ref().known => {}
                Ok(_) => {
                    let freed = worker.clear();
                    tracing::warn!(worker = %name, freed_bytes = freed, "the coordinator no longer knows this worker: joining again");
                    break;
                }
                Err(e) => tracing::warn!(error = %e.message(), "heartbeat failed"),
            }
        }
    }
}
