//! The in-process CPU worker.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures::stream::BoxStream;
use ndserve_proto::{Error, Meta, Result};
use parking_lot::Mutex;

use super::{DeviceStatus, Worker, WorkerCall, WorkerInput};
use crate::backend::cpu::{self, CpuInput, HostArray};

/// An array as the worker holds it: in host memory, or on one of its GPUs.
#[derive(Clone)]
pub(super) enum Stored {
    Host(HostArray),
    #[cfg(feature = "cuda")]
    Gpu(super::gpu::GpuArray),
}

impl Stored {
    /// The array's bytes, wherever it is.
    fn nbytes(&self) -> u64 {
        match self {
            Stored::Host(a) => a.nbytes(),
            #[cfg(feature = "cuda")]
            Stored::Gpu(g) => g.array.meta.nbytes(),
        }
    }

    /// Bytes counted against the CPU device's limit.
    fn host_bytes(&self) -> u64 {
        match self {
            Stored::Host(a) => a.nbytes(),
            #[cfg(feature = "cuda")]
            Stored::Gpu(_) => 0,
        }
    }
}

/// Ops whose inputs and outputs hold fewer elements than this run inline on the calling
/// task: a hop to the compute pool costs more than the op.
const INLINE_ELEMENTS: usize = 1 << 15;

/// A CPU worker in the server process.
pub struct LocalWorker {
    name: String,
    arrays: Mutex<HashMap<u64, Stored>>,
    live_bytes: AtomicU64,
    memory_limit: u64,
    pool: Arc<rayon::ThreadPool>,
    /// One permit per pool thread: see [`LocalWorker::on_pool`].
    pool_slots: Arc<tokio::sync::Semaphore>,
    #[cfg(feature = "cuda")]
    pub(super) gpus: Vec<Arc<crate::backend::cuda::device::CudaDevice>>,
}

impl LocalWorker {
    /// A worker with a compute pool of `threads` threads (0 = all cores) and a memory limit.
    pub fn new(name: &str, threads: usize, memory_limit: u64) -> Result<LocalWorker> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("ndserve-cpu-{i}"))
            .build()
            .map_err(|e| Error::internal("worker", e.to_string()))?;
        Ok(LocalWorker {
            name: name.to_string(),
            arrays: Mutex::new(HashMap::new()),
            live_bytes: AtomicU64::new(0),
            memory_limit,
            pool_slots: Arc::new(tokio::sync::Semaphore::new(pool.current_num_threads())),
            pool: Arc::new(pool),
            #[cfg(feature = "cuda")]
            gpus: super::gpu::discover(name),
        })
    }

    fn device_name(&self) -> String {
        format!("{}/cpu:0", self.name)
    }

    /// Fails unless an upload to `device` (empty: this worker's CPU) stays on the host.
    fn check_upload_device(&self, device: &str) -> Result<()> {
        if !device.is_empty() && device != "cpu:0" {
            return Err(Error::invalid(
                "upload",
                "device",
                format!(
                    "worker {} has no device '{device}'; it has cpu:0",
                    self.name
                ),
            ));
        }
        Ok(())
    }

    /// Stores the uploaded host array `build` makes as `id`, its memory reserved before
    /// `build` runs and released if it fails.
    async fn put_host(
        &self,
        id: u64,
        meta: &Meta,
        build: impl std::future::Future<Output = Result<HostArray>>,
    ) -> Result<()> {
        self.reserve("upload", meta.nbytes())?;
        match build.await {
            Ok(a) => {
                self.store(&[id], vec![Stored::Host(a)]);
                Ok(())
            }
            Err(e) => {
                self.release(meta.nbytes());
                Err(e)
            }
        }
    }

    /// Reserves `bytes` against the memory limit.
    fn reserve(&self, op: &str, bytes: u64) -> Result<()> {
        let mut cur = self.live_bytes.load(Ordering::Relaxed);
        loop {
            let next = cur.saturating_add(bytes);
            if next > self.memory_limit {
                return Err(Error::exhausted(
                    op,
                    format!(
                        "needs {bytes} bytes but device {} holds {cur} of its {} byte limit",
                        self.device_name(),
                        self.memory_limit
                    ),
                ));
            }
            match self.live_bytes.compare_exchange_weak(
                cur,
                next,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(c) => cur = c,
            }
        }
    }

    fn release(&self, bytes: u64) {
        self.live_bytes.fetch_sub(bytes, Ordering::AcqRel);
    }

    pub(super) fn lookup(&self, id: u64) -> Result<Stored> {
        self.arrays.lock().get(&id).cloned().ok_or_else(|| {
            Error::internal(
                "worker",
                format!("array {id} is not on worker {}", self.name),
            )
        })
    }

    /// Frees every array (a worker the coordinator has written off); returns the bytes.
    pub fn clear(&self) -> u64 {
        let freed: u64 = self
            .arrays
            .lock()
            .drain()
            .map(|(_, a)| a.host_bytes())
            .sum();
        self.release(freed);
        freed
    }

    /// How many ops this worker's GPUs have run on CPU copies so far (0 without GPUs).
    pub fn gpu_fallbacks(&self) -> u64 {
        #[cfg(feature = "cuda")]
        {
            self.gpus
                .iter()
                .map(|d| d.fallbacks.load(Ordering::Relaxed))
                .sum()
        }
        #[cfg(not(feature = "cuda"))]
        {
            0
        }
    }

    /// Number of arrays held.
    pub fn live_arrays(&self) -> usize {
        self.arrays.lock().len()
    }

    /// An input as a host array (a GPU array is copied to the host).
    fn host_input(&self, id: u64) -> Result<HostArray> {
        match self.lookup(id)? {
            Stored::Host(a) => Ok(a),
            #[cfg(feature = "cuda")]
            Stored::Gpu(g) => self.gpu_to_host(&g),
        }
    }

    /// Stores arrays under ids, freeing any they replace.
    pub(super) fn store(&self, ids: &[u64], arrays: Vec<Stored>) {
        let mut map = self.arrays.lock();
        for (id, a) in ids.iter().zip(arrays) {
            if let Some(old) = map.insert(*id, a) {
                self.release(old.host_bytes());
            }
        }
    }

    /// Runs the CPU kernel of `call` on `inputs`, on the compute pool unless it is small.
    pub(super) async fn compute(
        &self,
        call: &WorkerCall,
        inputs: Vec<CpuInput>,
    ) -> Result<Vec<HostArray>> {
        let elements: usize = call.output_metas.iter().map(Meta::numel).sum::<usize>()
            + inputs
                .iter()
                .map(|i| match i {
                    CpuInput::Array(a) => a.len(),
                    CpuInput::Scalar(_) => 1,
                })
                .sum::<usize>();
        if elements < INLINE_ELEMENTS {
            run_kernel(call, &inputs)
        } else {
            let call2 = call.clone();
            self.on_pool(&call.op, move || run_kernel(&call2, &inputs))
                .await?
        }
    }

    /// Runs `f` on the compute pool and waits for its answer. At most one job per pool
    /// thread is queued or running at a time: a pool thread waiting inside a job's
    /// parallel loop runs queued jobs meanwhile, on top of its stack, so an unbounded
    /// queue (many sessions' large ops at once) could nest whole ops on one thread until
    /// its stack overflowed and the process aborted (rayon issue 854). A queued job gains
    /// nothing while every thread is busy anyway.
    async fn on_pool<R: Send + 'static>(
        &self,
        op: &str,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R> {
        let slot = self
            .pool_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::internal(op, "compute pool closed"))?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.pool.spawn(move || {
            let r = f();
            drop(slot);
            let _ = tx.send(r);
        });
        rx.await
            .map_err(|_| Error::internal(op, "compute task lost"))
    }
}

fn run_kernel(call: &WorkerCall, inputs: &[CpuInput]) -> Result<Vec<HostArray>> {
    // A kernel bug must not take the server down: a panic becomes INTERNAL.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        cpu::run(&call.op, inputs, &call.attrs, &call.output_metas)
    }))
    .unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "kernel panicked".into());
        Err(Error::internal(&call.op, msg))
    })
}

#[tonic::async_trait]
impl Worker for LocalWorker {
    fn name(&self) -> &str {
        &self.name
    }

    fn devices(&self) -> Vec<DeviceStatus> {
        #[allow(unused_mut)]
        let mut v = vec![DeviceStatus {
            name: self.device_name(),
            kind: "cpu".into(),
            live_arrays: self
                .arrays
                .lock()
                .values()
                .filter(|a| matches!(a, Stored::Host(_)))
                .count() as u64,
            live_bytes: self.live_bytes.load(Ordering::Relaxed),
            memory_limit: self.memory_limit,
            description: format!("{} compute threads", self.pool.current_num_threads()),
        }];
        #[cfg(feature = "cuda")]
        v.extend(self.gpu_devices());
        v
    }

    fn device_of(&self, id: u64) -> Option<String> {
        match self.arrays.lock().get(&id)? {
            Stored::Host(_) => Some(self.device_name()),
            #[cfg(feature = "cuda")]
            Stored::Gpu(g) => Some(format!("{}/cuda:{}", self.name, g.device)),
        }
    }

    async fn run_op(&self, call: WorkerCall) -> Result<Vec<Meta>> {
        #[cfg(feature = "cuda")]
        if let Some(d) = self.gpu_target(&call)? {
            return self.run_on_gpu(d, call).await;
        }
        if !call.device.is_empty() && call.device != "cpu:0" {
            return Err(Error::invalid(
                &call.op,
                "device",
                format!(
                    "worker {} has no device '{}'; it has cpu:0",
                    self.name, call.device
                ),
            ));
        }
        let inputs = call
            .inputs
            .iter()
            .map(|i| match i {
                WorkerInput::Array(id) => self.host_input(*id).map(CpuInput::Array),
                WorkerInput::Scalar(s) => Ok(CpuInput::Scalar(*s)),
            })
            .collect::<Result<Vec<_>>>()?;
        let out_bytes: u64 = call.output_metas.iter().map(Meta::nbytes).sum();
        self.reserve(&call.op, out_bytes)?;
        let arrays = match self.compute(&call, inputs).await {
            Ok(a) => a,
            Err(e) => {
                self.release(out_bytes);
                return Err(e);
            }
        };
        // A data-dependent result may be smaller than the bound reserved for it.
        let actual: u64 = arrays.iter().map(HostArray::nbytes).sum();
        self.release(out_bytes.saturating_sub(actual));
        let metas = arrays.iter().map(HostArray::meta).collect();
        self.store(
            &call.outputs,
            arrays.into_iter().map(Stored::Host).collect(),
        );
        Ok(metas)
    }

    async fn put(&self, id: u64, meta: Meta, data: Bytes, device: &str) -> Result<()> {
        #[cfg(feature = "cuda")]
        if let Some(d) = self.gpu_index("upload", device)? {
            let a = self.host_to_gpu(d, "upload", meta, &data)?;
            self.store(&[id], vec![Stored::Gpu(a)]);
            return Ok(());
        }
        self.check_upload_device(device)?;
        self.put_host(id, &meta, async { HostArray::from_le_bytes(&meta, &data) })
            .await
    }

    async fn put_chunks(
        &self,
        id: u64,
        meta: Meta,
        chunks: BoxStream<'static, Result<Bytes>>,
        device: &str,
    ) -> Result<()> {
        #[cfg(feature = "cuda")]
        if let Some(d) = self.gpu_index("upload", device)? {
            let a = self.gpu_from_chunks(d, meta, chunks).await?;
            self.store(&[id], vec![Stored::Gpu(a)]);
            return Ok(());
        }
        self.check_upload_device(device)?;
        // The data is copied into the reserved memory as it comes: an upload over the
        // limit fails before it is sent in full.
        let build = super::host_array_from_chunks("upload", &meta, chunks);
        self.put_host(id, &meta, build).await
    }

    async fn get(
        &self,
        id: u64,
        chunk_bytes: usize,
    ) -> Result<(Meta, BoxStream<'static, Result<Bytes>>)> {
        // Without the `cuda` feature the match has one arm.
        #[allow(clippy::infallible_destructuring_match)]
        let a = match self.lookup(id)? {
            Stored::Host(a) => a,
            #[cfg(feature = "cuda")]
            Stored::Gpu(g) => return Ok(self.gpu_stream(g, chunk_bytes)),
        };
        let meta = a.meta();
        let bytes = if let Some(b) = a.shared_le_bytes() {
            b // the array's own buffer: nothing to copy
        } else if a.len() < INLINE_ELEMENTS {
            a.to_le_bytes()
        } else {
            self.on_pool("fetch", move || a.to_le_bytes()).await?
        };
        let chunks = super::remote::chunks(bytes, chunk_bytes).map(Ok);
        Ok((meta, Box::pin(futures::stream::iter(chunks))))
    }

    async fn free(&self, ids: &[u64]) -> u64 {
        let (mut host, mut all) = (0, 0);
        let mut gone = Vec::new();
        let mut map = self.arrays.lock();
        for id in ids {
            if let Some(a) = map.remove(id) {
                host += a.host_bytes();
                all += a.nbytes();
                gone.push(a);
            }
        }
        drop(map);
        drop(gone);
        self.release(host);
        if host >= TRIM_AFTER_BYTES {
            trim::freed();
        }
        all
    }
}

/// Frees of at least this many bytes ask the allocator to return its free memory.
const TRIM_AFTER_BYTES: u64 = 64 << 20;

/// Returning freed memory to the OS once frees pause.
///
/// mimalloc (the `ndserve` binary's allocator) keeps freed memory for reuse; without a
/// collect the process's resident memory stays near its peak long after a large array is
/// freed or a session closes. But collecting after every large free makes the next
/// allocation fault its pages in again: a loop of float64 ops on 1e7 elements (80 MB
/// each) spent most of its time in the kernel zeroing pages. So a collect runs once no
/// large free has come for [`IDLE`](trim::IDLE). Harmless when another allocator is the
/// global one: mimalloc then holds nothing.
mod trim {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    /// How long frees must pause before the collect.
    pub const IDLE: Duration = Duration::from_millis(200);

    /// The last large free, and whether a collect is waiting for the pause.
    static STATE: Mutex<(Option<Instant>, bool)> = Mutex::new((None, false));

    fn collect() {
        // SAFETY: mi_collect has no preconditions; it only releases memory mimalloc holds
        // free, and is thread-safe.
        unsafe { libmimalloc_sys::mi_collect(true) }
    }

    /// Notes a large free; the collect follows once frees pause.
    pub fn freed() {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return collect();
        };
        let mut st = STATE.lock().unwrap_or_else(|p| p.into_inner());
        st.0 = Some(Instant::now());
        if std::mem::replace(&mut st.1, true) {
            return; // a waiting collect will see this free
        }
        drop(st);
        rt.spawn(async {
            loop {
                tokio::time::sleep(IDLE).await;
                let mut st = STATE.lock().unwrap_or_else(|p| p.into_inner());
                if st.0.is_some_and(|t| t.elapsed() >= IDLE) {
                    // A free after this point starts a new wait.
                    st.1 = false;
                    break;
                }
            }
            drop(tokio::task::spawn_blocking(collect));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndserve_proto::{DType, ErrorCode};

    /// Jobs waiting inside a parallel loop run other queued jobs on their own stack; with
    /// at most one job per pool thread handed to the pool, no job ever starts on top of
    /// more than one other (two threads: nesting at most 2 deep), however many wait.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_compute_pool_never_holds_more_jobs_than_threads() {
        use std::cell::Cell;
        use std::sync::atomic::AtomicUsize;
        thread_local!(static DEPTH: Cell<usize> = const { Cell::new(0) });
        static DEEPEST: AtomicUsize = AtomicUsize::new(0);
        let w = Arc::new(LocalWorker::new("w", 2, 1 << 20).unwrap());
        let jobs = (0..24).map(|_| {
            let w = w.clone();
            tokio::spawn(async move {
                w.on_pool("test", || {
                    let d = DEPTH.with(|c| {
                        c.set(c.get() + 1);
                        c.get()
                    });
                    DEEPEST.fetch_max(d, Ordering::Relaxed);
                    // a parallel loop whose halves take long enough to be stolen, so a
                    // thread waits for the other's and looks for queued jobs meanwhile
                    let nap = || std::thread::sleep(std::time::Duration::from_millis(3));
                    rayon::join(nap, nap);
                    DEPTH.with(|c| c.set(c.get() - 1));
                })
                .await
            })
        });
        for j in futures::future::join_all(jobs).await {
            j.unwrap().unwrap();
        }
        let deepest = DEEPEST.load(Ordering::Relaxed);
        assert!(
            (1..=2).contains(&deepest),
            "{deepest} jobs nested on one thread"
        );
    }

    /// On a machine without a GPU (or a build without `cuda`), the worker has its CPU only
    /// and names it when asked for another device.
    #[tokio::test]
    async fn a_device_the_worker_lacks_is_a_clear_error() {
        let w = LocalWorker::new("w", 1, 1 << 20).unwrap();
        #[cfg(feature = "cuda")]
        if !w.gpus.is_empty() {
            eprintln!("SKIPPED: this machine has a GPU");
            return;
        }
        assert_eq!(w.devices().len(), 1);
        let meta = Meta::new(DType::Float32, vec![1]);
        let e = w
            .put(1, meta.clone(), Bytes::from(vec![0u8; 4]), "cuda:0")
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument);
        assert!(e.to_string().contains("cuda:0"), "{e}");
        w.put(1, meta.clone(), Bytes::from(vec![0u8; 4]), "cpu:0")
            .await
            .unwrap();
        let call = WorkerCall {
            op: "negative".into(),
            inputs: vec![WorkerInput::Array(1)],
            outputs: vec![2],
            output_metas: vec![meta],
            attrs: Default::default(),
            device: "cuda:1".into(),
        };
        let e = w.run_op(call).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument);
        assert!(e.to_string().contains("negative"), "{e}");
        assert_eq!(w.device_of(1).as_deref(), Some("w/cpu:0"));
    }
}
