//! The SDK's typed methods of the shape, index, statistics, conversion and random ops
//! through a real server. The expected values are NumPy 2's (computed with `python3 -c
//! 'import numpy as np; ...'`, the expression in the comment above each assertion).

use ndarray::array;
use ndserve_client::ops_linalg::{promote_types, result_type};
use ndserve_client::proto::dtype::Operand as DOperand;
use ndserve_client::{Array, Client, DType, ErrorCode, Idx, IndexArg, Kind, Operand, Sections};

use crate::server;

async fn client(srv: &ndserve_server::RunningServer) -> Client {
    Client::connect(srv.url()).await.expect("connect")
}

async fn ints(a: &Array) -> Vec<i64> {
    a.to_vec::<i64>().await.expect("fetch")
}

async fn floats(a: &Array) -> Vec<f64> {
    a.to_vec::<f64>().await.expect("fetch")
}

fn close(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= 1e-12 * w.abs().max(1.0),
            "{got:?} vs {want:?}"
        );
    }
}

#[tokio::test]
async fn rearranging_and_conversions() -> ndserve_client::Result<()> {
    let srv = server().await;
    let c = client(&srv).await;
    let a = c.arange_n(24)?.reshape(&[2, 3, 4])?;
    // a.flatten()[:5]
    let f = a.flatten()?;
    assert_eq!(f.shape(), &[24]);
    assert_eq!(ints(&f).await[..5], [0, 1, 2, 3, 4]);
    // np.swapaxes(a, 0, 2): shape (4, 3, 2), [1].ravel()
    let s = a.swapaxes(0, 2)?;
    assert_eq!(s.shape(), &[4, 3, 2]);
    assert_eq!(ints(&s.getitem(&[1.into()])?).await, [1, 13, 5, 17, 9, 21]);
    // np.moveaxis(a, 0, -1), np.moveaxis(a, [0, 1], [-1, -2])
    let m = a.moveaxis(0, -1)?;
    assert_eq!(m.shape(), &[3, 4, 2]);
    assert_eq!(ints(&m).await[..6], [0, 12, 1, 13, 2, 14]);
    assert_eq!(a.moveaxis([0, 1], [-1, -2])?.shape(), &[4, 3, 2]);
    // np.atleast_1d(5), np.atleast_2d(np.arange(3)), np.atleast_3d(np.arange(3))
    let five = c.asarray(5, None)?;
    assert_eq!(five.shape(), &[] as &[usize]);
    assert_eq!(five.atleast_1d()?.shape(), &[1]);
    let r = c.arange_n(3)?;
    assert_eq!(r.atleast_2d()?.shape(), &[1, 3]);
    assert_eq!(r.atleast_3d()?.shape(), &[1, 3, 1]);
    // np.array(np.array([1, 2]), dtype=np.float32, ndmin=3), np.asarray(2.5),
    // np.asanyarray(x, dtype=int8), np.ascontiguousarray(7)
    let two = c.upload(&array![1i64, 2]).await?;
    let arr = c.array(&two, Some(DType::Float32), 3)?;
    assert_eq!(
        (arr.dtype(), arr.shape()),
        (DType::Float32, &[1usize, 1, 2][..])
    );
    assert_eq!(arr.to_vec::<f32>().await?, vec![1.0, 2.0]);
    let h = c.asarray(2.5, None)?;
    assert_eq!((h.dtype(), h.item::<f64>().await?), (DType::Float64, 2.5));
    let i8s = c.asanyarray(&two, Some(DType::Int8))?;
    assert_eq!(i8s.to_vec::<i8>().await?, vec![1, 2]);
    let seven = c.ascontiguousarray(7, None)?;
    assert_eq!(
        (seven.dtype(), seven.shape()),
        (DType::Int64, &[1usize][..])
    );
    // np.round([1.25, -2.5, 3.16], 1), np.round([15, 25, -35], -1),
    // np.round([0.5, 1.5, 2.5])
    let x = c.upload(&array![1.25, -2.5, 3.16]).await?;
    close(&floats(&x.round(1)?).await, &[1.2, -2.5, 3.2]);
    let y = c.upload(&array![15i64, 25, -35]).await?;
    assert_eq!(ints(&y.round(-1)?).await, [20, 20, -40]);
    let z = c.upload(&array![0.5, 1.5, 2.5]).await?;
    assert_eq!(floats(&z.round(0)?).await, [0.0, 2.0, 2.0]);
    Ok(())
}

#[tokio::test]
async fn joining_splitting_and_tiling() -> ndserve_client::Result<()> {
    let srv = server().await;
    let c = client(&srv).await;
    // np.broadcast_arrays([[1], [2]], [10, 20, 30])
    let col = c.upload(&array![[1i64], [2]]).await?;
    let row = c.upload(&array![10i64, 20, 30]).await?;
    let b = c.broadcast_arrays(&[(&col).into(), (&row).into()])?;
    assert_eq!(b.len(), 2);
    assert_eq!(ints(&b[0]).await, [1, 1, 1, 2, 2, 2]);
    assert_eq!(ints(&b[1]).await, [10, 20, 30, 10, 20, 30]);
    // np.hstack([np.ones((2, 1), int), np.zeros((2, 2), int)])
    let ones = c.ones(&[2, 1], DType::Int64)?;
    let zeros = c.zeros(&[2, 2], DType::Int64)?;
    let hs = c.hstack(&[&ones, &zeros])?;
    assert_eq!(
        hs.to_ndarray::<i64>().await?,
        array![[1i64, 0, 0], [1, 0, 0]].into_dyn()
    );
    // np.vstack([[1, 2], [3, 4]]), np.dstack([[1, 2], [3, 4]])
    let p = c.upload(&array![1i64, 2]).await?;
    let q = c.upload(&array![3i64, 4]).await?;
    assert_eq!(
        c.vstack(&[&p, &q])?.to_ndarray::<i64>().await?,
        array![[1i64, 2], [3, 4]].into_dyn()
    );
    let ds = c.dstack(&[&p, &q])?;
    assert_eq!(ds.shape(), &[1, 2, 2]);
    assert_eq!(ints(&ds).await, [1, 3, 2, 4]);
    // np.append([[1, 2]], [[3, 4]], axis=0)
    let ap = p.reshape(&[1, 2])?.append(q.reshape(&[1, 2])?, Some(0))?;
    assert_eq!(
        ap.to_ndarray::<i64>().await?,
        array![[1i64, 2], [3, 4]].into_dyn()
    );
    // m = np.arange(16).reshape(4, 4): np.hsplit(m, 2)[1], np.vsplit(m, [1, 3]),
    // np.split(m, 4, axis=1)[2]
    let m = c.arange_n(16)?.reshape(&[4, 4])?;
    let hsp = m.hsplit(2)?;
    assert_eq!(hsp.len(), 2);
    assert_eq!(ints(&hsp[1]).await, [2, 3, 6, 7, 10, 11, 14, 15]);
    let vsp = m.vsplit([1, 3])?;
    let shapes: Vec<&[usize]> = vsp.iter().map(|v| v.shape()).collect();
    assert_eq!(shapes, [&[1, 4][..], &[2, 4], &[1, 4]]);
    assert_eq!(ints(&vsp[2]).await, [12, 13, 14, 15]);
    let sp = m.split(Sections::Equal(4), 1)?;
    assert_eq!(ints(&sp[2]).await, [2, 6, 10, 14]);
    // np.dsplit(np.arange(24).reshape(2, 3, 4), [1]) shapes
    let a = c.arange_n(24)?.reshape(&[2, 3, 4])?;
    let dsp = a.dsplit(vec![1])?;
    assert_eq!(dsp[0].shape(), &[2, 3, 1]);
    assert_eq!(dsp[1].shape(), &[2, 3, 3]);
    // np.tile([[1, 2], [3, 4]], 2)
    let sq = c.upload(&array![[1i64, 2], [3, 4]]).await?;
    assert_eq!(
        sq.tile(&[2])?.to_ndarray::<i64>().await?,
        array![[1i64, 2, 1, 2], [3, 4, 3, 4]].into_dyn()
    );
    // np.repeat(sq, 2, axis=0), np.repeat(sq, 2)
    assert_eq!(
        sq.repeat(&[2], Some(0))?.to_ndarray::<i64>().await?,
        array![[1i64, 2], [1, 2], [3, 4], [3, 4]].into_dyn()
    );
    assert_eq!(
        ints(&sq.repeat(&[2], None)?).await,
        [1, 1, 2, 2, 3, 3, 4, 4]
    );
    // np.pad([1, 2, 3], (2, 3), mode=...)
    let v = c.upload(&array![1i64, 2, 3]).await?;
    for (mode, want) in [
        ("edge", [1i64, 1, 1, 2, 3, 3, 3, 3]),
        ("reflect", [3, 2, 1, 2, 3, 2, 1, 2]),
        ("symmetric", [2, 1, 1, 2, 3, 3, 2, 1]),
        ("wrap", [2, 3, 1, 2, 3, 1, 2, 3]),
    ] {
        assert_eq!(ints(&v.pad(&[2, 3], mode, None)?).await, want, "{mode}");
    }
    // np.pad([[1, 2], [3, 4]], ((1, 0), (0, 1))), np.pad([1.5], 1, constant_values=-0.5)
    assert_eq!(
        sq.pad(&[1, 0, 0, 1], "constant", None)?
            .to_ndarray::<i64>()
            .await?,
        array![[0i64, 0, 0], [1, 2, 0], [3, 4, 0]].into_dyn()
    );
    let one = c.upload(&array![1.5]).await?;
    assert_eq!(
        floats(&one.pad(&[1], "constant", Some((-0.5).into()))?).await,
        [-0.5, 1.5, -0.5]
    );
    Ok(())
}

#[tokio::test]
async fn flips_rolls_and_rotations() -> ndserve_client::Result<()> {
    let srv = server().await;
    let c = client(&srv).await;
    let a = c.arange_n(24)?.reshape(&[2, 3, 4])?;
    let m = c.arange_n(16)?.reshape(&[4, 4])?;
    // np.flip(a, (0, 2))[0, 0], np.flip(a)[0, 0], np.flipud(m)[0], np.fliplr(m)[0]
    let first = |x: Array| x.getitem(&[0.into(), 0.into()]);
    assert_eq!(ints(&first(a.flip([0, 2])?)?).await, [15, 14, 13, 12]);
    assert_eq!(ints(&first(a.flip(None)?)?).await, [23, 22, 21, 20]);
    assert_eq!(
        ints(&m.flipud()?.getitem(&[0.into()])?).await,
        [12, 13, 14, 15]
    );
    assert_eq!(ints(&m.fliplr()?.getitem(&[0.into()])?).await, [3, 2, 1, 0]);
    // np.roll(m, 1, axis=0)[0], np.roll(m, -1, axis=1)[0], np.roll(m, (1, 2), (0, 1))[0]
    assert_eq!(
        ints(&m.roll(1, Some(0))?.getitem(&[0.into()])?).await,
        [12, 13, 14, 15]
    );
    assert_eq!(
        ints(&m.roll(-1, Some(1))?.getitem(&[0.into()])?).await,
        [1, 2, 3, 0]
    );
    let rr = m.roll_axes(&[1, 2], &[0, 1])?;
    assert_eq!(ints(&rr.getitem(&[0.into()])?).await, [14, 15, 12, 13]);
    // np.roll(np.arange(6).reshape(2, 3), 1)
    let six = c.arange_n(6)?.reshape(&[2, 3])?;
    assert_eq!(six.roll(1, None)?.shape(), &[2, 3]);
    assert_eq!(ints(&six.roll(1, None)?).await, [5, 0, 1, 2, 3, 4]);
    // np.rot90([[1, 2], [3, 4]], 2), np.rot90(..., -1), np.rot90(a, 1, (1, 2)).shape
    let sq = c.upload(&array![[1i64, 2], [3, 4]]).await?;
    assert_eq!(ints(&sq.rot90(2, (0, 1))?).await, [4, 3, 2, 1]);
    assert_eq!(ints(&sq.rot90(-1, (0, 1))?).await, [3, 1, 4, 2]);
    assert_eq!(a.rot90(1, (1, 2))?.shape(), &[2, 4, 3]);
    Ok(())
}

#[tokio::test]
async fn indexing_gathers_and_selection() -> ndserve_client::Result<()> {
    let srv = server().await;
    let c = client(&srv).await;
    let a = c.arange_n(12)?.reshape(&[3, 4])?;
    // a[np.array([[0, 1], [2, 0]])].shape, a[np.array([2, -1]), ...],
    // a[:, np.array([3, 0])], a[np.newaxis, np.array([1]), 2]
    let i2 = c.upload(&array![[0i64, 1], [2, 0]]).await?;
    assert_eq!(a.index(&[(&i2).into()])?.shape(), &[2, 2, 4]);
    let neg = c.upload(&array![2i64, -1]).await?;
    let r = a.index(&[(&neg).into(), Idx::Ellipsis.into()])?;
    assert_eq!(ints(&r).await, [8, 9, 10, 11, 8, 9, 10, 11]);
    let cols = c.upload(&array![3i64, 0]).await?;
    let r = a.index(&[(..).into(), (&cols).into()])?;
    assert_eq!(
        r.to_ndarray::<i64>().await?,
        array![[3i64, 0], [7, 4], [11, 8]].into_dyn()
    );
    let one = c.upload(&array![1i64]).await?;
    let r = a.index(&[Idx::NewAxis.into(), (&one).into(), 2.into()])?;
    assert_eq!((r.shape(), ints(&r).await), (&[1usize, 1][..], vec![6]));
    // a[a % 5 == 0], a[np.array([True, False, True]), 1:3]: data-dependent, so index_run
    let mask = a.remainder(5)?.equal(0)?;
    assert_eq!(
        a.index(&[(&mask).into()]).unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        ints(&a.index_run(&[(&mask).into()]).await?).await,
        [0, 5, 10]
    );
    let rows = c.upload(&array![true, false, true]).await?;
    let r = a.index_run(&[(&rows).into(), (1..3).into()]).await?;
    assert_eq!(
        r.to_ndarray::<i64>().await?,
        array![[1i64, 2], [9, 10]].into_dyn()
    );
    // np.take(a, [[0, 11], [5, 6]]), np.take([4, 5, 6], [-1, 5], mode='clip'),
    // np.take([4, 5, 6], [4, -4], mode='wrap')
    let ti = c.upload(&array![[0i64, 11], [5, 6]]).await?;
    assert_eq!(ints(&a.take(&ti, None)?).await, [0, 11, 5, 6]);
    let small = c.upload(&array![4i64, 5, 6]).await?;
    let clip = c.upload(&array![-1i64, 5]).await?;
    assert_eq!(ints(&small.take_mode(&clip, None, "clip")?).await, [4, 6]);
    let wrap = c.upload(&array![4i64, -4]).await?;
    assert_eq!(
        ints(&small.take_mode(&wrap, Some(0), "wrap")?).await,
        [5, 6]
    );
    // x = [[10, 30, 20], [60, 40, 50]]: np.take_along_axis(x, [[0], [2]], axis=1),
    // np.take_along_axis(x, [5, 0], axis=None), with argsort
    let x = c.upload(&array![[10i64, 30, 20], [60, 40, 50]]).await?;
    let idx = c.upload(&array![[0i64], [2]]).await?;
    assert_eq!(ints(&x.take_along_axis(&idx, Some(1))?).await, [10, 50]);
    let flat = c.upload(&array![5i64, 0]).await?;
    assert_eq!(ints(&x.take_along_axis(&flat, None)?).await, [50, 10]);
    let sorted = x.take_along_axis(x.argsort(Some(1))?, Some(1))?;
    assert_eq!(ints(&sorted).await, [10, 20, 30, 40, 50, 60]);
    // np.where([[True], [False]], [1.5, 2.5], 0); np.where([True, False], int8 [1, 2], 1)
    let cond = c.upload(&array![[true], [false]]).await?;
    let w = cond.r#where(c.upload(&array![1.5, 2.5]).await?, 0)?;
    assert_eq!(
        (w.dtype(), floats(&w).await),
        (DType::Float64, vec![1.5, 2.5, 0.0, 0.0])
    );
    let cond = c.upload(&array![true, false]).await?;
    let w = cond.r#where(c.upload(&array![1i8, 2]).await?, 1)?;
    assert_eq!(w.dtype(), DType::Int8);
    assert_eq!(w.to_vec::<i8>().await?, vec![1, 1]);
    // v = np.arange(6): np.select([v < 2, v > 3], [v, v**2], -1)
    let v = c.arange_n(6)?;
    let s = c.select(
        &[v.less(2)?.into(), v.greater(3)?.into()],
        &[(&v).into(), v.square()?.into()],
        -1,
    )?;
    assert_eq!(ints(&s).await, [0, 1, -1, -1, 16, 25]);
    // np.select([v < 2], [v * 1.5]).dtype
    let s = c.select(&[v.less(2)?.into()], &[(&v * 1.5)?.into()], 0)?;
    assert_eq!(s.dtype(), DType::Float64);
    // b = np.arange(24).reshape(2, 3, 4): np.diagonal(b, 0, 1, 2), np.diagonal(b, -1, 0, 1),
    // np.diagonal(a, -1)
    let b = c.arange_n(24)?.reshape(&[2, 3, 4])?;
    let d = b.diagonal(0, 1, 2)?;
    assert_eq!(
        d.to_ndarray::<i64>().await?,
        array![[0i64, 5, 10], [12, 17, 22]].into_dyn()
    );
    let d = b.diagonal(-1, 0, 1)?;
    assert_eq!(
        (d.shape(), ints(&d).await),
        (&[4usize, 1][..], vec![12, 13, 14, 15])
    );
    assert_eq!(ints(&a.diagonal(-1, 0, 1)?).await, [4, 9]);
    // np.diag_indices(3, 3)
    let di = c.diag_indices(3, 3)?;
    assert_eq!(di.len(), 3);
    for i in &di {
        assert_eq!((i.dtype(), ints(i).await), (DType::Int64, vec![0, 1, 2]));
    }
    // [i.shape for i in np.ix_([1, 2], [0, 3], [0])]
    let ix = c.ix_(&[
        c.upload(&array![1i64, 2]).await?.into(),
        c.upload(&array![0i64, 3]).await?.into(),
        c.upload(&array![0i64]).await?.into(),
    ])?;
    let shapes: Vec<&[usize]> = ix.iter().map(|i| i.shape()).collect();
    assert_eq!(shapes, [&[2, 1, 1][..], &[1, 2, 1], &[1, 1, 1]]);
    // np.ix_([False, True, True], [3, 0]), and a[that]
    let bools: Operand = c.upload(&array![false, true, true]).await?.into();
    let cols: Operand = c.upload(&array![3i64, 0]).await?.into();
    assert_eq!(
        c.ix_(&[bools.clone(), cols.clone()]).unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    let ix = c.ix_run(&[bools, cols]).await?;
    assert_eq!(
        (ix[0].shape(), ints(&ix[0]).await),
        (&[2usize, 1][..], vec![1, 2])
    );
    assert_eq!(ints(&ix[1]).await, [3, 0]);
    let sub = a.index(&[(&ix[0]).into(), (&ix[1]).into()])?;
    assert_eq!(
        sub.to_ndarray::<i64>().await?,
        array![[7i64, 4], [11, 8]].into_dyn()
    );
    Ok(())
}

#[tokio::test]
async fn functional_item_assignment() -> ndserve_client::Result<()> {
    let srv = server().await;
    let c = client(&srv).await;
    let a = c.arange_n(12)?.reshape(&[3, 4])?;
    // c = a.copy(); c[np.array([0, 2]), 1:3] = [100, 200]
    let rows = c.upload(&array![0i64, 2]).await?;
    let y = c.upload(&array![100i64, 200]).await?;
    let u = a.index_update(&[(&rows).into(), (1..3).into()], &y)?;
    assert_eq!(
        u.to_ndarray::<i64>().await?,
        array![[0i64, 100, 200, 3], [4, 5, 6, 7], [8, 100, 200, 11]].into_dyn()
    );
    // The original is unchanged.
    assert_eq!(ints(&a.getitem(&[0.into()])?).await, [0, 1, 2, 3]);
    // c[a > 8] = -1 (a boolean mask in the key)
    let mask = a.greater(8)?;
    let u = a.index_update(&[IndexArg::from(&mask)], -1)?;
    assert_eq!(ints(&u).await, [0, 1, 2, 3, 4, 5, 6, 7, 8, -1, -1, -1]);
    // c = np.zeros(4, np.float32); np.add.at(c, [0, 1, 0, 3], float32 [1.5, 2, 2.5, 1])
    let z = c.zeros(&[4], DType::Float32)?;
    let at = c.upload(&array![0i64, 1, 0, 3]).await?;
    let vals = c.upload(&array![1.5f32, 2.0, 2.5, 1.0]).await?;
    let s = z.index_add(&[(&at).into()], &vals)?;
    assert_eq!(s.dtype(), DType::Float32);
    assert_eq!(s.to_vec::<f32>().await?, vec![4.0, 2.0, 0.0, 1.0]);
    // np.minimum.at(c, ([0, 0], [1, 1]), [-5, -7])
    let zz = c.upload(&array![0i64, 0]).await?;
    let ones = c.upload(&array![1i64, 1]).await?;
    let mn = a.index_min(
        &[(&zz).into(), (&ones).into()],
        c.upload(&array![-5i64, -7]).await?,
    )?;
    assert_eq!(ints(&mn.getitem(&[0.into()])?).await, [0, -7, 2, 3]);
    // np.maximum.at(c, (1, [0, 2]), 6)
    let cols = c.upload(&array![0i64, 2]).await?;
    let mx = a.index_max(&[1.into(), (&cols).into()], 6)?;
    assert_eq!(ints(&mx.getitem(&[1.into()])?).await, [6, 5, 6, 7]);
    // A y of the wrong shape is refused at the call.
    let bad = c.upload(&array![1i64, 2, 3]).await?;
    let e = a.index_update(&[(&rows).into()], &bad).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    Ok(())
}

#[tokio::test]
async fn long_runs_of_one_value_sort() -> ndserve_client::Result<()> {
    // 200,000 equal values once overflowed the radix sort's stack and aborted the server.
    let srv = server().await;
    let c = client(&srv).await;
    let n = 200_000;
    let zeros = c.upload(&ndarray::Array1::<f64>::zeros(n)).await?;
    // np.sort(np.zeros(n)), np.argsort(np.zeros(n)): the same, and 0..n (stable)
    assert_eq!(floats(&zeros.sort(Some(-1))?).await, vec![0.0; n]);
    let order = ints(&zeros.argsort(Some(0))?).await;
    assert!(order.iter().enumerate().all(|(i, &k)| k == i as i64));
    // np.sort(np.where(np.arange(n) % 4 == 0, -np.arange(n), 5)) on int32: the
    // negatives in order, then n - n/4 fives
    let mixed = ndarray::Array1::from_iter((0..n as i32).map(|i| if i % 4 == 0 { -i } else { 5 }));
    let got = c.upload(&mixed).await?.sort(None)?.to_vec::<i32>().await?;
    let mut want = mixed.to_vec();
    want.sort();
    assert_eq!(got, want);
    Ok(())
}

#[tokio::test]
async fn statistics_and_nan_aware_reductions() -> ndserve_client::Result<()> {
    let srv = server().await;
    let c = client(&srv).await;
    let n = c
        .upload(&array![[1.0, f64::NAN, 3.0], [4.0, 5.0, f64::NAN]])
        .await?;
    // np.nanmin/nanmax/nansum/nanprod/nanmean(n, axis=1) and over everything
    assert_eq!(floats(&n.nanmin(1, false)?).await, [1.0, 4.0]);
    assert_eq!(n.nanmin(None, false)?.item::<f64>().await?, 1.0);
    assert_eq!(floats(&n.nanmax(1, false)?).await, [3.0, 5.0]);
    assert_eq!(n.nanmax(None, false)?.item::<f64>().await?, 5.0);
    assert_eq!(floats(&n.nansum(1, false)?).await, [4.0, 9.0]);
    assert_eq!(n.nansum(None, false)?.item::<f64>().await?, 13.0);
    assert_eq!(floats(&n.nanprod(1, false)?).await, [3.0, 20.0]);
    assert_eq!(n.nanprod(None, false)?.item::<f64>().await?, 60.0);
    assert_eq!(floats(&n.nanmean(1, false)?).await, [2.0, 4.5]);
    assert_eq!(n.nanmean(None, false)?.item::<f64>().await?, 3.25);
    // np.nanstd(n, axis=0), np.nanvar(n, ddof=1)
    close(
        &floats(&n.nanstd(0, 0, false, None)?).await,
        &[1.5, 0.0, 0.0],
    );
    close(
        &[n.nanvar(None, 1, false, None)?.item::<f64>().await?],
        &[2.9166666666666665],
    );
    // a = [[2, 7, 1], [8, 2, 8]]: np.var(a), np.var(a, axis=0), np.std(a, axis=1, ddof=1),
    // np.var(a, axis=1, keepdims=True).shape, np.std(a.astype(np.float32)).dtype
    let a = c.upload(&array![[2i64, 7, 1], [8, 2, 8]]).await?;
    close(
        &[a.var(None, 0, false, None)?.item::<f64>().await?],
        &[9.222222222222221],
    );
    close(
        &floats(&a.var(0, 0, false, None)?).await,
        &[9.0, 6.25, 12.25],
    );
    close(
        &floats(&a.std(1, 1, false, None)?).await,
        &[3.2145502536643185, 3.4641016151377544],
    );
    assert_eq!(a.var(1, 0, true, None)?.shape(), &[2, 1]);
    assert_eq!(
        a.astype(DType::Float32)?.std(None, 0, false, None)?.dtype(),
        DType::Float32
    );
    // np.median(a), np.median(a, axis=0)
    assert_eq!(a.median(None, false)?.item::<f64>().await?, 4.5);
    assert_eq!(floats(&a.median(0, false)?).await, [5.0, 4.5, 4.5]);
    // np.percentile(a, [10, 90], axis=1), np.percentile(a, 30),
    // np.percentile(a, 50, axis=0, keepdims=True).shape
    let q = c.upload(&array![10.0, 90.0]).await?;
    let p = a.percentile(&q, 1, false)?;
    assert_eq!(p.shape(), &[2, 2]);
    close(&floats(&p).await, &[1.2, 3.2, 6.0, 8.0]);
    close(
        &[a.percentile(30, None, false)?.item::<f64>().await?],
        &[2.0],
    );
    assert_eq!(a.percentile(50, 0, true)?.shape(), &[1, 3]);
    // np.count_nonzero([[0, 1, 2], [0, 0, 3]], axis=1), and over everything
    let nz = c.upload(&array![[0i64, 1, 2], [0, 0, 3]]).await?;
    let cnt = nz.count_nonzero(1, false)?;
    assert_eq!((cnt.dtype(), ints(&cnt).await), (DType::Int64, vec![2, 1]));
    assert_eq!(nz.count_nonzero(None, false)?.item::<i64>().await?, 3);
    // np.ptp(a, axis=1), np.ptp(a)
    assert_eq!(ints(&a.ptp(1, false)?).await, [6, 6]);
    assert_eq!(a.ptp(None, false)?.item::<i64>().await?, 7);
    // x = [[9, 1, 5, 3], [2, 8, 0, 7]]: np.partition(x, 1, axis=1)[:, 1],
    // np.partition(x, -1, axis=None)[-1], np.argpartition(x, 0, axis=0)[0]
    let x = c.upload(&array![[9i64, 1, 5, 3], [2, 8, 0, 7]]).await?;
    let part = x.partition(1, Some(1))?;
    assert_eq!(part.shape(), &[2, 4]);
    assert_eq!(ints(&part.getitem(&[(..).into(), 1.into()])?).await, [3, 2]);
    let flat = x.partition(-1, None)?;
    assert_eq!((flat.shape(), ints(&flat).await[7]), (&[8usize][..], 9));
    let ap = x.argpartition(0, Some(0))?;
    assert_eq!(ap.dtype(), DType::Int64);
    assert_eq!(ints(&ap.getitem(&[0.into()])?).await, [1, 0, 1, 0]);
    Ok(())
}

#[tokio::test]
async fn random_and_dtype_utilities() -> ndserve_client::Result<()> {
    let srv = server().await;
    let c = client(&srv).await;
    // np.random.randn(2, 3), np.random.rand(4): float64 of those shapes; rand in [0, 1)
    c.random().seed(7)?;
    let n = c.random().randn(&[2, 3])?;
    assert_eq!((n.dtype(), n.shape()), (DType::Float64, &[2usize, 3][..]));
    let u = c.random().rand(&[1000])?;
    let uv = floats(&u).await;
    assert!(uv.iter().all(|&v| (0.0..1.0).contains(&v)));
    let mean = uv.iter().sum::<f64>() / uv.len() as f64;
    assert!((mean - 0.5).abs() < 0.05, "{mean}");
    assert_eq!(c.random().rand(&[])?.shape(), &[] as &[usize]);
    // The same seed replays the same draws.
    let first = floats(&n).await;
    c.random().seed(7)?;
    assert_eq!(floats(&c.random().randn(&[2, 3])?).await, first);
    // np.result_type(np.int8, 1.0), np.promote_types(np.int16, np.uint16),
    // np.result_type(np.float32, 1j): answered locally
    assert_eq!(
        result_type(&[DOperand::Array(DType::Int8), DOperand::Scalar(Kind::Float)]),
        Some(DType::Float64)
    );
    assert_eq!(promote_types(DType::Int16, DType::UInt16), DType::Int32);
    assert_eq!(
        result_type(&[
            DOperand::Array(DType::Float32),
            DOperand::Scalar(Kind::Complex)
        ]),
        Some(DType::Complex64)
    );
    Ok(())
}

#[tokio::test]
async fn bad_axes_are_invalid_arguments_at_the_call() -> ndserve_client::Result<()> {
    let srv = server().await;
    let c = client(&srv).await;
    let a = c.arange_n(6)?.reshape(&[2, 3])?;
    let square = a.flipud()?.fliplr()?;
    let line = c.arange_n(3)?;
    let sent = c.sent_seq();
    let errors = [
        a.swapaxes(0, 2).unwrap_err(),
        a.moveaxis(0, 5).unwrap_err(),
        a.flip(2).unwrap_err(),
        a.roll(1, Some(-3)).unwrap_err(),
        a.rot90(1, (0, 0)).unwrap_err(),
        a.split(2, 3).unwrap_err(),
        a.split(4, 1).unwrap_err(), // unequal division
        a.repeat(&[2], Some(2)).unwrap_err(),
        a.append(&a, Some(2)).unwrap_err(),
        a.take(0, Some(2)).unwrap_err(),
        a.take_along_axis(&a, Some(2)).unwrap_err(),
        a.diagonal(0, 0, 2).unwrap_err(),
        a.percentile(50, 2, false).unwrap_err(),
        a.partition(0, Some(2)).unwrap_err(),
        a.nanmax(2, false).unwrap_err(),
        square.vsplit(3).unwrap_err(),
        line.dsplit(1).unwrap_err(),
    ];
    for e in &errors {
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    }
    assert_eq!(c.sent_seq(), sent, "nothing was sent");
    // np.select with lists of different lengths
    let e = c
        .select(&[a.greater(1)?.into()], &[(&a).into(), (&a).into()], 0)
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    Ok(())
}

#[test]
fn the_blocking_facade_forwards_the_new_methods() -> ndserve_client::Result<()> {
    use ndserve_client::blocking;
    let c = blocking::Client::embedded()?;
    let a = c.arange_n(6)?.reshape(&[2, 3])?;
    // np.fliplr(a), np.roll(a, 1, axis=1), np.hsplit(a, 3)[2], np.split(a, 2)[1]
    assert_eq!(a.fliplr()?.to_vec::<i64>()?, vec![2, 1, 0, 5, 4, 3]);
    assert_eq!(a.roll(1, Some(1))?.to_vec::<i64>()?, vec![2, 0, 1, 5, 3, 4]);
    assert_eq!(a.hsplit(3)?[2].to_vec::<i64>()?, vec![2, 5]);
    assert_eq!(a.split(2, 0)?[1].to_vec::<i64>()?, vec![3, 4, 5]);
    // a[[1, 0], [2, 2]] and a copy with those set to 9
    let r = c.upload(&array![1i64, 0])?;
    let k = c.upload(&array![2i64, 2])?;
    let key = [IndexArg::from(&r), IndexArg::from(&k)];
    assert_eq!(a.index(&key)?.to_vec::<i64>()?, vec![5, 2]);
    assert_eq!(
        a.index_update(&key, 9)?.to_vec::<i64>()?,
        vec![0, 1, 9, 3, 4, 9]
    );
    // np.where(a > 2, a, 0), np.vstack([a, a]).shape, np.diag_indices(2)
    assert_eq!(
        a.greater(2)?.r#where(&a, 0)?.to_vec::<i64>()?,
        vec![0, 0, 0, 3, 4, 5]
    );
    assert_eq!(c.vstack(&[&a, &a])?.shape(), &[4, 3]);
    assert_eq!(c.diag_indices(2, 2)?.len(), 2);
    // a[a % 2 == 0], waiting for the shape
    let even = a.remainder(2)?.equal(0)?;
    assert_eq!(
        a.index_run(&[(&even).into()])?.to_vec::<i64>()?,
        vec![0, 2, 4]
    );
    Ok(())
}
