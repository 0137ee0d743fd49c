//! The typed op methods: elementwise ops generated from the contract's table rows,
//! reductions, shape ops, indexing, products and creation ops. Each one is a thin layer
//! over [`Client::call`] with NumPy's parameter names as attributes.

use ndserve_proto::{Attr, Attrs, DType, Result, Scalar};

use crate::array::Array;
use crate::client::Client;
use crate::operand::{Axis, Idx, Operand};

/// `(name, rule, "summary", bool: .., int: .., float: .., complex: ..)` rows of one-input
/// ops become `fn name(&self) -> Result<Array>`.
macro_rules! unary_methods {
    ($( ($name:ident, $rule:ident, $doc:literal, bool: $b:tt, int: $i:tt, float: $f:tt, complex: $c:tt, cuda: $g:tt) ),* $(,)?) => {
        impl Array {$(
            #[doc = $doc]
            ///
            /// Checked locally and queued; see [`Client::call`].
            pub fn $name(&self) -> Result<Array> {
                self.client().call1(stringify!($name), &[self.into()], Attrs::new())
            }
        )*}
    };
}

/// Two-input rows become `fn name(&self, other: impl Into<Operand>) -> Result<Array>`
/// (`mod` becomes `r#mod`).
macro_rules! binary_methods {
    ($( ($name:ident, $rule:ident, $doc:literal, bool: $b:tt, int: $i:tt, float: $f:tt, complex: $c:tt, cuda: $g:tt) ),* $(,)?) => {
        $( binary_methods!(@one $name, $doc); )*
    };
    (@one mod, $doc:literal) => {
        binary_methods!(@emit r#mod, "mod", $doc);
    };
    (@one $name:ident, $doc:literal) => {
        binary_methods!(@emit $name, stringify!($name), $doc);
    };
    (@emit $name:ident, $op:expr, $doc:literal) => {
        impl Array {
            #[doc = $doc]
            ///
            /// `other` is an array (broadcast against this one) or a Rust number (a weak
            /// Python scalar). Checked locally and queued; see [`Client::call`].
            pub fn $name(&self, other: impl Into<Operand>) -> Result<Array> {
                self.client().call1($op, &[self.into(), other.into()], Attrs::new())
            }
        }
    };
}

ndserve_proto::for_each_unary_op!(unary_methods);
ndserve_proto::for_each_unary_real_op!(unary_methods);
ndserve_proto::for_each_unary_pred_op!(unary_methods);
ndserve_proto::for_each_binary_op!(binary_methods);
ndserve_proto::for_each_compare_op!(binary_methods);

pub(crate) fn with_axis(attrs: Attrs, axis: Axis) -> Attrs {
    match axis.to_attr() {
        Some(a) => attrs.with("axis", a),
        None => attrs,
    }
}

fn ints(v: &[usize]) -> Attr {
    Attr::Ints(v.iter().map(|&d| d as i64).collect())
}

macro_rules! reductions {
    ($($name:ident, $np:literal, $doc:literal;)*) => {
        impl Array {$(
            #[doc = $doc]
            ///
            /// `axis` is [`Axis::All`] or `None` (every axis), an axis (`0`, `-1`) or
            /// several (`[0, 2]`); `keepdims` keeps the reduced axes with length 1.
            /// See [`Array::sum`] for an example.
            ///
            /// # Errors
            ///
            /// [`ndserve_proto::Error::AxisOutOfRange`] for a bad axis, and the op's
            /// dtype errors, at the call.
            #[doc(alias = $np)]
            pub fn $name(&self, axis: impl Into<Axis>, keepdims: bool) -> Result<Array> {
                self.reduce(stringify!($name), axis.into(), keepdims, None)
            }
        )*}
    };
}

reductions! {
    prod, "np.prod", "Product of the elements over the given axes (`np.prod`); bool and small integers accumulate in 64 bits.";
    mean, "np.mean", "Arithmetic mean over the given axes (`np.mean`); integers give float64.";
    max, "np.max", "Maximum over the given axes, propagating NaNs (`np.max`).";
    amax, "np.amax", "Maximum over the given axes, propagating NaNs (`np.amax`).";
    min, "np.min", "Minimum over the given axes, propagating NaNs (`np.min`).";
    amin, "np.amin", "Minimum over the given axes, propagating NaNs (`np.amin`).";
    all, "np.all", "Whether all elements over the given axes are true (`np.all`).";
    any, "np.any", "Whether any element over the given axes is true (`np.any`).";
}

impl Array {
    fn unary_op(&self, op: &str, attrs: Attrs) -> Result<Array> {
        self.client().call1(op, &[self.into()], attrs)
    }

    fn reduce(&self, op: &str, axis: Axis, keepdims: bool, dtype: Option<DType>) -> Result<Array> {
        let mut attrs = with_axis(Attrs::new(), axis);
        if keepdims {
            attrs.set("keepdims", Attr::Bool(true));
        }
        if let Some(d) = dtype {
            attrs.set("dtype", Attr::DType(d));
        }
        self.unary_op(op, attrs)
    }

    /// Sum of the elements over the given axes (`np.sum`); bool and integers narrower than
    /// 64 bits accumulate in int64 (unsigned in uint64), as NumPy does.
    ///
    /// `axis` is [`Axis::All`] or `None` (every axis), an axis (`0`, `-1`) or several
    /// (`[0, 2]`, `vec![..]`, `&[..]`); `keepdims` keeps the reduced axes with length 1.
    ///
    /// ```
    /// use ndserve_client::{Client, DType};
    ///
    /// # fn main() -> ndserve_client::Result<()> {
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let client = Client::embedded().await?;
    /// let a = client.ones(&[2, 3, 4], DType::Int8)?;
    /// assert_eq!(a.sum(None, false)?.shape(), &[] as &[usize]);
    /// assert_eq!(a.sum(None, false)?.dtype(), DType::Int64);
    /// assert_eq!(a.sum(-1, false)?.shape(), &[2, 3]);
    /// assert_eq!(a.sum([0, 2], true)?.shape(), &[1, 3, 1]);
    /// assert!(a.sum(3, false).is_err()); // axis 3 is out of bounds: an error at the call
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ndserve_proto::Error::AxisOutOfRange`] for a bad axis, at the call.
    #[doc(alias = "np.sum")]
    pub fn sum(&self, axis: impl Into<Axis>, keepdims: bool) -> Result<Array> {
        self.reduce("sum", axis.into(), keepdims, None)
    }

    /// [`Array::sum`] accumulating in `dtype` (`np.sum(a, axis, dtype=dtype)`).
    ///
    /// # Errors
    ///
    /// As [`Array::sum`].
    pub fn sum_as(&self, axis: impl Into<Axis>, keepdims: bool, dtype: DType) -> Result<Array> {
        self.reduce("sum", axis.into(), keepdims, Some(dtype))
    }

    /// [`Array::mean`] computing in `dtype` (`np.mean(a, axis, dtype=dtype)`).
    ///
    /// # Errors
    ///
    /// As [`Array::mean`].
    pub fn mean_as(&self, axis: impl Into<Axis>, keepdims: bool, dtype: DType) -> Result<Array> {
        self.reduce("mean", axis.into(), keepdims, Some(dtype))
    }

    /// Indices of the first maximum along `axis` (`np.argmax`); `None` searches the
    /// flattened array. The result is int64.
    ///
    /// # Errors
    ///
    /// A bad axis, or an empty array, at the call.
    #[doc(alias = "np.argmax")]
    pub fn argmax(&self, axis: Option<i64>) -> Result<Array> {
        self.reduce("argmax", axis.into(), false, None)
    }

    /// Indices of the first minimum along `axis` (`np.argmin`); `None` searches the
    /// flattened array. The result is int64.
    ///
    /// # Errors
    ///
    /// A bad axis, or an empty array, at the call.
    #[doc(alias = "np.argmin")]
    pub fn argmin(&self, axis: Option<i64>) -> Result<Array> {
        self.reduce("argmin", axis.into(), false, None)
    }

    /// A copy cast to `dtype` with C casting rules (`a.astype(dtype)`): floats to integers
    /// truncate, out-of-range values wrap as C casts do.
    ///
    /// # Errors
    ///
    /// None beyond a closed client; the cast is always defined.
    #[doc(alias = "ndarray.astype")]
    pub fn astype(&self, dtype: DType) -> Result<Array> {
        self.unary_op("astype", Attrs::new().with("dtype", Attr::DType(dtype)))
    }

    /// A copy of the array (`np.copy`).
    ///
    /// # Errors
    ///
    /// None beyond a closed client.
    #[doc(alias = "np.copy")]
    pub fn copy(&self) -> Result<Array> {
        self.unary_op("copy", Attrs::new())
    }

    /// The same data with a new shape (`np.reshape(a, shape)`); one dimension may be `-1`
    /// and is inferred.
    ///
    /// # Errors
    ///
    /// When the sizes differ (`cannot reshape array of size 6 into shape (4,)`).
    #[doc(alias = "np.reshape")]
    pub fn reshape(&self, shape: &[i64]) -> Result<Array> {
        self.unary_op(
            "reshape",
            Attrs::new().with("shape", Attr::Ints(shape.to_vec())),
        )
    }

    /// The flattened array, C order (`np.ravel`).
    ///
    /// # Errors
    ///
    /// None beyond a closed client.
    #[doc(alias = "np.ravel")]
    pub fn ravel(&self) -> Result<Array> {
        self.unary_op("ravel", Attrs::new())
    }

    /// Permutes the axes (`np.transpose(a, axes)`); `None` reverses them.
    ///
    /// # Errors
    ///
    /// When `axes` is not a permutation of the array's axes.
    #[doc(alias = "np.transpose")]
    pub fn transpose(&self, axes: Option<&[i64]>) -> Result<Array> {
        let attrs = match axes {
            Some(a) => Attrs::new().with("axes", Attr::Ints(a.to_vec())),
            None => Attrs::new(),
        };
        self.unary_op("transpose", attrs)
    }

    /// The transpose, axes reversed (NumPy's `a.T`).
    ///
    /// # Errors
    ///
    /// None beyond a closed client.
    #[doc(alias = "T")]
    #[doc(alias = "ndarray.T")]
    pub fn t(&self) -> Result<Array> {
        self.transpose(None)
    }

    /// Inserts length-1 axes at the given positions of the result (`np.expand_dims`).
    ///
    /// # Errors
    ///
    /// A bad or repeated axis; [`Axis::All`] is an error (`axis` is required).
    #[doc(alias = "np.expand_dims")]
    pub fn expand_dims(&self, axis: impl Into<Axis>) -> Result<Array> {
        self.unary_op("expand_dims", with_axis(Attrs::new(), axis.into()))
    }

    /// Removes length-1 axes (`np.squeeze`): the given ones, or every one for
    /// [`Axis::All`].
    ///
    /// # Errors
    ///
    /// When a selected axis does not have length 1.
    #[doc(alias = "np.squeeze")]
    pub fn squeeze(&self, axis: impl Into<Axis>) -> Result<Array> {
        self.unary_op("squeeze", with_axis(Attrs::new(), axis.into()))
    }

    /// Broadcasts the array to `shape` (`np.broadcast_to`).
    ///
    /// # Errors
    ///
    /// When the shapes do not broadcast.
    #[doc(alias = "np.broadcast_to")]
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Array> {
        self.client().call1(
            "broadcast_to",
            &[self.into()],
            Attrs::new().with("shape", ints(shape)),
        )
    }

    /// NumPy basic indexing, `a[key]`: integers, slices, new axes and an ellipsis.
    ///
    /// ```
    /// use ndserve_client::{Client, DType, Idx};
    ///
    /// # fn main() -> ndserve_client::Result<()> {
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let client = Client::embedded().await?;
    /// let a = client.arange_n(24)?.reshape(&[2, 3, 4])?;
    /// // a[1, 0:2, ::-1]
    /// let b = a.getitem(&[1.into(), (0..2).into(), Idx::step(-1)])?;
    /// assert_eq!(b.shape(), &[2, 4]);
    /// assert_eq!(b.to_vec::<i64>().await?, vec![15, 14, 13, 12, 19, 18, 17, 16]);
    /// // a[..., np.newaxis]
    /// assert_eq!(a.getitem(&[Idx::Ellipsis, Idx::NewAxis])?.shape(), &[2, 3, 4, 1]);
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// An index out of bounds, too many indices, a zero step or two ellipses, at the call.
    #[doc(alias = "__getitem__")]
    pub fn getitem(&self, key: &[Idx]) -> Result<Array> {
        let key = key.iter().map(|i| i.to_item()).collect();
        self.unary_op("getitem", Attrs::new().with("key", Attr::Index(key)))
    }

    /// Matrix product (`np.matmul`, `a @ b`): batched over leading axes, 1-D operands as
    /// vectors.
    ///
    /// # Errors
    ///
    /// When the core dimensions differ or an operand is 0-d, at the call.
    #[doc(alias = "np.matmul")]
    pub fn matmul(&self, other: &Array) -> Result<Array> {
        self.client()
            .call1("matmul", &[self.into(), other.into()], Attrs::new())
    }

    /// Dot product (`np.dot`): sums over the last axis of `self` and the second-to-last
    /// (or only) axis of `other`; with a 0-d operand, a multiplication.
    ///
    /// # Errors
    ///
    /// When the contracted lengths differ, at the call.
    #[doc(alias = "np.dot")]
    pub fn dot(&self, other: impl Into<Operand>) -> Result<Array> {
        self.client()
            .call1("dot", &[self.into(), other.into()], Attrs::new())
    }
}

impl Client {
    fn create(&self, op: &str, attrs: Attrs) -> Result<Array> {
        self.call1(op, &[], attrs)
    }

    fn filled(&self, op: &str, shape: &[usize], dtype: DType) -> Result<Array> {
        self.create(
            op,
            Attrs::new()
                .with("shape", ints(shape))
                .with("dtype", Attr::DType(dtype)),
        )
    }

    /// A new array of zeros (`np.zeros(shape, dtype)`).
    ///
    /// # Errors
    ///
    /// [`ndserve_proto::Error::ResourceExhausted`] for an absurd size, at the call.
    #[doc(alias = "np.zeros")]
    pub fn zeros(&self, shape: &[usize], dtype: DType) -> Result<Array> {
        self.filled("zeros", shape, dtype)
    }

    /// A new array of ones (`np.ones(shape, dtype)`).
    ///
    /// # Errors
    ///
    /// As [`Client::zeros`].
    #[doc(alias = "np.ones")]
    pub fn ones(&self, shape: &[usize], dtype: DType) -> Result<Array> {
        self.filled("ones", shape, dtype)
    }

    /// A new array (`np.empty(shape, dtype)`); ndserve fills it with zeros, as
    /// `tf.experimental.numpy` does.
    ///
    /// # Errors
    ///
    /// As [`Client::zeros`].
    #[doc(alias = "np.empty")]
    pub fn empty(&self, shape: &[usize], dtype: DType) -> Result<Array> {
        self.filled("empty", shape, dtype)
    }

    /// A new array filled with `fill` (`np.full(shape, fill_value, dtype)`). `fill` is a
    /// Rust number or an array broadcast to `shape`; without `dtype` the result takes the
    /// fill's dtype (a Python int gives int64, a float float64).
    ///
    /// # Errors
    ///
    /// When `fill` does not broadcast to `shape`; as [`Client::zeros`].
    #[doc(alias = "np.full")]
    pub fn full(
        &self,
        shape: &[usize],
        fill: impl Into<Operand>,
        dtype: Option<DType>,
    ) -> Result<Array> {
        let mut attrs = Attrs::new().with("shape", ints(shape));
        if let Some(d) = dtype {
            attrs.set("dtype", Attr::DType(d));
        }
        self.call1("full", &[fill.into()], attrs)
    }

    /// Zeros with the shape and dtype of `a` (`np.zeros_like`).
    ///
    /// # Errors
    ///
    /// An array of another client.
    #[doc(alias = "np.zeros_like")]
    pub fn zeros_like(&self, a: &Array) -> Result<Array> {
        self.call1("zeros_like", &[a.into()], Attrs::new())
    }

    /// Ones with the shape and dtype of `a` (`np.ones_like`).
    ///
    /// # Errors
    ///
    /// An array of another client.
    #[doc(alias = "np.ones_like")]
    pub fn ones_like(&self, a: &Array) -> Result<Array> {
        self.call1("ones_like", &[a.into()], Attrs::new())
    }

    /// Zeros with the shape and dtype of `a` (`np.empty_like`).
    ///
    /// # Errors
    ///
    /// An array of another client.
    #[doc(alias = "np.empty_like")]
    pub fn empty_like(&self, a: &Array) -> Result<Array> {
        self.call1("empty_like", &[a.into()], Attrs::new())
    }

    /// `fill` with the shape and dtype of `a` (`np.full_like`).
    ///
    /// # Errors
    ///
    /// When `fill` does not broadcast to `a`'s shape.
    #[doc(alias = "np.full_like")]
    pub fn full_like(&self, a: &Array, fill: impl Into<Operand>) -> Result<Array> {
        self.call1("full_like", &[a.into(), fill.into()], Attrs::new())
    }

    /// Evenly spaced values in `[start, stop)` (`np.arange(start, stop, step, dtype)`).
    /// The bounds are Python scalars: all integers give int64, any float float64, unless
    /// `dtype` is given.
    ///
    /// # Errors
    ///
    /// A zero step or complex bounds, at the call.
    #[doc(alias = "np.arange")]
    pub fn arange(
        &self,
        start: impl Into<Scalar>,
        stop: impl Into<Scalar>,
        step: impl Into<Scalar>,
        dtype: Option<DType>,
    ) -> Result<Array> {
        let mut attrs = Attrs::new()
            .with("start", Attr::Scalar(start.into()))
            .with("stop", Attr::Scalar(stop.into()))
            .with("step", Attr::Scalar(step.into()));
        if let Some(d) = dtype {
            attrs.set("dtype", Attr::DType(d));
        }
        self.create("arange", attrs)
    }

    /// `0, 1, ..., stop - 1` as int64 (`np.arange(stop)`).
    ///
    /// # Errors
    ///
    /// None beyond a closed client or an absurd size.
    #[doc(alias = "np.arange")]
    pub fn arange_n(&self, stop: i64) -> Result<Array> {
        self.create(
            "arange",
            Attrs::new().with("stop", Attr::Scalar(Scalar::from(stop))),
        )
    }

    /// `num` evenly spaced float64 samples over `[start, stop]`
    /// (`np.linspace(start, stop, num)`).
    ///
    /// # Errors
    ///
    /// None beyond a closed client or an absurd size.
    #[doc(alias = "np.linspace")]
    pub fn linspace(&self, start: f64, stop: f64, num: usize) -> Result<Array> {
        self.create(
            "linspace",
            Attrs::new()
                .with("start", Attr::Scalar(Scalar::Float(start)))
                .with("stop", Attr::Scalar(Scalar::Float(stop)))
                .with("num", Attr::Int(num as i64)),
        )
    }

    /// An `n` x `m` array (`m` defaults to `n`) with ones on the `k`-th diagonal
    /// (`np.eye(N, M, k, dtype)`).
    ///
    /// # Errors
    ///
    /// None beyond a closed client or an absurd size.
    #[doc(alias = "np.eye")]
    pub fn eye(&self, n: usize, m: Option<usize>, k: i64, dtype: DType) -> Result<Array> {
        let mut attrs = Attrs::new()
            .with("N", Attr::Int(n as i64))
            .with("k", Attr::Int(k))
            .with("dtype", Attr::DType(dtype));
        if let Some(m) = m {
            attrs.set("M", Attr::Int(m as i64));
        }
        self.create("eye", attrs)
    }

    /// The `n` x `n` identity matrix (`np.identity(n, dtype)`).
    ///
    /// # Errors
    ///
    /// None beyond a closed client or an absurd size.
    #[doc(alias = "np.identity")]
    pub fn identity(&self, n: usize, dtype: DType) -> Result<Array> {
        self.create(
            "identity",
            Attrs::new()
                .with("n", Attr::Int(n as i64))
                .with("dtype", Attr::DType(dtype)),
        )
    }

    /// Joins arrays along an existing axis (`np.concatenate(arrays, axis)`); `None`
    /// flattens them first. The result has the arrays' promoted dtype.
    ///
    /// # Errors
    ///
    /// No arrays, 0-d arrays, or shapes that differ off the axis, at the call.
    #[doc(alias = "np.concatenate")]
    pub fn concatenate(&self, arrays: &[&Array], axis: Option<i64>) -> Result<Array> {
        let inputs: Vec<Operand> = arrays.iter().map(|&a| a.into()).collect();
        let axis = axis.map_or(Attr::None, Attr::Int);
        self.call1("concatenate", &inputs, Attrs::new().with("axis", axis))
    }

    /// Joins same-shape arrays along a new axis (`np.stack(arrays, axis)`).
    ///
    /// # Errors
    ///
    /// No arrays, or arrays of different shapes, at the call.
    #[doc(alias = "np.stack")]
    pub fn stack(&self, arrays: &[&Array], axis: i64) -> Result<Array> {
        let inputs: Vec<Operand> = arrays.iter().map(|&a| a.into()).collect();
        self.call1("stack", &inputs, Attrs::new().with("axis", Attr::Int(axis)))
    }
}
