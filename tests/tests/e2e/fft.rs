//! `fft.*` through a real server: values, dtypes, lengths, norms and NumPy's errors. The
//! expected values are NumPy 2.4's.

use ndarray::array;
use ndserve_client::{Client, DType, ErrorCode, FftArgs, FftNorm, FftnArgs};
use num_complex::Complex64;

use crate::server;

fn close(got: &[Complex64], want: &[(f64, f64)]) {
    assert_eq!(got.len(), want.len(), "{got:?}");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g.re - w.0).abs() < 1e-12 && (g.im - w.1).abs() < 1e-12,
            "{got:?} != {want:?}"
        );
    }
}

#[tokio::test]
async fn transforms_match_numpy() -> ndserve_client::Result<()> {
    let srv = server().await;
    let c = Client::connect(srv.url()).await?;
    let f = c.fft();
    let x = c.upload(&array![1i64, 2, 3, 4]).await?;
    // np.fft.fft([1, 2, 3, 4]): integers compute in complex128
    let y = f.fft(&x, FftArgs::new())?;
    assert_eq!(y.dtype(), DType::Complex128);
    close(
        &y.to_vec::<Complex64>().await?,
        &[(10.0, 0.0), (-2.0, 2.0), (-2.0, 0.0), (-2.0, -2.0)],
    );
    // np.fft.ifft(y) is x again
    let back = f.ifft(&y, FftArgs::new())?.to_vec::<Complex64>().await?;
    close(&back, &[(1.0, 0.0), (2.0, 0.0), (3.0, 0.0), (4.0, 0.0)]);
    // np.fft.rfft([1, 2, 3, 4], n=5, norm="ortho")
    let r = f.rfft(&x, FftArgs::new().n(5).norm(FftNorm::Ortho))?;
    assert_eq!(r.shape(), &[3]);
    close(
        &r.to_vec::<Complex64>().await?,
        &[
            (4.47213595499958, 0.0),
            (-1.8090169943749475, -0.587785252292473),
            (0.6909830056250527, -0.9510565162951535),
        ],
    );
    // np.fft.irfft([10, -2+2j, -2], n=4) = [1, 2, 3, 4]; float32 stays single precision
    let spec = f.rfft(&x.astype(DType::Float32)?, FftArgs::new())?;
    assert_eq!(spec.dtype(), DType::Complex64);
    let re = f.irfft(&spec, FftArgs::new().n(4))?;
    assert_eq!(re.dtype(), DType::Float32);
    let v = re.to_vec::<f32>().await?;
    assert!(
        v.iter()
            .zip([1.0f32, 2.0, 3.0, 4.0])
            .all(|(a, b)| (a - b).abs() < 1e-6)
    );
    // np.fft.fft2(np.arange(6.).reshape(2, 3), axes=(0, 1), norm="forward")[0, 0] = mean = 2.5
    let m = c.upload(&array![[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]).await?;
    let m2 = f.fft2(&m, FftnArgs::new().norm(FftNorm::Forward))?;
    assert_eq!(m2.shape(), &[2, 3]);
    assert!((m2.to_vec::<Complex64>().await?[0] - Complex64::new(2.5, 0.0)).norm() < 1e-12);
    // np.fft.fftn with s pads: shape (4, 5)
    let p = f.fftn(&m, FftnArgs::new().s(&[4, 5]).axes(&[0, 1]))?;
    assert_eq!(p.shape(), &[4, 5]);
    let back = f.ifftn(&p, FftnArgs::new())?;
    let back = back.to_vec::<Complex64>().await?;
    // ifftn(fftn(m, s)) is m zero-padded to (4, 5)
    assert!((back[6] - Complex64::new(4.0, 0.0)).norm() < 1e-12);
    assert!(back[3].norm() < 1e-12);
    Ok(())
}

#[tokio::test]
async fn numpy_errors_are_invalid_argument() -> ndserve_client::Result<()> {
    let srv = server().await;
    let c = Client::connect(srv.url()).await?;
    let f = c.fft();
    let x = c.upload(&array![1.0, 2.0, 3.0]).await?;
    let z = c
        .upload(&array![1.0, 2.0])
        .await?
        .astype(DType::Complex128)?;
    let empty = c.upload(&ndarray::Array1::<f64>::zeros(0)).await?;
    for (what, r) in [
        ("n = 0", f.fft(&x, FftArgs::new().n(0))),
        ("no points", f.fft(&empty, FftArgs::new())),
        ("axis", f.ifft(&x, FftArgs::new().axis(1))),
        ("complex rfft", f.rfft(&z, FftArgs::new())),
        ("fft2 of 1-d", f.fft2(&x, FftnArgs::new())),
        (
            "s vs axes",
            f.fftn(&x, FftnArgs::new().s(&[2, 2]).axes(&[0])),
        ),
    ] {
        let e = r.expect_err(what);
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{what}: {e}");
        assert!(e.to_string().contains("fft."), "{what}: {e}");
    }
    Ok(())
}
