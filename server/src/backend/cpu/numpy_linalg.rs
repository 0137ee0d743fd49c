//! `numpy.linalg` on faer: `linalg.inv`, `solve`, `det`, `slogdet`, `norm`, `qr`,
//! `cholesky`, `eigh`, `svd`, `lstsq`, `pinv` and `matrix_rank`.
//!
//! As NumPy does, every decomposition runs in float64 or complex128 (inputs are cast first)
//! and the results are cast to the result dtypes the contract's planners give
//! ([`ndserve_proto::ops::numpy_linalg`]). Stacks of matrices run one matrix at a time; faer
//! parallelises within a matrix. faer asserts shapes, so empty matrices never reach it.
//!
//! Eigenvectors, singular vectors and QR factors are unique only up to the sign (phase) of
//! each vector: they are faer's, which may differ from LAPACK's by those signs. Their
//! products (`U S Vh`, `Q R`, `V diag(w) V^H`) are what the tests compare.

use faer::linalg::solvers::{DenseSolveCore, Solve};
use faer::{Mat, MatRef, Side};
use ndarray::{ArcArray, IxDyn};
use ndserve_proto::ops::Meta;
use ndserve_proto::ops::numpy_linalg::{
    LstsqPlan, NormKind, NormOrd, QrMode, RankTol, lstsq_plan, norm_plan, pinv_plan, qr_plan,
    rank_plan, solve_plan, square_plan, svd_plan,
};
use ndserve_proto::{DType, Error, Result};
use num_complex::Complex64;

use super::array::{Element, HostArray};
use super::cast::cast;
use super::kernels::KernelCall;
use super::linalg::batch_offsets;

/// The kernels of this family.
pub fn kernels() -> Vec<(&'static str, super::KernelFn)> {
    vec![
        ("linalg.inv", inv as super::KernelFn),
        ("linalg.solve", solve),
        ("linalg.det", det),
        ("linalg.slogdet", slogdet),
        ("linalg.norm", norm),
        ("linalg.qr", qr),
        ("linalg.cholesky", cholesky),
        ("linalg.eigh", eigh),
        ("linalg.svd", svd),
        ("linalg.lstsq", lstsq),
        ("linalg.pinv", pinv),
        ("linalg.matrix_rank", matrix_rank),
    ]
}

/// The element types the decompositions run in: float64 and complex128.
trait La:
    faer::traits::ComplexField<Real = f64>
    + Element
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::AddAssign
    + std::ops::MulAssign
{
    fn re(x: f64) -> Self;
    fn real(self) -> f64;
    fn modulus(self) -> f64;
    fn cj(self) -> Self;
}

impl La for f64 {
    fn re(x: f64) -> Self {
        x
    }
    fn real(self) -> f64 {
        self
    }
    fn modulus(self) -> f64 {
        self.abs()
    }
    fn cj(self) -> Self {
        self
    }
}

impl La for Complex64 {
    fn re(x: f64) -> Self {
        Complex64::new(x, 0.0)
    }
    fn real(self) -> f64 {
        self.re
    }
    fn modulus(self) -> f64 {
        self.norm()
    }
    fn cj(self) -> Self {
        self.conj()
    }
}

/// Runs `$f::<T>(args)` with `T` the compute type of the result dtype `$dt`.
macro_rules! dispatch {
    ($dt:expr, $f:ident($($arg:expr),*)) => {
        if $dt.is_complex() {
            $f::<Complex64>($($arg),*)
        } else {
            $f::<f64>($($arg),*)
        }
    };
}

/// Input `i` cast to `T`, as C-order elements.
fn input<T: La>(call: &KernelCall<'_>, i: usize) -> Vec<T> {
    let a = call.inputs[i].to_array(T::DTYPE);
    let x = a.typed::<T>().expect("cast");
    match x.as_slice() {
        Some(s) => s.to_vec(),
        None => x.iter().copied().collect(),
    }
}

/// C-order elements of `T` as an array of `meta` (cast to its dtype).
fn output<T: Element>(op: &str, v: Vec<T>, meta: &Meta) -> Result<HostArray> {
    let a = ArcArray::from_shape_vec(IxDyn(&meta.shape), v)
        .map_err(|e| Error::internal(op, e.to_string()))?;
    Ok(cast(&T::wrap(a), meta.dtype))
}

/// Appends `m` row by row.
fn push<T: La>(out: &mut Vec<T>, m: MatRef<'_, T>) {
    for i in 0..m.nrows() {
        for j in 0..m.ncols() {
            out.push(m[(i, j)]);
        }
    }
}

fn mat<T: La>(d: &[T], t: usize, m: usize, n: usize) -> MatRef<'_, T> {
    MatRef::from_row_major_slice(&d[t * m * n..(t + 1) * m * n], m, n)
}

fn singular(op: &str) -> Error {
    Error::invalid(op, "a", "Singular matrix")
}

fn svd_failed(op: &str) -> Error {
    Error::invalid(op, "a", "SVD did not converge")
}

fn evd_failed(op: &str) -> Error {
    Error::invalid(op, "a", "Eigenvalues did not converge")
}

/// The LU factors of a square matrix, `None` when a pivot is exactly zero (LAPACK's
/// `getrf` reports the matrix singular then).
fn lu<T: La>(a: MatRef<'_, T>) -> (faer::linalg::solvers::PartialPivLu<T>, bool) {
    let f = a.partial_piv_lu();
    let zero = (0..a.nrows()).any(|i| f.U()[(i, i)] == T::re(0.0));
    (f, zero)
}

/// The sign of a permutation given as its forward array: `-1` for an odd one.
fn perm_sign(fwd: &[usize]) -> f64 {
    let mut seen = vec![false; fwd.len()];
    let mut odd = false;
    for s in 0..fwd.len() {
        let mut i = s;
        let mut len = 0;
        while !seen[i] {
            seen[i] = true;
            i = fwd[i];
            len += 1;
        }
        if len > 0 && len % 2 == 0 {
            odd = !odd;
        }
    }
    if odd { -1.0 } else { 1.0 }
}

fn inv(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let p = square_plan(&call.call(), "a")?;
    dispatch!(p.dtype, inv_t(call, p.count(), p.n))
}

fn inv_t<T: La>(call: &KernelCall<'_>, count: usize, n: usize) -> Result<Vec<HostArray>> {
    let a = input::<T>(call, 0);
    let mut out = Vec::with_capacity(a.len());
    if n > 0 {
        for t in 0..count {
            let (f, zero) = lu(mat(&a, t, n, n));
            if zero {
                return Err(singular(call.op));
            }
            push(&mut out, f.inverse().as_ref());
        }
    }
    Ok(vec![output(call.op, out, &call.outs[0])?])
}

fn solve(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let p = solve_plan(&call.call())?;
    dispatch!(p.out.dtype, solve_t(call, &p))
}

fn solve_t<T: La>(
    call: &KernelCall<'_>,
    p: &ndserve_proto::ops::numpy_linalg::SolvePlan,
) -> Result<Vec<HostArray>> {
    let (n, k) = (p.n, p.k);
    let a = input::<T>(call, 0);
    let b = input::<T>(call, 1);
    let ashape = call.metas[0].shape().to_vec();
    let bshape = call.metas[1].shape().to_vec();
    let oa = batch_offsets(&ashape[..ashape.len() - 2], &p.batch);
    let ob = if p.vector {
        vec![0; oa.len()]
    } else {
        batch_offsets(&bshape[..bshape.len() - 2], &p.batch)
    };
    let mut out = Vec::with_capacity(p.out.numel());
    if n > 0 {
        for (&ta, &tb) in oa.iter().zip(&ob) {
            let (f, zero) = lu(mat(&a, ta, n, n));
            if zero {
                return Err(singular(call.op));
            }
            let mut rhs = mat(&b, tb, n, k).to_owned();
            if k > 0 {
                f.solve_in_place(rhs.as_mut());
            }
            push(&mut out, rhs.as_ref());
        }
    }
    Ok(vec![output(call.op, out, &p.out)?])
}

/// `(sign, log|det|, det)` of a square matrix from its LU factors.
fn lu_det<T: La>(a: MatRef<'_, T>) -> (T, f64, T) {
    let n = a.nrows();
    if n == 0 {
        return (T::re(1.0), 0.0, T::re(1.0));
    }
    let (f, zero) = lu(a);
    if zero {
        return (T::re(0.0), f64::NEG_INFINITY, T::re(0.0));
    }
    let s = perm_sign(f.P().arrays().0);
    let (mut sign, mut log, mut det) = (T::re(s), 0.0, T::re(s));
    for i in 0..n {
        let u = f.U()[(i, i)];
        let m = u.modulus();
        sign *= u / T::re(m);
        log += m.ln();
        det *= u;
    }
    (sign, log, det)
}

fn det(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let p = square_plan(&call.call(), "a")?;
    dispatch!(p.dtype, det_t(call, p.count(), p.n, false))
}

fn slogdet(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let p = square_plan(&call.call(), "a")?;
    dispatch!(p.dtype, det_t(call, p.count(), p.n, true))
}

fn det_t<T: La>(
    call: &KernelCall<'_>,
    count: usize,
    n: usize,
    log: bool,
) -> Result<Vec<HostArray>> {
    let a = input::<T>(call, 0);
    let (mut signs, mut logs, mut dets) = (vec![], vec![], vec![]);
    for t in 0..count {
        let (s, l, d) = lu_det(mat(&a, t, n, n));
        signs.push(s);
        logs.push(l);
        dets.push(d);
    }
    if log {
        Ok(vec![
            output(call.op, signs, &call.outs[0])?,
            output(call.op, logs, &call.outs[1])?,
        ])
    } else {
        Ok(vec![output(call.op, dets, &call.outs[0])?])
    }
}

fn cholesky(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let c = call.call();
    let upper = ndserve_proto::ops::numpy_linalg::cholesky_upper(&c)?;
    let p = square_plan(&c, "a")?;
    dispatch!(p.dtype, cholesky_t(call, p.count(), p.n, upper))
}

fn cholesky_t<T: La>(
    call: &KernelCall<'_>,
    count: usize,
    n: usize,
    upper: bool,
) -> Result<Vec<HostArray>> {
    let a = input::<T>(call, 0);
    let mut out = Vec::with_capacity(a.len());
    if n > 0 {
        for t in 0..count {
            let side = if upper { Side::Upper } else { Side::Lower };
            let f = mat(&a, t, n, n)
                .llt(side)
                .map_err(|_| Error::invalid(call.op, "a", "Matrix is not positive definite"))?;
            if upper {
                push(&mut out, f.L().adjoint().to_owned().as_ref());
            } else {
                push(&mut out, f.L());
            }
        }
    }
    Ok(vec![output(call.op, out, &call.outs[0])?])
}

/// Eigenvalues (ascending) and eigenvectors of the Hermitian matrix whose lower (or upper)
/// triangle `a` holds.
fn eigh_one<T: La>(op: &str, a: MatRef<'_, T>, lower: bool) -> Result<(Vec<f64>, Mat<T>)> {
    let n = a.nrows();
    if n == 0 {
        return Ok((vec![], Mat::zeros(0, 0)));
    }
    let side = if lower { Side::Lower } else { Side::Upper };
    let e = a.self_adjoint_eigen(side).map_err(|_| evd_failed(op))?;
    let w = (0..n).map(|i| e.S().column_vector()[i].real()).collect();
    Ok((w, e.U().to_owned()))
}

fn eigh(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let c = call.call();
    let lower = ndserve_proto::ops::numpy_linalg::eigh_lower(&c)?;
    let p = square_plan(&c, "a")?;
    dispatch!(p.dtype, eigh_t(call, p.count(), p.n, lower))
}

fn eigh_t<T: La>(
    call: &KernelCall<'_>,
    count: usize,
    n: usize,
    lower: bool,
) -> Result<Vec<HostArray>> {
    let a = input::<T>(call, 0);
    let (mut ws, mut vs) = (Vec::with_capacity(count * n), Vec::with_capacity(a.len()));
    for t in 0..count {
        let (w, v) = eigh_one(call.op, mat(&a, t, n, n), lower)?;
        ws.extend(w);
        push(&mut vs, v.as_ref());
    }
    Ok(vec![
        output(call.op, ws, &call.outs[0])?,
        output(call.op, vs, &call.outs[1])?,
    ])
}

/// A singular value decomposition: `u` (m x m or m x k), `s` descending, `vh`.
struct Usv<T> {
    u: Mat<T>,
    s: Vec<f64>,
    vh: Mat<T>,
}

/// The SVD of `a`, full or thin; for an empty matrix, identity factors as LAPACK gives.
fn svd_one<T: La>(op: &str, a: MatRef<'_, T>, full: bool) -> Result<Usv<T>> {
    let (m, n) = (a.nrows(), a.ncols());
    let k = m.min(n);
    if k == 0 {
        let (uc, vr) = if full { (m, n) } else { (k, k) };
        return Ok(Usv {
            u: Mat::identity(m, uc),
            s: vec![],
            vh: Mat::identity(vr, n),
        });
    }
    let d = if full { a.svd() } else { a.thin_svd() }.map_err(|_| svd_failed(op))?;
    let s = (0..k).map(|i| d.S().column_vector()[i].real()).collect();
    Ok(Usv {
        u: d.U().to_owned(),
        s,
        vh: d.V().adjoint().to_owned(),
    })
}

/// NumPy's `svd(a, hermitian=True)`: from `eigh` (lower triangle), the eigenvalues' moduli
/// in descending order, their signs moved into `vh`.
fn svd_herm<T: La>(op: &str, a: MatRef<'_, T>) -> Result<Usv<T>> {
    let n = a.nrows();
    let (w, v) = eigh_one(op, a, true)?;
    let mut idx: Vec<usize> = (0..n).collect();
    // NumPy: argsort(|w|)[::-1].
    idx.sort_by(|&i, &j| w[i].abs().total_cmp(&w[j].abs()));
    idx.reverse();
    let u = Mat::from_fn(n, n, |r, c| v[(r, idx[c])]);
    let vh = Mat::from_fn(n, n, |r, c| {
        T::re(1f64.copysign(w[idx[r]])) * v[(c, idx[r])].cj()
    });
    Ok(Usv {
        u,
        s: idx.iter().map(|&i| w[i].abs()).collect(),
        vh,
    })
}

/// The singular values of `a` (descending): the moduli of its eigenvalues if Hermitian.
fn singular_values<T: La>(op: &str, a: MatRef<'_, T>, hermitian: bool) -> Result<Vec<f64>> {
    if a.nrows().min(a.ncols()) == 0 {
        return Ok(vec![]);
    }
    if hermitian {
        let (w, _) = eigh_one(op, a, true)?;
        let mut s: Vec<f64> = w.iter().map(|x| x.abs()).collect();
        s.sort_by(|x, y| y.total_cmp(x));
        return Ok(s);
    }
    let s = a.singular_values().map_err(|_| svd_failed(op))?;
    Ok(s)
}

fn svd(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let p = svd_plan(&call.call())?;
    dispatch!(p.mat.dtype, svd_t(call, &p))
}

fn svd_t<T: La>(
    call: &KernelCall<'_>,
    p: &ndserve_proto::ops::numpy_linalg::SvdPlan,
) -> Result<Vec<HostArray>> {
    let (m, n) = (p.mat.m, p.mat.n);
    let a = input::<T>(call, 0);
    let (mut us, mut ss, mut vs) = (vec![], vec![], vec![]);
    for t in 0..p.mat.count() {
        let x = mat(&a, t, m, n);
        if !p.uv {
            ss.extend(singular_values(call.op, x, p.hermitian)?);
            continue;
        }
        let d = if p.hermitian && m > 0 {
            svd_herm(call.op, x)?
        } else {
            svd_one(call.op, x, p.full)?
        };
        push(&mut us, d.u.as_ref());
        ss.extend(d.s);
        push(&mut vs, d.vh.as_ref());
    }
    if !p.uv {
        return Ok(vec![output(call.op, ss, &p.outs[0])?]);
    }
    Ok(vec![
        output(call.op, us, &p.outs[0])?,
        output(call.op, ss, &p.outs[1])?,
        output(call.op, vs, &p.outs[2])?,
    ])
}

fn qr(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let p = qr_plan(&call.call())?;
    dispatch!(p.mat.dtype, qr_t(call, &p))
}

fn qr_t<T: La>(
    call: &KernelCall<'_>,
    p: &ndserve_proto::ops::numpy_linalg::QrPlan,
) -> Result<Vec<HostArray>> {
    let (m, n) = (p.mat.m, p.mat.n);
    let k = m.min(n);
    let complete = p.mode == QrMode::Complete;
    let (qc, rr) = if complete { (m, m) } else { (k, k) };
    let a = input::<T>(call, 0);
    let (mut qs, mut rs) = (vec![], vec![]);
    for t in 0..p.mat.count() {
        let x = mat(&a, t, m, n);
        if k == 0 {
            push(&mut qs, Mat::<T>::identity(m, qc).as_ref());
            push(&mut rs, Mat::<T>::zeros(rr, n).as_ref());
            continue;
        }
        let f = x.qr();
        let r = f.thin_R();
        let full_r = Mat::from_fn(rr, n, |i, j| {
            if i < k && j >= i {
                r[(i, j)]
            } else {
                T::re(0.0)
            }
        });
        push(&mut rs, full_r.as_ref());
        if p.mode != QrMode::R {
            let q = if complete {
                f.compute_Q()
            } else {
                f.compute_thin_Q()
            };
            push(&mut qs, q.as_ref());
        }
    }
    if p.mode == QrMode::R {
        return Ok(vec![output(call.op, rs, &p.outs[0])?]);
    }
    Ok(vec![
        output(call.op, qs, &p.outs[0])?,
        output(call.op, rs, &p.outs[1])?,
    ])
}

/// `V diag(1/s) U^H` over the singular values above `cutoff` (NumPy's `pinv` and
/// `lstsq`), applied to the `m x k` right-hand side `b` (the identity for `pinv`).
fn pinv_apply<T: La>(d: &Usv<T>, cutoff: f64, b: MatRef<'_, T>) -> Mat<T> {
    let r = d.s.iter().filter(|&&s| s > cutoff).count();
    let n = d.vh.ncols();
    let kb = b.ncols();
    // c = diag(1/s) U^H b over the kept values.
    let c = Mat::from_fn(r, kb, |i, j| {
        let mut acc = T::re(0.0);
        for p in 0..b.nrows() {
            acc += d.u[(p, i)].cj() * b[(p, j)];
        }
        acc / T::re(d.s[i])
    });
    Mat::from_fn(n, kb, |i, j| {
        let mut acc = T::re(0.0);
        for p in 0..r {
            acc += d.vh[(p, i)].cj() * c[(p, j)];
        }
        acc
    })
}

fn pinv(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let p = pinv_plan(&call.call())?;
    dispatch!(p.mat.dtype, pinv_t(call, &p))
}

fn pinv_t<T: La>(
    call: &KernelCall<'_>,
    p: &ndserve_proto::ops::numpy_linalg::PinvPlan,
) -> Result<Vec<HostArray>> {
    let (m, n) = (p.mat.m, p.mat.n);
    let a = input::<T>(call, 0);
    let mut out = Vec::with_capacity(a.len());
    if m > 0 && n > 0 {
        let eye = Mat::<T>::identity(m, m);
        for t in 0..p.mat.count() {
            let x = mat(&a, t, m, n);
            let d = if p.hermitian {
                svd_herm(call.op, x)?
            } else {
                svd_one(call.op, x, false)?
            };
            let smax = d.s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let cutoff = p.rcond * smax;
            push(&mut out, pinv_apply(&d, cutoff, eye.as_ref()).as_ref());
        }
    }
    Ok(vec![output(call.op, out, &call.outs[0])?])
}

fn matrix_rank(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let p = rank_plan(&call.call())?;
    let Some(mat) = &p.mat else {
        // NumPy: int(not all(A == 0)).
        let b = cast(&call.inputs[0].as_array(), DType::Bool);
        let any = b.typed::<bool>().expect("cast").iter().any(|&x| x);
        return Ok(vec![HostArray::scalar(i64::from(any))]);
    };
    dispatch!(mat.dtype, rank_t(call, &p))
}

fn rank_t<T: La>(
    call: &KernelCall<'_>,
    p: &ndserve_proto::ops::numpy_linalg::RankPlan,
) -> Result<Vec<HostArray>> {
    let mp = p.mat.as_ref().expect("a matrix");
    let (m, n) = (mp.m, mp.n);
    let a = input::<T>(call, 0);
    let mut out = Vec::with_capacity(mp.count());
    for t in 0..mp.count() {
        let s = singular_values(call.op, mat(&a, t, m, n), p.hermitian)?;
        let tol = match p.tol {
            RankTol::Absolute(t) => t,
            RankTol::Relative(r) => s.iter().copied().fold(0.0, f64::max) * r,
        };
        out.push(s.iter().filter(|&&x| x > tol).count() as i64);
    }
    Ok(vec![output(call.op, out, &p.out)?])
}

fn lstsq(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let p = lstsq_plan(&call.call())?;
    dispatch!(p.dtype, lstsq_t(call, &p))
}

fn lstsq_t<T: La>(call: &KernelCall<'_>, p: &LstsqPlan) -> Result<Vec<HostArray>> {
    let (m, n, k) = (p.m, p.n, p.k);
    let a = input::<T>(call, 0);
    let b = input::<T>(call, 1);
    let am = mat(&a, 0, m, n);
    let bm = mat(&b, 0, m, k);
    let (x, s, rank) = if m == 0 || n == 0 {
        (Mat::<T>::zeros(n, k), vec![], 0)
    } else {
        let d = svd_one(call.op, am, false)?;
        let smax = d.s.first().copied().unwrap_or(0.0);
        let cutoff = p.rcond * smax;
        let rank = d.s.iter().filter(|&&s| s > cutoff).count();
        (pinv_apply(&d, cutoff, bm), d.s, rank)
    };
    let mut xs = Vec::with_capacity(n * k);
    push(&mut xs, x.as_ref());
    // Residuals: the squared 2-norm of each column of b - a x, when the rank is full and
    // the system overdetermined; empty otherwise.
    let resid: Vec<f64> = if rank == n && m > n && k > 0 {
        (0..k)
            .map(|j| {
                (0..m)
                    .map(|i| {
                        let mut ax = T::re(0.0);
                        for q in 0..n {
                            ax += am[(i, q)] * x[(q, j)];
                        }
                        (bm[(i, j)] - ax).modulus().powi(2)
                    })
                    .sum()
            })
            .collect()
    } else {
        vec![]
    };
    let rmeta = Meta::new(p.outs[1].dtype, vec![resid.len()]);
    Ok(vec![
        output(call.op, xs, &p.outs[0])?,
        output(call.op, resid, &rmeta)?,
        HostArray::scalar(rank as i32),
        output(call.op, s, &p.outs[3])?,
    ])
}

fn norm(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let p = norm_plan(&call.call())?;
    dispatch!(p.dtype, norm_t(call, &p))
}

/// NaN-propagating max and min, as NumPy's `max`/`min`.
fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

fn nan_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// Rounds a partial result to the dtype NumPy computes a norm in, so that a sum of squares
/// that overflows float16 (or float32) is infinite here too.
fn rounder(dtype: DType) -> fn(f64) -> f64 {
    match dtype {
        DType::Float16 => |v| half::f16::from_f64(v).to_f64(),
        DType::Float32 => |v| v as f32 as f64,
        _ => |v| v,
    }
}

fn vector_norm(x: impl Iterator<Item = f64>, ord: NormOrd, round: fn(f64) -> f64) -> f64 {
    match ord {
        NormOrd::Default | NormOrd::Fro | NormOrd::Nuc => {
            round(x.map(|v| v * v).sum::<f64>()).sqrt()
        }
        NormOrd::P(2.0) => round(x.map(|v| v * v).sum::<f64>()).sqrt(),
        NormOrd::P(p) if p == f64::INFINITY => x.fold(0.0, nan_max),
        NormOrd::P(p) if p == f64::NEG_INFINITY => x.fold(f64::INFINITY, nan_min),
        NormOrd::P(0.0) => x.filter(|&v| v != 0.0).count() as f64,
        NormOrd::P(1.0) => x.sum(),
        NormOrd::P(p) => round(x.map(|v| round(v.powf(p))).sum::<f64>()).powf(1.0 / p),
    }
}

fn matrix_norm<T: La>(
    op: &str,
    a: MatRef<'_, T>,
    ord: NormOrd,
    round: fn(f64) -> f64,
) -> Result<f64> {
    let (r, c) = (a.nrows(), a.ncols());
    let col_sums = || (0..c).map(move |j| (0..r).map(|i| a[(i, j)].modulus()).sum::<f64>());
    let row_sums = || (0..r).map(move |i| (0..c).map(|j| a[(i, j)].modulus()).sum::<f64>());
    Ok(match ord {
        NormOrd::Default | NormOrd::Fro => round(
            (0..r)
                .flat_map(|i| (0..c).map(move |j| round(a[(i, j)].modulus().powi(2))))
                .sum::<f64>(),
        )
        .sqrt(),
        NormOrd::Nuc => singular_values(op, a, false)?.iter().sum(),
        NormOrd::P(2.0) => singular_values(op, a, false)?
            .into_iter()
            .fold(0.0, nan_max),
        NormOrd::P(-2.0) => singular_values(op, a, false)?
            .into_iter()
            .fold(f64::INFINITY, nan_min),
        NormOrd::P(1.0) => col_sums().fold(0.0, nan_max),
        NormOrd::P(-1.0) => col_sums().fold(f64::INFINITY, nan_min),
        NormOrd::P(p) if p == f64::INFINITY => row_sums().fold(0.0, nan_max),
        NormOrd::P(_) => row_sums().fold(f64::INFINITY, nan_min),
    })
}

fn norm_t<T: La>(
    call: &KernelCall<'_>,
    p: &ndserve_proto::ops::numpy_linalg::NormPlan,
) -> Result<Vec<HostArray>> {
    let x = call.inputs[0].to_array(T::DTYPE);
    let x = x.typed::<T>().expect("cast");
    let round = rounder(p.out.dtype);
    if p.flatten {
        let v = vector_norm(x.iter().map(|v| v.modulus()), NormOrd::Default, round);
        return Ok(vec![output(call.op, vec![v], &p.out)?]);
    }
    // The kept axes first, then the reduced ones in order.
    let nd = x.ndim();
    let mut perm: Vec<usize> = (0..nd).filter(|i| !p.axes.contains(i)).collect();
    perm.extend_from_slice(&p.axes);
    let moved = x.view().permuted_axes(IxDyn(&perm));
    let inner: usize = p.axes.iter().map(|&i| x.shape()[i]).product();
    let outer = p.out.numel();
    let data: Vec<T> = moved.iter().copied().collect();
    let mut out = Vec::with_capacity(outer);
    for t in 0..outer {
        let chunk = &data[t * inner..(t + 1) * inner];
        out.push(match p.kind {
            NormKind::Vector(ord) => vector_norm(chunk.iter().map(|v| v.modulus()), ord, round),
            NormKind::Matrix(ord) => {
                let (r, c) = (x.shape()[p.axes[0]], x.shape()[p.axes[1]]);
                matrix_norm(
                    call.op,
                    MatRef::from_row_major_slice(chunk, r, c),
                    ord,
                    round,
                )?
            }
        });
    }
    Ok(vec![output(call.op, out, &p.out)?])
}

#[cfg(test)]
mod tests {
    use ndserve_proto::{Attr, Attrs, DType};

    use super::super::testing::{arr, run_op, run1, vals};

    fn close(got: &[f64], want: &[f64], tol: f64) {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g - w).abs() <= tol * (1.0 + w.abs()) || (g.is_nan() && w.is_nan()),
                "{got:?} vs {want:?}"
            );
        }
    }

    /// Row-major `m x k` times `k x n`, in f64.
    fn mm(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        out
    }

    const A3: [f64; 9] = [4., 1., 2., 1., 5., 3., 2., 3., 6.];

    #[test]
    fn inv_solve_det_match_numpy() {
        let a = arr(DType::Float64, &[3, 3], A3);
        // np.linalg.inv(A3)
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
        let r = run1("linalg.inv", std::slice::from_ref(&a), Attrs::new()).unwrap();
        assert_eq!(r.dtype(), DType::Float64);
        close(&vals(&r), &want, 1e-12);
        let b = arr(DType::Int32, &[3], [1., 2., 3.]);
        let x = run1("linalg.solve", &[a.clone(), b], Attrs::new()).unwrap();
        // np.linalg.solve(A3, [1, 2, 3])
        close(
            &vals(&x),
            &[0.0, 0.14285714285714285, 0.4285714285714286],
            1e-12,
        );
        let d = run1("linalg.det", std::slice::from_ref(&a), Attrs::new()).unwrap();
        close(&vals(&d), &[70.0], 1e-12);
        let s = run_op(
            "linalg.slogdet",
            &[arr(DType::Float32, &[2, 2], [0., 1., 2., 3.])],
            Attrs::new(),
        )
        .unwrap();
        assert_eq!(s[0].dtype(), DType::Float32);
        close(&vals(&s[0]), &[-1.0], 0.0);
        close(&vals(&s[1]), &[2f64.ln()], 1e-6);
        // A stack with a 0x0 batch: det 1.
        let e = run1(
            "linalg.det",
            &[arr(DType::Float64, &[2, 0, 0], [0.0; 0])],
            Attrs::new(),
        )
        .unwrap();
        assert_eq!(vals(&e), vec![1.0, 1.0]);
    }

    #[test]
    fn singular_and_non_positive_definite_are_errors() {
        let s = arr(DType::Float64, &[2, 2], [1., 2., 2., 4.]);
        let e = run1("linalg.inv", std::slice::from_ref(&s), Attrs::new()).unwrap_err();
        assert!(e.to_string().contains("Singular matrix"), "{e}");
        assert_eq!(
            vals(&run1("linalg.det", std::slice::from_ref(&s), Attrs::new()).unwrap()),
            vec![0.0]
        );
        let z = arr(DType::Float64, &[2, 2], [0., 1., 0., 1.]);
        assert_eq!(
            vals(&run1("linalg.det", &[z], Attrs::new()).unwrap()),
            vec![0.0]
        );
        let e = run1("linalg.cholesky", &[s], Attrs::new()).unwrap_err();
        assert!(
            e.to_string().contains("Matrix is not positive definite"),
            "{e}"
        );
        let e = run1(
            "linalg.inv",
            &[arr(DType::Float16, &[2, 2], [1., 0., 0., 1.])],
            Attrs::new(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("float16 is unsupported"), "{e}");
    }

    #[test]
    fn cholesky_and_eigh_reconstruct() {
        let a = arr(DType::Float64, &[3, 3], A3);
        let l = vals(&run1("linalg.cholesky", std::slice::from_ref(&a), Attrs::new()).unwrap());
        // np.linalg.cholesky(A3)[1:, 0] and the zero upper triangle.
        close(
            &l,
            &[
                2.0,
                0.0,
                0.0,
                0.5,
                2.1794494717703365,
                0.0,
                1.0,
                1.1470786693528088,
                1.9194297398747862,
            ],
            1e-12,
        );
        let up = Attrs::new().with("upper", Attr::Bool(true));
        let u = vals(&run1("linalg.cholesky", std::slice::from_ref(&a), up).unwrap());
        let lt: Vec<f64> = (0..9).map(|i| l[(i % 3) * 3 + i / 3]).collect();
        close(&u, &lt, 1e-12);
        let o = run_op("linalg.eigh", std::slice::from_ref(&a), Attrs::new()).unwrap();
        let (w, v) = (vals(&o[0]), vals(&o[1]));
        // np.linalg.eigvalsh(A3)
        close(
            &w,
            &[2.1943971674224088, 3.3867701566075477, 9.418832675970037],
            1e-12,
        );
        // A v = v diag(w)
        let av = mm(&A3, &v, 3, 3, 3);
        let vw: Vec<f64> = (0..9).map(|i| v[i] * w[i % 3]).collect();
        close(&av, &vw, 1e-12);
        // Only the lower triangle is read (the upper one with UPLO='U').
        let mut junk = A3;
        junk[1] = 100.0;
        let o2 = run_op(
            "linalg.eigh",
            &[arr(DType::Float64, &[3, 3], junk)],
            Attrs::new(),
        )
        .unwrap();
        close(&vals(&o2[0]), &w, 1e-12);
        let mut junk = A3;
        junk[3] = 100.0;
        let upper = Attrs::new().with("UPLO", Attr::Str("u".into()));
        let o3 = run_op("linalg.eigh", &[arr(DType::Float64, &[3, 3], junk)], upper).unwrap();
        close(&vals(&o3[0]), &w, 1e-12);
    }

    #[test]
    fn svd_qr_pinv_reconstruct() {
        let a: Vec<f64> = vec![1., 2., 3., 4., 5., 6., 7., 8., 10., -1., 0., 2.];
        let x = arr(DType::Float64, &[4, 3], a.clone());
        let o = run_op("linalg.svd", std::slice::from_ref(&x), Attrs::new()).unwrap();
        assert_eq!(o[0].shape(), &[4, 4]);
        assert_eq!(o[2].shape(), &[3, 3]);
        let s = vals(&o[1]);
        // np.linalg.svd(a, compute_uv=False)
        close(
            &s,
            &[17.436984282741232, 2.202867477135057, 0.31456954972769646],
            1e-12,
        );
        let thin = Attrs::new().with("full_matrices", Attr::Bool(false));
        let o = run_op("linalg.svd", std::slice::from_ref(&x), thin).unwrap();
        let (u, vh) = (vals(&o[0]), vals(&o[2]));
        let us: Vec<f64> = (0..12).map(|i| u[i] * s[i % 3]).collect();
        close(&mm(&us, &vh, 4, 3, 3), &a, 1e-12);
        let o = run_op("linalg.qr", std::slice::from_ref(&x), Attrs::new()).unwrap();
        assert_eq!(
            (o[0].shape(), o[1].shape()),
            (&[4usize, 3][..], &[3usize, 3][..])
        );
        let (q, r) = (vals(&o[0]), vals(&o[1]));
        close(&mm(&q, &r, 4, 3, 3), &a, 1e-12);
        assert_eq!(r[3], 0.0);
        let p = vals(&run1("linalg.pinv", std::slice::from_ref(&x), Attrs::new()).unwrap());
        // a @ pinv(a) @ a == a
        let apa = mm(&mm(&a, &p, 4, 3, 4), &a, 4, 4, 3);
        close(&apa, &a, 1e-12);
        let rank = run1("linalg.matrix_rank", &[x], Attrs::new()).unwrap();
        assert_eq!(rank.dtype(), DType::Int64);
        assert_eq!(vals(&rank), vec![3.0]);
    }

    #[test]
    fn lstsq_matches_numpy() {
        let a = arr(DType::Float64, &[4, 2], [1., 1., 1., 2., 1., 3., 1., 4.]);
        let b = arr(DType::Float64, &[4], [6., 5., 7., 10.]);
        let o = run_op("linalg.lstsq", &[a, b], Attrs::new()).unwrap();
        // np.linalg.lstsq: x = [3.5, 1.4], residuals [4.2], rank 2
        close(&vals(&o[0]), &[3.5, 1.4], 1e-12);
        close(&vals(&o[1]), &[4.2], 1e-12);
        assert_eq!(o[2].dtype(), DType::Int32);
        assert_eq!(vals(&o[2]), vec![2.0]);
        // Rank-deficient: no residuals.
        let a = arr(DType::Float64, &[3, 2], [1., 1., 1., 1., 1., 1.]);
        let b = arr(DType::Float64, &[3], [1., 2., 3.]);
        let o = run_op("linalg.lstsq", &[a, b], Attrs::new()).unwrap();
        assert_eq!(o[1].shape(), &[0]);
        assert_eq!(vals(&o[2]), vec![1.0]);
        close(&vals(&o[0]), &[1.0, 1.0], 1e-12);
    }

    #[test]
    fn norms_match_numpy() {
        let x = arr(DType::Float32, &[2, 3], [1., -2., 3., -4., 5., -6.]);
        let n = |attrs: Attrs| vals(&run1("linalg.norm", std::slice::from_ref(&x), attrs).unwrap());
        close(&n(Attrs::new()), &[9.539392014169456], 1e-6);
        let ord = |o: Attr| Attrs::new().with("ord", o);
        close(&n(ord(Attr::Int(1))), &[9.0], 1e-6);
        close(&n(ord(Attr::Float(f64::INFINITY))), &[15.0], 1e-6);
        close(
            &n(ord(Attr::Str("nuc".into()))),
            &[10.280901636369206],
            1e-6,
        );
        close(&n(ord(Attr::Int(2))), &[9.508032000695723], 1e-6);
        close(&n(ord(Attr::Int(-2))), &[0.7728696356734838], 1e-5);
        let ax = Attrs::new()
            .with("axis", Attr::Int(1))
            .with("ord", Attr::Float(3.0));
        close(&n(ax), &[3.301927328109741, 7.398636817932129], 1e-6);
        let ax0 = Attrs::new()
            .with("axis", Attr::Int(0))
            .with("ord", Attr::Int(0));
        assert_eq!(n(ax0), vec![2.0, 2.0, 2.0]);
        let h = arr(DType::Float16, &[3], [3., 4., 0.]);
        let r = run1("linalg.norm", &[h], Attrs::new()).unwrap();
        assert_eq!(r.dtype(), DType::Float16);
        assert_eq!(vals(&r), vec![5.0]);
    }

    #[test]
    fn complex_inputs_stay_complex() {
        let a = arr(DType::Complex64, &[2, 2], [2., 1., 1., 3.]);
        let d = run1("linalg.det", std::slice::from_ref(&a), Attrs::new()).unwrap();
        assert_eq!(d.dtype(), DType::Complex64);
        assert_eq!(vals(&d), vec![5.0]);
        let o = run_op("linalg.eigh", std::slice::from_ref(&a), Attrs::new()).unwrap();
        assert_eq!(
            (o[0].dtype(), o[1].dtype()),
            (DType::Float32, DType::Complex64)
        );
        let s = run1(
            "linalg.svd",
            &[a],
            Attrs::new().with("compute_uv", Attr::Bool(false)),
        )
        .unwrap();
        assert_eq!(s.dtype(), DType::Float32);
    }

    #[test]
    fn nan_input_does_not_panic() {
        let a = arr(DType::Float64, &[2, 2], [f64::NAN, 1., 1., 1.]);
        for op in [
            "linalg.inv",
            "linalg.det",
            "linalg.slogdet",
            "linalg.eigh",
            "linalg.svd",
            "linalg.qr",
            "linalg.pinv",
            "linalg.matrix_rank",
            "linalg.cholesky",
            "linalg.norm",
        ] {
            let _ = run_op(op, std::slice::from_ref(&a), Attrs::new());
        }
    }
}
