// ndserve's CUDA prelude: element types, conversions with NumPy's semantics, and the
// `nd_*` helpers that the elementwise rows' `cuda` expressions call (one overload per
// element kind). Compiled by NVRTC in front of every generated kernel; it includes no
// header, so it needs no CUDA toolkit on the machine.

#define ND_INF __int_as_float(0x7f800000)
#define ND_NAN __int_as_float(0x7fc00000)

typedef signed char i8;
typedef short i16;
typedef int i32;
typedef long long i64;
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

// The 16-bit floats are stored as bits and computed in float, as NumPy's loops do.
struct f16 { u16 bits; };
struct bf16 { u16 bits; };

__device__ __forceinline__ float h2f(f16 h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h.bits));
    return f;
}
__device__ __forceinline__ f16 f2h(float f) {
    f16 h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h.bits) : "f"(f));
    return h;
}
__device__ __forceinline__ f16 d2h(double d) {
    f16 h;
    asm("cvt.rn.f16.f64 %0, %1;" : "=h"(h.bits) : "d"(d));
    return h;
}
__device__ __forceinline__ float b2f(bf16 b) {
    return __uint_as_float(((u32)b.bits) << 16);
}
__device__ __forceinline__ bf16 f2b(float f) {
    // Round to nearest even; NaN stays a (quiet) NaN.
    u32 u = __float_as_uint(f);
    bf16 b;
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        b.bits = (u16)((u >> 16) | 0x40u);
    } else {
        b.bits = (u16)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
    }
    return b;
}

template <typename R> struct cplx { R re, im; };
typedef cplx<float> c64;
typedef cplx<double> c128;

// The computation type of a storage type.
template <typename S> struct CT { typedef S t; };
template <> struct CT<f16> { typedef float t; };
template <> struct CT<bf16> { typedef float t; };

// Cv<To, From>::f converts as NumPy's astype: C conversions between the primitive types
// (non-zero is true), the 16-bit floats through float (f64 to f16 rounds once), complex
// to real keeps the real part.
template <typename To, typename From> struct Cv {
    __device__ static __forceinline__ To f(From x) { return (To)x; }
};
template <typename To, typename From> struct Cv<To, const From> : Cv<To, From> {};
template <typename To> struct Cv<To, f16> {
    __device__ static __forceinline__ To f(f16 x) { return Cv<To, float>::f(h2f(x)); }
};
template <typename To> struct Cv<To, bf16> {
    __device__ static __forceinline__ To f(bf16 x) { return Cv<To, float>::f(b2f(x)); }
};
template <typename From> struct Cv<f16, From> {
    __device__ static __forceinline__ f16 f(From x) { return f2h(Cv<float, From>::f(x)); }
};
template <typename From> struct Cv<bf16, From> {
    __device__ static __forceinline__ bf16 f(From x) { return f2b(Cv<float, From>::f(x)); }
};
template <> struct Cv<f16, double> {
    __device__ static __forceinline__ f16 f(double x) { return d2h(x); }
};
template <> struct Cv<f16, f16> {
    __device__ static __forceinline__ f16 f(f16 x) { return x; }
};
template <> struct Cv<bf16, bf16> {
    __device__ static __forceinline__ bf16 f(bf16 x) { return x; }
};
template <> struct Cv<f16, bf16> {
    __device__ static __forceinline__ f16 f(bf16 x) { return f2h(b2f(x)); }
};
template <> struct Cv<bf16, f16> {
    __device__ static __forceinline__ bf16 f(f16 x) { return f2b(h2f(x)); }
};
template <typename R, typename From> struct Cv<cplx<R>, From> {
    __device__ static __forceinline__ cplx<R> f(From x) {
        cplx<R> c = {Cv<R, From>::f(x), (R)0};
        return c;
    }
};
template <typename To, typename R> struct Cv<To, cplx<R> > {
    __device__ static __forceinline__ To f(cplx<R> x) { return Cv<To, R>::f(x.re); }
};
template <typename R, typename Q> struct Cv<cplx<R>, cplx<Q> > {
    __device__ static __forceinline__ cplx<R> f(cplx<Q> x) {
        cplx<R> c = {(R)x.re, (R)x.im};
        return c;
    }
};
template <typename R> struct Cv<bool, cplx<R> > {
    __device__ static __forceinline__ bool f(cplx<R> x) { return x.re != 0 || x.im != 0; }
};
template <typename R> struct Cv<cplx<R>, f16> {
    __device__ static __forceinline__ cplx<R> f(f16 x) {
        cplx<R> c = {(R)h2f(x), (R)0};
        return c;
    }
};
template <typename R> struct Cv<cplx<R>, bf16> {
    __device__ static __forceinline__ cplx<R> f(bf16 x) {
        cplx<R> c = {(R)b2f(x), (R)0};
        return c;
    }
};
template <typename R> struct Cv<f16, cplx<R> > {
    __device__ static __forceinline__ f16 f(cplx<R> x) { return Cv<f16, R>::f(x.re); }
};
template <typename R> struct Cv<bf16, cplx<R> > {
    __device__ static __forceinline__ bf16 f(cplx<R> x) { return Cv<bf16, R>::f(x.re); }
};

// ---- complex arithmetic -------------------------------------------------------------
template <typename R> __device__ __forceinline__ cplx<R> mk(R re, R im) {
    cplx<R> c = {re, im};
    return c;
}
template <typename R> __device__ __forceinline__ cplx<R> operator-(cplx<R> a) {
    return mk(-a.re, -a.im);
}
template <typename R> __device__ __forceinline__ cplx<R> operator+(cplx<R> a, cplx<R> b) {
    return mk(a.re + b.re, a.im + b.im);
}
template <typename R> __device__ __forceinline__ cplx<R> operator-(cplx<R> a, cplx<R> b) {
    return mk(a.re - b.re, a.im - b.im);
}
template <typename R> __device__ __forceinline__ cplx<R> operator*(cplx<R> a, cplx<R> b) {
    return mk(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re);
}
template <typename R> __device__ __forceinline__ bool operator==(cplx<R> a, cplx<R> b) {
    return a.re == b.re && a.im == b.im;
}
template <typename R> __device__ __forceinline__ bool operator!=(cplx<R> a, cplx<R> b) {
    return !(a == b);
}

// ---- real math: one overload per float type -----------------------------------------
#define ND_F1(name, ff, df) \
    __device__ __forceinline__ float name(float x) { return ff(x); } \
    __device__ __forceinline__ double name(double x) { return df(x); }
ND_F1(nd_sqrt, sqrtf, sqrt)
ND_F1(nd_exp, expf, exp)
ND_F1(nd_log, logf, log)
ND_F1(nd_sin, sinf, sin)
ND_F1(nd_cos, cosf, cos)
ND_F1(nd_tan, tanf, tan)
ND_F1(nd_tanh, tanhf, tanh)
ND_F1(nd_sinh, sinhf, sinh)
ND_F1(nd_cosh, coshf, cosh)
ND_F1(nd_asin, asinf, asin)
ND_F1(nd_acos, acosf, acos)
ND_F1(nd_atan, atanf, atan)
ND_F1(nd_asinh, asinhf, asinh)
ND_F1(nd_acosh, acoshf, acosh)
ND_F1(nd_atanh, atanhf, atanh)
ND_F1(nd_exp2, exp2f, exp2)
ND_F1(nd_expm1, expm1f, expm1)
ND_F1(nd_log2, log2f, log2)
ND_F1(nd_log10, log10f, log10)
ND_F1(nd_log1p, log1pf, log1p)
ND_F1(nd_cbrt, cbrtf, cbrt)
ND_F1(nd_fabs, fabsf, fabs)
ND_F1(nd_ceil, ceilf, ceil)
ND_F1(nd_floor, floorf, floor)
ND_F1(nd_trunc, truncf, trunc)
#define ND_F2(name, ff, df) \
    __device__ __forceinline__ float name(float a, float b) { return ff(a, b); } \
    __device__ __forceinline__ double name(double a, double b) { return df(a, b); }
ND_F2(nd_atan2, atan2f, atan2)
ND_F2(nd_hypot, hypotf, hypot)
ND_F2(nd_fmod_f, fmodf, fmod)

// Integers and bool keep their value under ceil, floor and trunc.
template <typename I> __device__ __forceinline__ I nd_ceil(I x) { return x; }
template <typename I> __device__ __forceinline__ I nd_floor(I x) { return x; }
template <typename I> __device__ __forceinline__ I nd_trunc(I x) { return x; }

// ---- complex math -------------------------------------------------------------------
template <typename R> __device__ __forceinline__ R nd_abs(cplx<R> x) { return nd_hypot(x.re, x.im); }
template <typename R> __device__ __forceinline__ cplx<R> nd_exp(cplx<R> x) {
    R e = nd_exp(x.re);
    if (x.im == 0) return mk(e, x.im);
    return mk(e * nd_cos(x.im), e * nd_sin(x.im));
}
template <typename R> __device__ __forceinline__ cplx<R> nd_log(cplx<R> x) {
    return mk(nd_log(nd_abs(x)), nd_atan2(x.im, x.re));
}
template <typename R> __device__ __forceinline__ cplx<R> nd_sqrt(cplx<R> x) {
    // The principal root, as C99's csqrt (branch cut on the negative real axis).
    R a = x.re, b = x.im;
    if (a == 0 && b == 0) return mk((R)0, b);
    if (isinf(b)) return mk((R)ND_INF, b);
    if (isnan(a)) return mk(a, a);
    if (isinf(a)) {
        if (signbit(a)) return mk(isnan(b) ? b : (R)0, copysign((R)ND_INF, b));
        return mk(a, isnan(b) ? b : copysign((R)0, b));
    }
    R t = nd_sqrt((nd_fabs(a) + nd_abs(x)) * (R)0.5);
    if (a >= 0) return mk(t, b / (2 * t));
    return mk(nd_fabs(b) / (2 * t), copysign(t, b));
}
template <typename R> __device__ __forceinline__ cplx<R> nd_sin(cplx<R> x) {
    return mk(nd_sin(x.re) * nd_cosh(x.im), nd_cos(x.re) * nd_sinh(x.im));
}
template <typename R> __device__ __forceinline__ cplx<R> nd_cos(cplx<R> x) {
    return mk(nd_cos(x.re) * nd_cosh(x.im), -nd_sin(x.re) * nd_sinh(x.im));
}
template <typename R> __device__ __forceinline__ cplx<R> nd_sinh(cplx<R> x) {
    return mk(nd_sinh(x.re) * nd_cos(x.im), nd_cosh(x.re) * nd_sin(x.im));
}
template <typename R> __device__ __forceinline__ cplx<R> nd_cosh(cplx<R> x) {
    return mk(nd_cosh(x.re) * nd_cos(x.im), nd_sinh(x.re) * nd_sin(x.im));
}
template <typename R> __device__ __forceinline__ cplx<R> nd_conj(cplx<R> x) { return mk(x.re, -x.im); }
template <typename T> __device__ __forceinline__ T nd_conj(T x) { return x; }
template <typename R> __device__ __forceinline__ R nd_real(cplx<R> x) { return x.re; }
template <typename T> __device__ __forceinline__ T nd_real(T x) { return x; }
template <typename R> __device__ __forceinline__ R nd_imag(cplx<R> x) { return x.im; }
template <typename T> __device__ __forceinline__ T nd_imag(T) { return (T)0; }
template <typename R> __device__ __forceinline__ bool nd_iscomplex(cplx<R> x) { return x.im != 0; }
template <typename T> __device__ __forceinline__ bool nd_iscomplex(T) { return false; }

// NumPy's complex division (Smith's algorithm, as npymath).
template <typename R> __device__ __forceinline__ cplx<R> nd_div(cplx<R> a, cplx<R> b) {
    R abs_br = nd_fabs(b.re), abs_bi = nd_fabs(b.im);
    if (abs_br >= abs_bi) {
        if (abs_br == 0 && abs_bi == 0) {
            return mk(a.re / abs_br, a.im / abs_bi);
        }
        R rat = b.im / b.re;
        R scl = (R)1.0 / (b.re + b.im * rat);
        return mk((a.re + a.im * rat) * scl, (a.im - a.re * rat) * scl);
    }
    R rat = b.re / b.im;
    R scl = (R)1.0 / (b.im + b.re * rat);
    return mk((a.re * rat + a.im) * scl, (a.im * rat - a.re) * scl);
}
__device__ __forceinline__ float nd_div(float a, float b) { return a / b; }
__device__ __forceinline__ double nd_div(double a, double b) { return a / b; }

// Lexicographic order of complex numbers (NumPy 2), with NaNs as NumPy's loops.
template <typename R> __device__ __forceinline__ bool nd_lt(cplx<R> a, cplx<R> b) {
    return a.re < b.re || (a.re == b.re && a.im < b.im);
}
template <typename R> __device__ __forceinline__ bool nd_le(cplx<R> a, cplx<R> b) {
    return a.re < b.re || (a.re == b.re && a.im <= b.im);
}
template <typename T> __device__ __forceinline__ bool nd_lt(T a, T b) { return a < b; }
template <typename T> __device__ __forceinline__ bool nd_le(T a, T b) { return a <= b; }

// ---- predicates ---------------------------------------------------------------------
template <typename T> __device__ __forceinline__ bool nd_isnan(T) { return false; }
__device__ __forceinline__ bool nd_isnan(float x) { return isnan(x); }
__device__ __forceinline__ bool nd_isnan(double x) { return isnan(x); }
template <typename R> __device__ __forceinline__ bool nd_isnan(cplx<R> x) { return isnan(x.re) || isnan(x.im); }
template <typename T> __device__ __forceinline__ bool nd_isinf(T) { return false; }
__device__ __forceinline__ bool nd_isinf(float x) { return isinf(x); }
__device__ __forceinline__ bool nd_isinf(double x) { return isinf(x); }
template <typename R> __device__ __forceinline__ bool nd_isinf(cplx<R> x) { return isinf(x.re) || isinf(x.im); }
template <typename T> __device__ __forceinline__ bool nd_isfinite(T) { return true; }
__device__ __forceinline__ bool nd_isfinite(float x) { return isfinite(x); }
__device__ __forceinline__ bool nd_isfinite(double x) { return isfinite(x); }
template <typename R> __device__ __forceinline__ bool nd_isfinite(cplx<R> x) { return isfinite(x.re) && isfinite(x.im); }
template <typename T> __device__ __forceinline__ bool nd_isneginf(T x) { return nd_isinf(x) && x < 0; }
template <typename T> __device__ __forceinline__ bool nd_isposinf(T x) { return nd_isinf(x) && x > 0; }
template <typename T> __device__ __forceinline__ bool nd_is_zero(T x) { return x == (T)0; }
template <typename R> __device__ __forceinline__ bool nd_is_zero(cplx<R> x) { return x.re == 0 && x.im == 0; }
template <typename T> __device__ __forceinline__ bool nd_signbit(T x) { return x < 0; }
__device__ __forceinline__ bool nd_signbit(float x) { return signbit(x); }
__device__ __forceinline__ bool nd_signbit(double x) { return signbit(x); }

// ---- sign, abs, reciprocal ----------------------------------------------------------
template <typename T> __device__ __forceinline__ T nd_sign(T x) {
    return x > 0 ? (T)1 : (x < 0 ? (T)-1 : x);
}
template <typename R> __device__ __forceinline__ cplx<R> nd_sign(cplx<R> x) {
    // NumPy 2: x / |x|, 0 for 0.
    R n = nd_abs(x);
    if (n == 0) return mk((R)0, (R)0);
    if (isnan(n)) return mk(n, n);
    if (isinf(n)) {
        R re = isinf(x.re) ? copysign((R)1, x.re) : (R)0;
        R im = isinf(x.im) ? copysign((R)1, x.im) : (R)0;
        if (re != 0 && im != 0) return mk((R)ND_NAN, (R)ND_NAN);
        return mk(re, im);
    }
    return mk(x.re / n, x.im / n);
}
template <typename T> __device__ __forceinline__ T nd_abs(T x) { return x < 0 ? (T)-x : x; }
__device__ __forceinline__ bool nd_abs(bool x) { return x; }
__device__ __forceinline__ float nd_abs(float x) { return fabsf(x); }
__device__ __forceinline__ double nd_abs(double x) { return fabs(x); }
template <typename T> __device__ __forceinline__ T nd_recip(T x) { return x == 0 ? x : (T)((T)1 / x); }
__device__ __forceinline__ float nd_recip(float x) { return 1.0f / x; }
__device__ __forceinline__ double nd_recip(double x) { return 1.0 / x; }
template <typename R> __device__ __forceinline__ cplx<R> nd_recip(cplx<R> x) { return nd_div(mk((R)1, (R)0), x); }
template <typename T> __device__ __forceinline__ T nd_invert(T x) { return (T)~x; }
__device__ __forceinline__ bool nd_invert(bool x) { return !x; }
template <typename T> __device__ __forceinline__ T nd_sinc(T x) {
    T y = (T)3.14159265358979323846 * (x == 0 ? (T)1.0e-20 : x);
    return nd_sin(y) / y;
}
template <typename R> __device__ __forceinline__ cplx<R> nd_sinc(cplx<R> x) {
    if (x.re == 0 && x.im == 0) x.re = (R)1.0e-20;
    cplx<R> y = mk((R)3.14159265358979323846 * x.re, (R)3.14159265358979323846 * x.im);
    return nd_div(nd_sin(y), y);
}

// ---- integer division family (NumPy: 0 for a zero divisor) ------------------------
template <typename T> __device__ __forceinline__ T nd_floor_div(T a, T b) {
    if (b == 0) return (T)0;
    if ((T)-1 < (T)0 && b == (T)-1) return (T)(0 - (u64)a);  // wraps for the minimum
    T q = (T)(a / b);
    if ((T)-1 < (T)0 && (a % b) != 0 && ((a < 0) != (b < 0))) q = (T)(q - 1);
    return q;
}
template <typename T> __device__ __forceinline__ T nd_mod(T a, T b) {
    if (b == 0) return (T)0;
    if ((T)-1 < (T)0 && b == (T)-1) return (T)0;
    T r = (T)(a % b);
    if ((T)-1 < (T)0 && r != 0 && ((r < 0) != (b < 0))) r = (T)(r + b);
    return r;
}
template <typename T> __device__ __forceinline__ T nd_fmod(T a, T b) {
    if (b == 0) return (T)0;
    if ((T)-1 < (T)0 && b == (T)-1) return (T)0;
    return (T)(a % b);
}
__device__ __forceinline__ float nd_fmod(float a, float b) { return fmodf(a, b); }
__device__ __forceinline__ double nd_fmod(double a, double b) { return fmod(a, b); }
// Python's float floor division and modulo (npymath's npy_divmod).
template <typename F> __device__ __forceinline__ F nd_fmod_py(F a, F b, F* div) {
    F m = nd_fmod_f(a, b);
    if (b == 0) {
        *div = a / b;
        return m;
    }
    F d = (a - m) / b;
    if (m != 0) {
        if ((b < 0) != (m < 0)) {
            m += b;
            d -= (F)1;
        }
    } else {
        m = copysign((F)0, b);
    }
    F fd;
    if (d != 0) {
        fd = nd_floor(d);
        if (d - fd > (F)0.5) fd += (F)1;
    } else {
        fd = copysign((F)0, a / b);
    }
    *div = fd;
    return m;
}
__device__ __forceinline__ float nd_floor_div(float a, float b) {
    float d;
    nd_fmod_py(a, b, &d);
    return d;
}
__device__ __forceinline__ double nd_floor_div(double a, double b) {
    double d;
    nd_fmod_py(a, b, &d);
    return d;
}
__device__ __forceinline__ float nd_mod(float a, float b) {
    float d;
    return nd_fmod_py(a, b, &d);
}
__device__ __forceinline__ double nd_mod(double a, double b) {
    double d;
    return nd_fmod_py(a, b, &d);
}

// ---- power --------------------------------------------------------------------------
template <typename T> __device__ __forceinline__ T nd_pow(T a, T b) {
    // Integers: square-and-multiply over the exponent's bits, wrapping (negative: 0).
    if (b < 0) return (T)0;
    u64 e = (u64)b;
    u64 base = (u64)a;
    u64 out = (e & 1) ? base : 1;
    e >>= 1;
    while (e > 0) {
        base *= base;
        if (e & 1) out *= base;
        e >>= 1;
    }
    return (T)out;
}
__device__ __forceinline__ float nd_pow(float a, float b) { return powf(a, b); }
__device__ __forceinline__ double nd_pow(double a, double b) { return pow(a, b); }
template <typename R> __device__ __forceinline__ cplx<R> nd_pow(cplx<R> a, cplx<R> b) {
    if (b.re == 0 && b.im == 0) return mk((R)1, (R)0);
    // NumPy 2: 0 ** b is 0 for any b with a positive real part.
    if (a.re == 0 && a.im == 0) {
        if (b.re > 0) return mk((R)0, (R)0);
        return mk((R)ND_NAN, (R)ND_NAN);
    }
    if (b.im == 0 && b.re == nd_floor(b.re) && nd_fabs(b.re) < 100) {
        // Small integer powers by repeated multiplication, as npymath.
        long long n = (long long)b.re;
        if (n == 1) return a;
        if (n == 2) return a * a;
        if (n == 3) return a * a * a;
        cplx<R> r = mk((R)1, (R)0), p = a;
        long long m = n < 0 ? -n : n;
        while (m > 0) {
            if (m & 1) r = r * p;
            p = p * p;
            m >>= 1;
        }
        return n < 0 ? nd_div(mk((R)1, (R)0), r) : r;
    }
    return nd_exp(b * nd_log(a));
}

// ---- max/min (NaN-propagating) and fmax/fmin (NaN-ignoring) ------------------------
template <typename T> __device__ __forceinline__ T nd_maximum(T a, T b) { return a >= b ? a : b; }
template <typename T> __device__ __forceinline__ T nd_minimum(T a, T b) { return a <= b ? a : b; }
__device__ __forceinline__ float nd_maximum(float a, float b) { return (a > b || isnan(a)) ? a : b; }
__device__ __forceinline__ double nd_maximum(double a, double b) { return (a > b || isnan(a)) ? a : b; }
__device__ __forceinline__ float nd_minimum(float a, float b) { return (a < b || isnan(a)) ? a : b; }
__device__ __forceinline__ double nd_minimum(double a, double b) { return (a < b || isnan(a)) ? a : b; }
template <typename R> __device__ __forceinline__ cplx<R> nd_maximum(cplx<R> a, cplx<R> b) {
    return (nd_isnan(a) || !nd_lt(a, b)) ? a : b;
}
template <typename R> __device__ __forceinline__ cplx<R> nd_minimum(cplx<R> a, cplx<R> b) {
    return (nd_isnan(a) || nd_le(a, b)) ? a : b;
}
template <typename T> __device__ __forceinline__ T nd_fmax(T a, T b) { return a >= b ? a : b; }
template <typename T> __device__ __forceinline__ T nd_fmin(T a, T b) { return a <= b ? a : b; }
__device__ __forceinline__ float nd_fmax(float a, float b) { return (a >= b || isnan(b)) ? a : b; }
__device__ __forceinline__ double nd_fmax(double a, double b) { return (a >= b || isnan(b)) ? a : b; }
__device__ __forceinline__ float nd_fmin(float a, float b) { return (a <= b || isnan(b)) ? a : b; }
__device__ __forceinline__ double nd_fmin(double a, double b) { return (a <= b || isnan(b)) ? a : b; }
template <typename R> __device__ __forceinline__ cplx<R> nd_fmax(cplx<R> a, cplx<R> b) {
    return (nd_isnan(b) || !nd_lt(a, b)) ? a : b;
}
template <typename R> __device__ __forceinline__ cplx<R> nd_fmin(cplx<R> a, cplx<R> b) {
    return (nd_isnan(b) || nd_le(a, b)) ? a : b;
}

// ---- the float rows -----------------------------------------------------------------
template <typename F> __device__ __forceinline__ F nd_logaddexp(F a, F b) {
    if (a == b) return a + (F)0.69314718055994530942;
    F t = a - b;
    if (t > 0) return a + nd_log1p(nd_exp(-t));
    if (t <= 0) return b + nd_log1p(nd_exp(t));
    return t;
}
template <typename F> __device__ __forceinline__ F nd_logaddexp2(F a, F b) {
    if (a == b) return a + (F)1;
    F t = a - b;
    if (t > 0) return a + (F)1.44269504088896340736 * nd_log1p(nd_exp2(-t));
    if (t <= 0) return b + (F)1.44269504088896340736 * nd_log1p(nd_exp2(t));
    return t;
}
template <typename F> __device__ __forceinline__ F nd_heaviside(F x, F h) {
    if (x < 0) return (F)0;
    if (x > 0) return (F)1;
    if (x == 0) return h;
    return x;
}
template <typename F> __device__ __forceinline__ F nd_copysign(F x, F s) {
    return (signbit(x) != 0) == (signbit(s) != 0) ? x : -x;
}

// nextafter in the storage type S (the 16-bit floats step their own bits).
template <typename S> struct NextAfter;
template <> struct NextAfter<float> {
    __device__ static __forceinline__ float f(float a, float b) { return nextafterf(a, b); }
};
template <> struct NextAfter<double> {
    __device__ static __forceinline__ double f(double a, double b) { return nextafter(a, b); }
};
__device__ __forceinline__ u16 nd_step16(u16 bits, bool up) {
    if ((bits & 0x7fffu) == 0) return (u16)(1u | (up ? 0u : 0x8000u));
    if (up == ((bits & 0x8000u) == 0)) return (u16)(bits + 1);
    return (u16)(bits - 1);
}
template <> struct NextAfter<f16> {
    __device__ static __forceinline__ float f(float a, float b) {
        if (isnan(a) || isnan(b)) return ND_NAN;
        if (a == b) return b;
        f16 h = f2h(a);
        h.bits = nd_step16(h.bits, b > a);
        return h2f(h);
    }
};
template <> struct NextAfter<bf16> {
    __device__ static __forceinline__ float f(float a, float b) {
        if (isnan(a) || isnan(b)) return ND_NAN;
        if (a == b) return b;
        bf16 h = f2b(a);
        h.bits = nd_step16(h.bits, b > a);
        return b2f(h);
    }
};
template <typename S, typename F> __device__ __forceinline__ F nd_nextafter(F a, F b) {
    return NextAfter<S>::f(a, b);
}

// ---- the integer rows ---------------------------------------------------------------
template <typename T> __device__ __forceinline__ u64 nd_uabs(T x) {
    return x < 0 ? (u64)0 - (u64)(i64)x : (u64)x;
}
__device__ __forceinline__ u64 nd_gcd_u(u64 a, u64 b) {
    while (b != 0) {
        u64 t = a % b;
        a = b;
        b = t;
    }
    return a;
}
template <typename T> __device__ __forceinline__ T nd_gcd(T a, T b) {
    return (T)nd_gcd_u(nd_uabs(a), nd_uabs(b));
}
template <typename T> __device__ __forceinline__ T nd_lcm(T a, T b) {
    u64 x = nd_uabs(a), y = nd_uabs(b);
    u64 g = nd_gcd_u(x, y);
    return g == 0 ? (T)0 : (T)((x / g) * y);
}
template <typename T> __device__ __forceinline__ T nd_shl(T a, T b) {
    if (b < 0 || (u64)b >= sizeof(T) * 8) return (T)0;
    return (T)((u64)a << (u64)b);
}
template <typename T> __device__ __forceinline__ T nd_shr(T a, T b) {
    if (b < 0 || (u64)b >= sizeof(T) * 8) return a < 0 ? (T)-1 : (T)0;
    return (T)(a >> b);
}
