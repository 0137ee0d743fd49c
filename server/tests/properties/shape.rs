//! Shape ops, each checked by index arithmetic: reshape (with -1), transpose, concatenate,
//! stack, flip, roll, repeat, tile, squeeze and expand_dims.

use super::*;
use ndserve_proto::Attr;
use ndserve_proto::dtype::{Operand, result_type};

/// The values at `f(out_index)` of `a` for every index of `shape`.
fn gather(a: &Arr, shape: &[usize], f: impl Fn(&[usize]) -> usize) -> Vec<V> {
    indices(shape).iter().map(|i| a.vals[f(i)]).collect()
}

/// Checks a result that moves values: exact, NaN for NaN, signs of zeros kept.
fn check_moved(
    what: &str,
    got: &HostArray,
    dtype: DType,
    shape: &[usize],
    exp: &[V],
) -> std::result::Result<(), TestCaseError> {
    check(what, got, dtype, shape, exp, 0.0, &[], true)
}

fn norm(i: i64, n: usize) -> usize {
    if i < 0 {
        (i + n as i64) as usize
    } else {
        i as usize
    }
}

proptest! {
    #![proptest_config(cfg(64))]

    /// reshape to a random regrouping of the dims, one of them given as -1.
    #[test]
    fn reshape(
        a in any_arr(ALL, 0, 3, Prof::Full),
        order in Just((0..6usize).collect::<Vec<_>>()).prop_shuffle(),
        merges in prop::collection::vec(any::<bool>(), 6),
        ones in 0usize..3,
        minus in any::<u8>(),
    ) {
        // Shuffle the dims, merge some neighbours, add some 1s.
        let dims: Vec<usize> = order.iter().filter(|&&i| i < a.shape.len()).map(|&i| a.shape[i]).collect();
        let mut target: Vec<usize> = vec![];
        for (k, d) in dims.into_iter().enumerate() {
            match target.last_mut() {
                Some(l) if merges[k] => *l *= d,
                _ => target.push(d),
            }
        }
        for k in 0..ones {
            target.insert(k % (target.len() + 1), 1);
        }
        let mut spec: Vec<i64> = target.iter().map(|&d| d as i64).collect();
        if !target.is_empty() {
            let m = usize::from(minus) % target.len();
            let others: usize = target.iter().enumerate().filter(|&(i, _)| i != m).map(|(_, &d)| d).product();
            if others != 0 && minus & 0x80 != 0 {
                spec[m] = -1;
            }
        }
        let got = run1("reshape", &[&a], &Attrs::new().with("shape", Attr::Ints(spec)));
        check_moved("reshape", &got, a.dtype, &target, &a.vals)?;
    }

    /// transpose by a random permutation (or the default reversal).
    #[test]
    fn transpose(
        a in any_arr(ALL, 0, 3, Prof::Full),
        perm in Just(vec![0usize, 1, 2]).prop_shuffle(),
        default in any::<bool>(),
    ) {
        let nd = a.shape.len();
        let p: Vec<usize> = if default {
            (0..nd).rev().collect()
        } else {
            perm.into_iter().filter(|&i| i < nd).collect()
        };
        let mut attrs = Attrs::new();
        if !default {
            attrs.set("axes", Attr::Ints(p.iter().map(|&i| i as i64).collect()));
        }
        let got = run1("transpose", &[&a], &attrs);
        let shape: Vec<usize> = p.iter().map(|&i| a.shape[i]).collect();
        let exp = gather(&a, &shape, |o| {
            let mut s = vec![0; nd];
            for (i, &ax) in p.iter().enumerate() {
                s[ax] = o[i];
            }
            flat(&s, &a.shape)
        });
        check_moved("transpose", &got, a.dtype, &shape, &exp)?;
    }

    /// concatenate 1-3 arrays of mixed dtypes along an axis (negative too) or axis None.
    #[test]
    fn concatenate(
        (base, lens, arrs) in (shape_s(1, 3), prop::collection::vec((0usize..=3, prop::sample::select(ALL)), 1..=3))
            .prop_flat_map(|(base, parts)| {
                let arrs: Vec<BoxedStrategy<Arr>> = parts
                    .iter()
                    .map(|&(l, dt)| {
                        let mut s = base.clone();
                        s[0] = l;
                        arr_s(dt, s, Prof::Full)
                    })
                    .collect();
                (Just(base), Just(parts.iter().map(|p| p.0).collect::<Vec<_>>()), arrs)
            }),
        axis_sel in any::<u8>(),
        neg in any::<bool>(),
    ) {
        // Each array was drawn with its own length on axis 0; swap that axis with `ax` (the
        // values are random, so reading them in the new shape is as good).
        let nd = base.len();
        let flatten = axis_sel % 5 == 0;
        let ax = usize::from(axis_sel) % nd;
        let arrs: Vec<Arr> = arrs
            .into_iter()
            .map(|a| {
                let mut s = a.shape.clone();
                s.swap(0, ax);
                Arr { shape: s, ..a }
            })
            .collect();
        let r = result_type(&arrs.iter().map(|a| Operand::Array(a.dtype)).collect::<Vec<_>>()).unwrap();
        let mut attrs = Attrs::new();
        if flatten {
            attrs.set("axis", Attr::None);
        } else {
            attrs.set("axis", Attr::Int(if neg { ax as i64 - nd as i64 } else { ax as i64 }));
        }
        let ins: Vec<&Arr> = arrs.iter().collect();
        let got = run1("concatenate", &ins, &attrs);
        let (shape, exp) = if flatten {
            let v: Vec<V> = arrs.iter().flat_map(|a| a.vals.iter().map(|&x| cast_v(x, r))).collect();
            (vec![v.len()], v)
        } else {
            let mut shape = arrs[0].shape.clone();
            shape[ax] = lens.iter().sum();
            let exp = indices(&shape)
                .iter()
                .map(|o| {
                    let (mut k, mut p) = (0, o[ax]);
                    while p >= lens[k] {
                        p -= lens[k];
                        k += 1;
                    }
                    let mut s = o.clone();
                    s[ax] = p;
                    cast_v(arrs[k].vals[flat(&s, &arrs[k].shape)], r)
                })
                .collect();
            (shape, exp)
        };
        check_moved("concatenate", &got, r, &shape, &exp)?;
    }

    /// stack 1-3 same-shape arrays along a new axis (negative too).
    #[test]
    fn stack(
        (arrs, axis) in (prop::sample::select(ALL), shape_s(0, 3), 1usize..=3)
            .prop_flat_map(|(dt, s, k)| {
                let nd = s.len() as i64;
                (prop::collection::vec(arr_s(dt, s, Prof::Full), k), -(nd + 1)..=nd)
            }),
    ) {
        let nd = arrs[0].shape.len();
        let ins: Vec<&Arr> = arrs.iter().collect();
        let got = run1("stack", &ins, &Attrs::new().with("axis", Attr::Int(axis)));
        let ax = norm(axis, nd + 1);
        let mut shape = arrs[0].shape.clone();
        shape.insert(ax, arrs.len());
        let exp: Vec<V> = indices(&shape)
            .iter()
            .map(|o| {
                let mut s = o.clone();
                let k = s.remove(ax);
                arrs[k].vals[flat(&s, &arrs[k].shape)]
            })
            .collect();
        check_moved("stack", &got, arrs[0].dtype, &shape, &exp)?;
    }

    /// flip over axis None, one axis or a tuple of axes.
    #[test]
    fn flip(a in any_arr(ALL, 0, 3, Prof::Full), sel in any::<u8>(), mask in prop::collection::vec(any::<bool>(), 3)) {
        let nd = a.shape.len();
        let mut attrs = Attrs::new();
        let axes: Vec<usize> = if nd == 0 || sel % 3 == 0 {
            (0..nd).collect()
        } else if sel % 3 == 1 {
            let ax = usize::from(sel / 3) % nd;
            attrs.set("axis", Attr::Int(ax as i64 - nd as i64 * i64::from(sel & 0x80 != 0)));
            vec![ax]
        } else {
            let v: Vec<usize> = (0..nd).filter(|&i| mask[i]).collect();
            attrs.set("axis", Attr::Ints(v.iter().map(|&i| i as i64).collect()));
            v
        };
        let got = run1("flip", &[&a], &attrs);
        let exp = gather(&a, &a.shape, |o| {
            let s: Vec<usize> = o
                .iter()
                .enumerate()
                .map(|(i, &x)| if axes.contains(&i) { a.shape[i] - 1 - x } else { x })
                .collect();
            flat(&s, &a.shape)
        });
        check_moved("flip", &got, a.dtype, &a.shape, &exp)?;
    }

    /// roll the flattened array, or along one or more axes (repeats add up).
    #[test]
    fn roll(
        a in any_arr(ALL, 0, 3, Prof::Full),
        shifts in prop::collection::vec(-9i64..=9, 1..=3),
        axes in prop::collection::vec(-3i64..=2, 1..=3),
        flatten in any::<bool>(),
    ) {
        let nd = a.shape.len();
        let mut attrs = Attrs::new().with("shift", Attr::Ints(vec![shifts[0]]));
        let n = a.numel() as i64;
        let exp = if flatten || nd == 0 {
            let s = shifts[0];
            (0..n).map(|j| a.vals[(j - s).rem_euclid(n.max(1)) as usize]).collect()
        } else {
            let k = shifts.len().min(axes.len());
            let nd_i = nd as i64;
            let raw: Vec<i64> = axes[..k]
                .iter()
                .map(|&x| if (-nd_i..nd_i).contains(&x) { x } else { x.rem_euclid(nd_i) })
                .collect();
            let axes: Vec<usize> = raw.iter().map(|&x| norm(x, nd)).collect();
            attrs.set("shift", Attr::Ints(shifts[..k].to_vec()));
            attrs.set("axis", Attr::Ints(raw));
            let mut total = vec![0i64; nd];
            for (&ax, &s) in axes.iter().zip(&shifts) {
                total[ax] += s;
            }
            gather(&a, &a.shape, |o| {
                let s: Vec<usize> = o
                    .iter()
                    .enumerate()
                    .map(|(i, &x)| (x as i64 - total[i]).rem_euclid(a.shape[i] as i64) as usize)
                    .collect();
                flat(&s, &a.shape)
            })
        };
        let got = run1("roll", &[&a], &attrs);
        check_moved("roll", &got, a.dtype, &a.shape, &exp)?;
    }

    /// repeat each element a scalar or per-position number of times, flattened or along an
    /// axis.
    #[test]
    fn repeat(
        a in any_arr(ALL, 0, 3, Prof::Full),
        counts in prop::collection::vec(0usize..=3, 64),
        sel in any::<u8>(),
        per in any::<bool>(),
    ) {
        let nd = a.shape.len();
        let mut attrs = Attrs::new();
        let axis = if nd == 0 || sel % 3 == 0 { None } else { Some(usize::from(sel / 3) % nd) };
        let (src_shape, n) = match axis {
            None => (vec![a.numel()], a.numel()),
            Some(ax) => {
                attrs.set("axis", Attr::Int(ax as i64));
                (a.shape.clone(), a.shape[ax])
            }
        };
        let reps: Vec<usize> = if per { counts[..n].to_vec() } else { vec![counts[0]; n] };
        if per {
            attrs.set("repeats", Attr::Ints(reps.iter().map(|&r| r as i64).collect()));
        } else {
            attrs.set("repeats", Attr::Int(counts[0] as i64));
        }
        let map: Vec<usize> = reps.iter().enumerate().flat_map(|(p, &r)| std::iter::repeat_n(p, r)).collect();
        let ax = axis.unwrap_or(0);
        let mut shape = src_shape.clone();
        shape[ax] = map.len();
        let exp: Vec<V> = indices(&shape)
            .iter()
            .map(|o| {
                let mut s = o.clone();
                s[ax] = map[o[ax]];
                a.vals[flat(&s, &src_shape)]
            })
            .collect();
        let got = run1("repeat", &[&a], &attrs);
        check_moved("repeat", &got, a.dtype, &shape, &exp)?;
    }

    /// tile by 0-3 reps per axis (fewer or more reps than axes).
    #[test]
    fn tile(a in any_arr(ALL, 0, 3, Prof::Full), reps in prop::collection::vec(0usize..=3, 0..=3)) {
        let l = reps.len().max(a.shape.len());
        let mut r = reps.clone();
        while r.len() < l {
            r.insert(0, 1);
        }
        let mut src = a.shape.clone();
        while src.len() < l {
            src.insert(0, 1);
        }
        let shape: Vec<usize> = src.iter().zip(&r).map(|(&s, &k)| s * k).collect();
        let exp = gather(&a, &shape, |o| {
            let s: Vec<usize> = o.iter().zip(&src).map(|(&x, &d)| x % d).collect();
            flat(&s[l - a.shape.len()..], &a.shape)
        });
        let attrs = Attrs::new().with("reps", Attr::Ints(reps.iter().map(|&x| x as i64).collect()));
        let got = run1("tile", &[&a], &attrs);
        check_moved("tile", &got, a.dtype, &shape, &exp)?;
    }

    /// squeeze all or some length-1 axes; expand_dims at random positions.
    #[test]
    fn squeeze_expand_dims(
        a in (prop::sample::select(ALL), prop::collection::vec(prop::sample::select(vec![0usize, 1, 1, 2, 3]), 0..=3))
            .prop_flat_map(|(dt, s)| arr_s(dt, s, Prof::Full)),
        mask in prop::collection::vec(any::<bool>(), 3),
        all in any::<bool>(),
        new_axes in prop::collection::vec(-4i64..=3, 1..=2),
    ) {
        let nd = a.shape.len();
        let ones: Vec<usize> = (0..nd).filter(|&i| a.shape[i] == 1 && (all || mask[i])).collect();
        let mut attrs = Attrs::new();
        if !all {
            attrs.set("axis", Attr::Ints(ones.iter().map(|&i| i as i64).collect()));
        }
        let got = run1("squeeze", &[&a], &attrs);
        let shape: Vec<usize> = (0..nd).filter(|i| !ones.contains(i)).map(|i| a.shape[i]).collect();
        check_moved("squeeze", &got, a.dtype, &shape, &a.vals)?;

        let out_nd = nd + new_axes.len();
        let raw: Vec<i64> = new_axes.iter().map(|&x| x.clamp(-(out_nd as i64), out_nd as i64 - 1)).collect();
        let pos: Vec<usize> = raw.iter().map(|&x| norm(x, out_nd)).collect();
        let mut uniq = pos.clone();
        uniq.sort();
        uniq.dedup();
        let attrs = Attrs::new().with("axis", Attr::Ints(raw));
        let res = run_op("expand_dims", &[&a], &attrs);
        if uniq.len() != pos.len() {
            prop_assert!(res.is_err(), "repeated axis must raise");
            return Ok(());
        }
        let got = res.map_err(|e| TestCaseError::fail(format!("expand_dims: {e}")))?.remove(0);
        let mut src = a.shape.iter();
        let shape: Vec<usize> = (0..out_nd).map(|i| if pos.contains(&i) { 1 } else { *src.next().unwrap() }).collect();
        check_moved("expand_dims", &got, a.dtype, &shape, &a.vals)?;
    }
}
