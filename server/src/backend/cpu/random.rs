//! Kernels of `random.*`: ChaCha8 streams chosen by the client's (seed, counter).

use ndarray::{ArcArray, IxDyn};
use ndserve_proto::ops::random::{param_plan, randint_plan};
use ndserve_proto::{DType, Error, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson, StandardNormal};

use super::array::{Element, HostArray};
use super::cast::{Cast, Lane, cast};
use super::kernels::{KernelCall, KernelFn};

/// The kernels of this family.
pub fn kernels() -> Vec<(&'static str, KernelFn)> {
    vec![
        ("random.standard_normal", normal),
        ("random.randn", normal),
        ("random.random", unit_uniform),
        ("random.rand", unit_uniform),
        ("random.uniform", uniform),
        ("random.poisson", poisson),
        ("random.randint", randint),
    ]
}

/// The generator of one call.
fn rng(k: &KernelCall<'_>) -> Result<ChaCha8Rng> {
    let seed = k.attrs.int(k.op, "seed")?;
    let counter = k.attrs.int(k.op, "counter")?.unwrap_or(0);
    let mut r = match seed {
        Some(s) => ChaCha8Rng::seed_from_u64(s as u64),
        None => ChaCha8Rng::from_os_rng(),
    };
    r.set_stream(counter as u64);
    Ok(r)
}

fn f64_array(shape: &[usize], v: Vec<f64>) -> HostArray {
    HostArray::F64(ArcArray::from_shape_vec(IxDyn(shape), v).expect("shape matches"))
}

fn normal(k: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let mut r = rng(k)?;
    let shape = &k.outs[0].shape;
    let v = (0..k.outs[0].numel())
        .map(|_| r.sample::<f64, _>(StandardNormal))
        .collect();
    Ok(vec![f64_array(shape, v)])
}

fn unit_uniform(k: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let mut r = rng(k)?;
    let v = (0..k.outs[0].numel()).map(|_| r.random::<f64>()).collect();
    Ok(vec![f64_array(&k.outs[0].shape, v)])
}

/// The distribution parameters broadcast to the result's shape, as f64.
fn params_f64(k: &KernelCall<'_>, n: usize) -> Result<Vec<Vec<f64>>> {
    let shape = IxDyn(&k.outs[0].shape);
    (0..n)
        .map(|i| {
            let a = cast(&k.inputs[i].to_array(DType::Float64), DType::Float64);
            let a = a.typed::<f64>().expect("float64");
            let b = a
                .broadcast(shape.clone())
                .ok_or_else(|| Error::internal(k.op, "parameter does not broadcast"))?;
            Ok(b.iter().copied().collect())
        })
        .collect()
}

fn uniform(k: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    param_plan(&k.call(), &["low", "high"], DType::Float64)?;
    let p = params_f64(k, 2)?;
    let mut r = rng(k)?;
    let v = p[0]
        .iter()
        .zip(&p[1])
        .map(|(&lo, &hi)| lo + (hi - lo) * r.random::<f64>())
        .collect();
    Ok(vec![f64_array(&k.outs[0].shape, v)])
}

fn poisson(k: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let p = params_f64(k, 1)?;
    let mut r = rng(k)?;
    let mut v = Vec::with_capacity(p[0].len());
    for &lam in &p[0] {
        if !(0.0..=1e10).contains(&lam) {
            return Err(Error::invalid(
                k.op,
                "lam",
                "lam < 0, lam is NaN, or lam value too large",
            ));
        }
        v.push(if lam == 0.0 {
            0
        } else {
            let d = Poisson::new(lam).map_err(|e| Error::invalid(k.op, "lam", e.to_string()))?;
            d.sample(&mut r) as i64
        });
    }
    Ok(vec![HostArray::I64(
        ArcArray::from_shape_vec(IxDyn(&k.outs[0].shape), v).expect("shape"),
    )])
}

fn randint(k: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let (low, high, meta) = randint_plan(&k.call())?;
    let mut r = rng(k)?;
    let span = (high - low) as u128;
    // The span is at most 2^64 (the whole uint64 range).
    let v: Vec<i128> = (0..meta.numel())
        .map(|_| {
            low + if span > u64::MAX as u128 {
                r.random::<u64>() as i128
            } else {
                r.random_range(0..span as u64) as i128
            }
        })
        .collect();
    Ok(vec![crate::with_dtype!(meta.dtype, T => {
        let data: Vec<T> = v
            .iter()
            .map(|&x| if x < 0 { <T as Cast>::from_lane(Lane::I(x as i64)) } else { <T as Cast>::from_lane(Lane::U(x as u64)) })
            .collect();
        <T as Element>::wrap(ArcArray::from_shape_vec(IxDyn(&meta.shape), data).expect("shape"))
    })])
}

#[cfg(test)]
mod tests {
    use ndserve_proto::{Attr, Attrs, Meta, Scalar};

    use super::super::kernels::{CpuInput, run};
    use super::*;

    fn draw(op: &str, inputs: &[CpuInput], attrs: Attrs) -> HostArray {
        let metas: Vec<_> = inputs.iter().map(CpuInput::meta).collect();
        let outs = ndserve_proto::ops::infer(op, &metas, &attrs).unwrap();
        run(op, inputs, &attrs, &outs).unwrap().remove(0)
    }

    fn seeded(size: i64, seed: i64, counter: i64) -> Attrs {
        Attrs::new()
            .with("size", Attr::Ints(vec![size]))
            .with("seed", Attr::Int(seed))
            .with("counter", Attr::Int(counter))
    }

    fn values(a: &HostArray) -> Vec<f64> {
        cast(a, DType::Float64)
            .typed::<f64>()
            .unwrap()
            .iter()
            .copied()
            .collect()
    }

    #[test]
    fn same_seed_and_counter_replay_and_others_differ() {
        let a = values(&draw("random.standard_normal", &[], seeded(100, 7, 0)));
        let b = values(&draw("random.standard_normal", &[], seeded(100, 7, 0)));
        let c = values(&draw("random.standard_normal", &[], seeded(100, 7, 1)));
        let d = values(&draw("random.standard_normal", &[], seeded(100, 8, 0)));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn normal_has_mean_zero_and_unit_variance() {
        let n = 200_000;
        let v = values(&draw("random.standard_normal", &[], seeded(n, 1, 0)));
        let mean = v.iter().sum::<f64>() / n as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        // 5 standard errors.
        assert!(mean.abs() < 5.0 / (n as f64).sqrt(), "mean {mean}");
        assert!(
            (var - 1.0).abs() < 5.0 * (2.0 / n as f64).sqrt(),
            "var {var}"
        );
    }

    #[test]
    fn uniform_stays_in_range_and_fills_it_evenly() {
        let n = 100_000;
        let attrs = seeded(n, 3, 0);
        let lo = CpuInput::Scalar(Scalar::Float(-2.0));
        let hi = CpuInput::Scalar(Scalar::Float(3.0));
        let v = values(&draw("random.uniform", &[lo, hi], attrs));
        assert!(v.iter().all(|&x| (-2.0..3.0).contains(&x)));
        // Chi-square over 10 bins, 9 degrees of freedom: 99.9% quantile is 27.9.
        let mut bins = [0usize; 10];
        for x in &v {
            bins[((x + 2.0) / 0.5) as usize] += 1;
        }
        let e = n as f64 / 10.0;
        let chi2: f64 = bins.iter().map(|&o| (o as f64 - e).powi(2) / e).sum();
        assert!(chi2 < 27.9, "chi2 {chi2} bins {bins:?}");
    }

    #[test]
    fn randint_covers_exactly_its_range() {
        let attrs = seeded(20_000, 5, 0)
            .with("low", Attr::Scalar(Scalar::Int(-3)))
            .with("high", Attr::Scalar(Scalar::Int(4)))
            .with("dtype", Attr::DType(DType::Int8));
        let a = draw("random.randint", &[], attrs);
        assert_eq!(a.meta(), Meta::new(DType::Int8, vec![20_000]));
        let v = values(&a);
        for k in -3..4 {
            let c = v.iter().filter(|&&x| x == k as f64).count();
            assert!((2500..3200).contains(&c), "{k}: {c}");
        }
        assert!(v.iter().all(|&x| (-3.0..4.0).contains(&x)));
    }

    #[test]
    fn poisson_mean_matches_lambda() {
        let n = 50_000;
        let v = values(&draw(
            "random.poisson",
            &[CpuInput::Scalar(Scalar::Float(3.5))],
            seeded(n, 9, 0),
        ));
        let mean = v.iter().sum::<f64>() / n as f64;
        assert!(
            (mean - 3.5).abs() < 5.0 * (3.5 / n as f64).sqrt(),
            "mean {mean}"
        );
        assert!(v.iter().all(|&x| x >= 0.0 && x.fract() == 0.0));
    }
}
