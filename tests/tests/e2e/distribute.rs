//! Sharded and mirrored arrays on a server with three embedded workers: every result is
//! compared with the same computation on the unsharded array (one device), through the
//! real client and server.

use ndarray::{ArrayD, IxDyn};
use ndserve_client::{
    Array, Attr, Attrs, Client, DType, ErrorCode, Layout, Operand, ReplicaReduce,
};

async fn three_workers() -> (ndserve_server::RunningServer, Client) {
    let config = ndserve_server::ServerConfig {
        workers: 3,
        threads: 1,
        ..Default::default()
    };
    let srv = ndserve_server::start(config).await.expect("server starts");
    let c = Client::connect(srv.url()).await.expect("connect");
    (srv, c)
}

/// Deterministic values in [-1, 1) with a few exact zeros.
fn values(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|i| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if i % 7 == 3 {
                0.0
            } else {
                ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
            }
        })
        .collect()
}

/// An array of `dtype` and `shape` with varied values, uploaded.
async fn sample(c: &Client, dtype: DType, shape: &[usize], seed: u64) -> Array {
    let n = shape.iter().product();
    let v: Vec<f64> = values(n, seed).into_iter().map(|x| x * 50.0).collect();
    let a = ArrayD::from_shape_vec(IxDyn(shape), v).unwrap();
    let x = c.upload(&a).await.expect("upload");
    let x = if dtype.is_inexact() {
        x
    } else {
        x.call_trunc()
    };
    x.astype(dtype).expect("astype")
}

trait Trunc {
    fn call_trunc(&self) -> Array;
}

impl Trunc for Array {
    fn call_trunc(&self) -> Array {
        self.client()
            .call("trunc", &[self.into()], Attrs::new())
            .expect("trunc")
            .remove(0)
    }
}

/// `got` equals `want`: dtype, shape, and values (exactly for integers and bools, within
/// 1e-5 relative for floats, NaN equal to NaN).
async fn assert_same(got: &Array, want: &Array, what: &str) {
    assert_eq!(got.dtype(), want.dtype(), "{what}: dtype");
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let (gm, gb) = got
        .fetch_bytes()
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let (wm, wb) = want
        .fetch_bytes()
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(gm, wm, "{what}: fetched meta");
    if !got.dtype().is_inexact() {
        assert_eq!(gb, wb, "{what}: values");
        return;
    }
    let (g, w) = (as_f64(got).await, as_f64(want).await);
    let tol = if matches!(got.dtype(), DType::Float16 | DType::BFloat16) {
        1e-2
    } else {
        1e-5
    };
    for (i, (x, y)) in g.iter().zip(&w).enumerate() {
        let ok = (x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= tol * y.abs().max(1.0);
        assert!(ok, "{what}: element {i}: {x} vs {y}");
    }
}

/// The values as float64 (real parts, then imaginary parts for complex).
async fn as_f64(a: &Array) -> Vec<f64> {
    let parts = if a.dtype().is_complex() {
        vec![a.real().unwrap(), a.imag().unwrap()]
    } else {
        vec![a.clone()]
    };
    let mut out = Vec::new();
    for p in parts {
        out.extend(
            p.astype(DType::Float64)
                .unwrap()
                .to_vec::<f64>()
                .await
                .unwrap(),
        );
    }
    out
}

async fn layout(a: &Array) -> Layout {
    a.layout().await.expect("layout")
}

fn attrs(pairs: &[(&str, Attr)]) -> Attrs {
    let mut a = Attrs::new();
    for (k, v) in pairs {
        a.set(k, v.clone());
    }
    a
}

#[tokio::test]
async fn sharding_keeps_every_value_and_fetch_assembles_it() -> ndserve_client::Result<()> {
    let (_srv, c) = three_workers().await;
    let cases: &[(DType, &[usize], isize)] = &[
        (DType::Float32, &[10, 3], 0),
        (DType::Float64, &[10, 3], 1),
        (DType::Int8, &[7], 0),
        (DType::Bool, &[4, 5], -1),
        (DType::Complex64, &[5, 2], 0),
        (DType::Float16, &[2, 5, 4], -1),
        (DType::UInt16, &[2, 0], 1),
        (DType::Int64, &[2, 4, 3], 1),
        (DType::Float32, &[1, 9], 1),
    ];
    for (k, &(dtype, shape, axis)) in cases.iter().enumerate() {
        let x = sample(&c, dtype, shape, k as u64).await;
        let s = x.shard(axis, &[])?;
        let what = format!("shard {dtype} {shape:?} axis {axis}");
        assert_same(&s, &x, &what).await;
        let Layout::Sharded {
            axis: got_axis,
            parts,
        } = layout(&s).await
        else {
            panic!("{what}: not sharded");
        };
        let nd = shape.len() as isize;
        assert_eq!(got_axis as isize, (axis + nd) % nd, "{what}");
        assert_eq!(parts.len(), 3, "{what}");
        // np.array_split's part lengths, one part per worker.
        let len = shape[got_axis];
        let lens: Vec<usize> = parts.iter().map(|p| p.shape[got_axis]).collect();
        let want: Vec<usize> = (0..3).map(|i| len / 3 + usize::from(i < len % 3)).collect();
        assert_eq!(lens, want, "{what}");
        let mut devices: Vec<&str> = parts.iter().map(|p| p.device.as_str()).collect();
        devices.dedup();
        assert_eq!(devices.len(), 3, "{what}: one part per worker");
        // Gathered back onto one device, it is a single array again.
        let g = s.gather(None)?;
        assert!(matches!(layout(&g).await, Layout::Single { .. }));
        assert_same(&g, &x, &format!("{what} gathered")).await;
    }
    Ok(())
}

#[tokio::test]
async fn elementwise_ops_run_per_shard_and_match_one_device() -> ndserve_client::Result<()> {
    let (_srv, c) = three_workers().await;
    let a = sample(&c, DType::Float32, &[10, 4], 1).await;
    let b = sample(&c, DType::Float32, &[10, 4], 2).await;
    let row = sample(&c, DType::Float32, &[4], 3).await;
    let col = sample(&c, DType::Float64, &[10, 1], 4).await;
    let full = sample(&c, DType::Int16, &[10, 4], 5).await;
    let (sa, sb) = (a.shard(0, &[])?, b.shard(0, &[])?);
    let ops: Vec<(&str, Vec<Operand>, Vec<Operand>)> = vec![
        (
            "add",
            vec![(&sa).into(), (&sb).into()],
            vec![(&a).into(), (&b).into()],
        ),
        (
            "multiply",
            vec![(&sa).into(), 2.5.into()],
            vec![(&a).into(), 2.5.into()],
        ),
        (
            "subtract",
            vec![(&sa).into(), (&row).into()],
            vec![(&a).into(), (&row).into()],
        ),
        (
            "divide",
            vec![(&col).into(), (&sa).into()],
            vec![(&col).into(), (&a).into()],
        ),
        (
            "maximum",
            vec![(&sa).into(), (&full).into()],
            vec![(&a).into(), (&full).into()],
        ),
        (
            "greater",
            vec![(&sa).into(), (&sb).into()],
            vec![(&a).into(), (&b).into()],
        ),
        ("exp", vec![(&sa).into()], vec![(&a).into()]),
        ("isnan", vec![(&sa).into()], vec![(&a).into()]),
    ];
    for (op, sharded, single) in ops {
        let got = c.call(op, &sharded, Attrs::new())?.remove(0);
        let want = c.call(op, &single, Attrs::new())?.remove(0);
        assert_same(&got, &want, op).await;
        assert!(
            matches!(layout(&got).await, Layout::Sharded { axis: 0, .. }),
            "{op} should stay sharded"
        );
    }
    // where(cond, x, y) with a sharded condition.
    let cond = c
        .call("greater", &[(&sa).into(), 0.0.into()], Attrs::new())?
        .remove(0);
    let got = cond.r#where(&sa, &row)?;
    let want = c
        .call("greater", &[(&a).into(), 0.0.into()], Attrs::new())?
        .remove(0)
        .r#where(&a, &row)?;
    assert_same(&got, &want, "where").await;
    // Sharded along the last axis of a 3-d array, against a broadcast operand.
    let t = sample(&c, DType::Int32, &[2, 3, 7], 6).await;
    let st = t.shard(-1, &[])?;
    let got = (&st
        * &row
            .astype(DType::Int32)?
            .reshape(&[1, 1, 4])?
            .sum(-1, true)?)?;
    let want = (&t
        * &row
            .astype(DType::Int32)?
            .reshape(&[1, 1, 4])?
            .sum(-1, true)?)?;
    assert_same(&got, &want, "multiply along the last axis").await;
    assert!(matches!(
        layout(&got).await,
        Layout::Sharded { axis: 2, .. }
    ));
    // Differently sharded operands still compute (gathered), with the same answer.
    let other = b.shard(1, &[])?;
    let got = (&sa + &other)?;
    assert_same(&got, &(&a + &b)?, "add, different shardings").await;
    Ok(())
}

#[tokio::test]
async fn reductions_combine_per_shard_partials() -> ndserve_client::Result<()> {
    let (_srv, c) = three_workers().await;
    let axes: Vec<Option<Vec<i64>>> = vec![
        None,
        Some(vec![0]),
        Some(vec![1]),
        Some(vec![-1]),
        Some(vec![0, 2]),
    ];
    for (dtype, op) in [
        (DType::Int8, "sum"),
        (DType::UInt8, "prod"),
        (DType::Float32, "sum"),
        (DType::Float64, "max"),
        (DType::Int32, "min"),
        (DType::Int16, "mean"),
        (DType::Float16, "mean"),
        (DType::Float32, "mean"),
        (DType::Bool, "all"),
        (DType::Bool, "any"),
        (DType::Bool, "sum"),
        (DType::Float32, "argmax"),
    ] {
        let x = sample(&c, dtype, &[7, 3, 2], 11).await;
        for shard_axis in [0isize, 1] {
            let s = x.shard(shard_axis, &[])?;
            for axis in &axes {
                for keepdims in [false, true] {
                    if op == "argmax" && axis.as_ref().is_some_and(|a| a.len() > 1) {
                        continue;
                    }
                    let mut a = attrs(&[("keepdims", Attr::Bool(keepdims))]);
                    if let Some(ax) = axis {
                        a.set(
                            "axis",
                            if op == "argmax" {
                                Attr::Int(ax[0])
                            } else {
                                Attr::Ints(ax.clone())
                            },
                        );
                    }
                    let got = c.call(op, &[(&s).into()], a.clone())?.remove(0);
                    let want = c.call(op, &[(&x).into()], a)?.remove(0);
                    let what = format!(
                        "{op} {dtype} shard {shard_axis} axis {axis:?} keepdims {keepdims}"
                    );
                    assert_same(&got, &want, &what).await;
                }
            }
        }
    }
    // NaN propagates through the partials.
    let nan = c
        .upload(&ndarray::array![1.0f32, f32::NAN, 3.0, 4.0, -2.0].into_dyn())
        .await?;
    let got = nan.shard(0, &[])?.max(None, false)?;
    assert!(got.item::<f32>().await?.is_nan());
    // Integer sums are exact.
    let big = c.full(&[9], 1i64 << 60, None)?.shard(0, &[])?;
    assert_eq!(
        big.sum(None, false)?.item::<i64>().await?,
        (1i64 << 60).wrapping_mul(9)
    );
    // Over a sharded axis of length 0: NumPy's empty reductions.
    let empty = c.zeros(&[0, 2], DType::Float32)?.shard(0, &[])?;
    assert_eq!(empty.sum(0, false)?.to_vec::<f32>().await?, vec![0.0, 0.0]);
    let e = empty.max(0, false).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    Ok(())
}

#[tokio::test]
async fn matmul_with_a_row_sharded_left_operand_runs_per_shard() -> ndserve_client::Result<()> {
    let (_srv, c) = three_workers().await;
    let a = sample(&c, DType::Float64, &[10, 6], 21).await;
    let b = sample(&c, DType::Float64, &[6, 5], 22).await;
    let v = sample(&c, DType::Float64, &[6], 23).await;
    let sa = a.shard(0, &[])?;
    let got = sa.matmul(&b)?;
    assert_same(&got, &a.matmul(&b)?, "matmul").await;
    assert!(matches!(
        layout(&got).await,
        Layout::Sharded { axis: 0, .. }
    ));
    let got = sa.matmul(&v)?;
    assert_same(&got, &a.matmul(&v)?, "matvec").await;
    assert!(matches!(
        layout(&got).await,
        Layout::Sharded { axis: 0, .. }
    ));
    // A replicated right operand is used where each part lives.
    let got = sa.matmul(&b.replicate(&[])?)?;
    assert_same(&got, &a.matmul(&b)?, "matmul, mirrored right").await;
    // Batched: sharded along the batch axis, or along rows.
    let t = sample(&c, DType::Float32, &[4, 5, 6], 24).await;
    let b32 = b.astype(DType::Float32)?;
    for axis in [0isize, 1] {
        let got = t.shard(axis, &[])?.matmul(&b32)?;
        assert_same(
            &got,
            &t.matmul(&b32)?,
            &format!("batched matmul, axis {axis}"),
        )
        .await;
    }
    // Sharded along the contraction axis: gathered, same answer.
    let got = a.shard(1, &[])?.matmul(&b)?;
    assert_same(&got, &a.matmul(&b)?, "matmul, contraction axis sharded").await;
    Ok(())
}

#[tokio::test]
async fn other_ops_reshard_and_gather_give_one_device_results() -> ndserve_client::Result<()> {
    let (_srv, c) = three_workers().await;
    let devices: Vec<String> = c.devices().await?.into_iter().map(|d| d.name).collect();
    assert_eq!(devices.len(), 3);
    let x = sample(&c, DType::Float32, &[6, 5], 31).await;
    let s = x.shard(0, &[])?;
    // Ops with no part-wise rule gather first, data-dependent ones included.
    assert_same(&s.sort(Some(0))?, &x.sort(Some(0))?, "sort").await;
    let (got, want) = (s.nonzero().await?, x.nonzero().await?);
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_same(g, w, "nonzero").await;
    }
    let got = c.run("where", &[(&s).into()], Attrs::new()).await?;
    let want = c.run("where", &[(&x).into()], Attrs::new()).await?;
    for (g, w) in got.iter().zip(&want) {
        assert_same(g, w, "where with one argument").await;
    }
    assert_same(
        &s.cumsum(Some(0), None)?,
        &x.cumsum(Some(0), None)?,
        "cumsum",
    )
    .await;
    assert_same(&s.transpose(None)?, &x.transpose(None)?, "transpose").await;
    // Reshard over two named devices, along the other axis.
    let names = [devices[2].as_str(), devices[0].as_str()];
    let r = s.reshard(1, &names)?;
    assert_same(&r, &x, "reshard").await;
    let Layout::Sharded { axis: 1, parts } = layout(&r).await else {
        panic!("reshard: not sharded along 1");
    };
    let got: Vec<&str> = parts.iter().map(|p| p.device.as_str()).collect();
    assert_eq!(got, names);
    // Gather onto a named device.
    let g = r.gather(Some(&devices[1]))?;
    assert_eq!(g.device().await?, devices[1]);
    assert_same(&g, &x, "gather").await;
    // Errors name the op and the argument.
    let e = c.zeros(&[], DType::Float32)?.shard(0, &[]).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(e.to_string().contains("shard"), "{e}");
    let e = x.shard(2, &[]).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    let e = x.shard(0, &["nowhere/cpu:0"])?.sync().await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(e.to_string().contains("nowhere"), "{e}");
    let e = s
        .reduce_replicas(ReplicaReduce::Sum)?
        .sync()
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    Ok(())
}

#[tokio::test]
async fn mirrored_arrays_run_per_replica_and_reduce_across_replicas() -> ndserve_client::Result<()>
{
    let (_srv, c) = three_workers().await;
    let w = sample(&c, DType::Float32, &[4, 3], 41).await;
    let m = w.replicate(&[])?;
    let Layout::Mirrored { replicas } = layout(&m).await else {
        panic!("replicate: not mirrored");
    };
    assert_eq!(replicas.len(), 3);
    assert!(replicas.iter().all(|r| r.shape == [4, 3]));
    assert_same(&m, &w, "replicate").await;
    let y = c
        .run_per_replica(std::slice::from_ref(&m), |args| {
            (&args[0] * 2.0)?.exp()?.sum(1, false)
        })
        .await?;
    assert!(matches!(layout(&y).await, Layout::Mirrored { .. }));
    let want = (&w * 2.0)?.exp()?.sum(1, false)?;
    assert_same(&y, &want, "per replica").await;
    let total = y.reduce_replicas(ReplicaReduce::Sum)?;
    let stacked = c
        .call(
            "stack",
            &[(&want).into(), (&want).into(), (&want).into()],
            Attrs::new(),
        )?
        .remove(0);
    assert_same(&total, &stacked.sum(0, false)?, "reduce sum").await;
    // Per-replica values that differ: one per device.
    let devices: Vec<String> = c.devices().await?.into_iter().map(|d| d.name).collect();
    let mut parts = Vec::new();
    for (i, d) in devices.iter().enumerate() {
        parts.push((&c.on_device(d).arange_n(4)? + (i as i64 * 10))?.astype(DType::Int8)?);
    }
    let pr = c.from_replicas(&parts)?;
    let Layout::Mirrored { replicas } = layout(&pr).await else {
        panic!("from_replicas: not mirrored");
    };
    let got_devices: Vec<&str> = replicas.iter().map(|r| r.device.as_str()).collect();
    assert_eq!(
        got_devices,
        devices.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let sum = pr.reduce_replicas(ReplicaReduce::Sum)?;
    assert_eq!(sum.dtype(), DType::Int64);
    assert_eq!(sum.to_vec::<i64>().await?, vec![30, 33, 36, 39]);
    let mean = pr.reduce_replicas(ReplicaReduce::Mean)?;
    assert_eq!(mean.dtype(), DType::Float64);
    assert_eq!(mean.to_vec::<f64>().await?, vec![10.0, 11.0, 12.0, 13.0]);
    // run_per_replica refuses arrays that are not mirrored.
    let e = c
        .run_per_replica(std::slice::from_ref(&w), |a| Ok(a.len()))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    // Mismatched replicas are refused at the call.
    let e = c.from_replicas(&[parts[0].clone(), w.clone()]).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    Ok(())
}

#[tokio::test]
async fn releasing_a_sharded_array_frees_every_part() -> ndserve_client::Result<()> {
    let (_srv, c) = three_workers().await;
    let x = c.ones(&[300, 10], DType::Float64)?;
    c.sync_all().await?;
    let base = c.stats().await?.live_bytes;
    {
        let s = x.shard(0, &[])?;
        let m = x.replicate(&[])?;
        let y = (&s + 1.0)?.sum(0, false)?;
        let z = (&m * 2.0)?;
        y.sync().await?;
        z.sync().await?;
        // Parts and replicas are counted; the op's temporaries are gone.
        let held = c.stats().await?.live_bytes;
        assert_eq!(held, base + 24_000 + 72_000 + 72_000 + 80);
    }
    c.sync_all().await?;
    // Releases are queued; a sync after them has seen them.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while c.stats().await?.live_bytes != base {
        assert!(std::time::Instant::now() < deadline, "parts not freed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Ok(())
}

#[tokio::test]
async fn a_sharding_scope_creates_sharded_arrays() -> ndserve_client::Result<()> {
    let (_srv, c) = three_workers().await;
    let devices: Vec<String> = c.devices().await?.into_iter().map(|d| d.name).collect();
    let two = [devices[0].as_str(), devices[1].as_str()];
    let scoped = c.with_sharding(-1, &two);
    let x = scoped.arange_n(12)?;
    let Layout::Sharded { axis: 0, parts } = layout(&x).await else {
        panic!("arange under a sharding scope is not sharded");
    };
    let got: Vec<&str> = parts.iter().map(|p| p.device.as_str()).collect();
    assert_eq!(got, two);
    assert_eq!(x.to_vec::<i64>().await?, (0..12).collect::<Vec<_>>());
    let up = scoped
        .upload(&ndarray::array![[1.0f32, 2.0], [3.0, 4.0]])
        .await?;
    assert!(matches!(layout(&up).await, Layout::Sharded { axis: 1, .. }));
    assert_eq!(up.to_vec::<f32>().await?, vec![1.0, 2.0, 3.0, 4.0]);
    // 0-d results stay whole; ops on arrays made in the scope are ordinary calls.
    let s = scoped.full(&[], 2.0, None)?;
    assert!(matches!(layout(&s).await, Layout::Single { .. }));
    assert!(matches!(
        layout(&(&x + 1)?).await,
        Layout::Sharded { axis: 0, .. }
    ));
    Ok(())
}
