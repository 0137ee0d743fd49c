//! The CUDA backend (GPU devices `cuda:N`).
//!
//! [`codegen`] writes the kernels' CUDA C++ and is built everywhere. With the `cuda`
//! feature, [`device`] holds a device's memory (a caching allocator under a per-device
//! limit), transfers through pinned staging buffers, the NVRTC kernel cache and cuBLAS, and
//! [`ops`] runs the native ops. The libraries are loaded at run time (cudarc's dynamic
//! loading): a `cuda` build starts on a machine without them and serves the CPU only.

pub mod codegen;
#[cfg(feature = "cuda")]
pub mod device;
#[cfg(all(test, feature = "cuda"))]
mod nvrtc_check;
#[cfg(feature = "cuda")]
pub mod ops;
