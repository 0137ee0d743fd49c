//! Distribution ops: lay one logical array out over several devices, as TensorFlow's
//! distribution strategies do, and bring it back.
//!
//! - `shard(a, axis, devices)`: one logical array made of per-device parts, split along
//!   `axis` as `np.array_split` splits it (the first `len % n` parts one longer).
//! - `reshard(a, axis, devices)`: the same array under another sharding.
//! - `replicate(a, devices)`: a mirrored array, one full copy per device.
//! - `from_replicas(arrays...)`: a mirrored (per-replica) array from one array per device,
//!   each staying where it lives; they must have one dtype and shape.
//! - `gather(a, device)`: one ordinary array on one device (default: where most of it is).
//! - `reduce_replicas(a, op)`: `op` ("sum" or "mean") across the replicas of a mirrored
//!   array, exactly `np.sum(np.stack(replicas), axis=0)` (or `np.mean`).
//!
//! None of them changes a value: their result has the input's dtype and shape (except
//! `reduce_replicas`, which follows the reduction's dtype rule). The coordinator runs them
//! itself; workers never see them. Every other op accepts sharded and mirrored operands
//! (see the coordinator's `distributed` module for which run shard by shard).

use super::DataDependence;
use crate::error::{Error, Result};
use crate::ops::{Call, Meta, OpDef, arr, arrs, attr};
use crate::shape::normalize_axis;

/// Whether `op` is a distribution op (run by the coordinator, not by a worker).
pub fn is_distribution_op(op: &str) -> bool {
    all().iter().any(|d| d.name == op)
}

/// The distribution ops, built once.
pub fn all() -> &'static [OpDef] {
    static ALL: std::sync::OnceLock<Vec<OpDef>> = std::sync::OnceLock::new();
    ALL.get_or_init(defs)
}

fn defs() -> Vec<OpDef> {
    vec![
        OpDef {
            name: "shard",
            params: crate::params![arr("a"), attr("axis"), attr("devices")],
            summary: "Split an array along an axis into one part per device (np.array_split's parts).",
            infer: infer_same,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "reshard",
            params: crate::params![arr("a"), attr("axis"), attr("devices")],
            summary: "The same array sharded along another axis or over other devices.",
            infer: infer_same,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "replicate",
            params: crate::params![arr("a"), attr("devices")],
            summary: "A mirrored array: one full copy of the array on each device.",
            infer: infer_same,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "from_replicas",
            params: crate::params![arrs("arrays")],
            summary: "A mirrored (per-replica) array from one array per device, each left where it lives.",
            infer: infer_from_replicas,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "gather",
            params: crate::params![arr("a"), attr("device")],
            summary: "One ordinary array on one device from a sharded or mirrored one.",
            infer: infer_same,
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "reduce_replicas",
            params: crate::params![arr("a"), attr("op")],
            summary: "Sum or mean across the replicas of a mirrored array (MirroredStrategy.reduce).",
            infer: infer_reduce_replicas,
            data_dependent: DataDependence::Never,
        },
    ]
}

/// The device names of a `devices` attribute: a comma-separated list, or absent/empty for
/// every device. Names must be distinct.
pub fn devices(op: &str, c: &crate::Attrs) -> Result<Vec<String>> {
    let Some(s) = c.str(op, "devices")? else {
        return Ok(Vec::new());
    };
    let names: Vec<String> = s
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(String::from)
        .collect();
    for (i, d) in names.iter().enumerate() {
        if names[..i].contains(d) {
            return Err(Error::invalid(
                op,
                "devices",
                format!("device '{d}' is named twice"),
            ));
        }
    }
    Ok(names)
}

/// The normalised `axis` of `shard`/`reshard` (default 0).
pub fn shard_axis(op: &str, c: &crate::Attrs, meta: &Meta) -> Result<usize> {
    if meta.ndim() == 0 {
        return Err(Error::invalid(
            op,
            "a",
            "a 0-d array has no axis to shard along; replicate it instead",
        ));
    }
    normalize_axis(op, c.int_or(op, "axis", 0)?, meta.ndim())
}

/// The reduction of `reduce_replicas`: "sum" (default) or "mean".
pub fn replica_reduction(c: &crate::Attrs) -> Result<&'static str> {
    let op = "reduce_replicas";
    match c.str(op, "op")? {
        None | Some("sum") => Ok("sum"),
        Some("mean") => Ok("mean"),
        Some(other) => Err(Error::invalid(
            op,
            "op",
            format!("unknown reduction '{other}': use 'sum' or 'mean'"),
        )),
    }
}

fn infer_same(c: &Call<'_>) -> Result<Vec<Meta>> {
    c.expect_inputs(1)?;
    let a = match c.input(0, "a")? {
        crate::ops::Input::Array(m) => m.clone(),
        crate::ops::Input::Scalar(_) => {
            return Err(Error::invalid(
                c.op,
                "a",
                "takes an array, not a Python scalar",
            ));
        }
    };
    match c.op {
        "shard" | "reshard" => {
            c.attrs.check_known(c.op, &["axis", "devices"])?;
            shard_axis(c.op, c.attrs, &a)?;
            devices(c.op, c.attrs)?;
        }
        "replicate" => {
            c.attrs.check_known(c.op, &["devices"])?;
            devices(c.op, c.attrs)?;
        }
        _ => {
            c.attrs.check_known(c.op, &["device"])?;
            c.attrs.str(c.op, "device")?;
        }
    }
    Ok(vec![a])
}

fn infer_from_replicas(c: &Call<'_>) -> Result<Vec<Meta>> {
    c.attrs.check_known(c.op, &[])?;
    let mut first: Option<Meta> = None;
    for (i, input) in c.inputs.iter().enumerate() {
        let crate::ops::Input::Array(m) = input else {
            return Err(Error::invalid(
                c.op,
                "arrays",
                format!("argument {i} is a Python scalar; every replica must be an array"),
            ));
        };
        match &first {
            None => first = Some(m.clone()),
            Some(f) if f != m => {
                return Err(Error::invalid(
                    c.op,
                    "arrays",
                    format!(
                        "replica {i} is {} {}, replica 0 is {} {}: replicas must have one dtype and shape",
                        m.dtype,
                        crate::shape::fmt_shape(&m.shape),
                        f.dtype,
                        crate::shape::fmt_shape(&f.shape)
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    first
        .map(|m| vec![m])
        .ok_or_else(|| Error::invalid(c.op, "arrays", "needs at least one array"))
}

fn infer_reduce_replicas(c: &Call<'_>) -> Result<Vec<Meta>> {
    c.expect_inputs(1)?;
    c.attrs.check_known(c.op, &["op"])?;
    let reduction = replica_reduction(c.attrs)?;
    let a = c.array(0, "a")?;
    // The result of reducing a stack of replicas over its first axis; its dtype and shape
    // do not depend on how many replicas there are.
    let mut stacked = a.clone();
    stacked.shape.insert(0, 1);
    let attrs = crate::Attrs::new().with("axis", crate::Attr::Int(0));
    let inputs = [crate::ops::Input::Array(stacked)];
    let call = Call {
        op: reduction,
        inputs: &inputs,
        attrs: &attrs,
    };
    Ok(vec![super::reduce::plan(&call)?.out])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;
    use crate::ops::{Input, infer};
    use crate::{Attr, Attrs};

    #[test]
    fn layouts_keep_dtype_and_shape() {
        let m = Meta::new(DType::Int8, vec![4, 3]);
        let attrs = Attrs::new()
            .with("axis", Attr::Int(-1))
            .with("devices", Attr::Str("a/cpu:0, b/cpu:0".into()));
        assert_eq!(
            infer("shard", &[Input::Array(m.clone())], &attrs).unwrap(),
            vec![m.clone()]
        );
        assert_eq!(
            devices("shard", &attrs).unwrap(),
            vec!["a/cpu:0".to_string(), "b/cpu:0".to_string()]
        );
        let bad = Attrs::new().with("axis", Attr::Int(2));
        assert!(infer("shard", &[Input::Array(m.clone())], &bad).is_err());
        let twice = Attrs::new().with("devices", Attr::Str("a,a".into()));
        assert!(infer("replicate", &[Input::Array(m.clone())], &twice).is_err());
        let zero_d = Meta::new(DType::Float32, vec![]);
        assert!(infer("shard", &[Input::Array(zero_d)], &Attrs::new()).is_err());
    }

    #[test]
    fn replica_reductions_follow_numpy_dtype_rules() {
        let m = Meta::new(DType::Int8, vec![2]);
        let sum = infer("reduce_replicas", &[Input::Array(m.clone())], &Attrs::new()).unwrap();
        assert_eq!(sum, vec![Meta::new(DType::Int64, vec![2])]);
        let mean_attrs = Attrs::new().with("op", Attr::Str("mean".into()));
        let mean = infer("reduce_replicas", &[Input::Array(m.clone())], &mean_attrs).unwrap();
        assert_eq!(mean, vec![Meta::new(DType::Float64, vec![2])]);
        let bad = Attrs::new().with("op", Attr::Str("max".into()));
        assert!(infer("reduce_replicas", &[Input::Array(m)], &bad).is_err());
    }

    #[test]
    fn replicas_must_agree() {
        let a = Input::Array(Meta::new(DType::Float32, vec![2]));
        let b = Input::Array(Meta::new(DType::Float64, vec![2]));
        assert!(infer("from_replicas", &[a.clone(), b], &Attrs::new()).is_err());
        assert!(infer("from_replicas", &[], &Attrs::new()).is_err());
        assert_eq!(
            infer("from_replicas", &[a.clone(), a], &Attrs::new()).unwrap(),
            vec![Meta::new(DType::Float32, vec![2])]
        );
    }
}
