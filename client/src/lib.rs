//! # ndserve-client: remote NumPy arrays behind cheap handles
//!
//! The Rust SDK of [ndserve](https://github.com/ndserve/ndserve), a gRPC array-compute
//! server with the NumPy API of `tf.experimental.numpy` and NumPy 2 semantics. Arrays
//! live on the server; the client holds [`Array`] handles to them.
//!
//! - [`Client`] opens a session and keeps it alive. [`Client::embedded`] (cargo feature
//!   `embedded`, on by default) starts a server inside the process, for tests and scripts.
//! - Ops return at once: the client checks dtypes and shapes locally with the same rules
//!   the server uses ([`ndserve_proto::ops::infer`]), allocates the output handle itself
//!   and queues the call on the session's pipeline. Errors NumPy would raise for the
//!   arguments (a broadcast mismatch, a bad axis) are reported at the call, before
//!   anything is sent.
//! - Sync points ([`Array::to_ndarray`], [`Array::sync`], [`Client::sync_all`]) wait for
//!   the queued ops they depend on and report any error the server met, with the op that
//!   caused it.
//! - Method names are NumPy's (`add`, `sum(axis, keepdims)`, `matmul`, `concatenate`);
//!   the arithmetic operators work on `Array`, `&Array`, `Result<Array>` and Rust
//!   numbers, which act as NumPy 2's weak Python scalars (NEP 50): `int8_array + 1` stays
//!   `int8`, `int8_array + 1.5` is `float64`.
//! - [`blocking`] has the same API without `async`, for scripts.
//!
//! ## Quickstart
//!
//! ```
//! use ndarray::array;
//! use ndserve_client::{Client, DType};
//!
//! # fn main() -> ndserve_client::Result<()> {
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! // A server inside this process; `Client::connect("http://host:50051")` for a remote one.
//! let client = Client::embedded().await?;
//!
//! let a = client.upload(&array![[1.0f32, 2.0], [3.0, 4.0]]).await?;
//! let b = client.ones(&[2], DType::Float32)?;
//!
//! // Ops are queued at once; shapes and dtypes are known locally.
//! let c = ((&a + &b)? * 2.0)?; // broadcasting, a Python-scalar 2.0 keeps float32
//! assert_eq!(c.shape(), &[2, 2]);
//! assert_eq!(c.dtype(), DType::Float32);
//! let total = c.sum(None, false)?;
//!
//! // Fetching waits for the ops it depends on.
//! assert_eq!(c.to_ndarray::<f32>().await?, array![[4.0f32, 6.0], [8.0, 10.0]].into_dyn());
//! assert_eq!(total.item::<f32>().await?, 28.0);
//!
//! // An error NumPy would raise is reported at the call, before anything is sent.
//! let err = a.matmul(&client.zeros(&[3], DType::Float32)?).unwrap_err();
//! assert_eq!(err.code(), ndserve_client::ErrorCode::InvalidArgument);
//!
//! client.close().await?;
//! # Ok(())
//! # })
//! # }
//! ```
//!
//! ## Latency
//!
//! A sync, or a fetch of at most 64 KiB, is one message each way on the session's
//! stream. What else it costs depends on where the calling code runs. Under
//! `#[tokio::main]`, `main` runs on the main thread, outside the runtime's worker threads
//! that run the session's background task: each command then wakes a worker and each
//! reply wakes the main thread, two hand-offs between threads per round trip. Code in a
//! task of the runtime avoids both: on a 2-vCPU machine a tiny op and its sync took
//! 71-72 us (p50) from a spawned task and 110-116 us from `main`, in the same run
//! (`sync_roundtrip_in_task_p50` and `sync_roundtrip_p50` in `BENCHMARKS.md`). A loop
//! that waits on the server at every step belongs in a task:
//!
//! ```
//! use ndserve_client::{Client, DType};
//!
//! # fn main() -> ndserve_client::Result<()> {
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let client = Client::embedded().await?;
//! let mut x = client.zeros(&[4], DType::Float64)?;
//! let total = tokio::spawn(async move {
//!     for _ in 0..10 {
//!         x = (&x + 1.0)?;
//!         x.sync().await?; // each step waits for the server
//!     }
//!     x.sum(None, false)?.item::<f64>().await
//! })
//! .await
//! .expect("the task ran to the end")?;
//! assert_eq!(total, 40.0);
//! # Ok(())
//! # })
//! # }
//! ```
//!
//! ## Errors
//!
//! Every call returns [`Result`] with [`Error`], the error type of the whole system: its
//! variants name the op and the argument at fault, and its stable [`ErrorCode`] survives
//! the wire. Transport failures are [`Error::Unavailable`] ([`Error::is_retryable`]).
#![warn(missing_docs)]

#[cfg(target_endian = "big")]
compile_error!(
    "ndserve-client supports little-endian hosts only (the wire format is little-endian)"
);

mod array;
pub mod blocking;
mod client;
mod distribute;
mod element;
mod methods;
mod numpy_behavior;
mod operand;
mod operators;
mod ops_counting;
mod ops_creation;
mod ops_data_shaped;
mod ops_fft;
mod ops_index;
pub mod ops_linalg;
mod ops_math;
pub mod ops_numpy_linalg;
mod ops_order_stats;
mod ops_shape;
mod ops_stats;
mod placement;
mod random;
#[cfg(test)]
mod tests;

pub use array::{Array, ArrayState, Description};
pub use client::{Client, ClientOptions};
pub use distribute::{Layout, PartInfo, ReplicaReduce};
pub use element::Element;
pub use numpy_behavior::experimental_enable_numpy_behavior;
pub use operand::{Axis, Idx, Operand};
pub use ops_data_shaped::Unique;
pub use ops_fft::{Fft, FftArgs, FftNorm, FftnArgs};
pub use ops_index::IndexArg;
pub use ops_numpy_linalg::{Linalg, NormArgs, NormOrd};
pub use ops_order_stats::Kth;
pub use ops_shape::Sections;
pub use random::Random;

pub use ndserve_proto::{
    Attr, Attrs, DType, Error, ErrorCode, Kind, Meta, PROTOCOL_MAJOR, PROTOCOL_MINOR, Result,
    Scalar, Shape, pb,
};

/// The contract crate (dtypes, promotion, the op catalogue), re-exported.
pub use ndserve_proto as proto;
