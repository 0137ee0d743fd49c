//! Products (`vdot`, `inner`, `outer`, `tensordot`, `einsum`, `kron`, `cross`, `trace`),
//! `polyval`, and the introspection and dtype utilities that need no server
//! (`finfo`, `iinfo`, `issubdtype`, `promote_types`, `result_type`, `iscomplexobj`, ...).

use ndserve_proto::dtype_info::{FInfo, IInfo};
use ndserve_proto::{Attr, Attrs, DType, Result};

use crate::array::Array;
use crate::client::Client;
use crate::operand::Operand;

impl Array {
    /// Dot product of the flattened arrays, conjugating `self` if complex.
    #[doc(alias = "np.vdot")]
    pub fn vdot(&self, other: impl Into<Operand>) -> Result<Array> {
        self.client()
            .call1("vdot", &[self.into(), other.into()], Attrs::new())
    }

    /// Inner product over the last axes.
    #[doc(alias = "np.inner")]
    pub fn inner(&self, other: impl Into<Operand>) -> Result<Array> {
        self.client()
            .call1("inner", &[self.into(), other.into()], Attrs::new())
    }

    /// Outer product of the flattened arrays.
    #[doc(alias = "np.outer")]
    pub fn outer(&self, other: impl Into<Operand>) -> Result<Array> {
        self.client()
            .call1("outer", &[self.into(), other.into()], Attrs::new())
    }

    /// `np.tensordot(self, other, axes=n)`: the last `n` axes of `self` with the first `n`
    /// of `other`.
    #[doc(alias = "np.tensordot")]
    pub fn tensordot(&self, other: impl Into<Operand>, n: i64) -> Result<Array> {
        self.client().call1(
            "tensordot",
            &[self.into(), other.into()],
            Attrs::new().with("axes", Attr::Int(n)),
        )
    }

    /// `np.tensordot(self, other, axes=(axes_a, axes_b))`.
    pub fn tensordot_axes(
        &self,
        other: impl Into<Operand>,
        axes_a: &[i64],
        axes_b: &[i64],
    ) -> Result<Array> {
        if axes_a.len() != axes_b.len() {
            return Err(ndserve_proto::Error::invalid(
                "tensordot",
                "axes",
                "shape-mismatch for sum",
            ));
        }
        let mut v = axes_a.to_vec();
        v.extend_from_slice(axes_b);
        self.client().call1(
            "tensordot",
            &[self.into(), other.into()],
            Attrs::new().with("axes", Attr::Ints(v)),
        )
    }

    /// Kronecker product.
    #[doc(alias = "np.kron")]
    pub fn kron(&self, other: impl Into<Operand>) -> Result<Array> {
        self.client()
            .call1("kron", &[self.into(), other.into()], Attrs::new())
    }

    /// Cross product of 2- or 3-vectors along the last axes (`np.cross(a, b)`); use
    /// [`Client::call`] with `axisa`/`axisb`/`axisc`/`axis` attributes for other axes.
    #[doc(alias = "np.cross")]
    pub fn cross(&self, other: impl Into<Operand>) -> Result<Array> {
        self.client()
            .call1("cross", &[self.into(), other.into()], Attrs::new())
    }

    /// `np.trace(self, offset, axis1, axis2, dtype)`.
    #[doc(alias = "np.trace")]
    pub fn trace(
        &self,
        offset: i64,
        axis1: i64,
        axis2: i64,
        dtype: Option<DType>,
    ) -> Result<Array> {
        let mut attrs = Attrs::new()
            .with("offset", Attr::Int(offset))
            .with("axis1", Attr::Int(axis1))
            .with("axis2", Attr::Int(axis2));
        if let Some(d) = dtype {
            attrs.set("dtype", Attr::DType(d));
        }
        self.client().call1("trace", &[self.into()], attrs)
    }

    /// `np.polyval(p, self)`: the polynomial `p` (highest degree first) at `self`.
    #[doc(alias = "np.polyval")]
    pub fn polyval(&self, p: &Array) -> Result<Array> {
        self.client()
            .call1("polyval", &[p.into(), self.into()], Attrs::new())
    }

    /// True when the dtype is complex.
    #[doc(alias = "np.iscomplexobj")]
    pub fn iscomplexobj(&self) -> bool {
        self.dtype().is_complex()
    }

    /// True when the dtype is not complex.
    #[doc(alias = "np.isrealobj")]
    pub fn isrealobj(&self) -> bool {
        !self.iscomplexobj()
    }

    /// Always false: NumPy's `isscalar` is false for arrays, 0-d ones included.
    #[doc(alias = "np.isscalar")]
    pub fn isscalar(&self) -> bool {
        false
    }
}

impl Client {
    /// `np.einsum(subscripts, *operands)`.
    #[doc(alias = "np.einsum")]
    pub fn einsum(&self, subscripts: &str, operands: &[Operand]) -> Result<Array> {
        self.call1(
            "einsum",
            operands,
            Attrs::new().with("subscripts", Attr::Str(subscripts.to_string())),
        )
    }
}

/// `np.finfo(dtype)`, answered locally.
#[doc(alias = "np.finfo")]
pub fn finfo(dtype: DType) -> Result<FInfo> {
    ndserve_proto::dtype_info::finfo(dtype)
}

/// `np.iinfo(dtype)`, answered locally.
#[doc(alias = "np.iinfo")]
pub fn iinfo(dtype: DType) -> Result<IInfo> {
    ndserve_proto::dtype_info::iinfo(dtype)
}

/// `np.issubdtype(a, b)` for concrete dtypes, answered locally.
#[doc(alias = "np.issubdtype")]
pub fn issubdtype(a: DType, b: DType) -> bool {
    ndserve_proto::dtype_info::issubdtype(a, b)
}

pub use ndserve_proto::dtype::{promote_types, result_type};
