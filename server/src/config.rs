//! Server configuration, shared by the CLI and the embedded mode.

use std::net::SocketAddr;
use std::time::Duration;

/// How a server runs.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// Embedded CPU workers (1 by default; 0 runs a coordinator alone).
    pub workers: usize,
    /// Bytes of array data the embedded worker may hold.
    pub memory_limit: u64,
    /// Session lease without keep-alive.
    pub lease: Duration,
    /// Compute threads (0 = all cores).
    pub threads: usize,
    /// The worker's name.
    pub worker_name: String,
    /// How often joined workers send heartbeats.
    pub heartbeat: Duration,
    /// A joined worker silent this long is removed and its arrays are lost.
    pub worker_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:0".parse().expect("valid address"),
            workers: 1,
            memory_limit: default_memory_limit(),
            lease: Duration::from_secs(60),
            threads: 0,
            worker_name: "local".to_string(),
            heartbeat: Duration::from_secs(1),
            worker_timeout: Duration::from_secs(5),
        }
    }
}

/// 80% of the machine's memory.
pub fn default_memory_limit() -> u64 {
    let mut sys = sysinfo::System::new();
    sys.refresh_memory();
    let total = sys.total_memory();
    if total == 0 { 8 << 30 } else { total / 10 * 8 }
}

/// Parses `1024`, `512M`, `8G`, `8GiB`, `1.5GB` into bytes.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("not a size: '{s}'"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        u => return Err(format!("unknown size unit '{u}' in '{s}'")),
    };
    if n < 0.0 || !n.is_finite() {
        return Err(format!("not a size: '{s}'"));
    }
    Ok((n * mult as f64) as u64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_parse() {
        assert_eq!(super::parse_bytes("1024").unwrap(), 1024);
        assert_eq!(super::parse_bytes("8GiB").unwrap(), 8 << 30);
        assert_eq!(super::parse_bytes("512M").unwrap(), 512 << 20);
        assert!(super::parse_bytes("x").is_err());
        assert!(super::parse_bytes("5 parsecs").is_err());
    }
}
