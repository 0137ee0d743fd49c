//! TODO

/// The kernels of this family.
pub fn kernels() -> Vec<(&'static str, super::KernelFn)> {
    vec![]
}
