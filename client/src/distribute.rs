//! Distribution strategies: sharded and mirrored arrays over several devices, as
//! TensorFlow's `MirroredStrategy` and sharded tensors lay them out.
//!
//! - [`Array::shard`] splits an array along an axis into one part per device (the parts of
//!   `np.array_split`); elementwise ops, reductions and `matmul` with a row-sharded left
//!   operand then run part by part on the parts' workers, in parallel.
//!   [`Client::with_sharding`] is a scope in which creation ops and uploads give sharded
//!   arrays.
//! - [`Array::replicate`] (or [`Client::from_replicas`]) gives a mirrored array: one array
//!   per device. Ops whose array operands are all mirrored over the same devices run on
//!   every replica ([`Client::run_per_replica`]); [`Array::reduce_replicas`] sums or
//!   averages across the replicas.
//! - [`Array::gather`] brings one back to a single device; a fetch assembles it whole.
//!
//! A sharded or mirrored array is an ordinary [`Array`]: every op accepts it, and an op
//! that cannot run part by part gathers its operands onto one worker first. Its
//! [`Array::layout`] says how it is laid out. Results are the same as on one device.

use ndserve_proto::{Attr, Attrs, Error, Meta, Result};

use crate::array::Array;
use crate::client::Client;

/// How an array is laid out over devices ([`Array::layout`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One array on one device.
    Single {
        /// Its device (`worker/cpu:0`).
        device: String,
    },
    /// Split along `axis` into parts, in order along it.
    Sharded {
        /// The axis.
        axis: usize,
        /// The parts.
        parts: Vec<PartInfo>,
    },
    /// One full array per device.
    Mirrored {
        /// The replicas.
        replicas: Vec<PartInfo>,
    },
}

impl Layout {
    /// The devices holding the array, in part order.
    pub fn devices(&self) -> Vec<&str> {
        match self {
            Layout::Single { device } => vec![device.as_str()],
            Layout::Sharded { parts, .. } | Layout::Mirrored { replicas: parts } => {
                parts.iter().map(|p| p.device.as_str()).collect()
            }
        }
    }
}

/// One part of a sharded array or one replica of a mirrored one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartInfo {
    /// The device holding it.
    pub device: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Whether its worker is gone (the array is then lost).
    pub lost: bool,
}

/// The reduction of [`Array::reduce_replicas`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplicaReduce {
    /// `np.sum` over the stacked replicas.
    Sum,
    /// `np.mean` over the stacked replicas.
    Mean,
}

fn devices_attr(devices: &[&str]) -> Attr {
    Attr::Str(devices.join(","))
}

impl Array {
    /// The array split along `axis` into one part per device (every device when
    /// `devices` is empty), as `np.array_split` splits it. Parts move worker to worker,
    /// never through the client.
    ///
    /// ```
    /// use ndserve_client::{Client, Layout};
    ///
    /// # fn main() -> ndserve_client::Result<()> {
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let client = Client::embedded().await?;
    /// let x = client.arange_n(10)?.reshape(&[5, 2])?;
    /// let s = x.shard(0, &[])?;
    /// let y = (&s * 2)?.sum(0, false)?;
    /// assert_eq!(y.to_vec::<i64>().await?, vec![40, 50]);
    /// assert!(matches!(s.layout().await?, Layout::Sharded { axis: 0, .. }));
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// INVALID_ARGUMENT for a 0-d array or an axis out of range (at the call); an unknown
    /// device at the next sync.
    pub fn shard(&self, axis: isize, devices: &[&str]) -> Result<Array> {
        let attrs = Attrs::new()
            .with("axis", Attr::Int(axis as i64))
            .with("devices", devices_attr(devices));
        self.client().call1("shard", &[self.into()], attrs)
    }

    /// The same array sharded along `axis` over `devices` (every device when empty).
    ///
    /// # Errors
    ///
    /// As [`Array::shard`].
    pub fn reshard(&self, axis: isize, devices: &[&str]) -> Result<Array> {
        let attrs = Attrs::new()
            .with("axis", Attr::Int(axis as i64))
            .with("devices", devices_attr(devices));
        self.client().call1("reshard", &[self.into()], attrs)
    }

    /// A mirrored array: one copy of this array on each device (every device when
    /// `devices` is empty).
    ///
    /// # Errors
    ///
    /// An unknown device at the next sync.
    pub fn replicate(&self, devices: &[&str]) -> Result<Array> {
        let attrs = Attrs::new().with("devices", devices_attr(devices));
        self.client().call1("replicate", &[self.into()], attrs)
    }

    /// One ordinary array on `device` (default: the device holding most of it), made from
    /// a sharded or mirrored one; of a single array, a copy.
    ///
    /// # Errors
    ///
    /// An unknown device at the next sync; UNAVAILABLE when a part's worker is lost.
    pub fn gather(&self, device: Option<&str>) -> Result<Array> {
        let mut attrs = Attrs::new();
        if let Some(d) = device {
            attrs.set("device", Attr::Str(d.to_string()));
        }
        self.client().call1("gather", &[self.into()], attrs)
    }

    /// Sum or mean across the replicas of a mirrored array: `np.sum(np.stack(replicas),
    /// axis=0)` (or `np.mean`), on the first replica's device, with NumPy's result dtype.
    /// A single array counts as one replica.
    ///
    /// # Errors
    ///
    /// INVALID_ARGUMENT for a sharded array (at the next sync).
    pub fn reduce_replicas(&self, op: ReplicaReduce) -> Result<Array> {
        let name = match op {
            ReplicaReduce::Sum => "sum",
            ReplicaReduce::Mean => "mean",
        };
        let attrs = Attrs::new().with("op", Attr::Str(name.into()));
        self.client()
            .call1("reduce_replicas", &[self.into()], attrs)
    }

    /// How the array is laid out over devices; waits until it is computed.
    ///
    /// # Errors
    ///
    /// The error of the op that computed it, or UNAVAILABLE when a worker holding it is
    /// lost.
    pub async fn layout(&self) -> Result<Layout> {
        let d = self.describe().await?;
        if let Some(e) = d.error {
            return Err(e);
        }
        Ok(d.layout)
    }
}

impl Client {
    /// A mirrored (per-replica) array from one array per device, each left where it
    /// lives (TensorFlow's per-replica values): the replicas may differ, and must have
    /// one dtype and shape.
    ///
    /// # Errors
    ///
    /// INVALID_ARGUMENT for replicas of different dtypes or shapes, or none.
    pub fn from_replicas(&self, replicas: &[Array]) -> Result<Array> {
        let inputs: Vec<_> = replicas.iter().map(Into::into).collect();
        self.call1("from_replicas", &inputs, Attrs::new())
    }

    /// Runs `f` once for every replica of the mirrored arrays `args` (as
    /// `MirroredStrategy.run`): every op `f` applies to them runs on each replica's
    /// device, and its results are mirrored arrays.
    ///
    /// ```
    /// use ndserve_client::{Client, ReplicaReduce};
    ///
    /// # fn main() -> ndserve_client::Result<()> {
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let client = Client::embedded().await?;
    /// let w = client.arange_n(3)?.replicate(&[])?;
    /// let y = client
    ///     .run_per_replica(&[w], |args| (&args[0] + 1)?.square())
    ///     .await?;
    /// let total = y.reduce_replicas(ReplicaReduce::Sum)?;
    /// assert_eq!(total.to_vec::<i64>().await?, vec![1, 4, 9]);
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// INVALID_ARGUMENT naming the argument when one of `args` is not mirrored, or when
    /// they are mirrored over different devices; `f`'s own errors.
    pub async fn run_per_replica<R>(
        &self,
        args: &[Array],
        f: impl FnOnce(&[Array]) -> Result<R>,
    ) -> Result<R> {
        let mut devices: Option<Vec<String>> = None;
        for (i, a) in args.iter().enumerate() {
            let layout = a.layout().await?;
            let Layout::Mirrored { replicas } = &layout else {
                return Err(Error::invalid(
                    "run_per_replica",
                    "args",
                    format!("argument {i} is not mirrored; replicate it first"),
                ));
            };
            let here: Vec<String> = replicas.iter().map(|r| r.device.clone()).collect();
            match &devices {
                None => devices = Some(here),
                Some(d) if *d != here => {
                    return Err(Error::invalid(
                        "run_per_replica",
                        "args",
                        format!("argument {i} is mirrored over {here:?}, argument 0 over {d:?}"),
                    ));
                }
                Some(_) => {}
            }
        }
        f(args)
    }
}

/// The layout a `Describe` reply gives.
pub(crate) fn layout_from_wire(r: &ndserve_proto::pb::DescribeResponse) -> Result<Layout> {
    let parts = r
        .parts
        .iter()
        .map(|p| {
            Ok(PartInfo {
                device: p.device.clone(),
                shape: match &p.meta {
                    Some(m) => Meta::from_wire(m)?.shape.to_vec(),
                    None => Vec::new(),
                },
                lost: p.state == "lost",
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(match r.layout.as_str() {
        "sharded" => Layout::Sharded {
            axis: r.shard_axis as usize,
            parts,
        },
        "mirrored" => Layout::Mirrored { replicas: parts },
        _ => Layout::Single {
            device: r.device.clone(),
        },
    })
}
