//! # ndserve-server
//!
//! The coordinator (sessions, handles, the op pipeline, the gRPC service) and the workers
//! (devices that hold arrays and run kernels) of ndserve. The coordinator talks to every
//! worker through [`worker::Worker`], whether the worker lives in the same process or not.

pub mod backend;
