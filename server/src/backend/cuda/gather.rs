//! CUDA C++ of `take`: a gather along one axis (or of the flattened array), with NumPy's
//! three index modes. Pure string generation, built and tested everywhere.
//!
//! The output of `take(a, indices, axis)` has the shape `a.shape[..axis] + indices.shape
//! + a.shape[axis + 1..]`: element `(o, j, i)` of it (outer, index, inner position) is
//! `a[o, indices[j], i]`. With `axis=None` the array is read as one axis.

use std::fmt::Write as _;

use ndserve_proto::DType;

use super::codegen::{PRELUDE, ctype};

/// How `take` treats an index outside `-n..n` (the plan's `mode`).
pub const MODE_RAISE: u8 = 0;
/// Indices wrap around (`mode="wrap"`).
pub const MODE_WRAP: u8 = 1;
/// Indices are clipped to the axis (`mode="clip"`).
pub const MODE_CLIP: u8 = 2;

/// A gather kernel: values moved as their bytes, indices read in their own dtype.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TakeKernel {
    /// Bytes of one value (1, 2, 4, 8 or 16): the gather moves bits, whatever the dtype.
    pub value_bytes: usize,
    /// The indices' dtype (an integer or bool); a scalar index is passed as an `i64`.
    pub index: DType,
}

impl TakeKernel {
    /// The cache key.
    pub fn key(&self) -> String {
        format!("take|{}|{}", self.value_bytes, self.index)
    }

    /// The source of `extern "C" nd_take(a, idx, scalar, out, m, n, post, mode, bad,
    /// total)`: `m` indices (`idx`, or the one `scalar` when `idx` is null) into an axis of
    /// `n` elements, `post` elements apart; in raise mode an index out of range sets
    /// `*bad` (the caller then answers NumPy's error) and reads element 0.
    pub fn source(&self) -> String {
        let mut s = String::with_capacity(PRELUDE.len() + 2048);
        s.push_str(PRELUDE);
        let value = match self.value_bytes {
            1 => "u8",
            2 => "u16",
            4 => "u32",
            8 => "u64",
            _ => "c128",
        };
        let _ = writeln!(s, "typedef {value} V;\ntypedef {} I;", ctype(self.index));
        s.push_str(TAKE_ENTRY);
        s
    }
}

/// The entry point of [`TakeKernel`] (after its typedefs).
const TAKE_ENTRY: &str = "
extern \"C\" __global__ void nd_take(const V* __restrict__ a, const I* __restrict__ idx,
        i64 scalar, V* __restrict__ out, i64 m, i64 n, i64 post, int mode,
        unsigned int* bad, u64 total) {
    for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (u64)gridDim.x * blockDim.x) {
        const i64 inner = (i64)(i % (u64)post);
        const u64 r = i / (u64)post;
        const i64 j = (i64)(r % (u64)m);
        const i64 o = (i64)(r / (u64)m);
        i64 v = idx ? (i64)idx[j] : scalar;
        if (mode == 1) {
            v %= n;
            if (v < 0) v += n;
        } else if (mode == 2) {
            v = v < 0 ? 0 : (v >= n ? n - 1 : v);
        } else if (v < -n || v >= n) {
            atomicOr(bad, 1u);
            v = 0;
        } else if (v < 0) {
            v += n;
        }
        out[i] = a[(o * n + v) * post + inner];
    }
}
";

/// The gather's extents for an array of `shape` taken along `axis` (None: flattened)
/// with `m` indices: (outer, axis length, inner) with `outer * m * inner` outputs.
pub fn take_extents(shape: &[usize], axis: Option<usize>) -> (usize, usize, usize) {
    match axis {
        None => (1, shape.iter().product(), 1),
        Some(ax) => (
            shape[..ax].iter().product(),
            shape[ax],
            shape[ax + 1..].iter().product(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where output element `i` of a take reads from, as `nd_take` computes it (`None`: an
    /// index out of range in raise mode). The host twin of the kernel, for tests.
    fn take_source(i: usize, idx: &[i64], (n, post): (usize, usize), mode: u8) -> Option<usize> {
        let m = idx.len();
        let (inner, r) = (i % post, i / post);
        let (j, o) = (r % m, r / m);
        let n = n as i64;
        let mut v = idx[j];
        match mode {
            MODE_WRAP => v = v.rem_euclid(n),
            MODE_CLIP => v = v.clamp(0, n - 1),
            _ if v < -n || v >= n => return None,
            _ if v < 0 => v += n,
            _ => {}
        }
        Some((o * n as usize + v as usize) * post + inner)
    }

    /// The host twin walks every output of a (2, 3, 4) array taken along each axis and
    /// flattened, and reads the element NumPy's `take` reads.
    #[test]
    fn take_reads_the_element_numpy_takes() {
        let shape = [2usize, 3, 4];
        let st = [12usize, 4, 1];
        for axis in [None, Some(0), Some(1), Some(2)] {
            let (outer, n, post) = take_extents(&shape, axis);
            for mode in [MODE_RAISE, MODE_WRAP, MODE_CLIP] {
                let idx: Vec<i64> = vec![1, -1, 0, n as i64 - 1, 5, -7];
                for i in 0..outer * idx.len() * post {
                    let got = take_source(i, &idx, (n, post), mode);
                    // NumPy's answer, from the coordinates.
                    let j = (i / post) % idx.len();
                    let raw = idx[j];
                    let v = match mode {
                        MODE_WRAP => Some(raw.rem_euclid(n as i64)),
                        MODE_CLIP => Some(raw.clamp(0, n as i64 - 1)),
                        _ => (-(n as i64)..n as i64)
                            .contains(&raw)
                            .then_some(raw.rem_euclid(n as i64)),
                    };
                    let want = v.map(|v| match axis {
                        None => v as usize,
                        Some(ax) => {
                            let o = i / post / idx.len();
                            let inner = i % post;
                            // Outer coordinates, the axis, inner coordinates.
                            let mut off = v as usize * st[ax];
                            let mut rem = o;
                            for d in (0..ax).rev() {
                                off += (rem % shape[d]) * st[d];
                                rem /= shape[d];
                            }
                            let mut rem = inner;
                            for d in (ax + 1..3).rev() {
                                off += (rem % shape[d]) * st[d];
                                rem /= shape[d];
                            }
                            off
                        }
                    });
                    assert_eq!(got, want, "axis {axis:?} mode {mode} output {i}");
                }
            }
        }
    }

    #[test]
    fn take_source_names_its_types() {
        let src = TakeKernel {
            value_bytes: 2,
            index: DType::Int32,
        }
        .source();
        assert!(src.contains("typedef u16 V;\ntypedef i32 I;"));
        assert!(src.contains("nd_take"));
    }
}
