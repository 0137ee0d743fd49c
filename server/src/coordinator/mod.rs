//! The coordinator: sessions, handles, the op pipeline, placement on workers.
//!
//! Every session has one executor task that runs its commands in the order received, so
//! an op's inputs are always computed (or failed) before it runs. An op that fails poisons
//! its outputs; ops that use them fail with the same error, naming the op that failed,
//! and the client sees it at the next fetch or sync of a dependent handle.

mod distributed;
mod fuse;
mod session;
mod workers;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::stream::BoxStream;
use ndserve_proto::{Attrs, Error, Input, Meta, Result, Scalar, pb};
use parking_lot::Mutex;
use tracing::Instrument;

pub use distributed::{Distributed, LayoutKind, Part, check_parts};
pub use session::{Job, Session, SlotState};
pub use workers::{DeviceEntry, WorkerTable};

use crate::config::ServerConfig;
use crate::worker::{Worker, WorkerCall, WorkerInput};

/// How long a large elementwise op waits for the rest of a chain to arrive (under 2% of
/// its own run time).
const CHAIN_WAIT: Duration = Duration::from_micros(20);

/// How long a call waits for the Execute stream to deliver the commands it depends on.
const SEQ_WAIT: Duration = Duration::from_secs(60);

/// Arrays smaller than this are always streamed through the coordinator: a direct fetch
/// costs a Grant round trip and a connection to the worker.
pub const DIRECT_FETCH_MIN: u64 = 1 << 20;

/// How long a direct-fetch ticket stays valid.
const DIRECT_FETCH_TTL: Duration = Duration::from_secs(30);

/// What a fetch gives.
pub enum Fetched {
    /// The data, streamed through the coordinator.
    Stream(Meta, BoxStream<'static, Result<Bytes>>),
    /// A ticket to fetch the data from the worker that holds it.
    Direct {
        /// The array's meta.
        meta: Meta,
        /// The worker's `WorkerService` endpoint.
        endpoint: String,
        /// The array's id there.
        array: u64,
        /// The one-use ticket.
        ticket: Bytes,
    },
}

/// The coordinator.
pub struct Coordinator {
    config: ServerConfig,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    workers: WorkerTable,
    next_array: AtomicU64,
    ops_executed: AtomicU64,
    ops_fused: AtomicU64,
}

impl Coordinator {
    /// A coordinator over these workers.
    pub fn new(config: ServerConfig, workers: Vec<Arc<dyn Worker>>) -> Arc<Coordinator> {
        Arc::new(Coordinator {
            config,
            sessions: Mutex::new(HashMap::new()),
            workers: WorkerTable::new(workers),
            next_array: AtomicU64::new(1),
            ops_executed: AtomicU64::new(0),
            ops_fused: AtomicU64::new(0),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Every device of every worker (lost workers' with state `lost`).
    pub fn devices(&self) -> Vec<DeviceEntry> {
        self.workers.devices()
    }

    /// The workers, for joins and heartbeats.
    pub fn workers(&self) -> &WorkerTable {
        &self.workers
    }

    /// Opens a session with a lease (`None` = the configured default).
    pub fn open_session(self: &Arc<Self>, lease: Option<Duration>) -> Arc<Session> {
        let id = format!("{:032x}", rand::random::<u128>());
        let lease = lease
            .map(|l| l.clamp(Duration::from_secs(1), Duration::from_secs(24 * 3600)))
            .unwrap_or(self.config.lease);
        let (s, rx) = Session::new(id.clone(), lease);
        self.sessions.lock().insert(id.clone(), s.clone());
        let weak = Arc::downgrade(&s);
        let coord = Arc::downgrade(self);
        tokio::spawn(
            executor(coord, weak, rx).instrument(tracing::info_span!("session", session = %id)),
        );
        tracing::info!(session = %id, lease_ms = lease.as_millis() as u64, "session opened");
        s
    }

    /// The session `id`, with its lease renewed.
    pub fn session(&self, id: &str) -> Result<Arc<Session>> {
        let s = self
            .sessions
            .lock()
            .get(id)
            .cloned()
            .ok_or_else(|| Error::NotFound {
                what: format!("session '{id}'"),
                message: "it was never opened, was closed, or its lease lapsed".into(),
            })?;
        s.touch();
        Ok(s)
    }

    /// Closes a session and frees its arrays; returns (arrays, bytes) freed.
    pub async fn close_session(&self, id: &str) -> Result<(u64, u64)> {
        let s = self
            .sessions
            .lock()
            .remove(id)
            .ok_or_else(|| Error::NotFound {
                what: format!("session '{id}'"),
                message: "it was never opened, was closed, or its lease lapsed".into(),
            })?;
        let handles: Vec<SlotState> = {
            let mut st = s.state.lock();
            st.closed = true;
            st.handles.drain().map(|(_, v)| v).collect()
        };
        s.progress.notify_waiters();
        let mut per_worker: HashMap<usize, Vec<u64>> = HashMap::new();
        for h in handles {
            for (worker, array) in h.owned_arrays() {
                per_worker.entry(worker).or_default().push(array);
            }
        }
        let mut arrays = 0;
        let mut bytes = 0;
        for (w, ids) in per_worker {
            arrays += ids.len() as u64;
            if let Some(worker) = self.workers.any(w) {
                bytes += worker.free(&ids).await;
            }
        }
        tracing::info!(session = %id, arrays, bytes, "session closed");
        Ok((arrays, bytes))
    }

    /// Closes sessions whose lease lapsed.
    pub async fn reap_expired(&self) {
        let now = Instant::now();
        let expired: Vec<String> = self
            .sessions
            .lock()
            .values()
            .filter(|s| s.expired(now))
            .map(|s| s.id.clone())
            .collect();
        for id in expired {
            tracing::info!(session = %id, "lease lapsed");
            let _ = self.close_session(&id).await;
        }
    }

    /// Per-session (id, arrays, bytes).
    pub fn session_usage(&self) -> Vec<(String, u64, u64)> {
        let sessions: Vec<_> = self.sessions.lock().values().cloned().collect();
        sessions
            .iter()
            .map(|s| {
                let (n, b) = s.usage();
                (s.id.clone(), n, b)
            })
            .collect()
    }

    /// Ops run so far.
    pub fn ops_executed(&self) -> u64 {
        self.ops_executed.load(Ordering::Relaxed)
    }

    /// Ops run inside fused elementwise chains.
    pub fn ops_fused(&self) -> u64 {
        self.ops_fused.load(Ordering::Relaxed)
    }

    /// Stores an uploaded array, arriving as chunks, under `handle`.
    pub async fn upload(
        &self,
        session: &Session,
        handle: u64,
        meta: Meta,
        chunks: futures::stream::BoxStream<'static, Result<Bytes>>,
        device: &str,
    ) -> Result<()> {
        let w = match device {
            "" => self.workers.least_loaded()?,
            d => self.workers.find_device("upload", d)?,
        };
        let array = self.new_id();
        let worker = self.workers.get(w)?;
        let local = local_device(device, worker.name());
        worker
            .put_chunks(array, meta.clone(), chunks, &local)
            .await?;
        let old = {
            let mut st = session.state.lock();
            if st.closed {
                None
            } else {
                st.handles.insert(
                    handle,
                    SlotState::Ready {
                        worker: w,
                        array,
                        meta,
                    },
                )
            }
        };
        for (worker, array) in old.map(|s| s.owned_arrays()).unwrap_or_default() {
            self.free_on(worker, &[array]).await;
        }
        Ok(())
    }

    /// A handle's data: streamed through the coordinator (never buffered), or, when the
    /// client allows it (`direct`) and a worker process holds an array of at least
    /// [`DIRECT_FETCH_MIN`] bytes, a ticket to fetch it from that worker directly.
    pub async fn fetch(
        &self,
        session: &Session,
        handle: u64,
        after_seq: u64,
        chunk: usize,
        direct: bool,
    ) -> Result<Fetched> {
        session.wait_received(after_seq, SEQ_WAIT).await?;
        match session.wait_ready(handle).await? {
            SlotState::Ready {
                worker,
                array,
                meta,
            } => {
                let w = self.workers.for_array(worker, handle)?;
                if direct
                    && meta.nbytes() >= DIRECT_FETCH_MIN
                    && let Some(endpoint) = w.endpoint()
                {
                    let ticket = Bytes::copy_from_slice(&rand::random::<[u8; 16]>());
                    w.grant(array, ticket.clone(), DIRECT_FETCH_TTL).await?;
                    return Ok(Fetched::Direct {
                        meta,
                        endpoint: endpoint.to_string(),
                        array,
                        ticket,
                    });
                }
                let (meta, chunks) = w.get(array, chunk).await?;
                Ok(Fetched::Stream(meta, chunks))
            }
            SlotState::Distributed(d) => {
                let (meta, chunks) = self.fetch_distributed(handle, d, chunk).await?;
                Ok(Fetched::Stream(meta, chunks))
            }
            SlotState::Pending | SlotState::Failed(_) => Err(Error::internal(
                "fetch",
                "a slot waited for is neither computed nor failed",
            )),
        }
    }

    /// Checks memory before an upload is buffered.
    pub fn check_upload_size(&self, meta: &Meta) -> Result<()> {
        if meta.nbytes() > self.config.memory_limit {
            return Err(Error::exhausted(
                "upload",
                format!(
                    "{} bytes exceed the server's memory limit of {} bytes",
                    meta.nbytes(),
                    self.config.memory_limit
                ),
            ));
        }
        Ok(())
    }

    fn new_id(&self) -> u64 {
        self.next_array.fetch_add(1, Ordering::Relaxed)
    }

    async fn free_on(&self, w: usize, ids: &[u64]) {
        if let Some(worker) = self.workers.any(w) {
            worker.free(ids).await;
        }
    }

    /// Where an op runs: the device the call names, else the worker holding most of its
    /// input bytes (an op runs where its inputs live), else the least loaded worker.
    fn place(&self, op: &str, device: &str, homes: &[(usize, usize, u64, u64)]) -> Result<usize> {
        if !device.is_empty() {
            return self.workers.find_device(op, device);
        }
        // The common case, all inputs on one worker, needs no tally.
        if let Some(&(_, first, handle, _)) = homes.first()
            && homes.iter().all(|h| h.1 == first)
        {
            self.workers.for_array(first, handle)?;
            return Ok(first);
        }
        let mut bytes: HashMap<usize, u64> = HashMap::new();
        for &(_, w, handle, b) in homes {
            self.workers.for_array(w, handle)?;
            *bytes.entry(w).or_default() += b + 1;
        }
        match homes
            .iter()
            .map(|h| h.1)
            .max_by_key(|w| (bytes[w], std::cmp::Reverse(*w)))
        {
            Some(w) => Ok(w),
            None => self.workers.least_loaded(),
        }
    }

    /// Copies array `array` (handle `handle`) of worker `from` to worker `to`; returns
    /// its id there. Remote workers stream it to each other directly; otherwise it passes
    /// through the coordinator, never through a client.
    async fn transfer(&self, handle: u64, from: usize, array: u64, to: usize) -> Result<u64> {
        let src = self.workers.for_array(from, handle)?;
        let dst = self.workers.get(to)?;
        let id = self.new_id();
        match src.endpoint() {
            Some(ep) if dst.endpoint().is_some() => dst.pull(id, ep, array).await?,
            _ => {
                let (meta, mut chunks) = src.get(array, ndserve_proto::CHUNK_BYTES).await?;
                let mut buf = bytes::BytesMut::with_capacity(meta.nbytes() as usize);
                while let Some(c) = futures::StreamExt::next(&mut chunks).await {
                    buf.extend_from_slice(&c?);
                }
                dst.put(id, meta, buf.freeze(), "").await?;
            }
        }
        tracing::debug!(handle, from = %src.name(), to = %dst.name(), "array moved");
        Ok(id)
    }

    async fn execute_op(&self, session: &Session, call: pb::OpCall) -> Result<Vec<Meta>> {
        let outputs = call.outputs.clone();
        let result = self.try_execute_op(session, call).await;
        let mut st = session.state.lock();
        match &result {
            Ok(metas) => {
                // Slots were set by try_execute_op.
                let _ = metas;
            }
            Err(e) => {
                let e = Arc::new(e.clone());
                for h in outputs {
                    if let Some(slot) = st.handles.get_mut(&h) {
                        *slot = SlotState::Failed(e.clone());
                    }
                }
            }
        }
        result
    }

    async fn try_execute_op(&self, session: &Session, call: pb::OpCall) -> Result<Vec<Meta>> {
        let op = call.op.as_str();
        let attrs = Attrs::from_wire(&call.attrs)?;
        if ndserve_proto::ops::distribute::is_distribution_op(op) {
            return self.execute_distributed(session, &call, attrs).await;
        }
        let mut inputs = Vec::with_capacity(call.inputs.len());
        let mut winputs = Vec::with_capacity(call.inputs.len());
        // Where each array input lives: (input position, worker, handle, bytes).
        let mut homes = Vec::new();
        // A sharded or mirrored operand sends the call down the distributed path.
        let mut distributed = false;
        {
            let st = session.state.lock();
            for operand in &call.inputs {
                match &operand.kind {
                    Some(pb::operand::Kind::Handle(h)) => match st.handles.get(h) {
                        None => return Err(Error::handle_not_found(*h)),
                        Some(SlotState::Failed(e)) => return Err((**e).clone()),
                        Some(SlotState::Distributed(_)) => {
                            distributed = true;
                            break;
                        }
                        Some(SlotState::Pending) => {
                            return Err(Error::invalid(
                                op,
                                "inputs",
                                format!("handle {h} is used before the op that computes it"),
                            ));
                        }
                        Some(SlotState::Ready {
                            worker: w,
                            array,
                            meta,
                        }) => {
                            homes.push((winputs.len(), *w, *h, meta.nbytes()));
                            inputs.push(Input::Array(meta.clone()));
                            winputs.push(WorkerInput::Array(*array));
                        }
                    },
                    Some(pb::operand::Kind::Scalar(s)) => {
                        let s = Scalar::from_wire(s)?;
                        inputs.push(Input::Scalar(s));
                        winputs.push(WorkerInput::Scalar(s));
                    }
                    None => return Err(Error::invalid(op, "inputs", "empty operand")),
                }
            }
        }
        if distributed {
            return self.execute_distributed(session, &call, attrs).await;
        }
        let metas = infer_outputs(op, &inputs, &attrs, call.outputs.len())?;
        let w = self.place(op, &call.device, &homes)?;
        let worker = self.workers.get(w)?;
        // Inputs that live elsewhere come over as temporary copies, freed after the op.
        let mut moved = Vec::new();
        for &(pos, from, handle, _) in &homes {
            if from != w
                && let WorkerInput::Array(array) = winputs[pos]
            {
                let copy = self.transfer(handle, from, array, w).await?;
                winputs[pos] = WorkerInput::Array(copy);
                moved.push(copy);
            }
        }
        let ids: Vec<u64> = metas.iter().map(|_| self.new_id()).collect();
        let span = tracing::debug_span!(
            "op",
            op,
            device = %worker.name(),
            dtype = %metas.first().map(|m| m.dtype.name()).unwrap_or(""),
            elements = metas.iter().map(Meta::numel).sum::<usize>(),
        );
        let started = Instant::now();
        let got = worker
            .run_op(WorkerCall {
                op: op.to_string(),
                inputs: winputs,
                outputs: ids.clone(),
                output_metas: metas,
                attrs,
                device: local_device(&call.device, worker.name()),
            })
            .instrument(span)
            .await;
        if !moved.is_empty() {
            worker.free(&moved).await;
        }
        let got = got?;
        tracing::trace!(op, micros = started.elapsed().as_micros() as u64, "op done");
        self.ops_executed.fetch_add(1, Ordering::Relaxed);
        let mut orphans = Vec::new();
        {
            let mut st = session.state.lock();
            let closed = st.closed;
            for ((h, id), meta) in call.outputs.iter().zip(&ids).zip(&got) {
                // A handle released or a session closed meanwhile: free the array.
                match st.handles.get_mut(h) {
                    Some(slot) if !closed => {
                        *slot = SlotState::Ready {
                            worker: w,
                            array: *id,
                            meta: meta.clone(),
                        };
                    }
                    _ => orphans.push(*id),
                }
            }
        }
        if !orphans.is_empty() {
            worker.free(&orphans).await;
        }
        Ok(got)
    }

    /// The reply to a barrier, reached once every job before it has run: the first error
    /// among its handles, or (when it asks) their data.
    async fn barrier(&self, session: &Session, barrier: pb::Barrier) -> pb::BarrierReply {
        let id = barrier.id;
        match self.barrier_arrays(session, barrier).await {
            Ok(arrays) => pb::BarrierReply {
                id,
                error: None,
                arrays,
            },
            Err(e) => pb::BarrierReply {
                id,
                error: Some(e.to_detail()),
                arrays: Vec::new(),
            },
        }
    }

    async fn barrier_arrays(
        &self,
        session: &Session,
        barrier: pb::Barrier,
    ) -> Result<Vec<pb::InlineArray>> {
        let op = if barrier.fetch { "fetch" } else { "sync" };
        let mut total = 0u64;
        {
            let st = session.state.lock();
            for &h in &barrier.handles {
                let bytes = match st.handles.get(&h) {
                    None => return Err(Error::handle_not_found(h)),
                    Some(SlotState::Failed(e)) => return Err((**e).clone()),
                    Some(SlotState::Ready { meta, .. }) => meta.nbytes(),
                    Some(SlotState::Distributed(d)) => d.nbytes(),
                    // Its op comes after the barrier: waiting would stall the pipeline.
                    Some(SlotState::Pending) => {
                        return Err(Error::invalid(
                            op,
                            "handles",
                            format!("handle {h} is named before the op that computes it"),
                        ));
                    }
                };
                total = total.saturating_add(bytes);
            }
        }
        if !barrier.fetch {
            return Ok(Vec::new());
        }
        if total > ndserve_proto::INLINE_FETCH_BYTES {
            return Err(Error::invalid(
                op,
                "handles",
                format!(
                    "{total} bytes are more than the {} a barrier fetches inline; use Fetch",
                    ndserve_proto::INLINE_FETCH_BYTES
                ),
            ));
        }
        let mut arrays = Vec::with_capacity(barrier.handles.len());
        for &h in &barrier.handles {
            let Fetched::Stream(meta, chunks) = self
                .fetch(session, h, 0, ndserve_proto::CHUNK_BYTES, false)
                .await?
            else {
                return Err(Error::internal(op, "an inline fetch was redirected"));
            };
            let data = crate::worker::gather_chunks(op, &meta, chunks).await?;
            arrays.push(pb::InlineArray {
                meta: Some(meta.to_wire()),
                data,
            });
        }
        Ok(arrays)
    }

    async fn release(&self, session: &Session, handles: Vec<u64>) {
        let mut per_worker: HashMap<usize, Vec<u64>> = HashMap::new();
        {
            let mut st = session.state.lock();
            for h in handles {
                for (worker, array) in st
                    .handles
                    .remove(&h)
                    .map(|s| s.owned_arrays())
                    .unwrap_or_default()
                {
                    per_worker.entry(worker).or_default().push(array);
                }
            }
        }
        for (w, ids) in per_worker {
            self.free_on(w, &ids).await;
        }
    }
}

/// The metas of a call's `outputs` outputs. The server never trusts the client's
/// inference: it infers again. A bug in a rule must not take the session's pipeline down:
/// a panic is INTERNAL.
fn infer_outputs(op: &str, inputs: &[Input], attrs: &Attrs, outputs: usize) -> Result<Vec<Meta>> {
    let metas = std::panic::catch_unwind(|| ndserve_proto::ops::infer(op, inputs, attrs))
        .unwrap_or_else(|_| Err(Error::internal(op, "type/shape inference panicked")))?;
    if metas.len() != outputs {
        return Err(Error::invalid(
            op,
            "outputs",
            format!(
                "{op} has {} outputs but the call names {outputs} handles",
                metas.len()
            ),
        ));
    }
    Ok(metas)
}

/// Runs a session's jobs in order until the session is gone.
async fn executor(
    coord: Weak<Coordinator>,
    session: Weak<Session>,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Job>,
) {
    // Jobs received but not yet run: the fusion planner looks ahead in them.
    let mut queue: std::collections::VecDeque<Job> = std::collections::VecDeque::new();
    loop {
        let job = match queue.pop_front() {
            Some(j) => j,
            None => match rx.recv().await {
                Some(j) => j,
                None => break,
            },
        };
        let (Some(coord), Some(session)) = (coord.upgrade(), session.upgrade()) else {
            break;
        };
        if session.state.lock().closed {
            break;
        }
        match job {
            Job::Op(call) => {
                while let Ok(j) = rx.try_recv() {
                    queue.push_back(j);
                }
                if queue.is_empty() && coord.worth_waiting_for_a_chain(&session, &call) {
                    // The rest of a chain may be a few microseconds behind (still being
                    // accepted, or in the client's next batch): a large op can wait that long.
                    let t = Instant::now();
                    while queue.is_empty() && t.elapsed() < CHAIN_WAIT {
                        tokio::task::yield_now().await;
                        while let Ok(j) = rx.try_recv() {
                            queue.push_back(j);
                        }
                    }
                }
                if coord.try_fuse(&session, &call, &mut queue).await {
                    session.progress.notify_waiters();
                    continue;
                }
                let op = call.op.clone();
                if let Err(e) = coord.execute_op(&session, call).await {
                    tracing::debug!(op, error = %e, "op failed");
                }
            }
            Job::Release(handles) => coord.release(&session, handles).await,
            Job::Barrier(barrier, replies) => {
                let reply = coord.barrier(&session, barrier).await;
                let _ = replies.send(pb::ExecuteEvent {
                    received_seq: *session.received.borrow(),
                    barrier: Some(reply),
                });
            }
            Job::Run(calls, reply) => {
                let mut all = Vec::new();
                let mut err = None;
                for call in calls {
                    if let Some(e) = &err {
                        // Later calls of a failed Run fail too, naming the first error.
                        let e: &Error = e;
                        let mut st = session.state.lock();
                        for h in &call.outputs {
                            st.handles
                                .insert(*h, SlotState::Failed(Arc::new(e.clone())));
                        }
                        continue;
                    }
                    match coord.execute_op(&session, call).await {
                        Ok(m) => all.extend(m),
                        Err(e) => err = Some(e),
                    }
                }
                let _ = reply.send(match err {
                    Some(e) => Err(e),
                    None => Ok(all),
                });
            }
        }
        session.progress.notify_waiters();
    }
}

/// The part of a device name after its worker's (`cuda:0` of `w1/cuda:0`): what the worker
/// itself calls it. Empty for a bare worker name or another worker's device.
fn local_device(device: &str, worker: &str) -> String {
    device
        .strip_prefix(worker)
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or_default()
        .to_string()
}
