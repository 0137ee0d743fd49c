//! The several-worker benchmarks of issue 4 (`bench --cluster`): processes started from
//! the `ndserve` binary on loopback ports, measured in one run.
//!
//! - `fetch_remote_SIZE`: fetch of an array that lives on a worker process (the SDK's
//!   default: redirected to the worker), against `fetch_single_process_SIZE`, the same
//!   fetch from a `ndserve serve` process with its embedded worker. Target: at least 0.8.
//!   `fetch_remote_proxied_SIZE` is the same fetch streamed through the coordinator
//!   (`ClientOptions::with_direct_fetch(false)`).
//! - `sharded_W_exp`/`sharded_W_sum`: `exp` and `sum` of one float32 array sharded over
//!   W workers, against the same op on one worker (`one_worker_exp`, `one_worker_sum`).
//!   The ratio is the speed-up. Every worker computes with one thread, so the speed-up
//!   measures the distribution of the work, not the thread pool; it cannot exceed the
//!   machine's cores.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ndarray::Array1;
use ndserve_client::{Client, ClientOptions, DType};

use super::transfer::fmt_size;
use super::{MIB, Recorder, Result, Row, Unit, gbps, median_time, millis};

/// Sizes of the cluster benchmarks.
#[derive(Clone, Debug)]
pub struct ClusterSizes {
    /// Bytes of the fetched array.
    pub fetch_bytes: usize,
    /// Elements of the sharded float32 array.
    pub shard_len: usize,
    /// Worker counts the sharded ops are timed on.
    pub workers: Vec<usize>,
    /// Timed repetitions (after one warm-up); the median counts.
    pub reps: usize,
}

impl ClusterSizes {
    /// The full run.
    pub fn full() -> ClusterSizes {
        ClusterSizes {
            fetch_bytes: 256 * MIB,
            shard_len: 64 << 20,
            workers: vec![2, 3],
            reps: 5,
        }
    }

    /// `--quick`.
    pub fn quick() -> ClusterSizes {
        ClusterSizes {
            fetch_bytes: 64 * MIB,
            shard_len: 8 << 20,
            workers: vec![2],
            reps: 3,
        }
    }
}

/// Processes of one measurement; killed on drop.
struct Procs {
    children: Vec<Child>,
}

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn spawn(bin: &Path, args: &[String]) -> Result<Child> {
    Ok(Command::new(bin)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?)
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// A `ndserve serve` process with `embedded` workers and `joined` worker processes, each
/// computing with one thread; returns it once every device is ready.
async fn start(bin: &Path, embedded: usize, joined: usize) -> Result<(Procs, String)> {
    let port = free_port()?;
    let url = format!("http://127.0.0.1:{port}");
    let mut procs = Procs {
        children: Vec::new(),
    };
    let listen = format!("127.0.0.1:{port}");
    let mut serve = args(&["serve", "--threads", "1", "--listen", &listen]);
    serve.extend(args(&["--workers", &embedded.to_string()]));
    procs.children.push(spawn(bin, &serve)?);
    for i in 0..joined {
        let listen = format!("127.0.0.1:{}", free_port()?);
        let name = format!("w{i}");
        let worker = args(&[
            "worker",
            "--join",
            &url,
            "--name",
            &name,
            "--threads",
            "1",
            "--listen",
            &listen,
        ]);
        procs.children.push(spawn(bin, &worker)?);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(c) = Client::connect(url.clone()).await {
            let ready = c
                .devices()
                .await
                .map(|d| d.iter().filter(|d| d.state == "ready").count())
                .unwrap_or(0);
            let _ = c.close().await;
            if ready >= embedded + joined {
                return Ok((procs, url));
            }
        }
        if Instant::now() > deadline {
            return Err(format!("{url}: the workers did not join in 30 s").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The `ndserve` binary beside this executable (`cargo build --release --bin ndserve`).
pub fn ndserve_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let bin = exe
        .parent()?
        .join(format!("ndserve{}", std::env::consts::EXE_SUFFIX));
    bin.exists().then_some(bin)
}

/// Runs the cluster benchmarks with the `ndserve` binary `bin`.
///
/// # Errors
///
/// A process that does not start, an SDK error, or a wrong result.
pub async fn run(bin: &Path, sizes: &ClusterSizes, rec: &mut Recorder<'_>) -> Result<()> {
    fetch(bin, sizes, rec).await?;
    sharded(bin, sizes, rec).await
}

/// Times fetching one float32 array of `sizes.fetch_bytes` from `url`'s server, directly
/// from the worker when `direct` and the server offers it.
async fn time_fetch(url: &str, sizes: &ClusterSizes, direct: bool) -> Result<Duration> {
    let options = ClientOptions::default().with_direct_fetch(direct);
    let client = Client::connect_with(url.to_string(), options).await?;
    let n = sizes.fetch_bytes / 4;
    let a = client.upload(&Array1::<f32>::from_elem(n, 1.5)).await?;
    let t = median_time(sizes.reps, async || {
        let v = a.to_vec::<f32>().await?;
        if v.len() != n || v[n - 1] != 1.5 {
            return Err("fetched the wrong data".into());
        }
        Ok(())
    })
    .await?;
    client.close().await?;
    Ok(t)
}

async fn fetch(bin: &Path, sizes: &ClusterSizes, rec: &mut Recorder<'_>) -> Result<()> {
    let size = fmt_size(sizes.fetch_bytes);
    let single = {
        let (_procs, url) = start(bin, 1, 0).await?;
        time_fetch(&url, sizes, true).await?
    };
    let single_name = format!("fetch_single_process_{size}");
    rec.record(Row::new(
        &single_name,
        gbps(sizes.fetch_bytes, single),
        Unit::GBps,
    ));
    let (_procs, url) = start(bin, 0, 1).await?;
    for (name, direct) in [("fetch_remote", true), ("fetch_remote_proxied", false)] {
        let t = time_fetch(&url, sizes, direct).await?;
        let row = Row::new(
            format!("{name}_{size}"),
            gbps(sizes.fetch_bytes, t),
            Unit::GBps,
        );
        rec.record_against(row, &single_name);
    }
    Ok(())
}

async fn sharded(bin: &Path, sizes: &ClusterSizes, rec: &mut Recorder<'_>) -> Result<()> {
    let most = sizes.workers.iter().copied().max().unwrap_or(1);
    let (_procs, url) = start(bin, 0, most).await?;
    let c = Client::connect(url).await?;
    let mut devices: Vec<String> = c.devices().await?.into_iter().map(|d| d.name).collect();
    devices.sort();
    let n = sizes.shard_len;
    let x = c
        .on_device(&devices[0])
        .arange_n(n as i64)?
        .astype(DType::Float32)?;
    let x = (&x * (1.0 / n as f64))?;
    x.sync().await?;
    let reps = sizes.reps;
    let time_ops = async |a: &ndserve_client::Array| -> Result<(Duration, Duration)> {
        let exp = median_time(reps, async || {
            a.exp()?.sync().await?;
            Ok(())
        })
        .await?;
        let sum = median_time(reps, async || {
            let s = a.sum(None, false)?.item::<f32>().await?;
            if !s.is_finite() {
                return Err("sum is not finite".into());
            }
            Ok(())
        })
        .await?;
        Ok((exp, sum))
    };
    let (exp1, sum1) = time_ops(&x).await?;
    rec.record(Row::new("one_worker_exp", millis(exp1), Unit::Millis));
    rec.record(Row::new("one_worker_sum", millis(sum1), Unit::Millis));
    for &w in &sizes.workers {
        let names: Vec<&str> = devices[..w].iter().map(String::as_str).collect();
        let s = x.shard(0, &names)?;
        s.sync().await?;
        let (exp, sum) = time_ops(&s).await?;
        let e = Row::new(format!("sharded_{w}_exp"), millis(exp), Unit::Millis);
        rec.record_against(e, "one_worker_exp");
        let r = Row::new(format!("sharded_{w}_sum"), millis(sum), Unit::Millis);
        rec.record_against(r, "one_worker_sum");
    }
    c.close().await?;
    Ok(())
}
