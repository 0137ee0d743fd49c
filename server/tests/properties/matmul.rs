//! matmul with 1-D, 2-D and batched operands against a triple loop.

use super::*;
use ndserve_proto::dtype::{Operand, result_type};

/// (a shape, b shape): m, k, n in 0..=4, ranks 1-3, batch axes that broadcast.
fn mm_shapes() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    (
        0usize..=4,
        0usize..=4,
        0usize..=4,
        0usize..=3,
        1usize..=3,
        1usize..=3,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(m, k, n, batch, ra, rb, oa, ob)| {
            let a = match ra {
                1 => vec![k],
                2 => vec![m, k],
                _ => vec![if oa { 1 } else { batch }, m, k],
            };
            let b = match rb {
                1 => vec![k],
                2 => vec![k, n],
                _ => vec![if ob { 1 } else { batch }, k, n],
            };
            (a, b)
        })
}

proptest! {
    #![proptest_config(cfg(128))]

    /// matmul of every dtype pair: NumPy's promoted dtype, exact wrapping integers, bool as
    /// OR of ANDs, floats within the accumulated rounding.
    #[test]
    fn matmul(
        (a, b) in (prop::sample::select(ALL), prop::sample::select(ALL), mm_shapes())
            .prop_flat_map(|(da, db, (sa, sb))| (arr_s(da, sa, Prof::Finite), arr_s(db, sb, Prof::Finite))),
    ) {
        let r = result_type(&[Operand::Array(a.dtype), Operand::Array(b.dtype)]).unwrap();
        let (na, nb) = (a.shape.len(), b.shape.len());
        let k = a.shape[na - 1];
        let m = if na > 1 { a.shape[na - 2] } else { 1 };
        let n = if nb > 1 { b.shape[nb - 1] } else { 1 };
        let ba = if na == 3 { Some(a.shape[0]) } else { None };
        let bb = if nb == 3 { Some(b.shape[0]) } else { None };
        let batch: Vec<usize> = match (ba, bb) {
            (Some(x), Some(y)) => vec![if x == 1 { y } else { x }],
            (Some(x), None) | (None, Some(x)) => vec![x],
            _ => vec![],
        };
        let nbatch: usize = batch.iter().product();
        let mut shape = batch.clone();
        if na > 1 {
            shape.push(m);
        }
        if nb > 1 {
            shape.push(n);
        }
        let at = |bi: usize, i: usize, t: usize| -> V {
            let base = if ba.is_some_and(|x| x > 1) { bi * m * k } else { 0 };
            cast_v(a.vals[base + i * k + t], r)
        };
        let bt = |bi: usize, t: usize, j: usize| -> V {
            let base = if bb.is_some_and(|x| x > 1) { bi * k * n } else { 0 };
            cast_v(b.vals[base + t * n + j], r)
        };
        let mut exp = vec![];
        let mut scale = vec![];
        for bi in 0..nbatch.max(if batch.is_empty() { 1 } else { 0 }) {
            for i in 0..m {
                for j in 0..n {
                    let (mut acc_i, mut acc_b, mut re, mut im, mut s) = (0i128, false, 0.0, 0.0, 0.0);
                    for t in 0..k {
                        let (x, y) = (at(bi, i, t), bt(bi, t, j));
                        match (x, y) {
                            (V::B(p), V::B(q)) => acc_b |= p & q,
                            (V::I(p), V::I(q)) => acc_i = acc_i.wrapping_add(p.wrapping_mul(q)),
                            _ => {
                                let ((xr, xi), (yr, yi)) = (x.c(), y.c());
                                re += xr * yr - xi * yi;
                                im += xr * yi + xi * yr;
                                s += x.mag() * y.mag();
                            }
                        }
                    }
                    exp.push(match r {
                        DType::Bool => V::B(acc_b),
                        d if d.is_integer() => V::I(wrap(acc_i, d)),
                        d if d.is_float() => V::F(round_f(re, d)),
                        d => V::C(round_f(re, d), round_f(im, d)),
                    });
                    scale.push((k as f64 + 2.0) * s);
                }
            }
        }
        let got = run1("matmul", &[&a, &b], &Attrs::new());
        check("matmul", &got, r, &shape, &exp, 1.0, &scale, false)?;
    }
}
