//! Sorting one lane for `sort` and `argsort`: a radix sort on an order-preserving
//! unsigned key for bool, integers and real floats, and a stable comparison sort for
//! complex numbers and short lanes.
//!
//! The key puts values in NumPy's order (NaN last). For `argsort` it maps every NaN to
//! one key and -0.0 to +0.0's, so equal values keep their input order (a stable sort, as
//! the comparison sort gives). For `sort`, -0.0 sorts before +0.0 (NumPy puts equal
//! values in either order) and every NaN comes out as the canonical NaN.
//!
//! A long lane is first split on the 11 most significant bits in which its keys differ
//! (read off an evenly spaced sample, checked on every key while counting): a count and
//! a write pass, shared by rayon's threads, each writing its own piece of every group. Then
//! each group, small enough for the cache, sorts least significant digit first on the
//! bits below, groups in parallel. `sort` moves the values themselves, straight into the
//! output; `argsort` sorts (key, index) pairs. A group still too long for the cache
//! splits again the same way.

use half::{bf16, f16};
use num_complex::{Complex32, Complex64};
use rayon::prelude::*;

use super::reduce::RElem;
use super::stats::cmp_nl;

/// Lanes shorter than this use the comparison sort: a radix pass costs a histogram.
const RADIX_MIN: usize = 512;
/// Lanes and groups this long split on their most significant digit first; shorter
/// ones (up to 1.5 MiB of key and index pairs) sort in L2, least significant digit
/// first.
const MSD_MIN: usize = 1 << 17;
/// Bits of a most significant digit: up to 2048 groups.
const DIGIT_BITS: u32 = 11;
/// Inputs this long split a pass over rayon's threads.
const PAR_MIN: usize = 1 << 20;

/// The bits in which the keys of `items` differ from the first's (0: all equal).
fn differing<T: Sync>(items: &[T], key: &(impl Fn(&T) -> u64 + Sync)) -> u64 {
    let Some(first) = items.first() else {
        return 0;
    };
    let k0 = key(first);
    let fold = |c: &[T]| c.iter().fold(0, |d, t| d | (key(t) ^ k0));
    if items.len() >= PAR_MIN {
        items
            .par_chunks(1 << 16)
            .map(fold)
            .reduce(|| 0, |a, b| a | b)
    } else {
        fold(items)
    }
}

/// The most significant digit, at most [`DIGIT_BITS`] wide, of keys that differ in
/// `diff`: the bits `lo..` up to the highest differing bit.
#[derive(Clone, Copy, PartialEq)]
struct Digit {
    lo: u32,
    mask: u64,
}

impl Digit {
    fn top(diff: u64) -> Option<Digit> {
        let hi = 64 - diff.leading_zeros(); // one past the highest differing bit
        let width = hi.min(DIGIT_BITS);
        (diff != 0).then(|| Digit {
            lo: hi - width,
            mask: (1 << width) - 1,
        })
    }
    fn of(self, k: u64) -> usize {
        ((k >> self.lo) & self.mask) as usize
    }
    fn groups(self) -> usize {
        self.mask as usize + 1
    }
}

/// Consecutive pieces of `s` of the given sizes.
fn split_sizes<'a, T>(mut s: &'a mut [T], sizes: &[usize]) -> Vec<&'a mut [T]> {
    sizes
        .iter()
        .map(|&n| {
            let (head, tail) = std::mem::take(&mut s).split_at_mut(n);
            s = tail;
            head
        })
        .collect()
}

/// Samples taken from a long lane to choose its split digit.
const SAMPLES: usize = 1 << 14;

/// Writes `make(i, src[i])` to `dst` (as long) grouped on the most significant digit
/// in which the keys differ, keeping the input order within a group, and returns the
/// groups' sizes and the digit (`None`: every key is equal, nothing written).
///
/// The digit comes from an evenly spaced sample's differing bits; the count pass folds
/// every key's and counts again, on the right digit, in the rare case that the sample
/// missed a higher bit. The input is split into parts over rayon's threads: each part is
/// counted, then written to its own piece of every group.
fn scatter<S: Sync, T: Send>(
    src: &[S],
    dst: &mut [T],
    skey: &(impl Fn(&S) -> u64 + Sync),
    make: &(impl Fn(usize, &S) -> T + Sync),
) -> Option<(Vec<usize>, Digit)> {
    let k0 = skey(src.first()?);
    let step = (src.len() / SAMPLES).max(1);
    let sampled = src.iter().step_by(step).fold(0, |d, s| d | (skey(s) ^ k0));
    let mut digit = Digit::top(sampled).or_else(|| Digit::top(differing(src, skey)))?;
    let parts = if src.len() >= PAR_MIN {
        4 * rayon::current_num_threads()
    } else {
        1
    };
    let chunk = src.len().div_ceil(parts).max(1);
    let count = |d: Digit, c: &[S]| {
        let mut h = vec![0usize; d.groups()];
        let mut diff = 0;
        for s in c {
            let k = skey(s);
            diff |= k ^ k0;
            h[d.of(k)] += 1;
        }
        (h, diff)
    };
    let count_all = |d: Digit| -> (Vec<Vec<usize>>, u64) {
        let (counts, diffs): (Vec<_>, Vec<_>) = if parts > 1 {
            src.par_chunks(chunk).map(|c| count(d, c)).unzip()
        } else {
            std::iter::once(count(d, src)).unzip()
        };
        (counts, diffs.into_iter().fold(0, |a, b| a | b))
    };
    let (mut counts, diff) = count_all(digit);
    let exact = Digit::top(diff).expect("the sample's keys differ");
    if exact != digit {
        digit = exact;
        counts = count_all(digit).0;
    }
    let groups = digit.groups();
    // group by group, each part's piece in part order: a stable split
    let order: Vec<usize> = (0..groups)
        .flat_map(|g| counts.iter().map(move |h| h[g]))
        .collect();
    let mut pieces = split_sizes(dst, &order).into_iter();
    let mut regions: Vec<Vec<&mut [T]>> = (0..counts.len())
        .map(|_| Vec::with_capacity(groups))
        .collect();
    for _ in 0..groups {
        for r in regions.iter_mut() {
            r.push(pieces.next().expect("one piece per group and part"));
        }
    }
    let write = |(p, (c, regs)): (usize, (&[S], &mut Vec<&mut [T]>))| {
        let mut at = vec![0usize; groups];
        for (i, s) in c.iter().enumerate() {
            let g = digit.of(skey(s));
            regs[g][at[g]] = make(p * chunk + i, s);
            at[g] += 1;
        }
    };
    if parts > 1 {
        src.par_chunks(chunk)
            .zip(regions.par_iter_mut())
            .enumerate()
            .for_each(write);
    } else {
        write((0, (src, &mut regions[0])));
    }
    let sizes = (0..groups)
        .map(|g| counts.iter().map(|h| h[g]).sum())
        .collect();
    Some((sizes, digit))
}

/// Sorts `a` stably by the low `bits` bits of `key`, a digit per pass (passes in which
/// every key has the same digit are skipped), with `b` (as long) as scratch; answers
/// whether the result is in `b`.
fn lsd<T: Copy>(a: &mut [T], b: &mut [T], key: &impl Fn(&T) -> u64, bits: u32) -> bool {
    let n = a.len();
    // The fewest passes of digits at most this wide, the digits as even as they go.
    let widest: u32 = if n >= 4096 { 11 } else { 8 };
    let passes = bits.div_ceil(widest).max(1) as usize;
    let width = bits.div_ceil(passes as u32).max(1);
    let radix = 1usize << width;
    let m = radix as u64 - 1;
    let mut counts = vec![0usize; passes * radix];
    for t in a.iter() {
        let k = key(t);
        for (p, c) in counts.chunks_exact_mut(radix).enumerate() {
            c[((k >> (p as u32 * width)) & m) as usize] += 1;
        }
    }
    let mut in_b = false;
    for (p, c) in counts.chunks_exact_mut(radix).enumerate() {
        if c.contains(&n) {
            continue; // every key has the same digit here
        }
        let mut sum = 0;
        for x in c.iter_mut() {
            (*x, sum) = (sum, sum + *x);
        }
        let (src, dst) = if in_b { (&*b, &mut *a) } else { (&*a, &mut *b) };
        for t in src {
            let d = ((key(t) >> (p as u32 * width)) & m) as usize;
            dst[c[d]] = *t;
            c[d] += 1;
        }
        in_b = !in_b;
    }
    in_b
}

/// Sorts `a` stably by `key`, with `b` (as long) as scratch; answers whether the
/// result is in `b`. Keys differ only in their low `bits` bits.
fn sort_keys<T: Copy + Default + Send + Sync>(
    a: &mut [T],
    b: &mut [T],
    key: &(impl Fn(&T) -> u64 + Sync),
    bits: u32,
) -> bool {
    if bits == 0 {
        // Every key is equal: already in order. (Splitting again would find no digit,
        // hand the same group back and recurse until the stack overflowed.)
        return false;
    }
    if a.len() < MSD_MIN {
        return lsd(a, b, key, bits);
    }
    // Too long for the cache: split into `b` as a lane is, each group sorting with
    // its piece of `a` as scratch.
    Groups::split(a, b, &|_, t| *t, key).sort(b, Some(a), key);
    true
}

/// A lane's items split on their most significant digit: the groups' sizes, in order,
/// and the low bits in which keys within a group may still differ.
struct Groups {
    sizes: Vec<usize>,
    bits: u32,
}

impl Groups {
    /// Writes `make(i, &src[i])` to `items` (as long as `src`), grouped on the most
    /// significant digit when the lane is long.
    fn split<S: Sync, T: Send>(
        src: &[S],
        items: &mut [T],
        make: &(impl Fn(usize, &S) -> T + Sync),
        key: &(impl Fn(&T) -> u64 + Sync),
    ) -> Groups {
        let skey = |s: &S| key(&make(0, s));
        let bits = if src.len() >= MSD_MIN {
            match scatter(src, items, &skey, make) {
                Some((sizes, d)) => return Groups { sizes, bits: d.lo },
                None => 0, // every key is equal (scatter looked at all of them)
            }
        } else {
            64 - differing(src, &skey).leading_zeros()
        };
        for (i, (o, s)) in items.iter_mut().zip(src).enumerate() {
            *o = make(i, s);
        }
        Groups {
            sizes: vec![src.len()],
            bits,
        }
    }

    /// Sorts each group of `items` in place, groups in parallel, with the matching
    /// piece of `scratch` (as long as `items`) or else a buffer per group.
    fn sort<T: Copy + Default + Send + Sync>(
        &self,
        items: &mut [T],
        scratch: Option<&mut [T]>,
        key: &(impl Fn(&T) -> u64 + Sync),
    ) {
        let sort_group = |(g, s): (&mut [T], Option<&mut [T]>)| {
            let mut own = Vec::new();
            let s = match s {
                Some(s) => s,
                None => {
                    own.resize(g.len(), T::default());
                    &mut own[..]
                }
            };
            if sort_keys(g, s, key, self.bits) {
                g.copy_from_slice(s);
            }
        };
        let groups = split_sizes(items, &self.sizes);
        let scratches: Vec<Option<&mut [T]>> = match scratch {
            Some(s) => split_sizes(s, &self.sizes).into_iter().map(Some).collect(),
            None => self.sizes.iter().map(|_| None).collect(),
        };
        if groups.len() > 1 {
            groups.into_par_iter().zip(scratches).for_each(sort_group);
        } else {
            groups.into_iter().zip(scratches).for_each(sort_group);
        }
    }
}

/// How one element type sorts a lane.
pub trait LaneSort: Sized + Copy + Send + Sync {
    /// Writes `lane` sorted in NumPy's order (NaN last) to `out` (as long).
    fn sort_lane(lane: &[Self], out: &mut [Self]);
    /// Writes to `idx` the positions of a stable sort of `lane`.
    fn argsort_lane(lane: &[Self], idx: &mut [i64]);
}

/// Sorting through the comparison of `cmp_nl`, stable.
fn compare_sort<T: RElem>(lane: &[T], out: &mut [T]) {
    out.copy_from_slice(lane);
    out.sort_by(cmp_nl);
}

fn compare_argsort<T: RElem>(lane: &[T], idx: &mut [i64]) {
    for (i, x) in idx.iter_mut().enumerate() {
        *x = i as i64;
    }
    idx.sort_by(|&i, &j| cmp_nl(&lane[i as usize], &lane[j as usize]));
}

/// The radix path of [`LaneSort`] for a type with an order-preserving key:
/// `$key(x, canonical)` (canonical: one key for all NaN and both zeros) and its inverse.
macro_rules! radix_lane_sort {
    ($($T:ty => $K:ty, |$x:ident, $c:tt| $key:expr, |$k:ident| $from:expr;)*) => {$(
        impl LaneSort for $T {
            fn sort_lane(lane: &[$T], out: &mut [$T]) {
                if lane.len() < RADIX_MIN {
                    return compare_sort(lane, out);
                }
                // Functions, not function pointers: the passes inline them.
                fn key($x: $T, $c: bool) -> $K { $key }
                fn from($k: $K) -> $T { $from }
                // The values themselves are sorted, straight into `out`.
                let by = |x: &$T| u64::from(key(*x, false));
                Groups::split(lane, out, &|_, &x| x, &by).sort(out, None, &by);
                // Every NaN (the largest key, so last) as the canonical NaN.
                for x in out.iter_mut().rev() {
                    let k = key(*x, false);
                    if k != <$K>::MAX {
                        break;
                    }
                    *x = from(k);
                }
            }
            fn argsort_lane(lane: &[$T], idx: &mut [i64]) {
                if lane.len() < RADIX_MIN || lane.len() > u32::MAX as usize {
                    return compare_argsort(lane, idx);
                }
                fn key($x: $T, $c: bool) -> $K { $key }
                let by = |p: &($K, u32)| u64::from(p.0);
                let mut pairs = vec![(<$K>::default(), 0u32); lane.len()];
                Groups::split(lane, &mut pairs, &|i, &x| (key(x, true), i as u32), &by)
                    .sort(&mut pairs, None, &by);
                let index = |(o, p): (&mut i64, &($K, u32))| *o = i64::from(p.1);
                if lane.len() >= PAR_MIN {
                    idx.par_iter_mut().zip(&pairs).for_each(index);
                } else {
                    idx.iter_mut().zip(&pairs).for_each(index);
                }
            }
        }
    )*};
}

/// The order-preserving key of a float's bits (`sign` is the sign bit): negative values
/// flip all bits, positive ones set the sign bit; NaN is the largest key.
macro_rules! float_key {
    ($U:ty, $sign:expr) => {
        |bits: $U, nan: bool, canonical: bool| -> $U {
            if nan {
                <$U>::MAX
            } else if canonical && bits & !$sign == 0 {
                $sign // both zeros as +0.0
            } else if bits & $sign != 0 {
                !bits
            } else {
                bits | $sign
            }
        }
    };
}

/// The inverse of [`float_key`] (the NaN key gives a NaN).
macro_rules! float_from_key {
    ($U:ty, $sign:expr) => {
        |k: $U| -> $U { if k & $sign != 0 { k & !$sign } else { !k } }
    };
}

radix_lane_sort! {
    bool => u8, |x, _| u8::from(x), |k| k != 0;
    u8 => u8, |x, _| x, |k| k;
    u16 => u16, |x, _| x, |k| k;
    u32 => u32, |x, _| x, |k| k;
    u64 => u64, |x, _| x, |k| k;
    i8 => u8, |x, _| (x as u8) ^ 0x80, |k| (k ^ 0x80) as i8;
    i16 => u16, |x, _| (x as u16) ^ 0x8000, |k| (k ^ 0x8000) as i16;
    i32 => u32, |x, _| (x as u32) ^ 0x8000_0000, |k| (k ^ 0x8000_0000) as i32;
    i64 => u64, |x, _| (x as u64) ^ (1 << 63), |k| (k ^ (1 << 63)) as i64;
    f32 => u32, |x, c| float_key!(u32, 1 << 31)(x.to_bits(), x.is_nan(), c),
        |k| if k == u32::MAX { f32::NAN } else { f32::from_bits(float_from_key!(u32, 1 << 31)(k)) };
    f64 => u64, |x, c| float_key!(u64, 1 << 63)(x.to_bits(), x.is_nan(), c),
        |k| if k == u64::MAX { f64::NAN } else { f64::from_bits(float_from_key!(u64, 1 << 63)(k)) };
    f16 => u16, |x, c| float_key!(u16, 1 << 15)(x.to_bits(), x.is_nan(), c),
        |k| if k == u16::MAX { f16::NAN } else { f16::from_bits(float_from_key!(u16, 1 << 15)(k)) };
    bf16 => u16, |x, c| float_key!(u16, 1 << 15)(x.to_bits(), x.is_nan(), c),
        |k| if k == u16::MAX { bf16::NAN } else { bf16::from_bits(float_from_key!(u16, 1 << 15)(k)) };
}

macro_rules! compare_lane_sort {
    ($($T:ty),*) => {$(
        impl LaneSort for $T {
            fn sort_lane(lane: &[$T], out: &mut [$T]) {
                compare_sort(lane, out)
            }
            fn argsort_lane(lane: &[$T], idx: &mut [i64]) {
                compare_argsort(lane, idx)
            }
        }
    )*};
}
compare_lane_sort!(Complex32, Complex64);

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(n: usize, seed: u64) -> Vec<u64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                s >> 11
            })
            .collect()
    }

    /// The radix argsort of `xs` is the stable comparison sort's, index for index.
    fn same_argsort<T: LaneSort + RElem>(xs: &[T]) {
        let (mut got, mut want) = (vec![0i64; xs.len()], vec![0i64; xs.len()]);
        T::argsort_lane(xs, &mut got);
        compare_argsort(xs, &mut want);
        assert_eq!(got, want);
    }

    #[test]
    fn radix_sorts_agree_with_the_comparison_sort() {
        let n = 5000;
        let r = lcg(n, 7);
        // floats with NaN of both signs, both zeros, infinities, ties
        let mut f: Vec<f64> = r.iter().map(|&v| ((v % 41) as f64 - 20.0) / 4.0).collect();
        for (i, v) in [
            f64::NAN,
            -f64::NAN,
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            0.0,
        ]
        .into_iter()
        .enumerate()
        {
            f[i * 13] = v;
        }
        let mut want = f.clone();
        want.sort_by(cmp_nl);
        let mut got = f.clone();
        f64::sort_lane(&f, &mut got);
        for (g, w) in got.iter().zip(&want) {
            assert!((g.is_nan() && w.is_nan()) || g == w, "{g} vs {w}");
        }
        // -0.0 before +0.0 among the zeros
        let z: Vec<&f64> = got.iter().filter(|x| **x == 0.0).collect();
        assert!(
            z.windows(2)
                .all(|w| !(w[0].is_sign_positive() && w[1].is_sign_negative()))
        );
        // argsort: the stable comparison sort's indices exactly
        same_argsort(&f);

        let f32s: Vec<f32> = f.iter().map(|&x| x as f32).collect();
        same_argsort(&f32s);
        let h: Vec<f16> = f.iter().map(|&x| f16::from_f64(x)).collect();
        same_argsort(&h);

        let ints: Vec<i64> = r.iter().map(|&v| v as i64 - (1 << 52)).collect();
        let mut got = ints.clone();
        i64::sort_lane(&ints, &mut got);
        let mut want = ints.clone();
        want.sort();
        assert_eq!(got, want);
        let i8s: Vec<i8> = r.iter().map(|&v| v as i8).collect();
        same_argsort(&i8s);
        let u: Vec<u64> = r.iter().map(|&v| v << 11).collect();
        let mut got = u.clone();
        u64::sort_lane(&u, &mut got);
        let mut want = u;
        want.sort();
        assert_eq!(got, want);
        let b: Vec<bool> = r.iter().map(|&v| v & 1 == 1).collect();
        same_argsort(&b);
    }

    /// Lanes long enough to split on their top digit (over threads, and a group long
    /// enough to split again) sort as the comparison sort does.
    #[test]
    fn long_lanes_split_on_the_top_digit_and_agree() {
        let n = PAR_MIN + 4321;
        let r = lcg(n, 11);
        let uniform: Vec<f64> = r
            .iter()
            .map(|&v| 0.5 + v as f64 / (1u64 << 53) as f64)
            .collect();
        // most keys share their top bits and many tie: one group splits again
        let skewed: Vec<f64> = r
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                if i % 10 == 0 {
                    -(v as f64)
                } else {
                    1.0 + (v % 1000) as f64 * 1e-12
                }
            })
            .collect();
        for xs in [&uniform, &skewed] {
            let mut want = xs.clone();
            want.sort_by(cmp_nl);
            let mut got = vec![0.0; n];
            f64::sort_lane(xs, &mut got);
            assert!(got == want);
            same_argsort(xs);
        }
        // float32 in [0.5, 1.5): 24 differing bits, 13 left below the split, sorted in
        // two even passes
        let f32s: Vec<f32> = uniform.iter().map(|&x| x as f32).collect();
        let mut want = f32s.clone();
        want.sort_by(cmp_nl);
        let mut got = vec![0.0f32; n];
        f32::sort_lane(&f32s, &mut got);
        assert!(got == want);
        same_argsort(&f32s);
        let ints: Vec<i32> = r.iter().map(|&v| (v % 100_000) as i32 - 50_000).collect();
        let mut got = vec![0; n];
        i32::sort_lane(&ints, &mut got);
        let mut want = ints.clone();
        want.sort();
        assert_eq!(got, want);
        same_argsort(&ints);
    }

    #[test]
    fn long_runs_of_one_key_sort() {
        // a lane of one value, and a lane whose largest group is one value repeated
        for n in [MSD_MIN, PAR_MIN + 5] {
            let equal = vec![0.0f64; n];
            let mut got = vec![1.0; n];
            f64::sort_lane(&equal, &mut got);
            assert!(got == equal);
            same_argsort(&equal);
            let mut xs: Vec<f64> = (0..n)
                .map(|i| if i % 3 == 0 { i as f64 } else { 7.0 })
                .collect();
            xs[1] = -0.0; // equal to +0.0 for argsort
            let mut want = xs.clone();
            want.sort_by(cmp_nl);
            f64::sort_lane(&xs, &mut got);
            assert!(got == want);
            same_argsort(&xs);
            let ints = vec![-3i16; n];
            let mut got = vec![0i16; n];
            i16::sort_lane(&ints, &mut got);
            assert_eq!(got, ints);
            same_argsort(&ints);
        }
    }

    #[test]
    fn keys_the_sample_misses_still_choose_the_split() {
        for n in [MSD_MIN + 77, PAR_MIN + 77] {
            // Index 0 and every multiple of the sampling step are 1.0, so the sample
            // sees no differing bit (the split's digit comes from every key) or only
            // the low ones (the count pass finds the outliers' higher bits and counts
            // again on the right digit).
            let step = n / SAMPLES;
            for spread in [0.0, 1e-9] {
                let mut xs: Vec<f64> = (0..n)
                    .map(|i| 1.0 + spread * ((i * 7919) % 1000) as f64)
                    .collect();
                for (i, v) in [(1, -5.0), (2, f64::NAN), (step + 3, 3.0), (n - 1, 0.25)] {
                    xs[i] = v;
                }
                let mut want = xs.clone();
                want.sort_by(cmp_nl);
                let mut got = vec![0.0; n];
                f64::sort_lane(&xs, &mut got);
                assert!(got.iter().zip(&want).all(|(a, b)| a.total_cmp(b).is_eq()));
                same_argsort(&xs);
            }
        }
    }
}
