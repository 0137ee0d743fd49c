//! # ndserve-server
//!
//! The coordinator (sessions, handles, the op pipeline, the gRPC service) and the workers
//! (devices that hold arrays and run kernels) of ndserve. The coordinator talks to every
//! worker through [`worker::Worker`], whether the worker lives in the same process or not.
//!
//! [`start`] runs a server with an embedded CPU worker inside the calling process, as the
//! `ndserve serve` binary and the client SDK's embedded mode do:
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let server = ndserve_server::start(ndserve_server::ServerConfig::default()).await.unwrap();
//! assert!(server.url().starts_with("http://127.0.0.1:"));
//! server.shutdown().await;
//! # });
//! ```

pub mod backend;
pub mod cluster;
pub mod config;
pub mod coordinator;
pub mod fusion;
pub mod service;
pub mod worker;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ndserve_proto::pb;
use ndserve_proto::pb::array_service_server::ArrayServiceServer;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::ServerConfig;

/// How long [`RunningServer::shutdown`] lets calls in flight finish.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
pub use coordinator::Coordinator;

/// Errors starting a server.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A worker could not start.
    #[error("cannot start the worker: {0}")]
    Worker(ndserve_proto::Error),
    /// gRPC reflection could not be built.
    #[error("cannot build gRPC reflection: {0}")]
    Reflection(String),
}

/// A server running in this process.
pub struct RunningServer {
    addr: SocketAddr,
    coordinator: Arc<Coordinator>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningServer {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, for clients.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The coordinator (for tests and stats).
    pub fn coordinator(&self) -> &Arc<Coordinator> {
        &self.coordinator
    }

    /// Stops accepting calls, lets calls in flight finish for up to 5 seconds (open
    /// Execute streams of connected clients would otherwise hold it forever), then stops.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut t) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut t).await.is_err()
        {
            tracing::warn!("connections still open after {SHUTDOWN_GRACE:?}: closing them");
            t.abort();
            let _ = t.await;
        }
    }

    /// Waits until the server stops (after [`RunningServer::shutdown`] from elsewhere, or
    /// an error).
    pub async fn wait(mut self) {
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A gRPC server with ndserve's transport settings: 1 MiB HTTP/2 frames, 16/32 MiB
/// windows (`MEASURED.md`), and one span per RPC (debug level: free unless `RUST_LOG`
/// asks for it; the handlers record the session, and the binary's subscriber logs each
/// span's duration).
pub(crate) fn server_builder() -> tonic::transport::Server {
    tonic::transport::Server::builder()
        .max_frame_size(Some((1 << 20) - 1))
        .initial_stream_window_size(Some(16 << 20))
        .initial_connection_window_size(Some(32 << 20))
        .trace_fn(|req| {
            tracing::debug_span!(
                "rpc",
                method = %req.uri().path(),
                session = tracing::field::Empty
            )
        })
}

/// Binds `addr`; returns the listener and the address it got.
pub(crate) async fn bind(
    addr: SocketAddr,
) -> Result<(tokio::net::TcpListener, SocketAddr), StartError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| StartError::Bind { addr, source })?;
    Ok((listener, local))
}

/// The accepted connections of `listener`, with `TCP_NODELAY`.
pub(crate) fn incoming(
    listener: tokio::net::TcpListener,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures::StreamExt::map(
        tokio_stream::wrappers::TcpListenerStream::new(listener),
        |s| {
            if let Ok(s) = &s {
                let _ = s.set_nodelay(true);
            }
            s
        },
    )
}

/// Builds the coordinator with its embedded workers.
pub fn build_coordinator(config: &ServerConfig) -> Result<Arc<Coordinator>, StartError> {
    let mut workers: Vec<Arc<dyn worker::Worker>> = Vec::new();
    for i in 0..config.workers {
        let name = if config.workers == 1 {
            config.worker_name.clone()
        } else {
            format!("{}-{i}", config.worker_name)
        };
        let w = worker::LocalWorker::new(&name, config.threads, config.memory_limit)
            .map_err(StartError::Worker)?;
        workers.push(Arc::new(w));
    }
    Ok(Coordinator::new(config.clone(), workers))
}

/// Starts a server: binds `config.listen`, serves the array service, health and reflection,
/// and closes lapsed sessions, until [`RunningServer::shutdown`].
pub async fn start(config: ServerConfig) -> Result<RunningServer, StartError> {
    let (listener, addr) = bind(config.listen).await?;
    let coordinator = build_coordinator(&config)?;

    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<ArrayServiceServer<service::Service>>()
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| StartError::Reflection(e.to_string()))?;
    let svc = ArrayServiceServer::new(service::Service::new(coordinator.clone()))
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX);

    let router = server_builder()
        .add_service(health_service)
        .add_service(reflection)
        .add_service(svc)
        .add_service(ndserve_proto::pb::cluster_server::ClusterServer::new(
            cluster::ClusterService::new(coordinator.clone()),
        ));
    let (tx, rx) = oneshot::channel::<()>();

    let reaper_coord = Arc::downgrade(&coordinator);
    let reap_every = (config.lease.min(config.worker_timeout) / 4)
        .clamp(Duration::from_millis(50), Duration::from_secs(1));
    let task = tokio::spawn(async move {
        let reaper = tokio::spawn(async move {
            let mut tick = tokio::time::interval(reap_every);
            loop {
                tick.tick().await;
                match reaper_coord.upgrade() {
                    Some(c) => {
                        c.reap_expired().await;
                        c.workers().reap(c.config().worker_timeout);
                    }
                    None => break,
                }
            }
        });
        if let Err(e) = router
            .serve_with_incoming_shutdown(incoming(listener), async {
                let _ = rx.await;
            })
            .await
        {
            tracing::error!(error = %e, "server stopped");
        }
        reaper.abort();
    });
    Ok(RunningServer {
        addr,
        coordinator,
        shutdown: Some(tx),
        task: Some(task),
    })
}
