//! Typed methods of the math ops that are not table rows (`ndserve_proto::ops::math`):
//! `divmod`, `around`/`round`, `angle`, `clip`, `isclose`, `allclose`, `array_equal`.

use ndserve_proto::{Attr, Attrs, Result};

use crate::array::Array;
use crate::operand::Operand;

impl Array {
    /// Floor quotient and remainder, element-wise (`np.divmod`): `(x // y, x % y)`.
    ///
    /// # Errors
    ///
    /// As [`Array::floor_divide`], at the call.
    #[doc(alias = "np.divmod")]
    pub fn divmod(&self, other: impl Into<Operand>) -> Result<(Array, Array)> {
        let mut v = self
            .client()
            .call("divmod", &[self.into(), other.into()], Attrs::new())?;
        let r = v.pop().expect("two outputs");
        let q = v.pop().expect("two outputs");
        Ok((q, r))
    }

    /// Rounds half to even to `decimals` decimals (`np.around`); integers are kept for
    /// `decimals >= 0`, bool gives float16.
    ///
    /// # Errors
    ///
    /// None beyond a closed client.
    #[doc(alias = "np.around")]
    #[doc(alias = "np.round")]
    pub fn around(&self, decimals: i64) -> Result<Array> {
        let attrs = Attrs::new().with("decimals", Attr::Int(decimals));
        self.client().call1("around", &[self.into()], attrs)
    }

    /// Rounds half to even to `decimals` decimals (`np.round`, the same as
    /// [`Array::around`]); integers are kept for `decimals >= 0`, bool gives float16.
    ///
    /// # Errors
    ///
    /// None beyond a closed client.
    #[doc(alias = "np.round")]
    #[doc(alias = "ndarray.round")]
    pub fn round(&self, decimals: i64) -> Result<Array> {
        let attrs = Attrs::new().with("decimals", Attr::Int(decimals));
        self.client().call1("round", &[self.into()], attrs)
    }

    /// The angle of the complex argument (`np.angle`), in degrees when `deg`.
    ///
    /// # Errors
    ///
    /// None beyond a closed client.
    #[doc(alias = "np.angle")]
    pub fn angle(&self, deg: bool) -> Result<Array> {
        let attrs = Attrs::new().with("deg", Attr::Bool(deg));
        self.client().call1("angle", &[self.into()], attrs)
    }

    /// Limits the values to `[a_min, a_max]` (`np.clip`); a `None` bound is not applied.
    /// The result dtype is NumPy's `result_type` of the operands.
    ///
    /// # Errors
    ///
    /// Operands that do not broadcast, or bool/complex combinations NumPy rejects.
    #[doc(alias = "np.clip")]
    pub fn clip(
        &self,
        a_min: Option<impl Into<Operand>>,
        a_max: Option<impl Into<Operand>>,
    ) -> Result<Array> {
        match (a_min, a_max) {
            (None, None) => self.copy(),
            (Some(lo), None) => self.maximum(lo),
            (None, Some(hi)) => self.minimum(hi),
            (Some(lo), Some(hi)) => {
                self.client()
                    .call1("clip", &[self.into(), lo.into(), hi.into()], Attrs::new())
            }
        }
    }

    fn closeness(
        &self,
        op: &str,
        other: impl Into<Operand>,
        rtol: f64,
        atol: f64,
        equal_nan: bool,
    ) -> Result<Array> {
        let attrs = Attrs::new()
            .with("rtol", Attr::Float(rtol))
            .with("atol", Attr::Float(atol))
            .with("equal_nan", Attr::Bool(equal_nan));
        self.client().call1(op, &[self.into(), other.into()], attrs)
    }

    /// Whether `|a - b| <= atol + rtol * |b|`, element-wise (`np.isclose`; NumPy's
    /// defaults are `rtol = 1e-5`, `atol = 1e-8`).
    ///
    /// # Errors
    ///
    /// Operands that do not broadcast, at the call.
    #[doc(alias = "np.isclose")]
    pub fn isclose(
        &self,
        other: impl Into<Operand>,
        rtol: f64,
        atol: f64,
        equal_nan: bool,
    ) -> Result<Array> {
        self.closeness("isclose", other, rtol, atol, equal_nan)
    }

    /// Whether [`Array::isclose`] holds everywhere, as a 0-d bool (`np.allclose`).
    ///
    /// # Errors
    ///
    /// Operands that do not broadcast, at the call.
    #[doc(alias = "np.allclose")]
    pub fn allclose(
        &self,
        other: impl Into<Operand>,
        rtol: f64,
        atol: f64,
        equal_nan: bool,
    ) -> Result<Array> {
        self.closeness("allclose", other, rtol, atol, equal_nan)
    }

    /// Whether both arrays have the same shape and elements, as a 0-d bool
    /// (`np.array_equal`); different shapes give `false`.
    ///
    /// # Errors
    ///
    /// None beyond a closed client.
    #[doc(alias = "np.array_equal")]
    pub fn array_equal(&self, other: impl Into<Operand>, equal_nan: bool) -> Result<Array> {
        let attrs = Attrs::new().with("equal_nan", Attr::Bool(equal_nan));
        self.client()
            .call1("array_equal", &[self.into(), other.into()], attrs)
    }
}
