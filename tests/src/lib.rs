//! # ndserve-tests
//!
//! End-to-end tests against real servers, the NumPy conformance runner (`conformance`) and
//! the benchmarks. [`cases`] decodes the conformance kit's JSON (`../shared/conformance/
//! FORMAT.md`) into SDK calls and encodes results back.

pub mod bench;
pub mod cases;
