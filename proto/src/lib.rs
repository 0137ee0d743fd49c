//! # ndserve-proto: the contract both sides compile
//!
//! ndserve is a gRPC array-compute server with the NumPy API of `tf.experimental.numpy`.
//! This crate is what the client and the server must agree on:
//!
//! - [`pb`]: the generated gRPC messages and services (`ndserve.v1`);
//! - [`DType`] with NumPy 2 type promotion, including NEP 50 weak Python scalars
//!   ([`promote_types`], [`result_type`]);
//! - [`Shape`] helpers: broadcasting and axis normalisation ([`shape`]);
//! - [`Error`] and its stable [`ErrorCode`], with the mapping to and from `tonic::Status`;
//! - the op catalogue ([`ops`]): every op's name, parameters and its dtype/shape rule
//!   (`infer`), shared by the client (errors before anything is sent) and the server
//!   (memory accounting, placement).
//!
//! ```
//! use ndserve_proto::{DType, promote_types};
//! assert_eq!(promote_types(DType::Int16, DType::UInt8), DType::Int16);
//! assert_eq!(promote_types(DType::Int32, DType::Float32), DType::Float64);
//! ```
#![warn(missing_docs)]

pub mod attrs;
pub mod dtype;
pub mod dtype_info;
pub mod error;
pub mod ops;
pub mod scalar;
pub mod shape;
mod wire;

pub use attrs::{Attr, Attrs, IndexItem};
pub use dtype::{DType, Kind, Operand, promote_types, result_type};
pub use error::{Error, ErrorCode, Result};
pub use ops::{Input, Meta, OpDef};
pub use scalar::Scalar;
pub use shape::Shape;

/// The protocol version this build speaks. A different major version is refused when a
/// session opens (FAILED_PRECONDITION).
pub const PROTOCOL_MAJOR: u32 = 1;
/// Minor protocol version: additions that old peers can ignore. 1: `Barrier` commands on
/// the Execute stream (a sync or a small fetch without a separate call).
pub const PROTOCOL_MINOR: u32 = 1;
/// The most bytes a `Barrier` may fetch inline (its handles' data together).
pub const INLINE_FETCH_BYTES: u64 = 64 << 10;
/// The crate version, reported by the server and sent by the client.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Default chunk size of uploads and fetches.
pub const CHUNK_BYTES: usize = 1 << 20;

/// Generated protobuf messages and gRPC services of package `ndserve.v1`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("ndserve.v1");

    /// The encoded file descriptor set, for gRPC reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/ndserve_descriptor.bin"));
}
