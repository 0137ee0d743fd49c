//! The worker's GPUs (feature `cuda`): which device an op or upload goes to, the native
//! kernels, and the CPU fallback for ops without one.
//!
//! An op runs on the device its call names (`cuda:0`), else on the GPU of its first GPU
//! input, else on the CPU. Inputs elsewhere are copied to that device for the op. An op
//! with no GPU kernel runs the CPU kernel on host copies of its inputs and copies its
//! results back, so no op fails because of the device; each device counts these
//! fallbacks in its description, and each is logged at debug level.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use ndserve_proto::{Error, Meta, Result};

use super::local::{LocalWorker, Stored};
use super::{DeviceStatus, Worker, WorkerCall, WorkerInput};
use crate::backend::cpu::{CpuInput, HostArray};
use crate::backend::cuda::device::{self, ArrayCount, CudaDevice, DeviceArray};
use crate::backend::cuda::ops::{self, GpuInput};

/// An array on one of the worker's GPUs.
#[derive(Clone)]
pub struct GpuArray {
    /// The worker's index of the device (`cuda:N`).
    pub device: usize,
    /// The data.
    pub array: DeviceArray,
    _count: Arc<ArrayCount>,
}

/// The worker's GPUs, with one log line either way.
pub fn discover(worker: &str) -> Vec<Arc<CudaDevice>> {
    match device::discover() {
        Ok(devices) => {
            for d in &devices {
                tracing::info!(
                    worker,
                    device = %format!("cuda:{}", d.ordinal),
                    model = %d.model,
                    total_bytes = d.total,
                    limit_bytes = d.limit,
                    "GPU device"
                );
            }
            devices
        }
        Err(reason) => {
            tracing::info!(worker, %reason, "no GPU: this worker serves its CPU only");
            Vec::new()
        }
    }
}

impl LocalWorker {
    pub(super) fn gpu_devices(&self) -> Vec<DeviceStatus> {
        self.gpus
            .iter()
            .map(|d| DeviceStatus {
                name: format!("{}/cuda:{}", self.name(), d.ordinal),
                kind: "cuda".into(),
                live_arrays: d.live_arrays(),
                live_bytes: d.live_bytes(),
                memory_limit: d.limit,
                description: d.description(),
            })
            .collect()
    }

    /// The GPU a device name (`cuda:N`) means; `None` for any other device.
    pub(super) fn gpu_index(&self, op: &str, device: &str) -> Result<Option<usize>> {
        let Some(rest) = device.strip_prefix("cuda:") else {
            return Ok(None);
        };
        match rest.parse::<usize>() {
            Ok(i) if i < self.gpus.len() => Ok(Some(i)),
            _ => Err(Error::invalid(
                op,
                "device",
                format!(
                    "worker {} has no device '{device}'; it has cpu:0 and {} GPU(s)",
                    self.name(),
                    self.gpus.len()
                ),
            )),
        }
    }

    /// The GPU an op runs on, if any.
    pub(super) fn gpu_target(&self, call: &WorkerCall) -> Result<Option<usize>> {
        if !call.device.is_empty() {
            return self.gpu_index(&call.op, &call.device);
        }
        for i in &call.inputs {
            if let WorkerInput::Array(id) = i
                && let Ok(Stored::Gpu(g)) = self.lookup(*id)
            {
                return Ok(Some(g.device));
            }
        }
        Ok(None)
    }

    /// The device address of GPU array `id`.
    pub(super) fn gpu_ptr(&self, id: u64) -> Result<u64> {
        match self.lookup(id)? {
            Stored::Gpu(g) => Ok(g.array.ptr()),
            Stored::Host(_) => Err(Error::internal(
                "cuda",
                format!("array {id} is not on a GPU"),
            )),
        }
    }

    pub(super) fn wrap_gpu(&self, device: usize, array: DeviceArray) -> GpuArray {
        GpuArray {
            device,
            array,
            _count: Arc::new(self.gpus[device].count_array()),
        }
    }

    /// A GPU array's meta and little-endian bytes.
    pub(super) fn gpu_bytes(&self, g: &GpuArray) -> Result<(Meta, Bytes)> {
        let bytes = self.gpus[g.device].download("fetch", &g.array)?;
        Ok((g.array.meta.clone(), bytes))
    }

    /// A GPU array's meta and its bytes as a stream of chunks, copied off the device
    /// while the first chunks are already on their way to the client.
    pub(super) fn gpu_stream(
        &self,
        g: GpuArray,
        chunk_bytes: usize,
    ) -> (Meta, BoxStream<'static, Result<Bytes>>) {
        let dev = self.gpus[g.device].clone();
        let meta = g.array.meta.clone();
        // A few pieces in flight: the copy runs ahead of the client by at most this many
        // chunks.
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes>>(16);
        tokio::task::spawn_blocking(move || {
            let copied = dev.download_with("fetch", &g.array, |piece| {
                for c in piece.chunks(chunk_bytes.max(1)) {
                    tx.blocking_send(Ok(Bytes::copy_from_slice(c)))
                        .map_err(|_| Error::Cancelled {
                            message: "fetch: the client stopped reading".into(),
                        })?;
                }
                Ok(())
            });
            if let Err(e) = copied {
                let _ = tx.blocking_send(Err(e));
            }
        });
        (
            meta,
            Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)),
        )
    }

    /// An upload's chunks copied on to GPU `device` as they arrive (through the pinned
    /// staging buffer, on a blocking thread), rather than gathered first.
    pub(super) async fn gpu_from_chunks(
        &self,
        device: usize,
        meta: Meta,
        mut chunks: BoxStream<'static, Result<Bytes>>,
    ) -> Result<GpuArray> {
        let dev = self.gpus[device].clone();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(16);
        let copy_meta = meta.clone();
        let copy = tokio::task::spawn_blocking(move || {
            dev.upload_with(
                "upload",
                copy_meta,
                std::iter::from_fn(|| rx.blocking_recv()),
            )
        });
        let (mut sent, mut failed) = (0usize, None);
        while let Some(c) = chunks.next().await {
            match c {
                Err(e) => {
                    failed = Some(e);
                    break;
                }
                Ok(c) => {
                    match super::counted("upload", &meta, sent, c.len()) {
                        Ok(n) => sent = n,
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    }
                    if tx.send(c).await.is_err() {
                        break; // the copy stopped; its error is below
                    }
                }
            }
        }
        // The copy ends with the chunks; on an error it sees too few bytes and fails, and
        // its buffer goes back to the pool.
        drop(tx);
        let copied = copy
            .await
            .map_err(|e| Error::internal("upload", format!("the copy task failed: {e}")))?;
        if let Some(e) = failed {
            return Err(e);
        }
        Ok(self.wrap_gpu(device, copied?))
    }

    /// A GPU array copied to the host.
    pub(super) fn gpu_to_host(&self, g: &GpuArray) -> Result<HostArray> {
        let (meta, bytes) = self.gpu_bytes(g)?;
        HostArray::from_le_bytes(&meta, &bytes)
    }

    /// Little-endian bytes copied to GPU `device`.
    pub(super) fn host_to_gpu(
        &self,
        device: usize,
        op: &str,
        meta: Meta,
        data: &[u8],
    ) -> Result<GpuArray> {
        let a = self.gpus[device].upload(op, meta, data)?;
        Ok(self.wrap_gpu(device, a))
    }

    /// Runs `call` on GPU `d`: natively, or the CPU kernel on copies.
    pub(super) async fn run_on_gpu(&self, d: usize, call: WorkerCall) -> Result<Vec<Meta>> {
        let dev = self.gpus[d].clone();
        let mut inputs = Vec::with_capacity(call.inputs.len());
        for i in &call.inputs {
            inputs.push(match i {
                WorkerInput::Scalar(s) => GpuInput::Scalar(*s),
                WorkerInput::Array(id) => GpuInput::Array(match self.lookup(*id)? {
                    Stored::Gpu(g) if g.device == d => g.array,
                    Stored::Gpu(g) => {
                        dev.copy_from_peer(&call.op, &self.gpus[g.device], &g.array)?
                    }
                    Stored::Host(h) => dev.upload(&call.op, h.meta(), &h.to_le_bytes())?,
                }),
            });
        }
        let arrays = match ops::run(&dev, &call.op, &inputs, &call.attrs, &call.output_metas) {
            Some(r) => r?,
            None => {
                dev.fallbacks.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(op = %call.op, device = d, "no GPU kernel: the CPU kernel runs on copies");
                let host = inputs
                    .iter()
                    .map(|i| match i {
                        GpuInput::Scalar(s) => Ok(CpuInput::Scalar(*s)),
                        GpuInput::Array(a) => {
                            let b = dev.download(&call.op, a)?;
                            HostArray::from_le_bytes(&a.meta, &b).map(CpuInput::Array)
                        }
                    })
                    .collect::<Result<Vec<_>>>()?;
                let outs = self.compute(&call, host).await?;
                outs.iter()
                    .map(|h| dev.upload(&call.op, h.meta(), &h.to_le_bytes()))
                    .collect::<Result<Vec<_>>>()?
            }
        };
        let metas = arrays.iter().map(|a| a.meta.clone()).collect();
        let stored = arrays
            .into_iter()
            .map(|a| Stored::Gpu(self.wrap_gpu(d, a)))
            .collect();
        self.store(&call.outputs, stored);
        Ok(metas)
    }
}
