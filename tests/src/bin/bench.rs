//! `bench`: ndserve's benchmark suite (issue 6), with NumPy and the machine's own limits as
//! references measured in the same run.
//!
//! ```text
//! cargo run --release --bin bench -- [--server URL] [--quick] [--json] [--no-numpy]
//! ```
//!
//! Without `--server` it starts an embedded server in this process (which also lets it
//! read the server's resident memory). It prints one JSON object per result on stdout as
//! each is measured, `{"name", "value", "unit"}` plus `ref_name`, `ref_value` and `ratio`
//! (above 1.0 ndserve wins) where a reference exists, then a table of all of them. With
//! `--json` the table goes to stderr, so stdout holds JSON lines only. Notes and progress
//! go to stderr. `BENCHMARKS.md` describes the workloads and a run's figures.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use ndserve_client::Client;
use ndserve_tests::bench::{self, Recorder, ServerKind, Sizes, numpy_ref, report};

// As the `ndserve` binary: an embedded server should allocate as the real one does.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// ndserve's benchmark suite.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// The server to measure (`http://host:port`); without it, an embedded one.
    #[arg(long)]
    server: Option<String>,
    /// Smaller sizes: the whole run takes well under a minute.
    #[arg(long)]
    quick: bool,
    /// Keep stdout to JSON lines (the table goes to stderr).
    #[arg(long)]
    json: bool,
    /// Skip the NumPy reference run.
    #[arg(long)]
    no_numpy: bool,
    /// Run the several-worker benchmarks instead: remote fetch and sharded speed-up, with
    /// coordinator and worker processes started from the `ndserve` binary.
    #[arg(long)]
    cluster: bool,
    /// The `ndserve` binary for `--cluster` (default: beside this one).
    #[arg(long)]
    ndserve: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let sizes = if args.quick {
        Sizes::quick()
    } else {
        Sizes::full()
    };
    let result = if args.cluster {
        run_cluster(&args).await
    } else {
        run(&args, &sizes).await
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args, sizes: &Sizes) -> bench::Result<()> {
    let numpy = numpy_rows(args, sizes);
    let (client, kind) = match &args.server {
        Some(url) => (Client::connect(url.clone()).await?, ServerKind::Remote),
        None => (Client::embedded().await?, ServerKind::Embedded),
    };
    eprintln!("bench: measuring {} ({kind:?})", client.url());
    let mut rec = Recorder::new(numpy, |row| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", row.to_json());
        let _ = out.flush();
    });
    let result = bench::run_suite(&client, sizes, kind, &mut rec).await;
    let table = report::table(&rec.into_rows());
    if args.json {
        eprint!("\n{table}");
    } else {
        print!("\n{table}");
    }
    client.close().await?;
    result
}

/// The several-worker benchmarks ([`bench::cluster`]).
async fn run_cluster(args: &Args) -> bench::Result<()> {
    let bin = args
        .ndserve
        .clone()
        .or_else(bench::cluster::ndserve_binary)
        .ok_or("--cluster needs the ndserve binary: cargo build --release --bin ndserve, or --ndserve PATH")?;
    let sizes = if args.quick {
        bench::cluster::ClusterSizes::quick()
    } else {
        bench::cluster::ClusterSizes::full()
    };
    eprintln!("bench: cluster benchmarks with {}", bin.display());
    let mut rec = Recorder::new(Vec::new(), |row| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", row.to_json());
        let _ = out.flush();
    });
    let result = bench::cluster::run(&bin, &sizes, &mut rec).await;
    let table = report::table(&rec.into_rows());
    if args.json {
        eprint!("\n{table}");
    } else {
        print!("\n{table}");
    }
    result
}

/// NumPy's figures, or none (with a note) without NumPy or with `--no-numpy`.
fn numpy_rows(args: &Args, sizes: &Sizes) -> Vec<report::Row> {
    if args.no_numpy {
        return Vec::new();
    }
    eprintln!(
        "bench: timing NumPy ({})",
        numpy_ref::script_path().display()
    );
    numpy_ref::measure(sizes).unwrap_or_else(|note| {
        eprintln!("bench: no NumPy references: {note}");
        Vec::new()
    })
}
