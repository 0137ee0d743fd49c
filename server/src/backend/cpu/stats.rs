//! Statistics, cumulative and sorting kernels (the ops of `ndserve_proto::ops::stats`).
//!
//! Every kernel works on *lanes*: the axes it works over are moved last and the input is
//! laid out in C order, so each output element (or each sorted/cumulated run) comes from
//! one contiguous slice. Lanes run on rayon when there are many elements. Sums of
//! `nansum`/`nanprod`/`average`-without-weights go through the `sum`/`prod`/`mean`
//! kernels of `reduce.rs`, so there is one accurate summation in the backend.

use std::borrow::Cow;
use std::cmp::Ordering;

use half::{bf16, f16};
use ndarray::{Array, IxDyn};
use ndserve_proto::ops::stats::{StatKind, StatsPlan, stats_plan};
use ndserve_proto::{Attr, Attrs, DType, Error, Result};
use num_complex::{Complex32, Complex64};
use rayon::prelude::*;

use super::array::{Element, HostArray, Nd};
use super::cast::{cast, cast_elem};
use super::kernels::{CpuInput, KernelCall};
use super::radix::LaneSort;
use super::reduce::RElem;

/// Work below this many elements stays on the calling thread.
const PAR_MIN: usize = 1 << 15;

/// The kernels of this family.
pub fn kernels() -> Vec<(&'static str, super::KernelFn)> {
    ndserve_proto::ops::stats::STATS
        .iter()
        .map(|r| (r.0, stats_kernel as super::KernelFn))
        .collect()
}

/// Element arithmetic as NumPy does it in the element's own dtype (integers wrap).
pub(crate) trait Num: RElem {
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
}

macro_rules! int_num {
    ($($T:ty),*) => {$(
        impl Num for $T {
            #[inline(always)]
            fn add(self, o: $T) -> $T { self.wrapping_add(o) }
            #[inline(always)]
            fn sub(self, o: $T) -> $T { self.wrapping_sub(o) }
            #[inline(always)]
            fn mul(self, o: $T) -> $T { self.wrapping_mul(o) }
        }
    )*};
}
int_num!(i8, i16, i32, i64, u8, u16, u32, u64);

impl Num for bool {
    fn add(self, o: bool) -> bool {
        self | o
    }
    fn sub(self, o: bool) -> bool {
        self ^ o
    }
    fn mul(self, o: bool) -> bool {
        self & o
    }
}

macro_rules! native_num {
    ($($T:ty),*) => {$(
        impl Num for $T {
            #[inline(always)]
            fn add(self, o: $T) -> $T { self + o }
            #[inline(always)]
            fn sub(self, o: $T) -> $T { self - o }
            #[inline(always)]
            fn mul(self, o: $T) -> $T { self * o }
        }
    )*};
}
native_num!(f32, f64, Complex32, Complex64);

macro_rules! half_num {
    ($($T:ty),*) => {$(
        impl Num for $T {
            #[inline(always)]
            fn add(self, o: $T) -> $T { <$T>::from_f32(self.to_f32() + o.to_f32()) }
            #[inline(always)]
            fn sub(self, o: $T) -> $T { <$T>::from_f32(self.to_f32() - o.to_f32()) }
            #[inline(always)]
            fn mul(self, o: $T) -> $T { <$T>::from_f32(self.to_f32() * o.to_f32()) }
        }
    )*};
}
half_num!(f16, bf16);

/// NumPy's sort order: NaNs last, complex lexicographic.
#[inline]
pub(crate) fn cmp_nl<T: RElem>(a: &T, b: &T) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ if a.lt(*b) => Ordering::Less,
        _ if b.lt(*a) => Ordering::Greater,
        _ => Ordering::Equal,
    }
}

/// The elements of `x` with `axes` moved last, in C order, with the permuted shape:
/// borrowed from `x` when they already lie in that order (the axes were the last ones of
/// a contiguous array), copied otherwise.
fn to_lanes<'a, T: Clone>(x: &'a Nd<T>, axes: &[usize]) -> (Cow<'a, [T]>, Vec<usize>, Vec<usize>) {
    let mut perm: Vec<usize> = (0..x.ndim()).filter(|i| !axes.contains(i)).collect();
    perm.extend_from_slice(axes);
    let v = x.view().permuted_axes(IxDyn(&perm));
    let shape = v.shape().to_vec();
    let data = match v.to_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(v.iter().cloned().collect()),
    };
    (data, shape, perm)
}

/// Undoes [`to_lanes`]: `data` in the permuted layout of `shape`, back to C order.
fn from_lanes<T: Element>(data: Vec<T>, shape: &[usize], perm: &[usize]) -> HostArray {
    let a = Array::from_shape_vec(IxDyn(shape), data).expect("lane data fits its shape");
    let mut inv = vec![0; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        inv[p] = i;
    }
    let a = a.permuted_axes(IxDyn(&inv));
    if a.is_standard_layout() {
        return T::wrap(a.into_shared()); // the lanes were the last axes: no copy
    }
    T::wrap(a.as_standard_layout().into_owned().into_shared())
}

/// One output element per lane of length `r`.
fn per_lane<T: Sync, O: Send>(
    data: &[T],
    r: usize,
    k: usize,
    f: impl Fn(&[T]) -> O + Sync + Send,
) -> Vec<O> {
    if r == 0 {
        return (0..k).map(|_| f(&[])).collect();
    }
    if data.len() >= PAR_MIN {
        data.par_chunks(r).map(f).collect()
    } else {
        data.chunks(r).map(f).collect()
    }
}

/// `f` on each pair of output and input lanes of length `r`, on rayon when there are
/// many elements and several lanes.
fn zip_lanes<T: Send + Sync, O: Send>(
    out: &mut [O],
    data: &[T],
    r: usize,
    f: impl Fn((&mut [O], &[T])) + Sync + Send,
) {
    if r == 0 {
        return;
    }
    if data.len() >= PAR_MIN && data.len() / r > 1 {
        out.par_chunks_mut(r).zip(data.par_chunks(r)).for_each(f);
    } else {
        out.chunks_mut(r).zip(data.chunks(r)).for_each(f);
    }
}

fn out_array<T: Element>(v: Vec<T>, shape: &[usize]) -> HostArray {
    T::wrap(
        Array::from_shape_vec(IxDyn(shape), v)
            .expect("kernel output fits its shape")
            .into_shared(),
    )
}

fn stats_kernel(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let plan = stats_plan(&call.call())?;
    let a = call.inputs[0].as_array();
    // A view when the input is contiguous: no copy.
    let a = if plan.flatten {
        super::shape::reshaped(&a, &[a.len()])
    } else {
        a
    };
    let op = call.op;
    let shape = plan.outs[0].shape.to_vec();
    let out = match plan.kind {
        StatKind::Moment => moment(&a, &plan, op, &shape),
        StatKind::NanAccumulate => {
            let fill = if op == "nansum" { 0.0 } else { 1.0 };
            let clean = crate::with_array!(&a, x, T => {
                let f: T = cast_elem::<f64, T>(fill);
                T::wrap(x.mapv(|v| if v.is_nan() { f } else { v }).into_shared())
            });
            let base = if op == "nansum" { "sum" } else { "prod" };
            return super::kernels::run(base, &[CpuInput::Array(clean)], call.attrs, call.outs);
        }
        StatKind::NanMean if !a.dtype().is_inexact() => {
            return super::kernels::run("mean", &[CpuInput::Array(a)], call.attrs, call.outs);
        }
        StatKind::NanMean => {
            let wide = if a.dtype().is_complex() {
                DType::Complex128
            } else {
                DType::Float64
            };
            let c = cast(&a, wide);
            let r = crate::with_array!(&c, x, T => {
                let (data, _, _) = to_lanes(x, &plan.axes);
                let rl = lane_len(a.shape(), &plan.axes);
                let v: Vec<T> = per_lane(&data, rl, shape.iter().product(), |l| {
                    let mut s = T::s_zero();
                    let mut n = 0usize;
                    for &e in l.iter().filter(|e| !e.is_nan()) {
                        s = T::s_add(s, e);
                        n += 1;
                    }
                    if n == 0 { cast_elem::<f64, T>(f64::NAN) } else { T::s_mean(s, n) }
                });
                out_array(v, &shape)
            });
            cast(&r, plan.compute)
        }
        StatKind::Ptp | StatKind::NanExtreme => crate::with_array!(&a, x, T => {
            let (data, _, _) = to_lanes(x, &plan.axes);
            let rl = lane_len(a.shape(), &plan.axes);
            let v: Vec<T> = match op {
                "ptp" => per_lane(&data, rl, shape.iter().product(), |l| {
                    let (mut lo, mut hi) = (l[0], l[0]);
                    for &e in l {
                        if e.is_nan() { return e; }
                        if e.lt(lo) { lo = e; }
                        if e.gt(hi) { hi = e; }
                    }
                    hi.sub(lo)
                }),
                _ => {
                    let max = op == "nanmax";
                    per_lane(&data, rl, shape.iter().product(), |l| {
                        let mut best: Option<T> = None;
                        for &e in l.iter().filter(|e| !e.is_nan()) {
                            best = Some(match best {
                                Some(b) if (max && !e.gt(b)) || (!max && !e.lt(b)) => b,
                                _ => e,
                            });
                        }
                        best.unwrap_or(cast_elem::<f64, T>(f64::NAN))
                    })
                }
            };
            out_array(v, &shape)
        }),
        StatKind::CountNonzero => crate::with_array!(&a, x, _T => {
            let (data, _, _) = to_lanes(x, &plan.axes);
            let rl = lane_len(a.shape(), &plan.axes);
            let v: Vec<i64> = per_lane(&data, rl, shape.iter().product(), |l| {
                l.iter().filter(|e| e.truthy()).count() as i64
            });
            out_array(v, &shape)
        }),
        StatKind::Average => return average(call, &a, &plan),
        StatKind::Quantile => quantile(call, &a, &plan, &shape)?,
        StatKind::Cumulative => {
            let c = cast(&a, plan.compute);
            let prod = op == "cumprod";
            crate::with_array!(&c, x, _T => {
                let rl = lane_len(c.shape(), &plan.axes);
                let scan = |(o, l): (&mut [_T], &[_T])| {
                    let Some((&first, rest)) = l.split_first() else { return };
                    o[0] = first;
                    let mut acc = first;
                    for (o, &x) in o[1..].iter_mut().zip(rest) {
                        acc = if prod { acc.mul(x) } else { acc.add(x) };
                        *o = acc;
                    }
                };
                // Lanes already contiguous are read in place: input read once, output
                // written once.
                let (data, pshape, perm) = to_lanes(x, &plan.axes);
                let mut out = vec![_T::default(); data.len()];
                zip_lanes(&mut out, &data, rl, scan);
                from_lanes(out, &pshape, &perm)
            })
        }
        StatKind::Diff => diff(call, &a, &plan)?,
        StatKind::Sort | StatKind::ArgSort => {
            let arg = plan.kind == StatKind::ArgSort;
            crate::with_array!(&a, x, T => {
                let rl = lane_len(a.shape(), &plan.axes);
                // Lanes already contiguous are sorted straight from the input.
                let (data, pshape, perm) = to_lanes(x, &plan.axes);
                if arg {
                    let mut idx = vec![0i64; data.len()];
                    zip_lanes(&mut idx, &data, rl, |(ix, l)| T::argsort_lane(l, ix));
                    from_lanes(idx, &pshape, &perm)
                } else {
                    let mut out = vec![T::default(); data.len()];
                    zip_lanes(&mut out, &data, rl, |(o, l)| T::sort_lane(l, o));
                    from_lanes(out, &pshape, &perm)
                }
            })
        }
        StatKind::SearchSorted => {
            let right = call.attrs.str(op, "side")? == Some("right");
            let s = cast(&a, plan.compute);
            let v = call.inputs[1].to_array(plan.compute);
            crate::with_array!(&s, x, T => {
                let xs: Vec<T> = x.iter().cloned().collect();
                let vv = v.typed::<T>().expect("cast to the compute dtype");
                let out: Vec<i64> = vv
                    .iter()
                    .map(|e| {
                        xs.partition_point(|p| {
                            let o = cmp_nl(p, e);
                            if right { o != Ordering::Greater } else { o == Ordering::Less }
                        }) as i64
                    })
                    .collect();
                out_array(out, &shape)
            })
        }
        StatKind::IsIn => {
            let invert = call.attrs.bool_or(op, "invert", false)?;
            let e = call.inputs[0].to_array(plan.compute);
            let t = call.inputs[1].to_array(plan.compute);
            crate::with_array!(&e, x, T => {
                let mut ts: Vec<T> = t.typed::<T>().expect("cast").iter().cloned().filter(|v| !v.is_nan()).collect();
                ts.sort_by(cmp_nl);
                let out: Vec<bool> = x
                    .iter()
                    .map(|v| {
                        let found = !v.is_nan() && ts.binary_search_by(|p| cmp_nl(p, v)).is_ok();
                        found != invert
                    })
                    .collect();
                out_array(out, &shape)
            })
        }
    };
    Ok(vec![out])
}

fn lane_len(shape: &[usize], axes: &[usize]) -> usize {
    axes.iter().map(|&i| shape[i]).product()
}

/// `var`/`std`/`nanvar`/`nanstd` in f64 (or complex128), two passes per lane.
fn moment(a: &HostArray, plan: &StatsPlan, op: &str, shape: &[usize]) -> HostArray {
    let nan = op.starts_with("nan");
    let std = op.ends_with("std");
    let ddof = plan.n;
    let wide = if a.dtype().is_complex() {
        DType::Complex128
    } else {
        DType::Float64
    };
    let c = cast(a, wide);
    let rl = lane_len(a.shape(), &plan.axes);
    let k = shape.iter().product();
    let fin = move |ss: f64, n: usize| {
        let d = (n as f64 - ddof as f64).max(0.0);
        let v = ss / d;
        if std { v.sqrt() } else { v }
    };
    let v: Vec<f64> = crate::with_array!(&c, x, T => {
        let (data, _, _) = to_lanes(x, &plan.axes);
        let data: Vec<Complex64> = data.iter().map(|&e| cast_elem::<T, Complex64>(e)).collect();
        per_lane(&data, rl, k, |l| {
            let keep = |e: &&Complex64| !nan || !(e.re.is_nan() || e.im.is_nan());
            let n = l.iter().filter(keep).count();
            let s: Complex64 = l.iter().filter(keep).sum();
            let m = s / n as f64;
            let ss: f64 = l.iter().filter(keep).map(|e| (e - m).norm_sqr()).sum();
            if n == 0 { f64::NAN } else { fin(ss, n) }
        })
    });
    cast(&out_array(v, shape), plan.compute)
}

/// `average`: the mean kernel without weights; with weights, sums in complex128.
fn average(call: &KernelCall<'_>, a: &HostArray, plan: &StatsPlan) -> Result<Vec<HostArray>> {
    let shape = plan.outs[0].shape.to_vec();
    let (avg, scl) = if call.inputs.len() == 1 {
        let mut attrs = Attrs::new();
        if let Some(ax) = call.attrs.get("axis") {
            attrs.set("axis", ax.clone());
        }
        attrs.set(
            "keepdims",
            Attr::Bool(call.attrs.bool_or(call.op, "keepdims", false)?),
        );
        let avg = super::kernels::run(
            "mean",
            &[CpuInput::Array(a.clone())],
            &attrs,
            &plan.outs[..1],
        )?
        .remove(0);
        let n = a.len() as f64 / (shape.iter().product::<usize>().max(1)) as f64;
        let scl = crate::with_dtype!(plan.compute, T => {
            out_array(vec![cast_elem::<f64, T>(n); shape.iter().product()], &shape)
        });
        (avg, scl)
    } else {
        let x = cast(a, DType::Complex128);
        let w = call.inputs[1].to_array(DType::Complex128);
        let x = x.typed::<Complex64>().expect("cast");
        let w = w.typed::<Complex64>().expect("cast");
        let w = if w.shape() != x.shape() {
            let mut s = vec![1; x.ndim()];
            s[plan.axes[0]] = w.len();
            let r = w
                .clone()
                .into_shape_with_order(IxDyn(&s))
                .expect("1-D weights");
            r.broadcast(IxDyn(x.shape()))
                .expect("broadcast weights")
                .to_owned()
                .into_shared()
        } else {
            w.clone()
        };
        let (xd, _, _) = to_lanes(x, &plan.axes);
        let (wd, _, _) = to_lanes(&w, &plan.axes);
        let rl = lane_len(x.shape(), &plan.axes);
        let k: usize = shape.iter().product();
        let mut avg = Vec::with_capacity(k);
        let mut scl = Vec::with_capacity(k);
        for i in 0..k {
            let (l, m) = (&xd[i * rl..(i + 1) * rl], &wd[i * rl..(i + 1) * rl]);
            let sw: Complex64 = m.iter().sum();
            if sw == Complex64::new(0.0, 0.0) {
                return Err(Error::invalid(
                    call.op,
                    "weights",
                    "Weights sum to zero, can't be normalized",
                ));
            }
            let s: Complex64 = l.iter().zip(m).map(|(a, b)| a * b).sum();
            avg.push(s / sw);
            scl.push(sw);
        }
        (
            cast(&out_array(avg, &shape), plan.compute),
            cast(&out_array(scl, &shape), plan.compute),
        )
    };
    let mut out = vec![avg];
    if plan.outs.len() == 2 {
        out.push(scl);
    }
    Ok(out)
}

/// NumPy's `_lerp` with its `t >= 0.5` correction; `b - a` is computed in the data's
/// dtype `dt` (NumPy subtracts the two array elements before mixing in the float64 `t`).
fn lerp(a: f64, b: f64, t: f64, dt: DType) -> f64 {
    let d = super::cast::round_to(b - a, dt);
    if t >= 0.5 {
        b - d * (1.0 - t)
    } else {
        a + d * t
    }
}

/// `median`, `quantile`, `percentile` (method `linear`) in f64.
fn quantile(
    call: &KernelCall<'_>,
    a: &HostArray,
    plan: &StatsPlan,
    shape: &[usize],
) -> Result<HostArray> {
    let op = call.op;
    let qs: Vec<f64> = if op == "median" {
        vec![0.5]
    } else {
        let q = call.inputs[1].to_array(DType::Float64);
        let mut v: Vec<f64> = q.typed::<f64>().expect("cast").iter().cloned().collect();
        if op == "percentile" {
            v.iter_mut().for_each(|x| *x /= 100.0);
        }
        if v.iter().any(|x| !(0.0..=1.0).contains(x)) {
            return Err(Error::invalid(
                op,
                "q",
                "Quantiles must be in the range [0, 1]",
            ));
        }
        v
    };
    let c = cast(a, DType::Float64);
    let x = c.typed::<f64>().expect("cast");
    let (data, _, _) = to_lanes(x, &plan.axes);
    let rl = lane_len(x.shape(), &plan.axes);
    let k: usize = data.len().checked_div(rl).unwrap_or(0);
    let k = if rl == 0 {
        shape.iter().product::<usize>() / qs.len().max(1)
    } else {
        k
    };
    let per: Vec<Vec<f64>> = per_lane(&data, rl, k, |l| {
        if l.is_empty() || l.iter().any(|e| e.is_nan()) {
            return vec![f64::NAN; qs.len()];
        }
        let mut s = l.to_vec();
        s.sort_by(cmp_nl);
        let n = s.len();
        qs.iter()
            .map(|&q| {
                if op == "median" {
                    let h = n / 2;
                    if n % 2 == 1 {
                        s[h]
                    } else {
                        (s[h - 1] + s[h]) / 2.0
                    }
                } else {
                    let vi = q * (n - 1) as f64;
                    let lo = vi.floor();
                    let t = vi - lo;
                    let lo = lo as usize;
                    let hi = (lo + 1).min(n - 1);
                    lerp(s[lo], s[hi], t, a.dtype())
                }
            })
            .collect()
    });
    // Output layout: q axes first, then the kept axes.
    let mut v = vec![0.0; qs.len() * k];
    for (i, lane) in per.iter().enumerate() {
        for (j, &r) in lane.iter().enumerate() {
            v[j * k + i] = r;
        }
    }
    Ok(cast(&out_array(v, shape), plan.compute))
}

/// `diff`: `n` differences along one axis, after the scalars `prepend`/`append`.
fn diff(call: &KernelCall<'_>, a: &HostArray, plan: &StatsPlan) -> Result<HostArray> {
    let op = call.op;
    if plan.n == 0 {
        return Ok(a.clone());
    }
    let pre = call.attrs.scalar(op, "prepend")?;
    let app = call.attrs.scalar(op, "append")?;
    let c = cast(a, plan.compute);
    let one = |s: &ndserve_proto::Scalar| super::cast::scalar_array(s, plan.compute);
    let pre = pre.as_ref().map(one);
    let app = app.as_ref().map(one);
    let n = plan.n as usize;
    Ok(crate::with_array!(&c, x, T => {
        let (data, mut pshape, perm) = to_lanes(x, &plan.axes);
        let rl = pshape[pshape.len() - 1];
        let k = data
            .len()
            .checked_div(rl)
            .unwrap_or_else(|| pshape[..pshape.len() - 1].iter().product());
        let p = pre.as_ref().map(|h| h.typed::<T>().expect("cast")[[]]);
        let q = app.as_ref().map(|h| h.typed::<T>().expect("cast")[[]]);
        let full = rl + p.is_some() as usize + q.is_some() as usize;
        let out_len = full.saturating_sub(n);
        let mut out = Vec::with_capacity(k * out_len);
        let mut lane = Vec::with_capacity(full);
        for i in 0..k {
            lane.clear();
            lane.extend(p);
            lane.extend_from_slice(&data[i * rl..(i + 1) * rl]);
            lane.extend(q);
            for m in 0..n.min(full) {
                for j in 0..full - m - 1 {
                    lane[j] = lane[j + 1].sub(lane[j]);
                }
            }
            out.extend_from_slice(&lane[..out_len]);
        }
        let last = pshape.len() - 1;
        pshape[last] = out_len;
        from_lanes(out, &pshape, &perm)
    }))
}

#[cfg(test)]
mod tests {
    use ndarray::ArcArray;
    use ndserve_proto::{Attr, Attrs, DType};

    use super::super::testing::{arr, run_op, vals};
    use super::*;

    fn go(op: &str, ins: &[HostArray], attrs: Attrs) -> Result<Vec<HostArray>> {
        run_op(op, ins, attrs)
    }

    fn same(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g.is_nan() && w.is_nan()) || (g - w).abs() <= 1e-12 * w.abs().max(1.0),
                "{got:?} vs {want:?}"
            );
        }
    }

    #[test]
    fn moments_match_numpy() {
        let a = arr(DType::Float64, &[2, 3], [1., 2., 4., 7., -1., 0.5]);
        // np.var(a, axis=-1), np.std(a, axis=0, ddof=1)
        let r = go(
            "var",
            std::slice::from_ref(&a),
            Attrs::new().with("axis", Attr::Int(-1)),
        )
        .unwrap();
        same(&vals(&r[0]), &[1.5555555555555554, 12.055555555555557]);
        let r = go(
            "std",
            std::slice::from_ref(&a),
            Attrs::new()
                .with("axis", Attr::Int(0))
                .with("ddof", Attr::Int(1)),
        )
        .unwrap();
        same(
            &vals(&r[0]),
            &[4.242640687119285, 2.1213203435596424, 2.4748737341529163],
        );
        // ddof > n: np.var([1., 2.], ddof=3) -> inf; 0-d: np.var(3) -> 0.0.
        let r = go(
            "var",
            &[arr(DType::Float64, &[2], [1., 2.])],
            Attrs::new().with("ddof", Attr::Int(3)),
        )
        .unwrap();
        assert!(vals(&r[0])[0].is_infinite());
        let r = go("var", &[arr(DType::Int16, &[], [3.])], Attrs::new()).unwrap();
        assert_eq!((r[0].dtype(), vals(&r[0])), (DType::Float64, vec![0.0]));
        // nanvar ignores NaN: np.nanvar([1., nan, 3.]) -> 1.0
        let r = go(
            "nanvar",
            &[arr(DType::Float32, &[3], [1., f64::NAN, 3.])],
            Attrs::new(),
        )
        .unwrap();
        assert_eq!((r[0].dtype(), vals(&r[0])), (DType::Float32, vec![1.0]));
    }

    #[test]
    fn nan_reductions_and_ptp() {
        let nan = f64::NAN;
        let a = arr(DType::Float64, &[2, 2], [1., nan, nan, nan]);
        let ax1 = || Attrs::new().with("axis", Attr::Int(1));
        same(
            &vals(&go("nansum", std::slice::from_ref(&a), ax1()).unwrap()[0]),
            &[1., 0.],
        );
        same(
            &vals(&go("nanprod", std::slice::from_ref(&a), ax1()).unwrap()[0]),
            &[1., 1.],
        );
        same(
            &vals(&go("nanmean", std::slice::from_ref(&a), ax1()).unwrap()[0]),
            &[1., nan],
        );
        same(
            &vals(&go("nanmax", std::slice::from_ref(&a), ax1()).unwrap()[0]),
            &[1., nan],
        );
        let i = arr(DType::Int8, &[3], [-100., 100., 5.]);
        let p = &go("ptp", &[i], Attrs::new()).unwrap()[0];
        // np.ptp(np.array([-100, 100, 5], np.int8)) wraps to -56.
        assert_eq!((p.dtype(), vals(p)), (DType::Int8, vec![-56.0]));
        assert!(
            go(
                "ptp",
                &[arr(DType::Float64, &[0, 3], [0.0f64; 0])],
                Attrs::new().with("axis", Attr::Int(0))
            )
            .is_err()
        );
        let c = &go("count_nonzero", &[a], Attrs::new()).unwrap()[0];
        assert_eq!((c.dtype(), vals(c)), (DType::Int64, vec![4.0]));
    }

    #[test]
    fn cumulative_and_diff() {
        let a = arr(DType::Int8, &[2, 2], [100., 100., 1., 2.]);
        let r = &go("cumsum", std::slice::from_ref(&a), Attrs::new()).unwrap()[0];
        assert_eq!(
            (r.dtype(), vals(r)),
            (DType::Int64, vec![100., 200., 201., 203.])
        );
        let r = &go(
            "cumsum",
            std::slice::from_ref(&a),
            Attrs::new()
                .with("axis", Attr::Int(0))
                .with("dtype", Attr::DType(DType::Int8)),
        )
        .unwrap()[0];
        same(&vals(r), &[100., 100., 101., 102.]);
        let r = &go(
            "cumprod",
            std::slice::from_ref(&a),
            Attrs::new().with("axis", Attr::Int(-1)),
        )
        .unwrap()[0];
        same(&vals(r), &[100., 10000., 1., 2.]);
        // np.diff(np.array([[100, 100], [1, 2]], np.int8), axis=0) wraps: [[-99, -98]]
        let r = &go(
            "diff",
            std::slice::from_ref(&a),
            Attrs::new().with("axis", Attr::Int(0)),
        )
        .unwrap()[0];
        assert_eq!(
            (r.dtype(), r.shape().to_vec(), vals(r)),
            (DType::Int8, vec![1, 2], vec![-99., -98.])
        );
        let r = &go(
            "diff",
            &[arr(DType::Float64, &[4], [1., 4., 9., 16.])],
            Attrs::new().with("n", Attr::Int(2)),
        )
        .unwrap()[0];
        same(&vals(r), &[2., 2.]);
        assert!(go("diff", &[arr(DType::Float64, &[], [1.])], Attrs::new()).is_err());
        assert!(go("diff", &[a], Attrs::new().with("n", Attr::Int(-1))).is_err());
    }

    #[test]
    fn sorting_and_searching() {
        let nan = f64::NAN;
        let a = arr(DType::Float64, &[2, 3], [3., nan, 1., 2., 2., -0.5]);
        same(
            &vals(&go("sort", std::slice::from_ref(&a), Attrs::new()).unwrap()[0]),
            &[1., 3., nan, -0.5, 2., 2.],
        );
        same(
            &vals(&go("argsort", std::slice::from_ref(&a), Attrs::new()).unwrap()[0]),
            &[2., 0., 1., 2., 0., 1.],
        );
        let r = &go(
            "sort",
            std::slice::from_ref(&a),
            Attrs::new().with("axis", Attr::None),
        )
        .unwrap()[0];
        same(&vals(r), &[-0.5, 1., 2., 2., 3., nan]);
        same(
            &vals(
                &go(
                    "sort",
                    std::slice::from_ref(&a),
                    Attrs::new().with("axis", Attr::Int(0)),
                )
                .unwrap()[0],
            ),
            &[2., 2., -0.5, 3., nan, 1.],
        );
        assert!(go("sort", &[arr(DType::Float64, &[], [1.])], Attrs::new()).is_err());
        let s = arr(DType::Int32, &[4], [1., 2., 2., 5.]);
        let v = arr(DType::Float64, &[3], [2., 0., 9.]);
        same(
            &vals(&go("searchsorted", &[s.clone(), v.clone()], Attrs::new()).unwrap()[0]),
            &[1., 0., 4.],
        );
        let right = Attrs::new().with("side", Attr::Str("right".into()));
        same(
            &vals(&go("searchsorted", &[s.clone(), v.clone()], right).unwrap()[0]),
            &[3., 0., 4.],
        );
        same(
            &vals(&go("isin", &[v, s], Attrs::new()).unwrap()[0]),
            &[1., 0., 0.],
        );
        // A long lane takes the parallel sort.
        let n = 100_000;
        let big: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1013) as f64).collect();
        let mut want = big.clone();
        want.sort_by(f64::total_cmp);
        same(
            &vals(&go("sort", &[arr(DType::Float64, &[n], &big)], Attrs::new()).unwrap()[0]),
            &want,
        );
    }

    #[test]
    fn quantiles_and_average() {
        let a = arr(DType::Float64, &[2, 4], [1., 2., 3., 4., 10., 7., 8., 9.]);
        // np.median(a, axis=1) -> [2.5, 8.5]; np.quantile(a, [0.1, 0.9], axis=1)
        same(
            &vals(
                &go(
                    "median",
                    std::slice::from_ref(&a),
                    Attrs::new().with("axis", Attr::Int(1)),
                )
                .unwrap()[0],
            ),
            &[2.5, 8.5],
        );
        let q = arr(DType::Float64, &[2], [0.1, 0.9]);
        let r = &go(
            "quantile",
            &[a.clone(), q],
            Attrs::new().with("axis", Attr::Int(1)),
        )
        .unwrap()[0];
        assert_eq!(r.shape(), &[2, 2]);
        same(&vals(r), &[1.3, 7.3, 3.7, 9.7]);
        // np.average(a, axis=1, weights=[1, 0, 0, 1], returned=True) -> ([2.5, 9.5], [2., 2.])
        let w = arr(DType::Int64, &[4], [1., 0., 0., 1.]);
        let r = go(
            "average",
            &[a, w],
            Attrs::new()
                .with("axis", Attr::Int(1))
                .with("returned", Attr::Bool(true)),
        )
        .unwrap();
        same(&vals(&r[0]), &[2.5, 9.5]);
        same(&vals(&r[1]), &[2., 2.]);
    }

    #[test]
    fn cumsum_of_many_long_lanes_matches_a_plain_scan() {
        // (300, 200): 60,000 elements take the parallel path; axis 1 reads the input in
        // place, axis 0 goes through the lane copy.
        let (r, c) = (300usize, 200usize);
        let v: Vec<f64> = (0..r * c).map(|i| ((i * 31) % 17) as f64 - 8.0).collect();
        let a = arr(DType::Float64, &[r, c], &v);
        let mut want1 = v.clone();
        for row in want1.chunks_mut(c) {
            for j in 1..c {
                row[j] += row[j - 1];
            }
        }
        let got = go(
            "cumsum",
            std::slice::from_ref(&a),
            Attrs::new().with("axis", Attr::Int(1)),
        );
        same(&vals(&got.unwrap()[0]), &want1);
        let mut want0 = v.clone();
        for i in 1..r {
            for j in 0..c {
                want0[i * c + j] += want0[(i - 1) * c + j];
            }
        }
        let got = go(
            "cumsum",
            std::slice::from_ref(&a),
            Attrs::new().with("axis", Attr::Int(-2)),
        );
        same(&vals(&got.unwrap()[0]), &want0);
        let flat = go(
            "cumprod",
            &[arr(DType::Int64, &[r, c], v.iter().map(|x| x.signum()))],
            Attrs::new(),
        );
        let mut p = 1.0;
        let want: Vec<f64> = v
            .iter()
            .map(|x| {
                p *= x.signum();
                p
            })
            .collect();
        same(&vals(&flat.unwrap()[0]), &want);
    }

    /// The lanes of a contiguous input are read in place, those of a transposed one are
    /// copied first: both give the same answers, for every axis and for `axis=None`.
    #[test]
    fn lanes_read_in_place_or_copied_agree() {
        let data: Vec<f64> = (0..24).map(|i| ((i * 7) % 11) as f64 - 5.0).collect();
        let x = ArcArray::from_shape_vec(IxDyn(&[2, 3, 4]), data).expect("24 elements");
        let view = x.clone().permuted_axes(IxDyn(&[2, 0, 1])); // shape (4, 2, 3)
        assert!(!view.is_standard_layout());
        let copy = view.as_standard_layout().into_owned().into_shared();
        let (view, copy) = (HostArray::F64(view), HostArray::F64(copy));
        let axes = [None, Some(0), Some(1), Some(2), Some(-1)];
        let ops = [
            "cumsum",
            "cumprod",
            "sort",
            "argsort",
            "var",
            "ptp",
            "count_nonzero",
        ];
        for op in ops {
            for axis in axes {
                let attrs = || match axis {
                    Some(a) => Attrs::new().with("axis", Attr::Int(a)),
                    None => Attrs::new(),
                };
                let a = go(op, std::slice::from_ref(&view), attrs());
                let b = go(op, std::slice::from_ref(&copy), attrs());
                let (a, b) = (a.unwrap(), b.unwrap());
                assert_eq!(a[0].shape(), b[0].shape(), "{op} axis {axis:?}");
                assert_eq!(vals(&a[0]), vals(&b[0]), "{op} axis {axis:?}");
            }
        }
    }
}
