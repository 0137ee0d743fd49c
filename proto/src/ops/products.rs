//! Tensor products: `vdot`, `inner`, `outer`, `tensordot`, `einsum`, `kron`, `trace`,
//! plus `cross` and `polyval`.
//!
//! Every contraction here is planned as one [`ContractPlan`]: each result axis and each
//! summed axis is a *label*; each operand maps labels to element strides into its C-order
//! data (repeated labels add their strides, which is how `einsum("ii->i")` and `trace`
//! read diagonals). The server runs every plan with one kernel, so these ops share one
//! type/shape rule and one loop.

use super::DataDependence;
use crate::dtype::{DType, Operand, promote_types, result_type};
use crate::error::{Error, Result};
use crate::ops::{Call, Input, Meta, OpDef, arr, arrs, attr};
use crate::params;
use crate::shape::{broadcast_shapes, c_strides, fmt_shape, normalize_axis};

pub(crate) fn defs() -> Vec<OpDef> {
    fn meta(p: Result<ContractPlan>) -> Result<Vec<Meta>> {
        Ok(vec![p?.out])
    }
    vec![
        OpDef {
            name: "vdot",
            params: params![arr("a"), arr("b")],
            summary: "Dot product of two flattened arrays, conjugating the first (np.vdot).",
            infer: |c| meta(contract_plan(c)),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "inner",
            params: params![arr("a"), arr("b")],
            summary: "Inner product over the last axes (np.inner).",
            infer: |c| meta(contract_plan(c)),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "outer",
            params: params![arr("a"), arr("b")],
            summary: "Outer product of two flattened arrays (np.outer).",
            infer: |c| meta(contract_plan(c)),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "tensordot",
            params: params![arr("a"), arr("b"), attr("axes")],
            summary: "Sum of products over the given axes (np.tensordot).",
            infer: |c| meta(contract_plan(c)),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "einsum",
            params: params![attr("subscripts"), arrs("operands"), attr("optimize")],
            summary: "Einstein summation (np.einsum).",
            infer: |c| meta(contract_plan(c)),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "kron",
            params: params![arr("a"), arr("b")],
            summary: "Kronecker product (np.kron).",
            infer: |c| meta(contract_plan(c)),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "trace",
            params: params![
                arr("a"),
                attr("offset"),
                attr("axis1"),
                attr("axis2"),
                attr("dtype")
            ],
            summary: "Sum along a diagonal (np.trace).",
            infer: |c| meta(contract_plan(c)),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "cross",
            params: params![
                arr("a"),
                arr("b"),
                attr("axisa"),
                attr("axisb"),
                attr("axisc"),
                attr("axis")
            ],
            summary: "Cross product of 2- or 3-vectors (np.cross).",
            infer: |c| Ok(vec![cross_plan(c)?.out]),
            data_dependent: DataDependence::Never,
        },
        OpDef {
            name: "polyval",
            params: params![arr("p"), arr("x")],
            summary: "Evaluates a polynomial, highest degree first (np.polyval).",
            infer: |c| Ok(vec![polyval_plan(c)?]),
            data_dependent: DataDependence::Never,
        },
    ]
}

/// How one operand of a contraction is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperandPlan {
    /// Element offset of the first element read (trace's `offset`).
    pub offset: usize,
    /// Element stride per label into the operand's C-order data (0: label not used, or
    /// broadcast).
    pub strides: Vec<usize>,
    /// Conjugate this operand (`vdot`'s first).
    pub conj: bool,
}

/// A contraction: `out[out_labels] = sum over the other labels of prod(operands)`.
#[derive(Clone, Debug, PartialEq)]
pub struct ContractPlan {
    /// Size of each label.
    pub sizes: Vec<usize>,
    /// One per input, in input order.
    pub operands: Vec<OperandPlan>,
    /// The labels of the result, in C order (the result is reshaped to `out.shape`).
    pub out_labels: Vec<usize>,
    /// The result; every input is cast to its dtype first.
    pub out: Meta,
}

impl ContractPlan {
    /// The labels summed over.
    pub fn summed(&self) -> Vec<usize> {
        (0..self.sizes.len())
            .filter(|l| !self.out_labels.contains(l))
            .collect()
    }
}

/// Builds plans from per-operand label lists.
struct Builder<'a> {
    op: &'a str,
    sizes: Vec<Option<usize>>,
}

impl<'a> Builder<'a> {
    fn new(op: &'a str, n: usize) -> Self {
        Builder {
            op,
            sizes: vec![None; n],
        }
    }

    /// Records the sizes of an operand's axes; size-1 axes broadcast.
    fn see(&mut self, shape: &[usize], labels: &[usize]) -> Result<()> {
        for (&d, &l) in shape.iter().zip(labels) {
            match self.sizes[l] {
                None => self.sizes[l] = Some(d),
                Some(s) if s == d || d == 1 => {}
                Some(1) => self.sizes[l] = Some(d),
                Some(s) => {
                    return Err(Error::invalid(
                        self.op,
                        "operands",
                        format!(
                            "operands could not be broadcast together: dimension of size {d} does not match {s}"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn operand(&self, shape: &[usize], labels: &[usize], offset: usize) -> OperandPlan {
        let cs = c_strides(shape);
        let mut strides = vec![0; self.sizes.len()];
        for ((&d, &l), &s) in shape.iter().zip(labels).zip(&cs) {
            if d != 1 || self.sizes[l] == Some(1) {
                strides[l] += s;
            }
        }
        OperandPlan {
            offset,
            strides,
            conj: false,
        }
    }

    fn finish(
        self,
        operands: Vec<OperandPlan>,
        out_labels: Vec<usize>,
        dtype: DType,
        shape: Option<Vec<usize>>,
    ) -> ContractPlan {
        let sizes: Vec<usize> = self.sizes.iter().map(|s| s.unwrap_or(1)).collect();
        let shape = shape.unwrap_or_else(|| out_labels.iter().map(|&l| sizes[l]).collect());
        ContractPlan {
            sizes,
            operands,
            out_labels,
            out: Meta::new(dtype, shape),
        }
    }
}

fn promoted(call: &Call<'_>) -> Result<DType> {
    // NumPy converts every operand with `asarray`: Python scalars are not weak here.
    let ops: Vec<Operand> = call
        .inputs
        .iter()
        .map(|i| Operand::Array(i.as_array().dtype))
        .collect();
    result_type(&ops).ok_or_else(|| {
        Error::invalid(
            call.op,
            "operands",
            "at least one array or dtype is required",
        )
    })
}

/// Plans any of `vdot`, `inner`, `outer`, `tensordot`, `einsum`, `kron`, `trace`.
pub fn contract_plan(call: &Call<'_>) -> Result<ContractPlan> {
    match call.op {
        "vdot" | "outer" => {
            call.expect_inputs(2)?;
            let dtype = promoted(call)?;
            let (a, b) = (call.array(0, "a")?, call.array(1, "b")?);
            let (na, nb) = (a.numel(), b.numel());
            let vdot = call.op == "vdot";
            if vdot && na != nb {
                return Err(Error::invalid(
                    call.op,
                    "b",
                    format!("cannot reshape array of size {nb} into shape ({na},)"),
                ));
            }
            let lb = if vdot { 0 } else { 1 };
            let mut bd = Builder::new(call.op, if vdot { 1 } else { 2 });
            bd.see(&[na], &[0])?;
            bd.see(&[nb], &[lb])?;
            let mut pa = bd.operand(&[na], &[0], 0);
            pa.conj = vdot && dtype.is_complex();
            let pb = bd.operand(&[nb], &[lb], 0);
            let out = if vdot { vec![] } else { vec![0, 1] };
            Ok(bd.finish(vec![pa, pb], out, dtype, None))
        }
        "inner" => {
            call.expect_inputs(2)?;
            let dtype = promoted(call)?;
            let (a, b) = (call.array(0, "a")?, call.array(1, "b")?);
            let (na, nb) = (a.ndim(), b.ndim());
            if na == 0 || nb == 0 {
                let la: Vec<usize> = (0..na).collect();
                let lb: Vec<usize> = (na..na + nb).collect();
                let mut bd = Builder::new(call.op, na + nb);
                bd.see(&a.shape, &la)?;
                bd.see(&b.shape, &lb)?;
                let ops = vec![bd.operand(&a.shape, &la, 0), bd.operand(&b.shape, &lb, 0)];
                return Ok(bd.finish(ops, (0..na + nb).collect(), dtype, None));
            }
            if a.shape[na - 1] != b.shape[nb - 1] {
                return Err(Error::invalid(
                    call.op,
                    "b",
                    format!(
                        "shapes {} and {} not aligned: {} (dim {}) != {} (dim {})",
                        fmt_shape(&a.shape),
                        fmt_shape(&b.shape),
                        a.shape[na - 1],
                        na - 1,
                        b.shape[nb - 1],
                        nb - 1
                    ),
                ));
            }
            // Labels: a's free axes, b's free axes, then the shared last axis.
            let k = na + nb - 2;
            let mut la: Vec<usize> = (0..na - 1).collect();
            la.push(k);
            let mut lb: Vec<usize> = (na - 1..k).collect();
            lb.push(k);
            let mut bd = Builder::new(call.op, k + 1);
            bd.see(&a.shape, &la)?;
            bd.see(&b.shape, &lb)?;
            let ops = vec![bd.operand(&a.shape, &la, 0), bd.operand(&b.shape, &lb, 0)];
            Ok(bd.finish(ops, (0..k).collect(), dtype, None))
        }
        "tensordot" => tensordot_plan(call),
        "kron" => {
            call.expect_inputs(2)?;
            let dtype = promoted(call)?;
            let (a, b) = (call.array(0, "a")?, call.array(1, "b")?);
            let nd = a.ndim().max(b.ndim());
            let pad = |s: &[usize]| -> Vec<usize> {
                let mut v = vec![1; nd - s.len()];
                v.extend_from_slice(s);
                v
            };
            let (sa, sb) = (pad(&a.shape), pad(&b.shape));
            let la: Vec<usize> = (0..nd).map(|i| 2 * i).collect();
            let lb: Vec<usize> = (0..nd).map(|i| 2 * i + 1).collect();
            let mut bd = Builder::new(call.op, 2 * nd);
            bd.see(&sa, &la)?;
            bd.see(&sb, &lb)?;
            let ops = vec![bd.operand(&sa, &la, 0), bd.operand(&sb, &lb, 0)];
            let shape = sa.iter().zip(&sb).map(|(x, y)| x * y).collect();
            Ok(bd.finish(ops, (0..2 * nd).collect(), dtype, Some(shape)))
        }
        "trace" => trace_plan(call),
        "einsum" => einsum_plan(call),
        other => Err(Error::invalid(other, "op", "not a contraction")),
    }
}

fn tensordot_plan(call: &Call<'_>) -> Result<ContractPlan> {
    call.attrs.check_known(call.op, &["axes"])?;
    call.expect_inputs(2)?;
    let dtype = promoted(call)?;
    let (a, b) = (call.array(0, "a")?, call.array(1, "b")?);
    let (na, nb) = (a.ndim(), b.ndim());
    // `axes`: an int n, or a pair of sequences sent flat as [a-axes..., b-axes...].
    let (xa, xb): (Vec<i64>, Vec<i64>) = match call.attrs.get("axes") {
        None => pair_from_n(call, 2, na, nb)?,
        Some(crate::Attr::Int(n)) => pair_from_n(call, *n, na, nb)?,
        Some(crate::Attr::Ints(v)) if v.len() % 2 == 0 => {
            (v[..v.len() / 2].to_vec(), v[v.len() / 2..].to_vec())
        }
        Some(_) => {
            return Err(Error::invalid(
                call.op,
                "axes",
                "axes must be an int or a pair of sequences of equal length",
            ));
        }
    };
    let xa: Vec<usize> = xa
        .iter()
        .map(|&x| normalize_axis(call.op, x, na))
        .collect::<Result<_>>()?;
    let xb: Vec<usize> = xb
        .iter()
        .map(|&x| normalize_axis(call.op, x, nb))
        .collect::<Result<_>>()?;
    for (&i, &j) in xa.iter().zip(&xb) {
        if a.shape[i] != b.shape[j] {
            return Err(Error::invalid(call.op, "axes", "shape-mismatch for sum"));
        }
    }
    let free_a: Vec<usize> = (0..na).filter(|i| !xa.contains(i)).collect();
    let free_b: Vec<usize> = (0..nb).filter(|i| !xb.contains(i)).collect();
    let nfree = free_a.len() + free_b.len();
    let mut la = vec![0; na];
    let mut lb = vec![0; nb];
    for (l, &i) in free_a.iter().enumerate() {
        la[i] = l;
    }
    for (l, &i) in free_b.iter().enumerate() {
        lb[i] = free_a.len() + l;
    }
    for (k, (&i, &j)) in xa.iter().zip(&xb).enumerate() {
        la[i] = nfree + k;
        lb[j] = nfree + k;
    }
    let mut bd = Builder::new(call.op, nfree + xa.len());
    // tensordot never broadcasts: sizes were checked above.
    bd.see(&a.shape, &la)?;
    bd.see(&b.shape, &lb)?;
    let ops = vec![bd.operand(&a.shape, &la, 0), bd.operand(&b.shape, &lb, 0)];
    Ok(bd.finish(ops, (0..nfree).collect(), dtype, None))
}

fn pair_from_n(call: &Call<'_>, n: i64, na: usize, nb: usize) -> Result<(Vec<i64>, Vec<i64>)> {
    if n < 0 || n as usize > na || n as usize > nb {
        return Err(Error::invalid(
            call.op,
            "axes",
            "shape-mismatch for sum (axes exceed the operands' dimensions)",
        ));
    }
    let n = n as usize;
    Ok((
        ((na - n)..na).map(|x| x as i64).collect(),
        (0..n).map(|x| x as i64).collect(),
    ))
}

fn trace_plan(call: &Call<'_>) -> Result<ContractPlan> {
    call.attrs
        .check_known(call.op, &["offset", "axis1", "axis2", "dtype"])?;
    call.expect_inputs(1)?;
    let a = call.array(0, "a")?;
    let nd = a.ndim();
    if nd < 2 {
        return Err(Error::invalid(
            call.op,
            "a",
            "diag requires an array of at least two dimensions",
        ));
    }
    let offset = call.attrs.int_or(call.op, "offset", 0)?;
    let ax1 = normalize_axis(call.op, call.attrs.int_or(call.op, "axis1", 0)?, nd)?;
    let ax2 = normalize_axis(call.op, call.attrs.int_or(call.op, "axis2", 1)?, nd)?;
    if ax1 == ax2 {
        return Err(Error::invalid(
            call.op,
            "axis2",
            "axis1 and axis2 cannot be the same",
        ));
    }
    let dtype = match call.attrs.dtype(call.op, "dtype")? {
        Some(d) => d,
        None => a.dtype.sum_dtype(),
    };
    let (n1, n2) = (a.shape[ax1] as i64, a.shape[ax2] as i64);
    let len = if offset >= 0 {
        n1.min(n2 - offset)
    } else {
        (n1 + offset).min(n2)
    }
    .max(0) as usize;
    let cs = c_strides(&a.shape);
    let base = if len == 0 {
        0
    } else if offset >= 0 {
        offset as usize * cs[ax2]
    } else {
        (-offset) as usize * cs[ax1]
    };
    let rest: Vec<usize> = (0..nd).filter(|&i| i != ax1 && i != ax2).collect();
    let diag = rest.len();
    let mut sizes: Vec<usize> = rest.iter().map(|&i| a.shape[i]).collect();
    sizes.push(len);
    let mut strides: Vec<usize> = rest.iter().map(|&i| cs[i]).collect();
    strides.push(cs[ax1] + cs[ax2]);
    let shape: Vec<usize> = sizes[..diag].to_vec();
    Ok(ContractPlan {
        sizes,
        operands: vec![OperandPlan {
            offset: base,
            strides,
            conj: false,
        }],
        out_labels: (0..diag).collect(),
        out: Meta::new(dtype, shape),
    })
}

fn einsum_plan(call: &Call<'_>) -> Result<ContractPlan> {
    call.attrs
        .check_known(call.op, &["subscripts", "optimize"])?;
    let subs: String = call
        .attrs
        .str(call.op, "subscripts")?
        .ok_or_else(|| {
            Error::invalid(
                call.op,
                "subscripts",
                "missing required argument 'subscripts'",
            )
        })?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let bad = |m: String| Error::invalid(call.op, "subscripts", m);
    let (lhs, rhs) = match subs.split_once("->") {
        Some((l, r)) => (l, Some(r)),
        None => (subs.as_str(), None),
    };
    let terms: Vec<&str> = lhs.split(',').collect();
    if terms.len() != call.inputs.len() {
        return Err(bad(format!(
            "more operands than subscripts given ({} terms, {} operands)",
            terms.len(),
            call.inputs.len()
        )));
    }
    let dtype = promoted(call)?;
    // A term: its letters, and where "..." stands (as a letter index), if anywhere.
    let parse = |t: &str| -> Result<(Vec<char>, Option<usize>)> {
        let (pre, post, ell) = match t.split_once("...") {
            Some((p, q)) => (p, q, true),
            None => (t, "", false),
        };
        let mut letters = Vec::new();
        for c in pre.chars().chain(post.chars()) {
            if !c.is_ascii_alphabetic() {
                return Err(bad(format!(
                    "invalid subscript '{c}' in einstein sum subscripts string"
                )));
            }
            letters.push(c);
        }
        Ok((letters, ell.then_some(pre.chars().count())))
    };
    let metas: Vec<Meta> = call.inputs.iter().map(Input::as_array).collect();
    let mut parsed = Vec::new();
    let mut n_ell = 0usize;
    for (t, m) in terms.iter().zip(&metas) {
        let (letters, ell) = parse(t)?;
        let extra = m.ndim() as i64 - letters.len() as i64;
        if (ell.is_none() && extra != 0) || extra < 0 {
            return Err(bad(format!(
                "operand has more dimensions than subscripts given in einstein sum, or fewer: term '{t}' for shape {}",
                fmt_shape(&m.shape)
            )));
        }
        n_ell = n_ell.max(extra as usize);
        parsed.push((letters, ell, extra as usize));
    }
    // Labels: ellipsis axes 0..n_ell, then letters in order of first appearance.
    let mut letters: Vec<char> = Vec::new();
    for (ls, _, _) in &parsed {
        for &c in ls {
            if !letters.contains(&c) {
                letters.push(c);
            }
        }
    }
    let label = |c: char| n_ell + letters.iter().position(|&x| x == c).expect("seen");
    let mut per_op = Vec::new();
    for (ls, ell, extra) in &parsed {
        let mut v: Vec<usize> = Vec::new();
        let split = ell.unwrap_or(ls.len());
        v.extend(ls[..split].iter().map(|&c| label(c)));
        v.extend((n_ell - extra)..n_ell);
        v.extend(ls[split..].iter().map(|&c| label(c)));
        per_op.push(v);
    }
    let out_labels: Vec<usize> = match rhs {
        Some(r) => {
            let (ls, ell) = parse(r)?;
            for (i, c) in ls.iter().enumerate() {
                if !letters.contains(c) {
                    return Err(bad(format!(
                        "einstein sum subscripts string included output subscript '{c}' which never appeared in an input"
                    )));
                }
                if ls[..i].contains(c) {
                    return Err(bad(format!(
                        "einstein sum subscripts string includes output subscript '{c}' multiple times"
                    )));
                }
            }
            if ell.is_none() && n_ell > 0 {
                return Err(bad(
                    "output has more dimensions than subscripts given in einstein sum, but no '...' ellipsis provided to broadcast the extra dimensions.".into(),
                ));
            }
            let split = ell.unwrap_or(ls.len());
            let mut v: Vec<usize> = ls[..split].iter().map(|&c| label(c)).collect();
            v.extend(0..n_ell);
            v.extend(ls[split..].iter().map(|&c| label(c)));
            v
        }
        None => {
            let mut once: Vec<char> = letters
                .iter()
                .copied()
                .filter(|c| {
                    parsed
                        .iter()
                        .map(|(ls, _, _)| ls.iter().filter(|x| *x == c).count())
                        .sum::<usize>()
                        == 1
                })
                .collect();
            once.sort_unstable();
            let mut v: Vec<usize> = (0..n_ell).collect();
            v.extend(once.into_iter().map(label));
            v
        }
    };
    let mut bd = Builder::new(call.op, n_ell + letters.len());
    for (m, ls) in metas.iter().zip(&per_op) {
        bd.see(&m.shape, ls)?;
    }
    let ops = metas
        .iter()
        .zip(&per_op)
        .map(|(m, ls)| bd.operand(&m.shape, ls, 0))
        .collect();
    Ok(bd.finish(ops, out_labels, dtype, None))
}

/// How `cross` runs.
#[derive(Clone, Debug, PartialEq)]
pub struct CrossPlan {
    /// The vector axis of `a`.
    pub axisa: usize,
    /// The vector axis of `b`.
    pub axisb: usize,
    /// The broadcast shape of the vectors' other axes.
    pub batch: Vec<usize>,
    /// Where the result's vector axis goes (`None` when both are 2-vectors).
    pub axisc: Option<usize>,
    /// The result.
    pub out: Meta,
}

/// Plans `cross`.
pub fn cross_plan(call: &Call<'_>) -> Result<CrossPlan> {
    call.attrs
        .check_known(call.op, &["axisa", "axisb", "axisc", "axis"])?;
    call.expect_inputs(2)?;
    let (a, b) = (call.array(0, "a")?, call.array(1, "b")?);
    let get = |n: &str| call.attrs.int_or(call.op, n, -1);
    let (xa, xb, xc) = match call.attrs.int(call.op, "axis")? {
        Some(x) => (x, x, x),
        None => (get("axisa")?, get("axisb")?, get("axisc")?),
    };
    if a.ndim() == 0 || b.ndim() == 0 {
        return Err(Error::invalid(
            call.op,
            "a",
            "At least one array has zero dimension",
        ));
    }
    let axisa = normalize_axis(call.op, xa, a.ndim())?;
    let axisb = normalize_axis(call.op, xb, b.ndim())?;
    let (da, db) = (a.shape[axisa], b.shape[axisb]);
    if !(2..=3).contains(&da) || !(2..=3).contains(&db) {
        return Err(Error::invalid(
            call.op,
            "a",
            "incompatible dimensions for cross product\n(dimension must be 2 or 3)",
        ));
    }
    let dtype = promote_types(a.dtype, b.dtype);
    if dtype == DType::Bool {
        return Err(Error::invalid(
            call.op,
            "a",
            "numpy boolean subtract, the `-` operator, is not supported",
        ));
    }
    let rest = |s: &[usize], ax: usize| -> Vec<usize> {
        s.iter()
            .enumerate()
            .filter(|&(i, _)| i != ax)
            .map(|(_, &d)| d)
            .collect()
    };
    let batch = broadcast_shapes(call.op, &rest(&a.shape, axisa), &rest(&b.shape, axisb))?;
    let mut shape = batch.clone();
    let axisc = if da == 3 || db == 3 {
        let c = normalize_axis(call.op, xc, batch.len() + 1)?;
        shape.insert(c, 3);
        Some(c)
    } else {
        None
    };
    Ok(CrossPlan {
        axisa,
        axisb,
        batch,
        axisc,
        out: Meta::new(dtype, shape),
    })
}

/// Plans `polyval`: the result has `x`'s shape and the promoted dtype of `p` and `x`
/// (both as arrays, as NumPy converts them).
pub fn polyval_plan(call: &Call<'_>) -> Result<Meta> {
    call.expect_inputs(2)?;
    let (p, x) = (call.array(0, "p")?, call.array(1, "x")?);
    if p.ndim() != 1 {
        return Err(Error::invalid(
            call.op,
            "p",
            format!("p must be 1-D, got shape {}", fmt_shape(&p.shape)),
        ));
    }
    let dtype = if p.numel() == 0 {
        x.dtype
    } else {
        promote_types(p.dtype, x.dtype)
    };
    Ok(Meta::new(dtype, x.shape))
}
