//! `experimental_enable_numpy_behavior`, tnp's switch into NumPy behaviour.
//!
//! In TensorFlow it turns on, process-wide, what ndserve always has: NumPy's type
//! promotion for operators, NumPy-style indexing, and the NumPy methods of the array
//! (`T`, `reshape`, `astype`, `tolist`, ...). ndserve has no other behaviour, so the call
//! only checks that the settings asked for are NumPy's, and refuses the ones that would
//! leave NumPy 2 (a documented deviation from tnp: NumPy wins).

use ndserve_proto::{Error, Result};

const OP: &str = "experimental_enable_numpy_behavior";

/// tnp's `experimental_enable_numpy_behavior(prefer_float32, dtype_conversion_mode)`.
///
/// Every ndserve array already behaves as NumPy 2's: NEP 50 promotion of Python scalars
/// (what tnp's default mode `"legacy"` gives with NumPy 2 installed), NumPy indexing and
/// methods. So `prefer_float32 = false` with `"legacy"` is accepted and changes nothing.
///
/// # Errors
///
/// `InvalidArgument`, naming the argument, for settings that are not NumPy's:
/// `prefer_float32 = true` (Python floats as float32; NumPy's default float is float64:
/// pass `DType::Float32` explicitly instead), and the modes `"off"` (no promotion for
/// operators), `"safe"` and `"all"` (JAX's promotion lattice). Any other mode is not a
/// mode at all, as in TensorFlow.
///
/// ```
/// use ndserve_client::{ErrorCode, experimental_enable_numpy_behavior};
///
/// experimental_enable_numpy_behavior(false, "legacy").unwrap();
/// let err = experimental_enable_numpy_behavior(true, "legacy").unwrap_err();
/// assert_eq!(err.code(), ErrorCode::InvalidArgument);
/// assert!(err.to_string().contains("prefer_float32"));
/// assert!(experimental_enable_numpy_behavior(false, "all").is_err());
/// ```
#[doc(alias = "tnp.experimental_enable_numpy_behavior")]
pub fn experimental_enable_numpy_behavior(
    prefer_float32: bool,
    dtype_conversion_mode: &str,
) -> Result<()> {
    match dtype_conversion_mode {
        "legacy" => {}
        "off" | "safe" | "all" => {
            return Err(Error::invalid(
                OP,
                "dtype_conversion_mode",
                format!(
                    "ndserve always promotes as NumPy 2 does (the mode 'legacy'); \
                     the mode '{dtype_conversion_mode}' is TensorFlow's own"
                ),
            ));
        }
        other => {
            return Err(Error::invalid(
                OP,
                "dtype_conversion_mode",
                format!(
                    "'{other}' is not a valid mode: expected one of 'off', 'legacy', 'safe', 'all'"
                ),
            ));
        }
    }
    if prefer_float32 {
        return Err(Error::invalid(
            OP,
            "prefer_float32",
            "NumPy's default float is float64; ask for float32 with an explicit dtype",
        ));
    }
    Ok(())
}
