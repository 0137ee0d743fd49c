//! A session: its handles, its in-order op pipeline and its lease.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ndserve_proto::{Error, Meta, Result, pb};

use super::distributed::Distributed;
use parking_lot::Mutex;
use tokio::sync::{Notify, mpsc, oneshot, watch};

/// Where a handle's array is.
#[derive(Clone, Debug)]
pub enum SlotState {
    /// Its op is queued or running.
    Pending,
    /// Computed: on this worker, under this worker-side id.
    Ready {
        /// Index of the worker.
        worker: usize,
        /// Worker-side array id.
        array: u64,
        /// Its meta.
        meta: Meta,
    },
    /// Computed, as a sharded or mirrored array over several workers.
    Distributed(Arc<Distributed>),
    /// Its op, or one it depends on, failed with this error.
    Failed(Arc<Error>),
}

/// Work for the session's executor, in the order it was received.
pub enum Job {
    /// One op from the Execute stream.
    Op(pb::OpCall),
    /// Handles released by the client.
    Release(Vec<u64>),
    /// Ops from the unary Run call; the metas of all outputs (or the first error) go back.
    Run(Vec<pb::OpCall>, oneshot::Sender<Result<Vec<Meta>>>),
    /// A barrier from the Execute stream: answered on the stream that sent it once every
    /// job before it has run.
    Barrier(pb::Barrier, BarrierReplies),
}

/// Where a barrier's reply goes: the events of the Execute stream that sent it (unbounded:
/// a client has at most one barrier in flight per waiting call, and replies are never
/// dropped, unlike progress events).
pub type BarrierReplies = mpsc::UnboundedSender<pb::ExecuteEvent>;

pub(crate) struct SessionState {
    pub handles: HashMap<u64, SlotState>,
    pub last_seen: Instant,
    pub closed: bool,
}

/// One client session.
pub struct Session {
    /// The unguessable id.
    pub id: String,
    /// The lease.
    pub lease: Duration,
    pub(crate) state: Mutex<SessionState>,
    /// Commands received from the Execute stream.
    pub(crate) received: watch::Sender<u64>,
    /// Notified whenever a job finishes.
    pub(crate) progress: Notify,
    pub(crate) jobs: mpsc::UnboundedSender<Job>,
}

impl Session {
    pub(crate) fn new(id: String, lease: Duration) -> (Arc<Session>, mpsc::UnboundedReceiver<Job>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let s = Arc::new(Session {
            id,
            lease,
            state: Mutex::new(SessionState {
                handles: HashMap::new(),
                last_seen: Instant::now(),
                closed: false,
            }),
            received: watch::Sender::new(0),
            progress: Notify::new(),
            jobs: tx,
        });
        (s, rx)
    }

    /// Renews the lease.
    pub fn touch(&self) {
        self.state.lock().last_seen = Instant::now();
    }

    /// Whether the lease has lapsed.
    pub fn expired(&self, now: Instant) -> bool {
        let st = self.state.lock();
        now.duration_since(st.last_seen) > self.lease
    }

    /// Accepts commands from the Execute stream: registers the outputs of every op as
    /// pending (so a fetch that arrives later finds them), queues the work, and counts the
    /// commands received. Barriers are answered on `replies`.
    pub fn accept(&self, commands: Vec<pb::Command>, replies: &BarrierReplies) -> Result<()> {
        let n = commands.len() as u64;
        {
            let mut st = self.state.lock();
            if st.closed {
                return Err(Error::NotFound {
                    what: format!("session {}", self.id),
                    message: "closed".into(),
                });
            }
            for c in commands {
                match c.command {
                    Some(pb::command::Command::Call(call)) => {
                        for &h in &call.outputs {
                            st.handles.insert(h, SlotState::Pending);
                        }
                        let _ = self.jobs.send(Job::Op(call));
                    }
                    Some(pb::command::Command::Release(r)) => {
                        let _ = self.jobs.send(Job::Release(r.handles));
                    }
                    Some(pb::command::Command::Barrier(b)) => {
                        let _ = self.jobs.send(Job::Barrier(b, replies.clone()));
                    }
                    None => {}
                }
            }
        }
        self.received.send_modify(|v| *v += n);
        Ok(())
    }

    /// Queues ops from a Run call.
    pub fn accept_run(
        &self,
        calls: Vec<pb::OpCall>,
    ) -> Result<oneshot::Receiver<Result<Vec<Meta>>>> {
        let (tx, rx) = oneshot::channel();
        let mut st = self.state.lock();
        if st.closed {
            return Err(Error::NotFound {
                what: format!("session {}", self.id),
                message: "closed".into(),
            });
        }
        for call in &calls {
            for &h in &call.outputs {
                st.handles.insert(h, SlotState::Pending);
            }
        }
        let _ = self.jobs.send(Job::Run(calls, tx));
        Ok(rx)
    }

    /// Waits until the server has received `seq` commands of the Execute stream (the
    /// client names how many it had sent when it asked).
    pub async fn wait_received(&self, seq: u64, timeout: Duration) -> Result<()> {
        let mut rx = self.received.subscribe();
        let waited = tokio::time::timeout(timeout, rx.wait_for(|&v| v >= seq))
            .await
            .map(|r| r.map(|_| ()));
        match waited {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Error::Unavailable {
                message: format!("session {} closed", self.id),
            }),
            Err(_) => Err(Error::FailedPrecondition {
                message: format!(
                    "after_seq {seq} is ahead of the {} commands received on session {}'s Execute stream",
                    *self.received.borrow(),
                    self.id
                ),
            }),
        }
    }

    /// Waits until `handle` is computed (then its slot: `Ready` or `Distributed`) or
    /// failed (then its error).
    pub async fn wait_ready(&self, handle: u64) -> Result<SlotState> {
        loop {
            let notified = self.progress.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let st = self.state.lock();
                if st.closed {
                    return Err(Error::NotFound {
                        what: format!("session {}", self.id),
                        message: "closed".into(),
                    });
                }
                match st.handles.get(&handle) {
                    None => return Err(Error::handle_not_found(handle)),
                    Some(s @ (SlotState::Ready { .. } | SlotState::Distributed(_))) => {
                        return Ok(s.clone());
                    }
                    Some(SlotState::Failed(e)) => return Err((**e).clone()),
                    Some(SlotState::Pending) => {}
                }
            }
            notified.await;
        }
    }

    /// Arrays and bytes held.
    pub fn usage(&self) -> (u64, u64) {
        let st = self.state.lock();
        st.handles.values().fold((0, 0), |(n, b), s| match s {
            SlotState::Ready { meta, .. } => (n + 1, b + meta.nbytes()),
            SlotState::Distributed(d) => (n + 1, b + d.nbytes()),
            SlotState::Pending | SlotState::Failed(_) => (n, b),
        })
    }
}
