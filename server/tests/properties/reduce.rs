//! Reductions (sum, prod, max, min, mean, argmax, argmin, any, all) and cumulative ops
//! (cumsum, cumprod).

use super::*;
use ndserve_proto::Attr;

/// For each result element (C order over the kept axes), the input offsets it reduces, in
/// C order over the reduced axes; and the kept shape.
fn groups(shape: &[usize], axes: &[usize]) -> (Vec<usize>, Vec<Vec<usize>>) {
    let kept: Vec<usize> = (0..shape.len()).filter(|i| !axes.contains(i)).collect();
    let kshape: Vec<usize> = kept.iter().map(|&i| shape[i]).collect();
    let mut g = vec![vec![]; kshape.iter().product()];
    for idx in indices(shape) {
        let k: Vec<usize> = kept.iter().map(|&i| idx[i]).collect();
        g[flat(&k, &kshape)].push(flat(&idx, shape));
    }
    (kshape, g)
}

/// How the axis attribute is given.
#[derive(Clone, Debug)]
enum AxisSpec {
    Absent,
    None,
    Int(i64),
    Tuple(Vec<i64>),
}

impl AxisSpec {
    fn attr(&self, attrs: &mut Attrs) {
        match self {
            AxisSpec::Absent => {}
            AxisSpec::None => attrs.set("axis", Attr::None),
            AxisSpec::Int(i) => attrs.set("axis", Attr::Int(*i)),
            AxisSpec::Tuple(v) => attrs.set("axis", Attr::Ints(v.clone())),
        }
    }
    /// Normalised, sorted axes (all axes for None).
    fn axes(&self, ndim: usize) -> Vec<usize> {
        let norm = |i: i64| {
            if i < 0 {
                (i + ndim as i64) as usize
            } else {
                i as usize
            }
        };
        let mut v: Vec<usize> = match self {
            AxisSpec::Absent | AxisSpec::None => (0..ndim).collect(),
            AxisSpec::Int(i) => vec![norm(*i)],
            AxisSpec::Tuple(t) => t.iter().map(|&i| norm(i)).collect(),
        };
        v.sort();
        v
    }
}

/// An axis spec for an array of rank `ndim` drawn from `sel`, `mask`, `neg` (`one`: a single
/// axis or None only).
fn axis_spec(ndim: usize, sel: u8, mask: &[bool], neg: &[bool], one: bool) -> AxisSpec {
    let signed = |i: usize| {
        if neg[i] {
            i as i64 - ndim as i64
        } else {
            i as i64
        }
    };
    match sel % 4 {
        0 => AxisSpec::Absent,
        1 => AxisSpec::None,
        _ if ndim == 0 => AxisSpec::Absent,
        2 => AxisSpec::Int(signed(usize::from(sel / 4) % ndim)),
        _ if one => AxisSpec::Int(signed(usize::from(sel / 4) % ndim)),
        _ => {
            let mut t: Vec<i64> = (0..ndim).filter(|&i| mask[i]).map(signed).collect();
            if sel & 0x40 != 0 {
                t.reverse();
            }
            AxisSpec::Tuple(t)
        }
    }
}

/// Raw draws of an axis spec and keepdims.
type SpecDraw = (u8, Vec<bool>, Vec<bool>, bool);

fn spec_s() -> impl Strategy<Value = SpecDraw> {
    (
        any::<u8>(),
        prop::collection::vec(any::<bool>(), 3),
        prop::collection::vec(any::<bool>(), 3),
        any::<bool>(),
    )
}

/// Whether a product's partial products in any order stay inside `dt`'s normal range.
fn prod_safe(xs: &[f64], dt: DType) -> bool {
    let fin: Vec<f64> = xs
        .iter()
        .map(|x| x.abs())
        .filter(|x| x.is_finite() && *x != 0.0)
        .collect();
    let hi: f64 = fin.iter().map(|x| x.max(1.0)).product();
    let lo: f64 = fin.iter().map(|x| x.min(1.0)).product();
    hi < fmax(dt) / 4.0 && lo > tiny(dt) * 4.0
}

fn lex_gt(x: (f64, f64), y: (f64, f64)) -> bool {
    x.0 > y.0 || (x.0 == y.0 && x.1 > y.1)
}

/// First index of the maximum (`max`) or minimum: a NaN wins at its first occurrence.
fn arg_ref(xs: &[V], max: bool) -> usize {
    let better = |a: V, b: V| -> bool {
        match (a, b) {
            (V::B(p), V::B(q)) => {
                if max {
                    p & !q
                } else {
                    !p & q
                }
            }
            (V::I(p), V::I(q)) => {
                if max {
                    p > q
                } else {
                    p < q
                }
            }
            (V::F(p), V::F(q)) => {
                if max {
                    p > q
                } else {
                    p < q
                }
            }
            (a, b) => {
                let (p, q) = (a.c(), b.c());
                if max { lex_gt(p, q) } else { lex_gt(q, p) }
            }
        }
    };
    let mut best = 0;
    for (i, &x) in xs.iter().enumerate() {
        if x.is_nan() {
            return i;
        }
        if better(x, xs[best]) {
            best = i;
        }
    }
    best
}

/// The reduced value of `op` over `xs` (dtype `dt`): (result, error scale); `None` means
/// the reference does not decide this element (a float product that may leave the range).
fn red_ref(op: &str, xs: &[V], dt: DType) -> Option<(V, f64)> {
    let n = xs.len() as f64;
    match op {
        "sum" | "prod" => {
            let s = dt.sum_dtype();
            let ys: Vec<V> = xs.iter().map(|&x| cast_v(x, s)).collect();
            let sum = op == "sum";
            Some(match s {
                d if d.is_integer() => {
                    let v = ys.iter().fold(if sum { 0i128 } else { 1 }, |acc, y| {
                        if sum {
                            acc.wrapping_add(y.i())
                        } else {
                            acc.wrapping_mul(y.i())
                        }
                    });
                    (V::I(wrap(v, d)), 0.0)
                }
                d if d.is_float() => {
                    let fs: Vec<f64> = ys.iter().map(|y| y.f()).collect();
                    if sum {
                        let v: f64 = fs.iter().sum();
                        (
                            V::F(round_f(v, d)),
                            (n + 2.0) * fs.iter().map(|x| x.abs()).sum::<f64>(),
                        )
                    } else {
                        if !prod_safe(&fs, d) {
                            return None;
                        }
                        let v: f64 = fs.iter().product();
                        (V::F(round_f(v, d)), (n + 2.0) * v.abs())
                    }
                }
                d => {
                    let mut acc = if sum { (0.0, 0.0) } else { (1.0, 0.0) };
                    for y in &ys {
                        let (r, i) = y.c();
                        acc = if sum {
                            (acc.0 + r, acc.1 + i)
                        } else {
                            (acc.0 * r - acc.1 * i, acc.0 * i + acc.1 * r)
                        };
                    }
                    let mags: Vec<f64> = ys.iter().map(|y| y.mag()).collect();
                    let scale = if sum {
                        mags.iter().sum::<f64>()
                    } else {
                        if !prod_safe(&mags, d) {
                            return None;
                        }
                        mags.iter().product()
                    };
                    (
                        V::C(round_f(acc.0, d), round_f(acc.1, d)),
                        (n + 2.0) * scale,
                    )
                }
            })
        }
        "mean" => {
            let m = if dt.is_inexact() { dt } else { DType::Float64 };
            let (mut r, mut i, mut s) = (0.0, 0.0, 0.0);
            for x in xs {
                let (a, b) = x.c();
                r += a;
                i += b;
                s += x.mag();
            }
            let scale = (n + 2.0) * s / n.max(1.0);
            Some(if m.is_complex() {
                (V::C(round_f(r / n, m), round_f(i / n, m)), scale)
            } else {
                (V::F(round_f(r / n, m)), scale)
            })
        }
        "max" | "min" | "argmax" | "argmin" => {
            let max = op.ends_with("max");
            let k = arg_ref(xs, max);
            if op.starts_with("arg") {
                Some((V::I(k as i128), 0.0))
            } else {
                Some((xs[k], 0.0))
            }
        }
        "any" => Some((V::B(xs.iter().any(|x| x.truthy())), 0.0)),
        _ => Some((V::B(xs.iter().all(|x| x.truthy())), 0.0)),
    }
}

fn red_case() -> impl Strategy<Value = (&'static str, Arr, SpecDraw)> {
    prop::sample::select(vec![
        "sum", "prod", "max", "min", "mean", "argmax", "argmin", "any", "all",
    ])
    .prop_flat_map(|op| {
        let p = if op == "prod" {
            Prof::Small
        } else {
            Prof::Full
        };
        (Just(op), any_arr_cfinite(0, 3, p), spec_s())
    })
}

proptest! {
    #![proptest_config(cfg(256))]

    /// Reductions over axis None / int / negative / tuple, keepdims either way: NumPy's
    /// result dtype and shape, exact integers (wrapping), first-occurrence argmax/argmin,
    /// NaN propagation, and an error exactly where NumPy raises (empty max/argmax).
    #[test]
    fn reductions((op, a, (sel, mask, neg, keepdims)) in red_case()) {
        let nd = a.shape.len();
        let arg = op.starts_with("arg");
        let spec = axis_spec(nd, sel, &mask, &neg, arg);
        let mut attrs = Attrs::new();
        spec.attr(&mut attrs);
        attrs.set("keepdims", Attr::Bool(keepdims));
        let axes = spec.axes(nd);
        let (kshape, gs) = groups(&a.shape, &axes);
        let shape: Vec<usize> = if keepdims {
            (0..nd).map(|i| if axes.contains(&i) { 1 } else { a.shape[i] }).collect()
        } else {
            kshape
        };
        let reduced: usize = axes.iter().map(|&i| a.shape[i]).product();
        let res = run_op(op, &[&a], &attrs);
        let raises = matches!(op, "max" | "min" | "argmax" | "argmin") && reduced == 0 && !gs.is_empty();
        if raises {
            prop_assert!(res.is_err(), "{} over an empty axis must raise", op);
            return Ok(());
        }
        let got = res.map_err(|e| TestCaseError::fail(format!("{op} {attrs:?}: {e}")))?.remove(0);
        let out_dtype = match op {
            "sum" | "prod" => a.dtype.sum_dtype(),
            "mean" if !a.dtype.is_inexact() => DType::Float64,
            "argmax" | "argmin" => DType::Int64,
            "any" | "all" => DType::Bool,
            _ => a.dtype,
        };
        let g = read(&got);
        let mut exp = vec![];
        let mut scale = vec![];
        for (k, grp) in gs.iter().enumerate() {
            let xs: Vec<V> = grp.iter().map(|&i| a.vals[i]).collect();
            match red_ref(op, &xs, a.dtype) {
                Some((v, s)) => {
                    exp.push(v);
                    scale.push(s);
                }
                None => {
                    exp.push(g.get(k).copied().unwrap_or(V::B(false)));
                    scale.push(0.0);
                }
            }
        }
        check(op, &got, out_dtype, &shape, &exp, 1.0, &scale, false)?;
    }
}

// ---- cumulative -------------------------------------------------------------------------

fn cum_case() -> impl Strategy<Value = (&'static str, Arr, u8, bool)> {
    prop::sample::select(vec!["cumsum", "cumprod"]).prop_flat_map(|op| {
        let p = if op == "cumprod" {
            Prof::Small
        } else {
            Prof::Full
        };
        (
            Just(op),
            any_arr_cfinite(0, 3, p),
            any::<u8>(),
            any::<bool>(),
        )
    })
}

proptest! {
    #![proptest_config(cfg(128))]

    /// cumsum/cumprod along any axis (negative too) and axis None (flattened): the sum
    /// dtype, exact wrapping integers, floats as NumPy's sequential accumulation.
    #[test]
    fn cumulative((op, a, sel, neg) in cum_case()) {
        let nd = a.shape.len();
        let mut attrs = Attrs::new();
        let axis = if nd == 0 || sel % 3 == 0 {
            if sel % 2 == 0 {
                attrs.set("axis", Attr::None);
            }
            None
        } else {
            let ax = usize::from(sel / 3) % nd;
            attrs.set("axis", Attr::Int(if neg { ax as i64 - nd as i64 } else { ax as i64 }));
            Some(ax)
        };
        let got = run1(op, &[&a], &attrs);
        let s = a.dtype.sum_dtype();
        let (shape, lanes) = match axis {
            None => (vec![a.numel()], vec![(0..a.numel()).collect::<Vec<_>>()]),
            Some(ax) => (a.shape.clone(), groups(&a.shape, &[ax]).1),
        };
        let g = read(&got);
        let mut exp = vec![V::B(false); a.numel()];
        let mut scale = vec![0.0; a.numel()];
        for lane in &lanes {
            for j in 0..lane.len() {
                let xs: Vec<V> = lane[..=j].iter().map(|&i| a.vals[i]).collect();
                let red = if op == "cumsum" { "sum" } else { "prod" };
                // The reduction reference of the prefix (exact, then rounded once).
                match red_ref(red, &xs, a.dtype) {
                    Some((v, sc)) => {
                        exp[lane[j]] = v;
                        scale[lane[j]] = sc;
                    }
                    None => exp[lane[j]] = g.get(lane[j]).copied().unwrap_or(V::B(false)),
                }
            }
        }
        check(op, &got, s, &shape, &exp, 1.0, &scale, false)?;
    }
}
