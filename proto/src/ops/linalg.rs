//! Products: `matmul` and `dot`.

use super::DataDependence;
use crate::dtype::result_type;
use crate::error::{Error, Result};
use crate::ops::{Call, Meta, OpDef, arr};
use crate::params;
use crate::shape::{broadcast_shapes, fmt_shape};

pub(crate) fn defs() -> Vec<OpDef> {
    vec![
        OpDef {
            name: "matmul",
            params: params![arr("x1"), arr("x2")],
            summary: "Matrix product of two arrays, batched over leading axes (np.matmul).",
            infer: |c| Ok(vec![matmul_plan(c)?.out]),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "dot",
            params: params![arr("a"), arr("b")],
            summary: "Dot product: sum over the last axis of a and the second-to-last of b (np.dot).",
            infer: |c| Ok(vec![dot_plan(c)?.out]),
            data_dependent: DataDependence::Never,
        },
    ]
}

/// A matrix product as the kernels run it: `batch` matrices of (m, k) @ (k, n).
#[derive(Clone, Debug, PartialEq)]
pub struct MatmulPlan {
    /// Broadcast batch shape.
    pub batch: Vec<usize>,
    /// Rows of the left operand.
    pub m: usize,
    /// Contracted length.
    pub k: usize,
    /// Columns of the right operand.
    pub n: usize,
    /// The result (computed in its dtype).
    pub out: Meta,
}

fn promoted(call: &Call<'_>) -> Result<crate::DType> {
    call.expect_inputs(2)?;
    // NumPy converts dot/matmul operands with asarray: a Python scalar is a strong array
    // of its default dtype here, not a weak NEP 50 scalar (`dot(-8, float16)` is float64).
    let ops: Vec<_> = call
        .inputs
        .iter()
        .map(|i| crate::dtype::Operand::Array(i.as_array().dtype))
        .collect();
    Ok(result_type(&ops).expect("two inputs"))
}

/// Plans `matmul`: 1-D operands gain and then lose an axis; batch axes broadcast.
pub fn matmul_plan(call: &Call<'_>) -> Result<MatmulPlan> {
    let dtype = promoted(call)?;
    let a = call.array(0, "x1")?;
    let b = call.array(1, "x2")?;
    for (i, m) in [&a, &b].into_iter().enumerate() {
        if m.ndim() == 0 {
            return Err(Error::invalid(
                call.op,
                if i == 0 { "x1" } else { "x2" },
                format!(
                    "matmul: Input operand {i} does not have enough dimensions (has 0, gufunc core with signature (n?,k),(k,m?)->(n?,m?) requires 1)"
                ),
            ));
        }
    }
    let (m, ka) = if a.ndim() == 1 {
        (1, a.shape[0])
    } else {
        (a.shape[a.ndim() - 2], a.shape[a.ndim() - 1])
    };
    let (kb, n) = if b.ndim() == 1 {
        (b.shape[0], 1)
    } else {
        (b.shape[b.ndim() - 2], b.shape[b.ndim() - 1])
    };
    if ka != kb {
        return Err(Error::invalid(
            call.op,
            "x2",
            format!(
                "matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc signature (n?,k),(k,m?)->(n?,m?) (size {kb} is different from {ka})"
            ),
        ));
    }
    let ba = &a.shape[..a.ndim().saturating_sub(2)];
    let bb = &b.shape[..b.ndim().saturating_sub(2)];
    let batch = broadcast_shapes(call.op, ba, bb)?;
    let mut shape = batch.clone();
    if a.ndim() > 1 {
        shape.push(m);
    }
    if b.ndim() > 1 {
        shape.push(n);
    }
    Ok(MatmulPlan {
        batch,
        m,
        k: ka,
        n,
        out: Meta::new(dtype, shape),
    })
}

/// How `dot` runs.
#[derive(Clone, Debug, PartialEq)]
pub enum DotPlan {
    /// A 0-d operand: elementwise multiply.
    Multiply(Meta),
    /// A contraction of a's last axis with b's second-to-last (or only) axis.
    Contract {
        /// Contracted length.
        k: usize,
        /// The result.
        out: Meta,
    },
}

impl DotPlan {
    /// The result.
    pub fn out(&self) -> &Meta {
        match self {
            DotPlan::Multiply(m) | DotPlan::Contract { out: m, .. } => m,
        }
    }
}

/// Plans `dot`.
pub fn dot_plan(call: &Call<'_>) -> Result<DotPlanOut> {
    let dtype = promoted(call)?;
    let a = call.array(0, "a")?;
    let b = call.array(1, "b")?;
    if a.ndim() == 0 || b.ndim() == 0 {
        let shape = broadcast_shapes(call.op, &a.shape, &b.shape)?;
        let out = Meta::new(dtype, shape);
        return Ok(DotPlanOut {
            plan: DotPlan::Multiply(out.clone()),
            out,
        });
    }
    let ka = a.shape[a.ndim() - 1];
    let bk_axis = if b.ndim() == 1 { 0 } else { b.ndim() - 2 };
    let kb = b.shape[bk_axis];
    if ka != kb {
        return Err(Error::invalid(
            call.op,
            "b",
            format!(
                "shapes {} and {} not aligned: {ka} (dim {}) != {kb} (dim {bk_axis})",
                fmt_shape(&a.shape),
                fmt_shape(&b.shape),
                a.ndim() - 1
            ),
        ));
    }
    let mut shape: Vec<usize> = a.shape[..a.ndim() - 1].to_vec();
    for (i, &d) in b.shape.iter().enumerate() {
        if i != bk_axis {
            shape.push(d);
        }
    }
    let out = Meta::new(dtype, shape);
    Ok(DotPlanOut {
        plan: DotPlan::Contract {
            k: ka,
            out: out.clone(),
        },
        out,
    })
}

/// `dot`'s plan and result.
#[derive(Clone, Debug, PartialEq)]
pub struct DotPlanOut {
    /// How it runs.
    pub plan: DotPlan,
    /// The result.
    pub out: Meta,
}
