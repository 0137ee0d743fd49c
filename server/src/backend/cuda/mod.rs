//! The CUDA backend (GPU devices `cuda:N`).
//!
//! [`codegen`] writes the kernels' CUDA C++ ([`gather`] and [`radix`] those of `take`
//! and the sorts) and is built everywhere. With the `cuda`
//! feature, [`device`] holds a device's memory (a caching allocator under a per-device
//! limit), transfers through pinned staging buffers, the NVRTC kernel cache and cuBLAS, and
//! [`ops`] runs the native ops. The libraries are loaded at run time (cudarc's dynamic
//! loading): a `cuda` build starts on a machine without them and serves the CPU only.

/// The value of a `Result`, or an early `Some(Err(..))`: a native op whose call is wrong
/// answers that error instead of falling back to the CPU (`ops` and `reorder`).
#[cfg(feature = "cuda")]
macro_rules! native_try {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Some(Err(e)),
        }
    };
}

pub mod codegen;
#[cfg(feature = "cuda")]
pub mod device;
pub mod gather;
#[cfg(all(test, feature = "cuda"))]
mod nvrtc_check;
#[cfg(feature = "cuda")]
pub mod ops;
pub mod radix;
#[cfg(feature = "cuda")]
mod reorder;

/// Ops with a GPU kernel besides the elementwise rows and the reductions (the arms of
/// `ops::run`); the coverage table's GPU column reads [`is_native`].
pub const NATIVE_OPS: &[&str] = &[
    "astype",
    "where",
    "reshape",
    "ravel",
    "flatten",
    "expand_dims",
    "squeeze",
    "copy",
    "transpose",
    "getitem",
    "var",
    "std",
    "broadcast_to",
    "concatenate",
    "stack",
    "cumsum",
    "cumprod",
    "take",
    "sort",
    "argsort",
    "partition",
    "argpartition",
    "matmul",
    "dot",
    "clip",
    "fused",
];

/// Whether `op` has a GPU kernel (for some dtypes and layouts; other calls of it run the
/// CPU kernel on copies).
pub fn is_native(op: &str) -> bool {
    NATIVE_OPS.contains(&op)
        || ndserve_proto::ops::elementwise::row(op).is_some_and(|r| r.cuda.is_some())
        || ndserve_proto::ops::reduce::REDUCTIONS
            .iter()
            .any(|r| r.0 == op)
}
