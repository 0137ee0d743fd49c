//! NumPy's figures for the same workloads: runs `bench/numpy_ref.py` in a subprocess and
//! reads its JSON lines.
//!
//! The environment of this machine sets `OPENBLAS_CORETYPE` (and may set
//! `OPENBLAS_L2_SIZE`), which slow OpenBLAS's matmul; they are removed for that one
//! command only. The script runs before any ndserve workload, so OpenBLAS threads still
//! spinning after it cannot slow ndserve down.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::{Row, Sizes, Unit};

/// The interpreter that runs the script.
const PYTHON: &str = "python3";

/// Environment variables removed for the NumPy command.
const OPENBLAS_VARS: [&str; 2] = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"];

/// `bench/numpy_ref.py` in this repository.
pub fn script_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bench/numpy_ref.py")
}

/// The script's arguments for `sizes`: every size it mirrors, spelled out, so the script
/// and the suite cannot disagree.
pub fn script_args(sizes: &Sizes) -> Vec<String> {
    let matmul: Vec<String> = sizes.matmul_sizes.iter().map(|n| n.to_string()).collect();
    [
        ("--kernel-len", sizes.kernel_len.to_string()),
        ("--reps", sizes.reps.to_string()),
        ("--loop-iters", sizes.loop_iters.to_string()),
        ("--loop-len", sizes.loop_len.to_string()),
        ("--matmul", matmul.join(",")),
    ]
    .into_iter()
    .flat_map(|(flag, v)| [flag.to_string(), v])
    .collect()
}

/// Runs the script for `sizes` and returns its rows.
///
/// # Errors
///
/// Why there are no NumPy figures (no `python3`, no NumPy, the script failed), as a note
/// for the user.
pub fn measure(sizes: &Sizes) -> Result<Vec<Row>, String> {
    let has_numpy = Command::new(PYTHON)
        .args(["-c", "import numpy"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_numpy {
        return Err(format!("`{PYTHON} -c \"import numpy\"` failed"));
    }
    let mut cmd = Command::new(PYTHON);
    cmd.arg(script_path()).args(script_args(sizes));
    for var in OPENBLAS_VARS {
        cmd.env_remove(var);
    }
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script_path().display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed ({})",
            script_path().display(),
            out.status
        ));
    }
    Ok(parse(&String::from_utf8_lossy(&out.stdout)))
}

/// The rows of the script's output: one JSON object `{"name", "value", "unit"}` a line;
/// other lines are skipped.
pub fn parse(stdout: &str) -> Vec<Row> {
    stdout
        .lines()
        .filter_map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).ok()?;
            let unit = Unit::parse(v.get("unit")?.as_str()?)?;
            Some(Row::new(
                v.get("name")?.as_str()?,
                v.get("value")?.as_f64()?,
                unit,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rows_and_skips_the_rest() {
        let out =
            "note\n{\"name\": \"add_f32\", \"value\": 4.5, \"unit\": \"ms\"}\n{\"name\": 1}\n";
        assert_eq!(parse(out), vec![Row::new("add_f32", 4.5, Unit::Millis)]);
    }

    #[test]
    fn args_spell_out_every_mirrored_size() {
        let args = script_args(&Sizes::full());
        assert!(args.windows(2).any(|w| w == ["--matmul", "1024,2048"]));
        assert!(args.windows(2).any(|w| w == ["--kernel-len", "10000000"]));
        assert!(script_path().ends_with("bench/numpy_ref.py"));
    }
}
