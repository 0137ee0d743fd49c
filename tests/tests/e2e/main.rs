//! End-to-end tests: the SDK against a real server on an OS-assigned port.
//!
//! One test binary with modules: each binary links the whole tree, and CI has two cores.

mod counting;
mod coverage;
mod data_shaped;
mod distribute;
mod fft;
mod fusion;
mod numpy_linalg;
mod raw;
mod sdk;
mod sdk_surface;

/// A fresh server with an embedded CPU worker on 127.0.0.1:0.
pub async fn server() -> ndserve_server::RunningServer {
    ndserve_server::start(ndserve_server::ServerConfig::default())
        .await
        .expect("server starts")
}
