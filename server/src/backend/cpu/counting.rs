//! `unique`: one stable sort in NumPy's order (NaNs last), then one pass that groups equal
//! values, so first indices, inverse and counts come from the same pass. `histogram` and
//! `bincount`: one pass over the data into bins.

use std::cmp::Ordering;

use ndarray::{ArcArray, IxDyn};
use ndserve_proto::ops::counting::{Bins, bincount_plan, histogram_plan, unique_plan};
use ndserve_proto::{DType, Error, Result};

use super::array::HostArray;
use super::cast::{cast, round_to};
use super::gather::i64_values;
use super::kernels::KernelCall;
use super::reduce::RElem;
use super::stats::cmp_nl;

/// The kernels of this family.
pub fn kernels() -> Vec<(&'static str, super::KernelFn)> {
    vec![
        ("unique", unique as super::KernelFn),
        ("histogram", histogram),
        ("bincount", bincount),
    ]
}

fn int64(shape: &[usize], v: Vec<i64>) -> HostArray {
    HostArray::I64(ArcArray::from_shape_vec(IxDyn(shape), v).expect("values fit the shape"))
}

fn unique(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let plan = unique_plan(&call.call())?;
    let a = call.inputs[0].as_array();
    let shape = a.shape().to_vec();
    let (values, first, inverse, counts) =
        crate::with_array!(&a, x, T => group::<T>(x.iter().copied().collect(), plan.equal_nan));
    let k = counts.len();
    let mut out = vec![values];
    if plan.index {
        out.push(int64(&[k], first));
    }
    if plan.inverse {
        out.push(int64(&shape, inverse));
    }
    if plan.counts {
        out.push(int64(&[k], counts));
    }
    Ok(out)
}

/// The distinct values of `vals` (sorted), each one's first index, every element's group
/// and each group's size.
fn group<T: RElem>(vals: Vec<T>, equal_nan: bool) -> (HostArray, Vec<i64>, Vec<i64>, Vec<i64>) {
    let mut order: Vec<usize> = (0..vals.len()).collect();
    // Stable: within a group the first occurrence comes first, as NumPy's mergesort.
    order.sort_by(|&i, &j| cmp_nl(&vals[i], &vals[j]));
    let (mut uniq, mut first, mut counts) = (Vec::new(), Vec::new(), Vec::<i64>::new());
    let mut inverse = vec![0i64; vals.len()];
    for &i in &order {
        let v = vals[i];
        let same = uniq
            .last()
            .is_some_and(|u: &T| cmp_nl(u, &v) == Ordering::Equal && (equal_nan || !v.is_nan()));
        if same {
            *counts.last_mut().expect("a group") += 1;
        } else {
            uniq.push(v);
            first.push(i as i64);
            counts.push(1);
        }
        inverse[i] = uniq.len() as i64 - 1;
    }
    let k = uniq.len();
    let values = T::wrap(ArcArray::from_shape_vec(IxDyn(&[k]), uniq).expect("1-d"));
    (values, first, inverse, counts)
}

/// The elements as `f64`, C order, after casting to `dtype` (the precision NumPy compares
/// in).
fn f64_values(a: &HostArray, dtype: DType) -> Vec<f64> {
    let HostArray::F64(v) = cast(&cast(a, dtype), DType::Float64) else {
        unreachable!("cast to float64")
    };
    v.iter().copied().collect()
}

fn histogram(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let op = call.op;
    let plan = histogram_plan(&call.call())?;
    let a = call.inputs[0].as_array();
    let x = f64_values(&a, plan.compare_dtype);
    // The edges, in the precision of the comparisons.
    let edges: Vec<f64> = match plan.bins {
        Bins::Edges => {
            let e = f64_values(&call.inputs[1].as_array(), plan.compare_dtype);
            if e.windows(2).any(|w| w[0] > w[1]) {
                return Err(Error::invalid(
                    op,
                    "bins",
                    "`bins` must increase monotonically, when an array",
                ));
            }
            e
        }
        Bins::Count(n) => {
            let (mut lo, mut hi) = match plan.range {
                Some(r) => r,
                None if x.is_empty() => (0.0, 1.0),
                None => x
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
                        if v.is_nan() || l.is_nan() {
                            (f64::NAN, f64::NAN)
                        } else {
                            (l.min(v), h.max(v))
                        }
                    }),
            };
            if !(lo.is_finite() && hi.is_finite()) {
                return Err(Error::invalid(
                    op,
                    "a",
                    format!("autodetected range of [{lo}, {hi}] is not finite"),
                ));
            }
            // np.linspace(lo, hi, n + 1) as NumPy runs it: in float64 for a given range
            // (Python floats) or integer data, else in the data's float dtype (its min
            // and max are scalars of that dtype), rounding at every step.
            let dt = if plan.range.is_none() {
                plan.edge_dtype
            } else {
                DType::Float64
            };
            let r = |v: f64| round_to(v, dt);
            if lo == hi {
                lo = r(lo - 0.5);
                hi = r(hi + 0.5);
            }
            let step = r(r(hi - lo) / n as f64);
            let lin: Vec<f64> = (0..=n)
                .map(|i| {
                    if i == n {
                        hi
                    } else {
                        r(r(i as f64 * step) + lo)
                    }
                })
                .collect();
            lin.into_iter()
                .map(|v| round_to(v, plan.edge_dtype))
                .collect()
        }
    };
    let nb = edges.len().saturating_sub(1);
    let weights = if plan.weighted {
        Some(f64_values(&call.inputs[2].as_array(), DType::Float64))
    } else {
        None
    };
    let mut sums = vec![0f64; nb];
    if nb > 0 {
        let (first, last) = (edges[0], edges[nb]);
        for (i, &v) in x.iter().enumerate() {
            if !(v >= first && v <= last) {
                continue; // outside the range, or NaN
            }
            // edges[b] <= v < edges[b + 1]; the last bin includes its right edge.
            let b = (edges.partition_point(|&e| e <= v) - 1).min(nb - 1);
            sums[b] += weights.as_ref().map_or(1.0, |w| w[i]);
        }
    }
    if plan.weighted {
        // NumPy sums the weights in float64, then casts to their dtype.
        let dt = call.metas[2].as_array().dtype;
        if dt.is_float() {
            sums.iter_mut().for_each(|v| *v = round_to(*v, dt));
        }
    }
    let hist = if plan.density {
        // n.sum() in the dtype of n: the weights' for weight sums.
        let total: f64 = sums.iter().sum();
        let total = if plan.weighted {
            round_to(total, call.metas[2].as_array().dtype)
        } else {
            total
        };
        // np.diff(bin_edges) in the edges' dtype, then float64.
        let d: Vec<f64> = sums
            .iter()
            .zip(edges.windows(2))
            .map(|(&s, w)| s / round_to(w[1] - w[0], plan.edge_dtype) / total)
            .collect();
        HostArray::F64(ArcArray::from_shape_vec(IxDyn(&[nb]), d).expect("1-d"))
    } else {
        let h = HostArray::F64(ArcArray::from_shape_vec(IxDyn(&[nb]), sums).expect("1-d"));
        cast(&h, plan.outs[0].dtype)
    };
    let e = HostArray::F64(ArcArray::from_shape_vec(IxDyn(&[edges.len()]), edges).expect("1-d"));
    Ok(vec![hist, cast(&e, plan.edge_dtype)])
}

fn bincount(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let op = call.op;
    let plan = bincount_plan(&call.call())?;
    let x = call.inputs[0].as_array();
    let idx = i64_values(&cast(&x, DType::Int64), x.shape())?;
    let weights = if plan.weighted {
        Some(f64_values(&call.inputs[1].as_array(), DType::Float64))
    } else {
        None
    };
    let mut sums = vec![0f64; plan.length];
    let mut counts = vec![0i64; plan.length];
    for (i, &v) in idx.iter().enumerate() {
        if v < 0 {
            return Err(Error::invalid(
                op,
                "x",
                "'list' argument must have no negative elements",
            ));
        }
        let b = v as usize;
        if b >= plan.length {
            return Err(Error::invalid(
                op,
                "length",
                format!(
                    "x holds {v}, not below length {}: pass length = max(max(x) + 1, minlength)",
                    plan.length
                ),
            ));
        }
        match &weights {
            Some(w) => sums[b] += w[i],
            None => counts[b] += 1,
        }
    }
    let shape = [plan.length];
    Ok(vec![if plan.out.dtype == DType::Float64 {
        HostArray::F64(ArcArray::from_shape_vec(IxDyn(&shape), sums).expect("1-d"))
    } else {
        int64(&shape, counts)
    }])
}

#[cfg(test)]
mod tests {
    use ndserve_proto::{Attr, Attrs, DType};

    use super::super::testing::{arr, run_op, vals};

    #[test]
    fn matches_numpy() {
        // np.unique([[3, 1, 3], [2, 1, nan]], return_index=True, return_inverse=True,
        //           return_counts=True)
        let a = arr(DType::Float64, &[2, 3], [3.0, 1.0, 3.0, 2.0, 1.0, f64::NAN]);
        let attrs = Attrs::new()
            .with("return_index", Attr::Bool(true))
            .with("return_inverse", Attr::Bool(true))
            .with("return_counts", Attr::Bool(true));
        let r = run_op("unique", std::slice::from_ref(&a), attrs).unwrap();
        let v = vals(&r[0]);
        assert_eq!(&v[..3], &[1.0, 2.0, 3.0]);
        assert!(v[3].is_nan());
        assert_eq!(vals(&r[1]), vec![1.0, 3.0, 0.0, 5.0]);
        assert_eq!(r[2].shape(), &[2, 3]);
        assert_eq!(vals(&r[2]), vec![2.0, 0.0, 2.0, 1.0, 0.0, 3.0]);
        assert_eq!(vals(&r[3]), vec![2.0, 1.0, 2.0, 1.0]);
        // equal_nan=False keeps every NaN.
        let b = arr(DType::Float32, &[3], [f64::NAN, f64::NAN, 1.0]);
        let r = run_op(
            "unique",
            &[b],
            Attrs::new().with("equal_nan", Attr::Bool(false)),
        )
        .unwrap();
        assert_eq!(r[0].shape(), &[3]);
        // uint64 above 2**63 sorts as unsigned.
        let u = arr(DType::UInt64, &[3], [1.8e19, 1.0, 1.8e19]);
        let r = run_op("unique", &[u], Attrs::new()).unwrap();
        assert_eq!(r[0].shape(), &[2]);
        assert_eq!(vals(&r[0]), vec![1.0, 1.8e19]);
    }

    #[test]
    fn histogram_and_bincount_match_numpy() {
        // np.histogram([1, 2, 2, 3, 7], bins=3) -> [3, 1, 1], [1, 3, 5, 7]
        let a = arr(DType::Int64, &[5], [1.0, 2.0, 2.0, 3.0, 7.0]);
        let bins = super::super::kernels::CpuInput::Scalar(ndserve_proto::Scalar::Int(3));
        let r = super::super::testing::run_inputs(
            "histogram",
            &[super::super::kernels::CpuInput::Array(a.clone()), bins],
            &Attrs::new(),
        )
        .unwrap();
        assert_eq!(vals(&r[0]), vec![3.0, 1.0, 1.0]);
        assert_eq!(vals(&r[1]), vec![1.0, 3.0, 5.0, 7.0]);
        // np.histogram(a, bins=[0, 2, 5, 8], weights=ones(float32)) -> float32 [1, 3, 1]
        let edges = arr(DType::Int64, &[4], [0.0, 2.0, 5.0, 8.0]);
        let w = arr(DType::Float32, &[5], [1.0; 5]);
        let r = run_op("histogram", &[a.clone(), edges, w], Attrs::new()).unwrap();
        assert_eq!(r[0].dtype(), DType::Float32);
        assert_eq!(vals(&r[0]), vec![1.0, 3.0, 1.0]);
        assert_eq!(r[1].dtype(), DType::Int64);
        // np.bincount([1, 3, 1], minlength=6) with length 6
        let x = arr(DType::UInt8, &[3], [1.0, 3.0, 1.0]);
        let attrs = Attrs::new()
            .with("minlength", Attr::Int(6))
            .with("length", Attr::Int(6));
        let r = run_op("bincount", std::slice::from_ref(&x), attrs).unwrap();
        assert_eq!(vals(&r[0]), vec![0.0, 2.0, 0.0, 1.0, 0.0, 0.0]);
        // A value at or beyond length, and a negative value, are errors.
        let short = Attrs::new().with("length", Attr::Int(3));
        assert!(run_op("bincount", &[x], short).is_err());
        let neg = arr(DType::Int8, &[1], [-1.0]);
        let r = run_op(
            "bincount",
            &[neg],
            Attrs::new().with("length", Attr::Int(1)),
        );
        assert!(r.unwrap_err().to_string().contains("negative"));
    }
}
