//! A client workload against a running ndserve cluster (a coordinator and joined
//! workers, e.g. `deploy/docker-compose.yml`), checked against the same computation done
//! locally with ndarray.
//!
//! ```sh
//! cargo run --release --example cluster_demo -p ndserve-client                # the workload
//! cargo run --release --example cluster_demo -p ndserve-client -- --workload    # the same
//! cargo run --release --example cluster_demo -p ndserve-client -- --loss-check  # see below
//! ```
//!
//! Environment:
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `NDSERVE_SERVER` | `http://127.0.0.1:50051` | the coordinator |
//! | `NDSERVE_DEMO_WORKERS` | `3` | how many ready workers to wait for (and use) |
//! | `NDSERVE_DEMO_TIMEOUT_SECS` | `120` | how long to wait for the coordinator and the workers |
//! | `NDSERVE_DEMO_PART_LEN` | `4194304` (2^22) | f64 values per part (one part per worker) |
//! | `NDSERVE_DEMO_MATMUL_N` | `512` | the matmul's size (n x n times n x n) |
//! | `NDSERVE_DEMO_VICTIM` | the last worker | `--loss-check`: the worker that will be killed |
//!
//! The workload: a large array (`NDSERVE_DEMO_PART_LEN` f64 values per worker, made by a
//! fixed formula) is uploaded and sharded over the workers (`Array::shard`); an
//! elementwise step runs part by part where the parts live, and `sum`/`max` combine
//! per-part partials; a matmul multiplies a row-sharded A by a B mirrored on every worker.
//! The results are fetched (the parts stream in order from their workers) and compared
//! with ndarray; the timings and the result are printed.
//!
//! `--loss-check` is the second half of a failure drill: it places one small array on each
//! worker, prints `loss-check: ready, kill worker NAME now` and waits until the coordinator
//! reports that worker lost (someone kills it meanwhile: `deploy/test-compose.sh` kills
//! its container). Then it checks that the arrays on the lost worker answer UNAVAILABLE
//! naming the worker, while the arrays on the other workers still compute.
//!
//! Exit status: 0 when every check passed, 1 on a mismatch or a failed check, 2 when the
//! cluster could not be reached or an unexpected error occurred.

use std::time::{Duration, Instant};

use ndarray::{Array1, Array2};
use ndserve_client::{Array, Client, ErrorCode, Layout};

/// Reads a numeric environment variable, with a default.
fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().unwrap_or_else(|_| {
            eprintln!("cluster_demo: {name}={v:?} is not a number");
            std::process::exit(2)
        }),
        _ => default,
    }
}

/// The fixed formula of the input data: value number `k` of the whole array.
fn input_value(k: usize) -> f64 {
    (k as f64 * 1e-5).sin() * 3.0 + (k % 7) as f64 * 0.25 - 0.75
}

/// The elementwise step each worker runs on its part, done locally for the check:
/// `sqrt(x*x + 1) * 0.5 - tanh(x) + exp(-|x|)`.
fn local_step(x: f64) -> f64 {
    (x * x + 1.0).sqrt() * 0.5 - x.tanh() + (-x.abs()).exp()
}

/// The same step on the server: ops queue at once and run where `x` lives.
fn remote_step(x: &Array) -> ndserve_client::Result<Array> {
    let root = (((x * x)? + 1.0)?.sqrt()? * 0.5)?;
    let decay = x.abs()?.negative()?.exp()?;
    (root - x.tanh()?)? + decay
}

/// Relative-and-absolute closeness, as `numpy.isclose`.
fn close(got: f64, want: f64, rtol: f64, atol: f64) -> bool {
    (got - want).abs() <= atol + rtol * want.abs()
}

/// The first index where two slices differ beyond the tolerance, with the values.
fn first_mismatch(got: &[f64], want: &[f64], rtol: f64, atol: f64) -> Option<(usize, f64, f64)> {
    if got.len() != want.len() {
        return Some((got.len().min(want.len()), f64::NAN, f64::NAN));
    }
    got.iter()
        .zip(want)
        .position(|(&g, &w)| !close(g, w, rtol, atol))
        .map(|i| (i, got[i], want[i]))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Collects the timings and the failed checks of a run.
#[derive(Default)]
struct Report {
    timings: Vec<(String, f64)>,
    failures: Vec<String>,
}

impl Report {
    fn time(&mut self, step: &str, since: Instant) {
        let t = ms(since.elapsed());
        println!("  {step:<44} {t:>10.1} ms");
        self.timings.push((step.to_string(), t));
    }

    fn check(&mut self, what: &str, ok: bool, detail: impl std::fmt::Display) {
        if ok {
            println!("  ok    {what}");
        } else {
            println!("  FAIL  {what}: {detail}");
            self.failures.push(format!("{what}: {detail}"));
        }
    }
}

/// Connects to the coordinator, retrying until the deadline (it may still be starting).
async fn connect(url: &str, deadline: Instant) -> Result<Client, String> {
    loop {
        match Client::connect(url).await {
            Ok(c) => return Ok(c),
            Err(e) if Instant::now() < deadline => {
                eprintln!("cluster_demo: waiting for {url}: {e}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(format!("cannot connect to {url}: {e}")),
        }
    }
}

/// Waits until at least `n` devices are ready; returns the ready devices' names (sorted)
/// and their workers' names.
async fn wait_for_workers(
    client: &Client,
    n: usize,
    deadline: Instant,
) -> Result<Vec<(String, String)>, String> {
    let mut last = String::new();
    loop {
        match client.devices().await {
            Ok(devices) => {
                let mut ready: Vec<(String, String)> = devices
                    .iter()
                    .filter(|d| d.state == "ready")
                    .map(|d| (d.name.clone(), d.worker.clone()))
                    .collect();
                ready.sort();
                if ready.len() >= n {
                    return Ok(ready);
                }
                let seen = format!("{} of {n} workers ready: {ready:?}", ready.len());
                if seen != last {
                    eprintln!("cluster_demo: {seen}");
                    last = seen;
                }
            }
            Err(e) => last = format!("devices: {e}"),
        }
        if Instant::now() >= deadline {
            return Err(format!("timed out waiting for {n} ready workers ({last})"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn workload(client: &Client, devices: &[(String, String)]) -> ndserve_client::Result<Report> {
    let mut report = Report::default();
    let workers = devices.len();
    let names: Vec<&str> = devices.iter().map(|(d, _)| d.as_str()).collect();
    let part_len: usize = env_num("NDSERVE_DEMO_PART_LEN", 1usize << 22);
    let n: usize = env_num("NDSERVE_DEMO_MATMUL_N", 512usize);
    let total_len = part_len * workers;
    println!(
        "workload: one array of {total_len} f64 ({:.1} MiB) sharded over {workers} workers",
        (total_len * 8) as f64 / (1 << 20) as f64
    );
    let t_all = Instant::now();

    // The input, made locally by a fixed formula.
    let t = Instant::now();
    let local = Array1::from_shape_fn(total_len, input_value);
    report.time("generate input locally", t);

    // Upload it, then shard it: parts move worker to worker, not through the client.
    println!("upload and shard");
    let t = Instant::now();
    let whole = client.upload(&local).await?;
    whole.sync().await?;
    report.time(&format!("upload {} MiB", total_len * 8 / (1 << 20)), t);
    let t = Instant::now();
    let x = whole.shard(0, &names)?;
    let layout = x.layout().await?;
    drop(whole);
    report.time(&format!("shard over {workers} workers"), t);
    let placed: Vec<&str> = layout.devices();
    report.check(
        &format!("one part per worker: {placed:?}"),
        placed == names && matches!(layout, Layout::Sharded { axis: 0, .. }),
        format!("layout {layout:?}"),
    );

    // Compute: the elementwise step part by part, reductions from per-part partials.
    println!("compute");
    let t = Instant::now();
    let y = remote_step(&x)?;
    let sum = y.sum(None, false)?;
    let max = y.max(None, false)?;
    sum.sync().await?;
    max.sync().await?;
    report.time("elementwise + sum + max, sharded", t);
    let y_layout = y.layout().await?;
    report.check(
        "the elementwise result stays sharded on the same workers",
        y_layout.devices() == names,
        format!("layout {y_layout:?}"),
    );

    // matmul: A sharded by rows, B mirrored on every worker; C comes out row-sharded.
    let a_local = Array2::from_shape_fn((n, n), |(i, j)| input_value(i * n + j) / n as f64);
    let b_local = Array2::from_shape_fn((n, n), |(i, j)| input_value(7 * (i * n + j) + 1));
    let t = Instant::now();
    let a = client.upload(&a_local).await?.shard(0, &names)?;
    let b = client.upload(&b_local).await?.replicate(&names)?;
    a.sync().await?;
    b.sync().await?;
    report.time(&format!("upload, shard A and mirror B ({n}x{n})"), t);
    let t = Instant::now();
    let c = a.matmul(&b)?;
    c.sync().await?;
    report.time(&format!("matmul {n}x{n}, row-sharded"), t);
    let c_layout = c.layout().await?;
    report.check(
        "matmul ran per shard",
        matches!(c_layout, Layout::Sharded { axis: 0, .. }) && c_layout.devices() == names,
        format!("layout {c_layout:?}"),
    );

    // Fetch: the parts stream in order from their workers.
    println!("fetch");
    let t = Instant::now();
    let fetched = y.to_vec::<f64>().await?;
    let (sum_value, max_value) = (sum.item::<f64>().await?, max.item::<f64>().await?);
    report.time(
        &format!("fetch {} MiB of results", total_len * 8 / (1 << 20)),
        t,
    );
    let t = Instant::now();
    let c_fetched = c.to_ndarray::<f64>().await?;
    report.time(&format!("fetch matmul result ({n}x{n})"), t);

    // The same computation locally.
    println!("check against ndarray");
    let t = Instant::now();
    let want = local.mapv(local_step);
    let (want_sum, want_max) = (
        want.sum(),
        want.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    let bad = first_mismatch(&fetched, want.as_slice().expect("contiguous"), 1e-12, 1e-12);
    report.check(
        &format!("{total_len} values match"),
        bad.is_none(),
        format!("{bad:?} (index, got, want)"),
    );
    report.check(
        &format!("sum {sum_value:.6} matches"),
        close(sum_value, want_sum, 1e-9, 1e-9),
        format!("got {sum_value}, want {want_sum}"),
    );
    report.check(
        &format!("max {max_value:.6} matches"),
        max_value == want_max,
        format!("got {max_value}, want {want_max}"),
    );
    let c_local = a_local.dot(&b_local);
    let c_got: Vec<f64> = c_fetched.iter().copied().collect();
    let c_want: Vec<f64> = c_local.iter().copied().collect();
    let bad = first_mismatch(&c_got, &c_want, 1e-9, 1e-9);
    report.check(
        &format!("matmul {n}x{n} matches"),
        c_fetched.shape() == [n, n] && bad.is_none(),
        format!("shape {:?}, {bad:?} (index, got, want)", c_fetched.shape()),
    );
    report.time("local computation and comparison", t);
    report.time("whole workload", t_all);

    println!(
        "result: sum over {total_len} values of sqrt(x*x+1)/2 - tanh(x) + exp(-|x|) = \
         {sum_value:.9}; max {max_value:.9}; matmul trace {:.9}",
        c_local.diag().sum()
    );
    Ok(report)
}

/// `--loss-check`: one array per worker; after the victim is killed (by someone else),
/// its array answers UNAVAILABLE and the others still compute.
async fn loss_check(
    client: &Client,
    devices: &[(String, String)],
    deadline_secs: u64,
) -> ndserve_client::Result<Report> {
    let mut report = Report::default();
    let victim = std::env::var("NDSERVE_DEMO_VICTIM")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| devices.last().expect("a device").1.clone());
    if !devices.iter().any(|(_, w)| *w == victim) {
        report.check(
            &format!("victim {victim} is a ready worker"),
            false,
            format!("ready: {devices:?}"),
        );
        return Ok(report);
    }
    // One array per worker, each checked before the loss.
    let mut held = Vec::new();
    for (i, (dev, worker)) in devices.iter().enumerate() {
        let a = client.on_device(dev).arange_n(1000)?;
        let a = (&a + i as i64)?;
        let want: i64 = (0..1000).map(|k| k + i as i64).sum();
        let got = a.sum(None, false)?.item::<i64>().await?;
        report.check(
            &format!("before the loss: array on {dev} computes"),
            got == want,
            format!("sum {got}, want {want}"),
        );
        held.push((dev.clone(), worker.clone(), a, want));
    }
    println!("loss-check: ready, kill worker {victim} now");

    // Wait until the coordinator has removed the victim (heartbeats stopped).
    let t = Instant::now();
    let deadline = t + Duration::from_secs(deadline_secs);
    loop {
        let lost = client
            .devices()
            .await?
            .iter()
            .any(|d| d.worker == victim && d.state == "lost");
        if lost {
            break;
        }
        if Instant::now() >= deadline {
            report.check(
                &format!("worker {victim} reported lost"),
                false,
                format!("not lost after {deadline_secs} s"),
            );
            return Ok(report);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    report.time(&format!("until the coordinator reported {victim} lost"), t);

    let survivor = held
        .iter()
        .find(|(_, w, _, _)| *w != victim)
        .map(|(_, _, a, _)| a.clone());
    for (dev, worker, a, want) in &held {
        if *worker == victim {
            let e = a.to_vec::<i64>().await.err();
            report.check(
                &format!("array on lost {dev} answers UNAVAILABLE naming {worker}"),
                e.as_ref().is_some_and(|e| {
                    e.code() == ErrorCode::Unavailable && e.to_string().contains(worker.as_str())
                }),
                format!("{e:?}"),
            );
            if let Some(s) = &survivor {
                let e = (a + s)?.sync().await.err();
                report.check(
                    "an op mixing the lost array with a live one answers UNAVAILABLE",
                    e.as_ref()
                        .is_some_and(|e| e.code() == ErrorCode::Unavailable),
                    format!("{e:?}"),
                );
            }
        } else {
            let got = (a * 2)?.sum(None, false)?.item::<i64>().await;
            report.check(
                &format!("after the loss: array on {dev} still computes"),
                got.as_ref().is_ok_and(|g| *g == 2 * want),
                format!("{got:?}, want {}", 2 * want),
            );
        }
    }
    // New work goes to the remaining workers.
    let fresh = client.arange_n(10)?.sum(None, false)?;
    let got = fresh.item::<i64>().await;
    let at = fresh.device().await;
    report.check(
        "a new array lands on a live worker and computes",
        got.as_ref().is_ok_and(|g| *g == 45)
            && at
                .as_ref()
                .is_ok_and(|d| !d.starts_with(&format!("{victim}/"))),
        format!("{got:?} on {at:?}"),
    );
    Ok(report)
}

#[tokio::main]
async fn main() {
    let url = std::env::var("NDSERVE_SERVER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "http://127.0.0.1:50051".into());
    let want_workers: usize = env_num("NDSERVE_DEMO_WORKERS", 3usize).max(1);
    let timeout: u64 = env_num("NDSERVE_DEMO_TIMEOUT_SECS", 120u64);
    let mut loss = false;
    for a in std::env::args().skip(1) {
        match a.as_str() {
            "--loss-check" => loss = true,
            "--workload" => loss = false,
            _ => {
                eprintln!("cluster_demo: unknown argument {a:?} (--workload or --loss-check)");
                std::process::exit(2);
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(timeout);

    println!("cluster_demo: coordinator {url}, waiting for {want_workers} ready workers");
    let t = Instant::now();
    let client = match connect(&url, deadline).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cluster_demo: {e}");
            std::process::exit(2);
        }
    };
    let devices = match wait_for_workers(&client, want_workers, deadline).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("cluster_demo: {e}");
            std::process::exit(2);
        }
    };
    // Exactly `want_workers` of them: one part each.
    let devices = &devices[..want_workers];
    println!(
        "  {:<44} {:>10.1} ms",
        "connect and wait for workers",
        ms(t.elapsed())
    );
    for (dev, worker) in devices {
        println!("  device {dev} (worker {worker})");
    }

    let result = if loss {
        loss_check(&client, devices, timeout).await
    } else {
        workload(&client, devices).await
    };
    let _ = client.close().await;
    let mode = if loss { "loss-check" } else { "workload" };
    match result {
        Ok(report) if report.failures.is_empty() => {
            println!("cluster_demo {mode}: PASS");
        }
        Ok(report) => {
            println!(
                "cluster_demo {mode}: FAIL ({} failed check(s))",
                report.failures.len()
            );
            for f in &report.failures {
                println!("  {f}");
            }
            std::process::exit(1);
        }
        Err(e) => {
            println!("cluster_demo {mode}: FAIL (error: {e})");
            std::process::exit(2);
        }
    }
}
