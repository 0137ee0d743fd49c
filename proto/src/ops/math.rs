//! Elementwise math ops that do not fit a table row: two outputs (`divmod`), attributes
//! (`around`/`round`'s `decimals`, `angle`'s `deg`, `isclose`'s tolerances), three operands
//! (`clip`) or a 0-d summary (`array_equal`, `allclose`).

use super::DataDependence;
use crate::dtype::{DType, Kind, result_type};
use crate::error::Result;
use crate::ops::elementwise::plan;
use crate::ops::{Call, Input, Meta, OpDef, arr, attr};
use crate::params;
use crate::scalar::Scalar;
use crate::shape::broadcast_all;

pub(crate) fn defs() -> Vec<OpDef> {
    vec![
        OpDef {
            name: "divmod",
            params: params![arr("x1"), arr("x2")],
            summary: "Floor quotient and remainder, element-wise (np.divmod).",
            infer: infer_divmod,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "around",
            params: params![arr("a"), attr("decimals")],
            summary: "Round half to even to the given number of decimals (np.around).",
            infer: infer_round,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "round",
            params: params![arr("a"), attr("decimals")],
            summary: "Round half to even to the given number of decimals (np.round).",
            infer: infer_round,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "angle",
            params: params![arr("z"), attr("deg")],
            summary: "Angle of the complex argument, in radians or degrees (np.angle).",
            infer: infer_angle,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "clip",
            params: params![arr("a"), arr("a_min"), arr("a_max")],
            summary: "Limit the values to [a_min, a_max], element-wise (np.clip).",
            infer: infer_clip,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "isclose",
            params: params![
                arr("a"),
                arr("b"),
                attr("rtol"),
                attr("atol"),
                attr("equal_nan")
            ],
            summary: "Whether |a - b| <= atol + rtol * |b|, element-wise (np.isclose).",
            infer: infer_isclose,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "allclose",
            params: params![
                arr("a"),
                arr("b"),
                attr("rtol"),
                attr("atol"),
                attr("equal_nan")
            ],
            summary: "Whether isclose holds everywhere, as a 0-d bool (np.allclose).",
            infer: infer_isclose,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "array_equal",
            params: params![arr("a1"), arr("a2"), attr("equal_nan")],
            summary: "Whether two arrays have the same shape and elements, as a 0-d bool (np.array_equal).",
            infer: infer_array_equal,
            data_dependent: DataDependence::Never,
        },
    ]
}

/// The plan of a delegated elementwise op, with this call's op name in errors.
fn plan_as(call: &Call<'_>, op: &str) -> Result<crate::ops::elementwise::Plan> {
    plan_on(call, op, call.inputs)
}

/// The plan of elementwise `op` on some of this call's inputs.
pub fn plan_on(
    call: &Call<'_>,
    op: &str,
    inputs: &[Input],
) -> Result<crate::ops::elementwise::Plan> {
    let c = Call {
        op,
        inputs,
        attrs: &crate::attrs::Attrs::new(),
    };
    plan(&c).map_err(|e| e.with_op(call.op))
}

fn infer_divmod(call: &Call<'_>) -> Result<Vec<Meta>> {
    let p = plan_as(call, "floor_divide")?;
    Ok(vec![p.out.clone(), p.out])
}

/// `around`'s result dtype: bool rounds as float16, everything else keeps its dtype.
pub fn round_dtype(d: DType) -> DType {
    if d == DType::Bool { DType::Float16 } else { d }
}

fn infer_round(call: &Call<'_>) -> Result<Vec<Meta>> {
    call.expect_inputs(1)?;
    call.attrs.check_known(call.op, &["decimals"])?;
    call.attrs.int(call.op, "decimals")?;
    let m = call.array(0, "a")?;
    Ok(vec![Meta::new(round_dtype(m.dtype), m.shape)])
}

/// `angle`'s result dtype: `arctan2(0, z)` for real `z` (a weak Python 0 with bool is
/// int64, so float64), the real dtype for complex.
pub fn angle_dtype(d: DType) -> DType {
    match d.kind() {
        Kind::Bool => DType::Float64,
        Kind::Complex => d.real(),
        _ => d.to_inexact(),
    }
}

fn infer_angle(call: &Call<'_>) -> Result<Vec<Meta>> {
    call.expect_inputs(1)?;
    call.attrs.check_known(call.op, &["deg"])?;
    call.attrs.bool_or(call.op, "deg", false)?;
    let m = call.array(0, "z")?;
    Ok(vec![Meta::new(angle_dtype(m.dtype), m.shape)])
}

/// NumPy 2's `clip` clamps a Python-int bound that the integer dtype of `a` cannot hold
/// to that dtype's range (instead of raising as `maximum` would).
pub fn clip_bound(a: DType, bound: Scalar) -> Scalar {
    match (bound, a.int_range()) {
        (Scalar::Int(v), Some((lo, hi))) => Scalar::Int(v.clamp(lo, hi)),
        _ => bound,
    }
}

fn infer_clip(call: &Call<'_>) -> Result<Vec<Meta>> {
    call.expect_inputs(3)?;
    call.attrs.check_known(call.op, &[])?;
    let a = call.array(0, "a")?.dtype;
    let inputs: Vec<Input> = call
        .inputs
        .iter()
        .map(|i| match i {
            Input::Scalar(s) => Input::Scalar(clip_bound(a, *s)),
            other => other.clone(),
        })
        .collect();
    // maximum(a, a_min), then minimum(.., a_max): both must type-check.
    plan_on(call, "maximum", &inputs[..2])?;
    let ops: Vec<_> = inputs.iter().map(Input::operand).collect();
    let dtype = match result_type(&ops).expect("three inputs") {
        // NumPy's clip ufunc has no bfloat16 loop (ml_dtypes adds none): it computes in
        // float32, and so does ndserve.
        DType::BFloat16 => DType::Float32,
        d => d,
    };
    let shape = broadcast_all(call.op, call.inputs.iter().map(Input::shape))?;
    Ok(vec![Meta::new(dtype, shape)])
}

fn infer_isclose(call: &Call<'_>) -> Result<Vec<Meta>> {
    call.expect_inputs(2)?;
    call.attrs
        .check_known(call.op, &["rtol", "atol", "equal_nan"])?;
    call.attrs.float(call.op, "rtol")?;
    call.attrs.float(call.op, "atol")?;
    call.attrs.bool_or(call.op, "equal_nan", false)?;
    let shape = broadcast_all(call.op, call.inputs.iter().map(Input::shape))?;
    let shape = if call.op == "allclose" {
        vec![]
    } else {
        shape.to_vec()
    };
    Ok(vec![Meta::new(DType::Bool, shape)])
}

fn infer_array_equal(call: &Call<'_>) -> Result<Vec<Meta>> {
    call.expect_inputs(2)?;
    call.attrs.check_known(call.op, &["equal_nan"])?;
    call.attrs.bool_or(call.op, "equal_nan", false)?;
    Ok(vec![Meta::new(DType::Bool, Vec::<usize>::new())])
}
