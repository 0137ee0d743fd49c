//! `ndserve`: the server binary.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Parser, Subcommand};
use ndserve_server::config::{ServerConfig, default_memory_limit, parse_bytes};

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
    /// Check that a server answers its health service (exit 0 when serving).
    Health {
        /// The server.
        #[arg(long, env = "NDSERVE_SERVER", default_value = "http://127.0.0.1:50051")]
        server: String,
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
        .with_writer(std::io::stderr);
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
    };
    let server = ndserve_server::start(config.clone()).await?;
    let devices: Vec<String> = server
        .coordinator()
        .devices()
        .into_iter()
        .map(|(_, d)| d.name)
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
        Command::Health { server } => health(server).await,
    };
    if let Err(e) = result {
        eprintln!("ndserve: {e}");
        std::process::exit(1);
    }
}
