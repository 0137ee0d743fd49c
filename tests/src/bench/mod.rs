//! The benchmark suite of issue 6: latency, pipelining, small-array loops, transfers, CPU
//! kernels, matmul and memory, measured through the async SDK, each compared with a
//! reference measured in the same run where one exists (NumPy through
//! `bench/numpy_ref.py`, raw loopback TCP, a raw gRPC unary call, a host memcpy).
//!
//! The `bench` binary runs [`run_suite`] with [`Sizes::full`] or [`Sizes::quick`]; the
//! smoke test runs it with [`Sizes::tiny`]. `BENCHMARKS.md` at the repository root has the
//! command, the figures of one run and the targets.

pub mod cluster;
mod kernels;
mod latency;
mod memory;
pub mod numpy_ref;
pub mod report;
mod transfer;

use std::time::{Duration, Instant};

use ndserve_client::Client;

pub use report::{Recorder, Row, Unit};

/// Errors of the suite: the SDK's, I/O of the loopback test and the NumPy subprocess.
pub type BenchError = Box<dyn std::error::Error + Send + Sync>;

/// The suite's result type.
pub type Result<T> = std::result::Result<T, BenchError>;

const MIB: usize = 1 << 20;

/// The sizes of every workload. `bench/numpy_ref.py` gets the ones it mirrors on its
/// command line (see [`numpy_ref::script_args`]), so both sides always agree.
#[derive(Clone, Debug)]
pub struct Sizes {
    /// Round trips timed for each latency percentile.
    pub roundtrips: usize,
    /// Dependent tiny ops queued before one fetch.
    pub pipelined_ops: usize,
    /// Iterations of the small-array loop.
    pub loop_iters: usize,
    /// Elements of the small-array loop's array.
    pub loop_len: usize,
    /// Sizes of the uploaded and fetched arrays, in bytes.
    pub transfer_bytes: Vec<usize>,
    /// Bytes sent through raw loopback TCP.
    pub loopback_bytes: usize,
    /// Elements of each CPU kernel's input (a multiple of [`MEAN_ROW`]).
    pub kernel_len: usize,
    /// Timed repetitions of each kernel and matmul (after one warm-up); the median counts.
    pub reps: usize,
    /// Sides of the square matmuls.
    pub matmul_sizes: Vec<usize>,
    /// Bytes held by the memory workload.
    pub memory_bytes: usize,
}

/// Row length of the 2-D array whose mean over axis 0 is timed.
pub const MEAN_ROW: usize = 1000;

impl Sizes {
    /// The sizes.
    pub fn full() -> Sizes {
        Sizes {
            roundtrips: 2000,
            pipelined_ops: 100_000,
            loop_iters: 1000,
            loop_len: 1000,
            transfer_bytes: vec![MIB, 64 * MIB, 1024 * MIB],
            loopback_bytes: 1024 * MIB,
            kernel_len: 10_000_000,
            reps: 5,
            matmul_sizes: vec![1024, 2048],
            memory_bytes: 1024 * MIB,
        }
    }

    /// `--quick`: well under a minute, even in a debug build.
    pub fn quick() -> Sizes {
        Sizes {
            roundtrips: 500,
            pipelined_ops: 10_000,
            loop_iters: 1000,
            loop_len: 1000,
            transfer_bytes: vec![MIB, 64 * MIB],
            loopback_bytes: 256 * MIB,
            kernel_len: 1_000_000,
            reps: 3,
            matmul_sizes: vec![256],
            memory_bytes: 64 * MIB,
        }
    }

    /// For the smoke test: every workload, a few milliseconds each.
    pub fn tiny() -> Sizes {
        Sizes {
            roundtrips: 20,
            pipelined_ops: 200,
            loop_iters: 20,
            loop_len: 100,
            transfer_bytes: vec![64 << 10],
            loopback_bytes: 4 * MIB,
            kernel_len: 10_000,
            reps: 1,
            matmul_sizes: vec![32],
            memory_bytes: MIB,
        }
    }
}

/// How the suite reaches its server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerKind {
    /// In this process ([`Client::embedded`]): its resident memory can be read.
    Embedded,
    /// Elsewhere (`--server URL`).
    Remote,
}

/// Runs every workload against `client`'s server, recording each row as it is measured.
///
/// The memory workload runs first, while the process has not yet grown, so its resident
/// memory figures are not hidden by memory the allocator kept from earlier workloads.
///
/// # Errors
///
/// The first error of the SDK, of the loopback socket, or a wrong computed result.
pub async fn run_suite(
    client: &Client,
    sizes: &Sizes,
    server: ServerKind,
    rec: &mut Recorder<'_>,
) -> Result<()> {
    let cx = Ctx {
        client,
        sizes,
        server,
    };
    memory::run(&cx, rec).await?;
    transfer::loopback(&cx, rec).await?;
    latency::roundtrips(&cx, rec).await?;
    latency::pipelined(&cx, rec).await?;
    latency::small_loop(&cx, rec).await?;
    transfer::upload_fetch(&cx, rec).await?;
    kernels::host_memcpy(&cx, rec).await?;
    kernels::cpu_kernels(&cx, rec).await?;
    kernels::matmul(&cx, rec).await?;
    Ok(())
}

/// What every workload gets: the session, the sizes, and where the server runs.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    client: &'a Client,
    sizes: &'a Sizes,
    server: ServerKind,
}

/// Runs `f` once to warm up, then `reps` times, and returns the median time.
pub(crate) async fn median_time(
    reps: usize,
    mut f: impl AsyncFnMut() -> Result<()>,
) -> Result<Duration> {
    f().await?;
    let mut times = Vec::with_capacity(reps.max(1));
    for _ in 0..reps.max(1) {
        let t = Instant::now();
        f().await?;
        times.push(t.elapsed());
    }
    Ok(percentile(&mut times, 0.5))
}

/// The `p` quantile (0..=1) of `times`, nearest rank.
pub(crate) fn percentile(times: &mut [Duration], p: f64) -> Duration {
    times.sort_unstable();
    let rank = (p * times.len() as f64).ceil() as usize;
    times[rank.clamp(1, times.len()) - 1]
}

/// `t` in microseconds.
pub(crate) fn micros(t: Duration) -> f64 {
    t.as_secs_f64() * 1e6
}

/// `t` in milliseconds.
pub(crate) fn millis(t: Duration) -> f64 {
    t.as_secs_f64() * 1e3
}

/// Gigabytes per second for `bytes` in `t`.
pub(crate) fn gbps(bytes: usize, t: Duration) -> f64 {
    bytes as f64 / t.as_secs_f64() / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut t: Vec<Duration> = (1..=100).rev().map(Duration::from_micros).collect();
        assert_eq!(percentile(&mut t, 0.5), Duration::from_micros(50));
        assert_eq!(percentile(&mut t, 0.99), Duration::from_micros(99));
        assert_eq!(percentile(&mut t[..1], 0.99), Duration::from_micros(1));
    }

    #[test]
    fn kernel_lengths_fill_whole_mean_rows() {
        for s in [Sizes::full(), Sizes::quick(), Sizes::tiny()] {
            assert_eq!(s.kernel_len % MEAN_ROW, 0);
        }
    }
}
