//! Sorting one lane for `sort` and `argsort`: a least-significant-digit radix sort on an
//! order-preserving unsigned key for bool, integers and real floats, and a stable
//! comparison sort for complex numbers and short lanes.
//!
//! The key puts values in NumPy's order (NaN last). For `argsort` it maps every NaN to
//! one key and -0.0 to +0.0's, so equal values keep their input order (a stable sort, as
//! the comparison sort gives). For `sort`, -0.0 sorts before +0.0 (NumPy puts equal
//! values in either order) and every NaN comes out as the canonical NaN.

use half::{bf16, f16};
use num_complex::{Complex32, Complex64};

use super::reduce::RElem;
use super::stats::cmp_nl;

/// Lanes shorter than this use the comparison sort: a radix pass costs a 256-entry
/// histogram.
const RADIX_MIN: usize = 512;

/// An unsigned radix key, sorted a byte per pass.
pub trait RadixKey: Copy + Send + Sync + Default {
    /// Bytes in the key (passes at most).
    const BYTES: usize;
    /// Byte `i` (0 is the least significant).
    fn byte(self, i: usize) -> usize;
}

macro_rules! radix_key {
    ($($K:ty),*) => {$(
        impl RadixKey for $K {
            const BYTES: usize = std::mem::size_of::<$K>();
            #[inline(always)]
            fn byte(self, i: usize) -> usize {
                ((self >> (8 * i)) & 0xff) as usize
            }
        }
    )*};
}
radix_key!(u8, u16, u32, u64);

/// Sorts `items` stably by `key`, a byte per pass, skipping the bytes all keys share.
fn radix_sort_by<T: Copy + Default, K: RadixKey>(items: &mut Vec<T>, key: impl Fn(&T) -> K) {
    let n = items.len();
    let mut counts = vec![[0usize; 256]; K::BYTES];
    for it in items.iter() {
        let k = key(it);
        for (b, c) in counts.iter_mut().enumerate() {
            c[k.byte(b)] += 1;
        }
    }
    let mut tmp = vec![T::default(); n];
    for (b, c) in counts.iter().enumerate() {
        if c.contains(&n) {
            continue; // every key has the same byte here
        }
        let mut offs = [0usize; 256];
        let mut sum = 0;
        for (o, &x) in offs.iter_mut().zip(c) {
            *o = sum;
            sum += x;
        }
        for it in items.iter() {
            let d = key(it).byte(b);
            tmp[offs[d]] = *it;
            offs[d] += 1;
        }
        std::mem::swap(items, &mut tmp);
    }
}

/// How one element type sorts a lane.
pub trait LaneSort: Sized + Copy + Send + Sync {
    /// Sorts `lane` in NumPy's order (NaN last).
    fn sort_lane(lane: &mut [Self]);
    /// Writes to `idx` the positions of a stable sort of `lane`.
    fn argsort_lane(lane: &[Self], idx: &mut [i64]);
}

/// Sorting through the comparison of `cmp_nl`, stable.
fn compare_sort<T: RElem>(lane: &mut [T]) {
    lane.sort_by(cmp_nl);
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
    ($($T:ty => $K:ty, $key:expr, $from:expr;)*) => {$(
        impl LaneSort for $T {
            fn sort_lane(lane: &mut [$T]) {
                if lane.len() < RADIX_MIN {
                    return compare_sort(lane);
                }
                let key: fn($T, bool) -> $K = $key;
                let from: fn($K) -> $T = $from;
                let mut keys: Vec<$K> = lane.iter().map(|&x| key(x, false)).collect();
                radix_sort_by(&mut keys, |&k| k);
                for (o, k) in lane.iter_mut().zip(keys) {
                    *o = from(k);
                }
            }
            fn argsort_lane(lane: &[$T], idx: &mut [i64]) {
                if lane.len() < RADIX_MIN || lane.len() > u32::MAX as usize {
                    return compare_argsort(lane, idx);
                }
                let key: fn($T, bool) -> $K = $key;
                let mut pairs: Vec<($K, u32)> =
                    lane.iter().enumerate().map(|(i, &x)| (key(x, true), i as u32)).collect();
                radix_sort_by(&mut pairs, |p| p.0);
                for (o, p) in idx.iter_mut().zip(pairs) {
                    *o = i64::from(p.1);
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
            fn sort_lane(lane: &mut [$T]) {
                compare_sort(lane)
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
        f64::sort_lane(&mut got);
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
        i64::sort_lane(&mut got);
        let mut want = ints.clone();
        want.sort();
        assert_eq!(got, want);
        let i8s: Vec<i8> = r.iter().map(|&v| v as i8).collect();
        same_argsort(&i8s);
        let u: Vec<u64> = r.iter().map(|&v| v << 11).collect();
        let mut got = u.clone();
        u64::sort_lane(&mut got);
        let mut want = u;
        want.sort();
        assert_eq!(got, want);
        let b: Vec<bool> = r.iter().map(|&v| v & 1 == 1).collect();
        same_argsort(&b);
    }
}
