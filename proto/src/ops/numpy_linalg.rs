//! `numpy.linalg`: `linalg.inv`, `linalg.solve`, `linalg.det`, `linalg.slogdet`,
//! `linalg.norm`, `linalg.qr`, `linalg.cholesky`, `linalg.eigh`, `linalg.svd`,
//! `linalg.lstsq`, `linalg.pinv` and `linalg.matrix_rank`.
//!
//! NumPy computes every decomposition in float64 or complex128 (LAPACK's "lite" types)
//! and casts the result to its *result type*: float32 and complex64 inputs stay single
//! precision, bool and integer inputs become float64, float16 is refused ("array type
//! float16 is unsupported in linalg"). bfloat16 (ml_dtypes) is not a NumPy inexact type, so
//! NumPy treats it as it treats integers: it computes in, and returns, float64. Real-valued outputs (a determinant of
//! a real matrix, `slogdet`'s logabsdet, eigenvalues, singular values, norms, residuals)
//! take the real type of the result type. `norm` is the exception: it works in the input's
//! own inexact dtype (float16 included) and casts only non-inexact input (bfloat16
//! included) to float64.
//!
//! The functions here are the whole dtype/shape rule of each op; the kernels call the same
//! planners to learn batch shapes, modes and tolerances.

use super::DataDependence;
use crate::attrs::Attr;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::ops::{Call, Meta, OpDef, arr, attr};
use crate::params;
use crate::shape::{broadcast_shapes, normalize_axis};

pub(crate) fn defs() -> Vec<OpDef> {
    vec![
        OpDef {
            name: "linalg.inv",
            params: params![arr("a")],
            summary: "Inverse of each square matrix of a stack (np.linalg.inv).",
            infer: |c| {
                let p = square_plan(c, "a")?;
                Ok(vec![Meta::new(p.dtype, p.shape())])
            },
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "linalg.solve",
            params: params![arr("a"), arr("b")],
            summary: "Solution of a @ x = b for square a, batched (np.linalg.solve).",
            infer: |c| Ok(vec![solve_plan(c)?.out]),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "linalg.det",
            params: params![arr("a")],
            summary: "Determinant of each square matrix of a stack (np.linalg.det).",
            infer: |c| {
                let p = square_plan(c, "a")?;
                Ok(vec![Meta::new(p.dtype, p.batch)])
            },
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "linalg.slogdet",
            params: params![arr("a")],
            summary: "Sign and natural log of the absolute determinant (np.linalg.slogdet).",
            infer: |c| {
                let p = square_plan(c, "a")?;
                Ok(vec![
                    Meta::new(p.dtype, p.batch.clone()),
                    Meta::new(p.dtype.real(), p.batch),
                ])
            },
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "linalg.norm",
            params: params![arr("x"), attr("ord"), attr("axis"), attr("keepdims")],
            summary: "Vector or matrix norm (np.linalg.norm).",
            infer: |c| Ok(vec![norm_plan(c)?.out]),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "linalg.qr",
            params: params![arr("a"), attr("mode")],
            summary: "QR factorization, mode 'reduced', 'complete' or 'r' (np.linalg.qr).",
            infer: |c| Ok(qr_plan(c)?.outs),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "linalg.cholesky",
            params: params![arr("a"), attr("upper")],
            summary: "Cholesky factor of Hermitian positive-definite matrices (np.linalg.cholesky).",
            infer: |c| {
                cholesky_upper(c)?;
                let p = square_plan(c, "a")?;
                Ok(vec![Meta::new(p.dtype, p.shape())])
            },
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "linalg.eigh",
            params: params![arr("a"), attr("UPLO")],
            summary: "Eigenvalues (ascending) and eigenvectors of Hermitian matrices (np.linalg.eigh).",
            infer: |c| {
                eigh_lower(c)?;
                let p = square_plan(c, "a")?;
                let mut w = p.batch.clone();
                w.push(p.n);
                Ok(vec![
                    Meta::new(p.dtype.real(), w),
                    Meta::new(p.dtype, p.shape()),
                ])
            },
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "linalg.svd",
            params: params![
                arr("a"),
                attr("full_matrices"),
                attr("compute_uv"),
                attr("hermitian")
            ],
            summary: "Singular value decomposition U, S, Vh (np.linalg.svd).",
            infer: |c| Ok(svd_plan(c)?.outs),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "linalg.lstsq",
            params: params![arr("a"), arr("b"), attr("rcond")],
            summary: "Least-squares solution x, residuals, rank and singular values (np.linalg.lstsq).",
            infer: |c| Ok(lstsq_plan(c)?.outs),
            data_dependent: DataDependence::When(|c| {
                lstsq_plan(c).is_ok_and(|p| p.m > p.n && p.k > 0)
            }),
        },
        OpDef {
            name: "linalg.pinv",
            params: params![arr("a"), attr("rcond"), attr("hermitian"), attr("rtol")],
            summary: "Moore-Penrose pseudo-inverse, via the SVD (np.linalg.pinv).",
            infer: |c| {
                let p = pinv_plan(c)?;
                let mut s = p.mat.batch.clone();
                s.extend([p.mat.n, p.mat.m]);
                Ok(vec![Meta::new(p.mat.dtype, s)])
            },
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "linalg.matrix_rank",
            params: params![arr("A"), attr("tol"), attr("hermitian"), attr("rtol")],
            summary: "Rank of each matrix of a stack, by its singular values (np.linalg.matrix_rank).",
            infer: |c| Ok(vec![rank_plan(c)?.out]),
            data_dependent: DataDependence::Never,
        },
    ]
}

/// NumPy's `_commonType` for one array: the result type of a linalg op on `dtype`.
pub fn result_dtype(op: &str, arg: &str, dtype: DType) -> Result<DType> {
    match dtype {
        DType::Float32 | DType::Float64 | DType::Complex64 | DType::Complex128 => Ok(dtype),
        DType::Float16 => Err(Error::invalid(
            op,
            arg,
            format!("array type {} is unsupported in linalg", dtype.name()),
        )),
        _ => Ok(DType::Float64),
    }
}

/// NumPy's `_commonType` of two arrays: single precision only when both are single
/// precision floats, complex when either is complex.
fn common_dtype(op: &str, a: (&str, DType), b: (&str, DType)) -> Result<DType> {
    let x = result_dtype(op, a.0, a.1)?;
    let y = result_dtype(op, b.0, b.1)?;
    let double = !(x.itemsize() == 4 || x == DType::Complex64)
        || !(y.itemsize() == 4 || y == DType::Complex64);
    let complex = x.is_complex() || y.is_complex();
    Ok(match (double, complex) {
        (true, true) => DType::Complex128,
        (true, false) => DType::Float64,
        (false, true) => DType::Complex64,
        (false, false) => DType::Float32,
    })
}

/// A stack of matrices: the batch shape and the matrix dims, with the result dtype.
#[derive(Clone, Debug, PartialEq)]
pub struct MatPlan {
    /// Leading (batch) axes.
    pub batch: Vec<usize>,
    /// Rows.
    pub m: usize,
    /// Columns.
    pub n: usize,
    /// The result dtype (float32, float64, complex64 or complex128).
    pub dtype: DType,
}

impl MatPlan {
    /// The input's shape: `batch + (m, n)`.
    pub fn shape(&self) -> Vec<usize> {
        let mut s = self.batch.clone();
        s.extend([self.m, self.n]);
        s
    }
    /// The number of matrices.
    pub fn count(&self) -> usize {
        self.batch.iter().product()
    }
}

fn not_2d(op: &str, arg: &str, ndim: usize) -> Error {
    Error::invalid(
        op,
        arg,
        format!("{ndim}-dimensional array given. Array must be at least two-dimensional"),
    )
}

/// A stack of matrices (`_assert_stacked_2d`).
pub fn stacked_plan(c: &Call<'_>, arg: &str) -> Result<MatPlan> {
    let a = c.array(0, arg)?;
    let dtype = result_dtype(c.op, arg, a.dtype)?;
    if a.ndim() < 2 {
        return Err(not_2d(c.op, arg, a.ndim()));
    }
    let nd = a.ndim();
    Ok(MatPlan {
        batch: a.shape[..nd - 2].to_vec(),
        m: a.shape[nd - 2],
        n: a.shape[nd - 1],
        dtype,
    })
}

/// A stack of square matrices (`_assert_stacked_square`).
pub fn square_plan(c: &Call<'_>, arg: &str) -> Result<MatPlan> {
    c.expect_inputs(1)?;
    let known: &[&str] = match c.op {
        "linalg.cholesky" => &["upper"],
        "linalg.eigh" => &["UPLO"],
        "linalg.svd" => &["full_matrices", "compute_uv", "hermitian"],
        "linalg.matrix_rank" => &["tol", "hermitian", "rtol"],
        _ => &[],
    };
    c.attrs.check_known(c.op, known)?;
    let p = stacked_plan(c, arg)?;
    if p.m != p.n {
        return Err(Error::invalid(
            c.op,
            arg,
            "Last 2 dimensions of the array must be square",
        ));
    }
    Ok(p)
}

/// `cholesky`'s `upper` (default false).
pub fn cholesky_upper(c: &Call<'_>) -> Result<bool> {
    c.attrs.bool_or(c.op, "upper", false)
}

/// `eigh`'s `UPLO`: true for 'L' (the default), false for 'U'; case-insensitive.
pub fn eigh_lower(c: &Call<'_>) -> Result<bool> {
    match c
        .attrs
        .str(c.op, "UPLO")?
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("L") => Ok(true),
        Some("U") => Ok(false),
        Some(_) => Err(Error::invalid(
            c.op,
            "UPLO",
            "UPLO argument must be 'L' or 'U'",
        )),
    }
}

/// `solve(a, b)` resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct SolvePlan {
    /// The broadcast batch shape.
    pub batch: Vec<usize>,
    /// The order of `a`.
    pub n: usize,
    /// Right-hand sides per matrix (1 for a vector `b`).
    pub k: usize,
    /// `b` is one vector (`b.ndim == 1`), shared by every matrix of `a`.
    pub vector: bool,
    /// The result.
    pub out: Meta,
}

/// Plans `solve`: `b` is a vector only when `b.ndim == 1` (NumPy 2), otherwise a stack of
/// `(n, k)` matrices whose batch broadcasts with `a`'s.
pub fn solve_plan(c: &Call<'_>) -> Result<SolvePlan> {
    let op = c.op;
    c.expect_inputs(2)?;
    c.attrs.check_known(op, &[])?;
    let a = c.array(0, "a")?;
    let b = c.array(1, "b")?;
    if a.ndim() < 2 {
        return Err(not_2d(op, "a", a.ndim()));
    }
    let nd = a.ndim();
    let n = a.shape[nd - 1];
    if a.shape[nd - 2] != n {
        return Err(Error::invalid(
            op,
            "a",
            "Last 2 dimensions of the array must be square",
        ));
    }
    let dtype = common_dtype(op, ("a", a.dtype), ("b", b.dtype))?;
    let abatch = &a.shape[..nd - 2];
    if b.ndim() == 1 {
        if b.shape[0] != n {
            return Err(Error::invalid(
                op,
                "b",
                format!(
                    "solve1: Input operand 1 has a mismatch in its core dimension 0, with gufunc signature (m,m),(m)->(m) (size {} is different from {n})",
                    b.shape[0]
                ),
            ));
        }
        let mut shape = abatch.to_vec();
        shape.push(n);
        return Ok(SolvePlan {
            batch: abatch.to_vec(),
            n,
            k: 1,
            vector: true,
            out: Meta::new(dtype, shape),
        });
    }
    if b.ndim() == 0 {
        return Err(Error::invalid(
            op,
            "b",
            "solve: Input operand 1 does not have enough dimensions (has 0, gufunc core with signature (m,m),(m,n)->(m,n) requires 2)",
        ));
    }
    let bd = b.ndim();
    if b.shape[bd - 2] != n {
        return Err(Error::invalid(
            op,
            "b",
            format!(
                "solve: Input operand 1 has a mismatch in its core dimension 0, with gufunc signature (m,m),(m,n)->(m,n) (size {} is different from {n})",
                b.shape[bd - 2]
            ),
        ));
    }
    let k = b.shape[bd - 1];
    let batch = broadcast_shapes(op, abatch, &b.shape[..bd - 2])?;
    let mut shape = batch.clone();
    shape.extend([n, k]);
    Ok(SolvePlan {
        batch,
        n,
        k,
        vector: false,
        out: Meta::new(dtype, shape),
    })
}

/// `qr`'s modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QrMode {
    /// Q (m, k), R (k, n).
    Reduced,
    /// Q (m, m), R (m, n).
    Complete,
    /// R (k, n) only.
    R,
}

/// `qr` resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct QrPlan {
    /// The matrices.
    pub mat: MatPlan,
    /// The mode.
    pub mode: QrMode,
    /// The results: (Q, R), or R alone.
    pub outs: Vec<Meta>,
}

/// Plans `qr(a, mode)`. NumPy's deprecated modes ('full', 'economic') and 'raw' (LAPACK's
/// Householder reflectors) are refused by name.
pub fn qr_plan(c: &Call<'_>) -> Result<QrPlan> {
    c.expect_inputs(1)?;
    c.attrs.check_known(c.op, &["mode"])?;
    let mode = match c.attrs.str(c.op, "mode")? {
        None | Some("reduced") => QrMode::Reduced,
        Some("complete") => QrMode::Complete,
        Some("r") => QrMode::R,
        Some(m @ ("raw" | "full" | "f" | "economic" | "e")) => {
            return Err(Error::invalid(
                c.op,
                "mode",
                format!(
                    "mode '{m}' is not supported by ndserve (use 'reduced', 'complete' or 'r')"
                ),
            ));
        }
        Some(m) => {
            return Err(Error::invalid(
                c.op,
                "mode",
                format!("Unrecognized mode '{m}'"),
            ));
        }
    };
    let mat = stacked_plan(c, "a")?;
    let (m, n) = (mat.m, mat.n);
    let k = m.min(n);
    let with = |r: usize, cc: usize| {
        let mut s = mat.batch.clone();
        s.extend([r, cc]);
        Meta::new(mat.dtype, s)
    };
    let outs = match mode {
        QrMode::Reduced => vec![with(m, k), with(k, n)],
        QrMode::Complete => vec![with(m, m), with(m, n)],
        QrMode::R => vec![with(k, n)],
    };
    Ok(QrPlan { mat, mode, outs })
}

/// `svd` resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct SvdPlan {
    /// The matrices.
    pub mat: MatPlan,
    /// Square U and Vh (`full_matrices`, default true).
    pub full: bool,
    /// Return U and Vh (`compute_uv`, default true).
    pub uv: bool,
    /// The input is Hermitian: decompose with `eigh` (`hermitian`, default false).
    pub hermitian: bool,
    /// (U, S, Vh), or S alone.
    pub outs: Vec<Meta>,
}

/// Plans `svd(a, full_matrices, compute_uv, hermitian)`.
pub fn svd_plan(c: &Call<'_>) -> Result<SvdPlan> {
    let op = c.op;
    c.expect_inputs(1)?;
    c.attrs
        .check_known(op, &["full_matrices", "compute_uv", "hermitian"])?;
    let full = c.attrs.bool_or(op, "full_matrices", true)?;
    let uv = c.attrs.bool_or(op, "compute_uv", true)?;
    let hermitian = c.attrs.bool_or(op, "hermitian", false)?;
    let mat = if hermitian {
        square_plan(c, "a")?
    } else {
        stacked_plan(c, "a")?
    };
    let (m, n) = (mat.m, mat.n);
    let k = m.min(n);
    let with = |dims: &[usize], dtype: DType| {
        let mut s = mat.batch.clone();
        s.extend_from_slice(dims);
        Meta::new(dtype, s)
    };
    let s = with(&[k], mat.dtype.real());
    let outs = match (uv, full || hermitian) {
        (false, _) => vec![s],
        (true, true) => vec![with(&[m, m], mat.dtype), s, with(&[n, n], mat.dtype)],
        (true, false) => vec![with(&[m, k], mat.dtype), s, with(&[k, n], mat.dtype)],
    };
    Ok(SvdPlan {
        mat,
        full,
        uv,
        hermitian,
        outs,
    })
}

/// `pinv` resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct PinvPlan {
    /// The matrices.
    pub mat: MatPlan,
    /// Singular values at most `rcond * max(s)` are treated as zero.
    pub rcond: f64,
    /// Decompose with `eigh`.
    pub hermitian: bool,
}

fn machine_eps(op: &str, arg: &str, dtype: DType) -> Result<f64> {
    match dtype {
        DType::Float16 => Ok(f64::from(half::f16::EPSILON)),
        DType::BFloat16 => Ok(f64::from(half::bf16::EPSILON)),
        DType::Float32 | DType::Complex64 => Ok(f64::from(f32::EPSILON)),
        DType::Float64 | DType::Complex128 => Ok(f64::EPSILON),
        d => Err(Error::invalid(
            op,
            arg,
            format!("data type <class 'numpy.{}'> not inexact", d.name()),
        )),
    }
}

/// Plans `pinv(a, rcond, hermitian, rtol)`: without `rcond` and `rtol` the cutoff is
/// `1e-15`; `rtol=None` given explicitly means `max(m, n) * eps` of `a`'s dtype.
pub fn pinv_plan(c: &Call<'_>) -> Result<PinvPlan> {
    let op = c.op;
    c.expect_inputs(1)?;
    c.attrs.check_known(op, &["rcond", "hermitian", "rtol"])?;
    let hermitian = c.attrs.bool_or(op, "hermitian", false)?;
    let a = c.array(0, "a")?;
    let nd = a.ndim();
    let mat = if nd >= 2 && a.shape[nd - 2] * a.shape[nd - 1] == 0 {
        // NumPy returns an empty array of the input's own dtype before any check of it.
        MatPlan {
            batch: a.shape[..nd - 2].to_vec(),
            m: a.shape[nd - 2],
            n: a.shape[nd - 1],
            dtype: a.dtype,
        }
    } else {
        stacked_plan(c, "a")?
    };
    let rtol_given = c.attrs.0.contains_key("rtol");
    let rcond = match (c.attrs.float(op, "rcond")?, rtol_given) {
        (Some(_), true) => {
            return Err(Error::invalid(
                op,
                "rtol",
                "`rtol` and `rcond` can't be both set.",
            ));
        }
        (Some(r), false) => r,
        (None, false) => 1e-15,
        (None, true) => match c.attrs.float(op, "rtol")? {
            Some(r) => r,
            None => {
                let a = c.array(0, "a")?;
                mat.m.max(mat.n) as f64 * machine_eps(op, "a", a.dtype)?
            }
        },
    };
    if hermitian && mat.m != mat.n && mat.m * mat.n != 0 {
        return Err(Error::invalid(
            op,
            "a",
            "Last 2 dimensions of the array must be square",
        ));
    }
    Ok(PinvPlan {
        mat,
        rcond,
        hermitian,
    })
}

/// `matrix_rank`'s threshold.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RankTol {
    /// Singular values above this count.
    Absolute(f64),
    /// Singular values above this times the largest count.
    Relative(f64),
}

/// `matrix_rank` resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct RankPlan {
    /// The matrices; `None` for a 0-d or 1-d input (rank 1 unless all zero).
    pub mat: Option<MatPlan>,
    /// The threshold.
    pub tol: RankTol,
    /// Decompose with `eigh`.
    pub hermitian: bool,
    /// int64, the batch shape.
    pub out: Meta,
}

/// Plans `matrix_rank(A, tol, hermitian, rtol)`.
pub fn rank_plan(c: &Call<'_>) -> Result<RankPlan> {
    let op = c.op;
    c.expect_inputs(1)?;
    c.attrs.check_known(op, &["tol", "hermitian", "rtol"])?;
    let hermitian = c.attrs.bool_or(op, "hermitian", false)?;
    let tol = c.attrs.float(op, "tol")?;
    let rtol = c.attrs.float(op, "rtol")?;
    if tol.is_some() && rtol.is_some() {
        return Err(Error::invalid(
            op,
            "rtol",
            "`tol` and `rtol` can't be both set.",
        ));
    }
    let a = c.array(0, "A")?;
    if a.ndim() < 2 {
        return Ok(RankPlan {
            mat: None,
            tol: RankTol::Absolute(0.0),
            hermitian,
            out: Meta::new(DType::Int64, vec![]),
        });
    }
    let mat = if hermitian {
        square_plan(c, "A")?
    } else {
        stacked_plan(c, "A")?
    };
    let tol = match (tol, rtol) {
        (Some(t), _) => RankTol::Absolute(t),
        (None, Some(r)) => RankTol::Relative(r),
        (None, None) => {
            RankTol::Relative(mat.m.max(mat.n) as f64 * machine_eps(op, "A", mat.dtype.real())?)
        }
    };
    let out = Meta::new(DType::Int64, mat.batch.clone());
    Ok(RankPlan {
        mat: Some(mat),
        tol,
        hermitian,
        out,
    })
}

/// `lstsq(a, b, rcond)` resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct LstsqPlan {
    /// Rows of `a` (and `b`).
    pub m: usize,
    /// Columns of `a`.
    pub n: usize,
    /// Columns of `b` (1 for a vector).
    pub k: usize,
    /// `b` is a vector.
    pub vector: bool,
    /// Singular values at most `rcond * max(s)` are treated as zero.
    pub rcond: f64,
    /// The result dtype.
    pub dtype: DType,
    /// x, residuals (at their largest: present when the rank is full and `m > n`), rank
    /// (int32, as NumPy's LAPACK gives it), s.
    pub outs: Vec<Meta>,
}

/// Plans `lstsq`. Residuals hold one value per column of `b` (one for a 1-d `b`: NumPy
/// keeps that axis) when `a` has full column rank and `m > n`; otherwise they are empty,
/// so their shape depends on the data when `m > n`.
pub fn lstsq_plan(c: &Call<'_>) -> Result<LstsqPlan> {
    let op = c.op;
    c.expect_inputs(2)?;
    c.attrs.check_known(op, &["rcond"])?;
    let a = c.array(0, "a")?;
    let b = c.array(1, "b")?;
    let vector = b.ndim() == 1;
    for (name, nd) in [("a", a.ndim()), ("b", b.ndim() + usize::from(vector))] {
        if nd != 2 {
            return Err(Error::invalid(
                op,
                name,
                format!("{nd}-dimensional array given. Array must be two-dimensional"),
            ));
        }
    }
    let (m, n) = (a.shape[0], a.shape[1]);
    let (m2, k) = if vector {
        (b.shape[0], 1)
    } else {
        (b.shape[0], b.shape[1])
    };
    if m != m2 {
        return Err(Error::invalid(op, "b", "Incompatible dimensions"));
    }
    let dtype = common_dtype(op, ("a", a.dtype), ("b", b.dtype))?;
    let rcond = match c.attrs.float(op, "rcond")? {
        Some(r) if r >= 0.0 => r,
        // LAPACK takes a negative rcond as machine precision.
        Some(_) => f64::EPSILON,
        None => f64::EPSILON * m.max(n) as f64,
    };
    let real = dtype.real();
    let x = if vector { vec![n] } else { vec![n, k] };
    let resid = if m > n && k > 0 { k } else { 0 };
    Ok(LstsqPlan {
        m,
        n,
        k,
        vector,
        rcond,
        dtype,
        outs: vec![
            Meta::new(dtype, x),
            Meta::new(real, vec![resid]),
            Meta::new(DType::Int32, vec![]),
            Meta::new(real, vec![m.min(n)]),
        ],
    })
}

/// `norm`'s `ord`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NormOrd {
    /// `None`: 2-norm of vectors, Frobenius of matrices.
    Default,
    /// `'fro'` / `'f'`.
    Fro,
    /// `'nuc'`.
    Nuc,
    /// A number (`inf`, `-inf`, `0`, `1`, `-1`, `2`, `-2`, any p for vectors).
    P(f64),
}

/// What `norm` computes over its axes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NormKind {
    /// A vector norm over one axis (or every element, flattened).
    Vector(NormOrd),
    /// A matrix norm over two axes (rows, columns).
    Matrix(NormOrd),
}

/// `norm` resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct NormPlan {
    /// The dtype computed in (the input's, float64 for non-inexact input).
    pub dtype: DType,
    /// The reduced axes, in the order they are reduced: one (vector) or (row, col). Empty
    /// with `flatten`.
    pub axes: Vec<usize>,
    /// Every element as one vector (`ord=None, axis=None`, or Frobenius of a matrix).
    pub flatten: bool,
    /// The norm.
    pub kind: NormKind,
    /// The result: the real dtype, the kept axes (length 1 with `keepdims`).
    pub out: Meta,
}

fn norm_ord(c: &Call<'_>) -> Result<NormOrd> {
    match c.attrs.get("ord") {
        None => Ok(NormOrd::Default),
        Some(Attr::Str(s)) => match s.as_str() {
            "fro" | "f" => Ok(NormOrd::Fro),
            "nuc" => Ok(NormOrd::Nuc),
            other => Err(Error::invalid(
                c.op,
                "ord",
                format!("Invalid norm order '{other}'"),
            )),
        },
        Some(_) => Ok(NormOrd::P(c.attrs.float(c.op, "ord")?.unwrap_or(2.0))),
    }
}

/// Plans `norm(x, ord, axis, keepdims)` as NumPy's `_linalg.norm` does.
pub fn norm_plan(c: &Call<'_>) -> Result<NormPlan> {
    let op = c.op;
    c.expect_inputs(1)?;
    c.attrs.check_known(op, &["ord", "axis", "keepdims"])?;
    let x = c.array(0, "x")?;
    let dtype = if x.dtype.is_inexact() && x.dtype != DType::BFloat16 {
        x.dtype
    } else {
        DType::Float64
    };
    let ord = norm_ord(c)?;
    let keepdims = c.attrs.bool_or(op, "keepdims", false)?;
    let nd = x.ndim();
    let axis = c.attrs.ints(op, "axis")?;
    let real = dtype.real();
    let flat_fast = axis.is_none()
        && (ord == NormOrd::Default
            || (ord == NormOrd::Fro && nd == 2)
            || (ord == NormOrd::P(2.0) && nd == 1));
    if flat_fast {
        let shape = if keepdims { vec![1; nd] } else { vec![] };
        return Ok(NormPlan {
            dtype,
            axes: vec![],
            flatten: true,
            kind: NormKind::Vector(NormOrd::Default),
            out: Meta::new(real, shape),
        });
    }
    let axes: Vec<usize> = match axis {
        None => (0..nd).collect(),
        Some(v) => v
            .iter()
            .map(|&a| normalize_axis(op, a, nd))
            .collect::<Result<_>>()?,
    };
    let kind = match axes.len() {
        1 => {
            if matches!(ord, NormOrd::Fro | NormOrd::Nuc) {
                let name = if ord == NormOrd::Fro { "fro" } else { "nuc" };
                let name = match c.attrs.get("ord") {
                    Some(Attr::Str(s)) => s.clone(),
                    _ => name.to_string(),
                };
                return Err(Error::invalid(
                    op,
                    "ord",
                    format!("Invalid norm order '{name}' for vectors"),
                ));
            }
            if ord == NormOrd::P(f64::NEG_INFINITY) && x.shape[axes[0]] == 0 {
                return Err(Error::invalid(
                    op,
                    "x",
                    "zero-size array to reduction operation minimum which has no identity",
                ));
            }
            NormKind::Vector(ord)
        }
        2 => {
            if axes[0] == axes[1] {
                return Err(Error::invalid(op, "axis", "Duplicate axes given."));
            }
            let valid = match ord {
                NormOrd::Default | NormOrd::Fro | NormOrd::Nuc => true,
                NormOrd::P(p) => {
                    [2.0, -2.0, 1.0, -1.0, f64::INFINITY, f64::NEG_INFINITY].contains(&p)
                }
            };
            if !valid {
                return Err(Error::invalid(
                    op,
                    "ord",
                    "Invalid norm order for matrices.",
                ));
            }
            let svd = matches!(ord, NormOrd::Nuc | NormOrd::P(2.0) | NormOrd::P(-2.0));
            if svd {
                result_dtype(op, "x", dtype)?;
            }
            // The reductions without an identity: min over an empty axis.
            let (r, cc) = (x.shape[axes[0]], x.shape[axes[1]]);
            let empty_min = match ord {
                NormOrd::P(-2.0) => r.min(cc) == 0,
                NormOrd::P(-1.0) => cc == 0,
                NormOrd::P(p) if p == f64::NEG_INFINITY => r == 0,
                _ => false,
            };
            if empty_min {
                return Err(Error::invalid(
                    op,
                    "x",
                    "zero-size array to reduction operation minimum which has no identity",
                ));
            }
            NormKind::Matrix(ord)
        }
        _ => {
            return Err(Error::invalid(
                op,
                "axis",
                "Improper number of dimensions to norm.",
            ));
        }
    };
    let mut shape = Vec::with_capacity(nd);
    for (i, &d) in x.shape.iter().enumerate() {
        if axes.contains(&i) {
            if keepdims {
                shape.push(1);
            }
        } else {
            shape.push(d);
        }
    }
    Ok(NormPlan {
        dtype,
        axes,
        flatten: false,
        kind,
        out: Meta::new(real, shape),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attrs::Attrs;
    use crate::ops::{Input, infer, is_data_dependent};

    fn arr(dtype: DType, shape: &[usize]) -> Input {
        Input::Array(Meta::new(dtype, shape.to_vec()))
    }

    #[test]
    fn dtype_rules_follow_numpy() {
        let none = Attrs::new();
        let det = |d| infer("linalg.det", &[arr(d, &[3, 2, 2])], &none);
        assert_eq!(
            det(DType::Int8).unwrap()[0],
            Meta::new(DType::Float64, vec![3])
        );
        assert_eq!(det(DType::Float32).unwrap()[0].dtype, DType::Float32);
        assert_eq!(det(DType::Complex64).unwrap()[0].dtype, DType::Complex64);
        let e = det(DType::Float16).unwrap_err();
        assert!(
            e.to_string()
                .contains("array type float16 is unsupported in linalg")
        );
        let s = infer("linalg.slogdet", &[arr(DType::Complex64, &[2, 2])], &none).unwrap();
        assert_eq!(s[0].dtype, DType::Complex64);
        assert_eq!(s[1], Meta::new(DType::Float32, vec![]));
        // float32 with an integer right-hand side computes in float64.
        let s = infer(
            "linalg.solve",
            &[arr(DType::Float32, &[2, 2]), arr(DType::Int32, &[2])],
            &none,
        )
        .unwrap();
        assert_eq!(s[0], Meta::new(DType::Float64, vec![2]));
        let s = infer(
            "linalg.solve",
            &[
                arr(DType::Float32, &[2, 2]),
                arr(DType::Complex64, &[3, 2, 1]),
            ],
            &none,
        )
        .unwrap();
        assert_eq!(s[0], Meta::new(DType::Complex64, vec![3, 2, 1]));
        // norm keeps float16.
        let n = infer("linalg.norm", &[arr(DType::Float16, &[3])], &none).unwrap();
        assert_eq!(n[0], Meta::new(DType::Float16, vec![]));
    }

    #[test]
    fn shape_errors_are_numpys() {
        let none = Attrs::new();
        let e = infer("linalg.inv", &[arr(DType::Float64, &[3])], &none).unwrap_err();
        assert!(e.to_string().contains("1-dimensional array given"), "{e}");
        let e = infer("linalg.inv", &[arr(DType::Float64, &[2, 3])], &none).unwrap_err();
        assert!(e.to_string().contains("must be square"), "{e}");
        let e = infer(
            "linalg.solve",
            &[arr(DType::Float64, &[2, 2]), arr(DType::Float64, &[3, 2])],
            &none,
        )
        .unwrap_err();
        assert!(e.to_string().contains("size 3 is different from 2"), "{e}");
        let bad = Attrs::new().with("mode", Attr::Str("bogus".into()));
        let e = infer("linalg.qr", &[arr(DType::Float64, &[2, 2])], &bad).unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
    }

    #[test]
    fn decomposition_shapes() {
        let a = [arr(DType::Float32, &[4, 5, 3])];
        let none = Attrs::new();
        let q = infer("linalg.qr", &a, &none).unwrap();
        assert_eq!(
            (q[0].shape.clone(), q[1].shape.clone()),
            (vec![4, 5, 3], vec![4, 3, 3])
        );
        let full = Attrs::new().with("mode", Attr::Str("complete".into()));
        let q = infer("linalg.qr", &a, &full).unwrap();
        assert_eq!(
            (q[0].shape.clone(), q[1].shape.clone()),
            (vec![4, 5, 5], vec![4, 5, 3])
        );
        let s = infer("linalg.svd", &a, &none).unwrap();
        assert_eq!(s[1], Meta::new(DType::Float32, vec![4, 3]));
        assert_eq!(s[2].shape, vec![4, 3, 3]);
        let p = infer("linalg.pinv", &a, &none).unwrap();
        assert_eq!(p[0].shape, vec![4, 3, 5]);
        let r = infer("linalg.matrix_rank", &a, &none).unwrap();
        assert_eq!(r[0], Meta::new(DType::Int64, vec![4]));
    }

    #[test]
    fn lstsq_is_data_dependent_only_when_tall() {
        let none = Attrs::new();
        let tall = [arr(DType::Float64, &[4, 2]), arr(DType::Float64, &[4])];
        assert!(is_data_dependent("linalg.lstsq", &tall, &none));
        let o = infer("linalg.lstsq", &tall, &none).unwrap();
        assert_eq!(o[1].shape, vec![1]);
        assert_eq!(o[2], Meta::new(DType::Int32, vec![]));
        let wide = [arr(DType::Float32, &[2, 4]), arr(DType::Float32, &[2, 3])];
        assert!(!is_data_dependent("linalg.lstsq", &wide, &none));
        assert_eq!(
            infer("linalg.lstsq", &wide, &none).unwrap()[1].shape,
            vec![0]
        );
    }

    #[test]
    fn norm_axes_and_orders() {
        let x = [arr(DType::Int32, &[2, 3, 4])];
        let ax = |v: Vec<i64>| Attrs::new().with("axis", Attr::Ints(v));
        let o = infer("linalg.norm", &x, &ax(vec![0, -1])).unwrap();
        assert_eq!(o[0], Meta::new(DType::Float64, vec![3]));
        let keep = ax(vec![1]).with("keepdims", Attr::Bool(true));
        assert_eq!(
            infer("linalg.norm", &x, &keep).unwrap()[0].shape,
            vec![2, 1, 4]
        );
        let ord = Attrs::new().with("ord", Attr::Int(1));
        let e = infer("linalg.norm", &x, &ord).unwrap_err();
        assert!(
            e.to_string().contains("Improper number of dimensions"),
            "{e}"
        );
        let nuc16 = ax(vec![0, 1]).with("ord", Attr::Str("nuc".into()));
        let e = infer("linalg.norm", &[arr(DType::Float16, &[2, 2])], &nuc16).unwrap_err();
        assert!(e.to_string().contains("float16"), "{e}");
    }
}
