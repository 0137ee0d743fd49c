//! `fft.*`: discrete Fourier transforms (`np.fft`).
//!
//! Every op resolves to one [`FftPlan`]: the transforms to run, one per axis, in NumPy's
//! order (`fftn` transforms the last listed axis first), each with its length `n` (the
//! input cropped or zero-padded to it). Dtypes follow NumPy 2's pocketfft loops: float32,
//! float16, bfloat16 and complex64 compute in complex64, everything else in complex128;
//! `irfft` returns float16 for float16, float32 for float32 and complex64, else float64.

use super::DataDependence;
use crate::attrs::Attr;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::ops::{Call, Meta, OpDef, arr, attr};
use crate::params;
use crate::shape::normalize_axis;

/// Which transform one step runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FftKind {
    /// Complex to complex, forward (`fft`).
    Forward,
    /// Complex to complex, inverse (`ifft`).
    Inverse,
    /// Real to complex, forward: the `n / 2 + 1` non-negative frequencies (`rfft`).
    RealForward,
    /// Complex (Hermitian) to real, inverse: `n` real points from `n / 2 + 1` frequencies
    /// (`irfft`).
    RealInverse,
}

/// NumPy's `norm`: which direction is scaled, and by what.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FftNorm {
    /// `"backward"` (the default): the inverse scales by `1/n`.
    #[default]
    Backward,
    /// `"ortho"`: both directions scale by `1/sqrt(n)`.
    Ortho,
    /// `"forward"`: the forward transform scales by `1/n`.
    Forward,
}

impl FftNorm {
    /// The factor a transform of length `n` in direction `inverse` multiplies by.
    pub fn factor(self, n: usize, inverse: bool) -> f64 {
        match (self, inverse) {
            (FftNorm::Ortho, _) => 1.0 / (n as f64).sqrt(),
            (FftNorm::Backward, true) | (FftNorm::Forward, false) => 1.0 / n as f64,
            _ => 1.0,
        }
    }
}

/// One transform along one axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FftStep {
    /// The axis.
    pub axis: usize,
    /// The transform's length: the input along `axis` is cropped or zero-padded to it
    /// (for [`FftKind::RealInverse`], to `n / 2 + 1` frequencies).
    pub n: usize,
    /// The transform.
    pub kind: FftKind,
}

impl FftStep {
    /// The output's length along the axis.
    pub fn out_len(&self) -> usize {
        match self.kind {
            FftKind::RealForward => self.n / 2 + 1,
            _ => self.n,
        }
    }
}

/// An `fft.*` call resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct FftPlan {
    /// The transforms, in the order they run (empty: the input is returned unchanged, as
    /// `np.fft.fftn` does for a 0-d array or `axes=()`).
    pub steps: Vec<FftStep>,
    /// The scaling.
    pub norm: FftNorm,
    /// The complex dtype the transforms compute in.
    pub compute: DType,
    /// The result.
    pub out: Meta,
}

const ONE_D: &[crate::ops::Param] =
    params![arr("a"), attr("n"), attr("axis"), attr("norm"), attr("out")];
const N_D: &[crate::ops::Param] =
    params![arr("a"), attr("s"), attr("axes"), attr("norm"), attr("out")];

pub(crate) fn defs() -> Vec<OpDef> {
    let def = |name, params, summary| OpDef {
        name,
        params,
        summary,
        infer: |c| Ok(vec![fft_plan(c)?.out]),
        data_dependent: DataDependence::Never,
    };
    vec![
        def(
            "fft.fft",
            ONE_D,
            "One-dimensional discrete Fourier transform along an axis (np.fft.fft).",
        ),
        def(
            "fft.ifft",
            ONE_D,
            "One-dimensional inverse discrete Fourier transform (np.fft.ifft).",
        ),
        def(
            "fft.rfft",
            ONE_D,
            "Fourier transform of a real input: the n//2+1 non-negative frequencies (np.fft.rfft).",
        ),
        def(
            "fft.irfft",
            ONE_D,
            "Inverse of rfft: n real points from the non-negative frequencies (np.fft.irfft).",
        ),
        def(
            "fft.fft2",
            N_D,
            "Two-dimensional discrete Fourier transform, over axes (-2, -1) by default (np.fft.fft2).",
        ),
        def(
            "fft.ifft2",
            N_D,
            "Two-dimensional inverse discrete Fourier transform (np.fft.ifft2).",
        ),
        def(
            "fft.fftn",
            N_D,
            "N-dimensional discrete Fourier transform, over all axes by default (np.fft.fftn).",
        ),
        def(
            "fft.ifftn",
            N_D,
            "N-dimensional inverse discrete Fourier transform (np.fft.ifftn).",
        ),
    ]
}

fn norm_of(c: &Call<'_>) -> Result<FftNorm> {
    match c.attrs.get("norm") {
        None | Some(Attr::None) => Ok(FftNorm::Backward),
        Some(Attr::Str(s)) if s == "backward" => Ok(FftNorm::Backward),
        Some(Attr::Str(s)) if s == "ortho" => Ok(FftNorm::Ortho),
        Some(Attr::Str(s)) if s == "forward" => Ok(FftNorm::Forward),
        Some(other) => Err(Error::invalid(
            c.op,
            "norm",
            format!(
                "Invalid norm value {}; should be \"backward\",\"ortho\" or \"forward\".",
                match other {
                    Attr::Str(s) => s.clone(),
                    a => format!("{a:?}"),
                }
            ),
        )),
    }
}

fn points(c: &Call<'_>, name: &str, n: i64) -> Result<usize> {
    if n < 1 {
        return Err(Error::invalid(
            c.op,
            name,
            format!("Invalid number of FFT data points ({n}) specified."),
        ));
    }
    Ok(n as usize)
}

/// An optional int or int-tuple attribute (`None` when absent or Python's None).
fn opt_ints(c: &Call<'_>, name: &str) -> Result<Option<Vec<i64>>> {
    match c.attrs.get(name) {
        None | Some(Attr::None) => Ok(None),
        _ => c.attrs.ints(c.op, name),
    }
}

/// Resolves any `fft.*` call.
pub fn fft_plan(c: &Call<'_>) -> Result<FftPlan> {
    let op = c.op;
    c.expect_inputs(1)?;
    c.no_out()?;
    let a = c.array(0, "a")?;
    let norm = norm_of(c)?;
    let name = op.strip_prefix("fft.").unwrap_or(op);
    let kind = match name {
        "ifft" | "ifft2" | "ifftn" => FftKind::Inverse,
        "rfft" => FftKind::RealForward,
        "irfft" => FftKind::RealInverse,
        _ => FftKind::Forward,
    };
    let steps = match name {
        "fft" | "ifft" | "rfft" | "irfft" => {
            c.attrs.check_known(op, &["n", "axis", "norm", "out"])?;
            let axis = normalize_axis(op, c.attrs.int_or(op, "axis", -1)?, a.ndim())?;
            let n = match c.attrs.get("n") {
                None | Some(Attr::None) if kind == FftKind::RealInverse => {
                    2 * (a.shape[axis] as i64 - 1)
                }
                None | Some(Attr::None) => a.shape[axis] as i64,
                _ => c.attrs.int_or(op, "n", 0)?,
            };
            vec![FftStep {
                axis,
                n: points(c, "n", n)?,
                kind,
            }]
        }
        _ => {
            c.attrs.check_known(op, &["s", "axes", "norm", "out"])?;
            let s = opt_ints(c, "s")?;
            let axes = match opt_ints(c, "axes")? {
                Some(ax) => ax,
                None if name.ends_with('2') => vec![-2, -1],
                None => match &s {
                    Some(s) => (-(s.len() as i64)..0).collect(),
                    None => (0..a.ndim() as i64).collect(),
                },
            };
            let axes = axes
                .iter()
                .map(|&ax| normalize_axis(op, ax, a.ndim()))
                .collect::<Result<Vec<_>>>()?;
            let s = match s {
                Some(s) if s.len() != axes.len() => {
                    return Err(Error::invalid(
                        op,
                        "s",
                        "Shape and axes have different lengths.",
                    ));
                }
                Some(s) => s
                    .iter()
                    .zip(&axes)
                    .map(|(&n, &ax)| if n == -1 { a.shape[ax] as i64 } else { n })
                    .collect(),
                None => axes
                    .iter()
                    .map(|&ax| a.shape[ax] as i64)
                    .collect::<Vec<_>>(),
            };
            // NumPy transforms the last listed axis first.
            s.iter()
                .zip(&axes)
                .rev()
                .map(|(&n, &axis)| {
                    Ok(FftStep {
                        axis,
                        n: points(c, "s", n)?,
                        kind,
                    })
                })
                .collect::<Result<Vec<_>>>()?
        }
    };
    if steps.is_empty() {
        return Ok(FftPlan {
            steps,
            norm,
            compute: a.dtype.to_complex(),
            out: a,
        });
    }
    let (compute, dtype) = match kind {
        FftKind::RealForward if a.dtype.is_complex() => {
            return Err(Error::invalid(
                op,
                "a",
                format!("rfft takes a real input, got {}", a.dtype),
            ));
        }
        FftKind::RealInverse => {
            let real = match a.dtype {
                DType::Float16 => DType::Float16,
                DType::Float32 | DType::Complex64 => DType::Float32,
                _ => DType::Float64,
            };
            let compute = if real == DType::Float64 {
                DType::Complex128
            } else {
                DType::Complex64
            };
            (compute, real)
        }
        _ => (a.dtype.to_complex(), a.dtype.to_complex()),
    };
    let mut shape = a.shape.clone();
    for st in &steps {
        shape[st.axis] = st.out_len();
    }
    Ok(FftPlan {
        steps,
        norm,
        compute,
        out: Meta::new(dtype, shape),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Attrs;
    use crate::ops::{Input, infer};

    fn out(op: &str, dtype: DType, shape: &[usize], attrs: Attrs) -> Result<Meta> {
        let inputs = [Input::Array(Meta::new(dtype, shape.to_vec()))];
        Ok(infer(op, &inputs, &attrs)?.remove(0))
    }

    #[test]
    fn dtypes_follow_numpy() {
        let f = |op, dt| out(op, dt, &[4], Attrs::new()).unwrap().dtype;
        assert_eq!(f("fft.fft", DType::Int8), DType::Complex128);
        assert_eq!(f("fft.fft", DType::Float16), DType::Complex64);
        assert_eq!(f("fft.fft", DType::BFloat16), DType::Complex64);
        assert_eq!(f("fft.irfft", DType::Float16), DType::Float16);
        assert_eq!(f("fft.irfft", DType::BFloat16), DType::Float64);
        assert_eq!(f("fft.irfft", DType::Complex64), DType::Float32);
        assert!(out("fft.rfft", DType::Complex64, &[4], Attrs::new()).is_err());
    }

    #[test]
    fn shapes_and_lengths() {
        let m = out("fft.rfft", DType::Float64, &[3, 5], Attrs::new()).unwrap();
        assert_eq!(m.shape, vec![3, 3]);
        let m = out("fft.irfft", DType::Complex128, &[5], Attrs::new()).unwrap();
        assert_eq!(m.shape, vec![8]);
        let m = out(
            "fft.fft2",
            DType::Float64,
            &[2, 3],
            Attrs::new().with("s", Attr::Ints(vec![4, 5])),
        )
        .unwrap();
        assert_eq!(m.shape, vec![4, 5]);
        // 0-d fftn: nothing to transform, the input back unchanged.
        let m = out("fft.fftn", DType::Int64, &[], Attrs::new()).unwrap();
        assert_eq!(m, Meta::new(DType::Int64, vec![]));
        for bad in [
            out("fft.fft", DType::Float64, &[0], Attrs::new()),
            out("fft.irfft", DType::Float64, &[1], Attrs::new()),
            out("fft.fft", DType::Float64, &[], Attrs::new()),
            out("fft.fft2", DType::Float64, &[3], Attrs::new()),
            out(
                "fft.fft",
                DType::Float64,
                &[3],
                Attrs::new().with("norm", Attr::Str("x".into())),
            ),
            out(
                "fft.fftn",
                DType::Float64,
                &[2, 3],
                Attrs::new()
                    .with("s", Attr::Ints(vec![2, 3]))
                    .with("axes", Attr::Ints(vec![0])),
            ),
        ] {
            assert!(bad.is_err());
        }
    }
}
