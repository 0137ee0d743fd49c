//! Sorting and searching: sort (NaNs last), stable argsort, searchsorted, unique.

use std::cmp::Ordering;

use super::*;
use ndserve_proto::Attr;
use ndserve_proto::dtype::{Operand, result_type};

/// NumPy's sort order: false < true, numbers by value, NaN after everything (NaNs equal,
/// -0.0 equal to 0.0), complex lexicographic.
fn cmp_np(a: V, b: V) -> Ordering {
    let fcmp = |x: f64, y: f64| match (x.is_nan(), y.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => x.partial_cmp(&y).unwrap(),
    };
    match (a, b) {
        (V::B(x), V::B(y)) => x.cmp(&y),
        (V::I(x), V::I(y)) => x.cmp(&y),
        (V::F(x), V::F(y)) => fcmp(x, y),
        (x, y) => {
            let (p, q) = (x.c(), y.c());
            fcmp(p.0, q.0).then(fcmp(p.1, q.1))
        }
    }
}

fn sortable(min_rank: usize, max_rank: usize, p: Prof) -> BoxedStrategy<Arr> {
    any_arr_cfinite(min_rank, max_rank, p)
}

/// The lanes a sort along `axis` (None: flattened) works on, as input offsets.
fn lanes(shape: &[usize], axis: Option<usize>) -> Vec<Vec<usize>> {
    let n: usize = shape.iter().product();
    let Some(ax) = axis else {
        return vec![(0..n).collect()];
    };
    let mut out: Vec<Vec<usize>> = vec![];
    let mut rest = shape.to_vec();
    rest[ax] = 1;
    for idx in indices(&rest) {
        out.push(
            (0..shape[ax])
                .map(|p| {
                    let mut i = idx.clone();
                    i[ax] = p;
                    flat(&i, shape)
                })
                .collect(),
        );
    }
    out
}

proptest! {
    #![proptest_config(cfg(128))]

    /// sort (NaNs last) and stable argsort along the default, any (negative) axis or None.
    #[test]
    fn sort_argsort(a in sortable(0, 3, Prof::Small), sel in any::<u8>(), neg in any::<bool>()) {
        let nd = a.shape.len();
        let mut attrs = Attrs::new();
        let axis = if nd == 0 || sel % 4 == 0 {
            attrs.set("axis", Attr::None);
            None
        } else if sel % 4 == 1 {
            Some(nd - 1)
        } else {
            let ax = usize::from(sel / 4) % nd;
            attrs.set("axis", Attr::Int(if neg { ax as i64 - nd as i64 } else { ax as i64 }));
            Some(ax)
        };
        let shape = if axis.is_none() { vec![a.numel()] } else { a.shape.clone() };
        let mut sorted = vec![V::B(false); a.numel()];
        let mut order = vec![V::I(0); a.numel()];
        for lane in lanes(&a.shape, axis) {
            let mut ix: Vec<usize> = (0..lane.len()).collect();
            ix.sort_by(|&p, &q| cmp_np(a.vals[lane[p]], a.vals[lane[q]]));
            for (j, &p) in ix.iter().enumerate() {
                let at = if axis.is_none() { j } else { lane[j] };
                sorted[at] = a.vals[lane[p]];
                order[at] = V::I(p as i128);
            }
        }
        let got = run1("sort", &[&a], &attrs);
        check("sort", &got, a.dtype, &shape, &sorted, 0.0, &[], false)?;
        attrs.set("kind", Attr::Str("stable".into()));
        let got = run1("argsort", &[&a], &attrs);
        check("argsort", &got, DType::Int64, &shape, &order, 0.0, &[], false)?;
    }

    /// searchsorted of values of any real dtype into a sorted 1-D array (NaNs last), left
    /// and right, compared in the promoted dtype.
    #[test]
    fn searchsorted(
        mut a in (prop::sample::select(real()), 0usize..=6).prop_flat_map(|(dt, n)| arr_s(dt, vec![n], Prof::Small)),
        v in (prop::sample::select(real()), shape_s(0, 2)).prop_flat_map(|(dt, s)| arr_s(dt, s, Prof::Small)),
        side in prop::sample::select(vec![None, Some("left"), Some("right")]),
    ) {
        a.vals.sort_by(|&x, &y| cmp_np(x, y));
        let r = result_type(&[Operand::Array(a.dtype), Operand::Array(v.dtype)]).unwrap();
        let mut attrs = Attrs::new();
        if let Some(s) = side {
            attrs.set("side", Attr::Str(s.into()));
        }
        let right = side == Some("right");
        let exp: Vec<V> = v
            .vals
            .iter()
            .map(|&x| {
                let x = cast_v(x, r);
                let k = a
                    .vals
                    .iter()
                    .filter(|&&y| {
                        let c = cmp_np(cast_v(y, r), x);
                        c == Ordering::Less || (right && c == Ordering::Equal)
                    })
                    .count();
                V::I(k as i128)
            })
            .collect();
        let got = run1("searchsorted", &[&a, &v], &attrs);
        check("searchsorted", &got, DType::Int64, &v.shape, &exp, 0.0, &[], false)?;
    }

    /// unique: the sorted distinct values (one NaN), and their counts on request.
    #[test]
    fn unique(a in sortable(0, 3, Prof::Small), counts in any::<bool>()) {
        let mut vals = a.vals.clone();
        vals.sort_by(|&x, &y| cmp_np(x, y));
        let mut uniq: Vec<V> = vec![];
        let mut cnt: Vec<V> = vec![];
        for x in vals {
            match uniq.last() {
                Some(&u) if cmp_np(u, x) == Ordering::Equal => {
                    if let Some(V::I(c)) = cnt.last_mut() {
                        *c += 1;
                    }
                }
                _ => {
                    uniq.push(x);
                    cnt.push(V::I(1));
                }
            }
        }
        let mut attrs = Attrs::new();
        if counts {
            attrs.set("return_counts", Attr::Bool(true));
        }
        let got = run_op("unique", &[&a], &attrs).map_err(|e| TestCaseError::fail(format!("unique: {e}")))?;
        prop_assert_eq!(got.len(), if counts { 2 } else { 1 });
        check("unique values", &got[0], a.dtype, &[uniq.len()], &uniq, 0.0, &[], false)?;
        if counts {
            check("unique counts", &got[1], DType::Int64, &[cnt.len()], &cnt, 0.0, &[], false)?;
        }
    }
}
