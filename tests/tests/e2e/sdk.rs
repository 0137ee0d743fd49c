//! The SDK against a real server: the seed examples, round trips of every dtype,
//! pipelining, deferred errors, releases and session cleanup.

use half::{bf16, f16};
use ndarray::{ArrayD, IxDyn, array};
use ndserve_client::{Client, DType, ErrorCode, Operand};
use num_complex::{Complex32, Complex64};

use crate::server;

async fn client(srv: &ndserve_server::RunningServer) -> Client {
    Client::connect(srv.url()).await.expect("connect")
}

#[tokio::test]
async fn the_seed_examples() -> ndserve_client::Result<()> {
    let srv = server().await;
    let c = client(&srv).await;
    // print(tnp.ones([2,1]) + np.ones([1, 2]))
    let x = (c.ones(&[2, 1], DType::Float64)? + c.ones(&[1, 2], DType::Float64)?)?;
    assert_eq!(x.dtype(), DType::Float64);
    assert_eq!(
        x.to_ndarray::<f64>().await?,
        array![[2.0, 2.0], [2.0, 2.0]].into_dyn()
    );
    // print(tnp.ones([1, 2], dtype=tnp.int16) + tnp.ones([2, 1], dtype=tnp.uint8))
    let y = (c.ones(&[1, 2], DType::Int16)? + c.ones(&[2, 1], DType::UInt8)?)?;
    assert_eq!(y.dtype(), DType::Int16);
    assert_eq!(
        y.to_ndarray::<i16>().await?,
        array![[2i16, 2], [2, 2]].into_dyn()
    );
    // np.sum(tnp.ones([1, 2]) + np.ones([2, 1]))
    let s =
        (c.ones(&[1, 2], DType::Float64)? + c.ones(&[2, 1], DType::Float64)?)?.sum(None, false)?;
    assert_eq!(s.shape(), &[] as &[usize]);
    assert_eq!(s.item::<f64>().await?, 8.0);
    Ok(())
}

async fn round_trip<T>(c: &Client, a: ArrayD<T>)
where
    T: ndserve_client::Element + PartialEq + std::fmt::Debug,
{
    let h = c.upload(&a).await.expect("upload");
    assert_eq!(h.shape(), a.shape());
    let back = h.to_ndarray::<T>().await.expect("fetch");
    assert_eq!(back, a);
}

#[tokio::test]
async fn every_dtype_round_trips_including_0d_and_empty() {
    let srv = server().await;
    let c = client(&srv).await;
    let shapes: [&[usize]; 4] = [&[], &[0], &[3, 0, 2], &[2, 3]];
    for shape in shapes {
        let n: usize = shape.iter().product();
        let mk = |f: &dyn Fn(usize) -> f64| (0..n).map(f).collect::<Vec<_>>();
        let v = mk(&|i| i as f64 * 1.5 - 2.0);
        let sh = IxDyn(shape);
        round_trip(
            &c,
            ArrayD::from_shape_vec(sh.clone(), (0..n).map(|i| i % 2 == 0).collect()).unwrap(),
        )
        .await;
        round_trip(
            &c,
            ArrayD::from_shape_vec(sh.clone(), (0..n).map(|i| i as i8 - 3).collect()).unwrap(),
        )
        .await;
        round_trip(
            &c,
            ArrayD::from_shape_vec(sh.clone(), (0..n).map(|i| i as i16 * -300).collect()).unwrap(),
        )
        .await;
        round_trip(
            &c,
            ArrayD::from_shape_vec(sh.clone(), (0..n).map(|i| i as i32 * -70000).collect())
                .unwrap(),
        )
        .await;
        round_trip(
            &c,
            ArrayD::from_shape_vec(sh.clone(), (0..n).map(|i| i64::MIN + i as i64).collect())
                .unwrap(),
        )
        .await;
        round_trip(
            &c,
            ArrayD::from_shape_vec(sh.clone(), (0..n).map(|i| 250 + i as u8).collect()).unwrap(),
        )
        .await;
        round_trip(
            &c,
            ArrayD::from_shape_vec(sh.clone(), (0..n).map(|i| 65000 + i as u16).collect()).unwrap(),
        )
        .await;
        round_trip(
            &c,
            ArrayD::from_shape_vec(sh.clone(), (0..n).map(|i| u32::MAX - i as u32).collect())
                .unwrap(),
        )
        .await;
        round_trip(
            &c,
            ArrayD::from_shape_vec(
                sh.clone(),
                (0..n).map(|i| (1u64 << 63) + i as u64).collect(),
            )
            .unwrap(),
        )
        .await;
        round_trip(
            &c,
            ArrayD::from_shape_vec(sh.clone(), v.iter().map(|&x| f16::from_f64(x)).collect())
                .unwrap(),
        )
        .await;
        round_trip(
            &c,
            ArrayD::from_shape_vec(sh.clone(), v.iter().map(|&x| bf16::from_f64(x)).collect())
                .unwrap(),
        )
        .await;
        round_trip(
            &c,
            ArrayD::from_shape_vec(sh.clone(), v.iter().map(|&x| x as f32).collect()).unwrap(),
        )
        .await;
        round_trip(&c, ArrayD::from_shape_vec(sh.clone(), v.clone()).unwrap()).await;
        round_trip(
            &c,
            ArrayD::from_shape_vec(
                sh.clone(),
                v.iter()
                    .map(|&x| Complex32::new(x as f32, -x as f32))
                    .collect(),
            )
            .unwrap(),
        )
        .await;
        round_trip(
            &c,
            ArrayD::from_shape_vec(
                sh.clone(),
                v.iter().map(|&x| Complex64::new(x, 0.5 - x)).collect(),
            )
            .unwrap(),
        )
        .await;
    }
    // Special values survive bit for bit.
    let special = array![
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        f64::MIN_POSITIVE / 4.0
    ]
    .into_dyn();
    let back = c
        .upload(&special)
        .await
        .unwrap()
        .to_ndarray::<f64>()
        .await
        .unwrap();
    for (a, b) in special.iter().zip(back.iter()) {
        assert_eq!(a.to_bits(), b.to_bits());
    }
}

#[tokio::test]
async fn an_array_over_64_mib_round_trips() {
    let srv = server().await;
    let c = client(&srv).await;
    let n = (80 << 20) / 8 + 3; // 80 MiB of f64, not a multiple of the chunk size
    let a = ArrayD::from_shape_vec(IxDyn(&[n]), (0..n).map(|i| i as f64 * 0.25).collect()).unwrap();
    let h = c.upload(&a).await.unwrap();
    let doubled = (&h * 2.0).unwrap();
    let back = doubled.to_ndarray::<f64>().await.unwrap();
    assert_eq!(back.len(), n);
    assert!(back.iter().enumerate().all(|(i, &x)| x == i as f64 * 0.5));
}

#[tokio::test]
async fn ten_thousand_pipelined_dependent_ops_then_one_fetch() {
    let srv = server().await;
    let c = client(&srv).await;
    let mut x = c.zeros(&[4], DType::Int64).unwrap();
    for _ in 0..10_000 {
        x = (&x + 1).unwrap();
    }
    assert_eq!(x.to_vec::<i64>().await.unwrap(), vec![10_000; 4]);
}

#[tokio::test]
async fn an_error_mid_pipeline_surfaces_with_its_op_while_independent_arrays_fetch() {
    let srv = server().await;
    let c = client(&srv).await;
    let base = c.upload(&array![2i32, 3, 4].into_dyn()).await.unwrap();
    let exps = c.upload(&array![1i32, -1, 2].into_dyn()).await.unwrap();
    // Only the server can see this one: a negative integer exponent.
    let bad = base.power(&exps).unwrap();
    let dependent = (&bad + 1).unwrap().sum(None, false).unwrap();
    let independent = (&base * 10).unwrap();
    let e = dependent.to_vec::<i64>().await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    assert_eq!(e.op(), Some("power"), "{e}");
    assert!(e.to_string().contains("negative integer powers"), "{e}");
    let e2 = bad.sync().await.unwrap_err();
    assert_eq!(e2.op(), Some("power"));
    assert_eq!(independent.to_vec::<i32>().await.unwrap(), vec![20, 30, 40]);
    // A resource error deep in a chain, too.
    let huge = c.zeros(&[1 << 40], DType::Float64).unwrap();
    let s = huge.sum(None, false).unwrap();
    let e = s.item::<f64>().await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::ResourceExhausted, "{e}");
    assert_eq!(e.op(), Some("zeros"));
    // And the session goes on.
    assert_eq!(
        (&base + &base).unwrap().to_vec::<i32>().await.unwrap(),
        vec![4, 6, 8]
    );
}

#[tokio::test]
async fn mistakes_the_contract_can_see_fail_at_the_call() {
    let srv = server().await;
    let c = client(&srv).await;
    let a = c.zeros(&[2, 3], DType::Float32).unwrap();
    let b = c.zeros(&[4], DType::Float32).unwrap();
    let sent = c.sent_seq();
    let e = (&a + &b).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(e.to_string().contains("(2,3) (4,)"), "{e}");
    let e = a.sum(5, false).unwrap_err();
    assert!(e.to_string().contains("axis 5 is out of bounds"), "{e}");
    assert_eq!(c.sent_seq(), sent, "nothing was sent");
    let e = c
        .call("frobnicate", &[Operand::from(&a)], Default::default())
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Unimplemented);
}

#[tokio::test]
async fn closing_a_session_returns_live_bytes_to_zero() {
    let srv = server().await;
    let c = client(&srv).await;
    let a = c.ones(&[1000, 1000], DType::Float64).unwrap();
    let b = (&a * 3.0).unwrap();
    b.sync().await.unwrap();
    let stats = c.stats().await.unwrap();
    assert!(stats.live_bytes >= 16_000_000, "{stats:?}");
    c.close().await.unwrap();
    let other = client(&srv).await;
    let stats = other.stats().await.unwrap();
    assert_eq!(stats.live_bytes, 0, "{stats:?}");
    assert_eq!(stats.live_arrays, 0);
    drop((a, b));
}

#[tokio::test]
async fn dropping_the_last_clone_releases_the_server_array() {
    let srv = server().await;
    let c = client(&srv).await;
    let a = c.ones(&[256], DType::Float64).unwrap();
    let a2 = a.clone();
    a.sync().await.unwrap();
    drop(a);
    c.sync_all().await.unwrap();
    assert_eq!(c.session_stats().await.unwrap().live_arrays, 1);
    drop(a2);
    c.sync_all().await.unwrap();
    let s = c.session_stats().await.unwrap();
    assert_eq!(s.live_arrays, 0, "{s:?}");
    assert_eq!(s.live_bytes, 0);
}

#[tokio::test]
async fn describe_and_devices_need_no_data() {
    let srv = server().await;
    let c = client(&srv).await;
    let a = c.arange(0, 10, 1, Some(DType::Int32)).unwrap();
    let d = a.describe().await.unwrap();
    assert_eq!(d.meta.shape, vec![10]);
    let devices = c.devices().await.unwrap();
    assert_eq!(devices.len(), 1);
    assert!(devices[0].name.ends_with("cpu:0"));
    let info = c.server_info().await.unwrap();
    assert_eq!(info.protocol_major, ndserve_client::PROTOCOL_MAJOR);
}

#[tokio::test]
async fn two_clients_at_once() {
    let srv = server().await;
    let (c1, c2) = (client(&srv).await, client(&srv).await);
    let (r1, r2) = tokio::join!(
        async {
            let mut x = c1.zeros(&[8], DType::Float32).unwrap();
            for _ in 0..500 {
                x = (&x + 1.0).unwrap();
            }
            x.to_vec::<f32>().await.unwrap()
        },
        async {
            let mut x = c2.ones(&[8], DType::Int64).unwrap();
            for _ in 0..500 {
                x = (&x * 1).unwrap();
            }
            x.to_vec::<i64>().await.unwrap()
        }
    );
    assert_eq!(r1, vec![500.0; 8]);
    assert_eq!(r2, vec![1; 8]);
}

#[test]
fn the_blocking_facade_works() {
    let srv_rt = tokio::runtime::Runtime::new().unwrap();
    let srv = srv_rt.block_on(server());
    let c = ndserve_client::blocking::Client::connect(srv.url()).unwrap();
    let a = c.ones(&[2, 2], DType::Float64).unwrap();
    let s = a.sum(None, false).unwrap();
    assert_eq!(s.item::<f64>().unwrap(), 4.0);
    // Arrays keep their client's runtime alive; once all are gone the session closes.
    drop((a, s, c));
    let stats = srv_rt.block_on(async {
        let other = Client::connect(srv.url()).await.unwrap();
        other.stats().await.unwrap()
    });
    assert_eq!(stats.live_arrays, 0, "{stats:?}");
    srv_rt.block_on(srv.shutdown());
}

/// Uploads cut into many chunks of a size that splits elements (the client's
/// `chunk_bytes`), from views in any layout and from raw bytes, arrive intact; a fetch in
/// such chunks too.
#[tokio::test]
async fn uploads_and_fetches_in_odd_sized_chunks() -> ndserve_client::Result<()> {
    let srv = server().await;
    let opts = ndserve_client::ClientOptions::default().with_chunk_bytes(1001);
    let c = Client::connect_with(srv.url(), opts).await?;
    let m = ArrayD::from_shape_fn(IxDyn(&[60, 50]), |d| (d[0] * 50 + d[1]) as f64 * 0.25 - 7.0);
    let t = m.t();
    let h = c.upload(&t).await?;
    assert_eq!(h.to_ndarray::<f64>().await?, t.to_owned());
    let b = ArrayD::from_shape_fn(IxDyn(&[3001]), |d| d[0] % 3 == 0);
    round_trip(&c, b).await;
    let z = ArrayD::from_shape_fn(IxDyn(&[777]), |d| {
        Complex64::new(d[0] as f64, -(d[0] as f64))
    });
    round_trip(&c, z).await;
    let raw: Vec<u8> = (0..4000u32)
        .flat_map(|i| (i as f32).to_le_bytes())
        .collect();
    let meta = ndserve_client::Meta::new(DType::Float32, vec![4000]);
    let r = c
        .upload_bytes(meta, bytes::Bytes::from(raw.clone()))
        .await?;
    assert_eq!(r.fetch_bytes().await?.1.as_ref(), &raw[..]);
    // A wrong length is refused before anything is sent, naming the op and argument.
    let bad = ndserve_client::Meta::new(DType::Float32, vec![3]);
    let e = c
        .upload_bytes(bad, bytes::Bytes::from_static(&[0; 5]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(e.to_string().contains("upload"), "{e}");
    Ok(())
}

/// Arrays up to 64 KiB come back in a barrier's reply on the Execute stream, larger ones
/// through `Fetch`: both give the same values and the same errors, and syncs of either
/// report the op that failed; so do the unary `Sync` and `Fetch` a client without
/// barriers (or an older server) uses.
#[tokio::test]
async fn fetches_either_side_of_the_inline_limit() {
    let srv = server().await;
    let limit = ndserve_proto::INLINE_FETCH_BYTES as usize / 8;
    for (barriers, n) in [true, false]
        .into_iter()
        .flat_map(|b| [(b, limit - 1), (b, limit), (b, limit + 1)])
    {
        let options = ndserve_client::ClientOptions::default().with_barriers(barriers);
        let c = Client::connect_with(srv.url(), options)
            .await
            .expect("connect");
        let host: Vec<f64> = (0..n).map(|i| i as f64 * 0.5 - 7.0).collect();
        let a = c
            .upload(&ArrayD::from_shape_vec(IxDyn(&[n]), host.clone()).unwrap())
            .await
            .unwrap();
        let y = (&a * 2.0).unwrap();
        y.sync().await.unwrap();
        let want: Vec<f64> = host.iter().map(|v| v * 2.0).collect();
        assert_eq!(
            y.to_vec::<f64>().await.unwrap(),
            want,
            "n = {n}, {barriers}"
        );
        let (meta, bytes) = y.fetch_bytes().await.unwrap();
        assert_eq!((meta.shape, bytes.len()), (vec![n], n * 8), "n = {n}");
        // The same failing op, fetched small or large.
        let exps = c.full(&[n], -1i64, None).unwrap();
        let bad = c.full(&[n], 2i64, None).unwrap().power(&exps).unwrap();
        let e = bad.to_vec::<i64>().await.unwrap_err();
        assert_eq!(
            (e.code(), e.op()),
            (ErrorCode::InvalidArgument, Some("power")),
            "{e}"
        );
        let e = bad.sync().await.unwrap_err();
        assert_eq!(e.op(), Some("power"), "{e}");
    }
}
