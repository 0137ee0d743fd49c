//! `promote_types` and `result_type` against NumPy 2 itself.
//!
//! `data/promotion.json` is written by `data/gen_promotion.py` from NumPy and ml_dtypes and
//! committed; this test needs no Python. Every answer NumPy gives must be ours, except the
//! deviations listed here with their reasons. Where NumPy gives no answer, ours must be the
//! documented one.

use std::collections::BTreeSet;
use std::str::FromStr;

use ndserve_proto::{DType, Kind, Operand, promote_types, result_type};
use serde_json::Value;

const DATA: &str = include_str!("data/promotion.json");

/// Pairs for which `np.promote_types` raises (ml_dtypes' bfloat16 has no promotion rule
/// with these), with the answer we give. It is what NumPy's ufuncs compute with ml_dtypes'
/// loops (`np.ones(1, bfloat16) + np.ones(1, float16)` is float32), and what
/// `promote_types`' doc comment states. Listed once per unordered pair.
const NO_PROMOTE_TYPES: &[(DType, DType, DType)] = &[
    (DType::BFloat16, DType::Float16, DType::Float32),
    (DType::BFloat16, DType::Int16, DType::Float32),
    (DType::BFloat16, DType::UInt16, DType::Float32),
    (DType::BFloat16, DType::Int32, DType::Float64),
    (DType::BFloat16, DType::UInt32, DType::Float64),
    (DType::BFloat16, DType::Int64, DType::Float64),
    (DType::BFloat16, DType::UInt64, DType::Float64),
];

/// Array dtype and Python scalar kind where we deliberately differ from NumPy, with our
/// answer. bfloat16 is a legacy user dtype in ml_dtypes, so NumPy does not apply NEP 50 to
/// it: `np.ones(1, bfloat16) + 1.0` is float32 and `np.result_type(that array, 1.0)` is
/// float64, where NEP 50 (and float16, whose result is float16) gives bfloat16. We keep the
/// NEP 50 rule, as JAX and TensorFlow do; the conformance kit generates no such case.
const SCALAR_DEVIATIONS: &[(DType, Kind, DType)] =
    &[(DType::BFloat16, Kind::Float, DType::BFloat16)];

fn data() -> Value {
    serde_json::from_str(DATA).expect("promotion.json parses")
}

fn dtype(v: &Value) -> Option<DType> {
    v.as_str()
        .map(|s| DType::from_str(s).unwrap_or_else(|_| panic!("unknown dtype {s}")))
}

fn kind(name: &str) -> Kind {
    match name {
        "bool" => Kind::Bool,
        "int" => Kind::Int,
        "float" => Kind::Float,
        "complex" => Kind::Complex,
        other => panic!("unknown scalar kind {other}"),
    }
}

fn fail_on(mismatches: Vec<String>) {
    assert!(
        mismatches.is_empty(),
        "{} mismatch(es) with NumPy:\n  {}",
        mismatches.len(),
        mismatches.join("\n  ")
    );
}

#[test]
fn covers_every_dtype() {
    let d = data();
    let names: Vec<&str> = d["dtypes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let ours: Vec<&str> = DType::ALL.iter().map(|d| d.name()).collect();
    assert_eq!(names, ours);
    assert_eq!(d["pairs"].as_array().unwrap().len(), 15 * 15);
    assert_eq!(d["scalars"].as_array().unwrap().len(), 15 * 4);
}

#[test]
fn promote_types_matches_numpy() {
    let d = data();
    let mut mismatches = Vec::new();
    let mut no_promote = BTreeSet::new();
    for p in d["pairs"].as_array().unwrap() {
        let (a, b) = (dtype(&p["a"]).unwrap(), dtype(&p["b"]).unwrap());
        let ours = promote_types(a, b);
        if ours != promote_types(b, a) {
            mismatches.push(format!("promote_types({a}, {b}) = {ours}, not symmetric"));
        }
        let numpy = dtype(&p["promote_types"]);
        let ufunc = dtype(&p["add"]);
        match numpy {
            Some(n) if n != ours => {
                mismatches.push(format!("promote_types({a}, {b}): numpy {n}, ours {ours}"))
            }
            Some(_) => {}
            None => {
                no_promote.insert((a.min(b), a.max(b)));
                let documented = NO_PROMOTE_TYPES
                    .iter()
                    .find(|(x, y, _)| (*x, *y) == (a, b) || (*x, *y) == (b, a));
                match documented {
                    Some((_, _, r)) if *r == ours => {}
                    Some((_, _, r)) => mismatches.push(format!(
                        "promote_types({a}, {b}): numpy raises, documented {r}, ours {ours}"
                    )),
                    None => mismatches.push(format!(
                        "promote_types({a}, {b}): numpy raises, ours {ours} is not documented"
                    )),
                }
            }
        }
        // The ufunc's answer, where there is one, must be ours too.
        if let Some(u) = ufunc
            && u != ours
        {
            mismatches.push(format!("ones(1,{a}) + ones(1,{b}): numpy {u}, ours {ours}"));
        }
    }
    let documented: BTreeSet<_> = NO_PROMOTE_TYPES
        .iter()
        .map(|(a, b, _)| (*a.min(b), *a.max(b)))
        .collect();
    if documented != no_promote {
        mismatches.push(format!(
            "NO_PROMOTE_TYPES lists {documented:?}, but NumPy raises for {no_promote:?}"
        ));
    }
    fail_on(mismatches);
}

#[test]
fn python_scalars_follow_nep50() {
    let d = data();
    let mut mismatches = Vec::new();
    for s in d["scalars"].as_array().unwrap() {
        let dt = dtype(&s["dtype"]).unwrap();
        let k = kind(s["scalar"].as_str().unwrap());
        let left = result_type(&[Operand::Array(dt), Operand::Scalar(k)]);
        let right = result_type(&[Operand::Scalar(k), Operand::Array(dt)]);
        if left != right {
            mismatches.push(format!(
                "result_type({dt}, {k:?} scalar) = {left:?} but reversed {right:?}"
            ));
        }
        let ours = left.expect("an array operand gives a dtype");
        let deviation = SCALAR_DEVIATIONS
            .iter()
            .find(|(x, y, _)| (*x, *y) == (dt, k));
        if let Some((_, _, documented)) = deviation {
            if ours != *documented {
                mismatches.push(format!(
                    "{dt} + {k:?} scalar: documented deviation {documented}, ours {ours}"
                ));
            }
            continue;
        }
        for field in ["add", "radd", "result_type"] {
            match dtype(&s[field]) {
                Some(n) if n != ours => mismatches.push(format!(
                    "{dt} + {k:?} scalar ({field}): numpy {n}, ours {ours}"
                )),
                Some(_) => {}
                None => mismatches.push(format!(
                    "{dt} + {k:?} scalar ({field}): numpy raises, ours {ours}"
                )),
            }
        }
    }
    for (name, v) in d["scalar_alone"].as_object().unwrap() {
        let ours = result_type(&[Operand::Scalar(kind(name))]);
        if ours != dtype(v) {
            mismatches.push(format!(
                "result_type({name} scalar): numpy {v}, ours {ours:?}"
            ));
        }
    }
    fail_on(mismatches);
}

#[test]
fn multi_operand_result_type() {
    let d = data();
    let mut mismatches = Vec::new();
    for m in d["multi"].as_array().unwrap() {
        let ops: Vec<Operand> = m["operands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| match (o.get("array"), o.get("scalar")) {
                (Some(a), None) => Operand::Array(dtype(a).unwrap()),
                (None, Some(s)) => Operand::Scalar(kind(s.as_str().unwrap())),
                _ => panic!("bad operand {o}"),
            })
            .collect();
        let ours = result_type(&ops);
        // np.result_type raises for some bfloat16 mixes that the chained ufunc answers.
        let numpy = dtype(&m["result_type"]).or_else(|| dtype(&m["add"]));
        match numpy {
            Some(n) if Some(n) != ours => {
                mismatches.push(format!("result_type({ops:?}): numpy {n}, ours {ours:?}"))
            }
            Some(_) => {}
            None => mismatches.push(format!("result_type({ops:?}): numpy gives no answer")),
        }
        if let (Some(r), Some(a)) = (dtype(&m["result_type"]), dtype(&m["add"]))
            && r != a
        {
            mismatches.push(format!(
                "{ops:?}: numpy's result_type {r} and chained add {a} disagree"
            ));
        }
    }
    fail_on(mismatches);
}
