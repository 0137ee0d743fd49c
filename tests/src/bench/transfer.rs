//! Bandwidth of moving arrays: uploads and fetches through the SDK, against raw loopback
//! TCP measured by the same run.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use ndarray::Array1;

use super::{Ctx, MIB, Recorder, Result, Row, Unit, gbps, median_time};

/// The write and read size of the loopback test, as the SDK's chunks.
const CHUNK: usize = MIB;

/// `loopback_tcp`: `loopback_bytes` from a writer thread to a reader on 127.0.0.1 in
/// 1 MiB writes, the ceiling of any transfer on this machine.
///
/// It blocks the calling thread while it runs; nothing else in the suite is running then.
pub(super) async fn loopback(cx: &Ctx<'_>, rec: &mut Recorder<'_>) -> Result<()> {
    let bytes = cx.sizes.loopback_bytes;
    let t = median_time(2, async || loopback_once(bytes)).await?;
    rec.record(Row::new("loopback_tcp", gbps(bytes, t), Unit::GBps));
    Ok(())
}

/// Sends `bytes` through one loopback connection and checks they all arrived.
fn loopback_once(bytes: usize) -> Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        let mut s = TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        let buf = vec![1u8; CHUNK];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(CHUNK);
            s.write_all(&buf[..n])?;
            left -= n;
        }
        Ok(())
    });
    let (mut s, _) = listener.accept()?;
    let mut buf = vec![0u8; CHUNK];
    let mut got = 0;
    loop {
        match s.read(&mut buf)? {
            0 => break,
            n => got += n,
        }
    }
    writer.join().map_err(|_| "loopback writer panicked")??;
    if got != bytes {
        return Err(format!("loopback_tcp: {got} bytes arrived, {bytes} sent").into());
    }
    Ok(())
}

/// `upload_SIZE` and `fetch_SIZE` of float32 arrays through the SDK's typed paths
/// (`Client::upload` of an `ndarray`, `Array::to_vec`), against `loopback_tcp`.
pub(super) async fn upload_fetch(cx: &Ctx<'_>, rec: &mut Recorder<'_>) -> Result<()> {
    let Ctx { client, sizes, .. } = *cx;
    for &bytes in &sizes.transfer_bytes {
        let host = Array1::<f32>::from_elem(bytes / 4, 1.0);
        let reps = (256 * MIB / bytes).clamp(2, 20);
        let up = median_time(reps, async || {
            client.upload(&host).await?;
            Ok(())
        })
        .await?;
        let on_server = client.upload(&host).await?;
        let down = median_time(reps, async || {
            let v = on_server.to_vec::<f32>().await?;
            if v.len() != host.len() {
                return Err(format!("fetched {} elements of {}", v.len(), host.len()).into());
            }
            Ok(())
        })
        .await?;
        let size = fmt_size(bytes);
        for (what, t) in [("upload", up), ("fetch", down)] {
            let row = Row::new(format!("{what}_{size}"), gbps(bytes, t), Unit::GBps);
            rec.record_against(row, "loopback_tcp");
        }
    }
    Ok(())
}

/// `64KiB`, `1MiB`, `1GiB`: the size in the largest binary unit that divides it.
pub(crate) fn fmt_size(bytes: usize) -> String {
    let units = [(1 << 30, "GiB"), (MIB, "MiB"), (1 << 10, "KiB")];
    units
        .into_iter()
        .find(|&(u, _)| bytes >= u && bytes.is_multiple_of(u))
        .map_or_else(
            || format!("{bytes}B"),
            |(u, name)| format!("{}{name}", bytes / u),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_named_in_binary_units() {
        assert_eq!(fmt_size(64 << 10), "64KiB");
        assert_eq!(fmt_size(MIB), "1MiB");
        assert_eq!(fmt_size(1 << 30), "1GiB");
        assert_eq!(fmt_size(1000), "1000B");
    }
}
