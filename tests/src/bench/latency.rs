//! Latency-bound workloads: the round trip of one tiny op, a long chain of dependent tiny
//! ops, and a loop of small-array code.

use std::time::{Duration, Instant};

use ndserve_client::{Array, Client, DType};
use ndserve_proto::pb;
use ndserve_proto::pb::array_service_client::ArrayServiceClient;

use super::{Ctx, Recorder, Result, Row, Unit, median_time, micros, millis, percentile};

/// `sync_roundtrip_p50`/`_p99`: one tiny `add` and a sync; `fetch_roundtrip_p50`/`_p99`:
/// one tiny `add` and a fetch of its result. Both against a raw gRPC unary call
/// (`GetServerInfo`, `grpc_unary_roundtrip_*`) timed in the same loop, so all see the same
/// machine noise, beside the floor of a stream round trip: an empty message on a raw
/// `Execute` stream of another session and the server's progress event
/// (`execute_stream_roundtrip_*`).
///
/// The loop runs twice: first in the caller's task (under `#[tokio::main]` that is the
/// main thread, outside the runtime's worker threads, so every wake-up of the SDK's
/// background task and every reply crosses threads), then in a task spawned on the runtime
/// (the same rows with `_in_task`), as code inside a service or a spawned task calls.
pub(super) async fn roundtrips(cx: &Ctx<'_>, rec: &mut Recorder<'_>) -> Result<()> {
    let Ctx { client, sizes, .. } = *cx;
    let a = client.ones(&[1], DType::Float64)?;
    let b = client.ones(&[1], DType::Float64)?;
    client.sync_all().await?;
    let n = sizes.roundtrips;
    let times = roundtrip_loop(client.clone(), a.clone(), b.clone(), n).await?;
    record_roundtrips(rec, "", times);
    let times = tokio::spawn(roundtrip_loop(client.clone(), a, b, n)).await??;
    record_roundtrips(rec, "_in_task", times);
    Ok(())
}

/// Times of `n` rounds (after a tenth as many for warm-up) of, in turn: the unary call,
/// the raw stream's message, `add` + `sync`, `add` + `to_vec`.
async fn roundtrip_loop(
    client: Client,
    a: Array,
    b: Array,
    n: usize,
) -> Result<[Vec<Duration>; 4]> {
    let mut ping = StreamPing::open(client.url()).await?;
    let warmup = n / 10 + 1;
    let mut times: [Vec<Duration>; 4] = std::array::from_fn(|_| Vec::with_capacity(n));
    for i in 0..warmup + n {
        let t = Instant::now();
        client.server_info().await?;
        let u = t.elapsed();
        let t = Instant::now();
        ping.once().await?;
        let p = t.elapsed();
        let t = Instant::now();
        (&a + &b)?.sync().await?;
        let s = t.elapsed();
        let t = Instant::now();
        let v = (&a + &b)?.to_vec::<f64>().await?;
        let f = t.elapsed();
        if v != [2.0] {
            return Err(format!("fetch_roundtrip: 1 + 1 gave {v:?}").into());
        }
        if i >= warmup {
            for (list, d) in times.iter_mut().zip([u, p, s, f]) {
                list.push(d);
            }
        }
    }
    Ok(times)
}

/// The rows of one [`roundtrip_loop`], their names ending in `suffix` and a percentile.
fn record_roundtrips(rec: &mut Recorder<'_>, suffix: &str, times: [Vec<Duration>; 4]) {
    let [mut unary, mut stream, mut synced, mut fetched] = times;
    for (p, tag) in [(0.5, "p50"), (0.99, "p99")] {
        let grpc = format!("grpc_unary_roundtrip{suffix}_{tag}");
        rec.record(Row::new(
            &grpc,
            micros(percentile(&mut unary, p)),
            Unit::Micros,
        ));
        for (name, list) in [
            ("execute_stream", &mut stream),
            ("sync", &mut synced),
            ("fetch", &mut fetched),
        ] {
            rec.record_against(
                Row::new(
                    format!("{name}_roundtrip{suffix}_{tag}"),
                    micros(percentile(list, p)),
                    Unit::Micros,
                ),
                &grpc,
            );
        }
    }
}

/// A raw `Execute` stream on a session of its own: one empty message out, one progress
/// event back.
struct StreamPing {
    tx: futures::channel::mpsc::UnboundedSender<pb::ExecuteRequest>,
    events: tonic::Streaming<pb::ExecuteEvent>,
}

impl StreamPing {
    async fn open(url: &str) -> Result<StreamPing> {
        let mut grpc = ArrayServiceClient::connect(url.to_string()).await?;
        let session_id = grpc
            .open_session(pb::OpenSessionRequest {
                protocol_major: ndserve_proto::PROTOCOL_MAJOR,
                protocol_minor: ndserve_proto::PROTOCOL_MINOR,
                client_version: "bench".into(),
                lease_ms: 0,
            })
            .await?
            .into_inner()
            .session_id;
        let (tx, rx) = futures::channel::mpsc::unbounded();
        tx.unbounded_send(pb::ExecuteRequest {
            session_id,
            commands: vec![],
        })?;
        let mut events = grpc.execute(rx).await?.into_inner();
        events.message().await?;
        Ok(StreamPing { tx, events })
    }

    async fn once(&mut self) -> Result<()> {
        self.tx.unbounded_send(pb::ExecuteRequest::default())?;
        match self.events.message().await? {
            Some(_) => Ok(()),
            None => Err("the Execute stream ended".into()),
        }
    }
}

/// `pipelined_dependent_ops`: `x = x + 1` queued `pipelined_ops` times on a small array,
/// then one fetch (which must show every add applied).
pub(super) async fn pipelined(cx: &Ctx<'_>, rec: &mut Recorder<'_>) -> Result<()> {
    let Ctx { client, sizes, .. } = *cx;
    let n = sizes.pipelined_ops;
    let mut x = client.zeros(&[8], DType::Float64)?;
    x.sync().await?;
    let t = Instant::now();
    for _ in 0..n {
        x = (&x + 1.0)?;
    }
    let got = x.to_vec::<f64>().await?;
    let elapsed = t.elapsed();
    if got.iter().any(|&v| v != n as f64) {
        return Err(
            format!("pipelined_dependent_ops: expected {n} everywhere, got {got:?}").into(),
        );
    }
    let rate = n as f64 / elapsed.as_secs_f64();
    rec.record(Row::new("pipelined_dependent_ops", rate, Unit::OpsPerSec));
    Ok(())
}

/// `small_array_loop`: `loop_iters` times `y = sin(x) * 2 + x; total += y.sum()` on a
/// float64 array of `loop_len` elements, fetching `total` at the end (NumPy runs the same
/// loop).
pub(super) async fn small_loop(cx: &Ctx<'_>, rec: &mut Recorder<'_>) -> Result<()> {
    let Ctx { client, sizes, .. } = *cx;
    let x = client.random().random(&[sizes.loop_len])?;
    x.sync().await?;
    let t = median_time(sizes.reps, async || {
        let mut total = client.zeros(&[], DType::Float64)?;
        for _ in 0..sizes.loop_iters {
            let y = x.sin()?.multiply(2.0)?.add(&x)?;
            total = total.add(y.sum(None, false)?)?;
        }
        let v = total.item::<f64>().await?;
        if !v.is_finite() {
            return Err(format!("small_array_loop: total is {v}").into());
        }
        Ok(())
    })
    .await?;
    rec.record(Row::new("small_array_loop", millis(t), Unit::Millis));
    Ok(())
}
