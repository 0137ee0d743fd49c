//! Boolean masks in an index, lowered as NumPy defines them: `a[mask]` is
//! `a[mask.nonzero()]`.
//!
//! A k-d mask consumes k axes of `a` (its shape must equal theirs) and becomes k integer
//! index arrays, one per axis, each as long as the mask has true elements. A 0-d mask
//! (`a[True]`) consumes no axis: it adds a length-1 axis indexed by a one-element mask,
//! which selects it once (true) or not at all (false).
//!
//! The lowered key is an ordinary advanced index, so `getitem` with masks is planned by
//! [`super::index::adv_plan`] once the counts are known: `infer` plans it with upper
//! bounds (every mask all true), the kernel with the counts of its data.

use super::DataDependence;
use crate::attrs::{Attr, Attrs, IndexItem};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::ops::{Call, Input, Meta, OpDef, arr, attr};
use crate::params;
use crate::shape::Shape;

/// Where one input of the lowered call comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoweredInput {
    /// The indexed array, reshaped to [`MaskLowering::a_shape`].
    Source,
    /// An original input, unchanged (an integer index array).
    Keep(usize),
    /// An original input that is not part of the key (`index_update`'s `y`), unchanged.
    Pass(usize),
    /// The indices along mask dim `dim` of the true elements of mask input `input` (a 0-d
    /// mask counts as a one-element 1-d mask).
    MaskDim {
        /// The mask's position among the original inputs.
        input: usize,
        /// Which of the mask's dims.
        dim: usize,
    },
}

/// A key with its boolean masks lowered to integer index arrays.
#[derive(Clone, Debug, PartialEq)]
pub struct MaskLowering {
    /// The indexed array's shape with a length-1 axis where each 0-d mask stands.
    pub a_shape: Shape,
    /// The lowered key, over the lowered inputs.
    pub key: Vec<IndexItem>,
    /// The lowered inputs, in order (the first is the indexed array).
    pub inputs: Vec<LoweredInput>,
}

impl MaskLowering {
    /// The lowered call's attributes: the original ones with the lowered key.
    pub fn attrs(&self, attrs: &Attrs) -> Attrs {
        let mut a = attrs.clone();
        a.set("key", Attr::Index(self.key.clone()));
        a
    }
}

/// The boolean mask behind a key item, if it is one.
fn mask_meta<'a>(c: &Call<'a>, item: &IndexItem) -> Option<&'a Meta> {
    match item {
        IndexItem::Array(p) => match c.inputs.get(*p) {
            Some(Input::Array(m)) if m.dtype == DType::Bool => Some(m),
            _ => None,
        },
        _ => None,
    }
}

/// Whether a `getitem` call's key holds a boolean mask (its result shape then depends on
/// the mask's values).
pub fn has_mask(c: &Call<'_>) -> bool {
    c.attrs
        .index(c.op, "key")
        .is_ok_and(|key| key.iter().any(|k| mask_meta(c, k).is_some()))
}

/// Lowers the boolean masks of `c`'s key (`None` when it has none), checking each mask's
/// shape against the axes it indexes as NumPy does.
pub fn lower(c: &Call<'_>) -> Result<Option<MaskLowering>> {
    lower_after(c, 1)
}

/// [`lower`] for a call whose first `leading` inputs precede the key's arrays (the indexed
/// array, then values such as `index_update`'s `y`, passed through unchanged).
pub fn lower_after(c: &Call<'_>, leading: usize) -> Result<Option<MaskLowering>> {
    let op = c.op;
    let key = c.attrs.index(op, "key")?;
    if !key.iter().any(|k| mask_meta(c, k).is_some()) {
        return Ok(None);
    }
    let a = c.array(0, "a")?;
    let consumes = |k: &IndexItem| match (k, mask_meta(c, k)) {
        (_, Some(m)) => m.ndim(),
        (IndexItem::NewAxis | IndexItem::Ellipsis, _) => 0,
        _ => 1,
    };
    let consumed: usize = key.iter().map(consumes).sum();
    if consumed > a.ndim() {
        return Err(Error::invalid(
            op,
            "key",
            format!(
                "too many indices for array: array is {}-dimensional, but {consumed} were indexed",
                a.ndim()
            ),
        ));
    }
    let mut low = MaskLowering {
        a_shape: Vec::with_capacity(a.ndim() + 1),
        key: Vec::with_capacity(key.len()),
        inputs: std::iter::once(LoweredInput::Source)
            .chain((1..leading).map(LoweredInput::Pass))
            .collect(),
    };
    let mut axis = 0usize;
    for k in &key {
        match (k, mask_meta(c, k)) {
            (IndexItem::Array(p), Some(m)) => {
                if m.ndim() == 0 {
                    low.a_shape.push(1);
                    low.push_array(LoweredInput::MaskDim { input: *p, dim: 0 });
                }
                for (j, &len) in m.shape.iter().enumerate() {
                    let n = a.shape[axis + j];
                    if len != n {
                        return Err(Error::invalid(
                            op,
                            "key",
                            format!(
                                "boolean index did not match indexed array along axis {}; size of axis is {n} but size of corresponding boolean axis is {len}",
                                axis + j
                            ),
                        ));
                    }
                    low.a_shape.push(n);
                    low.push_array(LoweredInput::MaskDim { input: *p, dim: j });
                }
                axis += m.ndim();
            }
            (IndexItem::Array(p), None) => {
                low.a_shape.push(a.shape[axis]);
                low.push_array(LoweredInput::Keep(*p));
                axis += 1;
            }
            (IndexItem::Ellipsis, _) => {
                let fill = a.ndim() - consumed;
                low.a_shape.extend_from_slice(&a.shape[axis..axis + fill]);
                low.key.push(IndexItem::Ellipsis);
                axis += fill;
            }
            (IndexItem::NewAxis, _) => low.key.push(IndexItem::NewAxis),
            (item, _) => {
                low.a_shape.push(a.shape[axis]);
                low.key.push(item.clone());
                axis += 1;
            }
        }
    }
    low.a_shape.extend_from_slice(&a.shape[axis..]);
    Ok(Some(low))
}

impl MaskLowering {
    fn push_array(&mut self, input: LoweredInput) {
        self.key.push(IndexItem::Array(self.inputs.len()));
        self.inputs.push(input);
    }

    /// The lowered inputs' metas with every mask at its largest count, for `infer`.
    ///
    /// All of a key's index arrays broadcast together, so the masks' true-counts must
    /// broadcast with the integer arrays: where those have a last dim above 1 the count is
    /// that dim (or 1, broadcast up to it); otherwise it is at most the smallest mask size.
    pub fn bound_inputs(&self, c: &Call<'_>) -> Result<Vec<Input>> {
        let a = c.array(0, "a")?;
        let mut kept = Vec::new();
        let mut smallest = usize::MAX;
        for i in &self.inputs {
            match *i {
                LoweredInput::Keep(p) => kept.push(c.array(p, "key")?.shape),
                LoweredInput::MaskDim { input, .. } => {
                    smallest = smallest.min(c.array(input, "key")?.numel().max(1));
                }
                LoweredInput::Source | LoweredInput::Pass(_) => {}
            }
        }
        let others =
            crate::shape::broadcast_all(c.op, kept.iter().map(|s| &s[..])).unwrap_or_default();
        let count = match others.last() {
            Some(&d) if d > 1 => d,
            _ => smallest,
        };
        Ok(self.inputs_with(c, &a, count))
    }

    /// The lowered inputs' metas with every mask's true-count `count`.
    fn inputs_with(&self, c: &Call<'_>, a: &Meta, count: usize) -> Vec<Input> {
        self.inputs
            .iter()
            .map(|i| match *i {
                LoweredInput::Source => Input::Array(Meta::new(a.dtype, self.a_shape.clone())),
                LoweredInput::Keep(p) | LoweredInput::Pass(p) => c.inputs[p].clone(),
                LoweredInput::MaskDim { .. } => Input::Array(Meta::new(DType::Int64, vec![count])),
            })
            .collect()
    }
}

// ---- ops whose result shape depends on the data --------------------------------------

pub(crate) fn defs() -> Vec<OpDef> {
    vec![
        OpDef {
            name: "nonzero",
            params: params![arr("a")],
            summary: "The indices of the non-zero elements, one int64 array per axis (np.nonzero).",
            infer: |c| nonzero_outs(c, "a"),
            data_dependent: DataDependence::Always,
        },
        OpDef {
            name: "compress",
            params: params![arr("condition"), arr("a"), attr("axis"), attr("out")],
            summary: "The slices of a along axis where condition is true (np.compress).",
            infer: |c| Ok(vec![compress_plan(c)?.out]),
            data_dependent: DataDependence::Always,
        },
    ]
}

/// `np.nonzero(a)`'s outputs at their largest: one int64 array per axis of `a`, each as
/// long as `a` has elements.
pub fn nonzero_outs(c: &Call<'_>, name: &str) -> Result<Vec<Meta>> {
    c.expect_inputs(1)?;
    c.attrs.check_known(c.op, &[])?;
    let a = c.array(0, name)?;
    if a.ndim() == 0 {
        return Err(Error::invalid(
            c.op,
            name,
            "Calling nonzero on 0d arrays is not allowed. Use np.atleast_1d(scalar).nonzero() instead.",
        ));
    }
    Ok(vec![Meta::new(DType::Int64, vec![a.numel()]); a.ndim()])
}

/// `compress` resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct CompressPlan {
    /// Flatten `a` first (`axis=None`).
    pub flatten: bool,
    /// The axis selected along (0 when flattened).
    pub axis: usize,
    /// The result at its largest: every condition element within the axis true.
    pub out: Meta,
}

/// Resolves `np.compress(condition, a, axis)`.
pub fn compress_plan(c: &Call<'_>) -> Result<CompressPlan> {
    let op = c.op;
    c.expect_inputs(2)?;
    c.attrs.check_known(op, &["axis", "out"])?;
    c.no_out()?;
    let cond = c.array(0, "condition")?;
    let a = c.array(1, "a")?;
    if cond.ndim() != 1 {
        return Err(Error::invalid(
            op,
            "condition",
            "condition must be a 1-d array",
        ));
    }
    let (flatten, axis, mut shape) = match c.attrs.int(op, "axis")? {
        None => (true, 0, vec![a.numel()]),
        Some(ax) => (
            false,
            crate::shape::normalize_axis(op, ax, a.ndim())?,
            a.shape.clone(),
        ),
    };
    shape[axis] = shape[axis].min(cond.numel());
    Ok(CompressPlan {
        flatten,
        axis,
        out: Meta::new(a.dtype, shape),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{infer, is_data_dependent};

    fn arr(dtype: DType, shape: &[usize]) -> Input {
        Input::Array(Meta::new(dtype, shape.to_vec()))
    }

    fn key(items: Vec<IndexItem>) -> Attrs {
        Attrs::new().with("key", Attr::Index(items))
    }

    #[test]
    fn a_mask_is_data_dependent_an_integer_index_is_not() {
        let a = arr(DType::Float32, &[2, 3, 4]);
        let k = key(vec![IndexItem::Array(1)]);
        let mask = [a.clone(), arr(DType::Bool, &[2, 3])];
        let ints = [a, arr(DType::Int64, &[5])];
        assert!(is_data_dependent("getitem", &mask, &k));
        assert!(!is_data_dependent("getitem", &ints, &k));
        // Every mask element true: (2*3, 4).
        let out = infer("getitem", &mask, &k).unwrap();
        assert_eq!(out, vec![Meta::new(DType::Float32, vec![6, 4])]);
    }

    #[test]
    fn masks_lower_to_one_index_array_per_axis() {
        let inputs = [arr(DType::Int8, &[2, 3, 4]), arr(DType::Bool, &[3, 4])];
        let attrs = key(vec![
            IndexItem::Slice(None, None, None),
            IndexItem::Array(1),
        ]);
        let c = Call {
            op: "getitem",
            inputs: &inputs,
            attrs: &attrs,
        };
        let low = lower(&c).unwrap().unwrap();
        assert_eq!(low.a_shape, vec![2, 3, 4]);
        assert_eq!(
            low.key,
            vec![
                IndexItem::Slice(None, None, None),
                IndexItem::Array(1),
                IndexItem::Array(2)
            ]
        );
        assert_eq!(
            low.inputs,
            vec![
                LoweredInput::Source,
                LoweredInput::MaskDim { input: 1, dim: 0 },
                LoweredInput::MaskDim { input: 1, dim: 1 },
            ]
        );
        assert_eq!(
            infer("getitem", &inputs, &attrs).unwrap()[0].shape,
            vec![2, 12]
        );
    }

    #[test]
    fn a_0d_mask_adds_an_axis() {
        let inputs = [arr(DType::Float64, &[3]), arr(DType::Bool, &[])];
        let attrs = key(vec![IndexItem::Array(1)]);
        assert_eq!(
            infer("getitem", &inputs, &attrs).unwrap()[0].shape,
            vec![1, 3]
        );
        let attrs = key(vec![IndexItem::Ellipsis, IndexItem::Array(1)]);
        assert_eq!(
            infer("getitem", &inputs, &attrs).unwrap()[0].shape,
            vec![3, 1]
        );
    }

    #[test]
    fn mask_counts_broadcast_with_integer_arrays() {
        // a[mask, [0, 1, 2]]: the count must be 3 (or 1), so the bound is 3.
        let inputs = [
            arr(DType::Int32, &[2, 3]),
            arr(DType::Bool, &[2]),
            arr(DType::Int64, &[3]),
        ];
        let attrs = key(vec![IndexItem::Array(1), IndexItem::Array(2)]);
        assert_eq!(infer("getitem", &inputs, &attrs).unwrap()[0].shape, vec![3]);
    }

    #[test]
    fn mask_shape_mismatch_is_numpys_index_error() {
        let inputs = [arr(DType::Int32, &[2, 3]), arr(DType::Bool, &[3])];
        let e = infer("getitem", &inputs, &key(vec![IndexItem::Array(1)])).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::InvalidArgument);
        assert!(
            e.to_string()
                .contains("boolean index did not match indexed array along axis 0; size of axis is 2 but size of corresponding boolean axis is 3"),
            "{e}"
        );
    }

    #[test]
    fn nonzero_and_compress_bounds() {
        let a = [arr(DType::UInt8, &[2, 5])];
        let none = Attrs::new();
        assert_eq!(
            infer("nonzero", &a, &none).unwrap(),
            vec![Meta::new(DType::Int64, vec![10]); 2]
        );
        assert!(infer("nonzero", &[arr(DType::Bool, &[])], &none).is_err());
        assert_eq!(infer("where", &a, &none).unwrap().len(), 2);
        let c = [arr(DType::Bool, &[7]), arr(DType::Float32, &[2, 5])];
        let axis1 = Attrs::new().with("axis", Attr::Int(-1));
        assert_eq!(infer("compress", &c, &axis1).unwrap()[0].shape, vec![2, 5]);
        assert_eq!(infer("compress", &c, &none).unwrap()[0].shape, vec![7]);
        let c2 = [arr(DType::Bool, &[2, 2]), arr(DType::Float32, &[4])];
        assert!(infer("compress", &c2, &none).is_err());
    }
}
