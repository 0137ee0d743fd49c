//! Compute backends. `cpu` runs every op; `cuda` (feature `cuda`) adds GPU devices.

pub mod cpu;
pub mod cuda;
