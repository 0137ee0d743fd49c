//! `conformance`: answers NumPy-oracle cases through the SDK against a real server.
//!
//! ```text
//! cargo run --release --bin conformance [-- --server URL] [--device DEVICE] [--shard] < cases.jsonl > answers.jsonl
//!
//! `--shard` shards every array input along its first axis over all the server's devices
//! (run it against `ndserve serve --workers 3`): the answers must not change.
//! ```
//!
//! Without `--server` it starts an embedded server. Every case gets an answer line, in
//! order: a panic or a hang (over `--timeout-secs`, default 60) in one case is answered as
//! a failure and the others still run.

use std::io::{BufRead, Write};
use std::time::Duration;

use ndserve_client::Client;
use serde_json::{Value, json};

struct Args {
    server: Option<String>,
    device: Option<String>,
    timeout: Duration,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        server: None,
        device: None,
        timeout: Duration::from_secs(60),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--server" => a.server = Some(it.next().ok_or("--server needs a URL")?),
            "--device" => a.device = Some(it.next().ok_or("--device needs a name")?),
            "--shard" => ndserve_tests::cases::shard_inputs(true),
            "--timeout-secs" => {
                a.timeout = Duration::from_secs(
                    it.next()
                        .ok_or("--timeout-secs needs a number")?
                        .parse()
                        .map_err(|_| "bad --timeout-secs")?,
                )
            }
            "-h" | "--help" => {
                println!(
                    "usage: conformance [--server URL] [--device DEVICE] [--shard] [--timeout-secs N] < cases.jsonl > answers.jsonl"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    Ok(a)
}

async fn connect(args: &Args) -> Result<Client, ndserve_proto::Error> {
    match &args.server {
        Some(url) => Client::connect(url.clone()).await,
        None => Client::embedded().await,
    }
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("conformance: {e}");
            std::process::exit(2);
        }
    };
    if let Some(d) = &args.device {
        eprintln!("conformance: running on device {d}");
    }
    let mut client = match connect(&args).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("conformance: cannot connect: {e}");
            std::process::exit(1);
        }
    };
    let mut scope = None;
    if let Some(d) = &args.device {
        // A bare device (`cuda:0`) means the first worker's device of that name.
        let devices = client.devices().await.unwrap_or_default();
        let full = devices
            .iter()
            .map(|x| x.name.clone())
            .find(|n| n == d || n.ends_with(&format!("/{d}")));
        match full {
            Some(full) => {
                client = client.on_device(&full);
                scope = Some(full);
            }
            None => {
                let names: Vec<_> = devices.iter().map(|x| x.name.as_str()).collect();
                eprintln!("conformance: no device {d}; the server has {names:?}");
                std::process::exit(1);
            }
        }
    }
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let (mut n, mut failed) = (0usize, 0usize);
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let case: Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("conformance: skipping unparsable line: {e}");
                continue;
            }
        };
        let id = case["id"].as_str().unwrap_or("?").to_string();
        let c = client.clone();
        let task = tokio::spawn(async move { ndserve_tests::cases::run_case(&c, &case).await });
        let answer = match tokio::time::timeout(args.timeout, task).await {
            Ok(Ok(r)) => ndserve_tests::cases::answer(&id, r),
            Ok(Err(join)) => {
                json!({"id": id, "ok": false, "error": {"code": "INTERNAL", "message": format!("runner panicked: {join}")}})
            }
            Err(_) => {
                // A hung case may have left the session's pipeline blocked: start afresh.
                if let Ok(c) = connect(&args).await {
                    client = match &scope {
                        Some(d) => c.on_device(d),
                        None => c,
                    };
                }
                json!({"id": id, "ok": false, "error": {"code": "DEADLINE_EXCEEDED", "message": "case timed out"}})
            }
        };
        n += 1;
        if answer["ok"] == json!(false) {
            failed += 1;
        }
        let _ = writeln!(out, "{answer}");
    }
    let _ = out.flush();
    let _ = client.close().await;
    eprintln!("conformance: answered {n} cases ({failed} as errors)");
}
