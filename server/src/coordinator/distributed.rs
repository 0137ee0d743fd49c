//! Sharded and mirrored arrays: one logical array laid out over several workers.
//!
//! A sharded array is split along one axis into parts, one per device, as
//! `np.array_split` splits it; a mirrored array holds one full array per device (its
//! replicas; `from_replicas` lets them differ, as TensorFlow's per-replica values do).
//! Every part is an ordinary worker array owned by the logical one.
//!
//! How an op with such operands runs:
//! - mirrored operands only (same devices): the op runs on every replica, in parallel,
//!   and gives mirrored results (`run_per_replica`);
//! - elementwise ops (the table rows, `where`, `clip`) on identically sharded operands run
//!   part by part in parallel; an operand that is not sharded is sliced to each part when
//!   it spans the sharded axis, or sent whole when it broadcasts along it;
//! - reductions along other axes run part by part; over the sharded axis, each part
//!   reduces to a partial on its worker and the partials are combined on one worker
//!   (`mean` sums partials in a wide dtype, then divides);
//! - `matmul` with a row-sharded left operand and a replicated (or single) right one runs
//!   part by part;
//! - every other op gathers its distributed operands onto one worker and runs there, so
//!   no op fails because of a layout.
//!
//! Temporary copies (gathered operands, split pieces, partials) are freed when the op ends,
//! whether it succeeded or not.

use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use futures::future::join_all;
use futures::stream::BoxStream;
use ndserve_proto::ops::distribute;
use ndserve_proto::ops::reduce::{self, ReduceKind};
use ndserve_proto::{Attr, Attrs, DType, Error, Input, Meta, Result, Scalar, pb};
use parking_lot::Mutex;

use super::{Coordinator, Session, SlotState};
use crate::worker::{Worker, WorkerCall, WorkerInput};

/// How a distributed array is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutKind {
    /// Split along this axis; parts in order along it.
    Sharded {
        /// The axis.
        axis: usize,
    },
    /// One full array per device.
    Mirrored,
}

/// One part of a distributed array: a worker array.
#[derive(Clone, Debug)]
pub struct Part {
    /// The worker holding it.
    pub worker: usize,
    /// Its id there.
    pub array: u64,
    /// Its dtype and shape.
    pub meta: Meta,
}

/// A sharded or mirrored array.
#[derive(Debug)]
pub struct Distributed {
    /// The layout.
    pub kind: LayoutKind,
    /// The logical array's dtype and shape.
    pub meta: Meta,
    /// The parts (shards in order, or replicas).
    pub parts: Vec<Part>,
}

impl Distributed {
    /// Bytes held by all parts.
    pub fn nbytes(&self) -> u64 {
        self.parts.iter().map(|p| p.meta.nbytes()).sum()
    }

    /// The workers of the parts, in order.
    fn workers(&self) -> Vec<usize> {
        self.parts.iter().map(|p| p.worker).collect()
    }

    /// Each part's extent along the sharded axis.
    fn extents(&self) -> Vec<usize> {
        match self.kind {
            LayoutKind::Sharded { axis } => self.parts.iter().map(|p| p.meta.shape[axis]).collect(),
            LayoutKind::Mirrored => Vec::new(),
        }
    }

    /// The layout's name on the wire.
    pub fn layout_name(&self) -> &'static str {
        match self.kind {
            LayoutKind::Sharded { .. } => "sharded",
            LayoutKind::Mirrored => "mirrored",
        }
    }

    /// Whether the parts, concatenated in order, are the logical array's C-order bytes
    /// (every axis before the sharded one has length 1).
    pub fn streams_in_order(&self) -> bool {
        match self.kind {
            LayoutKind::Sharded { axis } => self.meta.shape[..axis].iter().all(|&d| d == 1),
            LayoutKind::Mirrored => true,
        }
    }
}

/// An operand of a call, resolved to where it lives.
#[derive(Clone)]
enum Operand {
    Scalar(Scalar),
    Single {
        handle: u64,
        worker: usize,
        array: u64,
        meta: Meta,
    },
    Dist {
        handle: u64,
        d: Arc<Distributed>,
    },
}

impl Operand {
    fn input(&self) -> Input {
        match self {
            Operand::Scalar(s) => Input::Scalar(*s),
            Operand::Single { meta, .. } => Input::Array(meta.clone()),
            Operand::Dist { d, .. } => Input::Array(d.meta.clone()),
        }
    }
}

/// One input of a per-part call: what the worker gets and what `infer` sees.
type PartInput = (WorkerInput, Input);

/// Every worker array made while running one op. When the op ends, those its results
/// own are kept and the rest (gathered copies, split pieces, partials) freed; when it
/// fails, all are freed.
#[derive(Default)]
struct Temps(Mutex<Vec<(usize, u64)>>);

impl Temps {
    fn add(&self, worker: usize, array: u64) {
        self.0.lock().push((worker, array));
    }
    fn contains(&self, worker: usize, array: u64) -> bool {
        self.0.lock().contains(&(worker, array))
    }
}

/// Awaits every future (none is dropped half-way, so every array made is recorded), then
/// the first error or all results.
async fn all<T>(
    futures: impl IntoIterator<Item = impl Future<Output = Result<T>>>,
) -> Result<Vec<T>> {
    join_all(futures).await.into_iter().collect()
}

/// Whether a call broadcasts its operands elementwise: the table rows, `clip`, and
/// `where(condition, x, y)` (one-argument `where` is `nonzero`, not elementwise).
fn is_elementwise(op: &str, operands: usize) -> bool {
    match op {
        "where" => operands == 3,
        "clip" => true,
        _ => ndserve_proto::ops::elementwise::row(op).is_some(),
    }
}

impl SlotState {
    /// The worker arrays this slot owns, as (worker, array).
    pub fn owned_arrays(&self) -> Vec<(usize, u64)> {
        match self {
            SlotState::Ready { worker, array, .. } => vec![(*worker, *array)],
            SlotState::Distributed(d) => d.parts.iter().map(|p| (p.worker, p.array)).collect(),
            SlotState::Pending | SlotState::Failed(_) => Vec::new(),
        }
    }
}

impl Coordinator {
    /// Runs a call that involves distributed arrays; stores its outputs in the session.
    pub(super) async fn execute_distributed(
        &self,
        session: &Session,
        call: &pb::OpCall,
        attrs: Attrs,
    ) -> Result<Vec<Meta>> {
        let op = call.op.as_str();
        let operands = resolve(session, call)?;
        let inputs: Vec<Input> = operands.iter().map(Operand::input).collect();
        let metas = super::infer_outputs(op, &inputs, &attrs, call.outputs.len())?;
        let temps = Temps::default();
        let result = self
            .dispatch_distributed(op, &operands, &attrs, &metas, &temps)
            .await;
        let (placed, made) = self.settle(temps, result).await?;
        let kept: std::collections::HashSet<(usize, u64)> =
            placed.iter().flat_map(SlotState::owned_arrays).collect();
        self.free_all(made.into_iter().filter(|a| !kept.contains(a)).collect())
            .await;
        self.ops_executed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let got: Vec<Meta> = placed.iter().map(slot_meta).collect();
        let mut orphans = Vec::new();
        {
            let mut st = session.state.lock();
            let closed = st.closed;
            for (h, slot) in call.outputs.iter().zip(placed) {
                match st.handles.get_mut(h) {
                    Some(s) if !closed => *s = slot,
                    _ => orphans.extend(slot.owned_arrays()),
                }
            }
        }
        self.free_all(orphans).await;
        Ok(got)
    }

    async fn dispatch_distributed(
        &self,
        op: &str,
        operands: &[Operand],
        attrs: &Attrs,
        metas: &[Meta],
        temps: &Temps,
    ) -> Result<Vec<SlotState>> {
        match op {
            "shard" | "reshard" => {
                let workers = self.target_workers(op, attrs)?;
                let axis = distribute::shard_axis(op, attrs, &metas[0])?;
                let d = self.shard(op, &operands[0], axis, &workers, temps).await?;
                Ok(vec![SlotState::Distributed(Arc::new(d))])
            }
            "replicate" => {
                let workers = self.target_workers(op, attrs)?;
                let o = &operands[0];
                let (w, array) = self.single_on(o, workers[0], temps).await?;
                let parts = all(workers
                    .iter()
                    .map(|&to| self.new_replica(o, w, array, to, &metas[0], temps)))
                .await?;
                Ok(mirrored(&metas[0], parts))
            }
            "from_replicas" => {
                let parts = all(operands.iter().map(|o| async move {
                    let home = home_worker(o);
                    let (w, array) = self.single_on(o, home, temps).await?;
                    self.new_replica(o, w, array, home, &metas[0], temps).await
                }))
                .await?;
                Ok(mirrored(&metas[0], parts))
            }
            "gather" => {
                let to = match attrs.str(op, "device")? {
                    Some(d) if !d.is_empty() => self.workers.find_device(op, d)?,
                    _ => home_worker(&operands[0]),
                };
                let (w, array) = self.single_on(&operands[0], to, temps).await?;
                // A concatenation made just now is the result; an operand's own array is
                // copied.
                let id = if w == to && temps.contains(w, array) {
                    array
                } else {
                    self.copy_owned(&operands[0], w, array, to, temps).await?
                };
                Ok(vec![single(to, id, metas[0].clone())])
            }
            "reduce_replicas" => self.reduce_replicas(operands, attrs, temps).await,
            _ => self.run_on_layouts(op, operands, attrs, metas, temps).await,
        }
    }

    /// The workers a `devices` attribute names (all live workers in name order when it
    /// names none).
    fn target_workers(&self, op: &str, attrs: &Attrs) -> Result<Vec<usize>> {
        let names = distribute::devices(op, attrs)?;
        if names.is_empty() {
            let mut live = self.workers.live();
            if live.is_empty() {
                return Err(Error::Unavailable {
                    message: "no worker has joined this server".into(),
                });
            }
            live.sort_by_cached_key(|&w| self.workers.any(w).map(|x| x.name().to_string()));
            return Ok(live);
        }
        names
            .iter()
            .map(|n| self.workers.find_device(op, n))
            .collect()
    }

    /// Splits an operand along `axis` into one part per worker of `workers`.
    async fn shard(
        &self,
        op: &str,
        operand: &Operand,
        axis: usize,
        workers: &[usize],
        temps: &Temps,
    ) -> Result<Distributed> {
        let (w, array) = self.single_on(operand, workers[0], temps).await?;
        let meta = match operand.input() {
            Input::Array(m) => m,
            Input::Scalar(_) => return Err(Error::invalid(op, "a", "takes an array")),
        };
        let pieces = self
            .split(w, array, &meta, axis, workers.len(), temps)
            .await?;
        let handle = handle_of(operand);
        let parts = all(pieces
            .into_iter()
            .zip(workers)
            .map(|((id, m), &to)| async move {
                Ok(Part {
                    worker: to,
                    array: self.local_copy(handle, w, id, to, temps).await?,
                    meta: m,
                })
            }))
        .await?;
        Ok(Distributed {
            kind: LayoutKind::Sharded { axis },
            meta,
            parts,
        })
    }

    /// Splits worker `w`'s array `array` along `axis` into `n` pieces there, as
    /// `np.array_split` does; returns each piece's id and meta.
    async fn split(
        &self,
        w: usize,
        array: u64,
        meta: &Meta,
        axis: usize,
        n: usize,
        temps: &Temps,
    ) -> Result<Vec<(u64, Meta)>> {
        let attrs = Attrs::new()
            .with("indices_or_sections", Attr::Int(n as i64))
            .with("axis", Attr::Int(axis as i64));
        self.run_on(
            w,
            "array_split",
            vec![(WorkerInput::Array(array), Input::Array(meta.clone()))],
            attrs,
            temps,
        )
        .await
    }

    /// Runs one op on worker `w`; returns its outputs' ids and metas (recorded in
    /// `temps`).
    async fn run_on(
        &self,
        w: usize,
        op: &str,
        inputs: Vec<PartInput>,
        attrs: Attrs,
        temps: &Temps,
    ) -> Result<Vec<(u64, Meta)>> {
        let infer_inputs: Vec<Input> = inputs.iter().map(|i| i.1.clone()).collect();
        let metas = ndserve_proto::ops::infer(op, &infer_inputs, &attrs)?;
        let ids: Vec<u64> = metas.iter().map(|_| self.new_id()).collect();
        let worker = self.workers.get(w)?;
        for &id in &ids {
            temps.add(w, id);
        }
        let got = worker
            .run_op(WorkerCall {
                op: op.to_string(),
                inputs: inputs.into_iter().map(|i| i.0).collect(),
                outputs: ids.clone(),
                output_metas: metas,
                attrs,
                device: String::new(),
            })
            .await?;
        Ok(ids.into_iter().zip(got).collect())
    }

    /// An operand as one worker array: a single array as it is, a mirrored one's replica
    /// (the one on `prefer` if any), a sharded one concatenated on `prefer` (a temporary).
    async fn single_on(&self, o: &Operand, prefer: usize, temps: &Temps) -> Result<(usize, u64)> {
        match o {
            Operand::Single {
                handle,
                worker,
                array,
                ..
            } => {
                self.workers.for_array(*worker, *handle)?;
                Ok((*worker, *array))
            }
            Operand::Dist { handle, d } => match d.kind {
                LayoutKind::Mirrored => {
                    let part = d
                        .parts
                        .iter()
                        .find(|p| p.worker == prefer && self.workers.get(p.worker).is_ok())
                        .or_else(|| d.parts.iter().find(|p| self.workers.get(p.worker).is_ok()))
                        .ok_or_else(|| lost_error(*handle, d, self))?;
                    Ok((part.worker, part.array))
                }
                LayoutKind::Sharded { axis } => {
                    let ids = all(d.parts.iter().map(|p| async move {
                        self.local_copy(*handle, p.worker, p.array, prefer, temps)
                            .await
                    }))
                    .await?;
                    let inputs = ids
                        .into_iter()
                        .zip(&d.parts)
                        .map(|(id, p)| (WorkerInput::Array(id), Input::Array(p.meta.clone())))
                        .collect();
                    let attrs = Attrs::new().with("axis", Attr::Int(axis as i64));
                    let out = self
                        .run_on(prefer, "concatenate", inputs, attrs, temps)
                        .await?;
                    Ok((prefer, out[0].0))
                }
            },
            Operand::Scalar(_) => Err(Error::internal("gather", "a scalar has no array")),
        }
    }

    /// Worker `from`'s array on worker `to`: itself when `from == to`, else a temporary
    /// copy.
    async fn local_copy(
        &self,
        handle: u64,
        from: usize,
        array: u64,
        to: usize,
        temps: &Temps,
    ) -> Result<u64> {
        self.workers.for_array(from, handle)?;
        if from == to {
            return Ok(array);
        }
        let id = self.transfer(handle, from, array, to).await?;
        temps.add(to, id);
        Ok(id)
    }

    /// A new array on `to`, copied from worker `from`'s `array`.
    async fn copy_owned(
        &self,
        o: &Operand,
        from: usize,
        array: u64,
        to: usize,
        temps: &Temps,
    ) -> Result<u64> {
        if from != to {
            return self.local_copy(handle_of(o), from, array, to, temps).await;
        }
        let meta = match o.input() {
            Input::Array(m) => m,
            Input::Scalar(_) => return Err(Error::internal("copy", "a scalar has no array")),
        };
        let out = self
            .run_on(
                to,
                "copy",
                vec![(WorkerInput::Array(array), Input::Array(meta))],
                Attrs::new(),
                temps,
            )
            .await?;
        Ok(out[0].0)
    }

    /// A replica on `to` of operand `o`, copied from worker `from`'s `array`.
    async fn new_replica(
        &self,
        o: &Operand,
        from: usize,
        array: u64,
        to: usize,
        meta: &Meta,
        temps: &Temps,
    ) -> Result<Part> {
        Ok(Part {
            worker: to,
            array: self.copy_owned(o, from, array, to, temps).await?,
            meta: meta.clone(),
        })
    }

    /// `np.sum`/`np.mean` over a stack of the replicas, on the first replica's worker.
    async fn reduce_replicas(
        &self,
        operands: &[Operand],
        attrs: &Attrs,
        temps: &Temps,
    ) -> Result<Vec<SlotState>> {
        let op = "reduce_replicas";
        let reduction = distribute::replica_reduction(attrs)?;
        let (handle, replicas): (u64, Vec<Part>) = match &operands[0] {
            Operand::Dist { handle, d } if d.kind == LayoutKind::Mirrored => {
                (*handle, d.parts.clone())
            }
            Operand::Dist { .. } => {
                return Err(Error::invalid(
                    op,
                    "a",
                    "takes a mirrored array; this one is sharded (reduce it with sum or mean)",
                ));
            }
            Operand::Single {
                handle,
                worker,
                array,
                meta,
            } => (
                *handle,
                vec![Part {
                    worker: *worker,
                    array: *array,
                    meta: meta.clone(),
                }],
            ),
            Operand::Scalar(_) => return Err(Error::invalid(op, "a", "takes an array")),
        };
        let to = replicas[0].worker;
        let ids = all(replicas
            .iter()
            .map(|p| async move { self.local_copy(handle, p.worker, p.array, to, temps).await }))
        .await?;
        let inputs = ids
            .into_iter()
            .zip(&replicas)
            .map(|(id, p)| (WorkerInput::Array(id), Input::Array(p.meta.clone())))
            .collect();
        let stacked = self
            .run_on(
                to,
                "stack",
                inputs,
                Attrs::new().with("axis", Attr::Int(0)),
                temps,
            )
            .await?;
        let out = self
            .run_on(
                to,
                reduction,
                vec![(
                    WorkerInput::Array(stacked[0].0),
                    Input::Array(stacked[0].1.clone()),
                )],
                Attrs::new().with("axis", Attr::Int(0)),
                temps,
            )
            .await?;
        Ok(vec![single(to, out[0].0, out[0].1.clone())])
    }

    /// A NumPy op with at least one sharded or mirrored operand.
    async fn run_on_layouts(
        &self,
        op: &str,
        operands: &[Operand],
        attrs: &Attrs,
        metas: &[Meta],
        temps: &Temps,
    ) -> Result<Vec<SlotState>> {
        let dists: Vec<&Arc<Distributed>> = operands
            .iter()
            .filter_map(|o| match o {
                Operand::Dist { d, .. } => Some(d),
                _ => None,
            })
            .collect();
        let sharded: Vec<&Arc<Distributed>> = dists
            .iter()
            .copied()
            .filter(|d| matches!(d.kind, LayoutKind::Sharded { .. }))
            .collect();
        if let Some(first) = sharded.first() {
            let same = sharded
                .iter()
                .all(|d| d.workers() == first.workers() && d.extents() == first.extents());
            if same
                && let Some(out) = self
                    .per_shard(op, operands, attrs, metas, first, temps)
                    .await?
            {
                return Ok(out);
            }
        } else {
            let workers = dists[0].workers();
            if dists.iter().all(|d| d.workers() == workers) {
                return self.per_replica(op, operands, attrs, &workers, temps).await;
            }
        }
        self.gathered(op, operands, attrs, temps).await
    }

    /// Runs `op` on every replica of its mirrored operands; the results are mirrored.
    async fn per_replica(
        &self,
        op: &str,
        operands: &[Operand],
        attrs: &Attrs,
        workers: &[usize],
        temps: &Temps,
    ) -> Result<Vec<SlotState>> {
        let runs = all(workers.iter().enumerate().map(|(r, &w)| async move {
            let mut inputs = Vec::with_capacity(operands.len());
            for o in operands {
                inputs.push(match o {
                    Operand::Dist { handle, d } => {
                        let p = &d.parts[r];
                        self.workers.for_array(p.worker, *handle)?;
                        (WorkerInput::Array(p.array), Input::Array(p.meta.clone()))
                    }
                    _ => self.whole_on(o, w, temps).await?,
                });
            }
            self.run_on(w, op, inputs, attrs.clone(), temps).await
        }))
        .await?;
        assemble_outputs(op, LayoutKind::Mirrored, runs, workers)
    }

    /// A scalar, single or mirrored operand as a whole array on worker `to` (a replica
    /// there, or a temporary copy).
    async fn whole_on(&self, o: &Operand, to: usize, temps: &Temps) -> Result<PartInput> {
        if let Operand::Scalar(s) = o {
            return Ok((WorkerInput::Scalar(*s), Input::Scalar(*s)));
        }
        let (w, array) = self.single_on(o, to, temps).await?;
        let id = self.local_copy(handle_of(o), w, array, to, temps).await?;
        Ok((WorkerInput::Array(id), o.input()))
    }

    /// Runs `op` shard by shard (`d` is its first sharded operand) when its kind allows;
    /// `None` when it does not, and the caller gathers instead.
    async fn per_shard(
        &self,
        op: &str,
        operands: &[Operand],
        attrs: &Attrs,
        metas: &[Meta],
        d: &Distributed,
        temps: &Temps,
    ) -> Result<Option<Vec<SlotState>>> {
        let LayoutKind::Sharded { axis: s_axis } = d.kind else {
            return Ok(None);
        };
        if is_elementwise(op, operands.len()) && metas.len() == 1 {
            let out = &metas[0];
            let out_axis = s_axis + out.ndim() - d.meta.ndim();
            // The sharded axis must not broadcast: the result is as long along it.
            if out.shape[out_axis] != d.meta.shape[s_axis] {
                return Ok(None);
            }
            return self
                .aligned(op, operands, attrs, d, out_axis, out_axis, temps)
                .await;
        }
        if let Some(&(_, kind, _, _)) = reduce::REDUCTIONS.iter().find(|r| r.0 == op) {
            let inputs = [operands[0].input()];
            let call = ndserve_proto::ops::Call {
                op,
                inputs: &inputs,
                attrs,
            };
            let plan = reduce::plan(&call)?;
            if !plan.axes.contains(&s_axis) {
                let before = plan.axes.iter().filter(|&&a| a < s_axis).count();
                let out_axis = if plan.keepdims {
                    s_axis
                } else {
                    s_axis - before
                };
                return self
                    .aligned(op, operands, attrs, d, s_axis, out_axis, temps)
                    .await;
            }
            if kind == ReduceKind::Arg {
                return Ok(None);
            }
            return self
                .reduce_over_shards(op, kind, &operands[0], d, attrs, &plan, temps)
                .await
                .map(|s| Some(vec![s]));
        }
        if op == "matmul" && operands.len() == 2 {
            let a_sharded = matches!(&operands[0], Operand::Dist { d: a, .. }
                if matches!(a.kind, LayoutKind::Sharded { .. }));
            let b_whole = !matches!(&operands[1], Operand::Dist { d: b, .. }
                if matches!(b.kind, LayoutKind::Sharded { .. }));
            let (an, bn) = (d.meta.ndim(), operands[1].input().shape().len());
            // Row-sharded, or batch-sharded against a 2-d right operand.
            let rows = an >= 2 && s_axis == an - 2;
            let batch = an > 2 && s_axis < an - 2 && bn == 2;
            if !(a_sharded && b_whole && bn > 0 && (rows || batch)) {
                return Ok(None);
            }
            let out_axis = if bn == 1 {
                s_axis
            } else {
                s_axis + metas[0].ndim() - an
            };
            return self
                .per_part(op, operands, attrs, d, out_axis, temps, |_, _| Ok(None))
                .await
                .map(Some);
        }
        Ok(None)
    }

    /// Runs an op part by part when every sharded operand is split along `in_axis` of
    /// the operands' common rank; a whole operand that spans that axis is split the same
    /// way, one that broadcasts along it is sent whole. The results are sharded along
    /// `out_axis`. `None` when a sharded operand is split along another axis.
    #[allow(clippy::too_many_arguments)]
    async fn aligned(
        &self,
        op: &str,
        operands: &[Operand],
        attrs: &Attrs,
        d: &Distributed,
        in_axis: usize,
        out_axis: usize,
        temps: &Temps,
    ) -> Result<Option<Vec<SlotState>>> {
        let rank = operands
            .iter()
            .map(|o| o.input().shape().len())
            .max()
            .unwrap_or(0);
        let lined_up = operands.iter().all(|o| match o {
            Operand::Dist { d, .. } => match d.kind {
                LayoutKind::Sharded { axis } => axis + rank - d.meta.ndim() == in_axis,
                LayoutKind::Mirrored => true,
            },
            _ => true,
        });
        if !lined_up {
            return Ok(None);
        }
        let n = d.parts.len();
        // Whole operands that span the sharded axis, split once into the parts' pieces.
        let mut pieces: Vec<Option<Vec<(u64, usize, Meta)>>> = Vec::with_capacity(operands.len());
        for o in operands {
            let shape = o.input().shape().to_vec();
            let is_sharded = matches!(o, Operand::Dist { d, .. }
                if matches!(d.kind, LayoutKind::Sharded { .. }));
            let nd = shape.len();
            let spans = !is_sharded && nd + in_axis >= rank && shape[nd + in_axis - rank] != 1;
            pieces.push(if spans {
                let (w, array) = self.single_on(o, d.parts[0].worker, temps).await?;
                let Input::Array(meta) = o.input() else {
                    return Err(Error::internal(op, "a scalar spans an axis"));
                };
                let split = self
                    .split(w, array, &meta, nd + in_axis - rank, n, temps)
                    .await?;
                Some(split.into_iter().map(|(id, m)| (id, w, m)).collect())
            } else {
                None
            });
        }
        let pieces = &pieces;
        self.per_part(op, operands, attrs, d, out_axis, temps, move |k, i| {
            Ok(pieces[k].as_ref().map(|p| p[i].clone()))
        })
        .await
        .map(Some)
    }

    /// Runs `op` once per part of `d`, in parallel: a sharded operand gives its part, a
    /// whole one the piece `piece(operand, part)` names (an array on some worker) or, when
    /// that is `None`, all of itself. The results are sharded along `out_axis`.
    #[allow(clippy::too_many_arguments)]
    async fn per_part(
        &self,
        op: &str,
        operands: &[Operand],
        attrs: &Attrs,
        d: &Distributed,
        out_axis: usize,
        temps: &Temps,
        piece: impl Fn(usize, usize) -> Result<Option<(u64, usize, Meta)>> + Sync,
    ) -> Result<Vec<SlotState>> {
        let workers = d.workers();
        let piece = &piece;
        let runs = all(d.parts.iter().enumerate().map(|(i, part)| async move {
            let to = part.worker;
            let mut inputs = Vec::with_capacity(operands.len());
            for (k, o) in operands.iter().enumerate() {
                inputs.push(match o {
                    Operand::Dist { handle, d: od }
                        if matches!(od.kind, LayoutKind::Sharded { .. }) =>
                    {
                        let p = &od.parts[i];
                        self.workers.for_array(p.worker, *handle)?;
                        (WorkerInput::Array(p.array), Input::Array(p.meta.clone()))
                    }
                    _ => match piece(k, i)? {
                        Some((id, w, meta)) => {
                            let id = self.local_copy(handle_of(o), w, id, to, temps).await?;
                            (WorkerInput::Array(id), Input::Array(meta))
                        }
                        None => self.whole_on(o, to, temps).await?,
                    },
                });
            }
            self.run_on(to, op, inputs, attrs.clone(), temps).await
        }))
        .await?;
        assemble_outputs(op, LayoutKind::Sharded { axis: out_axis }, runs, &workers)
    }

    /// A reduction over the sharded axis: a partial per part (keeping the reduced axes),
    /// concatenated on the first part's worker and reduced again there.
    #[allow(clippy::too_many_arguments)]
    async fn reduce_over_shards(
        &self,
        op: &str,
        kind: ReduceKind,
        operand: &Operand,
        d: &Distributed,
        attrs: &Attrs,
        plan: &reduce::ReducePlan,
        temps: &Temps,
    ) -> Result<SlotState> {
        let LayoutKind::Sharded { axis } = d.kind else {
            return Err(Error::internal(op, "not sharded"));
        };
        let handle = handle_of(operand);
        // Empty parts have no partial (max of nothing fails); the first part stands in
        // when all are empty, to give NumPy's answer for an empty array.
        let mut parts: Vec<&Part> = d.parts.iter().filter(|p| p.meta.numel() > 0).collect();
        if parts.is_empty() {
            parts.push(&d.parts[0]);
        }
        let axes = Attr::Ints(plan.axes.iter().map(|&a| a as i64).collect());
        let partial_op = if kind == ReduceKind::Mean { "sum" } else { op };
        // Mean sums in its result dtype, widened from half precision as NumPy does.
        let sum_dtype = match kind {
            ReduceKind::Mean => Some(match plan.out.dtype {
                DType::Float16 | DType::BFloat16 => DType::Float32,
                t => t,
            }),
            ReduceKind::Accumulate => attrs.dtype(op, "dtype")?,
            _ => None,
        };
        let reduce_attrs = |keepdims: bool| {
            let mut a = Attrs::new()
                .with("axis", axes.clone())
                .with("keepdims", Attr::Bool(keepdims));
            if let Some(t) = sum_dtype {
                a.set("dtype", Attr::DType(t));
            }
            a
        };
        let to = parts[0].worker;
        let partials = all(parts.iter().map(|p| {
            let partial_attrs = reduce_attrs(true);
            async move {
                self.workers.for_array(p.worker, handle)?;
                let input = (WorkerInput::Array(p.array), Input::Array(p.meta.clone()));
                let (id, meta) = first(
                    op,
                    self.run_on(p.worker, partial_op, vec![input], partial_attrs, temps)
                        .await?,
                )?;
                let id = self.local_copy(handle, p.worker, id, to, temps).await?;
                Ok((WorkerInput::Array(id), Input::Array(meta)))
            }
        }))
        .await?;
        let concat = Attrs::new().with("axis", Attr::Int(axis as i64));
        let (joined, joined_meta) = first(
            op,
            self.run_on(to, "concatenate", partials, concat, temps)
                .await?,
        )?;
        let input = (WorkerInput::Array(joined), Input::Array(joined_meta));
        let mut out = first(
            op,
            self.run_on(
                to,
                partial_op,
                vec![input],
                reduce_attrs(plan.keepdims),
                temps,
            )
            .await?,
        )?;
        if kind == ReduceKind::Mean {
            let count = Scalar::Int(plan.axes.iter().map(|&a| d.meta.shape[a] as i128).product());
            let inputs = vec![
                (WorkerInput::Array(out.0), Input::Array(out.1.clone())),
                (WorkerInput::Scalar(count), Input::Scalar(count)),
            ];
            out = first(
                op,
                self.run_on(to, "divide", inputs, Attrs::new(), temps)
                    .await?,
            )?;
            if out.1.dtype != plan.out.dtype {
                let input = vec![(WorkerInput::Array(out.0), Input::Array(out.1.clone()))];
                let cast = Attrs::new().with("dtype", Attr::DType(plan.out.dtype));
                out = first(op, self.run_on(to, "astype", input, cast, temps).await?)?;
            }
        }
        Ok(single(to, out.0, out.1))
    }

    /// The fallback: every operand gathered onto one worker (where the largest of them
    /// mostly lives), the op run there; the results are single arrays.
    async fn gathered(
        &self,
        op: &str,
        operands: &[Operand],
        attrs: &Attrs,
        temps: &Temps,
    ) -> Result<Vec<SlotState>> {
        let to = operands
            .iter()
            .filter(|o| !matches!(o, Operand::Scalar(_)))
            .max_by_key(|o| match o.input() {
                Input::Array(m) => m.nbytes(),
                Input::Scalar(_) => 0,
            })
            .map(home_worker)
            .ok_or_else(|| Error::internal(op, "no array operand"))?;
        let mut inputs = Vec::with_capacity(operands.len());
        for o in operands {
            inputs.push(self.whole_on(o, to, temps).await?);
        }
        tracing::debug!(op, "distributed operands gathered onto one worker");
        let out = self.run_on(to, op, inputs, attrs.clone(), temps).await?;
        Ok(out.into_iter().map(|(id, m)| single(to, id, m)).collect())
    }

    /// A distributed array's data as one C-order stream: parts one after another when
    /// that is C order (sharded along its first axis longer than 1, or any replica of a
    /// mirrored array), else concatenated on one worker first (a temporary, freed when the
    /// stream ends or is dropped).
    pub(super) async fn fetch_distributed(
        &self,
        handle: u64,
        d: Arc<Distributed>,
        chunk: usize,
    ) -> Result<(Meta, BoxStream<'static, Result<Bytes>>)> {
        let meta = d.meta.clone();
        if matches!(d.kind, LayoutKind::Sharded { .. }) && d.streams_in_order() {
            let parts = part_workers(self, handle, &d)?;
            let stream = futures::stream::iter(parts)
                .then(move |(w, id)| async move { w.get(id, chunk).await })
                .flat_map(|got| match got {
                    Ok((_, chunks)) => chunks,
                    Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
                })
                .boxed();
            return Ok((meta, stream));
        }
        let temps = Temps::default();
        let operand = Operand::Dist {
            handle,
            d: d.clone(),
        };
        let got = async {
            let (w, array) = self
                .single_on(&operand, home_worker(&operand), &temps)
                .await?;
            let (_, chunks) = self.workers.for_array(w, handle)?.get(array, chunk).await?;
            Ok::<_, Error>(chunks)
        }
        .await;
        let (chunks, made) = self.settle(temps, got).await?;
        let guard = FreeOnDrop(
            made.into_iter()
                .filter_map(|(w, id)| Some((self.workers.any(w)?, id)))
                .collect(),
        );
        let stream = chunks
            .map(move |c| {
                let _held = &guard;
                c
            })
            .boxed();
        Ok((meta, stream))
    }

    /// `result` with the arrays made under `temps`; when it failed, its error, with all
    /// of them freed.
    async fn settle<T>(&self, temps: Temps, result: Result<T>) -> Result<(T, Vec<(usize, u64)>)> {
        let made = temps.0.into_inner();
        match result {
            Ok(v) => Ok((v, made)),
            Err(e) => {
                self.free_all(made).await;
                Err(e)
            }
        }
    }

    async fn free_all(&self, arrays: Vec<(usize, u64)>) {
        let mut per_worker: std::collections::HashMap<usize, Vec<u64>> = Default::default();
        for (w, a) in arrays {
            per_worker.entry(w).or_default().push(a);
        }
        for (w, ids) in per_worker {
            self.free_on(w, &ids).await;
        }
    }
}

/// Temporary worker arrays a fetch stream reads; freed when the stream is dropped.
struct FreeOnDrop(Vec<(Arc<dyn Worker>, u64)>);

impl Drop for FreeOnDrop {
    fn drop(&mut self) {
        let arrays = std::mem::take(&mut self.0);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                for (w, id) in arrays {
                    w.free(&[id]).await;
                }
            });
        }
    }
}

/// The first output of a worker op.
fn first(op: &str, outputs: Vec<(u64, Meta)>) -> Result<(u64, Meta)> {
    outputs
        .into_iter()
        .next()
        .ok_or_else(|| Error::internal(op, "a step gave no output"))
}

/// Resolves a call's operands from the session's slots.
fn resolve(session: &Session, call: &pb::OpCall) -> Result<Vec<Operand>> {
    let op = call.op.as_str();
    let st = session.state.lock();
    call.inputs
        .iter()
        .map(|operand| match &operand.kind {
            Some(pb::operand::Kind::Handle(h)) => match st.handles.get(h) {
                None => Err(Error::handle_not_found(*h)),
                Some(SlotState::Failed(e)) => Err((**e).clone()),
                Some(SlotState::Pending) => Err(Error::invalid(
                    op,
                    "inputs",
                    format!("handle {h} is used before the op that computes it"),
                )),
                Some(SlotState::Ready {
                    worker,
                    array,
                    meta,
                }) => Ok(Operand::Single {
                    handle: *h,
                    worker: *worker,
                    array: *array,
                    meta: meta.clone(),
                }),
                Some(SlotState::Distributed(d)) => Ok(Operand::Dist {
                    handle: *h,
                    d: d.clone(),
                }),
            },
            Some(pb::operand::Kind::Scalar(s)) => Ok(Operand::Scalar(Scalar::from_wire(s)?)),
            None => Err(Error::invalid(op, "inputs", "empty operand")),
        })
        .collect()
}

/// Per output, the parts' results assembled into one distributed array.
fn assemble_outputs(
    op: &str,
    kind: LayoutKind,
    runs: Vec<Vec<(u64, Meta)>>,
    workers: &[usize],
) -> Result<Vec<SlotState>> {
    let outputs = runs.first().map_or(0, Vec::len);
    let mut slots = Vec::with_capacity(outputs);
    for k in 0..outputs {
        let parts: Vec<Part> = runs
            .iter()
            .zip(workers)
            .map(|(r, &w)| Part {
                worker: w,
                array: r[k].0,
                meta: r[k].1.clone(),
            })
            .collect();
        let meta = match kind {
            LayoutKind::Mirrored => {
                if let Some(p) = parts.iter().find(|p| p.meta != parts[0].meta) {
                    return Err(Error::invalid(
                        op,
                        "inputs",
                        format!(
                            "its replicas' results differ in shape ({} and {}), so they do not form one mirrored array",
                            ndserve_proto::shape::fmt_shape(&parts[0].meta.shape),
                            ndserve_proto::shape::fmt_shape(&p.meta.shape)
                        ),
                    ));
                }
                parts[0].meta.clone()
            }
            LayoutKind::Sharded { axis } => {
                let mut m = parts[0].meta.clone();
                m.shape[axis] = parts.iter().map(|p| p.meta.shape[axis]).sum();
                m
            }
        };
        slots.push(SlotState::Distributed(Arc::new(Distributed {
            kind,
            meta,
            parts,
        })));
    }
    Ok(slots)
}

/// One mirrored result.
fn mirrored(meta: &Meta, parts: Vec<Part>) -> Vec<SlotState> {
    vec![SlotState::Distributed(Arc::new(Distributed {
        kind: LayoutKind::Mirrored,
        meta: meta.clone(),
        parts,
    }))]
}

fn single(worker: usize, array: u64, meta: Meta) -> SlotState {
    SlotState::Ready {
        worker,
        array,
        meta,
    }
}

fn slot_meta(s: &SlotState) -> Meta {
    match s {
        SlotState::Ready { meta, .. } => meta.clone(),
        SlotState::Distributed(d) => d.meta.clone(),
        SlotState::Pending | SlotState::Failed(_) => Meta::new(DType::Bool, vec![]),
    }
}

fn handle_of(o: &Operand) -> u64 {
    match o {
        Operand::Single { handle, .. } | Operand::Dist { handle, .. } => *handle,
        Operand::Scalar(_) => 0,
    }
}

/// Where an operand mostly lives: its worker, or its largest part's.
fn home_worker(o: &Operand) -> usize {
    match o {
        Operand::Single { worker, .. } => *worker,
        Operand::Dist { d, .. } => d
            .parts
            .iter()
            .max_by_key(|p| (p.meta.nbytes(), std::cmp::Reverse(p.worker)))
            .map_or(0, |p| p.worker),
        Operand::Scalar(_) => 0,
    }
}

/// UNAVAILABLE for a distributed array none of whose replicas survives.
fn lost_error(handle: u64, d: &Distributed, coord: &Coordinator) -> Error {
    let w = d.parts.first().map_or(0, |p| p.worker);
    coord
        .workers
        .for_array(w, handle)
        .err()
        .unwrap_or_else(|| Error::Unavailable {
            message: format!("array {handle} is lost: every worker holding it is gone"),
        })
}

/// The first lost part of a distributed array, as UNAVAILABLE naming the array and the
/// worker; `Ok` when every part's worker is live.
pub fn check_parts(coord: &Coordinator, handle: u64, d: &Distributed) -> Result<()> {
    for p in &d.parts {
        coord.workers.for_array(p.worker, handle)?;
    }
    Ok(())
}

/// Reads all parts' workers for a fetch.
pub(super) fn part_workers(
    coord: &Coordinator,
    handle: u64,
    d: &Distributed,
) -> Result<Vec<(Arc<dyn Worker>, u64)>> {
    d.parts
        .iter()
        .map(|p| Ok((coord.workers.for_array(p.worker, handle)?, p.array)))
        .collect()
}
