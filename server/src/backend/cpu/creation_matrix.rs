//! Kernels of the matrix builders (`ndserve_proto::ops::creation_matrix`): `diag`,
//! `diagflat`, `tri`, `tril`, `triu`, `vander`, `meshgrid`.
//!
//! Arguments come from the contract's `*_plan` functions; values follow NumPy's
//! definitions (`tril` keeps `m[..., i, j]` where `j <= i + k`, `vander` multiplies the
//! powers up one after the other in the result dtype, as `np.multiply.accumulate` does).

use ndarray::{Array, IxDyn};
use ndserve_proto::ops::creation_matrix::{
    diag_plan, meshgrid_plan, tri_params, triangle_plan, vander_plan,
};
use ndserve_proto::{DType, Error, Result};
use num_complex::Complex64;

use super::array::{Element, HostArray};
use super::cast::{Cast, Lane, cast};
use super::kernels::{KernelCall, KernelFn};
use super::shape::reshape_c;

/// The kernels of this family.
pub fn kernels() -> Vec<(&'static str, KernelFn)> {
    vec![
        ("diag", diag as KernelFn),
        ("diagflat", diag),
        ("tri", tri),
        ("tril", triangle),
        ("triu", triangle),
        ("vander", vander),
        ("meshgrid", meshgrid),
    ]
}

fn from_shape_vec<T: Element>(shape: &[usize], v: Vec<T>) -> HostArray {
    T::wrap(
        Array::from_shape_vec(IxDyn(shape), v)
            .expect("shape matches the data")
            .into_shared(),
    )
}

/// `diag(v, k)` (read the diagonal of a 2-D array, or write a 1-D one on it) and
/// `diagflat(v, k)` (write the flattened input on it).
fn diag(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let p = diag_plan(&call.call())?;
    let v = call.inputs[0].as_array();
    let (r0, c0) = ((-p.k).max(0) as usize, p.k.max(0) as usize);
    let out = crate::with_array!(&v, x, T => {
        if p.extract {
            let len = p.out.shape[0];
            let d: Vec<T> = (0..len).map(|i| x[&[i + r0, i + c0][..]]).collect();
            from_shape_vec(&p.out.shape, d)
        } else {
            let n = p.out.shape[0];
            let mut d = vec![T::default(); n * n];
            for (i, &e) in x.iter().enumerate() {
                d[(i + r0) * n + i + c0] = e;
            }
            from_shape_vec(&p.out.shape, d)
        }
    });
    Ok(vec![out])
}

/// Whether `(i, j)` is at or below the `k`-th diagonal: `j <= i + k`.
fn lower(i: usize, j: usize, k: i64) -> bool {
    (j as i128) <= i as i128 + k as i128
}

/// `tri(N, M, k, dtype)`.
fn tri(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let (n, m, k, dtype) = tri_params(&call.call())?;
    let out = crate::with_dtype!(dtype, T => {
        let one = <T as Cast>::from_lane(Lane::B(true));
        let zero = <T as Cast>::from_lane(Lane::B(false));
        let d: Vec<T> = (0..n * m)
            .map(|p| if lower(p / m.max(1), p % m.max(1), k) { one } else { zero })
            .collect();
        from_shape_vec(&[n, m], d)
    });
    Ok(vec![out])
}

/// `tril(m, k)` keeps `m[..., i, j]` where `j <= i + k`; `triu(m, k)` where `j >= i + k`.
/// A 1-D `m` is every row of the square result.
fn triangle(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let (k, meta) = triangle_plan(&call.call())?;
    let keep_lower = call.op == "tril";
    let m = call.inputs[0].as_array();
    let nd = meta.shape.len();
    let (rows, cols) = (meta.shape[nd - 2], meta.shape[nd - 1]);
    let out = crate::with_array!(&m, x, T => {
        let x = x.broadcast(IxDyn(&meta.shape)).ok_or_else(|| {
            Error::internal(call.op, "input does not broadcast to the result")
        })?;
        let d: Vec<T> = x
            .iter()
            .enumerate()
            .map(|(p, &e)| {
                let (i, j) = ((p / cols.max(1)) % rows.max(1), p % cols.max(1));
                // triu zeroes what tri(k - 1) marks: j <= i + k - 1.
                let keep = if keep_lower {
                    lower(i, j, k)
                } else {
                    !lower(i, j, k.saturating_sub(1))
                };
                if keep { e } else { T::default() }
            })
            .collect();
        from_shape_vec(&meta.shape, d)
    });
    Ok(vec![out])
}

/// One Vandermonde row of `x` into `row` (column `j` holds `x**j`, or `x**(N-1-j)` when
/// decreasing): the powers are multiplied up in order, as `np.multiply.accumulate` does.
fn vander_rows<T: Cast>(x: &HostArray, n: usize, increasing: bool, mul: fn(T, T) -> T) -> Vec<T> {
    let xs = T::unwrap(x).expect("cast to the result dtype");
    let one = T::from_lane(Lane::B(true));
    let mut d = vec![one; xs.len() * n];
    for (r, &v) in xs.iter().enumerate() {
        let row = &mut d[r * n..(r + 1) * n];
        let mut p = one;
        for j in 0..n {
            if j == 1 {
                p = v;
            } else if j > 1 {
                p = mul(p, v);
            }
            row[if increasing { j } else { n - 1 - j }] = p;
        }
    }
    d
}

/// `vander(x, N, increasing)`, in `promote_types(x.dtype, int64)`.
fn vander(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let (meta, increasing) = vander_plan(&call.call())?;
    let x = cast(&call.inputs[0].as_array(), meta.dtype);
    let n = meta.shape[1];
    let out = match meta.dtype {
        DType::Int64 => from_shape_vec(
            &meta.shape,
            vander_rows::<i64>(&x, n, increasing, i64::wrapping_mul),
        ),
        DType::Float64 => from_shape_vec(
            &meta.shape,
            vander_rows::<f64>(&x, n, increasing, |a, b| a * b),
        ),
        DType::Complex128 => from_shape_vec(
            &meta.shape,
            vander_rows::<Complex64>(&x, n, increasing, |a, b| a * b),
        ),
        other => {
            return Err(Error::internal(
                call.op,
                format!("vander does not compute in {other}"),
            ));
        }
    };
    Ok(vec![out])
}

/// `meshgrid(*xi, copy, sparse, indexing)`: each input flattened onto its own axis, then
/// broadcast to the grid unless `sparse`.
fn meshgrid(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let plans = meshgrid_plan(&call.call())?;
    Ok(call
        .inputs
        .iter()
        .zip(plans)
        .map(|(x, g)| {
            let h = x.as_array();
            crate::with_array!(&h, v, T => {
                let v = reshape_c(v, &g.sparse);
                let v = if g.out.shape == g.sparse {
                    v
                } else {
                    v.broadcast(IxDyn(&g.out.shape))
                        .expect("a grid axis broadcasts")
                        .to_owned()
                        .into_shared()
                };
                <T as Element>::wrap(v)
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use ndarray::{Array, IxDyn};
    use ndserve_proto::{Attr, Attrs, DType, Error};
    use num_complex::Complex64;

    use super::super::array::{Element, HostArray};
    use super::super::kernels::CpuInput;
    use super::super::testing::{run_inputs, run_one};

    fn exec(op: &str, inputs: Vec<CpuInput>, attrs: Attrs) -> Result<Vec<HostArray>, Error> {
        run_inputs(op, &inputs, &attrs)
    }

    fn one(op: &str, inputs: Vec<CpuInput>, attrs: Attrs) -> HostArray {
        run_one(op, inputs, attrs)
    }

    fn arr<T: Element>(shape: &[usize], v: Vec<T>) -> CpuInput {
        CpuInput::Array(T::wrap(
            Array::from_shape_vec(IxDyn(shape), v)
                .unwrap()
                .into_shared(),
        ))
    }

    fn vals<T: Element>(h: &HostArray) -> Vec<T> {
        h.typed::<T>()
            .unwrap_or_else(|| panic!("dtype is {}", h.dtype()))
            .iter()
            .copied()
            .collect()
    }

    fn k(v: i64) -> Attrs {
        Attrs::new().with("k", Attr::Int(v))
    }

    #[test]
    fn diag_writes_and_reads() {
        // np.diag(np.arange(3), -1)
        let r = one("diag", vec![arr(&[3], vec![0i64, 1, 2])], k(-1));
        assert_eq!(r.shape(), &[4, 4]);
        assert_eq!(
            vals::<i64>(&r),
            vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0]
        );
        // np.diag(np.arange(6).reshape(2, 3), -1) is [3]; k = 5 gives an empty diagonal.
        let m = || arr(&[2, 3], vec![0i32, 1, 2, 3, 4, 5]);
        assert_eq!(vals::<i32>(&one("diag", vec![m()], k(-1))), vec![3]);
        assert_eq!(one("diag", vec![m()], k(5)).shape(), &[0]);
        assert_eq!(vals::<i32>(&one("diag", vec![m()], k(1))), vec![1, 5]);
        // np.diag(np.ones((2, 2, 2))) and np.diag(5) raise.
        let e = exec("diag", vec![arr(&[1, 1, 1], vec![1.0f64])], Attrs::new()).unwrap_err();
        assert!(e.to_string().contains("Input must be 1- or 2-d."), "{e}");
        // np.diagflat([[0, 1], [2, 3]], -1): 5 x 5, the values one row down.
        let r = one("diagflat", vec![arr(&[2, 2], vec![0u8, 1, 2, 3])], k(-1));
        assert_eq!(r.shape(), &[5, 5]);
        let v = vals::<u8>(&r);
        assert_eq!((v[5], v[11], v[17], v[23]), (0, 1, 2, 3));
        assert_eq!(v.iter().map(|&x| x as u32).sum::<u32>(), 6);
        // np.diagflat(5) is [[5]].
        let r = one(
            "diagflat",
            vec![CpuInput::Scalar(ndserve_proto::Scalar::Int(5))],
            Attrs::new(),
        );
        assert_eq!((r.dtype(), vals::<i64>(&r)), (DType::Int64, vec![5]));
    }

    #[test]
    fn tri_and_triangles() {
        // np.tri(3, None, -1, dtype=int)
        let r = one(
            "tri",
            vec![],
            Attrs::new()
                .with("N", Attr::Int(3))
                .with("M", Attr::None)
                .with("k", Attr::Int(-1))
                .with("dtype", Attr::DType(DType::Int64)),
        );
        assert_eq!(vals::<i64>(&r), vec![0, 0, 0, 1, 0, 0, 1, 1, 0]);
        // np.tri(-1) is (0, 0); np.tri(2, -1) is (2, 0).
        let r = one("tri", vec![], Attrs::new().with("N", Attr::Int(-1)));
        assert_eq!(
            (r.dtype(), r.shape()),
            (DType::Float64, &[0usize, 0] as &[usize])
        );
        let r = one(
            "tri",
            vec![],
            Attrs::new()
                .with("N", Attr::Int(2))
                .with("M", Attr::Int(-1)),
        );
        assert_eq!(r.shape(), &[2, 0]);
        // np.tril(np.arange(3)) broadcasts the row: [[0,0,0],[0,1,0],[0,1,2]].
        let r = one("tril", vec![arr(&[3], vec![0i64, 1, 2])], Attrs::new());
        assert_eq!(vals::<i64>(&r), vec![0, 0, 0, 0, 1, 0, 0, 1, 2]);
        // np.triu(np.arange(3), 1): [[0,1,2],[0,0,2],[0,0,0]].
        let r = one("triu", vec![arr(&[3], vec![0i64, 1, 2])], k(1));
        assert_eq!(vals::<i64>(&r), vec![0, 1, 2, 0, 0, 2, 0, 0, 0]);
        // A stack of 2 x 2 matrices, triu with k = -5 keeps everything.
        let st = || arr(&[2, 2, 2], (1..=8).map(|x| x as f32).collect());
        let r = one("tril", vec![st()], Attrs::new());
        assert_eq!(
            vals::<f32>(&r),
            vec![1.0, 0.0, 3.0, 4.0, 5.0, 0.0, 7.0, 8.0]
        );
        let r = one("triu", vec![st()], k(-5));
        assert_eq!(
            vals::<f32>(&r),
            (1..=8).map(|x| x as f32).collect::<Vec<_>>()
        );
        // np.tril(np.array(3)) raises (tri() needs N).
        assert!(exec("tril", vec![arr(&[], vec![3i64])], Attrs::new()).is_err());
    }

    #[test]
    fn vander_follows_numpy() {
        // np.vander(np.array([1, 2, 3], np.int8)): int64, decreasing powers.
        let r = one("vander", vec![arr(&[3], vec![1i8, 2, 3])], Attrs::new());
        assert_eq!(r.dtype(), DType::Int64);
        assert_eq!(vals::<i64>(&r), vec![1, 1, 1, 4, 2, 1, 9, 3, 1]);
        // uint64 promotes with int64 to float64; N = 0 gives no columns.
        let r = one(
            "vander",
            vec![arr(&[3], vec![1u64, 2, 3])],
            Attrs::new().with("N", Attr::Int(2)),
        );
        assert_eq!(
            (r.dtype(), vals::<f64>(&r)),
            (DType::Float64, vec![1.0, 1.0, 2.0, 1.0, 3.0, 1.0])
        );
        // np.vander(np.array([100]), 12): the int64 products wrap.
        let r = one(
            "vander",
            vec![arr(&[1], vec![100i64])],
            Attrs::new().with("N", Attr::Int(12)),
        );
        assert_eq!(
            vals::<i64>(&r)[..2],
            [1864712049423024128, 7766279631452241920]
        );
        // bool, increasing: [[1, 1, 1], [1, 0, 0]].
        let r = one(
            "vander",
            vec![arr(&[2], vec![true, false])],
            Attrs::new()
                .with("N", Attr::Int(3))
                .with("increasing", Attr::Bool(true)),
        );
        assert_eq!(vals::<i64>(&r), vec![1, 1, 1, 1, 0, 0]);
        let r = one(
            "vander",
            vec![arr(&[2], vec![Complex64::new(0.0, 1.0); 2])],
            Attrs::new(),
        );
        assert_eq!(vals::<Complex64>(&r)[0], Complex64::new(0.0, 1.0));
        for (x, n) in [
            (arr(&[3], vec![1i64, 2, 3]), -1),
            (arr(&[1, 1], vec![1i64]), 1),
        ] {
            assert!(exec("vander", vec![x], Attrs::new().with("N", Attr::Int(n))).is_err());
        }
    }

    #[test]
    fn meshgrid_xy_ij_sparse() {
        let x = || arr(&[2], vec![0i64, 1]);
        let y = || arr(&[3], vec![0.0f64, 1.0, 2.0]);
        let r = exec("meshgrid", vec![x(), y()], Attrs::new()).unwrap();
        assert_eq!(
            (r[0].shape(), r[1].shape()),
            (&[3usize, 2] as &[usize], &[3usize, 2] as &[usize])
        );
        assert_eq!(vals::<i64>(&r[0]), vec![0, 1, 0, 1, 0, 1]);
        assert_eq!(vals::<f64>(&r[1]), vec![0.0, 0.0, 1.0, 1.0, 2.0, 2.0]);
        let r = exec(
            "meshgrid",
            vec![x(), y()],
            Attrs::new()
                .with("indexing", Attr::Str("ij".into()))
                .with("sparse", Attr::Bool(true)),
        )
        .unwrap();
        assert_eq!(
            (r[0].shape(), r[1].shape()),
            (&[2usize, 1] as &[usize], &[1usize, 3] as &[usize])
        );
        // An empty input empties the grid.
        let r = exec(
            "meshgrid",
            vec![x(), arr(&[0], Vec::<u8>::new())],
            Attrs::new(),
        )
        .unwrap();
        assert_eq!(r[0].shape(), &[0, 2]);
        let e = exec(
            "meshgrid",
            vec![x()],
            Attrs::new().with("indexing", Attr::Str("yx".into())),
        )
        .unwrap_err();
        assert!(e.to_string().contains("Valid values for `indexing`"), "{e}");
    }
}
