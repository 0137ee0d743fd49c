//! `random.*`: seeded and reproducible per session.
//!
//! The client keeps the session's seed and a counter; every random op carries both, and
//! the server draws from the ChaCha8 stream they name. [`Random::seed`] replays a sequence:
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let client = ndserve_client::Client::embedded().await.unwrap();
//! client.random().seed(42).unwrap();
//! let a = client.random().standard_normal(&[3]).unwrap().to_vec::<f64>().await.unwrap();
//! client.random().seed(42).unwrap();
//! let b = client.random().standard_normal(&[3]).unwrap().to_vec::<f64>().await.unwrap();
//! assert_eq!(a, b);
//! # });
//! ```

use std::hash::{BuildHasher, Hasher};

use ndserve_proto::{Attr, Attrs, DType, Error, Result, Scalar};
use std::sync::Mutex;

use crate::{Array, Client, Operand};

/// The session's seed and the number of random ops drawn since it was set.
pub(crate) struct RandomState(Mutex<(u64, u64)>);

impl RandomState {
    /// A state seeded from the process's hash randomness.
    pub(crate) fn new() -> RandomState {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x6e64_7365_7276_6521);
        RandomState(Mutex::new((h.finish(), 0)))
    }

    fn seed(&self, seed: u64) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = (seed, 0);
    }

    /// `attrs` with the next (seed, counter).
    pub(crate) fn attach(&self, attrs: Attrs) -> Attrs {
        let mut st = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let (seed, counter) = *st;
        st.1 += 1;
        attrs
            .with("seed", Attr::Int(seed as i64))
            .with("counter", Attr::Int(counter as i64))
    }
}

/// The `random` namespace of a [`Client`] (`np.random`).
pub struct Random<'a> {
    client: &'a Client,
}

fn size_attr(size: Option<&[usize]>) -> Attrs {
    match size {
        Some(s) => Attrs::new().with("size", Attr::Ints(s.iter().map(|&d| d as i64).collect())),
        None => Attrs::new(),
    }
}

impl Client {
    /// The session's random generator (`np.random`).
    pub fn random(&self) -> Random<'_> {
        Random { client: self }
    }
}

impl Random<'_> {
    /// Seeds the session's generator (`np.random.seed`): the ops after it replay the same
    /// values for the same seed. NumPy accepts seeds in `0..2**32`.
    ///
    /// # Errors
    ///
    /// INVALID_ARGUMENT for a seed outside `0..2**32`.
    #[doc(alias = "np.random.seed")]
    pub fn seed(&self, seed: i64) -> Result<()> {
        if !(0..1i64 << 32).contains(&seed) {
            return Err(Error::invalid(
                "random.seed",
                "seed",
                "Seed must be between 0 and 2**32 - 1",
            ));
        }
        self.client.inner.random.seed(seed as u64);
        Ok(())
    }

    /// Standard normal samples of shape `size` (`np.random.standard_normal`).
    ///
    /// # Errors
    ///
    /// INVALID_ARGUMENT for a bad size.
    #[doc(alias = "np.random.standard_normal")]
    pub fn standard_normal(&self, size: &[usize]) -> Result<Array> {
        self.client
            .call1("random.standard_normal", &[], size_attr(Some(size)))
    }

    /// Standard normal samples of shape `dims` (`np.random.randn(*dims)`); no dims gives
    /// a 0-d array.
    ///
    /// # Errors
    ///
    /// INVALID_ARGUMENT for a bad size.
    #[doc(alias = "np.random.randn")]
    pub fn randn(&self, dims: &[usize]) -> Result<Array> {
        self.client
            .call1("random.randn", &[], size_attr(Some(dims)))
    }

    /// Uniform samples in `[0, 1)` of shape `dims` (`np.random.rand(*dims)`); no dims
    /// gives a 0-d array.
    ///
    /// # Errors
    ///
    /// INVALID_ARGUMENT for a bad size.
    #[doc(alias = "np.random.rand")]
    pub fn rand(&self, dims: &[usize]) -> Result<Array> {
        self.client.call1("random.rand", &[], size_attr(Some(dims)))
    }

    /// Uniform samples in `[0, 1)` of shape `size` (`np.random.random`).
    ///
    /// # Errors
    ///
    /// INVALID_ARGUMENT for a bad size.
    #[doc(alias = "np.random.random")]
    pub fn random(&self, size: &[usize]) -> Result<Array> {
        self.client
            .call1("random.random", &[], size_attr(Some(size)))
    }

    /// Uniform samples in `[low, high)` (`np.random.uniform`); without `size`, the
    /// broadcast shape of `low` and `high`.
    ///
    /// # Errors
    ///
    /// INVALID_ARGUMENT when the parameters do not broadcast to `size`.
    #[doc(alias = "np.random.uniform")]
    pub fn uniform(
        &self,
        low: impl Into<Operand>,
        high: impl Into<Operand>,
        size: Option<&[usize]>,
    ) -> Result<Array> {
        self.client.call1(
            "random.uniform",
            &[low.into(), high.into()],
            size_attr(size),
        )
    }

    /// Poisson samples with expectation `lam` (`np.random.poisson`), int64.
    ///
    /// # Errors
    ///
    /// INVALID_ARGUMENT for a negative `lam` (at the next sync).
    #[doc(alias = "np.random.poisson")]
    pub fn poisson(&self, lam: impl Into<Operand>, size: Option<&[usize]>) -> Result<Array> {
        self.client
            .call1("random.poisson", &[lam.into()], size_attr(size))
    }

    /// Integers in `[low, high)` of an integer dtype (`np.random.randint`).
    ///
    /// # Errors
    ///
    /// INVALID_ARGUMENT when `low >= high` or the range does not fit `dtype`.
    #[doc(alias = "np.random.randint")]
    pub fn randint(&self, low: i64, high: i64, size: &[usize], dtype: DType) -> Result<Array> {
        let attrs = size_attr(Some(size))
            .with("low", Attr::Scalar(Scalar::Int(low as i128)))
            .with("high", Attr::Scalar(Scalar::Int(high as i128)))
            .with("dtype", Attr::DType(dtype));
        self.client.call1("random.randint", &[], attrs)
    }
}
