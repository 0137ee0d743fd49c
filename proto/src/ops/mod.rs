//! The op catalogue: every op's name, its NumPy parameters and its dtype/shape rule.
//!
//! `infer` is the only type and shape logic in ndserve. The client runs it before sending
//! anything (so a broadcast mismatch or a bad axis is an error at the call), the server
//! runs it again on every call it receives (it never trusts a client) to account memory
//! and check its kernels' results.
//!
//! Families of elementwise ops are table rows ([`crate::for_each_unary_op`],
//! [`crate::for_each_binary_op`], ...): one row names the op, its dtype rule and its element
//! expression per dtype kind; the server expands the same rows into its kernels and the
//! client into its typed methods. Every other op is one [`OpDef`] in its family's module,
//! listed once in [`catalogue`].

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::attrs::Attrs;
use crate::dtype::{self, DType};
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::shape::{Shape, checked_numel};

pub mod counting;
pub mod creation;
pub mod creation_matrix;
pub mod data_shaped;
pub mod distribute;
pub mod elementwise;
pub mod fft;
pub mod index;
pub mod linalg;
pub mod math;
pub mod numpy_linalg;
pub mod products;
pub mod random;
pub mod reduce;
pub mod shape_ops;
pub mod stats;

/// The dtype and shape of an array.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Meta {
    /// Element type.
    pub dtype: DType,
    /// Shape, C order.
    pub shape: Shape,
}

impl Meta {
    /// A meta.
    pub fn new(dtype: DType, shape: impl Into<Shape>) -> Meta {
        Meta {
            dtype,
            shape: shape.into(),
        }
    }
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
    /// Number of axes.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }
    /// Bytes of data (saturating).
    pub fn nbytes(&self) -> u64 {
        (self.numel() as u64).saturating_mul(self.dtype.itemsize() as u64)
    }
}

/// One input of an op, as `infer` sees it: an array's meta, or a Python scalar.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// An array.
    Array(Meta),
    /// A Python scalar (weak under NEP 50).
    Scalar(Scalar),
}

impl Input {
    /// For NumPy's `result_type`.
    pub fn operand(&self) -> dtype::Operand {
        match self {
            Input::Array(m) => dtype::Operand::Array(m.dtype),
            Input::Scalar(s) => dtype::Operand::Scalar(s.kind()),
        }
    }
    /// The meta this input has as an array (a scalar becomes a 0-d array of its default
    /// dtype, as `np.asarray` makes it).
    pub fn as_array(&self) -> Meta {
        match self {
            Input::Array(m) => m.clone(),
            Input::Scalar(s) => Meta::new(dtype::default_dtype(s.kind()), vec![]),
        }
    }
    /// The shape (`[]` for a scalar).
    pub fn shape(&self) -> &[usize] {
        match self {
            Input::Array(m) => &m.shape,
            Input::Scalar(_) => &[],
        }
    }
}

/// How a parameter is passed on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// An array-like input: an array handle or a Python scalar operand.
    Array,
    /// A sequence of array-likes (`concatenate`'s `arrays`): all remaining inputs.
    ArrayList,
    /// A plain value: an attribute.
    Attr,
}

/// One NumPy parameter of an op, in NumPy's positional order.
#[derive(Clone, Copy, Debug)]
pub struct Param {
    /// NumPy's parameter name.
    pub name: &'static str,
    /// How it travels.
    pub kind: ParamKind,
    /// NumPy's default of an optional array parameter (`uniform`'s `low=0.0`): a caller
    /// that omits it sends this scalar in its place.
    pub default: Option<Scalar>,
}

/// Shorthand for an array parameter.
pub const fn arr(name: &'static str) -> Param {
    Param {
        name,
        kind: ParamKind::Array,
        default: None,
    }
}
/// Shorthand for an optional array parameter with a scalar default.
pub const fn arr_or(name: &'static str, default: Scalar) -> Param {
    Param {
        name,
        kind: ParamKind::Array,
        default: Some(default),
    }
}
/// Shorthand for an attribute parameter.
pub const fn attr(name: &'static str) -> Param {
    Param {
        name,
        kind: ParamKind::Attr,
        default: None,
    }
}
/// Shorthand for an array-list parameter.
pub const fn arrs(name: &'static str) -> Param {
    Param {
        name,
        kind: ParamKind::ArrayList,
        default: None,
    }
}

/// What `infer` sees of one call.
#[derive(Clone, Copy, Debug)]
pub struct Call<'a> {
    /// The op's name.
    pub op: &'a str,
    /// The inputs.
    pub inputs: &'a [Input],
    /// The attributes.
    pub attrs: &'a Attrs,
}

impl<'a> Call<'a> {
    /// The i-th input, or an error naming the parameter.
    pub fn input(&self, i: usize, name: &str) -> Result<&'a Input> {
        self.inputs.get(i).ok_or_else(|| {
            Error::invalid(self.op, name, format!("missing required argument '{name}'"))
        })
    }
    /// The i-th input as an array meta.
    pub fn array(&self, i: usize, name: &str) -> Result<Meta> {
        Ok(self.input(i, name)?.as_array())
    }
    /// Rejects an `out=` argument other than `None`: arrays are immutable, so every op
    /// returns a new one.
    pub fn no_out(&self) -> Result<()> {
        match self.attrs.get("out") {
            None | Some(crate::attrs::Attr::None) => Ok(()),
            Some(_) => Err(Error::invalid(
                self.op,
                "out",
                "out= is not supported: ndserve arrays are immutable, use the returned array",
            )),
        }
    }
    /// Checks the number of inputs.
    pub fn expect_inputs(&self, n: usize) -> Result<()> {
        if self.inputs.len() != n {
            return Err(Error::invalid(
                self.op,
                "inputs",
                format!("takes {n} array argument(s), got {}", self.inputs.len()),
            ));
        }
        Ok(())
    }
}

/// The type/shape rule of an op.
pub type InferFn = fn(&Call<'_>) -> Result<Vec<Meta>>;

/// Whether an op's output shapes depend on its input values (`np.nonzero`, a boolean
/// mask in an index).
///
/// For such a call `infer` gives each output's largest possible shape (every dim an upper
/// bound); the worker computes the actual shape, and the server reports it: the client
/// runs the call with the `Run` RPC (one round trip) and learns the shapes from its
/// reply, since nothing can be inferred ahead of the data.
#[derive(Clone, Copy)]
pub enum DataDependence {
    /// Shapes follow from the inputs' metas and the attributes alone.
    Never,
    /// Shapes always depend on the data.
    Always,
    /// Shapes depend on the data for the calls this predicate accepts.
    When(fn(&Call<'_>) -> bool),
}

impl DataDependence {
    /// Whether `call`'s output shapes depend on its data.
    pub fn applies(&self, call: &Call<'_>) -> bool {
        match self {
            DataDependence::Never => false,
            DataDependence::Always => true,
            DataDependence::When(f) => f(call),
        }
    }
}

/// One op of the catalogue.
#[derive(Clone, Copy)]
pub struct OpDef {
    /// The op's name on the wire (NumPy's function name).
    pub name: &'static str,
    /// NumPy's parameters, in positional order.
    pub params: &'static [Param],
    /// One line for docs and `ListOps`.
    pub summary: &'static str,
    /// The dtype/shape rule.
    pub infer: InferFn,
    /// Whether the output shapes depend on the data; `infer` then gives upper bounds.
    pub data_dependent: DataDependence,
}

impl std::fmt::Debug for OpDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpDef").field("name", &self.name).finish()
    }
}

/// Every op the contract knows, in catalogue order.
pub fn catalogue() -> &'static [OpDef] {
    static ALL: OnceLock<Vec<OpDef>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut v = Vec::new();
        v.extend(creation::defs());
        v.extend(creation_matrix::defs());
        v.extend(elementwise::defs());
        v.extend(reduce::defs());
        v.extend(stats::defs());
        v.extend(shape_ops::defs());
        v.extend(index::defs());
        v.extend(data_shaped::defs());
        v.extend(linalg::defs());
        v.extend(math::defs());
        v.extend(numpy_linalg::defs());
        v.extend(products::defs());
        v.extend(random::defs());
        v.extend(fft::defs());
        v.extend(counting::defs());
        v
    })
}

/// The distribution ops ([`distribute`]): run by the coordinator, listed apart from the
/// NumPy catalogue because no worker has a kernel for them.
pub fn distribution_ops() -> &'static [OpDef] {
    distribute::all()
}

/// The op named `name` (a NumPy op of the catalogue or a distribution op).
pub fn lookup(name: &str) -> Result<&'static OpDef> {
    static MAP: OnceLock<HashMap<&'static str, &'static OpDef>> = OnceLock::new();
    MAP.get_or_init(|| {
        catalogue()
            .iter()
            .chain(distribute::all())
            .map(|d| (d.name, d))
            .collect()
    })
    .get(name)
    .copied()
    .ok_or_else(|| Error::UnknownOp {
        op: name.to_string(),
    })
}

/// Infers the outputs of a call: the op's rule, then every output's size checked.
pub fn infer(op: &str, inputs: &[Input], attrs: &Attrs) -> Result<Vec<Meta>> {
    let def = lookup(op)?;
    let call = Call { op, inputs, attrs };
    let out = (def.infer)(&call)?;
    for m in &out {
        checked_numel(op, &m.shape)?;
    }
    Ok(out)
}

/// Whether a call's output shapes depend on its input values (see [`DataDependence`]);
/// `infer` then gives upper bounds. An unknown op is not data-dependent.
pub fn is_data_dependent(op: &str, inputs: &[Input], attrs: &Attrs) -> bool {
    lookup(op).is_ok_and(|d| d.data_dependent.applies(&Call { op, inputs, attrs }))
}

/// Whether `actual` fits the upper bound `bound` of a data-dependent output: the same
/// dtype and rank, every dim at most the bound's.
pub fn within_bound(actual: &Meta, bound: &Meta) -> bool {
    actual.dtype == bound.dtype
        && actual.ndim() == bound.ndim()
        && actual.shape.iter().zip(&bound.shape).all(|(a, b)| a <= b)
}

/// The dtype of a Python scalar converted alone.
pub fn scalar_dtype(s: &Scalar) -> DType {
    dtype::default_dtype(s.kind())
}

/// A `&'static [Param]` from `arr(..)`/`attr(..)`/`arrs(..)` calls.
#[macro_export]
#[doc(hidden)]
macro_rules! params {
    ($($e:expr),* $(,)?) => {{
        const P: &[$crate::ops::Param] = &[$($e),*];
        P
    }};
}
