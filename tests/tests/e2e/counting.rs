//! `unique`, `histogram` and `bincount` through a real server. The expected values are
//! NumPy 2.4's.

use ndarray::array;
use ndserve_client::{Client, DType, ErrorCode};

use crate::server;

#[tokio::test]
async fn counting_ops_match_numpy() -> ndserve_client::Result<()> {
    let srv = server().await;
    let c = Client::connect(srv.url()).await?;
    // np.unique([[3., 1., 3.], [2., 1., nan]], return_index=..., return_inverse=..., return_counts=...)
    let a = c
        .upload(&array![[3.0, 1.0, 3.0], [2.0, 1.0, f64::NAN]])
        .await?;
    let u = a.unique_all().await?;
    let v = u.values.to_vec::<f64>().await?;
    assert_eq!((&v[..3], v[3].is_nan()), (&[1.0, 2.0, 3.0][..], true));
    assert_eq!(u.index.to_vec::<i64>().await?, vec![1, 3, 0, 5]);
    assert_eq!(u.inverse.shape(), &[2, 3]);
    assert_eq!(u.counts.to_vec::<i64>().await?, vec![2, 1, 2, 1]);
    // The values' length is known once the server reports it, and what follows uses it.
    assert_eq!(
        a.unique()
            .await?
            .sum(ndserve_client::Axis::All, false)?
            .shape(),
        &[] as &[usize]
    );
    // np.histogram([1, 2, 2, 3, 7], bins=3, range=(0, 6)) -> [1, 3, 0], [0, 2, 4, 6]
    let x = c.upload(&array![1i32, 2, 2, 3, 7]).await?;
    let (h, e) = x.histogram(3, Some((0.0, 6.0)))?;
    assert_eq!(h.to_vec::<i64>().await?, vec![1, 3, 0]);
    assert_eq!(e.to_vec::<f64>().await?, vec![0.0, 2.0, 4.0, 6.0]);
    // np.histogram(x, bins=[0, 2, 5, 8], weights=w float32) -> float32 [1., 3., 1.]
    let edges = c.upload(&array![0i64, 2, 5, 8]).await?;
    let w = c.upload(&array![1.0f32, 1.0, 1.0, 1.0, 1.0]).await?;
    let (h, e) = x.histogram_edges(&edges, Some(&w), false)?;
    assert_eq!((h.dtype(), e.dtype()), (DType::Float32, DType::Int64));
    assert_eq!(h.to_vec::<f32>().await?, vec![1.0, 3.0, 1.0]);
    // np.bincount([1, 2, 2, 3, 7], weights=[.5]*5) -> float64, length 8
    let half = c.upload(&array![0.5, 0.5, 0.5, 0.5, 0.5]).await?;
    let b = x.bincount(Some(&half), 0).await?;
    assert_eq!(
        b.to_vec::<f64>().await?,
        vec![0.0, 0.5, 1.0, 0.5, 0.0, 0.0, 0.0, 0.5]
    );
    // NumPy's errors.
    let neg = c.upload(&array![1i64, -1]).await?;
    // (the call is pipelined: the kernel's error arrives with the fetch)
    let err = neg
        .bincount(None, 0)
        .await?
        .to_vec::<i64>()
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    assert!(err.to_string().contains("negative"), "{err}");
    let err = x.histogram(0, None).unwrap_err();
    assert!(err.to_string().contains("`bins` must be positive"), "{err}");
    let err = x.histogram(2, Some((3.0, 1.0))).unwrap_err();
    assert!(
        err.to_string().contains("max must be larger than min"),
        "{err}"
    );
    Ok(())
}
