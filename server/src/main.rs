//! `ndserve`: the server binary.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Parser, Subcommand};
use ndserve_server::config::{ServerConfig, default_memory_limit, parse_bytes};
use ndserve_server::worker::process::{WorkerConfig, start_worker};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// ndserve: a gRPC array-compute server with the NumPy API of tf.experimental.numpy.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// Log format: `text` or `json` (for containers). The level comes from RUST_LOG.
    #[arg(
        long,
        global = true,
        env = "NDSERVE_LOG_FORMAT",
        default_value = "text"
    )]
    log_format: String,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a coordinator with an embedded CPU worker (the default command).
    Serve(ServeArgs),
    /// Run a worker that joins a coordinator (`ndserve serve --workers 0` runs one alone).
    Worker(WorkerArgs),
    /// Print the workers and devices of a server, with their live arrays, bytes and state.
    Devices {
        /// The server.
        #[arg(long, env = "NDSERVE_SERVER", default_value = "http://127.0.0.1:50051")]
        server: String,
    },
    /// Check that a server answers its health service (exit 0 when serving).
    Health {
        /// The server.
        #[arg(long, env = "NDSERVE_SERVER", default_value = "http://127.0.0.1:50051")]
        server: String,
    },
    /// Benchmark the first GPU: each figure as a ratio to a limit measured in the same run.
    #[cfg(feature = "cuda")]
    GpuBench {
        /// Smaller sizes (seconds instead of a minute).
        #[arg(long)]
        quick: bool,
    },
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "NDSERVE_LISTEN", default_value = "127.0.0.1:50051")]
    listen: SocketAddr,
    /// Embedded CPU workers (0 runs a coordinator alone).
    #[arg(long, env = "NDSERVE_WORKERS", default_value_t = 1)]
    workers: usize,
    /// Array memory limit of the embedded worker (e.g. `8GiB`); default 80% of RAM.
    #[arg(long, env = "NDSERVE_MEMORY_LIMIT", value_parser = parse_bytes)]
    memory_limit: Option<u64>,
    /// Session lease in seconds without keep-alive.
    #[arg(long, env = "NDSERVE_LEASE_SECS", default_value_t = 60)]
    lease_secs: u64,
    /// Compute threads (0 = all cores).
    #[arg(long, env = "NDSERVE_THREADS", default_value_t = 0)]
    threads: usize,
    /// The embedded worker's name.
    #[arg(long, env = "NDSERVE_NAME", default_value = "local")]
    name: String,
    /// Milliseconds without a heartbeat after which a joined worker is removed and its
    /// arrays are lost (workers beat every fifth of it, at most every second).
    #[arg(long, env = "NDSERVE_WORKER_TIMEOUT_MS", default_value_t = 5000)]
    worker_timeout_ms: u64,
}

#[derive(clap::Args, Debug)]
struct WorkerArgs {
    /// The coordinator's URL.
    #[arg(long, env = "NDSERVE_JOIN")]
    join: String,
    /// Address to listen on for the coordinator and other workers.
    #[arg(long, env = "NDSERVE_LISTEN", default_value = "127.0.0.1:50052")]
    listen: SocketAddr,
    /// The URL others reach this worker at (default: http:// and the bound address; set
    /// it when listening on 0.0.0.0, e.g. `http://worker-1:50052`).
    #[arg(long, env = "NDSERVE_ADVERTISE")]
    advertise: Option<String>,
    /// The worker's name, unique in the cluster (default: the host name).
    #[arg(long, env = "NDSERVE_NAME")]
    name: Option<String>,
    /// Array memory limit (e.g. `8GiB`); default 80% of RAM.
    #[arg(long, env = "NDSERVE_MEMORY_LIMIT", value_parser = parse_bytes)]
    memory_limit: Option<u64>,
    /// Compute threads (0 = all cores).
    #[arg(long, env = "NDSERVE_THREADS", default_value_t = 0)]
    threads: usize,
}

/// `ndserve` with no subcommand serves with the defaults (and the environment).
#[derive(Parser, Debug)]
struct ServeOnly {
    #[command(flatten)]
    args: ServeArgs,
}

impl Default for ServeArgs {
    fn default() -> Self {
        ServeOnly::parse_from(["ndserve"]).args
    }
}

fn init_tracing(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // A span's close line carries its duration: per RPC and per op at debug level.
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

async fn serve(args: ServeArgs) -> Result<(), Box<dyn std::error::Error>> {
    let config = ServerConfig {
        listen: args.listen,
        workers: args.workers,
        memory_limit: args.memory_limit.unwrap_or_else(default_memory_limit),
        lease: Duration::from_secs(args.lease_secs.max(1)),
        threads: args.threads,
        worker_name: args.name,
        worker_timeout: Duration::from_millis(args.worker_timeout_ms.max(100)),
        heartbeat: Duration::from_millis((args.worker_timeout_ms / 5).clamp(20, 1000)),
    };
    let server = ndserve_server::start(config.clone()).await?;
    let devices: Vec<String> = server
        .coordinator()
        .devices()
        .into_iter()
        .map(|d| d.status.name)
        .collect();
    tracing::info!(
        address = %server.local_addr(),
        devices = ?devices,
        memory_limit = config.memory_limit,
        lease_secs = config.lease.as_secs(),
        version = ndserve_proto::VERSION,
        "ndserve serving"
    );
    shutdown_signal().await;
    tracing::info!("shutting down");
    server.shutdown().await;
    Ok(())
}

async fn worker(args: WorkerArgs) -> Result<(), Box<dyn std::error::Error>> {
    let name = args.name.unwrap_or_else(|| {
        sysinfo::System::host_name()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "worker".into())
    });
    let config = WorkerConfig {
        join: args.join,
        listen: args.listen,
        advertise: args.advertise,
        name: name.clone(),
        memory_limit: args.memory_limit.unwrap_or_else(default_memory_limit),
        threads: args.threads,
    };
    let running = start_worker(config.clone()).await?;
    tracing::info!(
        worker = %name,
        address = %running.local_addr(),
        endpoint = %running.endpoint(),
        coordinator = %config.join,
        memory_limit = config.memory_limit,
        "ndserve worker serving"
    );
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.shutdown().await;
    Ok(())
}

async fn devices(server: String) -> Result<(), Box<dyn std::error::Error>> {
    let channel = tonic::transport::Endpoint::from_shared(server)?
        .connect_timeout(Duration::from_secs(3))
        .connect()
        .await?;
    let mut client = ndserve_proto::pb::array_service_client::ArrayServiceClient::new(channel);
    let devices = client
        .list_devices(ndserve_proto::pb::ListDevicesRequest {})
        .await
        .map_err(ndserve_proto::Error::from_call)?
        .into_inner()
        .devices;
    println!(
        "{:<28} {:<16} {:<6} {:<6} {:>8} {:>14} {:>14}  DESCRIPTION",
        "DEVICE", "WORKER", "KIND", "STATE", "ARRAYS", "BYTES", "LIMIT"
    );
    for d in devices {
        println!(
            "{:<28} {:<16} {:<6} {:<6} {:>8} {:>14} {:>14}  {}",
            d.name,
            d.worker,
            d.kind,
            d.state,
            d.live_arrays,
            d.live_bytes,
            d.memory_limit_bytes,
            d.description
        );
    }
    Ok(())
}

async fn health(server: String) -> Result<(), Box<dyn std::error::Error>> {
    let channel = tonic::transport::Endpoint::from_shared(server)?
        .connect_timeout(Duration::from_secs(3))
        .connect()
        .await?;
    let mut client = tonic_health::pb::health_client::HealthClient::new(channel);
    let resp = client
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await?
        .into_inner();
    if resp.status == tonic_health::pb::health_check_response::ServingStatus::Serving as i32 {
        println!("SERVING");
        Ok(())
    } else {
        Err(format!("not serving (status {})", resp.status).into())
    }
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    init_tracing(&cli.log_format);
    let result = match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => serve(args).await,
        Command::Worker(args) => worker(args).await,
        Command::Devices { server } => devices(server).await,
        Command::Health { server } => health(server).await,
        #[cfg(feature = "cuda")]
        Command::GpuBench { quick } => ndserve_server::worker::gpu_bench::run(quick)
            .await
            .map(|rows| print!("{}", ndserve_server::worker::gpu_bench::table(&rows)))
            .map_err(Into::into),
    };
    if let Err(e) = result {
        eprintln!("ndserve: {e}");
        std::process::exit(1);
    }
}
