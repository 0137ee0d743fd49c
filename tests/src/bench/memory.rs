//! Server memory: what holding arrays costs, and that releasing them or closing their
//! session gives it back.

use std::time::{Duration, Instant};

use ndserve_client::{Array, Client, DType};

use super::{Ctx, Recorder, Result, Row, ServerKind, Unit};

/// How long released memory may take to show as freed in the server's stats.
const SETTLE: Duration = Duration::from_secs(2);

/// A second session holds `memory_bytes` of float32 ones. Rows:
///
/// - `server_live_bytes_ratio`: the server's live bytes while holding them, less before,
///   over the array bytes;
/// - `rss_overhead_ratio` (embedded server only): the same for the process's resident
///   memory;
/// - `live_bytes_after_release`: live bytes left (above before) once the array is dropped;
/// - `live_bytes_after_close`: the same once the session holding a new one is closed;
/// - `rss_retained_after_close` (embedded server only): resident bytes still above
///   before after the close, once within 10% of the array bytes or after 2 s (0 when
///   back at or below).
pub(super) async fn run(cx: &Ctx<'_>, rec: &mut Recorder<'_>) -> Result<()> {
    let Ctx {
        client,
        sizes,
        server,
    } = *cx;
    let n = sizes.memory_bytes;
    client.sync_all().await?;
    let other = Client::connect(client.url()).await?;
    let base = live_bytes(client).await?;
    let rss_base = rss(server);

    let held = hold(&other, n).await?;
    let holding = live_bytes(client).await?.saturating_sub(base);
    rec.record(Row::new(
        "server_live_bytes_ratio",
        holding as f64 / n as f64,
        Unit::Ratio,
    ));
    if let (Some(r0), Some(r1)) = (rss_base, rss(server)) {
        let ratio = (r1 as f64 - r0 as f64) / n as f64;
        rec.record(Row::new("rss_overhead_ratio", ratio, Unit::Ratio));
    }

    drop(held);
    other.sync_all().await?;
    let left = settle(base, 0, async || live_bytes(client).await).await?;
    rec.record(Row::new(
        "live_bytes_after_release",
        left as f64,
        Unit::Bytes,
    ));

    let _held_at_close = hold(&other, n).await?;
    other.close().await?;
    let left = settle(base, 0, async || live_bytes(client).await).await?;
    rec.record(Row::new("live_bytes_after_close", left as f64, Unit::Bytes));
    if let Some(r0) = rss_base {
        let slack = n as u64 / 10;
        let retained = settle(r0, slack, async || Ok(rss(server).unwrap_or(0))).await?;
        rec.record(Row::new(
            "rss_retained_after_close",
            retained as f64,
            Unit::Bytes,
        ));
    }
    Ok(())
}

/// `bytes` of float32 ones, computed.
async fn hold(client: &Client, bytes: usize) -> Result<Array> {
    let a = client.ones(&[bytes / 4], DType::Float32)?;
    a.sync().await?;
    Ok(a)
}

/// The whole server's live array bytes.
async fn live_bytes(client: &Client) -> Result<u64> {
    Ok(client.stats().await?.live_bytes)
}

/// What `probe` reads above `base`, once it is within `slack` of `base` or [`SETTLE`] has
/// passed (freed memory may show late).
async fn settle(base: u64, slack: u64, mut probe: impl AsyncFnMut() -> Result<u64>) -> Result<u64> {
    let start = Instant::now();
    loop {
        let left = probe().await?.saturating_sub(base);
        if left <= slack || start.elapsed() > SETTLE {
            return Ok(left);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// This process's resident memory in bytes, when the server lives in it (Linux only).
fn rss(server: ServerKind) -> Option<u64> {
    if server != ServerKind::Embedded {
        return None;
    }
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
