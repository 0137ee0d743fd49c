//! One CUDA device: its context and stream, memory accounting with a caching allocator,
//! pinned staging for transfers, the NVRTC kernel cache and the cuBLAS handle.
//!
//! Every device operation is ordered on the device's one stream, so a buffer returned to
//! the pool can be reused by the next allocation without waiting: whatever still reads it
//! was queued before the new writer.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use cudarc::driver::sys::CUdevice_attribute;
use cudarc::driver::{CudaContext, CudaFunction, CudaStream, DriverError, result};
use ndserve_proto::{Error, Meta, Result};
use parking_lot::Mutex;

/// Pinned staging buffers are this large; transfers go through them in pieces.
const STAGE_BYTES: usize = 16 << 20;
/// Transfers smaller than this copy from pageable memory directly.
const DIRECT_BYTES: usize = 64 << 10;

/// A CUDA device of this worker.
pub struct CudaDevice {
    /// Its index among the worker's CUDA devices (`cuda:N`).
    pub ordinal: usize,
    /// Model name.
    pub model: String,
    /// Total memory in bytes.
    pub total: u64,
    /// Bytes arrays may hold.
    pub limit: u64,
    /// Streaming multiprocessors.
    pub sms: u32,
    /// `compute_XY`, for NVRTC.
    arch: String,
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    blas: Mutex<Option<cudarc::cublas::CudaBlas>>,
    live: AtomicU64,
    live_arrays: AtomicU64,
    /// Freed blocks by size class, reused before asking the driver.
    pool: Mutex<HashMap<usize, Vec<u64>>>,
    pooled: AtomicU64,
    kernels: Mutex<HashMap<String, std::result::Result<Kernel, String>>>,
    staging: Mutex<Option<Staging>>,
    /// Ops that ran on the CPU for arrays of this device.
    pub fallbacks: AtomicU64,
}

/// A compiled module's entry points.
#[derive(Clone)]
pub struct Kernel {
    fns: Arc<HashMap<&'static str, CudaFunction>>,
}

impl Kernel {
    /// The entry point `name`.
    pub fn function(&self, name: &str) -> Result<&CudaFunction> {
        self.fns
            .get(name)
            .ok_or_else(|| Error::internal("cuda", format!("kernel has no entry point {name}")))
    }
}

struct Staging {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the staging buffer is plain page-locked host memory owned by the device; it is
// only touched under the `staging` mutex.
unsafe impl Send for Staging {}

impl Drop for Staging {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `malloc_host` and is freed once, here.
        unsafe {
            let _ = result::free_host(self.ptr.cast());
        }
    }
}

/// A block of device memory; back to its device's pool when dropped.
pub struct DeviceBuffer {
    dev: Arc<CudaDevice>,
    /// The device address.
    pub ptr: u64,
    /// Bytes asked for.
    pub bytes: usize,
    class: usize,
}

impl Drop for DeviceBuffer {
    fn drop(&mut self) {
        self.dev.live.fetch_sub(self.bytes as u64, Ordering::AcqRel);
        self.dev
            .pooled
            .fetch_add(self.class as u64, Ordering::AcqRel);
        self.dev
            .pool
            .lock()
            .entry(self.class)
            .or_default()
            .push(self.ptr);
    }
}

/// An array in a device's memory: C-contiguous, little-endian, immutable. Clones share the
/// buffer (a reshape is a new meta over the same buffer).
#[derive(Clone)]
pub struct DeviceArray {
    /// Dtype and shape.
    pub meta: Meta,
    /// The data.
    pub buf: Arc<DeviceBuffer>,
}

impl DeviceArray {
    /// The device address of the first element.
    pub fn ptr(&self) -> u64 {
        self.buf.ptr
    }

    /// The same data under another meta with as many elements.
    pub fn with_meta(&self, meta: Meta) -> DeviceArray {
        DeviceArray {
            meta,
            buf: self.buf.clone(),
        }
    }
}

/// A driver error as this crate's error: out of memory is RESOURCE_EXHAUSTED.
pub fn driver_error(op: &str, e: DriverError) -> Error {
    let msg = format!("CUDA: {e:?}");
    if msg.contains("OUT_OF_MEMORY") {
        Error::exhausted(op, msg)
    } else {
        Error::internal(op, msg)
    }
}

fn size_class(bytes: usize) -> usize {
    if bytes <= 1 << 20 {
        bytes.max(256).next_power_of_two()
    } else {
        bytes.div_ceil(2 << 20) * (2 << 20)
    }
}

/// Whether the CUDA driver, NVRTC and cuBLAS libraries can be loaded.
pub fn libraries_present() -> std::result::Result<(), &'static str> {
    // SAFETY: these only try to dlopen the libraries.
    unsafe {
        if !cudarc::driver::sys::is_culib_present() {
            return Err("no CUDA driver (libcuda.so.1)");
        }
        if !cudarc::nvrtc::sys::is_culib_present() {
            return Err("no NVRTC (libnvrtc.so.13)");
        }
        if !cudarc::cublas::sys::is_culib_present() {
            return Err("no cuBLAS (libcublas.so.13)");
        }
    }
    Ok(())
}

impl CudaDevice {
    /// Opens device `ordinal`; arrays may use `fraction` of its memory (or `limit` bytes).
    pub fn open(ordinal: usize, limit: Option<u64>, fraction: f64) -> Result<Arc<CudaDevice>> {
        let err = |e: DriverError| driver_error("cuda", e);
        let ctx = CudaContext::new(ordinal).map_err(err)?;
        // One stream per device orders everything: no per-buffer events needed.
        // SAFETY: every buffer of this context is used on `stream` only.
        unsafe { ctx.disable_event_tracking() };
        let stream = ctx.new_stream().map_err(err)?;
        let model = ctx.name().map_err(err)?;
        let total = ctx.total_mem().map_err(err)? as u64;
        let major = ctx
            .attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)
            .map_err(err)?;
        let minor = ctx
            .attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)
            .map_err(err)?;
        let sms = ctx
            .attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)
            .map_err(err)? as u32;
        let blas = cudarc::cublas::CudaBlas::new(stream.clone())
            .map_err(|e| Error::internal("cuda", format!("cuBLAS: {e:?}")))?;
        Ok(Arc::new(CudaDevice {
            ordinal,
            model,
            total,
            limit: limit.unwrap_or((total as f64 * fraction) as u64),
            sms: sms.max(1),
            arch: format!("compute_{major}{minor}"),
            ctx,
            stream,
            blas: Mutex::new(Some(blas)),
            live: AtomicU64::new(0),
            live_arrays: AtomicU64::new(0),
            pool: Mutex::new(HashMap::new()),
            pooled: AtomicU64::new(0),
            kernels: Mutex::new(HashMap::new()),
            staging: Mutex::new(None),
            fallbacks: AtomicU64::new(0),
        }))
    }

    /// Makes this device's context current on the calling thread.
    pub fn bind(&self) -> Result<()> {
        self.ctx
            .bind_to_thread()
            .map_err(|e| driver_error("cuda", e))
    }

    /// The raw stream handle, for launches and library calls.
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    /// Bytes held by arrays.
    pub fn live_bytes(&self) -> u64 {
        self.live.load(Ordering::Relaxed)
    }

    /// Free memory as the driver reports it (0 when it cannot say).
    pub fn free_memory(&self) -> u64 {
        if self.bind().is_err() {
            return 0;
        }
        self.ctx.mem_get_info().map(|(f, _)| f as u64).unwrap_or(0)
    }

    /// Waits for everything queued on the device.
    pub fn sync(&self, op: &str) -> Result<()> {
        self.stream.synchronize().map_err(|e| driver_error(op, e))
    }

    /// A buffer of `bytes` for `op`: RESOURCE_EXHAUSTED past the limit or when the device
    /// has no memory left even after the pool is emptied.
    pub fn alloc(self: &Arc<Self>, op: &str, bytes: usize) -> Result<DeviceBuffer> {
        let mut cur = self.live.load(Ordering::Relaxed);
        loop {
            let next = cur.saturating_add(bytes as u64);
            if next > self.limit {
                return Err(Error::exhausted(
                    op,
                    format!(
                        "needs {bytes} bytes but cuda:{} holds {cur} of its {} byte limit",
                        self.ordinal, self.limit
                    ),
                ));
            }
            match self
                .live
                .compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(c) => cur = c,
            }
        }
        let class = size_class(bytes);
        let pooled = self.pool.lock().get_mut(&class).and_then(Vec::pop);
        let ptr = match pooled {
            Some(p) => {
                self.pooled.fetch_sub(class as u64, Ordering::AcqRel);
                p
            }
            None => match self.driver_alloc(class) {
                Ok(p) => p,
                Err(_) => {
                    // Give the pool's blocks back to the driver and try once more.
                    self.trim();
                    match self.driver_alloc(class) {
                        Ok(p) => p,
                        Err(e) => {
                            self.live.fetch_sub(bytes as u64, Ordering::AcqRel);
                            return Err(Error::exhausted(
                                op,
                                format!(
                                    "cuda:{} could not allocate {bytes} bytes: {e:?}",
                                    self.ordinal
                                ),
                            ));
                        }
                    }
                }
            },
        };
        Ok(DeviceBuffer {
            dev: self.clone(),
            ptr,
            bytes,
            class,
        })
    }

    fn driver_alloc(&self, class: usize) -> std::result::Result<u64, DriverError> {
        self.ctx.bind_to_thread()?;
        // SAFETY: a plain device allocation in this (current) context.
        unsafe { result::malloc_sync(class) }
    }

    /// Frees every pooled block.
    pub fn trim(&self) {
        let blocks: Vec<u64> = self.pool.lock().drain().flat_map(|(_, v)| v).collect();
        if blocks.is_empty() || self.bind().is_err() {
            return;
        }
        // Pooled blocks may still be read by queued work.
        let _ = self.stream.synchronize();
        for p in blocks {
            // SAFETY: pooled blocks came from malloc_sync, are owned by the pool only and
            // no queued work uses them after the synchronize above.
            unsafe {
                let _ = result::free_sync(p);
            }
        }
        self.pooled.store(0, Ordering::Release);
    }

    /// Counts an array in (for the device listing); the returned guard counts it out.
    pub fn count_array(self: &Arc<Self>) -> ArrayCount {
        self.live_arrays.fetch_add(1, Ordering::Relaxed);
        ArrayCount(self.clone())
    }

    /// Arrays held.
    pub fn live_arrays(&self) -> u64 {
        self.live_arrays.load(Ordering::Relaxed)
    }

    /// Copies little-endian C-order bytes to a new device array.
    pub fn upload(self: &Arc<Self>, op: &str, meta: Meta, data: &[u8]) -> Result<DeviceArray> {
        if data.len() as u64 != meta.nbytes() {
            return Err(Error::invalid(
                op,
                "data",
                format!(
                    "{} bytes for an array of {} bytes",
                    data.len(),
                    meta.nbytes()
                ),
            ));
        }
        self.bind()?;
        let buf = self.alloc(op, data.len())?;
        let cu = self.stream.cu_stream();
        if data.len() <= DIRECT_BYTES {
            // SAFETY: `buf` holds at least `data.len()` bytes; a copy from pageable memory
            // has consumed `data` when the call returns.
            unsafe { result::memcpy_htod_async(buf.ptr, data, cu) }
                .map_err(|e| driver_error(op, e))?;
        } else {
            let mut stage = self.staging()?;
            let stage = stage.as_mut().expect("staging allocated");
            for (i, piece) in data.chunks(stage.len).enumerate() {
                // SAFETY: the staging buffer is `stage.len` bytes of pinned memory owned by
                // this device; the previous piece's copy finished (synchronize below).
                let host = unsafe { std::slice::from_raw_parts_mut(stage.ptr, piece.len()) };
                host.copy_from_slice(piece);
                // SAFETY: the destination range lies inside `buf`.
                unsafe { result::memcpy_htod_async(buf.ptr + (i * stage.len) as u64, &*host, cu) }
                    .map_err(|e| driver_error(op, e))?;
                self.sync(op)?;
            }
        }
        Ok(DeviceArray {
            meta,
            buf: Arc::new(buf),
        })
    }

    /// Copies a device array to little-endian C-order bytes on the host.
    pub fn download(&self, op: &str, a: &DeviceArray) -> Result<Bytes> {
        self.bind()?;
        let n = a.meta.nbytes() as usize;
        let mut out = vec![0u8; n];
        let cu = self.stream.cu_stream();
        if n <= DIRECT_BYTES {
            // SAFETY: `a` holds `n` bytes; the synchronize completes the copy before `out`
            // is read or moved.
            unsafe { result::memcpy_dtoh_async(&mut out[..], a.ptr(), cu) }
                .map_err(|e| driver_error(op, e))?;
            self.sync(op)?;
        } else {
            let mut stage = self.staging()?;
            let stage = stage.as_mut().expect("staging allocated");
            for (i, piece) in out.chunks_mut(stage.len).enumerate() {
                // SAFETY: pinned staging owned by this device, `piece.len()` <= its length.
                let host = unsafe { std::slice::from_raw_parts_mut(stage.ptr, piece.len()) };
                // SAFETY: the source range lies inside `a`'s buffer; synchronized below.
                unsafe {
                    result::memcpy_dtoh_async(&mut *host, a.ptr() + (i * stage.len) as u64, cu)
                }
                .map_err(|e| driver_error(op, e))?;
                self.sync(op)?;
                piece.copy_from_slice(host);
            }
        }
        Ok(Bytes::from(out))
    }

    /// Copies `bytes` bytes between device addresses (queued).
    pub fn copy(&self, op: &str, dst: u64, src: u64, bytes: usize) -> Result<()> {
        self.bind()?;
        // SAFETY: the callers pass ranges inside live buffers of this device.
        unsafe { result::memcpy_dtod_async(dst, src, bytes, self.stream.cu_stream()) }
            .map_err(|e| driver_error(op, e))
    }

    fn staging(&self) -> Result<parking_lot::MutexGuard<'_, Option<Staging>>> {
        let mut g = self.staging.lock();
        if g.is_none() {
            // SAFETY: page-locked host memory for this context, freed by Staging's drop.
            let ptr = unsafe { result::malloc_host(STAGE_BYTES, 0) }
                .map_err(|e| driver_error("cuda", e))?;
            *g = Some(Staging {
                ptr: ptr.cast(),
                len: STAGE_BYTES,
            });
        }
        Ok(g)
    }

    /// The compiled kernel for `key` (NVRTC-compiling `source()` at first use); a source
    /// that does not compile is remembered, and its error returned each time.
    pub fn kernel(
        &self,
        key: &str,
        entries: &[&'static str],
        source: impl FnOnce() -> String,
    ) -> std::result::Result<Kernel, String> {
        if let Some(k) = self.kernels.lock().get(key) {
            return k.clone();
        }
        let compiled = self.compile(entries, source());
        if let Err(e) = &compiled {
            tracing::debug!(key, error = %e, "CUDA kernel does not compile; its op runs on the CPU");
        }
        self.kernels
            .lock()
            .insert(key.to_string(), compiled.clone());
        compiled
    }

    fn compile(
        &self,
        entries: &[&'static str],
        src: String,
    ) -> std::result::Result<Kernel, String> {
        let started = std::time::Instant::now();
        let ptx = cudarc::nvrtc::compile_ptx_with_opts(
            src,
            cudarc::nvrtc::CompileOptions {
                options: vec![
                    format!("--gpu-architecture={}", self.arch),
                    "--std=c++17".into(),
                ],
                ..Default::default()
            },
        )
        .map_err(|e| format!("{e:?}"))?;
        self.bind().map_err(|e| e.to_string())?;
        let module = self.ctx.load_module(ptx).map_err(|e| format!("{e:?}"))?;
        let mut fns = HashMap::new();
        for &name in entries {
            fns.insert(
                name,
                module.load_function(name).map_err(|e| format!("{e:?}"))?,
            );
        }
        tracing::debug!(
            micros = started.elapsed().as_micros() as u64,
            "CUDA kernel compiled"
        );
        Ok(Kernel { fns: Arc::new(fns) })
    }

    /// Runs `f` with the cuBLAS handle (bound to this device's stream).
    pub fn with_blas<R>(&self, f: impl FnOnce(&cudarc::cublas::CudaBlas) -> R) -> Result<R> {
        self.bind()?;
        let g = self.blas.lock();
        let blas = g
            .as_ref()
            .ok_or_else(|| Error::internal("matmul", "cuBLAS is not available"))?;
        Ok(f(blas))
    }

    /// A short description for the device listing.
    pub fn description(&self) -> String {
        format!(
            "{}, {} SMs, {:.1} GiB total, {:.1} GiB free, {} kernels compiled, {} ops fell back to the CPU",
            self.model,
            self.sms,
            self.total as f64 / (1u64 << 30) as f64,
            self.free_memory() as f64 / (1u64 << 30) as f64,
            self.kernels.lock().len(),
            self.fallbacks.load(Ordering::Relaxed),
        )
    }
}

/// Counts one array of a device while alive.
pub struct ArrayCount(Arc<CudaDevice>);

impl Drop for ArrayCount {
    fn drop(&mut self) {
        self.0.live_arrays.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Opens every CUDA device, or none (with the reason) when the libraries or devices are
/// missing. `NDSERVE_CUDA=0` turns GPUs off; `NDSERVE_CUDA_MEMORY_LIMIT` (bytes) or
/// `NDSERVE_CUDA_MEMORY_FRACTION` (default 0.9) bound each device's arrays.
pub fn discover() -> std::result::Result<Vec<Arc<CudaDevice>>, String> {
    if std::env::var("NDSERVE_CUDA").is_ok_and(|v| v == "0") {
        return Err("NDSERVE_CUDA=0".into());
    }
    libraries_present()?;
    let limit = std::env::var("NDSERVE_CUDA_MEMORY_LIMIT")
        .ok()
        .and_then(|v| v.parse().ok());
    let fraction = std::env::var("NDSERVE_CUDA_MEMORY_FRACTION")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.9);
    let count = CudaContext::device_count().map_err(|e| format!("CUDA driver: {e:?}"))?;
    if count <= 0 {
        return Err("the CUDA driver sees no device".into());
    }
    (0..count as usize)
        .map(|i| CudaDevice::open(i, limit, fraction).map_err(|e| e.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_classes_round_up() {
        assert_eq!(size_class(0), 256);
        assert_eq!(size_class(1000), 1024);
        assert_eq!(size_class(1 << 20), 1 << 20);
        assert_eq!(size_class((1 << 20) + 1), 2 << 20);
        assert_eq!(size_class(5 << 20), 6 << 20);
    }
}
