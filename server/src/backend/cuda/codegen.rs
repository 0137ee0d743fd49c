//! CUDA C++ source of the GPU kernels, generated per op, dtypes and operand layout.
//!
//! Pure string generation, compiled with every build (and unit-tested without a GPU); the
//! `cuda` feature's runtime compiles these sources with NVRTC at first use and caches them.
//! Elementwise expressions come from the rows of `ndserve_proto`'s elementwise tables
//! ([`ndserve_proto::ops::elementwise::Row::cuda`]); the helpers they call live in
//! `prelude.cu`.

use std::fmt::Write as _;

use ndserve_proto::DType;
use ndserve_proto::ops::reduce::ReduceKind;

/// The prelude compiled in front of every kernel.
pub const PRELUDE: &str = include_str!("prelude.cu");

/// The most dimensions a kernel indexes after merging contiguous ones; higher ranks run on
/// the CPU.
pub const MAX_RANK: usize = 8;

/// Threads per block of every kernel.
pub const BLOCK: u32 = 256;

/// The C++ storage type of a dtype (the prelude's names).
pub fn ctype(d: DType) -> &'static str {
    match d {
        DType::Bool => "bool",
        DType::Int8 => "i8",
        DType::Int16 => "i16",
        DType::Int32 => "i32",
        DType::Int64 => "i64",
        DType::UInt8 => "u8",
        DType::UInt16 => "u16",
        DType::UInt32 => "u32",
        DType::UInt64 => "u64",
        DType::Float16 => "f16",
        DType::BFloat16 => "bf16",
        DType::Float32 => "float",
        DType::Float64 => "double",
        DType::Complex64 => "c64",
        DType::Complex128 => "c128",
    }
}

/// How a map kernel reads one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operand {
    /// A C-contiguous array of the output's shape: element `i`.
    Contig,
    /// Any other array: an offset computed from the geometry's shape and this input's
    /// strides (broadcast dimensions have stride 0).
    Strided,
    /// A Python scalar passed by value, already in the input's computation dtype.
    Scalar,
}

impl Operand {
    fn code(self) -> char {
        match self {
            Operand::Contig => 'c',
            Operand::Strided => 's',
            Operand::Scalar => 'k',
        }
    }
}

/// One input of a map kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MapInput {
    /// The variable the expression reads it as.
    pub var: &'static str,
    /// Its dtype in memory (for a scalar: the dtype it is passed in).
    pub dtype: DType,
    /// The dtype it is cast to first (the op's computation dtype), as the CPU kernel does.
    pub compute: DType,
    /// How it is read.
    pub operand: Operand,
}

/// A map kernel: `out[i] = expr(inputs at i)`, for every `i` of a C-order output.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MapKernel {
    /// The C++ expression over the inputs' variables, in the computation type `T`.
    pub expr: &'static str,
    /// The computation dtype (`S` and `T = CT<S>` in the expression).
    pub compute: DType,
    /// The inputs, at most three.
    pub inputs: Vec<MapInput>,
    /// The output dtype.
    pub out: DType,
    /// Element `i` is written at the geometry's third offset (`g.off[2]` and `g.st[2]`)
    /// instead of at `i`: a copy into part of a larger array. The inputs are then at most
    /// two.
    pub out_strided: bool,
}

impl MapKernel {
    /// The cache key: everything the source depends on.
    pub fn key(&self) -> String {
        let mut k = format!(
            "map|{}|{}|{}|{}",
            self.expr, self.compute, self.out, self.out_strided
        );
        for i in &self.inputs {
            let _ = write!(
                k,
                "|{}:{}:{}:{}",
                i.var,
                i.dtype,
                i.compute,
                i.operand.code()
            );
        }
        k
    }

    /// The kernel's source: the prelude, the geometry, and `extern "C" nd_map`.
    ///
    /// Its parameters are, for each of up to three inputs, a pointer and a 16-byte scalar
    /// (unused ones are zero), then the output pointer, the geometry and the length.
    pub fn source(&self) -> String {
        let mut s = String::with_capacity(PRELUDE.len() + 2048);
        s.push_str(PRELUDE);
        s.push_str(GEOMETRY);
        let _ = writeln!(s, "typedef {} S;\ntypedef CT<S>::t T;", ctype(self.compute));
        let _ = writeln!(s, "typedef {} Out;", ctype(self.out));
        let mut params = String::new();
        for k in 0..3 {
            let ty = self.inputs.get(k).map_or("u8", |i| ctype(i.dtype));
            let _ = write!(params, "const {ty}* __restrict__ p{k}, Sc s{k}, ");
        }
        let _ = writeln!(
            s,
            "extern \"C\" __global__ void nd_map({params}Out* __restrict__ out, Geo g, u64 n) {{"
        );
        let strided = self.out_strided || self.inputs.iter().any(|i| i.operand == Operand::Strided);
        // Scalars are read once, before the loop.
        for (k, i) in self.inputs.iter().enumerate() {
            if i.operand == Operand::Scalar {
                let _ = writeln!(
                    s,
                    "    const {c} sv{k} = *reinterpret_cast<const {c}*>(&s{k});",
                    c = ctype(i.dtype)
                );
            }
        }
        s.push_str(
            "    for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < n;\n         \
             i += (u64)gridDim.x * blockDim.x) {\n",
        );
        if strided {
            s.push_str(
                "        i64 o0 = g.off[0], o1 = g.off[1], o2 = g.off[2];\n        \
                 u64 rem = i;\n        \
                 for (int d = g.rank - 1; d >= 0; --d) {\n            \
                 i64 c = (i64)(rem % (u64)g.shape[d]);\n            \
                 rem /= (u64)g.shape[d];\n            \
                 o0 += c * g.st[0][d];\n            \
                 o1 += c * g.st[1][d];\n            \
                 o2 += c * g.st[2][d];\n        \
                 }\n",
            );
        }
        for (k, i) in self.inputs.iter().enumerate() {
            let raw = match i.operand {
                Operand::Contig => format!("p{k}[i]"),
                Operand::Strided => format!("p{k}[o{k}]"),
                Operand::Scalar => format!("sv{k}"),
            };
            let c = ctype(i.compute);
            let _ = writeln!(
                s,
                "        const CT<{c}>::t {v} = Cv<CT<{c}>::t, {c}>::f(Cv<{c}, {d}>::f({raw}));",
                v = i.var,
                d = ctype(i.dtype),
            );
        }
        let _ = writeln!(s, "        auto r = ({});", self.expr);
        let at = if self.out_strided { "o2" } else { "i" };
        let _ = writeln!(
            s,
            "        out[{at}] = Cv<Out, decltype(r)>::f(r);\n    }}\n}}"
        );
        s
    }
}

/// Where a fused node's operand comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FusedArg {
    /// Array input `k`, C-contiguous with the output's shape: element `i`.
    Array(usize),
    /// Array input `k` holding one element: element 0.
    One(usize),
    /// Scalar parameter `k` (bits already in the node's computation dtype).
    Scalar(usize),
    /// The result of node `k`.
    Node(usize),
}

/// One node of a fused kernel.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FusedNode {
    /// The elementwise row's CUDA expression.
    pub expr: &'static str,
    /// Its computation dtype.
    pub compute: DType,
    /// Its result dtype.
    pub out: DType,
    /// Its operands with their dtypes (an array's, a scalar's computation dtype, a node's
    /// result dtype).
    pub args: Vec<(FusedArg, DType)>,
}

/// A chain of elementwise nodes in one kernel (`crate::fusion`): each node computes as
/// its op's own kernel does, so the result has the bits of the unfused chain.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FusedKernel {
    /// The array inputs' dtypes (pointers `p0..`).
    pub arrays: Vec<DType>,
    /// The scalar parameters' dtypes (`s0..`).
    pub scalars: Vec<DType>,
    /// The nodes; the last one's result is the output.
    pub nodes: Vec<FusedNode>,
}

impl FusedKernel {
    /// The cache key.
    pub fn key(&self) -> String {
        format!("fused|{self:?}")
    }

    /// The source of `extern "C" nd_fused(p0.., s0.., out, n)`.
    pub fn source(&self) -> String {
        let mut s = String::with_capacity(PRELUDE.len() + 4096);
        s.push_str(PRELUDE);
        s.push_str(GEOMETRY);
        let out = self.nodes.last().map_or(DType::Bool, |n| n.out);
        let mut params = String::new();
        for (k, d) in self.arrays.iter().enumerate() {
            let _ = write!(params, "const {}* __restrict__ p{k}, ", ctype(*d));
        }
        for k in 0..self.scalars.len() {
            let _ = write!(params, "Sc s{k}, ");
        }
        let _ = writeln!(
            s,
            "extern \"C\" __global__ void nd_fused({params}{}* __restrict__ out, u64 n) {{",
            ctype(out)
        );
        for (k, d) in self.scalars.iter().enumerate() {
            let _ = writeln!(
                s,
                "    const {c} sv{k} = *reinterpret_cast<const {c}*>(&s{k});",
                c = ctype(*d)
            );
        }
        s.push_str(
            "    for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < n;\n         \
             i += (u64)gridDim.x * blockDim.x) {\n",
        );
        for (j, node) in self.nodes.iter().enumerate() {
            let vars: &[&str] = if node.args.len() == 1 {
                &["x"]
            } else {
                &["a", "b"]
            };
            let _ = writeln!(s, "        {} v{j};\n        {{", ctype(node.out));
            let _ = writeln!(
                s,
                "            typedef {} S;\n            typedef CT<S>::t T;",
                ctype(node.compute)
            );
            for ((arg, d), var) in node.args.iter().zip(vars) {
                let raw = match arg {
                    FusedArg::Array(k) => format!("p{k}[i]"),
                    FusedArg::One(k) => format!("p{k}[0]"),
                    FusedArg::Scalar(k) => format!("sv{k}"),
                    FusedArg::Node(k) => format!("v{k}"),
                };
                let _ = writeln!(
                    s,
                    "            const T {var} = Cv<T, S>::f(Cv<S, {}>::f({raw}));",
                    ctype(*d)
                );
            }
            let _ = writeln!(
                s,
                "            auto r = ({});\n            v{j} = Cv<{}, decltype(r)>::f(r);\n        }}",
                node.expr,
                ctype(node.out)
            );
        }
        let _ = writeln!(
            s,
            "        out[i] = v{};\n    }}\n}}",
            self.nodes.len().saturating_sub(1)
        );
        s
    }
}

/// The geometry structs shared with the host (`#[repr(C)]` twins in the runtime).
const GEOMETRY: &str = "
struct Sc { u64 w[2]; };
struct Geo { i64 off[3]; i64 shape[8]; i64 st[3][8]; int rank; int pad; };
struct RGeo { i64 kshape[8]; i64 kst[8]; i64 rshape[8]; i64 rst[8]; int krank; int rrank; };
";

/// A cumulative kernel (`cumsum`, `cumprod`) over lanes of a C-order array: lane `l`
/// (of `lanes`) holds `len` elements `inner` apart, starting at
/// `(l / inner) * len * inner + l % inner`. Each lane is cut into `chunks` chunks of
/// `chunk` elements, one thread each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanKernel {
    /// The step's CUDA expression over `a` (the running value) and `b` (the next
    /// element): the `add` or `multiply` row's, so each step rounds as that op does.
    pub expr: &'static str,
    /// The input's dtype.
    pub input: DType,
    /// The dtype the input is cast to and the running value is kept in (the output's).
    pub compute: DType,
}

impl ScanKernel {
    /// The cache key.
    pub fn key(&self) -> String {
        format!("scan|{}|{}|{}", self.expr, self.input, self.compute)
    }

    /// The source of three entry points: `nd_scan_part` (each chunk's total),
    /// `nd_scan_carry` (one thread per lane: each chunk's part replaced by the running
    /// value before it) and `nd_scan_out` (each chunk scanned from its carry).
    pub fn source(&self) -> String {
        let mut s = String::with_capacity(PRELUDE.len() + 4096);
        s.push_str(PRELUDE);
        let _ = writeln!(
            s,
            "typedef {} S;\ntypedef CT<S>::t T;\ntypedef {} In;",
            ctype(self.compute),
            ctype(self.input)
        );
        let _ = writeln!(
            s,
            "__device__ __forceinline__ S nd_step(S acc, S v) {{\n    \
             const T a = Cv<T, S>::f(acc);\n    const T b = Cv<T, S>::f(v);\n    \
             auto r = ({});\n    return Cv<S, decltype(r)>::f(r);\n}}",
            self.expr
        );
        s.push_str(SCAN_ENTRIES);
        s
    }
}

/// The entry points of [`ScanKernel`] (after its typedefs and `nd_step`).
const SCAN_ENTRIES: &str = "
__device__ __forceinline__ S nd_load(const In* x, i64 i) { return Cv<S, In>::f(x[i]); }
// Thread t's chunk: chunk t / lanes of lane t % lanes, elements r0..r1 from base.
struct Chunk { i64 base, r0, r1; };
__device__ __forceinline__ Chunk nd_chunk(u64 t, i64 lanes, i64 len, i64 inner, i64 chunk) {
    const i64 c = (i64)t / lanes, l = (i64)t % lanes;
    const i64 r0 = c * chunk;
    return Chunk{(l / inner) * len * inner + l % inner, r0, r0 + chunk < len ? r0 + chunk : len};
}
extern \"C\" __global__ void nd_scan_part(const In* __restrict__ x, S* __restrict__ part,
        i64 lanes, i64 len, i64 inner, i64 chunk, i64 chunks) {
    for (u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x; t < (u64)(lanes * chunks);
         t += (u64)gridDim.x * blockDim.x) {
        const Chunk k = nd_chunk(t, lanes, len, inner, chunk);
        S acc = nd_load(x, k.base + k.r0 * inner);
        for (i64 r = k.r0 + 1; r < k.r1; ++r) acc = nd_step(acc, nd_load(x, k.base + r * inner));
        part[t] = acc;
    }
}
extern \"C\" __global__ void nd_scan_carry(S* __restrict__ part, i64 lanes, i64 chunks) {
    for (u64 l = (u64)blockIdx.x * blockDim.x + threadIdx.x; l < (u64)lanes;
         l += (u64)gridDim.x * blockDim.x) {
        S run = part[l];
        for (i64 c = 1; c < chunks; ++c) {
            const S next = part[c * lanes + l];
            part[c * lanes + l] = run;
            run = nd_step(run, next);
        }
    }
}
extern \"C\" __global__ void nd_scan_out(const In* __restrict__ x, const S* __restrict__ part,
        S* __restrict__ out, i64 lanes, i64 len, i64 inner, i64 chunk, i64 chunks) {
    for (u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x; t < (u64)(lanes * chunks);
         t += (u64)gridDim.x * blockDim.x) {
        const Chunk k = nd_chunk(t, lanes, len, inner, chunk);
        S acc = nd_load(x, k.base + k.r0 * inner);
        if (t >= (u64)lanes) acc = nd_step(part[t], acc); // not the lane's first chunk
        out[k.base + k.r0 * inner] = acc;
        for (i64 r = k.r0 + 1; r < k.r1; ++r) {
            acc = nd_step(acc, nd_load(x, k.base + r * inner));
            out[k.base + r * inner] = acc;
        }
    }
}
";

/// A reduction kernel over one input: `out[m] = reduce(x[base(m) + off(k)] for k < K)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReduceKernel {
    /// The op (`sum`, `argmax`, ...).
    pub op: &'static str,
    /// Its kind.
    pub kind: ReduceKind,
    /// The input's dtype.
    pub input: DType,
    /// The dtype the input is cast to before reducing (the accumulator's storage type).
    pub compute: DType,
    /// The output dtype.
    pub out: DType,
}

impl ReduceKernel {
    /// The cache key.
    pub fn key(&self) -> String {
        format!(
            "reduce|{}|{}|{}|{}",
            self.op, self.input, self.compute, self.out
        )
    }

    /// The source of three entry points: `nd_reduce1` (block-wise over the input, writing
    /// partials, or results when there is one split), `nd_reduce2` (block-wise over the
    /// partials) and `nd_reduce_narrow` (one thread per output, for short reductions).
    pub fn source(&self) -> String {
        let mut s = String::with_capacity(PRELUDE.len() + 4096);
        s.push_str(PRELUDE);
        s.push_str(GEOMETRY);
        let _ = writeln!(
            s,
            "typedef {} I;\ntypedef {} S;\ntypedef CT<S>::t T;\ntypedef {} Out;",
            ctype(self.input),
            ctype(self.compute),
            ctype(self.out)
        );
        // The accumulator A with its identity, combine, the loaded element and the result.
        let (acc, ident, comb, fin) = match self.kind {
            ReduceKind::Accumulate | ReduceKind::Mean => {
                let (id, op) = if self.op == "prod" {
                    ("Cv<T, int>::f(1)", "a * b")
                } else {
                    ("Cv<T, int>::f(0)", "a + b")
                };
                let fin = if self.kind == ReduceKind::Mean {
                    "nd_div(a, Cv<T, double>::f(count))"
                } else {
                    "a"
                };
                ("T", id, op, fin)
            }
            ReduceKind::Truth => {
                let (id, op) = if self.op == "all" {
                    ("true", "a && b")
                } else {
                    ("false", "a || b")
                };
                ("bool", id, op, "a")
            }
            ReduceKind::Extreme | ReduceKind::Arg => {
                let better = match self.op {
                    "max" | "amax" => "nd_maximum(a.v, b.v)",
                    "min" | "amin" => "nd_minimum(a.v, b.v)",
                    "argmax" => "ARG_PICK(nd_lt(a.v, b.v))",
                    _ => "ARG_PICK(nd_lt(b.v, a.v))",
                };
                let fin = if self.kind == ReduceKind::Arg {
                    "a.i"
                } else {
                    "a.v"
                };
                ("P", "P::none()", better, fin)
            }
        };
        s.push_str(
            "struct P {\n    T v;\n    i64 i;\n    \
             __device__ static P none() { P p; p.v = Cv<T, int>::f(0); p.i = -1; return p; }\n};\n",
        );
        // argmax/argmin: the first NaN wins, then the better value, then the lower index.
        s.push_str(
            "#define ARG_PICK(b_better) \\\n    \
             (nd_isnan(a.v) ? ((nd_isnan(b.v) && b.i < a.i) ? b : a) : \\\n     \
             nd_isnan(b.v) ? b : ((b_better) || (b.v == a.v && b.i < a.i)) ? b : a)\n",
        );
        let is_pair = acc == "P";
        let combine_body = if is_pair && matches!(self.kind, ReduceKind::Extreme) {
            format!("P r; r.v = {comb}; r.i = a.i < b.i ? a.i : b.i; return r;")
        } else {
            format!("return {comb};")
        };
        let empty_check = if is_pair {
            "if (a.i < 0) return b;\n    if (b.i < 0) return a;\n    "
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "typedef {acc} A;\n\
             __device__ __forceinline__ A ident() {{ return {ident}; }}\n\
             __device__ __forceinline__ A comb(A a, A b) {{\n    {empty_check}{combine_body}\n}}"
        );
        let load = if is_pair {
            "P p; p.v = Cv<T, S>::f(Cv<S, I>::f(x[o])); p.i = (i64)k; return p;"
        } else if acc == "bool" {
            "return Cv<bool, I>::f(x[o]);"
        } else {
            "return Cv<T, S>::f(Cv<S, I>::f(x[o]));"
        };
        let _ = writeln!(
            s,
            "__device__ __forceinline__ A load(const I* x, i64 o, u64 k) {{ {load} }}\n\
             __device__ __forceinline__ Out finish(A a, double count) {{\n    \
             (void)count;\n    return Cv<Out, decltype({fin})>::f({fin});\n}}"
        );
        s.push_str(REDUCE_BODY);
        s
    }
}

/// The entry points of every reduction (see [`ReduceKernel::source`]).
const REDUCE_BODY: &str = r#"
__device__ __forceinline__ i64 kbase(const RGeo& g, u64 m) {
    i64 o = 0;
    for (int d = g.krank - 1; d >= 0; --d) {
        o += (i64)(m % (u64)g.kshape[d]) * g.kst[d];
        m /= (u64)g.kshape[d];
    }
    return o;
}
__device__ __forceinline__ i64 roff(const RGeo& g, u64 k) {
    if (g.rrank == 1) return (i64)k * g.rst[0];
    i64 o = 0;
    for (int d = g.rrank - 1; d >= 0; --d) {
        o += (i64)(k % (u64)g.rshape[d]) * g.rst[d];
        k /= (u64)g.rshape[d];
    }
    return o;
}
// The elements k, k + step, ... below k1 of the output at `base`, combined in that order.
// Eight loads are in flight per thread before they are combined (in the plain loop's
// order, so the result is the same): one load at a time keeps too few bytes in flight to
// reach the memory's bandwidth.
__device__ __forceinline__ A reduce_run(const I* __restrict__ x, const RGeo& g, i64 base, u64 k,
                                        u64 k1, u64 step) {
    A acc = ident();
    for (; k + 7 * step < k1; k += 8 * step) {
        A v[8];
#pragma unroll
        for (int j = 0; j < 8; ++j) v[j] = load(x, base + roff(g, k + j * step), k + j * step);
#pragma unroll
        for (int j = 0; j < 8; ++j) acc = comb(acc, v[j]);
    }
    for (; k < k1; k += step) acc = comb(acc, load(x, base + roff(g, k), k));
    return acc;
}
__device__ __forceinline__ A block_reduce(A acc) {
    __shared__ A sh[256];
    sh[threadIdx.x] = acc;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) sh[threadIdx.x] = comb(sh[threadIdx.x], sh[threadIdx.x + s]);
        __syncthreads();
    }
    return sh[0];
}
// Block b reduces split (b % splits) of output (b / splits): partials (splits > 1) or results.
extern "C" __global__ void nd_reduce1(const I* __restrict__ x, A* __restrict__ partial,
                                      Out* __restrict__ out, RGeo g, u64 K, u64 chunk,
                                      u64 splits, double count) {
    u64 m = blockIdx.x / splits, sp = blockIdx.x % splits;
    i64 base = kbase(g, m);
    u64 k0 = sp * chunk, k1 = k0 + chunk < K ? k0 + chunk : K;
    A acc = block_reduce(reduce_run(x, g, base, k0 + threadIdx.x, k1, blockDim.x));
    if (threadIdx.x == 0) {
        if (splits == 1) out[m] = finish(acc, count);
        else partial[blockIdx.x] = acc;
    }
}
// Block m reduces the `splits` partials of output m.
extern "C" __global__ void nd_reduce2(const A* __restrict__ partial, Out* __restrict__ out,
                                      u64 splits, double count) {
    A acc = ident();
    for (u64 k = threadIdx.x; k < splits; k += blockDim.x) acc = comb(acc, partial[blockIdx.x * splits + k]);
    acc = block_reduce(acc);
    if (threadIdx.x == 0) out[blockIdx.x] = finish(acc, count);
}
// One thread per output, for short reductions over many outputs, and for reductions over
// leading axes (adjacent threads read adjacent elements).
extern "C" __global__ void nd_reduce_narrow(const I* __restrict__ x, Out* __restrict__ out,
                                            RGeo g, u64 M, u64 K, double count) {
    for (u64 m = (u64)blockIdx.x * blockDim.x + threadIdx.x; m < M; m += (u64)gridDim.x * blockDim.x) {
        out[m] = finish(reduce_run(x, g, kbase(g, m), 0, K, 1), count);
    }
}
"#;

/// Merges adjacent dimensions that are contiguous for every stride list (`s[d] ==
/// s[d+1] * shape[d+1]` in each), and drops dimensions of length 1. Returns the merged shape
/// and strides; a 0-d result becomes one dimension of length 1.
pub fn collapse(shape: &[usize], strides: &[Vec<i64>]) -> (Vec<i64>, Vec<Vec<i64>>) {
    let mut out_shape: Vec<i64> = Vec::new();
    let mut out_st: Vec<Vec<i64>> = vec![Vec::new(); strides.len()];
    for (d, &n) in shape.iter().enumerate() {
        if n == 1 {
            continue;
        }
        let n = n as i64;
        if let Some(&last) = out_shape.last()
            && strides
                .iter()
                .zip(&out_st)
                .all(|(st, o)| *o.last().expect("same length") == st[d] * n)
        {
            let _ = last;
            *out_shape.last_mut().expect("non-empty") *= n;
            for (st, o) in strides.iter().zip(out_st.iter_mut()) {
                *o.last_mut().expect("non-empty") = st[d];
            }
            continue;
        }
        out_shape.push(n);
        for (st, o) in strides.iter().zip(out_st.iter_mut()) {
            o.push(st[d]);
        }
    }
    if out_shape.is_empty() {
        out_shape.push(1);
        for o in &mut out_st {
            o.push(0);
        }
    }
    (out_shape, out_st)
}

/// C-order strides (in elements) of `shape`.
pub fn c_strides(shape: &[usize]) -> Vec<i64> {
    let mut st = vec![0i64; shape.len()];
    let mut acc = 1i64;
    for d in (0..shape.len()).rev() {
        st[d] = acc;
        acc *= shape[d].max(1) as i64;
    }
    st
}

/// The strides with which a C-contiguous array of `shape` is read as `out` (NumPy's
/// broadcasting: missing leading and length-1 dimensions get stride 0).
pub fn broadcast_strides(shape: &[usize], out: &[usize]) -> Vec<i64> {
    let st = c_strides(shape);
    let lead = out.len() - shape.len();
    (0..out.len())
        .map(|d| {
            if d < lead || shape[d - lead] == 1 {
                0
            } else {
                st[d - lead]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndserve_proto::ops::elementwise::rows;

    #[test]
    fn every_elementwise_row_has_a_cuda_expression_over_its_variables() {
        for r in rows() {
            let e = r
                .cuda
                .unwrap_or_else(|| panic!("{} has no cuda expression", r.name));
            let unary = matches!(
                r.family,
                ndserve_proto::ops::elementwise::Family::Unary
                    | ndserve_proto::ops::elementwise::Family::UnaryReal
                    | ndserve_proto::ops::elementwise::Family::UnaryPred
            );
            if unary {
                assert!(e.contains('x'), "{}: {e}", r.name);
            } else {
                assert!(e.contains('a') && e.contains('b'), "{}: {e}", r.name);
            }
        }
    }

    #[test]
    fn map_source_reads_each_operand_as_its_layout_says() {
        let k = MapKernel {
            expr: "a + b",
            out_strided: false,
            compute: DType::Float32,
            inputs: vec![
                MapInput {
                    var: "a",
                    dtype: DType::Float16,
                    compute: DType::Float32,
                    operand: Operand::Contig,
                },
                MapInput {
                    var: "b",
                    dtype: DType::Float32,
                    compute: DType::Float32,
                    operand: Operand::Scalar,
                },
            ],
            out: DType::Float32,
        };
        let src = k.source();
        assert!(src.contains("Cv<float, f16>::f(p0[i])"), "{src}");
        assert!(src.contains("const float sv1 = *reinterpret_cast<const float*>(&s1);"));
        assert!(
            !src.contains("rem % "),
            "no index arithmetic without strided operands"
        );
        assert!(k.key().contains("|a:float16:float32:c"));
    }

    #[test]
    fn collapse_merges_contiguous_dimensions_and_keeps_broadcast_ones() {
        // A (2, 3, 4) array read whole: one dimension of 24.
        let (s, st) = collapse(&[2, 3, 4], &[c_strides(&[2, 3, 4])]);
        assert_eq!((s, st), (vec![24], vec![vec![1]]));
        // (3, 1) broadcast to (3, 4) next to a contiguous (3, 4).
        let b = broadcast_strides(&[3, 1], &[3, 4]);
        assert_eq!(b, vec![1, 0]);
        let (s, st) = collapse(&[3, 4], &[c_strides(&[3, 4]), b]);
        assert_eq!(s, vec![3, 4]);
        assert_eq!(st, vec![vec![4, 1], vec![1, 0]]);
        // 0-d.
        assert_eq!(collapse(&[], &[vec![]]), (vec![1], vec![vec![0]]));
    }

    #[test]
    fn reduce_sources_define_every_entry_point() {
        for (op, kind, out) in [
            ("sum", ReduceKind::Accumulate, DType::Float32),
            ("mean", ReduceKind::Mean, DType::Float32),
            ("max", ReduceKind::Extreme, DType::Float32),
            ("all", ReduceKind::Truth, DType::Bool),
            ("argmin", ReduceKind::Arg, DType::Int64),
        ] {
            let src = ReduceKernel {
                op,
                kind,
                input: DType::Float32,
                compute: DType::Float32,
                out,
            }
            .source();
            for entry in ["nd_reduce1", "nd_reduce2", "nd_reduce_narrow"] {
                assert!(src.contains(entry), "{op}: {entry}");
            }
        }
    }
}
