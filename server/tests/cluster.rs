//! Several workers as separate processes on loopback ports: a coordinator
//! (`ndserve serve --workers 0`) and workers (`ndserve worker --join`), driven through
//! the SDK. Placement, ops across workers, fetch from each worker, explicit copies, a
//! killed worker, and two clients at once.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ndarray::{Array1, Array2, array};
use ndserve_client::{Client, DType, ErrorCode, Layout, ReplicaReduce};

/// A coordinator and its workers; the processes are killed on drop.
struct Cluster {
    url: String,
    coordinator: Child,
    workers: Vec<(String, Child)>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn ndserve() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ndserve"));
    c.env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    c
}

/// Heartbeats stop counting after this long (short, so tests see a loss quickly).
const WORKER_TIMEOUT_MS: u64 = 1500;

impl Cluster {
    async fn start(workers: usize) -> Cluster {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let coordinator = ndserve()
            .args(["serve", "--workers", "0", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--worker-timeout-ms")
            .arg(WORKER_TIMEOUT_MS.to_string())
            .spawn()
            .expect("coordinator starts");
        let mut c = Cluster {
            url,
            coordinator,
            workers: Vec::new(),
        };
        for i in 0..workers {
            let name = format!("w{i}");
            let child = ndserve()
                .args(["worker", "--join", &c.url, "--name", &name])
                .args(["--threads", "1", "--memory-limit", "1GiB", "--listen"])
                .arg(format!("127.0.0.1:{}", free_port()))
                .spawn()
                .expect("worker starts");
            c.workers.push((name, child));
        }
        c.wait_ready(workers).await;
        c
    }

    /// Waits until `n` workers have joined.
    async fn wait_ready(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(client) = Client::connect(&self.url).await {
                let ready = client
                    .devices()
                    .await
                    .map(|d| d.iter().filter(|d| d.state == "ready").count())
                    .unwrap_or(0);
                let _ = client.close().await;
                if ready >= n {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{n} workers did not join in 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn device(&self, i: usize) -> String {
        format!("{}/cpu:0", self.workers[i].0)
    }

    fn kill(&mut self, i: usize) {
        let _ = self.workers[i].1.kill();
        let _ = self.workers[i].1.wait();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for (_, w) in &mut self.workers {
            let _ = w.kill();
            let _ = w.wait();
        }
        let _ = self.coordinator.kill();
        let _ = self.coordinator.wait();
    }
}

#[tokio::test]
async fn placement_cross_worker_ops_and_fetch_from_each_worker() -> ndserve_client::Result<()> {
    let cluster = Cluster::start(3).await;
    let c = Client::connect(&cluster.url).await?;
    let devices = c.devices().await?;
    assert_eq!(devices.len(), 3, "{devices:?}");

    // Creation under a device scope lands there; fetch streams from each worker.
    let parts: Vec<_> = (0..3)
        .map(|i| {
            c.on_device(&cluster.device(i))
                .full(&[4], (i + 1) as f64, Some(DType::Float64))
        })
        .collect::<Result<_, _>>()?;
    for (i, p) in parts.iter().enumerate() {
        assert_eq!(p.device().await?, cluster.device(i));
        assert_eq!(p.to_vec::<f64>().await?, vec![(i + 1) as f64; 4]);
    }

    // Inputs on different workers: the op runs where most input bytes live, the other
    // input is copied worker to worker.
    let big = c
        .on_device(&cluster.device(1))
        .ones(&[1000], DType::Float64)?;
    let small = c
        .on_device(&cluster.device(2))
        .full(&[1], 2.0, Some(DType::Float64))?;
    let s = (&big * &small)?.sum(None, false)?;
    assert_eq!(s.item::<f64>().await?, 2000.0);
    assert_eq!(s.device().await?, cluster.device(1));
    let mixed = ((&parts[0] + &parts[1])? * &parts[2])?;
    assert_eq!(mixed.to_vec::<f64>().await?, vec![9.0; 4]);

    // An explicit copy.
    let moved = parts[0].copy_to(&cluster.device(2))?;
    assert_eq!(moved.device().await?, cluster.device(2));
    assert_eq!(moved.to_vec::<f64>().await?, vec![1.0; 4]);

    // Uploads without a scope go to the least loaded device: they spread.
    let mut homes = std::collections::BTreeSet::new();
    let mut held = Vec::new();
    for _ in 0..3 {
        let a = c.upload(&Array1::<f32>::zeros(1 << 18)).await?;
        homes.insert(a.device().await?);
        held.push(a);
    }
    assert!(homes.len() >= 2, "uploads all went to {homes:?}");

    // An unknown device is a clear error.
    let e = c
        .on_device("nowhere/cpu:0")
        .ones(&[1], DType::Int8)?
        .sync()
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(e.to_string().contains("no device 'nowhere/cpu:0'"), "{e}");
    Ok(())
}

#[tokio::test]
async fn a_killed_worker_loses_only_its_arrays() -> ndserve_client::Result<()> {
    let mut cluster = Cluster::start(2).await;
    let c = Client::connect(&cluster.url).await?;
    let other = Client::connect(&cluster.url).await?;
    let kept = c
        .on_device(&cluster.device(0))
        .upload(&array![1i32, 2, 3])
        .await?;
    let lost = c
        .on_device(&cluster.device(1))
        .upload(&array![4i32, 5, 6])
        .await?;
    let elsewhere = other.on_device(&cluster.device(0)).arange_n(5)?;
    assert_eq!(lost.to_vec::<i32>().await?, vec![4, 5, 6]);

    cluster.kill(1);
    tokio::time::sleep(Duration::from_millis(WORKER_TIMEOUT_MS + 1500)).await;

    // Every use of an array on the lost worker answers UNAVAILABLE naming it.
    let e = lost.to_vec::<i32>().await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Unavailable, "{e}");
    assert!(e.to_string().contains("w1"), "{e}");
    let e = (&kept + &lost)?.sync().await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Unavailable, "{e}");
    // Everything else keeps working, other sessions included.
    assert_eq!((&kept * 2)?.to_vec::<i32>().await?, vec![2, 4, 6]);
    assert_eq!(elsewhere.sum(None, false)?.item::<i64>().await?, 10);
    assert_eq!(c.ones(&[2], DType::Int8)?.to_vec::<i8>().await?, vec![1, 1]);
    let states: Vec<_> = c
        .devices()
        .await?
        .into_iter()
        .map(|d| (d.name, d.state))
        .collect();
    assert!(
        states.contains(&("w1/cpu:0".to_string(), "lost".to_string())),
        "{states:?}"
    );
    Ok(())
}

#[tokio::test]
async fn sharded_and_mirrored_arrays_across_worker_processes() -> ndserve_client::Result<()> {
    let cluster = Cluster::start(3).await;
    let c = Client::connect(&cluster.url).await?;
    let n = 1000;
    let local = Array2::from_shape_fn((n, 8), |(i, j)| (i * 8 + j) as f64 * 0.001 - 3.0);
    let x = c.upload(&local).await?;
    let s = x.shard(0, &[])?;
    let Layout::Sharded { axis: 0, parts } = s.layout().await? else {
        panic!("not sharded along 0");
    };
    let devices: Vec<String> = parts.iter().map(|p| p.device.clone()).collect();
    assert_eq!(
        devices,
        (0..3).map(|i| cluster.device(i)).collect::<Vec<_>>()
    );
    assert_eq!(
        parts.iter().map(|p| p.shape[0]).collect::<Vec<_>>(),
        vec![334, 333, 333]
    );

    // Elementwise + reduction + matmul per shard, checked against ndarray on the client.
    let y = ((&s * 2.0)? + 1.0)?;
    assert!(matches!(y.layout().await?, Layout::Sharded { axis: 0, .. }));
    let col_sums = y.sum(0, false)?.to_vec::<f64>().await?;
    let want = local.mapv(|v| v * 2.0 + 1.0).sum_axis(ndarray::Axis(0));
    for (g, w) in col_sums.iter().zip(&want) {
        assert!((g - w).abs() <= 1e-9 * w.abs().max(1.0), "{g} vs {w}");
    }
    let w = Array2::from_shape_fn((8, 3), |(i, j)| (i + 2 * j) as f64);
    let m = s.matmul(&c.upload(&w).await?.replicate(&[])?)?;
    assert!(matches!(m.layout().await?, Layout::Sharded { axis: 0, .. }));
    assert_eq!(m.to_ndarray::<f64>().await?, local.dot(&w).into_dyn());
    // Fetch assembles the parts in order.
    assert_eq!(s.to_ndarray::<f64>().await?, local.clone().into_dyn());
    // Resharding along the columns moves parts worker to worker.
    let r = s.reshard(1, &[])?;
    assert_eq!(r.to_ndarray::<f64>().await?, local.clone().into_dyn());

    // Mirrored: the same op sequence on every replica, then a cross-replica sum.
    let mirrored = c.arange_n(5)?.replicate(&[])?;
    let per = c
        .run_per_replica(std::slice::from_ref(&mirrored), |a| &a[0] * &a[0])
        .await?;
    let total = per.reduce_replicas(ReplicaReduce::Sum)?;
    assert_eq!(total.to_vec::<i64>().await?, vec![0, 3, 12, 27, 48]);
    Ok(())
}

#[tokio::test]
async fn a_sharded_op_fails_cleanly_when_a_shard_worker_dies() -> ndserve_client::Result<()> {
    let mut cluster = Cluster::start(3).await;
    let c = Client::connect(&cluster.url).await?;
    let s = c.arange_n(30)?.astype(DType::Float64)?.shard(0, &[])?;
    assert_eq!(s.sum(None, false)?.item::<f64>().await?, 435.0);
    let kept = c.on_device(&cluster.device(0)).arange_n(4)?;
    kept.sync().await?;

    cluster.kill(1);
    tokio::time::sleep(Duration::from_millis(WORKER_TIMEOUT_MS + 1500)).await;

    // Ops on the sharded array fail with UNAVAILABLE naming the array and the worker,
    // and never hang.
    let within = Duration::from_secs(20);
    let e = tokio::time::timeout(within, (&s + 1.0)?.sync())
        .await
        .expect("no hang")
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Unavailable, "{e}");
    assert!(e.to_string().contains("w1"), "{e}");
    assert!(
        e.to_string().contains(&format!("array {}", s.handle())),
        "{e}"
    );
    let e = tokio::time::timeout(within, s.to_vec::<f64>())
        .await
        .expect("no hang")
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Unavailable, "{e}");
    let e = s.layout().await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Unavailable, "{e}");
    // Everything else keeps working: new shards go to the live workers.
    assert_eq!(kept.sum(None, false)?.item::<i64>().await?, 6);
    let again = c.arange_n(10)?.shard(0, &[])?;
    let Layout::Sharded { parts, .. } = again.layout().await? else {
        panic!("not sharded");
    };
    assert_eq!(parts.len(), 2);
    assert_eq!(again.sum(None, false)?.item::<i64>().await?, 45);
    Ok(())
}

#[tokio::test]
async fn large_fetches_come_from_the_worker_with_a_one_use_ticket() -> ndserve_client::Result<()> {
    use ndserve_client::{ClientOptions, pb};
    let cluster = Cluster::start(1).await;
    let c = Client::connect(&cluster.url).await?;
    let big = Array1::from_shape_fn(1 << 19, |i| i as f32 * 0.5);
    let a = c.upload(&big).await?;
    let small = c.upload(&array![1u8, 2, 3]).await?;
    // Through the SDK: redirected (the default) and through the coordinator, the same data.
    assert_eq!(a.to_vec::<f32>().await?, big.to_vec());
    let proxied = Client::connect_with(
        &cluster.url,
        ClientOptions::default().with_direct_fetch(false),
    )
    .await?;
    let b = proxied.upload(&big).await?;
    assert_eq!(b.to_vec::<f32>().await?, big.to_vec());
    assert_eq!(small.to_vec::<u8>().await?, vec![1, 2, 3]);

    // On the wire: the coordinator answers a direct fetch with a redirect and no data.
    let mut grpc = pb::array_service_client::ArrayServiceClient::connect(cluster.url.clone())
        .await
        .expect("connect");
    let fetch = |handle: u64, direct: bool| pb::FetchRequest {
        session_id: c.session_id().to_string(),
        handle,
        after_seq: c.sent_seq(),
        chunk_bytes: 0,
        direct,
    };
    let mut s = grpc
        .fetch(fetch(a.handle(), true))
        .await
        .expect("fetch")
        .into_inner();
    let head = s.message().await.expect("chunk").expect("one chunk");
    let r = head
        .redirect
        .expect("a redirect for 2 MiB on a worker process");
    assert!(head.data.is_empty() && head.meta.is_some());
    assert!(s.message().await.expect("end").is_none());
    // Small arrays, or a client that does not ask, get the data itself.
    for (h, direct) in [(small.handle(), true), (a.handle(), false)] {
        let mut s = grpc
            .fetch(fetch(h, direct))
            .await
            .expect("fetch")
            .into_inner();
        let head = s.message().await.expect("chunk").expect("one chunk");
        assert!(head.redirect.is_none());
    }
    // The ticket admits one fetch of that array only.
    let mut worker = pb::worker_service_client::WorkerServiceClient::connect(r.endpoint.clone())
        .await
        .expect("worker reachable")
        .max_decoding_message_size(usize::MAX);
    let req = |array: u64| pb::WorkerFetchRequest {
        array,
        ticket: r.ticket.clone(),
        chunk_bytes: 0,
    };
    let wrong = worker.fetch(req(r.array + 1)).await.unwrap_err();
    assert_eq!(wrong.code(), tonic::Code::NotFound);
    // The wrong-array attempt used the ticket up: ask for a fresh one.
    let mut s = grpc
        .fetch(fetch(a.handle(), true))
        .await
        .expect("fetch")
        .into_inner();
    let r = s
        .message()
        .await
        .expect("chunk")
        .expect("chunk")
        .redirect
        .expect("redirect");
    let mut body = worker
        .fetch(pb::WorkerFetchRequest {
            array: r.array,
            ticket: r.ticket.clone(),
            chunk_bytes: 0,
        })
        .await
        .expect("admitted")
        .into_inner();
    let mut bytes = 0;
    while let Some(chunk) = body.message().await.expect("chunk") {
        bytes += chunk.data.len();
    }
    assert_eq!(bytes, 4 << 19);
    let again = worker
        .fetch(pb::WorkerFetchRequest {
            array: r.array,
            ticket: r.ticket,
            chunk_bytes: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), tonic::Code::NotFound);
    Ok(())
}
