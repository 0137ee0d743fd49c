//! `fft.*`: discrete Fourier transforms (`np.fft`), through [`Client::fft`].
//!
//! ```
//! use ndarray::array;
//! use ndserve_client::{Client, DType, FftArgs, FftNorm, FftnArgs};
//!
//! # fn main() -> ndserve_client::Result<()> {
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let client = Client::embedded().await?;
//! let x = client.upload(&array![1.0, 2.0, 3.0, 4.0]).await?;
//! // np.fft.fft(x) = [10, -2+2j, -2, -2-2j]
//! let f = client.fft().fft(&x, FftArgs::new())?;
//! assert_eq!(f.dtype(), DType::Complex128);
//! // np.fft.irfft(np.fft.rfft(x)) gives x back
//! let spectrum = client.fft().rfft(&x, FftArgs::new())?;
//! let back = client.fft().irfft(&spectrum, FftArgs::new())?.to_vec::<f64>().await?;
//! assert!(back.iter().zip([1.0, 2.0, 3.0, 4.0]).all(|(a, b)| (a - b).abs() < 1e-12));
//! // np.fft.fft2(m, s=(4, 4), norm="ortho")
//! let m = client.upload(&array![[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]).await?;
//! let f2 = client.fft().fft2(&m, FftnArgs::new().s(&[4, 4]).norm(FftNorm::Ortho))?;
//! assert_eq!((f2.shape(), f2.dtype()), (&[4usize, 4][..], DType::Complex64));
//! # Ok(())
//! # })
//! # }
//! ```

use ndserve_proto::{Attr, Attrs, Result};

pub use ndserve_proto::ops::fft::FftNorm;

use crate::{Array, Client};

/// The `fft` namespace of a [`Client`] (`np.fft`).
pub struct Fft<'a> {
    client: &'a Client,
}

impl Client {
    /// Discrete Fourier transforms (`np.fft`).
    pub fn fft(&self) -> Fft<'_> {
        Fft { client: self }
    }
}

fn norm_attr(attrs: Attrs, norm: FftNorm) -> Attrs {
    let name = match norm {
        FftNorm::Backward => return attrs,
        FftNorm::Ortho => "ortho",
        FftNorm::Forward => "forward",
    };
    attrs.with("norm", Attr::Str(name.to_string()))
}

/// The arguments of the one-dimensional transforms (`n`, `axis`, `norm`); the default is
/// NumPy's (the whole last axis, `norm="backward"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FftArgs {
    n: Option<usize>,
    axis: i64,
    norm: FftNorm,
}

impl Default for FftArgs {
    fn default() -> Self {
        FftArgs {
            n: None,
            axis: -1,
            norm: FftNorm::Backward,
        }
    }
}

impl FftArgs {
    /// NumPy's defaults.
    pub fn new() -> FftArgs {
        FftArgs::default()
    }
    /// The transform's length: the input is cropped or zero-padded to it.
    pub fn n(mut self, n: usize) -> FftArgs {
        self.n = Some(n);
        self
    }
    /// The axis (negative counts from the end).
    pub fn axis(mut self, axis: i64) -> FftArgs {
        self.axis = axis;
        self
    }
    /// The scaling.
    pub fn norm(mut self, norm: FftNorm) -> FftArgs {
        self.norm = norm;
        self
    }
    fn attrs(&self) -> Attrs {
        let mut a = Attrs::new().with("axis", Attr::Int(self.axis));
        if let Some(n) = self.n {
            a = a.with("n", Attr::Int(n as i64));
        }
        norm_attr(a, self.norm)
    }
}

/// The arguments of the n-dimensional transforms (`s`, `axes`, `norm`); the default is
/// NumPy's (all axes for `fftn`, the last two for `fft2`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FftnArgs {
    s: Option<Vec<usize>>,
    axes: Option<Vec<i64>>,
    norm: FftNorm,
}

impl FftnArgs {
    /// NumPy's defaults.
    pub fn new() -> FftnArgs {
        FftnArgs::default()
    }
    /// The transforms' lengths, one per axis.
    pub fn s(mut self, s: &[usize]) -> FftnArgs {
        self.s = Some(s.to_vec());
        self
    }
    /// The axes (negative count from the end).
    pub fn axes(mut self, axes: &[i64]) -> FftnArgs {
        self.axes = Some(axes.to_vec());
        self
    }
    /// The scaling.
    pub fn norm(mut self, norm: FftNorm) -> FftnArgs {
        self.norm = norm;
        self
    }
    fn attrs(&self) -> Attrs {
        let mut a = Attrs::new();
        if let Some(s) = &self.s {
            a = a.with("s", Attr::Ints(s.iter().map(|&n| n as i64).collect()));
        }
        if let Some(axes) = &self.axes {
            a = a.with("axes", Attr::Ints(axes.clone()));
        }
        norm_attr(a, self.norm)
    }
}

impl Fft<'_> {
    fn one(&self, op: &str, a: &Array, attrs: Attrs) -> Result<Array> {
        self.client.call1(op, &[a.into()], attrs)
    }

    /// One-dimensional discrete Fourier transform (complex64 for single-precision
    /// inputs, else complex128).
    #[doc(alias = "np.fft.fft")]
    pub fn fft(&self, a: &Array, args: FftArgs) -> Result<Array> {
        self.one("fft.fft", a, args.attrs())
    }
    /// One-dimensional inverse discrete Fourier transform.
    #[doc(alias = "np.fft.ifft")]
    pub fn ifft(&self, a: &Array, args: FftArgs) -> Result<Array> {
        self.one("fft.ifft", a, args.attrs())
    }
    /// Transform of a real input: the `n / 2 + 1` non-negative frequencies.
    #[doc(alias = "np.fft.rfft")]
    pub fn rfft(&self, a: &Array, args: FftArgs) -> Result<Array> {
        self.one("fft.rfft", a, args.attrs())
    }
    /// Inverse of [`Fft::rfft`]: `n` real points (by default `2 * (m - 1)` from `m`
    /// frequencies).
    #[doc(alias = "np.fft.irfft")]
    pub fn irfft(&self, a: &Array, args: FftArgs) -> Result<Array> {
        self.one("fft.irfft", a, args.attrs())
    }
    /// Two-dimensional transform, over the last two axes by default.
    #[doc(alias = "np.fft.fft2")]
    pub fn fft2(&self, a: &Array, args: FftnArgs) -> Result<Array> {
        self.one("fft.fft2", a, args.attrs())
    }
    /// Two-dimensional inverse transform.
    #[doc(alias = "np.fft.ifft2")]
    pub fn ifft2(&self, a: &Array, args: FftnArgs) -> Result<Array> {
        self.one("fft.ifft2", a, args.attrs())
    }
    /// N-dimensional transform, over all axes by default.
    #[doc(alias = "np.fft.fftn")]
    pub fn fftn(&self, a: &Array, args: FftnArgs) -> Result<Array> {
        self.one("fft.fftn", a, args.attrs())
    }
    /// N-dimensional inverse transform.
    #[doc(alias = "np.fft.ifftn")]
    pub fn ifftn(&self, a: &Array, args: FftnArgs) -> Result<Array> {
        self.one("fft.ifftn", a, args.attrs())
    }
}
