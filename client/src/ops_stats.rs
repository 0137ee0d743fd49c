//! Typed methods of the statistics, cumulative and sorting ops
//! (`ndserve_proto::ops::stats`): thin layers over [`crate::Client::call`] with NumPy's parameter
//! names as attributes.

use ndserve_proto::{Attr, Attrs, DType, Result};

use crate::array::Array;
use crate::operand::{Axis, Operand};

fn axis_attrs(axis: Axis, keepdims: bool) -> Attrs {
    let mut a = Attrs::new();
    a.set("axis", axis.to_attr().unwrap_or(Attr::None));
    if keepdims {
        a.set("keepdims", Attr::Bool(true));
    }
    a
}

macro_rules! reductions {
    ($($name:ident, $np:literal, $doc:literal;)*) => {
        impl Array {$(
            #[doc = $doc]
            ///
            /// `axis` is [`Axis::All`] or `None` (every axis), an axis or several;
            /// `keepdims` keeps the reduced axes with length 1.
            ///
            /// # Errors
            ///
            /// A bad axis, or an empty reduction without identity, at the call.
            #[doc(alias = $np)]
            pub fn $name(&self, axis: impl Into<Axis>, keepdims: bool) -> Result<Array> {
                self.client().call1(stringify!($name), &[self.into()], axis_attrs(axis.into(), keepdims))
            }
        )*}
    };
}

reductions! {
    ptp, "np.ptp", "Range, maximum minus minimum, over the given axes (`np.ptp`).";
    nansum, "np.nansum", "Sum treating NaNs as zero (`np.nansum`).";
    nanprod, "np.nanprod", "Product treating NaNs as one (`np.nanprod`).";
    nanmean, "np.nanmean", "Mean ignoring NaNs (`np.nanmean`).";
    nanmax, "np.nanmax", "Maximum ignoring NaNs (`np.nanmax`).";
    nanmin, "np.nanmin", "Minimum ignoring NaNs (`np.nanmin`).";
    count_nonzero, "np.count_nonzero", "Number of nonzero elements (`np.count_nonzero`); int64.";
    median, "np.median", "Median over the given axes (`np.median`).";
}

macro_rules! moments {
    ($($name:ident, $np:literal, $doc:literal;)*) => {
        impl Array {$(
            #[doc = $doc]
            ///
            /// `ddof` is subtracted from the count; complex input gives a real result;
            /// `dtype` sets the result dtype.
            ///
            /// # Errors
            ///
            /// A bad axis or a non-float `dtype`, at the call.
            #[doc(alias = $np)]
            pub fn $name(&self, axis: impl Into<Axis>, ddof: i64, keepdims: bool, dtype: Option<DType>) -> Result<Array> {
                let mut a = axis_attrs(axis.into(), keepdims);
                a.set("ddof", Attr::Int(ddof));
                if let Some(d) = dtype {
                    a.set("dtype", Attr::DType(d));
                }
                self.client().call1(stringify!($name), &[self.into()], a)
            }
        )*}
    };
}

moments! {
    var, "np.var", "Variance over the given axes (`np.var`).";
    std, "np.std", "Standard deviation over the given axes (`np.std`).";
    nanvar, "np.nanvar", "Variance ignoring NaNs (`np.nanvar`).";
    nanstd, "np.nanstd", "Standard deviation ignoring NaNs (`np.nanstd`).";
}

impl Array {
    fn along(&self, op: &str, axis: Option<i64>, extra: Attrs) -> Result<Array> {
        let a = extra.with("axis", axis.map_or(Attr::None, Attr::Int));
        self.client().call1(op, &[self.into()], a)
    }

    /// Cumulative sum along `axis`; `None` flattens (`np.cumsum`).
    ///
    /// # Errors
    ///
    /// A bad axis, at the call.
    #[doc(alias = "np.cumsum")]
    pub fn cumsum(&self, axis: Option<i64>, dtype: Option<DType>) -> Result<Array> {
        let a = dtype.map_or(Attrs::new(), |d| Attrs::new().with("dtype", Attr::DType(d)));
        self.along("cumsum", axis, a)
    }

    /// Cumulative product along `axis`; `None` flattens (`np.cumprod`).
    ///
    /// # Errors
    ///
    /// A bad axis, at the call.
    #[doc(alias = "np.cumprod")]
    pub fn cumprod(&self, axis: Option<i64>, dtype: Option<DType>) -> Result<Array> {
        let a = dtype.map_or(Attrs::new(), |d| Attrs::new().with("dtype", Attr::DType(d)));
        self.along("cumprod", axis, a)
    }

    /// The `n`-th discrete difference along `axis` (`np.diff`).
    ///
    /// # Errors
    ///
    /// A negative `n`, a 0-d array or a bad axis, at the call.
    #[doc(alias = "np.diff")]
    pub fn diff(&self, n: i64, axis: i64) -> Result<Array> {
        self.along("diff", Some(axis), Attrs::new().with("n", Attr::Int(n)))
    }

    /// Sorted copy along `axis` (`None` flattens), NaNs last (`np.sort`).
    ///
    /// # Errors
    ///
    /// A bad axis, at the call.
    #[doc(alias = "np.sort")]
    pub fn sort(&self, axis: Option<i64>) -> Result<Array> {
        self.along("sort", axis, Attrs::new())
    }

    /// Indices that sort along `axis` (`None` flattens), stably (`np.argsort`).
    ///
    /// # Errors
    ///
    /// A bad axis, at the call.
    #[doc(alias = "np.argsort")]
    pub fn argsort(&self, axis: Option<i64>) -> Result<Array> {
        self.along("argsort", axis, Attrs::new())
    }

    /// The `q`-th quantiles (method `linear`) over `axis` (`np.quantile`); `q` in [0, 1].
    ///
    /// # Errors
    ///
    /// A bad axis or complex input, at the call.
    #[doc(alias = "np.quantile")]
    pub fn quantile(
        &self,
        q: impl Into<Operand>,
        axis: impl Into<Axis>,
        keepdims: bool,
    ) -> Result<Array> {
        self.client().call1(
            "quantile",
            &[self.into(), q.into()],
            axis_attrs(axis.into(), keepdims),
        )
    }

    /// Insertion indices of `v` into this sorted 1-D array (`np.searchsorted`).
    ///
    /// # Errors
    ///
    /// A non-1-D array, at the call.
    #[doc(alias = "np.searchsorted")]
    pub fn searchsorted(&self, v: impl Into<Operand>, right: bool) -> Result<Array> {
        let side = Attr::Str(if right { "right" } else { "left" }.into());
        self.client().call1(
            "searchsorted",
            &[self.into(), v.into()],
            Attrs::new().with("side", side),
        )
    }

    /// Whether each element is in `test_elements` (`np.isin`); bool of this shape.
    ///
    /// # Errors
    ///
    /// Only deferred server errors.
    #[doc(alias = "np.isin")]
    pub fn isin(&self, test_elements: impl Into<Operand>) -> Result<Array> {
        self.client()
            .call1("isin", &[self.into(), test_elements.into()], Attrs::new())
    }

    /// Weighted average over `axis` and the sum of the weights (`np.average(...,
    /// returned=True)`).
    ///
    /// # Errors
    ///
    /// Weights of the wrong shape, at the call; weights summing to zero, at the next sync.
    #[doc(alias = "np.average")]
    pub fn average(
        &self,
        axis: impl Into<Axis>,
        weights: Option<&Array>,
    ) -> Result<(Array, Array)> {
        let mut ins: Vec<Operand> = vec![self.into()];
        if let Some(w) = weights {
            ins.push(w.into());
        }
        let a = axis_attrs(axis.into(), false).with("returned", Attr::Bool(true));
        let mut out = self.client().call("average", &ins, a)?.into_iter();
        match (out.next(), out.next()) {
            (Some(x), Some(y)) => Ok((x, y)),
            _ => unreachable!("infer promises two outputs with returned=True"),
        }
    }
}
