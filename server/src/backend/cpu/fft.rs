//! `fft.*` kernels: the plan of [`ndserve_proto::ops::fft`] run with `rustfft`, one axis at a
//! time, the lanes of an axis in parallel.
//!
//! `rustfft` has complex transforms only: `rfft` transforms the real input as complex and
//! keeps the `n / 2 + 1` non-negative frequencies; `irfft` rebuilds the Hermitian spectrum
//! (`X[n - k] = conj(X[k])`) and keeps the real part, which ignores the imaginary parts of
//! the zero and Nyquist frequencies exactly as pocketfft's complex-to-real transform does.

use ndarray::{Array, Axis, IxDyn, Zip};
use ndserve_proto::Result;
use ndserve_proto::ops::fft::{FftKind, FftNorm, FftStep, fft_plan};
use num_complex::Complex;
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

/// Runs the steps in order on `x`.
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
        let mut shape = cur.shape().to_vec();
        shape[st.axis] = st.out_len();
        let mut out = Array::<Complex<T>, IxDyn>::zeros(IxDyn(&shape));
        let (n, kind, keep) = (st.n, st.kind, st.out_len());
        // The input points one transform reads: the Hermitian half for irfft.
        let used = if kind == FftKind::RealInverse {
            n / 2 + 1
        } else {
            n
        };
        Zip::from(cur.lanes(Axis(st.axis)))
            .and(out.lanes_mut(Axis(st.axis)))
            .par_for_each(|src, mut dst| {
                let mut buf = vec![Complex::new(T::zero(), T::zero()); n];
                for (b, s) in buf.iter_mut().zip(src.iter().take(used)) {
                    *b = *s;
                }
                if kind == FftKind::RealInverse {
                    for k in used..n {
                        buf[k] = buf[n - k].conj();
                    }
                }
                fft.process(&mut buf);
                for (d, b) in dst.iter_mut().zip(buf.iter().take(keep)) {
                    *d = *b * scale;
                }
            });
        cur = out.into_shared();
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
