//! Indexing: `getitem` with NumPy basic indexing (ints, slices with any step, newaxis,
//! ellipsis). The result is a view of the same shared data.

use ndarray::SliceInfoElem;
use ndserve_proto::Result;
use ndserve_proto::ops::index::{AxisSel, plan};

use super::array::{Element, HostArray};
use super::kernels::KernelCall;

/// The kernels of this family.
pub fn kernels() -> Vec<(&'static str, super::KernelFn)> {
    vec![("getitem", getitem as super::KernelFn)]
}

/// One resolved selection as ndarray's slice element.
///
/// NumPy walks `start, start+step, ...` (`len` positions). ndarray's `Slice` selects the
/// range `[lo, hi)` and, for a negative step, walks it from its last element backwards;
/// so the range is exactly the span of the positions NumPy visits.
fn slice_elem(sel: &AxisSel) -> SliceInfoElem {
    match *sel {
        AxisSel::Index { pos, .. } => SliceInfoElem::Index(pos as isize),
        AxisSel::NewAxis => SliceInfoElem::NewAxis,
        AxisSel::Range { len: 0, .. } => SliceInfoElem::Slice {
            start: 0,
            end: Some(0),
            step: 1,
        },
        AxisSel::Range {
            start, step, len, ..
        } => {
            let start = start as isize;
            let last = start + (len as isize - 1) * step;
            let (lo, hi) = if step > 0 {
                (start, last)
            } else {
                (last, start)
            };
            SliceInfoElem::Slice {
                start: lo,
                end: Some(hi + 1),
                step,
            }
        }
    }
}

fn getitem(call: &KernelCall<'_>) -> Result<Vec<HostArray>> {
    let plan = plan(&call.call())?;
    let elems: Vec<SliceInfoElem> = plan.sels.iter().map(slice_elem).collect();
    let a = call.inputs[0].as_array();
    Ok(vec![crate::with_array!(&a, x, T => {
        let v = x.clone().slice_move(elems.as_slice());
        <T as Element>::wrap(v)
    })])
}

#[cfg(test)]
mod tests {
    use ndarray::{ArcArray, IxDyn};
    use ndserve_proto::{Attr, Attrs, DType, IndexItem};

    use super::super::cast::cast;
    use super::super::kernels::{CpuInput, run};
    use super::*;

    fn arange(dtype: DType, shape: &[usize]) -> HostArray {
        let n: usize = shape.iter().product();
        let a = ArcArray::from_shape_vec(IxDyn(shape), (0..n).map(|i| i as f64).collect()).unwrap();
        cast(&HostArray::F64(a), dtype)
    }

    fn get(a: &HostArray, key: Vec<IndexItem>) -> ndserve_proto::Result<(Vec<usize>, Vec<f64>)> {
        let attrs = Attrs::new().with("key", Attr::Index(key));
        let ins = [CpuInput::Array(a.clone())];
        let metas: Vec<_> = ins.iter().map(CpuInput::meta).collect();
        let outs = ndserve_proto::ops::infer("getitem", &metas, &attrs)?;
        let r = run("getitem", &ins, &attrs, &outs)?.remove(0);
        // Through the wire bytes too, which lay views out in C order.
        let bytes = r.to_le_bytes();
        let back = HostArray::from_le_bytes(&r.meta(), &bytes).unwrap();
        let v = cast(&back, DType::Float64)
            .typed::<f64>()
            .unwrap()
            .iter()
            .copied()
            .collect();
        Ok((r.shape().to_vec(), v))
    }

    fn sl(a: Option<i64>, b: Option<i64>, c: Option<i64>) -> IndexItem {
        IndexItem::Slice(a, b, c)
    }

    fn f(v: &[i32]) -> Vec<f64> {
        v.iter().map(|&x| x as f64).collect()
    }

    #[test]
    fn one_d_slices_match_numpy() {
        let a = arange(DType::Int32, &[10]);
        let b = arange(DType::Float16, &[4]);
        let cases: &[(&HostArray, IndexItem, &[i32])] = &[
            (
                &a,
                sl(None, None, Some(-1)),
                &[9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
            ),
            (&a, sl(Some(5), Some(1), Some(-2)), &[5, 3]),
            (&b, sl(Some(-1), Some(-10), Some(-3)), &[3, 0]),
            (&a, sl(Some(8), Some(2), None), &[]),
            (&a, sl(None, None, Some(-3)), &[9, 6, 3, 0]),
            (&a, sl(Some(-100), Some(100), Some(4)), &[0, 4, 8]),
            (&a, sl(Some(7), Some(-100), Some(-4)), &[7, 3]),
            (&a, sl(Some(1), Some(9), Some(3)), &[1, 4, 7]),
        ];
        for (x, k, want) in cases {
            let (shape, v) = get(x, vec![k.clone()]).unwrap();
            assert_eq!((shape, v), (vec![want.len()], f(want)), "{k:?}");
        }
        let (shape, v) = get(&a, vec![IndexItem::Int(-3)]).unwrap();
        assert_eq!((shape, v), (vec![], vec![7.0]));
        assert!(get(&a, vec![IndexItem::Int(10)]).is_err());
        assert!(get(&a, vec![sl(None, None, Some(0))]).is_err());
    }

    #[test]
    fn n_d_keys_match_numpy() {
        let c = arange(DType::Int64, &[3, 4]);
        let g = |k: Vec<IndexItem>| get(&c, k).unwrap();
        use IndexItem::{Ellipsis, Int, NewAxis};
        assert_eq!(g(vec![Int(1)]), (vec![4], f(&[4, 5, 6, 7])));
        assert_eq!(
            g(vec![Ellipsis, sl(None, None, Some(-2))]),
            (vec![3, 2], f(&[3, 1, 7, 5, 11, 9]))
        );
        assert_eq!(
            g(vec![NewAxis, sl(Some(1), None, None), Int(-1)]),
            (vec![1, 2], f(&[7, 11]))
        );
        assert_eq!(
            g(vec![sl(None, None, None), NewAxis, Int(2)]),
            (vec![3, 1], f(&[2, 6, 10]))
        );
        assert_eq!(
            g(vec![Int(-1), sl(None, None, Some(-1))]),
            (vec![4], f(&[11, 10, 9, 8]))
        );
        assert_eq!(
            g(vec![sl(None, None, Some(-2)), sl(Some(1), Some(3), None)]),
            (vec![2, 2], f(&[9, 10, 1, 2]))
        );
        assert_eq!(
            g(vec![
                sl(Some(2), Some(0), Some(-1)),
                sl(None, None, Some(-3))
            ]),
            (vec![2, 2], f(&[11, 8, 7, 4]))
        );
        assert_eq!(g(vec![sl(Some(5), None, None)]), (vec![0, 4], vec![]));
        assert_eq!(g(vec![]), (vec![3, 4], (0..12).map(f64::from).collect()));
        let z = arange(DType::Complex128, &[]);
        assert_eq!(get(&z, vec![]).unwrap(), (vec![], vec![0.0]));
        assert_eq!(
            get(&z, vec![NewAxis, Ellipsis]).unwrap(),
            (vec![1], vec![0.0])
        );
        assert!(get(&z, vec![Int(0)]).is_err());
        // Slicing a slice (views of views).
        let a = arange(DType::UInt8, &[10]);
        let attrs = Attrs::new().with("key", Attr::Index(vec![sl(None, None, Some(-2))]));
        let ins = [CpuInput::Array(a)];
        let metas: Vec<_> = ins.iter().map(CpuInput::meta).collect();
        let outs = ndserve_proto::ops::infer("getitem", &metas, &attrs).unwrap();
        let r = run("getitem", &ins, &attrs, &outs).unwrap().remove(0);
        assert_eq!(
            get(&r, vec![sl(Some(1), None, Some(-1))]).unwrap(),
            (vec![2], f(&[7, 9]))
        );
    }
}
