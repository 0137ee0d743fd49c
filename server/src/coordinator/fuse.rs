//! Finding fusable chains in a session's queue and running them as one worker op
//! ([`crate::fusion`]).
//!
//! A chain starts at the op the executor is about to run and takes the elementwise ops
//! queued after it, up to the first other op; releases in between are skipped over (they
//! stay queued and run in order). The longest prefix whose
//! intermediates are all released before anything else could read them runs fused; the
//! intermediates are never computed. Everything must hold exactly or the ops run one by
//! one as usual: every operand whole on one worker, every array operand and result of the
//! result's shape (or one element), at least [`MIN_ELEMENTS`] elements.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use ndserve_proto::ops::elementwise;
use ndserve_proto::{Error, Input, Meta, Scalar, pb};

use super::{Coordinator, Job, Session, SlotState};
use crate::fusion::{Arg, FUSED_OP, MAX_INPUTS, MAX_NODES, MIN_ELEMENTS, Node, Program};
use crate::worker::{WorkerCall, WorkerInput};

/// Elementwise ops on arrays this large (1 ms or more of work) wait briefly for the rest
/// of a chain.
const WAIT_ELEMENTS: usize = 1 << 20;

/// A fused call, planned.
struct Plan {
    program: Program,
    inputs: Vec<WorkerInput>,
    worker: usize,
    /// The chain's ops' output handles (the last is the result).
    handles: Vec<u64>,
    /// Queue positions of the chain's ops after the first.
    positions: Vec<usize>,
    out: Meta,
}

/// A chain being collected.
#[derive(Default)]
struct Chain {
    /// The operands outside the chain (handles and Python scalars).
    leaves: Vec<(WorkerInput, Input)>,
    leaf_of: HashMap<u64, usize>,
    worker: Option<usize>,
    /// Output handle to node index.
    produced: HashMap<u64, usize>,
    nodes: Vec<Node>,
    handles: Vec<u64>,
    positions: Vec<usize>,
    released: HashSet<u64>,
    /// Where each node's result is last read (node index).
    last_use: HashMap<usize, usize>,
}

impl Chain {
    /// Adds call `c` as the next node; false (leaving the chain as it was) when it can't.
    fn add(&mut self, c: &pb::OpCall, slots: &HashMap<u64, SlotState>) -> bool {
        let leaves_before = self.leaves.len();
        let mut new_leaves: Vec<u64> = Vec::new();
        let mut uses = Vec::new();
        let mut args = Vec::new();
        let ok = (|| {
            for operand in &c.inputs {
                match operand.kind.as_ref()? {
                    pb::operand::Kind::Handle(h) => {
                        if let Some(&j) = self.produced.get(h) {
                            uses.push(j);
                            args.push(Arg::Node(j));
                            continue;
                        }
                        if self.released.contains(h) {
                            return None;
                        }
                        if let Some(&k) = self.leaf_of.get(h) {
                            args.push(Arg::Input(k));
                            continue;
                        }
                        let SlotState::Ready {
                            worker: w,
                            array,
                            meta,
                        } = slots.get(h)?
                        else {
                            return None;
                        };
                        if *self.worker.get_or_insert(*w) != *w || self.leaves.len() >= MAX_INPUTS {
                            return None;
                        }
                        self.leaf_of.insert(*h, self.leaves.len());
                        new_leaves.push(*h);
                        args.push(Arg::Input(self.leaves.len()));
                        self.leaves
                            .push((WorkerInput::Array(*array), Input::Array(meta.clone())));
                    }
                    pb::operand::Kind::Scalar(s) => {
                        let s = Scalar::from_wire(s).ok()?;
                        if self.leaves.len() >= MAX_INPUTS {
                            return None;
                        }
                        args.push(Arg::Input(self.leaves.len()));
                        self.leaves.push((WorkerInput::Scalar(s), Input::Scalar(s)));
                    }
                }
            }
            Some(elementwise::row(&c.op)?.name)
        })();
        let Some(op) = ok else {
            self.leaves.truncate(leaves_before);
            for h in new_leaves {
                self.leaf_of.remove(&h);
            }
            if self.nodes.is_empty() {
                self.worker = None;
            }
            return false;
        };
        let j = self.nodes.len();
        for u in uses {
            self.last_use.insert(u, j);
        }
        self.produced.insert(c.outputs[0], j);
        self.nodes.push(Node { op, args });
        self.handles.push(c.outputs[0]);
        true
    }
}

/// A single-output elementwise call with no placement of its own.
fn elementwise_call(c: &pb::OpCall) -> bool {
    c.outputs.len() == 1
        && c.device.is_empty()
        && c.attrs.is_empty()
        && elementwise::row(&c.op).is_some()
}

impl Coordinator {
    /// Runs `head` fused with the ops queued after it when they form a chain (see the
    /// module); answers whether it did. The ops it took are removed from `queue`.
    pub(super) async fn try_fuse(
        &self,
        session: &Session,
        head: &pb::OpCall,
        queue: &mut VecDeque<Job>,
    ) -> bool {
        if !elementwise_call(head) || queue.is_empty() {
            return false;
        }
        let Some(plan) = self.plan_chain(session, head, queue) else {
            return false;
        };
        for &p in plan.positions.iter().rev() {
            queue.remove(p);
        }
        let id = self.new_id();
        let Ok(worker) = self.workers.get(plan.worker) else {
            return false;
        };
        let nodes = plan.program.nodes.len();
        let got = worker
            .run_op(WorkerCall {
                op: FUSED_OP.into(),
                inputs: plan.inputs,
                outputs: vec![id],
                output_metas: vec![plan.out.clone()],
                attrs: plan.program.to_attrs(),
                device: String::new(),
            })
            .await;
        let last = *plan.handles.last().expect("a chain has ops");
        let mut orphan = false;
        {
            let mut st = session.state.lock();
            let closed = st.closed;
            match &got {
                Ok(metas) => {
                    let skipped = Arc::new(Error::invalid(
                        &head.op,
                        "handle",
                        format!(
                            "this handle was released before it was computed: its op ran fused into handle {last}"
                        ),
                    ));
                    for h in &plan.handles[..plan.handles.len() - 1] {
                        if let Some(slot) = st.handles.get_mut(h) {
                            *slot = SlotState::Failed(skipped.clone());
                        }
                    }
                    match st.handles.get_mut(&last) {
                        Some(slot) if !closed => {
                            *slot = SlotState::Ready {
                                worker: plan.worker,
                                array: id,
                                meta: metas.first().cloned().unwrap_or(plan.out),
                            };
                        }
                        _ => orphan = true,
                    }
                }
                Err(e) => {
                    let e = Arc::new(e.clone());
                    for h in &plan.handles {
                        if let Some(slot) = st.handles.get_mut(h) {
                            *slot = SlotState::Failed(e.clone());
                        }
                    }
                }
            }
        }
        if orphan {
            worker.free(&[id]).await;
        }
        match got {
            Ok(_) => {
                self.ops_executed.fetch_add(nodes as u64, Ordering::Relaxed);
                self.ops_fused.fetch_add(nodes as u64, Ordering::Relaxed);
                tracing::debug!(nodes, handle = last, "elementwise chain ran fused");
            }
            Err(e) => tracing::debug!(error = %e, "fused chain failed"),
        }
        true
    }

    /// Whether `head` could start a chain worth waiting for: an elementwise op on an
    /// array of at least [`WAIT_ELEMENTS`] elements.
    pub(super) fn worth_waiting_for_a_chain(&self, session: &Session, head: &pb::OpCall) -> bool {
        if !elementwise_call(head) {
            return false;
        }
        let st = session.state.lock();
        head.inputs.iter().any(|o| match &o.kind {
            Some(pb::operand::Kind::Handle(h)) => matches!(
                st.handles.get(h),
                Some(SlotState::Ready { meta, .. }) if meta.numel() >= WAIT_ELEMENTS
            ),
            _ => false,
        })
    }

    fn plan_chain(
        &self,
        session: &Session,
        head: &pb::OpCall,
        queue: &VecDeque<Job>,
    ) -> Option<Plan> {
        let st = session.state.lock();
        let mut ch = Chain::default();
        // The head: worth fusing only on large arrays.
        let big = head.inputs.iter().any(|o| match &o.kind {
            Some(pb::operand::Kind::Handle(h)) => matches!(
                st.handles.get(h),
                Some(SlotState::Ready { meta, .. }) if meta.numel() >= MIN_ELEMENTS
            ),
            _ => false,
        });
        if !big {
            return None;
        }
        if !ch.add(head, &st.handles) {
            return None;
        }
        for (pos, job) in queue.iter().enumerate() {
            if ch.nodes.len() >= MAX_NODES {
                break;
            }
            match job {
                Job::Release(hs) => {
                    if hs.iter().any(|h| ch.leaf_of.contains_key(h)) {
                        break;
                    }
                    ch.released.extend(hs.iter().copied());
                }
                // Ops on leaves only join too: a later node may read them (`exp(x) / (y*y)`).
                Job::Op(c) if elementwise_call(c) => {
                    if !ch.add(c, &st.handles) {
                        break;
                    }
                    ch.positions.push(pos);
                }
                _ => break,
            }
        }
        drop(st);
        let Chain {
            mut leaves,
            worker,
            nodes,
            handles,
            positions,
            released,
            last_use,
            ..
        } = ch;
        // The longest prefix whose intermediates are released and read only inside it.
        let mut k = nodes.len();
        while k >= 2 {
            let ok = (0..k - 1).all(|j| {
                released.contains(&handles[j]) && last_use.get(&j).is_some_and(|&u| u < k)
            });
            if ok {
                break;
            }
            k -= 1;
        }
        if k < 2 {
            return None;
        }
        let program = Program {
            nodes: nodes[..k].to_vec(),
        };
        // Only the inputs the prefix reads (the scan may have added more).
        let used = program
            .nodes
            .iter()
            .flat_map(|n| n.args.iter())
            .filter_map(|a| match a {
                Arg::Input(i) => Some(*i),
                Arg::Node(_) => None,
            })
            .max()?;
        leaves.truncate(used + 1);
        let metas: Vec<Input> = leaves.iter().map(|l| l.1.clone()).collect();
        let node_metas = program.metas(&metas).ok()?;
        let out = node_metas.last()?.clone();
        let shapes_ok = out.numel() >= MIN_ELEMENTS
            && node_metas.iter().all(|m| m.shape == out.shape)
            && metas.iter().all(|m| match m {
                Input::Array(a) => a.shape == out.shape || a.numel() == 1,
                Input::Scalar(_) => true,
            });
        if !shapes_ok {
            return None;
        }
        Some(Plan {
            program,
            inputs: leaves.into_iter().map(|l| l.0).collect(),
            worker: worker?,
            handles: handles[..k].to_vec(),
            positions: positions[..k - 1].to_vec(),
            out,
        })
    }
}
