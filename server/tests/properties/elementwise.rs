//! Elementwise binary ops with broadcasting, and unary ops with NaN/inf/-0.0 inputs.

use super::*;
use ndserve_proto::dtype::{Operand, result_type};

/// Two broadcast-compatible shapes.
fn bshapes() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    (
        shape_s(0, 3),
        prop::collection::vec(any::<bool>(), 3),
        prop::collection::vec(any::<bool>(), 3),
        0usize..=3,
        0usize..=3,
    )
        .prop_map(|(out, ma, mb, ra, rb)| {
            let r = out.len();
            let pick = |m: &[bool], k: usize| -> Vec<usize> {
                let k = k.min(r);
                (r - k..r).map(|i| if m[i] { 1 } else { out[i] }).collect()
            };
            (pick(&ma, ra), pick(&mb, rb))
        })
}

/// The source offset of broadcast index `idx` in an array of `shape`.
fn bsrc(idx: &[usize], shape: &[usize]) -> usize {
    let off = idx.len() - shape.len();
    let i: Vec<usize> = shape
        .iter()
        .enumerate()
        .map(|(k, &d)| if d == 1 { 0 } else { idx[off + k] })
        .collect();
    flat(&i, shape)
}

fn fmax_np(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a >= b {
        a
    } else {
        b
    }
}
fn fmin_np(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a <= b {
        a
    } else {
        b
    }
}

/// NumPy's complex `>=` / `<=` used by maximum/minimum, NaN-aware as its loops are.
fn cge(x: (f64, f64), y: (f64, f64)) -> bool {
    (x.0 > y.0 && !x.1.is_nan() && !y.1.is_nan()) || (x.0 == y.0 && x.1 >= y.1)
}
fn cle(x: (f64, f64), y: (f64, f64)) -> bool {
    (x.0 < y.0 && !x.1.is_nan() && !y.1.is_nan()) || (x.0 == y.0 && x.1 <= y.1)
}

/// NumPy's element result of `op` on `a` (dtype `da`) and `b` (dtype `db`): the value and
/// the magnitude its rounding error is relative to. `None` when NumPy raises.
fn bin_ref(op: &str, a: V, b: V, da: DType, db: DType, r: DType) -> Option<(V, f64)> {
    let cmp = matches!(op, "equal" | "less");
    if cmp && !da.is_inexact() && !db.is_inexact() {
        // NumPy 2 compares any two integers (int64 with uint64 too) exactly.
        let (x, y) = (a.i(), b.i());
        return Some((V::B(if op == "equal" { x == y } else { x < y }), 0.0));
    }
    let (x, y) = (cast_v(a, r), cast_v(b, r));
    let v = match (x, y) {
        (V::B(p), V::B(q)) => V::B(match op {
            "add" | "maximum" => p | q,
            "multiply" | "minimum" => p & q,
            "equal" => p == q,
            "less" => !p & q,
            _ => return None,
        }),
        (V::I(p), V::I(q)) => match op {
            "add" => V::I(wrap(p.wrapping_add(q), r)),
            "subtract" => V::I(wrap(p.wrapping_sub(q), r)),
            "multiply" => V::I(wrap(p.wrapping_mul(q), r)),
            "maximum" => V::I(p.max(q)),
            "minimum" => V::I(p.min(q)),
            "equal" => V::B(p == q),
            _ => V::B(p < q),
        },
        (V::F(p), V::F(q)) => {
            let (v, s) = match op {
                "add" => (p + q, p.abs() + q.abs()),
                "subtract" => (p - q, p.abs() + q.abs()),
                "multiply" => (p * q, (p * q).abs()),
                "maximum" => (fmax_np(p, q), 0.0),
                "minimum" => (fmin_np(p, q), 0.0),
                "equal" => return Some((V::B(p == q), 0.0)),
                _ => return Some((V::B(p < q), 0.0)),
            };
            return Some((V::F(round_f(v, r)), s));
        }
        (V::C(pr, pi), V::C(qr, qi)) => {
            let (p, q) = ((pr, pi), (qr, qi));
            let s = x.mag() + y.mag();
            let (v, s) = match op {
                "add" => ((pr + qr, pi + qi), s),
                "subtract" => ((pr - qr, pi - qi), s),
                "multiply" => ((pr * qr - pi * qi, pr * qi + pi * qr), x.mag() * y.mag()),
                "maximum" => (if x.is_nan() || cge(p, q) { p } else { q }, 0.0),
                "minimum" => (if x.is_nan() || cle(p, q) { p } else { q }, 0.0),
                "equal" => return Some((V::B(pr == qr && pi == qi), 0.0)),
                // NumPy's CLT: a NaN imaginary part makes `<` false unless the real parts
                // are equal (`0 < 60.8+nanj` is false).
                _ => {
                    let lt = (pr < qr && !pi.is_nan() && !qi.is_nan()) || (pr == qr && pi < qi);
                    return Some((V::B(lt), 0.0));
                }
            };
            return Some((V::C(round_f(v.0, r), round_f(v.1, r)), s));
        }
        _ => unreachable!("both cast to {r:?}"),
    };
    Some((v, 0.0))
}

fn binary_case() -> impl Strategy<Value = (&'static str, Arr, Arr)> {
    (
        prop::sample::select(vec![
            "add", "subtract", "multiply", "maximum", "minimum", "equal", "less",
        ]),
        prop::sample::select(ALL),
        prop::sample::select(ALL),
        bshapes(),
    )
        .prop_flat_map(|(op, da, db, (sa, sb))| {
            (
                Just(op),
                arr_s(da, sa, Prof::Full),
                arr_s(db, sb, Prof::Full),
            )
        })
}

proptest! {
    #![proptest_config(cfg(256))]

    /// add/subtract/multiply/maximum/minimum/equal/less: NumPy 2's result dtype, broadcast
    /// shape, wrapping integers (uint64 above 2**63 included), NaN propagation.
    #[test]
    fn binary_elementwise((op, a, b) in binary_case()) {
        let r = result_type(&[Operand::Array(a.dtype), Operand::Array(b.dtype)]).unwrap();
        let res = run_op(op, &[&a, &b], &Attrs::new());
        if op == "subtract" && r == DType::Bool {
            prop_assert!(res.is_err(), "boolean subtract must raise");
            return Ok(());
        }
        let got = res.map_err(|e| TestCaseError::fail(format!("{op}: {e}")))?.remove(0);
        let out_dtype = if matches!(op, "equal" | "less") { DType::Bool } else { r };
        let shape = {
            let r = a.shape.len().max(b.shape.len());
            let dim = |s: &[usize], i: usize| if i + s.len() >= r { s[i + s.len() - r] } else { 1 };
            let shape: Vec<usize> = (0..r)
                .map(|i| {
                    let (x, y) = (dim(&a.shape, i), dim(&b.shape, i));
                    if x == 1 { y } else { x }
                })
                .collect();
            shape
        };
        let mut exp = vec![];
        let mut scale = vec![];
        for idx in indices(&shape) {
            let x = a.vals[bsrc(&idx, &a.shape)];
            let y = b.vals[bsrc(&idx, &b.shape)];
            let (v, s) = bin_ref(op, x, y, a.dtype, b.dtype, r).expect("a loop");
            exp.push(v);
            scale.push(s);
        }
        check(op, &got, out_dtype, &shape, &exp, 1.0, &scale, false)?;
    }
}

// ---- unary ------------------------------------------------------------------------------

/// Principal square root (Kahan's formulation) of a finite complex.
fn csqrt(re: f64, im: f64) -> (f64, f64) {
    let r = re.hypot(im);
    if r == 0.0 {
        return (0.0, im);
    }
    let t = ((r + re.abs()) / 2.0).sqrt();
    if re >= 0.0 {
        (t, im / (2.0 * t))
    } else {
        (im.abs() / (2.0 * t), t.copysign(im))
    }
}

/// NumPy's result of a unary op: `Err(())` when it raises, `Ok(None)` for an element the
/// reference does not cover (complex sqrt/exp of non-finite values).
#[allow(clippy::result_unit_err)]
fn un_ref(op: &str, v: V, dt: DType) -> std::result::Result<(DType, Option<V>), ()> {
    let inexact = dt.to_inexact();
    Ok(match op {
        "negative" => match v {
            V::B(_) => return Err(()),
            V::I(i) => (dt, Some(V::I(wrap(-i, dt)))),
            V::F(f) => (dt, Some(V::F(-f))),
            V::C(r, i) => (dt, Some(V::C(-r, -i))),
        },
        "abs" => match v {
            V::B(_) => (dt, Some(v)),
            V::I(i) => (dt, Some(V::I(wrap(i.abs(), dt)))),
            V::F(f) => (dt, Some(V::F(f.abs()))),
            V::C(r, i) => (dt.real(), Some(V::F(round_f(r.hypot(i), dt)))),
        },
        "sqrt" | "exp" => {
            let x = cast_v(v, inexact);
            let y = match x {
                V::F(f) => Some(V::F(round_f(
                    if op == "sqrt" { f.sqrt() } else { f.exp() },
                    inexact,
                ))),
                V::C(r, i) if r.is_finite() && i.is_finite() => {
                    let (a, b) = if op == "sqrt" {
                        csqrt(r, i)
                    } else {
                        (r.exp() * i.cos(), r.exp() * i.sin())
                    };
                    Some(V::C(round_f(a, inexact), round_f(b, inexact)))
                }
                _ => None,
            };
            (inexact, y)
        }
        "floor" => match v {
            V::C(..) => return Err(()),
            V::F(f) => (dt, Some(V::F(f.floor()))),
            _ => (dt, Some(v)),
        },
        _ => (DType::Bool, Some(V::B(v.is_nan()))),
    })
}

proptest! {
    #![proptest_config(cfg(256))]

    /// negative/abs/sqrt/exp/floor/isnan over every dtype, NaN/inf/-0.0 included: result
    /// dtype by NumPy's loop rules, values (and the sign of zeros) as NumPy gives them.
    #[test]
    fn unary_elementwise(
        op in prop::sample::select(vec!["negative", "abs", "sqrt", "exp", "floor", "isnan"]),
        a in any_arr(ALL, 0, 3, Prof::Full),
    ) {
        let res = run_op(op, &[&a], &Attrs::new());
        let refs: std::result::Result<Vec<_>, ()> =
            a.vals.iter().map(|&v| un_ref(op, v, a.dtype)).collect();
        let out_dtype = un_ref(op, cast_v(V::I(0), a.dtype), a.dtype).map(|r| r.0);
        let Ok(out_dtype) = out_dtype else {
            prop_assert!(res.is_err(), "{} of {:?} must raise", op, a.dtype);
            return Ok(());
        };
        let got = res.map_err(|e| TestCaseError::fail(format!("{op}: {e}")))?.remove(0);
        let refs = refs.expect("no error");
        // Elements the reference does not cover take the kernel's value.
        let g = read(&got);
        let exp: Vec<V> = refs
            .iter()
            .enumerate()
            .map(|(i, r)| r.1.unwrap_or_else(|| g.get(i).copied().unwrap_or(V::B(false))))
            .collect();
        let ulps = if op == "exp" { 4.0 } else { 2.0 };
        check(op, &got, out_dtype, &a.shape, &exp, ulps, &[], true)?;
    }
}
