//! The coordinator: sessions, handles, the op pipeline, placement on workers.
//!
//! Every session has one executor task that runs its commands in the order received, so
//! an op's inputs are always computed (or failed) before it runs. An op that fails poisons
//! its outputs; ops that use them fail with the same error, naming the op that failed,
//! and the client sees it at the next fetch or sync of a dependent handle.

mod session;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::stream::BoxStream;
use ndserve_proto::{Attrs, Error, Input, Meta, Result, Scalar, pb};
use parking_lot::Mutex;
use tracing::Instrument;

pub use session::{Job, Session, SlotState};

use crate::config::ServerConfig;
use crate::worker::{DeviceStatus, Worker, WorkerCall, WorkerInput};

/// How long a call waits for the Execute stream to deliver the commands it depends on.
const SEQ_WAIT: Duration = Duration::from_secs(60);

/// The coordinator.
pub struct Coordinator {
    config: ServerConfig,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    workers: Vec<Arc<dyn Worker>>,
    next_array: AtomicU64,
    ops_executed: AtomicU64,
}

impl Coordinator {
    /// A coordinator over these workers.
    pub fn new(config: ServerConfig, workers: Vec<Arc<dyn Worker>>) -> Arc<Coordinator> {
        Arc::new(Coordinator {
            config,
            sessions: Mutex::new(HashMap::new()),
            workers,
            next_array: AtomicU64::new(1),
            ops_executed: AtomicU64::new(0),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Every device of every worker.
    pub fn devices(&self) -> Vec<(String, DeviceStatus)> {
        self.workers
            .iter()
            .flat_map(|w| w.devices().into_iter().map(|d| (w.name().to_string(), d)))
            .collect()
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
            if let SlotState::Ready { worker, array, .. } = h {
                per_worker.entry(worker).or_default().push(array);
            }
        }
        let mut arrays = 0;
        let mut bytes = 0;
        for (w, ids) in per_worker {
            arrays += ids.len() as u64;
            bytes += self.workers[w].free(&ids).await;
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

    fn pick_worker(&self) -> Result<usize> {
        if self.workers.is_empty() {
            return Err(Error::Unavailable {
                message: "no worker has joined this server".into(),
            });
        }
        Ok((0..self.workers.len())
            .min_by_key(|&i| {
                self.workers[i]
                    .devices()
                    .iter()
                    .map(|d| d.live_bytes)
                    .sum::<u64>()
            })
            .unwrap_or(0))
    }

    /// Stores an uploaded array under `handle`.
    pub async fn upload(
        &self,
        session: &Session,
        handle: u64,
        meta: Meta,
        data: Bytes,
    ) -> Result<()> {
        let w = self.pick_worker()?;
        let array = self.next_array.fetch_add(1, Ordering::Relaxed);
        self.workers[w].put(array, meta.clone(), data).await?;
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
        if let Some(SlotState::Ready { worker, array, .. }) = old {
            self.workers[worker].free(&[array]).await;
        }
        Ok(())
    }

    /// Streams a handle's data.
    pub async fn fetch(
        &self,
        session: &Session,
        handle: u64,
        after_seq: u64,
        chunk: usize,
    ) -> Result<(Meta, BoxStream<'static, Result<Bytes>>)> {
        session.wait_received(after_seq, SEQ_WAIT).await?;
        let (w, array, _) = session.wait_ready(handle).await?;
        self.workers[w].get(array, chunk).await
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
        let mut inputs = Vec::with_capacity(call.inputs.len());
        let mut winputs = Vec::with_capacity(call.inputs.len());
        let mut worker = None;
        {
            let st = session.state.lock();
            for operand in &call.inputs {
                match &operand.kind {
                    Some(pb::operand::Kind::Handle(h)) => match st.handles.get(h) {
                        None => return Err(Error::handle_not_found(*h)),
                        Some(SlotState::Failed(e)) => return Err((**e).clone()),
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
                            if worker.is_some_and(|x| x != *w) {
                                return Err(Error::Unavailable {
                                    message: format!("{op}: inputs live on different workers"),
                                });
                            }
                            worker = Some(*w);
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
        // The server never trusts the client's inference: it infers again.
        // A bug in a rule must not take the session's pipeline down: a panic is INTERNAL.
        let metas = std::panic::catch_unwind(|| ndserve_proto::ops::infer(op, &inputs, &attrs))
            .unwrap_or_else(|_| Err(Error::internal(op, "type/shape inference panicked")))?;
        if metas.len() != call.outputs.len() {
            return Err(Error::invalid(
                op,
                "outputs",
                format!(
                    "{op} has {} outputs but the call names {} handles",
                    metas.len(),
                    call.outputs.len()
                ),
            ));
        }
        let w = match worker {
            Some(w) => w,
            None => self.pick_worker()?,
        };
        let ids: Vec<u64> = metas
            .iter()
            .map(|_| self.next_array.fetch_add(1, Ordering::Relaxed))
            .collect();
        let span = tracing::debug_span!(
            "op",
            op,
            device = %self.workers[w].name(),
            dtype = %metas.first().map(|m| m.dtype.name()).unwrap_or(""),
            elements = metas.iter().map(Meta::numel).sum::<usize>(),
        );
        let started = Instant::now();
        let got = self.workers[w]
            .run_op(WorkerCall {
                op: op.to_string(),
                inputs: winputs,
                outputs: ids.clone(),
                output_metas: metas,
                attrs,
            })
            .instrument(span)
            .await?;
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
            self.workers[w].free(&orphans).await;
        }
        Ok(got)
    }

    async fn release(&self, session: &Session, handles: Vec<u64>) {
        let mut per_worker: HashMap<usize, Vec<u64>> = HashMap::new();
        {
            let mut st = session.state.lock();
            for h in handles {
                if let Some(SlotState::Ready { worker, array, .. }) = st.handles.remove(&h) {
                    per_worker.entry(worker).or_default().push(array);
                }
            }
        }
        for (w, ids) in per_worker {
            self.workers[w].free(&ids).await;
        }
    }
}

/// Runs a session's jobs in order until the session is gone.
async fn executor(
    coord: Weak<Coordinator>,
    session: Weak<Session>,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Job>,
) {
    while let Some(job) = rx.recv().await {
        let (Some(coord), Some(session)) = (coord.upgrade(), session.upgrade()) else {
            break;
        };
        if session.state.lock().closed {
            break;
        }
        match job {
            Job::Op(call) => {
                let op = call.op.clone();
                if let Err(e) = coord.execute_op(&session, call).await {
                    tracing::debug!(op, error = %e, "op failed");
                }
            }
            Job::Release(handles) => coord.release(&session, handles).await,
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
