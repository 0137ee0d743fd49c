//! The CPU kernel registry: op name to kernel, an explicit list built from each family's
//! `kernels()`.

use std::collections::HashMap;
use std::sync::OnceLock;

use ndserve_proto::{Attrs, Error, Meta, Result, Scalar};

use super::array::HostArray;

/// One input of a kernel: an array, or a Python scalar operand.
#[derive(Clone, Debug)]
pub enum CpuInput {
    /// An array.
    Array(HostArray),
    /// A Python scalar.
    Scalar(Scalar),
}

impl CpuInput {
    /// The input as the contract's [`ndserve_proto::Input`], for `infer`/`plan`.
    pub fn meta(&self) -> ndserve_proto::Input {
        match self {
            CpuInput::Array(a) => ndserve_proto::Input::Array(a.meta()),
            CpuInput::Scalar(s) => ndserve_proto::Input::Scalar(*s),
        }
    }

    /// The input as an array of `dtype`: a scalar becomes a 0-d array of it, an array is cast.
    pub fn to_array(&self, dtype: ndserve_proto::DType) -> HostArray {
        match self {
            CpuInput::Array(a) => super::cast::cast(a, dtype),
            CpuInput::Scalar(s) => super::cast::scalar_array(s, dtype),
        }
    }

    /// The input as an array of its own dtype (a scalar takes its default dtype).
    pub fn as_array(&self) -> HostArray {
        match self {
            CpuInput::Array(a) => a.clone(),
            CpuInput::Scalar(s) => {
                super::cast::scalar_array(s, ndserve_proto::ops::scalar_dtype(s))
            }
        }
    }
}

/// What a kernel receives.
pub struct KernelCall<'a> {
    /// Op name.
    pub op: &'a str,
    /// Inputs.
    pub inputs: &'a [CpuInput],
    /// Attributes.
    pub attrs: &'a Attrs,
    /// The outputs `infer` promised; the kernel must produce exactly these.
    pub outs: &'a [Meta],
    /// The contract's metas of the inputs (for the `plan` functions).
    pub metas: &'a [ndserve_proto::Input],
}

impl KernelCall<'_> {
    /// The contract's view of this call.
    pub fn call(&self) -> ndserve_proto::ops::Call<'_> {
        ndserve_proto::ops::Call {
            op: self.op,
            inputs: self.metas,
            attrs: self.attrs,
        }
    }
}

/// A CPU kernel.
pub type KernelFn = fn(&KernelCall<'_>) -> Result<Vec<HostArray>>;

fn registry() -> &'static HashMap<&'static str, KernelFn> {
    static REG: OnceLock<HashMap<&'static str, KernelFn>> = OnceLock::new();
    REG.get_or_init(|| {
        let mut m = HashMap::new();
        for list in [
            super::elementwise::kernels(),
            super::creation::kernels(),
            super::creation_matrix::kernels(),
            super::reduce::kernels(),
            super::stats::kernels(),
            super::shape::kernels(),
            super::index::kernels(),
            super::data_shaped::kernels(),
            super::linalg::kernels(),
            super::math::kernels(),
            super::numpy_linalg::kernels(),
            super::products::kernels(),
            super::random::kernels(),
            super::fft::kernels(),
            super::counting::kernels(),
            super::fused::kernels(),
        ] {
            for (name, k) in list {
                m.insert(name, k);
            }
        }
        m
    })
}

/// Every op with a CPU kernel.
pub fn supported_ops() -> Vec<&'static str> {
    let mut v: Vec<_> = registry().keys().copied().collect();
    v.sort_unstable();
    v
}

/// Runs `op` on the CPU. `outs` are the metas `infer` gave (upper bounds for a
/// data-dependent call); a kernel that returns anything else is a bug, reported as INTERNAL
/// rather than stored.
pub fn run(op: &str, inputs: &[CpuInput], attrs: &Attrs, outs: &[Meta]) -> Result<Vec<HostArray>> {
    let k = registry()
        .get(op)
        .ok_or_else(|| Error::UnknownOp { op: op.to_string() })?;
    let metas: Vec<_> = inputs.iter().map(CpuInput::meta).collect();
    let call = KernelCall {
        op,
        inputs,
        attrs,
        outs,
        metas: &metas,
    };
    let res = k(&call)?;
    // A data-dependent call's metas are upper bounds; any other must be met exactly.
    let bounded = ndserve_proto::ops::is_data_dependent(op, &metas, attrs);
    let fits = |a: &HostArray, m: &Meta| {
        let got = a.meta();
        if bounded {
            ndserve_proto::ops::within_bound(&got, m)
        } else {
            got == *m
        }
    };
    if res.len() != outs.len() || res.iter().zip(outs).any(|(a, m)| !fits(a, m)) {
        let got: Vec<_> = res.iter().map(|a| a.meta()).collect();
        return Err(Error::internal(
            op,
            format!("kernel produced {got:?}, infer promised {outs:?}"),
        ));
    }
    Ok(res)
}
