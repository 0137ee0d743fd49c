//! The connection, the session and the background tasks that serve it.
//!
//! One [`Client`] is one session. Ops travel on one bidirectional `Execute` stream owned
//! by a background task: methods push commands into an unbounded channel (they never
//! block or await) and the task drains whatever is queued into one message. The client
//! counts the commands it queued (`sent_seq`); every call that reads results carries that
//! count as `after_seq`, and the server answers only once it has received that many
//! commands, which orders the call after the ops it depends on. Syncs and fetches of at
//! most 64 KiB skip the separate call on servers that speak protocol 1.1: they go on the
//! stream as a `Barrier` command, and the task hands the server's reply to the waiting
//! call.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use ndarray::{ArrayBase, Data, Dimension};
use ndserve_proto::pb::array_service_client::ArrayServiceClient;
use ndserve_proto::pb::worker_service_client::WorkerServiceClient;
use ndserve_proto::{Attrs, Error, Meta, Result, pb};
use tokio::sync::{mpsc, oneshot, watch};
use tonic::transport::{Channel, Endpoint};

use crate::array::Array;

/// Chunks an upload copies ahead of the transport.
const UPLOAD_AHEAD: usize = 4;
use crate::element::Element;
use crate::operand::Operand;

/// The generated gRPC client on the tuned channel.
pub(crate) type Grpc = ArrayServiceClient<Channel>;

/// Settings of a [`Client`].
///
/// ```
/// use std::time::Duration;
/// use ndserve_client::ClientOptions;
///
/// let opts = ClientOptions::default().with_lease(Duration::from_secs(30));
/// assert_eq!(opts.lease, Some(Duration::from_secs(30)));
/// ```
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// The session lease to ask for; `None` takes the server's default. The client renews
    /// it in the background every third of the lease the server grants.
    pub lease: Option<Duration>,
    /// Chunk size of uploads and fetches, in bytes (default 1 MiB).
    pub chunk_bytes: usize,
    /// The most commands sent in one message of the `Execute` stream (default 4096).
    pub max_batch: usize,
    /// Timeout of the TCP/HTTP2 connect (default 10 s).
    pub connect_timeout: Duration,
    /// The version this client reports when it opens a session.
    pub client_version: String,
    /// Fetch large arrays from the worker that holds them when the server offers it
    /// (default `true`): the data then skips the coordinator. A worker this client cannot
    /// reach is remembered, and its arrays come through the coordinator.
    pub direct_fetch: bool,
    /// Send syncs, and fetches of at most 64 KiB, as `Barrier` commands on the `Execute`
    /// stream when the server speaks protocol 1.1 (default `true`): one message each way
    /// instead of a unary call. `false` uses the `Sync` and `Fetch` calls, as with older
    /// servers.
    pub barriers: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            lease: None,
            chunk_bytes: ndserve_proto::CHUNK_BYTES,
            max_batch: 4096,
            connect_timeout: Duration::from_secs(10),
            client_version: format!("ndserve-client-rust/{}", env!("CARGO_PKG_VERSION")),
            direct_fetch: true,
            barriers: true,
        }
    }
}

impl ClientOptions {
    /// Sets [`ClientOptions::lease`].
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = Some(lease);
        self
    }

    /// Sets [`ClientOptions::chunk_bytes`].
    pub fn with_chunk_bytes(mut self, chunk_bytes: usize) -> Self {
        self.chunk_bytes = chunk_bytes;
        self
    }

    /// Sets [`ClientOptions::direct_fetch`].
    pub fn with_direct_fetch(mut self, direct_fetch: bool) -> Self {
        self.direct_fetch = direct_fetch;
        self
    }

    /// Sets [`ClientOptions::barriers`].
    pub fn with_barriers(mut self, barriers: bool) -> Self {
        self.barriers = barriers;
        self
    }

    /// Sets [`ClientOptions::max_batch`].
    pub fn with_max_batch(mut self, max_batch: usize) -> Self {
        self.max_batch = max_batch;
        self
    }
}

/// A session on an ndserve server: creates, uploads and fetches [`Array`]s.
///
/// `Client` is a cheap clone (an `Arc` inside); every clone is the same session. Arrays
/// keep their client alive. When the last clone and the last array are dropped, the
/// background tasks stop and the session is closed (best effort: the server also frees a
/// session whose lease lapses). [`Client::close`] closes it at once.
///
/// ```
/// use ndserve_client::{Client, DType};
///
/// # fn main() -> ndserve_client::Result<()> {
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let client = Client::embedded().await?;
/// let x = client.arange(0, 6, 1, Some(DType::Float64))?.reshape(&[2, 3])?;
/// assert_eq!(x.shape(), &[2, 3]);
/// assert_eq!(x.sum(1, false)?.to_vec::<f64>().await?, vec![3.0, 12.0]);
/// # Ok(())
/// # })
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<ClientInner>,
    /// The device scope of this handle on the session ([`Client::on_device`]).
    device: Option<Arc<str>>,
    /// The sharding scope ([`Client::with_sharding`]): axis and devices.
    sharding: Option<Arc<(isize, Vec<String>)>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.inner.url)
            .field("session_id", &self.inner.session_id)
            .finish_non_exhaustive()
    }
}

/// State shared with the background tasks (which must not keep the client alive).
pub(crate) struct Shared {
    /// `close()` was called: stream errors after it are expected.
    closed: AtomicBool,
    /// The first fatal error of the session (the pipeline failed, the client was closed).
    error: Mutex<Option<Error>>,
    /// Becomes `true` once `error` is set, to wake waiting calls.
    failed: watch::Sender<bool>,
    /// The request side of the `Execute` stream ended because the client was dropped.
    drained: AtomicBool,
    /// The last `received_seq` the server reported.
    received_seq: AtomicU64,
    /// Barriers sent and not answered yet, by id; `None` once the Execute stream has
    /// ended (no reply can come).
    barriers: Mutex<Option<HashMap<u64, oneshot::Sender<pb::BarrierReply>>>>,
    next_barrier: AtomicU64,
    #[cfg(feature = "embedded")]
    server: Mutex<Option<ndserve_server::RunningServer>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn new() -> Shared {
        Shared {
            closed: AtomicBool::new(false),
            error: Mutex::new(None),
            failed: watch::channel(false).0,
            drained: AtomicBool::new(false),
            received_seq: AtomicU64::new(0),
            barriers: Mutex::new(Some(HashMap::new())),
            next_barrier: AtomicU64::new(1),
            #[cfg(feature = "embedded")]
            server: Mutex::new(None),
        }
    }

    /// Records the session's first fatal error.
    fn fail(&self, e: Error) {
        let mut g = lock(&self.error);
        if g.is_none() {
            *g = Some(e);
            self.failed.send_replace(true);
        }
    }

    fn error(&self) -> Option<Error> {
        lock(&self.error).clone()
    }

    fn check(&self) -> Result<()> {
        match self.error() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// A new barrier id and the receiver of its reply; `None` when the stream has ended.
    fn expect_barrier(&self) -> Option<(u64, oneshot::Receiver<pb::BarrierReply>)> {
        let id = self.next_barrier.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        lock(&self.barriers).as_mut()?.insert(id, tx);
        Some((id, rx))
    }

    /// Drops a barrier's entry (its waiter gave up, or its command was never sent).
    fn forget_barrier(&self, id: u64) {
        if let Some(m) = lock(&self.barriers).as_mut() {
            m.remove(&id);
        }
    }

    /// Hands a reply from the stream to its waiter.
    fn answer_barrier(&self, reply: pb::BarrierReply) {
        let tx = lock(&self.barriers)
            .as_mut()
            .and_then(|m| m.remove(&reply.id));
        if let Some(tx) = tx {
            let _ = tx.send(reply);
        }
    }

    /// The Execute stream has ended: waiting barriers get no reply.
    fn end_barriers(&self) {
        lock(&self.barriers).take();
    }

    /// Resolves with the session's fatal error once there is one.
    async fn failure(&self) -> Error {
        let mut rx = self.failed.subscribe();
        let _ = rx.wait_for(|f| *f).await;
        self.error().unwrap_or_else(closed_error)
    }

    #[cfg(feature = "embedded")]
    async fn shutdown_server(&self) {
        let server = lock(&self.server).take();
        if let Some(s) = server {
            let _ = tokio::time::timeout(Duration::from_secs(5), s.shutdown()).await;
        }
    }

    #[cfg(not(feature = "embedded"))]
    async fn shutdown_server(&self) {}
}

pub(crate) struct ClientInner {
    grpc: Grpc,
    url: String,
    session_id: String,
    lease: Duration,
    server_version: String,
    /// The server answers `Barrier` commands (protocol 1.1 and up): syncs and small
    /// fetches then go on the Execute stream.
    barriers: bool,
    options: ClientOptions,
    next_handle: AtomicU64,
    /// The command queue of the `Execute` stream; `None` once closed. Sending and counting
    /// happen under this lock so `sent_seq` agrees with the channel's order.
    queue: Mutex<Option<mpsc::UnboundedSender<pb::Command>>>,
    sent_seq: AtomicU64,
    keepalive_stop: Mutex<Option<oneshot::Sender<()>>>,
    shared: Arc<Shared>,
    /// The session's random state: `random.*` ops carry (seed, counter) so the server
    /// needs no generator state and a seed replays the same values.
    pub(crate) random: crate::random::RandomState,
    /// Channels to workers for direct fetches, by endpoint; `None` when unreachable.
    workers: tokio::sync::Mutex<std::collections::HashMap<String, Option<Channel>>>,
}

fn closed_error() -> Error {
    Error::FailedPrecondition {
        message: "the client is closed".into(),
    }
}

/// A `tonic::Status` as an [`Error`] ([`Error::from_call`]).
pub(crate) fn status_error(s: tonic::Status) -> Error {
    Error::from_call(s)
}

/// An HTTP/2 channel to `url`, tuned for bulk transfers.
async fn channel_to(url: &str, connect_timeout: Duration) -> Result<Channel> {
    let endpoint = Endpoint::from_shared(url.to_string())
        .map_err(|e| Error::invalid("connect", "url", format!("invalid url '{url}': {e}")))?
        .connect_timeout(connect_timeout)
        .tcp_nodelay(true)
        .initial_stream_window_size(16 << 20)
        .initial_connection_window_size(32 << 20)
        .max_frame_size(1 << 20)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true);
    endpoint
        .connect()
        .await
        .map_err(|e| transport_error(url, e))
}

fn transport_error(url: &str, e: tonic::transport::Error) -> Error {
    let mut message = format!("cannot connect to {url}: {e}");
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        message.push_str(&format!(": {s}"));
        src = s.source();
    }
    Error::Unavailable { message }
}

impl Client {
    /// Connects to the server at `url` (`http://host:port`; a bare `host:port` gets
    /// `http://`) and opens a session with the default [`ClientOptions`].
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] when the server cannot be reached,
    /// [`Error::FailedPrecondition`] when it speaks another protocol major version.
    pub async fn connect(url: impl Into<String>) -> Result<Client> {
        Client::connect_with(url, ClientOptions::default()).await
    }

    /// Connects with explicit [`ClientOptions`].
    ///
    /// # Errors
    ///
    /// As [`Client::connect`]; [`Error::InvalidArgument`] for a malformed URL.
    pub async fn connect_with(url: impl Into<String>, options: ClientOptions) -> Result<Client> {
        let mut url = url.into();
        if !url.contains("://") {
            url = format!("http://{url}");
        }
        let channel = channel_to(&url, options.connect_timeout).await?;
        let grpc = ArrayServiceClient::new(channel)
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX);
        Client::open(grpc, url, options, Arc::new(Shared::new())).await
    }

    /// Starts an ndserve server inside this process (on `127.0.0.1`, a free port) and
    /// connects to it. The server lives as long as the client (and its arrays); closing or
    /// dropping the client shuts it down.
    ///
    /// # Errors
    ///
    /// When the server cannot start (no free port), or as [`Client::connect`].
    #[cfg(feature = "embedded")]
    pub async fn embedded() -> Result<Client> {
        Client::embedded_with(ClientOptions::default()).await
    }

    /// [`Client::embedded`] with explicit [`ClientOptions`].
    ///
    /// # Errors
    ///
    /// As [`Client::embedded`].
    #[cfg(feature = "embedded")]
    pub async fn embedded_with(options: ClientOptions) -> Result<Client> {
        let server = ndserve_server::start(ndserve_server::ServerConfig::default())
            .await
            .map_err(|e| Error::Unavailable {
                message: format!("cannot start the embedded server: {e}"),
            })?;
        let url = server.url();
        let client = match Client::connect_with(url, options).await {
            Ok(c) => c,
            Err(e) => {
                server.shutdown().await;
                return Err(e);
            }
        };
        *lock(&client.inner.shared.server) = Some(server);
        Ok(client)
    }

    async fn open(
        mut grpc: Grpc,
        url: String,
        options: ClientOptions,
        shared: Arc<Shared>,
    ) -> Result<Client> {
        let lease_ms = options.lease.map_or(0, |d| d.as_millis().max(1) as u64);
        let resp = grpc
            .open_session(pb::OpenSessionRequest {
                protocol_major: ndserve_proto::PROTOCOL_MAJOR,
                protocol_minor: ndserve_proto::PROTOCOL_MINOR,
                client_version: options.client_version.clone(),
                lease_ms,
            })
            .await
            .map_err(status_error)?
            .into_inner();
        let lease = Duration::from_millis(resp.lease_ms);
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(pump(
            grpc.clone(),
            resp.session_id.clone(),
            rx,
            shared.clone(),
            options.max_batch.max(1),
        ));
        let (stop_tx, stop_rx) = oneshot::channel();
        if !lease.is_zero() {
            tokio::spawn(keepalive(
                grpc.clone(),
                resp.session_id.clone(),
                lease,
                stop_rx,
                shared.clone(),
            ));
        }
        Ok(Client {
            device: None,
            sharding: None,
            inner: Arc::new(ClientInner {
                grpc,
                url,
                session_id: resp.session_id,
                lease,
                server_version: resp.server_version,
                barriers: options.barriers && resp.protocol_minor >= 1,
                options,
                next_handle: AtomicU64::new(1),
                queue: Mutex::new(Some(tx)),
                sent_seq: AtomicU64::new(0),
                keepalive_stop: Mutex::new(Some(stop_tx)),
                shared,
                random: crate::random::RandomState::new(),
                workers: Default::default(),
            }),
        })
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The session id the server gave.
    pub fn session_id(&self) -> &str {
        &self.inner.session_id
    }

    /// The lease the server granted (the client renews it in the background).
    pub fn lease(&self) -> Duration {
        self.inner.lease
    }

    /// The server's version, as it reported it when the session opened.
    pub fn server_version(&self) -> &str {
        &self.inner.server_version
    }

    /// The options this client was made with.
    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    /// How many commands (op calls and releases) this client has queued so far.
    pub fn sent_seq(&self) -> u64 {
        self.inner.sent_seq.load(Ordering::Acquire)
    }

    /// How many of them the server has reported received.
    pub fn received_seq(&self) -> u64 {
        self.inner.shared.received_seq.load(Ordering::Acquire)
    }

    pub(crate) fn grpc(&self) -> Grpc {
        self.inner.grpc.clone()
    }

    /// Whether fetches may be redirected to workers.
    pub(crate) fn direct_fetch(&self) -> bool {
        self.inner.options.direct_fetch
    }

    /// A client of the worker at `endpoint` for direct fetches (one channel per worker,
    /// kept); `None` when it cannot be reached from here (remembered).
    pub(crate) async fn worker_client(
        &self,
        endpoint: &str,
    ) -> Option<WorkerServiceClient<Channel>> {
        let mut workers = self.inner.workers.lock().await;
        let channel = match workers.get(endpoint) {
            Some(c) => c.clone(),
            None => {
                let timeout = self
                    .inner
                    .options
                    .connect_timeout
                    .min(Duration::from_secs(3));
                let c = channel_to(endpoint, timeout).await.ok();
                workers.insert(endpoint.to_string(), c.clone());
                c
            }
        };
        channel.map(|c| {
            WorkerServiceClient::new(c)
                .max_decoding_message_size(usize::MAX)
                .max_encoding_message_size(usize::MAX)
        })
    }

    /// Marks a worker unreachable after a direct fetch from it failed to start.
    pub(crate) async fn worker_failed(&self, endpoint: &str) {
        self.inner
            .workers
            .lock()
            .await
            .insert(endpoint.to_string(), None);
    }

    /// The same session with a device scope, as `with tf.device(device):`: ops called and
    /// arrays uploaded through the returned client run on `device` (`worker/cpu:0`, or a
    /// worker's name for its first device). Arrays it returns are ordinary arrays: later
    /// ops on them run where their inputs live, unless they too go through a scope.
    ///
    /// ```
    /// use ndserve_client::{Client, DType};
    ///
    /// # fn main() -> ndserve_client::Result<()> {
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let client = Client::embedded().await?;
    /// let first = client.devices().await?[0].name.clone();
    /// let a = client.on_device(&first).ones(&[3], DType::Float32)?;
    /// assert_eq!(a.device().await?, first);
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub fn on_device(&self, device: &str) -> Client {
        Client {
            inner: self.inner.clone(),
            device: Some(device.into()),
            sharding: self.sharding.clone(),
        }
    }

    /// The same session with a sharding scope: arrays that ops called and uploads made
    /// through the returned client create come back sharded along `axis` over `devices`
    /// (every device when empty), as [`Array::shard`] makes them; 0-d results stay whole.
    /// On the wire each is the op (or upload) followed by `shard`.
    ///
    /// ```
    /// use ndserve_client::{Client, DType, Layout};
    ///
    /// # fn main() -> ndserve_client::Result<()> {
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let client = Client::embedded().await?;
    /// let x = client.with_sharding(0, &[]).zeros(&[6, 2], DType::Float32)?;
    /// assert!(matches!(x.layout().await?, Layout::Sharded { axis: 0, .. }));
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub fn with_sharding(&self, axis: isize, devices: &[&str]) -> Client {
        Client {
            inner: self.inner.clone(),
            device: self.device.clone(),
            sharding: Some(Arc::new((
                axis,
                devices.iter().map(|d| d.to_string()).collect(),
            ))),
        }
    }

    /// An array made through this client, sharded when it has a sharding scope.
    fn scoped_result(&self, a: Array) -> Result<Array> {
        match &self.sharding {
            Some(s) if a.ndim() > 0 => {
                let devices: Vec<&str> = s.1.iter().map(String::as_str).collect();
                a.shard(s.0, &devices)
            }
            _ => Ok(a),
        }
    }

    /// The device scope of this client, if any.
    pub fn device_scope(&self) -> Option<&str> {
        self.device.as_deref()
    }

    fn unscoped(&self) -> Client {
        Client {
            inner: self.inner.clone(),
            device: None,
            sharding: None,
        }
    }

    fn device_wire(&self) -> String {
        self.device.as_deref().unwrap_or_default().to_string()
    }

    pub(crate) fn same(&self, other: &Client) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    pub(crate) fn alloc_handles(&self, n: usize) -> u64 {
        self.inner
            .next_handle
            .fetch_add(n as u64, Ordering::Relaxed)
    }

    /// Fails when the session can no longer serve calls.
    pub(crate) fn check(&self) -> Result<()> {
        self.inner.shared.check()
    }

    /// Queues one command on the `Execute` stream.
    pub(crate) fn enqueue(&self, cmd: pb::Command) -> Result<()> {
        self.inner.enqueue(cmd)
    }

    /// Runs `fut` (an RPC that reads results), failing early if the pipeline fails first:
    /// the server would otherwise wait for commands that never arrive.
    pub(crate) async fn guard<T>(
        &self,
        fut: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        self.check()?;
        tokio::select! {
            r = fut => r,
            e = self.inner.shared.failure() => Err(e),
        }
    }

    /// Runs an op by name: the generic form of every typed method.
    ///
    /// `inputs` are the op's array parameters in NumPy's order (arrays or Python scalars);
    /// `attrs` its other parameters by NumPy's name. The call is checked locally with the
    /// op's dtype/shape rule, then queued; the outputs are returned at once.
    ///
    /// ```
    /// use ndserve_client::{Attr, Attrs, Client, DType, Operand};
    ///
    /// # fn main() -> ndserve_client::Result<()> {
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let client = Client::embedded().await?;
    /// let a = client.ones(&[2, 3], DType::Int8)?;
    /// // np.add(a, 1)
    /// let out = client.call("add", &[(&a).into(), 1.into()], Attrs::new())?;
    /// assert_eq!(out[0].dtype(), DType::Int8);
    /// // np.sum(a, axis=0, dtype="float32")
    /// let attrs = Attrs::new()
    ///     .with("axis", Attr::Int(0))
    ///     .with("dtype", Attr::DType(DType::Float32));
    /// let s = client.call("sum", &[Operand::from(&a)], attrs)?;
    /// assert_eq!(s[0].to_vec::<f32>().await?, vec![2.0, 2.0, 2.0]);
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::UnknownOp`] for an op the catalogue does not have; the op's own errors
    /// (shapes, dtypes, axes, attributes); [`Error::InvalidArgument`] for an array of
    /// another client, or for a call whose result shape depends on the data (`nonzero`,
    /// a boolean mask: use [`Client::run`]); [`Error::FailedPrecondition`] once the client
    /// is closed.
    pub fn call(&self, op: &str, inputs: &[Operand], attrs: Attrs) -> Result<Vec<Array>> {
        let (call, metas) = self.prepare(op, inputs, &attrs, false)?;
        let first = call.outputs.first().copied();
        self.enqueue(pb::Command {
            command: Some(pb::command::Command::Call(call)),
        })?;
        let first = first.unwrap_or(0);
        metas
            .into_iter()
            .enumerate()
            .map(|(i, m)| self.scoped_result(Array::new(self.unscoped(), first + i as u64, m)))
            .collect()
    }

    /// [`Client::call`] for an op with one output.
    pub(crate) fn call1(&self, op: &str, inputs: &[Operand], attrs: Attrs) -> Result<Array> {
        let mut out = self.call(op, inputs, attrs)?;
        if out.len() != 1 {
            return Err(Error::internal(
                op,
                format!("expected one output, the op has {}", out.len()),
            ));
        }
        Ok(out.remove(0))
    }

    /// Checks a call locally and builds its wire form; allocates the output handles. A call
    /// whose shapes depend on the data is refused unless `run` will wait for its reply.
    fn prepare(
        &self,
        op: &str,
        inputs: &[Operand],
        attrs: &Attrs,
        run: bool,
    ) -> Result<(pb::OpCall, Vec<Meta>)> {
        self.check()?;
        let mut metas_in = Vec::with_capacity(inputs.len());
        for (i, x) in inputs.iter().enumerate() {
            if let Operand::Array(a) = x
                && !a.client().same(self)
            {
                return Err(Error::invalid(
                    op,
                    &format!("inputs[{i}]"),
                    "the array belongs to another client (session)",
                ));
            }
            metas_in.push(x.to_input());
        }
        let seeded;
        let attrs = if op.starts_with("random.") && attrs.get("seed").is_none() {
            seeded = self.inner.random.attach(attrs.clone());
            &seeded
        } else {
            attrs
        };
        let metas = ndserve_proto::ops::infer(op, &metas_in, attrs)?;
        if !run && ndserve_proto::ops::is_data_dependent(op, &metas_in, attrs) {
            return Err(Error::invalid(
                op,
                "inputs",
                format!(
                    "the shape of {op}'s result here depends on the data: run it with Client::run, which waits for the actual shape"
                ),
            ));
        }
        let first = self.alloc_handles(metas.len());
        let call = pb::OpCall {
            op: op.to_string(),
            inputs: inputs.iter().map(Operand::to_wire).collect(),
            outputs: (0..metas.len() as u64).map(|i| first + i).collect(),
            attrs: attrs.to_wire(),
            device: self.device_wire(),
        };
        Ok((call, metas))
    }

    /// Runs an op with the unary `Run` RPC and waits until its outputs are computed: the
    /// synchronous form of [`Client::call`] (one round trip; errors of the op itself are
    /// reported here rather than at the next sync point).
    ///
    /// This is the form for calls whose result shape depends on the data (`nonzero`, a
    /// boolean mask in `getitem`, `compress`): the outputs carry the shapes the server
    /// computed.
    ///
    /// ```
    /// use ndarray::array;
    /// use ndserve_client::{Client, Operand};
    ///
    /// # fn main() -> ndserve_client::Result<()> {
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let client = Client::embedded().await?;
    /// let a = client.upload(&array![[0, 3], [5, 0]]).await?;
    /// let idx = client.run("nonzero", &[Operand::from(&a)], Default::default()).await?;
    /// assert_eq!(idx[0].shape(), &[2]);
    /// assert_eq!(idx[1].to_vec::<i64>().await?, vec![1, 0]);
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Client::call`], plus any error the server meets running the op (or the ops it
    /// depends on).
    pub async fn run(&self, op: &str, inputs: &[Operand], attrs: Attrs) -> Result<Vec<Array>> {
        let (call, metas) = self.prepare(op, inputs, &attrs, true)?;
        let handles = call.outputs.clone();
        let req = pb::RunRequest {
            session_id: self.inner.session_id.clone(),
            calls: vec![call],
            after_seq: self.sent_seq(),
        };
        let mut grpc = self.grpc();
        let resp = self
            .guard(async move { grpc.run(req).await.map_err(status_error) })
            .await?
            .into_inner();
        let out = handles
            .into_iter()
            .zip(metas)
            .enumerate()
            .map(|(i, (h, local))| {
                let m = resp
                    .outputs
                    .get(i)
                    .and_then(|m| Meta::from_wire(m).ok())
                    .unwrap_or(local);
                Array::new(self.unscoped(), h, m)
            })
            .collect();
        Ok(out)
    }

    /// Uploads an `ndarray` array of any [`Element`] type (bool, integers, `f16`, `bf16`,
    /// `f32`, `f64`, `Complex<f32>`, `Complex<f64>`), in any memory layout, and returns
    /// its handle once the server has it.
    ///
    /// ```
    /// use ndarray::array;
    /// use ndserve_client::{Client, DType};
    ///
    /// # fn main() -> ndserve_client::Result<()> {
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let client = Client::embedded().await?;
    /// let m = array![[1i32, 2, 3], [4, 5, 6]];
    /// let a = client.upload(&m.t()).await?; // a transposed view is sent in C order
    /// assert_eq!((a.dtype(), a.shape()), (DType::Int32, &[3usize, 2][..]));
    /// assert_eq!(a.to_ndarray::<i32>().await?, m.t().into_dyn());
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::ResourceExhausted`] over the server's memory limit;
    /// [`Error::Unavailable`] when the server cannot be reached.
    pub async fn upload<T, S, D>(&self, array: &ArrayBase<S, D>) -> Result<Array>
    where
        T: Element,
        S: Data<Elem = T>,
        D: Dimension,
    {
        let meta = Meta::new(T::DTYPE, array.shape().to_vec());
        self.check_upload(&meta, meta.nbytes())?;
        let std = array.as_standard_layout();
        let repr = T::slice_to_repr(std.as_slice().expect("standard layout is contiguous"));
        let data: &[u8] = bytemuck::cast_slice(&repr);
        // Each chunk is copied out of the array as the stream asks for it, so the copies
        // overlap with the sending (the transport's task encodes and writes) instead of
        // preceding it; at most UPLOAD_AHEAD chunks are in flight.
        let (mut tx, rx) = futures::channel::mpsc::channel(UPLOAD_AHEAD);
        let feed = async move {
            use futures::SinkExt as _;
            for c in data.chunks(self.inner.options.chunk_bytes.max(1)) {
                let chunk = pb::UploadChunk {
                    header: None,
                    data: Bytes::copy_from_slice(c),
                };
                if tx.send(chunk).await.is_err() {
                    break; // the call ended early; its status says why
                }
            }
        };
        let (res, ()) = futures::join!(self.send_upload(meta, rx), feed);
        res
    }

    /// Uploads raw data: `data` is little-endian, C order, exactly `meta.nbytes()` long
    /// (bools one byte each, 0 or 1). The bytes are sent as slices of `data`, without a
    /// copy.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when the length does not match the meta; as
    /// [`Client::upload`].
    pub async fn upload_bytes(&self, meta: Meta, data: Bytes) -> Result<Array> {
        self.check_upload(&meta, data.len() as u64)?;
        let chunk = self.inner.options.chunk_bytes.max(1);
        let chunks = (0..data.len().div_ceil(chunk)).map(move |i| pb::UploadChunk {
            header: None,
            data: data.slice(i * chunk..((i + 1) * chunk).min(data.len())),
        });
        self.send_upload(meta, futures::stream::iter(chunks)).await
    }

    /// Whether an upload of `len` bytes for `meta` can be sent.
    fn check_upload(&self, meta: &Meta, len: u64) -> Result<()> {
        self.check()?;
        ndserve_proto::shape::checked_numel("upload", &meta.shape)?;
        if len != meta.nbytes() {
            return Err(Error::invalid(
                "upload",
                "data",
                format!(
                    "{} bytes do not hold an array of dtype {} and shape {} ({} bytes)",
                    len,
                    meta.dtype,
                    ndserve_proto::shape::fmt_shape(&meta.shape),
                    meta.nbytes()
                ),
            ));
        }
        Ok(())
    }

    /// The upload call: a header naming a new handle, then the data chunks of `body`.
    async fn send_upload<B>(&self, meta: Meta, body: B) -> Result<Array>
    where
        B: futures::Stream<Item = pb::UploadChunk> + Send + 'static,
    {
        use futures::StreamExt as _;
        let handle = self.alloc_handles(1);
        let header = pb::UploadChunk {
            header: Some(pb::UploadHeader {
                session_id: self.inner.session_id.clone(),
                handle,
                meta: Some(meta.to_wire()),
                device: self.device_wire(),
            }),
            data: Bytes::new(),
        };
        let mut grpc = self.grpc();
        grpc.upload(futures::stream::once(std::future::ready(header)).chain(body))
            .await
            .map_err(status_error)?;
        self.scoped_result(Array::new(self.unscoped(), handle, meta))
    }

    /// Waits until every op queued so far has been computed.
    ///
    /// # Errors
    ///
    /// The first error the server met running them, with the op that caused it.
    pub async fn sync_all(&self) -> Result<()> {
        self.sync_handles(vec![]).await
    }

    pub(crate) async fn sync_handles(&self, handles: Vec<u64>) -> Result<()> {
        if self.inner.barriers {
            self.barrier(handles, false).await?;
            return Ok(());
        }
        let req = pb::SyncRequest {
            session_id: self.inner.session_id.clone(),
            handles,
            after_seq: self.sent_seq(),
        };
        let mut grpc = self.grpc();
        self.guard(async move { grpc.sync(req).await.map_err(status_error) })
            .await?;
        Ok(())
    }

    /// Whether `bytes` of data can come back in a barrier's reply instead of a `Fetch`.
    pub(crate) fn fetches_inline(&self, bytes: u64) -> bool {
        self.inner.barriers && bytes <= ndserve_proto::INLINE_FETCH_BYTES
    }

    /// Sends a barrier on the Execute stream and waits for the server to reach it: every
    /// command queued before it has run. Fails with the first error among `handles`;
    /// with `fetch`, returns their data (at most [`ndserve_proto::INLINE_FETCH_BYTES`]
    /// together). One message each way, where a `Sync` call costs a unary call.
    pub(crate) async fn barrier(
        &self,
        handles: Vec<u64>,
        fetch: bool,
    ) -> Result<Vec<pb::InlineArray>> {
        self.check()?;
        let shared = &self.inner.shared;
        let Some((id, rx)) = shared.expect_barrier() else {
            return Err(shared.error().unwrap_or_else(closed_error));
        };
        let sent = self.enqueue(pb::Command {
            command: Some(pb::command::Command::Barrier(pb::Barrier {
                id,
                handles,
                fetch,
            })),
        });
        if let Err(e) = sent {
            shared.forget_barrier(id);
            return Err(e);
        }
        let reply = self
            .guard(async {
                rx.await.map_err(|_| {
                    shared.error().unwrap_or_else(|| Error::Unavailable {
                        message: "the session's Execute stream ended before the server answered"
                            .into(),
                    })
                })
            })
            .await;
        shared.forget_barrier(id);
        let reply = reply?;
        match reply.error {
            Some(e) => Err(Error::from_detail(&e)),
            None => Ok(reply.arrays),
        }
    }

    /// The server's version, protocol version, devices and memory limit.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] when the server cannot be reached.
    pub async fn server_info(&self) -> Result<pb::ServerInfo> {
        Ok(self
            .grpc()
            .get_server_info(pb::GetServerInfoRequest {})
            .await
            .map_err(status_error)?
            .into_inner())
    }

    /// Live arrays and bytes, per session and per device, and the ops executed. Covers the
    /// whole server; [`Client::session_stats`] covers this session only.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] when the server cannot be reached.
    pub async fn stats(&self) -> Result<pb::Stats> {
        self.get_stats(String::new()).await
    }

    /// [`Client::stats`] restricted to this session. Counts what the server has received so
    /// far, not what is still queued.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] when the server cannot be reached.
    pub async fn session_stats(&self) -> Result<pb::Stats> {
        self.get_stats(self.inner.session_id.clone()).await
    }

    async fn get_stats(&self, session_id: String) -> Result<pb::Stats> {
        Ok(self
            .grpc()
            .get_stats(pb::GetStatsRequest { session_id })
            .await
            .map_err(status_error)?
            .into_inner())
    }

    /// The server's workers and devices, with their live arrays and bytes.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] when the server cannot be reached.
    pub async fn devices(&self) -> Result<Vec<pb::DeviceInfo>> {
        Ok(self
            .grpc()
            .list_devices(pb::ListDevicesRequest {})
            .await
            .map_err(status_error)?
            .into_inner()
            .devices)
    }

    /// The op catalogue the server supports (names, NumPy names, parameters, summaries).
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] when the server cannot be reached.
    pub async fn list_ops(&self) -> Result<Vec<pb::OpInfo>> {
        Ok(self
            .grpc()
            .list_ops(pb::ListOpsRequest {})
            .await
            .map_err(status_error)?
            .into_inner()
            .ops)
    }

    /// Closes the session: the server frees all its arrays, the background tasks stop, and
    /// an embedded server shuts down. Every clone of the client and every array of it is
    /// unusable afterwards (calls fail with [`Error::FailedPrecondition`]). Closing twice
    /// is a no-op.
    ///
    /// # Errors
    ///
    /// The error of the `CloseSession` call (the session is considered closed anyway).
    pub async fn close(&self) -> Result<()> {
        let shared = &self.inner.shared;
        if shared.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        // Ends the Execute stream once the queue is drained, and stops the keep-alive.
        drop(lock(&self.inner.queue).take());
        drop(lock(&self.inner.keepalive_stop).take());
        shared.fail(closed_error());
        let r = self
            .grpc()
            .close_session(pb::CloseSessionRequest {
                session_id: self.inner.session_id.clone(),
            })
            .await
            .map_err(status_error);
        shared.shutdown_server().await;
        r.map(|_| ())
    }
}

impl ClientInner {
    fn enqueue(&self, cmd: pb::Command) -> Result<()> {
        let q = lock(&self.queue);
        let Some(tx) = q.as_ref() else {
            return Err(self.shared.error().unwrap_or_else(closed_error));
        };
        if tx.send(cmd).is_err() {
            return Err(self.shared.error().unwrap_or_else(|| Error::Unavailable {
                message: "the session's Execute stream has ended".into(),
            }));
        }
        self.sent_seq.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }
}

/// The background task that owns the session's `Execute` stream.
///
/// It ends when the command queue closes (the client was dropped or closed) and the
/// server ends its side; if the client was dropped rather than closed, it then closes the
/// session itself (and shuts an embedded server down).
async fn pump(
    mut grpc: Grpc,
    session_id: String,
    rx: mpsc::UnboundedReceiver<pb::Command>,
    shared: Arc<Shared>,
    max_batch: usize,
) {
    let first = pb::ExecuteRequest {
        session_id: session_id.clone(),
        commands: vec![],
    };
    let sid = session_id.clone();
    let sh = shared.clone();
    let batches = futures::stream::unfold(rx, move |mut rx| {
        let sid = sid.clone();
        let sh = sh.clone();
        async move {
            let Some(c) = rx.recv().await else {
                sh.drained.store(true, Ordering::Release);
                return None;
            };
            // Let the caller queue the rest of what it is issuing (an expression's ops and
            // the releases of its temporaries) so they travel, and can be fused, together.
            tokio::task::yield_now().await;
            let mut commands = vec![c];
            while commands.len() < max_batch {
                match rx.try_recv() {
                    Ok(c) => commands.push(c),
                    Err(_) => break,
                }
            }
            let req = pb::ExecuteRequest {
                session_id: sid,
                commands,
            };
            Some((req, rx))
        }
    });
    let stream = futures::StreamExt::chain(futures::stream::once(async { first }), batches);
    let result: Result<(), tonic::Status> = async {
        let mut events = grpc.execute(stream).await?.into_inner();
        while let Some(ev) = events.message().await? {
            shared
                .received_seq
                .fetch_max(ev.received_seq, Ordering::AcqRel);
            if let Some(reply) = ev.barrier {
                shared.answer_barrier(reply);
            }
        }
        Ok(())
    }
    .await;
    let closed = shared.closed.load(Ordering::Acquire);
    // The error is recorded before the barriers end, so their waiters report it.
    let failed = match result {
        Err(s) if !closed => {
            tracing::warn!(session = %session_id, error = %s, "execute stream failed");
            shared.fail(status_error(s));
            true
        }
        Ok(()) if !closed && !shared.drained.load(Ordering::Acquire) => {
            shared.fail(Error::Unavailable {
                message: "the server ended the session's Execute stream".into(),
            });
            true
        }
        _ => false,
    };
    shared.end_barriers();
    if failed {
        return;
    }
    if !closed {
        // The last client clone and array are gone: close the session (best effort).
        shared.closed.store(true, Ordering::Release);
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            grpc.close_session(pb::CloseSessionRequest { session_id }),
        )
        .await;
        shared.shutdown_server().await;
    }
}

/// Renews the session's lease every third of it until stopped.
async fn keepalive(
    mut grpc: Grpc,
    session_id: String,
    lease: Duration,
    mut stop: oneshot::Receiver<()>,
    shared: Arc<Shared>,
) {
    let period = (lease / 3).max(Duration::from_millis(10));
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(period) => {}
        }
        let req = pb::KeepAliveRequest {
            session_id: session_id.clone(),
        };
        tokio::select! {
            _ = &mut stop => return,
            r = grpc.keep_alive(req) => match r {
                Ok(_) => {}
                Err(s) if s.code() == tonic::Code::NotFound => {
                    tracing::warn!(session = %session_id, "session lease lapsed");
                    shared.fail(status_error(s));
                    return;
                }
                Err(s) => tracing::debug!(session = %session_id, error = %s, "keep-alive failed"),
            },
        }
    }
}

#[cfg(test)]
impl Client {
    /// A client with no server behind it (a lazy channel that is never used), whose command
    /// queue the test reads: for checking what ops put on the wire.
    pub(crate) fn detached() -> (Client, mpsc::UnboundedReceiver<pb::Command>) {
        let channel = Endpoint::from_static("http://127.0.0.1:9").connect_lazy();
        let (tx, rx) = mpsc::unbounded_channel();
        let client = Client {
            device: None,
            sharding: None,
            inner: Arc::new(ClientInner {
                grpc: ArrayServiceClient::new(channel),
                url: "http://127.0.0.1:9".into(),
                session_id: "test".into(),
                lease: Duration::ZERO,
                server_version: String::new(),
                barriers: false,
                options: ClientOptions::default(),
                next_handle: AtomicU64::new(1),
                queue: Mutex::new(Some(tx)),
                sent_seq: AtomicU64::new(0),
                keepalive_stop: Mutex::new(None),
                shared: Arc::new(Shared::new()),
                random: crate::random::RandomState::new(),
                workers: Default::default(),
            }),
        };
        (client, rx)
    }

    /// A test array of this client with the given meta (not on any server).
    pub(crate) fn fake_array(&self, dtype: ndserve_proto::DType, shape: &[usize]) -> Array {
        Array::new(
            self.clone(),
            self.alloc_handles(1),
            Meta::new(dtype, shape.to_vec()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_failures_are_unavailable() {
        let local = tonic::Status::from_error(Box::new(std::io::Error::other("broken pipe")));
        assert!(matches!(status_error(local), Error::Unavailable { .. }));
        let not_ready = tonic::Status::unknown("Service was not ready: transport error");
        assert!(matches!(status_error(not_ready), Error::Unavailable { .. }));
        let typed = tonic::Status::from(Error::handle_not_found(3));
        assert!(matches!(status_error(typed), Error::NotFound { .. }));
        let plain = tonic::Status::unavailable("gone");
        assert!(status_error(plain).is_retryable());
    }

    #[test]
    fn options_builders() {
        let o = ClientOptions::default()
            .with_chunk_bytes(4096)
            .with_max_batch(8)
            .with_lease(Duration::from_millis(1500));
        assert_eq!(o.chunk_bytes, 4096);
        assert_eq!(o.max_batch, 8);
        assert_eq!(o.lease, Some(Duration::from_millis(1500)));
    }
}
