//! The CPU backend: host arrays and the kernels of every op, over ndarray, faer and rayon.

pub mod array;
pub mod cast;
pub mod counting;
pub mod creation;
pub mod creation_matrix;
pub mod data_shaped;
pub mod elem;
pub mod elementwise;
pub mod fft;
pub mod fused;
pub mod gather;
pub mod index;
pub mod kernels;
pub mod linalg;
pub mod math;
pub mod numpy_linalg;
pub mod products;
pub mod radix;
pub mod random;
pub mod reduce;
pub mod shape;
pub mod stats;
pub mod stream_store;
#[cfg(test)]
pub(crate) mod testing;
pub mod vecmath;

pub use array::{Element, HostArray, Nd};
pub use kernels::{CpuInput, KernelCall, KernelFn, run, supported_ops};
