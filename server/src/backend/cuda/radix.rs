//! CUDA C++ of `sort` and `argsort`: a stable least-significant-digit radix sort over
//! every lane at once. Pure string generation and pass planning, built and tested
//! everywhere.
//!
//! The lanes are numbered in lane-major order: position `p` is element `p % len` of
//! lane `p / len`. `nd_sort_init` writes each element's order-preserving key (the CPU's
//! `radix.rs` keys: NaN last, and for `argsort` one key for both zeros) and its position.
//! Each pass then sorts the (key, position) pairs stably on one 8-bit digit: first the
//! key's digits, least significant first, then the digits of the lane number
//! (`position / len`), so the result is every lane sorted, lane after lane, equal keys in
//! input order. A pass is three kernels: a histogram per tile of [`TILE`] elements, an
//! exclusive scan of the histograms (digit-major), and a scatter in which each warp ranks
//! its equal digits with `__match_any_sync`. `nd_sort_vals` writes the values back from
//! the keys and `nd_sort_idx` the positions within their lanes.

use std::fmt::Write as _;

use ndserve_proto::DType;

use super::codegen::{PRELUDE, ctype};

/// Elements per tile of a pass: 256 threads, 16 rounds.
pub const TILE: usize = 4096;
/// Threads of the scan's one block.
pub const SCAN_THREADS: u32 = 1024;

/// One pass of the sort: the 8-bit digit at `shift` of the key, or of the lane number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pass {
    /// The digit's lowest bit.
    pub shift: i32,
    /// Whether the digit is the lane number's (else the key's).
    pub lane: bool,
}

/// The passes that sort `lanes` lanes of keys `key_bits` wide: the key's digits, then
/// the lane number's.
pub fn passes(key_bits: u32, lanes: usize) -> Vec<Pass> {
    let lane_bits = usize::BITS - lanes.saturating_sub(1).leading_zeros();
    let key = (0..key_bits.div_ceil(8)).map(|d| Pass {
        shift: 8 * d as i32,
        lane: false,
    });
    let lane = (0..lane_bits.div_ceil(8)).map(|d| Pass {
        shift: 8 * d as i32,
        lane: true,
    });
    key.chain(lane).collect()
}

/// The bits of a dtype's sort key (None: no radix key, as for complex).
pub fn key_bits(d: DType) -> Option<u32> {
    match d {
        DType::Bool | DType::Int8 | DType::UInt8 => Some(8),
        DType::Int16 | DType::UInt16 | DType::Float16 | DType::BFloat16 => Some(16),
        DType::Int32 | DType::UInt32 | DType::Float32 => Some(32),
        DType::Int64 | DType::UInt64 | DType::Float64 => Some(64),
        DType::Complex64 | DType::Complex128 => None,
    }
}

/// The sort kernels of one dtype.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SortKernel {
    /// The values' dtype (bool, an integer or a real float).
    pub dtype: DType,
}

impl SortKernel {
    /// The cache key.
    pub fn key(&self) -> String {
        format!("sort|{}", self.dtype)
    }

    /// The entry points' names.
    pub const ENTRIES: [&'static str; 6] = [
        "nd_sort_init",
        "nd_sort_hist",
        "nd_sort_scan",
        "nd_sort_scatter",
        "nd_sort_vals",
        "nd_sort_idx",
    ];

    /// The source of the six entry points ([`Self::ENTRIES`]); `None` for a dtype
    /// without a radix key.
    pub fn source(&self) -> Option<String> {
        let bits = key_bits(self.dtype)?;
        let mut s = String::with_capacity(PRELUDE.len() + 8192);
        s.push_str(PRELUDE);
        let k = if bits == 64 { "u64" } else { "u32" };
        let u = match bits {
            8 => "u8",
            16 => "u16",
            32 => "u32",
            _ => "u64",
        };
        let _ = writeln!(
            s,
            "typedef {} In;\ntypedef {k} K;\ntypedef {u} U;\n\
             #define ND_SIGN ((U)((U)1 << {}))",
            ctype(self.dtype),
            bits - 1
        );
        // bits(x) and from(u): the value's bits and back.
        let (to_bits, from_bits) = match self.dtype {
            DType::Float16 | DType::BFloat16 => ("x.bits", "In r; r.bits = u; return r;"),
            DType::Float32 => ("__float_as_uint(x)", "return __uint_as_float(u);"),
            DType::Float64 => (
                "(u64)__double_as_longlong(x)",
                "return __longlong_as_double((i64)u);",
            ),
            DType::Bool => ("(U)(x ? 1 : 0)", "return u != 0;"),
            _ => ("(U)x", "return (In)u;"),
        };
        let _ = writeln!(
            s,
            "__device__ __forceinline__ U nd_bits(In x) {{ return {to_bits}; }}\n\
             __device__ __forceinline__ In nd_from(U u) {{ {from_bits} }}"
        );
        let (key, unkey) = if self.dtype.is_inexact() {
            let (inf, nan) = match bits {
                16 if self.dtype == DType::Float16 => ("0x7c00", "0x7e00"),
                16 => ("0x7f80", "0x7fc0"),
                32 => ("0x7f800000u", "0x7fc00000u"),
                _ => ("0x7ff0000000000000ull", "0x7ff8000000000000ull"),
            };
            (
                format!(
                    "const U b = nd_bits(x);\n    \
                     if ((U)(b & ~ND_SIGN) > (U){inf}) return (K)(U)~(U)0;\n    \
                     if (canon && (U)(b & ~ND_SIGN) == 0) return (K)ND_SIGN;\n    \
                     return (K)(U)((b & ND_SIGN) ? (U)~b : (U)(b | ND_SIGN));"
                ),
                format!(
                    "const U u = (U)k;\n    \
                     if (u == (U)~(U)0) return nd_from((U){nan});\n    \
                     return nd_from((u & ND_SIGN) ? (U)(u & ~ND_SIGN) : (U)~u);"
                ),
            )
        } else if self.dtype.int_bits().is_some_and(|(_, signed)| signed) {
            (
                "return (K)(U)(nd_bits(x) ^ ND_SIGN);".to_string(),
                "return nd_from((U)((U)k ^ ND_SIGN));".to_string(),
            )
        } else {
            (
                "return (K)nd_bits(x);".to_string(),
                "return nd_from((U)k);".to_string(),
            )
        };
        let _ = writeln!(
            s,
            "__device__ __forceinline__ K nd_key(In x, int canon) {{\n    {key}\n}}\n\
             __device__ __forceinline__ In nd_unkey(K k) {{\n    {unkey}\n}}"
        );
        let _ = writeln!(
            s,
            "#define ND_TILE {TILE}\n#define ND_SCAN_THREADS {SCAN_THREADS}"
        );
        s.push_str(SORT_ENTRIES);
        Some(s)
    }
}

/// The entry points of [`SortKernel`] (after its typedefs, `nd_key` and `nd_unkey`).
const SORT_ENTRIES: &str = "
// The memory offset of lane-major position p (lanes of len elements, inner apart).
__device__ __forceinline__ i64 nd_off(u64 p, i64 len, i64 inner) {
    const i64 l = (i64)(p / (u64)len), r = (i64)(p % (u64)len);
    return (l / inner) * len * inner + l % inner + r * inner;
}
__device__ __forceinline__ unsigned int nd_digit(const K* key, const unsigned int* pos,
        u64 e, int shift, int lane, u64 len) {
    if (lane) return (unsigned int)((((u64)pos[e]) / len) >> shift) & 255u;
    return (unsigned int)(key[e] >> shift) & 255u;
}
extern \"C\" __global__ void nd_sort_init(const In* __restrict__ x, K* __restrict__ key,
        unsigned int* __restrict__ pos, u64 n, i64 len, i64 inner, int canon) {
    for (u64 p = (u64)blockIdx.x * blockDim.x + threadIdx.x; p < n;
         p += (u64)gridDim.x * blockDim.x) {
        key[p] = nd_key(x[nd_off(p, len, inner)], canon);
        if (pos) pos[p] = (unsigned int)p;
    }
}
// counts[d * tiles + t]: the elements of tile t whose digit is d (one block per tile).
extern \"C\" __global__ void nd_sort_hist(const K* __restrict__ key,
        const unsigned int* __restrict__ pos, u64 n, int shift, int lane, u64 len,
        unsigned int* __restrict__ counts, unsigned int tiles) {
    __shared__ unsigned int h[256];
    h[threadIdx.x] = 0;
    __syncthreads();
    const u64 t0 = (u64)blockIdx.x * ND_TILE;
    for (u64 e = t0 + threadIdx.x; e < n && e < t0 + ND_TILE; e += blockDim.x) {
        atomicAdd(&h[nd_digit(key, pos, e, shift, lane, len)], 1u);
    }
    __syncthreads();
    counts[(u64)threadIdx.x * tiles + blockIdx.x] = h[threadIdx.x];
}
// The exclusive scan of m counts, in place, by one block.
extern \"C\" __global__ void nd_sort_scan(unsigned int* __restrict__ c, u64 m) {
    __shared__ unsigned int s[ND_SCAN_THREADS];
    const u64 per = (m + ND_SCAN_THREADS - 1) / ND_SCAN_THREADS;
    const u64 lo = threadIdx.x * per;
    const u64 hi = lo + per < m ? lo + per : m;
    unsigned int t = 0;
    for (u64 i = lo; i < hi; ++i) t += c[i];
    s[threadIdx.x] = t;
    __syncthreads();
    for (unsigned int off = 1; off < ND_SCAN_THREADS; off <<= 1) {
        const unsigned int v = threadIdx.x >= off ? s[threadIdx.x - off] : 0u;
        __syncthreads();
        s[threadIdx.x] += v;
        __syncthreads();
    }
    unsigned int run = threadIdx.x ? s[threadIdx.x - 1] : 0u;
    for (u64 i = lo; i < hi; ++i) {
        const unsigned int v = c[i];
        c[i] = run;
        run += v;
    }
}
// Each tile's elements to their places: its digit's scanned count, plus the equal digits
// before it in the tile (earlier rounds, earlier warps, lower lanes of its warp).
extern \"C\" __global__ void nd_sort_scatter(const K* __restrict__ kin,
        const unsigned int* __restrict__ pin, K* __restrict__ kout,
        unsigned int* __restrict__ pout, u64 n, int shift, int lane, u64 len,
        const unsigned int* __restrict__ counts, unsigned int tiles) {
    __shared__ unsigned int base[256];
    __shared__ unsigned int wc[8][256];
    const unsigned int tid = threadIdx.x, w = tid / 32, ln = tid % 32;
    base[tid] = counts[(u64)tid * tiles + blockIdx.x];
    for (int v = 0; v < 8; ++v) wc[v][tid] = 0;
    __syncthreads();
    const u64 t0 = (u64)blockIdx.x * ND_TILE;
    for (int r = 0; r < ND_TILE / 256; ++r) {
        const u64 e = t0 + (u64)r * 256 + tid;
        const bool live = e < n;
        const unsigned int d = live ? nd_digit(kin, pin, e, shift, lane, len) : 256u;
        const unsigned int peers = __match_any_sync(0xffffffffu, d);
        const unsigned int rank = __popc(peers & ((1u << ln) - 1u));
        if (live && rank == 0) wc[w][d] = __popc(peers);
        __syncthreads();
        if (live) {
            unsigned int at = base[d] + rank;
            for (unsigned int v = 0; v < w; ++v) at += wc[v][d];
            kout[at] = kin[e];
            if (pin) pout[at] = pin[e];
        }
        __syncthreads();
        unsigned int total = 0;
        for (int v = 0; v < 8; ++v) {
            total += wc[v][tid];
            wc[v][tid] = 0;
        }
        base[tid] += total;
        __syncthreads();
    }
}
extern \"C\" __global__ void nd_sort_vals(const K* __restrict__ key, In* __restrict__ out,
        u64 n, i64 len, i64 inner) {
    for (u64 p = (u64)blockIdx.x * blockDim.x + threadIdx.x; p < n;
         p += (u64)gridDim.x * blockDim.x) {
        out[nd_off(p, len, inner)] = nd_unkey(key[p]);
    }
}
extern \"C\" __global__ void nd_sort_idx(const unsigned int* __restrict__ pos,
        i64* __restrict__ out, u64 n, i64 len, i64 inner) {
    for (u64 p = (u64)blockIdx.x * blockDim.x + threadIdx.x; p < n;
         p += (u64)gridDim.x * blockDim.x) {
        out[nd_off(p, len, inner)] = (i64)(pos[p] % (u64)len);
    }
}
";

#[cfg(test)]
mod tests {
    use super::*;

    /// One pass as the kernels make it: a stable counting sort on the pass's digit
    /// (tiles only split the counting; their scanned counts place elements as one
    /// stable sort does).
    fn pass(items: &[(u64, u32)], p: Pass, len: u64) -> Vec<(u64, u32)> {
        let digit = |&(k, pos): &(u64, u32)| {
            let v = if p.lane { u64::from(pos) / len } else { k };
            ((v >> p.shift) & 255) as usize
        };
        let mut counts = [0usize; 257];
        for it in items {
            counts[digit(it) + 1] += 1;
        }
        for d in 0..256 {
            counts[d + 1] += counts[d];
        }
        let mut out = vec![(0, 0); items.len()];
        for it in items {
            let d = digit(it);
            out[counts[d]] = *it;
            counts[d] += 1;
        }
        out
    }

    /// The key passes then the lane passes sort every lane on its own, stably.
    #[test]
    fn key_then_lane_digits_sort_each_lane_stably() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for (lanes, len, bits) in [(1usize, 1000usize, 32u32), (3, 400, 16), (300, 7, 64)] {
            let mask = if bits == 64 {
                u64::MAX
            } else {
                (1 << bits) - 1
            };
            let keys: Vec<u64> = (0..lanes * len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    // Many ties: a few distinct high parts.
                    ((x % 97) * 0x0101_0101_0101_0101) & mask
                })
                .collect();
            let mut items: Vec<(u64, u32)> = keys
                .iter()
                .enumerate()
                .map(|(p, &k)| (k, p as u32))
                .collect();
            let plan = passes(bits, lanes);
            assert_eq!(
                plan.iter().filter(|p| p.lane).count(),
                (usize::BITS - (lanes - 1).leading_zeros()).div_ceil(8) as usize
            );
            for p in plan {
                items = pass(&items, p, len as u64);
            }
            for l in 0..lanes {
                let mut want: Vec<(u64, u32)> = (l * len..(l + 1) * len)
                    .map(|p| (keys[p], p as u32))
                    .collect();
                want.sort_by_key(|&(k, _)| k); // stable
                assert_eq!(&items[l * len..(l + 1) * len], &want[..], "lane {l}");
            }
        }
    }

    #[test]
    fn sort_sources_exist_for_real_dtypes_only() {
        for d in DType::ALL {
            let src = SortKernel { dtype: d }.source();
            assert_eq!(src.is_some(), !d.is_complex(), "{d}");
            if let Some(src) = src {
                for e in SortKernel::ENTRIES {
                    assert!(src.contains(e), "{d}: {e}");
                }
            }
        }
    }
}
