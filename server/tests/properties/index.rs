//! Indexing: getitem with ints, slices (any step), newaxis and ellipsis; take.

use super::*;
use ndserve_proto::{Attr, IndexItem};

/// Python's `range(*slice(start, stop, step).indices(n))`, as CPython computes it.
fn py_slice(n: usize, start: Option<i64>, stop: Option<i64>, step: Option<i64>) -> Vec<usize> {
    let n = n as i64;
    let step = step.unwrap_or(1);
    let (lo, hi) = if step < 0 { (-1, n - 1) } else { (0, n) };
    let adj = |v: Option<i64>, default: i64| match v {
        None => default,
        Some(v) => (if v < 0 { v + n } else { v }).clamp(lo, hi),
    };
    let (start, stop) = if step < 0 {
        (adj(start, hi), adj(stop, lo))
    } else {
        (adj(start, lo), adj(stop, hi))
    };
    let mut out = vec![];
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(i as usize);
        i += step;
    }
    out
}

type RawItem = (u8, Option<i64>, Option<i64>, Option<i64>, i64);

fn raw_item() -> impl Strategy<Value = RawItem> {
    (
        any::<u8>(),
        prop::option::of(-6i64..=6),
        prop::option::of(-6i64..=6),
        prop::option::of(prop::sample::select(vec![-3i64, -2, -1, 1, 2, 3])),
        any::<i64>(),
    )
}

/// A key valid for `shape` built from raw draws: at most one ellipsis, at most one int or
/// slice per axis, every int in range for the axis it lands on.
fn build_key(shape: &[usize], raw: &[RawItem]) -> Vec<IndexItem> {
    let mut key = vec![];
    let mut consuming = 0;
    let mut ellipsis = false;
    for &(kind, a, b, st, i) in raw {
        match kind % 6 {
            0 if consuming < shape.len() => {
                key.push(IndexItem::Int(i));
                consuming += 1;
            }
            1 | 2 if consuming < shape.len() => {
                key.push(IndexItem::Slice(a, b, st));
                consuming += 1;
            }
            3 => key.push(IndexItem::NewAxis),
            4 if !ellipsis => {
                ellipsis = true;
                key.push(IndexItem::Ellipsis);
            }
            _ => {}
        }
    }
    // Place each int on its axis (after the ellipsis expands) and bring it into range; an
    // int on an empty axis becomes a full slice.
    let mut axis = 0;
    for k in key.iter_mut() {
        match *k {
            IndexItem::Int(i) => {
                let n = shape[axis] as i64;
                *k = if n == 0 {
                    IndexItem::Slice(None, None, None)
                } else {
                    IndexItem::Int(i.rem_euclid(2 * n) - n)
                };
                axis += 1;
            }
            IndexItem::Slice(..) => axis += 1,
            IndexItem::Ellipsis => axis += shape.len() - consuming,
            _ => {}
        }
    }
    key
}

/// One output dimension of the reference: source positions on an axis, or a new axis.
enum Dim {
    Axis(usize, Vec<usize>),
    New,
}

proptest! {
    #![proptest_config(cfg(256))]

    /// a[key] for keys of ints (negative too), slices with any start/stop/step, newaxis and
    /// one ellipsis, against Python's slice rules written out.
    #[test]
    fn getitem(a in any_arr(ALL, 0, 3, Prof::Full), raw in prop::collection::vec(raw_item(), 0..=5)) {
        let key = build_key(&a.shape, &raw);
        let nd = a.shape.len();
        let consuming = key.iter().filter(|k| matches!(k, IndexItem::Int(_) | IndexItem::Slice(..))).count();
        // Expand the ellipsis (or append full slices) so every source axis has an item.
        let mut items = vec![];
        let mut has_ellipsis = false;
        for k in &key {
            if *k == IndexItem::Ellipsis {
                has_ellipsis = true;
                items.extend(std::iter::repeat_n(IndexItem::Slice(None, None, None), nd - consuming));
            } else {
                items.push(k.clone());
            }
        }
        if !has_ellipsis {
            items.extend(std::iter::repeat_n(IndexItem::Slice(None, None, None), nd - consuming));
        }
        let mut fixed = vec![0usize; nd];
        let mut dims = vec![];
        let mut axis = 0;
        for it in &items {
            match *it {
                IndexItem::Int(i) => {
                    fixed[axis] = if i < 0 { (i + a.shape[axis] as i64) as usize } else { i as usize };
                    axis += 1;
                }
                IndexItem::Slice(s, e, st) => {
                    dims.push(Dim::Axis(axis, py_slice(a.shape[axis], s, e, st)));
                    axis += 1;
                }
                _ => dims.push(Dim::New),
            }
        }
        let shape: Vec<usize> = dims.iter().map(|d| match d { Dim::Axis(_, p) => p.len(), Dim::New => 1 }).collect();
        let exp: Vec<V> = indices(&shape)
            .iter()
            .map(|o| {
                let mut s = fixed.clone();
                for (d, &x) in dims.iter().zip(o) {
                    if let Dim::Axis(ax, p) = d {
                        s[*ax] = p[x];
                    }
                }
                a.vals[flat(&s, &a.shape)]
            })
            .collect();
        let got = run1("getitem", &[&a], &Attrs::new().with("key", Attr::Index(key.clone())));
        check("getitem", &got, a.dtype, &shape, &exp, 0.0, &[], true)?;
    }

    /// take with in-range (negative too) indices of any integer dtype and shape, flattened
    /// or along an axis; a non-empty take from an empty axis raises.
    #[test]
    fn take(
        a in any_arr(ALL, 0, 3, Prof::Full),
        idt in prop::sample::select(vec![DType::Int8, DType::Int16, DType::Int32, DType::Int64, DType::UInt8, DType::UInt16, DType::UInt32]),
        ishape in shape_s(0, 2),
        raw in prop::collection::vec(any::<i64>(), 16),
        sel in any::<u8>(),
        neg in any::<bool>(),
    ) {
        let nd = a.shape.len();
        let mut attrs = Attrs::new();
        let axis = if nd == 0 || sel % 3 == 0 { None } else { Some(usize::from(sel / 3) % nd) };
        let src_shape = match axis {
            None => vec![a.numel()],
            Some(ax) => {
                attrs.set("axis", Attr::Int(if neg { ax as i64 - nd as i64 } else { ax as i64 }));
                a.shape.clone()
            }
        };
        let ax = axis.unwrap_or(0);
        let n = src_shape[ax] as i64;
        let ni: usize = ishape.iter().product();
        let signed = idt.int_bits().unwrap().1;
        let ivals: Vec<i64> = (0..ni)
            .map(|k| {
                let r = raw[k % raw.len()].wrapping_add(k as i64);
                if n == 0 { 0 } else if signed { r.rem_euclid(2 * n) - n } else { r.rem_euclid(n) }
            })
            .collect();
        let idx = Arr { dtype: idt, shape: ishape.clone(), vals: ivals.iter().map(|&v| V::I(v as i128)).collect() };
        let res = run_op("take", &[&a, &idx], &attrs);
        if n == 0 && ni > 0 {
            prop_assert!(res.is_err(), "a non-empty take from an empty axis must raise");
            return Ok(());
        }
        let got = res.map_err(|e| TestCaseError::fail(format!("take {attrs:?}: {e}")))?.remove(0);
        let mut shape = src_shape[..ax].to_vec();
        shape.extend(&ishape);
        shape.extend_from_slice(&src_shape[ax + 1..]);
        let ir = ishape.len();
        let exp: Vec<V> = indices(&shape)
            .iter()
            .map(|o| {
                let iv = ivals[flat(&o[ax..ax + ir], &ishape)];
                let p = if iv < 0 { iv + n } else { iv } as usize;
                let mut s = o[..ax].to_vec();
                s.push(p);
                s.extend_from_slice(&o[ax + ir..]);
                a.vals[flat(&s, &src_shape)]
            })
            .collect();
        check("take", &got, a.dtype, &shape, &exp, 0.0, &[], true)?;
    }
}
