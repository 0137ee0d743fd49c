//! `linalg.*` through a real server: values against NumPy 2.4's (computed with
//! `python3 -c "import numpy as np; ..."`), reconstructions where a factor is unique only
//! up to signs (eigh, svd, qr), batching, empty stacks and NumPy's errors.

use ndarray::{ArrayD, IxDyn, array};
use ndserve_client::ops_numpy_linalg::{QrMode, RankTol};
use ndserve_client::{Array, Client, DType, ErrorCode, NormArgs, NormOrd};

use crate::server;

const A3: [f64; 9] = [4., 1., 2., 1., 5., 3., 2., 3., 6.];

fn close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{got:?} vs {want:?}"
        );
    }
}

async fn up(c: &Client, shape: &[usize], v: &[f64]) -> Array {
    let x = ArrayD::from_shape_vec(IxDyn(shape), v.to_vec()).unwrap();
    c.upload(&x).await.unwrap()
}

async fn vals(a: &Array) -> Vec<f64> {
    a.astype(DType::Float64)
        .unwrap()
        .to_vec::<f64>()
        .await
        .unwrap()
}

/// `a @ b` on the server, as f64 values.
async fn mm(a: &Array, b: &Array) -> Vec<f64> {
    vals(&a.matmul(b).unwrap()).await
}

#[tokio::test]
async fn inv_solve_det_slogdet_match_numpy() {
    let srv = server().await;
    let c = Client::connect(srv.url()).await.unwrap();
    let la = c.linalg();
    let a = up(&c, &[3, 3], &A3).await;
    // np.linalg.inv(A3)
    let inv = la.inv(&a).unwrap();
    let want = [
        0.3,
        0.0,
        -0.1,
        0.0,
        0.2857142857142857,
        -0.14285714285714282,
        -0.1,
        -0.14285714285714285,
        0.2714285714285714,
    ];
    close(&vals(&inv).await, &want, 1e-12);
    // A stack of two: A3 and 2 * A3, solved against one vector (b.ndim == 1).
    let two = up(&c, &[2, 3, 3], &[A3, A3.map(|x| 2.0 * x)].concat()).await;
    let b = c.upload(&array![1i32, 2, 3]).await.unwrap();
    let x = la.solve(&two, &b).unwrap();
    assert_eq!((x.shape(), x.dtype()), (&[2usize, 3][..], DType::Float64));
    // np.linalg.solve(A3, [1, 2, 3]) = [0, 1/7, 3/7]
    let s = [0.0, 0.14285714285714285, 0.4285714285714286];
    close(&vals(&x).await, &[s, s.map(|v| v / 2.0)].concat(), 1e-12);
    // b with its own batch axis broadcasts against a's.
    let bm = up(&c, &[2, 1, 3, 1], &[1., 2., 3., 2., 4., 6.]).await;
    assert_eq!(la.solve(&two, &bm).unwrap().shape(), &[2, 2, 3, 1]);
    // det 70 and 560; slogdet of a float32 matrix stays float32.
    close(&vals(&la.det(&two).unwrap()).await, &[70.0, 560.0], 1e-12);
    let f = c.upload(&array![[0.0f32, 1.0], [2.0, 3.0]]).await.unwrap();
    let (sign, logdet) = la.slogdet(&f).unwrap();
    assert_eq!(
        (sign.dtype(), logdet.dtype()),
        (DType::Float32, DType::Float32)
    );
    assert_eq!(sign.item::<f32>().await.unwrap(), -1.0);
    close(
        &[logdet.item::<f32>().await.unwrap() as f64],
        &[std::f64::consts::LN_2],
        1e-6,
    );
    // Empty stacks: det of 0x0 matrices is 1, inv of a (0, 2, 2) stack is empty.
    let e = c.zeros(&[2, 0, 0], DType::Float64).unwrap();
    assert_eq!(vals(&la.det(&e).unwrap()).await, vec![1.0, 1.0]);
    let e = c.zeros(&[0, 2, 2], DType::Float32).unwrap();
    assert_eq!(la.inv(&e).unwrap().to_vec::<f32>().await.unwrap(), vec![]);
}

#[tokio::test]
async fn numpys_errors_are_invalid_argument_naming_the_op() {
    let srv = server().await;
    let c = Client::connect(srv.url()).await.unwrap();
    let la = c.linalg();
    // Checked at the call: shapes and dtypes.
    let v = c.ones(&[3], DType::Float64).unwrap();
    let e = la.inv(&v).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(
        e.to_string().contains("linalg.inv")
            && e.to_string()
                .contains("1-dimensional array given. Array must be at least two-dimensional"),
        "{e}"
    );
    let r = c.ones(&[2, 3], DType::Float64).unwrap();
    let e = la.det(&r).unwrap_err();
    assert!(e.to_string().contains("must be square"), "{e}");
    let h = c.ones(&[2, 2], DType::Float16).unwrap();
    let e = la.cholesky(&h, false).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(
        e.to_string().contains("linalg.cholesky")
            && e.to_string()
                .contains("array type float16 is unsupported in linalg"),
        "{e}"
    );
    let e = la
        .solve(
            &c.eye(2, None, 0, DType::Float64).unwrap(),
            &c.ones(&[3, 2], DType::Float64).unwrap(),
        )
        .unwrap_err();
    assert!(e.to_string().contains("size 3 is different from 2"), "{e}");
    // Found by the kernel: reported at the sync, with the op.
    let sing = c.upload(&array![[1.0, 2.0], [2.0, 4.0]]).await.unwrap();
    let e = la.inv(&sing).unwrap().sync().await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(
        e.to_string().contains("linalg.inv") && e.to_string().contains("Singular matrix"),
        "{e}"
    );
    let e = la
        .solve(&sing, &c.ones(&[2], DType::Float64).unwrap())
        .unwrap()
        .sync()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("Singular matrix"), "{e}");
    let e = la.cholesky(&sing, false).unwrap().sync().await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(
        e.to_string().contains("Matrix is not positive definite"),
        "{e}"
    );
    // A singular matrix has determinant 0, and an error left the session serving.
    assert_eq!(la.det(&sing).unwrap().item::<f64>().await.unwrap(), 0.0);
}

#[tokio::test]
async fn cholesky_and_eigh_reconstruct() {
    let srv = server().await;
    let c = Client::connect(srv.url()).await.unwrap();
    let la = c.linalg();
    let a = up(&c, &[3, 3], &A3).await;
    let l = la.cholesky(&a, false).unwrap();
    // np.linalg.cholesky(A3)
    let want = [
        2.0,
        0.0,
        0.0,
        0.5,
        2.179449471770337,
        0.0,
        1.0,
        1.1470786693528088,
        1.9194297398747862,
    ];
    close(&vals(&l).await, &want, 1e-12);
    let u = la.cholesky(&a, true).unwrap();
    close(&vals(&u.transpose(None).unwrap()).await, &want, 1e-12);
    // eigh: np.linalg.eigvalsh(A3), and A V = V diag(w).
    let (w, v) = la.eigh(&a, false).unwrap();
    let wv = vals(&w).await;
    close(
        &wv,
        &[2.1943971674224088, 3.3867701566075477, 9.418832675970037],
        1e-12,
    );
    let av = mm(&a, &v).await;
    let vw = vals(&v.multiply(&w).unwrap()).await;
    close(&av, &vw, 1e-12);
    // Complex Hermitian, batched: real eigenvalues in float32 for complex64.
    let h = c
        .upload(&array![
            [
                num_complex::Complex32::new(2.0, 0.0),
                num_complex::Complex32::new(0.0, -1.0)
            ],
            [
                num_complex::Complex32::new(0.0, 1.0),
                num_complex::Complex32::new(2.0, 0.0)
            ]
        ])
        .await
        .unwrap();
    let hs = h.broadcast_to(&[3, 2, 2]).unwrap();
    let (w, v) = la.eigh(&hs, true).unwrap();
    assert_eq!((w.dtype(), v.dtype()), (DType::Float32, DType::Complex64));
    assert_eq!(w.shape(), &[3, 2]);
    close(&vals(&w).await, &[1.0, 3.0, 1.0, 3.0, 1.0, 3.0], 1e-6);
}

#[tokio::test]
async fn svd_qr_pinv_rank_reconstruct() {
    let srv = server().await;
    let c = Client::connect(srv.url()).await.unwrap();
    let la = c.linalg();
    let av = [1., 2., 3., 4., 5., 6., 7., 8., 10., -1., 0., 2.];
    let a = up(&c, &[4, 3], &av).await;
    // np.linalg.svd(a, compute_uv=False)
    let sv = [17.436984282741232, 2.202867477135057, 0.31456954972769646];
    close(
        &vals(&la.singular_values(&a, false).unwrap()).await,
        &sv,
        1e-12,
    );
    let (u, s, vh) = la.svd(&a, true, false).unwrap();
    assert_eq!(
        (u.shape(), s.shape(), vh.shape()),
        (&[4usize, 4][..], &[3usize][..], &[3usize, 3][..])
    );
    let (u, s, vh) = la.svd(&a, false, false).unwrap();
    close(&vals(&s).await, &sv, 1e-12);
    let us = u.multiply(&s).unwrap();
    close(&mm(&us, &vh).await, &av, 1e-12);
    // Hermitian SVD from eigh, of an indefinite matrix: U S Vh still gives it back.
    let m = up(&c, &[2, 2], &[1.0, 2.0, 2.0, -3.0]).await;
    let (u, s, vh) = la.svd(&m, true, true).unwrap();
    let sv2 = vals(&s).await;
    assert!(sv2[0] >= sv2[1] && sv2[1] >= 0.0, "{sv2:?}");
    close(
        &mm(&u.multiply(&s).unwrap(), &vh).await,
        &[1.0, 2.0, 2.0, -3.0],
        1e-12,
    );
    // QR, each mode.
    let (q, r) = la.qr(&a, QrMode::Reduced).unwrap();
    let r = r.unwrap();
    assert_eq!((q.shape(), r.shape()), (&[4usize, 3][..], &[3usize, 3][..]));
    close(&mm(&q, &r).await, &av, 1e-12);
    let (q, r) = la.qr(&a, QrMode::Complete).unwrap();
    let r = r.unwrap();
    assert_eq!((q.shape(), r.shape()), (&[4usize, 4][..], &[4usize, 3][..]));
    close(&mm(&q, &r).await, &av, 1e-12);
    let qtq = mm(&q.transpose(None).unwrap(), &q).await;
    close(
        &qtq,
        &[
            1., 0., 0., 0., 0., 1., 0., 0., 0., 0., 1., 0., 0., 0., 0., 1.,
        ],
        1e-12,
    );
    let (r, none) = la.qr(&a, QrMode::R).unwrap();
    assert!(none.is_none());
    assert_eq!(r.shape(), &[3, 3]);
    // pinv: A pinv(A) A = A; matrix_rank of a rank-2 stack element.
    let p = la.pinv(&a, None, false).unwrap();
    assert_eq!(p.shape(), &[3, 4]);
    close(&mm(&a.matmul(&p).unwrap(), &a).await, &av, 1e-12);
    let low = up(&c, &[2, 2, 2], &[1., 2., 2., 4., 1., 0., 0., 1.]).await;
    let rank = la.matrix_rank(&low, None, false).unwrap();
    assert_eq!(rank.dtype(), DType::Int64);
    assert_eq!(rank.to_vec::<i64>().await.unwrap(), vec![1, 2]);
    let rank = la
        .matrix_rank(&low, Some(RankTol::Absolute(1.5)), false)
        .unwrap();
    assert_eq!(rank.to_vec::<i64>().await.unwrap(), vec![1, 0]);
    // Empty matrices: NumPy's identity factors.
    let e = c.zeros(&[0, 3], DType::Float64).unwrap();
    let (u, s, vh) = la.svd(&e, true, false).unwrap();
    assert_eq!((u.shape(), s.shape()), (&[0usize, 0][..], &[0usize][..]));
    close(&vals(&vh).await, &[1., 0., 0., 0., 1., 0., 0., 0., 1.], 0.0);
}

#[tokio::test]
async fn norms_match_numpy() {
    let srv = server().await;
    let c = Client::connect(srv.url()).await.unwrap();
    let la = c.linalg();
    let x = c
        .upload(&array![[1.0f32, -2.0, 3.0], [-4.0, 5.0, -6.0]])
        .await
        .unwrap();
    let n = |args: NormArgs| {
        let x = x.clone();
        let la = c.linalg();
        async move { vals(&la.norm(&x, args).unwrap()).await }
    };
    // np.linalg.norm(x, ord) for None, 1, inf, 'nuc', 2, -2.
    close(&n(NormArgs::new()).await, &[9.539392471313477], 1e-6);
    close(&n(NormArgs::new().ord(NormOrd::P(1.0))).await, &[9.0], 1e-6);
    close(
        &n(NormArgs::new().ord(NormOrd::P(f64::INFINITY))).await,
        &[15.0],
        1e-6,
    );
    close(
        &n(NormArgs::new().ord(NormOrd::Nuc)).await,
        &[10.280901908874512],
        1e-6,
    );
    close(
        &n(NormArgs::new().ord(NormOrd::P(2.0))).await,
        &[9.508031845092773],
        1e-6,
    );
    close(
        &n(NormArgs::new().ord(NormOrd::P(-2.0))).await,
        &[0.7728696465492249],
        1e-5,
    );
    // np.linalg.norm(x, 3, axis=1), keepdims.
    let rows = NormArgs::new()
        .ord(NormOrd::P(3.0))
        .axis(&[1])
        .keepdims(true);
    let r = la.norm(&x, rows).unwrap();
    assert_eq!((r.shape(), r.dtype()), (&[2usize, 1][..], DType::Float32));
    close(
        &vals(&r).await,
        &[3.301927328109741, 7.398636817932129],
        1e-6,
    );
    // Integers become float64; complex64 gives float32; float16 stays float16.
    let i = c.upload(&array![3i8, 4]).await.unwrap();
    let r = la.norm(&i, NormArgs::new()).unwrap();
    assert_eq!(
        (r.dtype(), r.item::<f64>().await.unwrap()),
        (DType::Float64, 5.0)
    );
    let h = c.ones(&[4], DType::Float16).unwrap();
    assert_eq!(
        la.norm(&h, NormArgs::new()).unwrap().dtype(),
        DType::Float16
    );
    let e = la
        .norm(&x, NormArgs::new().ord(NormOrd::P(3.0)))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(
        e.to_string().contains("Invalid norm order for matrices."),
        "{e}"
    );
}

#[tokio::test]
async fn lstsq_reports_data_dependent_residuals() {
    let srv = server().await;
    let c = Client::connect(srv.url()).await.unwrap();
    let la = c.linalg();
    let a = up(&c, &[4, 2], &[1., 1., 1., 2., 1., 3., 1., 4.]).await;
    let b = up(&c, &[4], &[6., 5., 7., 10.]).await;
    // np.linalg.lstsq(a, b): x = [3.5, 1.4], residuals [4.2], rank 2, s.
    let (x, res, rank, s) = la.lstsq(&a, &b, None).await.unwrap();
    close(&vals(&x).await, &[3.5, 1.4], 1e-12);
    assert_eq!(res.shape(), &[1]);
    close(&vals(&res).await, &[4.2], 1e-12);
    assert_eq!(
        (rank.dtype(), rank.item::<i32>().await.unwrap()),
        (DType::Int32, 2)
    );
    close(
        &vals(&s).await,
        &[5.779378813233887, 0.773809106397227],
        1e-12,
    );
    // Rank-deficient: the residuals are empty, and the shape says so.
    let d = up(&c, &[3, 2], &[1., 0., 2., 0., 3., 0.]).await;
    let bd = up(&c, &[3, 2], &[1., 0., 2., 1., 2., 0.]).await;
    let (x, res, rank, _) = la.lstsq(&d, &bd, None).await.unwrap();
    assert_eq!((x.shape(), res.shape()), (&[2usize, 2][..], &[0usize][..]));
    assert_eq!(rank.item::<i32>().await.unwrap(), 1);
    // np.linalg.lstsq(d, bd)[0]
    close(
        &vals(&x).await,
        &[0.7857142857142857, 0.14285714285714285, 0.0, 0.0],
        1e-12,
    );
    // What follows the call knows the actual shape.
    assert_eq!(
        res.sum(None, false).unwrap().item::<f64>().await.unwrap(),
        0.0
    );
    let e = la.lstsq(&a, &d, None).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(
        e.to_string().contains("linalg.lstsq") && e.to_string().contains("Incompatible dimensions"),
        "{e}"
    );
}
