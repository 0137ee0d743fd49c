//! Compiles the `.proto` contract with protox (no system `protoc` is needed).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "ndserve/v1/types.proto",
        "ndserve/v1/array_service.proto",
        "ndserve/v1/worker_service.proto",
    ];
    for f in files {
        println!("cargo:rerun-if-changed={f}");
    }
    let fds = protox::compile(files, ["."])?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("ndserve_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure().bytes(".").compile_fds(fds)?;
    Ok(())
}
