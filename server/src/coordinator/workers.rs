//! The coordinator's workers: the embedded ones, and remote ones that join over the
//! `Cluster` service and keep their membership with heartbeats.
//!
//! A worker keeps its index for the life of the coordinator, so a handle's slot can name
//! it; a worker that misses heartbeats for the timeout is marked lost (never reused), and
//! every use of an array it held answers UNAVAILABLE naming the array and the worker.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ndserve_proto::{Error, Result, pb};
use parking_lot::{Mutex, RwLock};

use crate::worker::{DeviceStatus, RemoteWorker, Worker};

struct Slot {
    worker: Arc<dyn Worker>,
    /// Set for a joined worker: its heartbeats update it.
    remote: Option<Arc<RemoteWorker>>,
    last_beat: Mutex<Instant>,
    /// Why the worker is gone, once it is.
    lost: Mutex<Option<String>>,
}

/// The workers of a coordinator.
#[derive(Default)]
pub struct WorkerTable {
    slots: RwLock<Vec<Arc<Slot>>>,
}

/// A device with its worker's index and state, for listings.
#[derive(Clone, Debug)]
pub struct DeviceEntry {
    /// The worker's index.
    pub worker: usize,
    /// The worker's name.
    pub worker_name: String,
    /// The device.
    pub status: DeviceStatus,
    /// `ready`, or `lost` for a worker that stopped answering.
    pub state: &'static str,
}

impl WorkerTable {
    /// A table of embedded workers.
    pub fn new(workers: Vec<Arc<dyn Worker>>) -> WorkerTable {
        let t = WorkerTable::default();
        for w in workers {
            t.push(w, None);
        }
        t
    }

    fn push(&self, worker: Arc<dyn Worker>, remote: Option<Arc<RemoteWorker>>) -> usize {
        let mut slots = self.slots.write();
        slots.push(Arc::new(Slot {
            worker,
            remote,
            last_beat: Mutex::new(Instant::now()),
            lost: Mutex::new(None),
        }));
        slots.len() - 1
    }

    fn slot(&self, w: usize) -> Option<Arc<Slot>> {
        self.slots.read().get(w).cloned()
    }

    /// Worker `w`, or UNAVAILABLE when it is lost.
    pub fn get(&self, w: usize) -> Result<Arc<dyn Worker>> {
        let slot = self.slot(w).ok_or_else(|| Error::Unavailable {
            message: format!("worker #{w} is unknown"),
        })?;
        if let Some(why) = slot.lost.lock().as_ref() {
            return Err(Error::Unavailable {
                message: format!("worker {} is lost ({why})", slot.worker.name()),
            });
        }
        Ok(slot.worker.clone())
    }

    /// Worker `w` for array `handle`: UNAVAILABLE naming both when the worker is lost.
    pub fn for_array(&self, w: usize, handle: u64) -> Result<Arc<dyn Worker>> {
        self.get(w).map_err(|e| match e {
            Error::Unavailable { message } => Error::Unavailable {
                message: format!("array {handle} is lost: it lived on {message}"),
            },
            e => e,
        })
    }

    /// Worker `w` even when lost (to free what it may still hold), if it exists.
    pub fn any(&self, w: usize) -> Option<Arc<dyn Worker>> {
        let slot = self.slot(w)?;
        let lost = slot.lost.lock().is_some();
        (!lost).then(|| slot.worker.clone())
    }

    /// Indices of the live workers.
    pub fn live(&self) -> Vec<usize> {
        self.slots
            .read()
            .iter()
            .enumerate()
            .filter(|(_, s)| s.lost.lock().is_none())
            .map(|(i, _)| i)
            .collect()
    }

    /// The live worker with the fewest resident bytes.
    pub fn least_loaded(&self) -> Result<usize> {
        self.live()
            .into_iter()
            .min_by_key(|&w| {
                self.any(w)
                    .map(|x| x.devices().iter().map(|d| d.live_bytes).sum::<u64>())
                    .unwrap_or(u64::MAX)
            })
            .ok_or_else(|| Error::Unavailable {
                message: "no worker has joined this server".into(),
            })
    }

    /// The worker with device `name` (`worker/cpu:0`; a bare worker name picks its first
    /// device).
    pub fn find_device(&self, op: &str, name: &str) -> Result<usize> {
        let all = self.devices();
        all.iter()
            .find(|d| d.state == "ready" && (d.status.name == name || d.worker_name == name))
            .map(|d| d.worker)
            .ok_or_else(|| {
                let known: Vec<_> = all
                    .iter()
                    .filter(|d| d.state == "ready")
                    .map(|d| d.status.name.as_str())
                    .collect();
                Error::invalid(
                    op,
                    "device",
                    format!("no device '{name}'; the devices are {known:?}"),
                )
            })
    }

    /// Every device of every worker, lost ones included (state `lost`).
    pub fn devices(&self) -> Vec<DeviceEntry> {
        let slots: Vec<_> = self.slots.read().clone();
        slots
            .iter()
            .enumerate()
            .flat_map(|(w, s)| {
                let state = if s.lost.lock().is_some() {
                    "lost"
                } else {
                    "ready"
                };
                let name = s.worker.name().to_string();
                s.worker.devices().into_iter().map(move |d| DeviceEntry {
                    worker: w,
                    worker_name: name.clone(),
                    status: d,
                    state,
                })
            })
            .collect()
    }

    /// A worker joins: a new remote worker at `endpoint`. A live worker of the same name
    /// at the same endpoint is one that restarted: it is marked lost and the new one
    /// joins; at another endpoint the name is taken.
    pub fn join(&self, req: &pb::JoinRequest) -> Result<usize> {
        if req.name.is_empty() || req.name.contains('/') {
            return Err(Error::invalid(
                "join",
                "name",
                format!("'{}': a worker name is non-empty and has no '/'", req.name),
            ));
        }
        for w in self.live() {
            let Some(slot) = self.slot(w) else { continue };
            if slot.worker.name() != req.name {
                continue;
            }
            match slot.worker.endpoint() {
                Some(ep) if ep == req.endpoint => {
                    *slot.lost.lock() = Some("it restarted and joined again".into());
                    tracing::warn!(worker = %req.name, "worker rejoined: its old arrays are lost");
                }
                _ => {
                    return Err(Error::FailedPrecondition {
                        message: format!(
                            "a worker named '{}' is already joined from {}",
                            req.name,
                            slot.worker.endpoint().unwrap_or("this process")
                        ),
                    });
                }
            }
        }
        let remote = Arc::new(RemoteWorker::new(&req.name, &req.endpoint, &req.devices)?);
        let w = self.push(remote.clone(), Some(remote));
        tracing::info!(worker = %req.name, endpoint = %req.endpoint, index = w, "worker joined");
        Ok(w)
    }

    /// A heartbeat; false when the worker is unknown or was removed (it must join again).
    pub fn heartbeat(&self, w: usize, devices: &[pb::WorkerDevice]) -> bool {
        let Some(slot) = self.slot(w) else {
            return false;
        };
        if slot.lost.lock().is_some() {
            return false;
        }
        *slot.last_beat.lock() = Instant::now();
        if let Some(r) = &slot.remote {
            r.update_devices(devices);
        }
        true
    }

    /// Marks remote workers silent for longer than `timeout` lost; returns their names.
    pub fn reap(&self, timeout: Duration) -> Vec<String> {
        let now = Instant::now();
        let slots: Vec<_> = self.slots.read().clone();
        let mut gone = Vec::new();
        for s in slots.iter().filter(|s| s.remote.is_some()) {
            let silent = now.duration_since(*s.last_beat.lock());
            let mut lost = s.lost.lock();
            if lost.is_none() && silent > timeout {
                *lost = Some(format!("no heartbeat for {:.1} s", silent.as_secs_f64()));
                tracing::warn!(worker = %s.worker.name(), "worker lost: no heartbeat");
                gone.push(s.worker.name().to_string());
            }
        }
        gone
    }
}
