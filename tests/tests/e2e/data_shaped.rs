//! Ops whose result shape depends on the data, through a real server: boolean masks,
//! `nonzero`, `where(condition)`, `compress`. The expected values are NumPy 2.4's.

use ndarray::{ArrayD, IxDyn, array};
use ndserve_client::{Attrs, Axis, Client, DType, ErrorCode, Operand};

use crate::server;

#[tokio::test]
async fn a_boolean_mask_selects_and_reports_its_actual_shape() -> ndserve_client::Result<()> {
    let srv = server().await;
    let c = Client::connect(srv.url()).await?;
    // a = np.arange(24).reshape(2, 3, 4); a[a[:, :, 0] % 8 == 0]
    let a = c.arange_n(24)?.reshape(&[2, 3, 4])?;
    let first = a.getitem(&[(..).into(), (..).into(), 0.into()])?;
    let mask = first.remainder(8)?.equal(0)?;
    let b = a.boolean_mask(&mask).await?;
    assert_eq!(b.shape(), &[3, 4]);
    assert_eq!(
        b.to_ndarray::<i64>().await?,
        array![[0i64, 1, 2, 3], [8, 9, 10, 11], [16, 17, 18, 19]].into_dyn()
    );
    // The result is an ordinary array: its shape is known to what follows.
    assert_eq!(b.sum(Axis::One(0), false)?.shape(), &[4]);
    // Memory is accounted at the actual size, not the bound (6 rows).
    let stats = c.session_stats().await?;
    assert!(
        stats.live_bytes < (24 + 6 * 4) * 8 + 6 + 3 * 8 + 4 * 8 + 6 * 8,
        "{stats:?}"
    );
    // An all-false mask gives an empty selection; a 0-d mask adds an axis.
    let none = a
        .getitem(&[0.into()])?
        .less(-1)?
        .sum(Axis::One(1), false)?
        .astype(DType::Bool)?;
    assert_eq!(
        a.getitem(&[0.into()])?.boolean_mask(&none).await?.shape(),
        &[0, 4]
    );
    let t = c.full(&[], true, Some(DType::Bool))?;
    assert_eq!(c.arange_n(3)?.boolean_mask(&t).await?.shape(), &[1, 3]);
    Ok(())
}

#[tokio::test]
async fn masks_are_checked_and_call_points_to_run() {
    let srv = server().await;
    let c = Client::connect(srv.url()).await.unwrap();
    let a = c.zeros(&[2, 3], DType::Float32).unwrap();
    let wrong = c.ones(&[3], DType::Bool).unwrap();
    let e = a.boolean_mask(&wrong).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(e.to_string().contains("boolean index did not match"), "{e}");
    // The pipelined form cannot know the shape: it says so, naming the op.
    let mask = c.ones(&[2], DType::Bool).unwrap();
    let e = c
        .call("nonzero", &[Operand::from(&mask)], Attrs::new())
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(e.to_string().contains("Client::run"), "{e}");
    // The session still serves.
    assert_eq!(
        a.sum(None, false).unwrap().item::<f32>().await.unwrap(),
        0.0
    );
}

#[tokio::test]
async fn nonzero_where_and_compress_match_numpy() -> ndserve_client::Result<()> {
    let srv = server().await;
    let c = Client::connect(srv.url()).await?;
    let x = ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![0.0f64, 1.5, 0.0, -2.0, f64::NAN, 0.0])
        .unwrap();
    let a = c.upload(&x).await?;
    // np.nonzero: NaN is non-zero.
    let nz = a.nonzero().await?;
    assert_eq!(nz.len(), 2);
    assert_eq!(nz[0].to_vec::<i64>().await?, vec![0, 1, 1]);
    assert_eq!(nz[1].to_vec::<i64>().await?, vec![1, 0, 1]);
    // np.where(condition) is np.nonzero(condition).
    let w = c.run("where", &[Operand::from(&a)], Attrs::new()).await?;
    assert_eq!(w[1].to_vec::<i64>().await?, vec![1, 0, 1]);
    // np.nonzero of a 0-d array is an error in NumPy 2.
    let s = c.full(&[], 1.0, Some(DType::Float64))?;
    assert_eq!(
        s.nonzero().await.unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    // np.compress([0, 1], a, axis=0) -> [[-2, nan, 0]]; along axis 1 with a short condition.
    let cond = c.upload(&array![false, true]).await?;
    let r = a.compress(&cond, Axis::One(0)).await?;
    assert_eq!(r.shape(), &[1, 3]);
    let r = a.compress(&cond, Axis::One(-1)).await?;
    assert_eq!(r.shape(), &[2, 1]);
    let v = r.to_vec::<f64>().await?;
    assert!(v[0] == 1.5 && v[1].is_nan(), "{v:?}");
    // A true element beyond the axis is an index error, as in NumPy.
    let long = c.upload(&array![false, false, false, true]).await?;
    let e = a.compress(&long, Axis::One(1)).await.unwrap_err();
    assert!(
        e.to_string()
            .contains("index 3 is out of bounds for axis 1 with size 3"),
        "{e}"
    );
    Ok(())
}

#[tokio::test]
async fn masks_in_functional_updates_and_ix() -> ndserve_client::Result<()> {
    use ndserve_client::Attr;
    use ndserve_client::proto::IndexItem;
    let srv = server().await;
    let c = Client::connect(srv.url()).await?;
    let a = c.upload(&array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]).await?;
    let mask = c.upload(&array![true, false, true]).await?;
    let key = |items: Vec<IndexItem>| Attrs::new().with("key", Attr::Index(items));
    // b = a.copy(); b[:, mask] = [10, 20]  (inputs: a, y, then the key's arrays)
    let y = c.upload(&array![10.0, 20.0]).await?;
    let b = c.call(
        "index_update",
        &[(&a).into(), (&y).into(), (&mask).into()],
        key(vec![
            IndexItem::Slice(None, None, None),
            IndexItem::Array(2),
        ]),
    )?;
    assert_eq!(
        b[0].to_ndarray::<f64>().await?,
        array![[10.0, 2.0, 20.0], [10.0, 5.0, 20.0]].into_dyn()
    );
    // np.add.at(b, a > 3, 100) adds once per selected element.
    let big = a.greater(3.0)?;
    let b = c.call(
        "index_add",
        &[(&a).into(), 100.0.into(), (&big).into()],
        key(vec![IndexItem::Array(2)]),
    )?;
    assert_eq!(
        b[0].to_ndarray::<f64>().await?,
        array![[1.0, 2.0, 3.0], [104.0, 105.0, 106.0]].into_dyn()
    );
    // y must match the number of selected elements, known only from the data.
    let e = c
        .call(
            "index_update",
            &[(&a).into(), (&y).into(), (&big).into()],
            key(vec![IndexItem::Array(2)]),
        )?
        .remove(0)
        .to_vec::<f64>()
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    assert!(e.to_string().contains("could not broadcast"), "{e}");
    // np.ix_([True, False, True], [2, 0]): the mask stands for its nonzero indices.
    let cols = c.upload(&array![2i32, 0]).await?;
    let ix = c
        .run("ix_", &[(&mask).into(), (&cols).into()], Attrs::new())
        .await?;
    assert_eq!(
        (ix[0].shape(), ix[0].dtype()),
        (&[2usize, 1][..], DType::Int64)
    );
    assert_eq!(ix[0].to_vec::<i64>().await?, vec![0, 2]);
    assert_eq!(
        (ix[1].shape(), ix[1].dtype()),
        (&[1usize, 2][..], DType::Int32)
    );
    Ok(())
}
