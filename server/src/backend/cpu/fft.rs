//! `fft.*` kernels: the plan of [`ndserve_proto::ops::fft`] run with `rustfft`, one axis at a
//! time, the lanes of an axis in parallel.
//!
//! `rustfft` has complex transforms only: `rfft` transforms the real input as complex and
//! keeps the `n / 2 + 1` non-negative frequencies; `irfft` rebuilds the Hermitian spectrum
//! (`X[n - k] = conj(X[k])`) and keeps the real part, which ignores the imaginary parts of
//! the zero and Nyquist frequencies exactly as pocketfft's complex-to-real transform does.

use ndarray::{Array, Ix2, IxDyn, Zip, s};
use ndserve_proto::Result;
use ndserve_proto::ops::fft::{FftKind, FftNorm, FftStep, fft_plan};
use num_complex::Complex;
use rayon::prelude::*;
use rustfft::{FftNum, FftPlanner};

use super::array::{Element, HostArray, Nd};
use super::cast::cast;
use super::kernels::KernelCall;

/// The kernels of this family.
pub fn kernels() -> Vec<(&'static str, super::KernelFn)> {
    [
        "fft.fft",
        "fft.ifft",
        "fft.rfft",
        "fft.irfft",
        "fft.fft2",
        "fft.ifft2",
        "fft.fftn",
        "fft.ifftn",
    ]
    .into_iter()
    .map(|name| (name, fft as super::KernelFn))
    .collect()
}

fn fft(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let plan = fft_plan(&call.call())?;
    let a = call.inputs[0].as_array();
    if plan.steps.is_empty() {
        return Ok(vec![cast(&a, plan.out.dtype)]);
    }
    let x = cast(&a, plan.compute);
    let res = match &x {
        HostArray::C64(x) => Complex::<f32>::wrap(transform(x, &plan.steps, plan.norm)),
        HostArray::C128(x) => Complex::<f64>::wrap(transform(x, &plan.steps, plan.norm)),
        _ => unreachable!("fft computes in a complex dtype"),
    };
    if plan.out.dtype.is_complex() {
        return Ok(vec![res]);
    }
    // irfft: the real part, in the result's dtype.
    let real = match &res {
        HostArray::C64(r) => f32::wrap(r.mapv(|z| z.re).into_shared()),
        HostArray::C128(r) => f64::wrap(r.mapv(|z| z.re).into_shared()),
        _ => unreachable!("fft computes in a complex dtype"),
    };
    Ok(vec![if real.dtype() == plan.out.dtype {
        real
    } else {
        cast(&real, plan.out.dtype)
    }])
}

/// Runs the steps in order on `x`. Each step gathers the lanes of its axis into one
/// contiguous buffer (cropped or zero-padded to `n`), transforms them in a few parallel
/// batches (one `rustfft` call and scratch per batch, not per lane) and scatters the kept
/// points back.
fn transform<T: FftNum + num_traits::Float>(
    x: &Nd<Complex<T>>,
    steps: &[FftStep],
    norm: FftNorm,
) -> Nd<Complex<T>> {
    let mut cur = x.clone();
    let mut planner = FftPlanner::<T>::new();
    for st in steps {
        let inverse = matches!(st.kind, FftKind::Inverse | FftKind::RealInverse);
        let fft = if inverse {
            planner.plan_fft_inverse(st.n)
        } else {
            planner.plan_fft_forward(st.n)
        };
        let scale = T::from(norm.factor(st.n, inverse)).expect("a float");
        let (n, keep) = (st.n, st.out_len());
        // The input points one transform reads: the Hermitian half for irfft.
        let used = if st.kind == FftKind::RealInverse {
            n / 2 + 1
        } else {
            n
        };
        // The axis last: one row per lane.
        let nd = cur.ndim();
        let perm: Vec<usize> = (0..nd).filter(|&d| d != st.axis).chain([st.axis]).collect();
        let moved = cur.view().permuted_axes(IxDyn(&perm));
        let mut lead: Vec<usize> = moved.shape()[..nd - 1].to_vec();
        let lanes: usize = lead.iter().product();
        let len = moved.shape()[nd - 1];
        let src = moved
            .as_standard_layout()
            .into_shape_with_order((lanes, len))
            .expect("lanes x axis");
        let mut buf = Array::<Complex<T>, Ix2>::zeros((lanes, n));
        Zip::from(buf.rows_mut())
            .and(src.rows())
            .par_for_each(|mut row, s| {
                for (b, v) in row.iter_mut().zip(s.iter().take(used)) {
                    *b = *v;
                }
                if st.kind == FftKind::RealInverse {
                    for k in used..n {
                        row[k] = row[n - k].conj();
                    }
                }
            });
        if lanes > 0 && n > 0 {
            let per = lanes.div_ceil(rayon::current_num_threads().max(1));
            buf.as_slice_mut()
                .expect("a fresh standard-layout buffer")
                .par_chunks_mut(per * n)
                .for_each(|batch| fft.process(batch));
        }
        let out = buf.slice(s![.., ..keep]).mapv(|z| z * scale);
        lead.push(keep);
        let mut inv = vec![0; nd];
        for (i, &p) in perm.iter().enumerate() {
            inv[p] = i;
        }
        cur = out
            .into_shape_with_order(IxDyn(&lead))
            .expect("lanes x kept points")
            .permuted_axes(IxDyn(&inv))
            .as_standard_layout()
            .into_owned()
            .into_shared();
    }
    cur
}

#[cfg(test)]
mod tests {
    use ndserve_proto::{Attr, Attrs, DType};

    use super::super::testing::{arr, run_op};
    use super::*;

    fn c128(h: &HostArray) -> Vec<(f64, f64)> {
        let HostArray::C128(a) = cast(h, DType::Complex128) else {
            unreachable!()
        };
        a.iter().map(|z| (z.re, z.im)).collect()
    }

    fn close(got: &[(f64, f64)], want: &[(f64, f64)]) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g.0 - w.0).abs() < 1e-9 && (g.1 - w.1).abs() < 1e-9,
                "{got:?} != {want:?}"
            );
        }
    }

    #[test]
    fn matches_numpy_values() {
        // np.fft.fft([1, 2, 3, 4]) = [10, -2+2j, -2, -2-2j]
        let x = arr(DType::Float64, &[4], [1.0, 2.0, 3.0, 4.0]);
        let r = run_op("fft.fft", std::slice::from_ref(&x), Attrs::new()).unwrap();
        close(
            &c128(&r[0]),
            &[(10.0, 0.0), (-2.0, 2.0), (-2.0, 0.0), (-2.0, -2.0)],
        );
        // np.fft.rfft([1, 2, 3, 4], n=5, norm="ortho")
        let r = run_op(
            "fft.rfft",
            std::slice::from_ref(&x),
            Attrs::new()
                .with("n", Attr::Int(5))
                .with("norm", Attr::Str("ortho".into())),
        )
        .unwrap();
        close(
            &c128(&r[0]),
            &[
                (4.47213595499958, 0.0),
                (-1.8090169943749475, -0.587785252292473),
                (0.6909830056250527, -0.9510565162951535),
            ],
        );
        // np.fft.irfft([10, -2+2j, -2]) = [1, 2, 3, 4]
        let spec = run_op("fft.rfft", &[x], Attrs::new()).unwrap().remove(0);
        let back = run_op("fft.irfft", &[spec], Attrs::new()).unwrap();
        assert_eq!(back[0].dtype(), DType::Float64);
        close(
            &c128(&back[0]),
            &[(1.0, 0.0), (2.0, 0.0), (3.0, 0.0), (4.0, 0.0)],
        );
    }

    #[test]
    fn fftn_is_ifftn_inverted() {
        let x = arr(DType::Float64, &[2, 3], [1.0, -2.0, 0.5, 4.0, 3.0, -1.0]);
        let f = run_op("fft.fftn", std::slice::from_ref(&x), Attrs::new())
            .unwrap()
            .remove(0);
        let back = run_op("fft.ifftn", &[f], Attrs::new()).unwrap();
        let want: Vec<(f64, f64)> = c128(&x);
        close(&c128(&back[0]), &want);
    }
}
