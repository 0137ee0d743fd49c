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
use cudarc::driver::{CudaContext, CudaEvent, CudaFunction, CudaStream, DriverError, result};
use ndserve_proto::{Error, Meta, Result};
use parking_lot::Mutex;

/// Pinned staging buffers are this large; transfers go through their two halves in
/// pieces, the host copying one half while the copy engine moves the other.
const STAGE_BYTES: usize = 16 << 20;
/// A transfer's piece: half a staging buffer.
const PIECE_BYTES: usize = STAGE_BYTES / 2;
/// Idle staging buffers a device keeps for the next transfers. Each transfer holds its
/// own buffer for as long as it runs (a slow client's upload or fetch holds up no other
/// transfer); more transfers at once allocate more, and those beyond this many are freed
/// when they end.
const IDLE_STAGING: usize = 4;
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
    staging: Mutex<Vec<Staging>>,
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

/// [`STAGE_BYTES`] of page-locked host memory: two halves of [`PIECE_BYTES`].
struct Staging {
    ptr: *mut u8,
}

impl Staging {
    /// The first `len` bytes of half `slot` (0 or 1).
    ///
    /// # Safety
    /// `len <= PIECE_BYTES`, and no copy queued on the device reads or writes that half
    /// while the slice lives (except the one the caller queues with it and waits for).
    #[allow(clippy::mut_from_ref)]
    unsafe fn half(&self, slot: usize, len: usize) -> &mut [u8] {
        debug_assert!(slot < 2 && len <= PIECE_BYTES);
        // SAFETY: the buffer is STAGE_BYTES = 2 * PIECE_BYTES long and lent to the
        // caller's transfer alone; the caller keeps the copies off this half.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(slot * PIECE_BYTES), len) }
    }
}

// SAFETY: the staging buffer is plain page-locked host memory owned by the device; it is
// lent to one transfer at a time (a [`StagingLease`]).
unsafe impl Send for Staging {}

/// A staging buffer lent to one transfer; back to its device's idle list when dropped.
struct StagingLease<'a> {
    dev: &'a CudaDevice,
    stage: Option<Staging>,
}

impl std::ops::Deref for StagingLease<'_> {
    type Target = Staging;
    fn deref(&self) -> &Staging {
        self.stage
            .as_ref()
            .expect("a lease holds its buffer until dropped")
    }
}

impl Drop for StagingLease<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.stage.take() {
            let mut idle = self.dev.staging.lock();
            if idle.len() < IDLE_STAGING {
                idle.push(s);
            }
        }
    }
}

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

/// An upload whose bytes do not make its array.
fn short_data(op: &str, got: u64, meta: &Meta) -> Error {
    Error::invalid(
        op,
        "data",
        format!("{got} bytes for an array of {} bytes", meta.nbytes()),
    )
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
            staging: Mutex::new(Vec::new()),
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
            return Err(short_data(op, data.len() as u64, &meta));
        }
        if data.len() > DIRECT_BYTES {
            return self.upload_with(op, meta, std::iter::once(data));
        }
        self.bind()?;
        let buf = self.alloc(op, data.len())?;
        // SAFETY: `buf` holds at least `data.len()` bytes; a copy from pageable memory has
        // consumed `data` when the call returns.
        unsafe { result::memcpy_htod_async(buf.ptr, data, self.stream.cu_stream()) }
            .map_err(|e| driver_error(op, e))?;
        Ok(DeviceArray {
            meta,
            buf: Arc::new(buf),
        })
    }

    /// Copies little-endian C-order bytes arriving in pieces (an upload's chunks) to a new
    /// device array: each piece goes on through the staging buffer as it arrives, so the
    /// copy to the device overlaps the arrival of the next. The pieces must add up to the
    /// array's size.
    pub fn upload_with<P: AsRef<[u8]>>(
        self: &Arc<Self>,
        op: &str,
        meta: Meta,
        pieces: impl IntoIterator<Item = P>,
    ) -> Result<DeviceArray> {
        self.bind()?;
        let n = meta.nbytes() as usize;
        let buf = self.alloc(op, n)?;
        let stage = self.staging()?;
        let staged = self.stage_up(op, &stage, (buf.ptr, n), pieces.into_iter());
        // Every copy has read the staging buffer before it goes back.
        let synced = self.sync(op);
        let copied = staged.and_then(|c| synced.map(|()| c))?;
        if copied != n {
            return Err(short_data(op, copied as u64, &meta));
        }
        Ok(DeviceArray {
            meta,
            buf: Arc::new(buf),
        })
    }

    /// Queues the copy of `pieces` to `dst` (at most `len` bytes) through the staging
    /// buffer's two halves: the host fills one while the copy engine reads the other.
    /// Returns the bytes copied.
    fn stage_up<P: AsRef<[u8]>>(
        &self,
        op: &str,
        stage: &Staging,
        (dst, len): (u64, usize),
        pieces: impl Iterator<Item = P>,
    ) -> Result<usize> {
        let mut pending: [Option<CudaEvent>; 2] = [None, None];
        // The half being filled, how full it is, and where on the device it goes.
        let (mut slot, mut fill, mut at) = (0usize, 0usize, 0usize);
        let flush = |slot: usize, fill: usize, at: usize| -> Result<CudaEvent> {
            // SAFETY: half `slot` of the pinned staging buffer lent to this transfer, with
            // `fill` bytes written; the host does not write it again before the event
            // recorded below completes.
            let host = unsafe { stage.half(slot, fill) };
            // SAFETY: `at + fill <= len` bytes of the destination buffer (checked below).
            unsafe { result::memcpy_htod_async(dst + at as u64, &*host, self.stream.cu_stream()) }
                .map_err(|e| driver_error(op, e))?;
            self.event(op)
        };
        for piece in pieces {
            let mut piece = piece.as_ref();
            while !piece.is_empty() {
                if fill == 0
                    && let Some(done) = pending[slot].take()
                {
                    // The copy that last read this half has finished.
                    done.synchronize().map_err(|e| driver_error(op, e))?;
                }
                let take = (PIECE_BYTES - fill).min(piece.len());
                if at + fill + take > len {
                    return Err(Error::invalid(
                        op,
                        "data",
                        format!("more than the {len} bytes of the declared array"),
                    ));
                }
                // SAFETY: as in `flush`; the half is not being read by any copy (waited
                // for above when it was started).
                let host = unsafe { stage.half(slot, fill + take) };
                host[fill..].copy_from_slice(&piece[..take]);
                fill += take;
                piece = &piece[take..];
                if fill == PIECE_BYTES {
                    pending[slot] = Some(flush(slot, fill, at)?);
                    (slot, fill, at) = (1 - slot, 0, at + PIECE_BYTES);
                }
            }
        }
        if fill > 0 {
            pending[slot] = Some(flush(slot, fill, at)?);
        }
        Ok(at + fill)
    }

    /// Copies a device array to little-endian C-order bytes on the host.
    pub fn download(&self, op: &str, a: &DeviceArray) -> Result<Bytes> {
        let mut out = Vec::with_capacity(a.meta.nbytes() as usize);
        self.download_with(op, a, |piece| {
            out.extend_from_slice(piece);
            Ok(())
        })?;
        Ok(Bytes::from(out))
    }

    /// Copies a device array to the host piece by piece, in order, handing each piece to
    /// `sink` while the next one is copied: a fetch streams the first bytes to its client
    /// before the last leave the device. An error from `sink` stops the copy.
    pub fn download_with(
        &self,
        op: &str,
        a: &DeviceArray,
        mut sink: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        self.bind()?;
        let n = a.meta.nbytes() as usize;
        if n <= DIRECT_BYTES {
            let mut out = vec![0u8; n];
            // SAFETY: `a` holds `n` bytes; the synchronize completes the copy before `out`
            // is read.
            unsafe { result::memcpy_dtoh_async(&mut out[..], a.ptr(), self.stream.cu_stream()) }
                .map_err(|e| driver_error(op, e))?;
            self.sync(op)?;
            return sink(&out);
        }
        let stage = self.staging()?;
        let staged = self.stage_down(op, &stage, a.ptr(), n, &mut sink);
        // No copy still writes the staging buffer when it goes back.
        let synced = self.sync(op);
        staged.and(synced)
    }

    /// Copies `n` bytes from `src` through the staging buffer's two halves, handing each
    /// piece to `sink`: the copy engine fills one half while the host drains the other.
    fn stage_down(
        &self,
        op: &str,
        stage: &Staging,
        src: u64,
        n: usize,
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        let pieces = n.div_ceil(PIECE_BYTES);
        let len = |i: usize| PIECE_BYTES.min(n - i * PIECE_BYTES);
        let queue = |i: usize| -> Result<CudaEvent> {
            // SAFETY: half `i % 2` of the pinned staging buffer lent to this transfer; the
            // host has drained it (a half is queued again only after it is handed out).
            let host = unsafe { stage.half(i % 2, len(i)) };
            // SAFETY: the source range lies inside the caller's buffer; the host reads the
            // half only after the event recorded below completes.
            unsafe {
                result::memcpy_dtoh_async(
                    host,
                    src + (i * PIECE_BYTES) as u64,
                    self.stream.cu_stream(),
                )
            }
            .map_err(|e| driver_error(op, e))?;
            self.event(op)
        };
        let mut pending: [Option<CudaEvent>; 2] = [None, None];
        for (i, slot) in pending.iter_mut().enumerate().take(pieces) {
            *slot = Some(queue(i)?);
        }
        for i in 0..pieces {
            let slot = i % 2;
            if let Some(done) = pending[slot].take() {
                done.synchronize().map_err(|e| driver_error(op, e))?;
            }
            // SAFETY: half `slot` holds piece `i`, its copy complete (the event above).
            sink(unsafe { stage.half(slot, len(i)) })?;
            if i + 2 < pieces {
                pending[slot] = Some(queue(i + 2)?);
            }
        }
        Ok(())
    }

    /// An event marking the work queued so far on the stream.
    fn event(&self, op: &str) -> Result<CudaEvent> {
        self.stream
            .record_event(None)
            .map_err(|e| driver_error(op, e))
    }

    /// A copy of `a`, an array of device `src`, in this device's memory: one peer copy
    /// by the driver (direct over NVLink or PCIe where the two devices can reach each
    /// other, else staged by the driver), not a trip through this process's memory.
    pub fn copy_from_peer(
        self: &Arc<Self>,
        op: &str,
        src: &CudaDevice,
        a: &DeviceArray,
    ) -> Result<DeviceArray> {
        let bytes = a.meta.nbytes() as usize;
        // `a`'s writes were queued on `src`'s stream.
        src.sync(op)?;
        self.bind()?;
        let buf = self.alloc(op, bytes)?;
        if bytes > 0 {
            // SAFETY: `buf` holds `bytes` bytes of this device and `a` as many of `src`;
            // both contexts are live (their devices own them), and the synchronize below
            // completes the copy before `a` may go back to its device's pool.
            unsafe {
                result::memcpy_peer_async(
                    self.ctx.cu_ctx(),
                    buf.ptr,
                    src.ctx.cu_ctx(),
                    a.ptr(),
                    bytes,
                    self.stream.cu_stream(),
                )
            }
            .map_err(|e| driver_error(op, e))?;
            self.sync(op)?;
        }
        Ok(DeviceArray {
            meta: a.meta.clone(),
            buf: Arc::new(buf),
        })
    }

    /// Copies `bytes` bytes between device addresses (queued).
    pub fn copy(&self, op: &str, dst: u64, src: u64, bytes: usize) -> Result<()> {
        self.bind()?;
        // SAFETY: the callers pass ranges inside live buffers of this device.
        unsafe { result::memcpy_dtod_async(dst, src, bytes, self.stream.cu_stream()) }
            .map_err(|e| driver_error(op, e))
    }

    /// A staging buffer for one transfer: an idle one, or a new one.
    fn staging(&self) -> Result<StagingLease<'_>> {
        let idle = self.staging.lock().pop();
        let stage = match idle {
            Some(s) => s,
            None => {
                self.bind()?;
                // SAFETY: page-locked host memory for this context, freed by Staging's
                // drop.
                let ptr = unsafe { result::malloc_host(STAGE_BYTES, 0) }
                    .map_err(|e| driver_error("cuda", e))?;
                Staging { ptr: ptr.cast() }
            }
        };
        Ok(StagingLease {
            dev: self,
            stage: Some(stage),
        })
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
