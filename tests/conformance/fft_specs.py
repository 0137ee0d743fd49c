"""Conformance specs for `fft.*` (np.fft): random calls over dtypes, lengths, axes and norms,
with NumPy's answers; the fixed cases are NumPy's errors.

Tolerances: an FFT's error grows with the sum of the input's magnitudes (log n * eps *
||x||), so an output element near zero compares with an absolute error the per-dtype
tolerances alone would not allow; single-precision cases get 100x, double 10x.
"""

import numpy as np

ONE_D = ["fft.fft", "fft.ifft", "fft.rfft", "fft.irfft"]
N_D = ["fft.fft2", "fft.ifft2", "fft.fftn", "fft.ifftn"]
SINGLE = {"float16", "bfloat16", "float32", "complex64"}


def register(gc):
    A, V, Case, E = gc.A, gc.V, gc.Case, gc.E
    pool = ["bool", "int8", "int32", "int64", "uint8", "uint64", "float16", "float32",
            "float64", "complex64", "complex128"]
    real_pool = [d for d in pool if not d.startswith("complex")]

    for op in ONE_D + N_D:
        gc.SPECIAL_CALLS[op] = getattr(np.fft, op[len("fft."):])

    def tol(dt):
        return 100 if dt in SINGLE else 10

    def norm_kw(g, kw):
        if g.coin(0.4):
            kw["norm"] = V(g.choice(["backward", "ortho", "forward"]))

    def one_d(op):
        def draw(g):
            dt = g.dtype(real_pool if op == "fft.rfft" else pool, bf16=True)
            shape = g.shape(lo=1, hi=3, allow0=False)
            x = g.array(shape, dt, "default")
            kw = {}
            nd = x.ndim
            if g.coin(0.5):
                kw["axis"] = V(g.int(-nd, nd - 1))
            if g.coin(0.5):
                kw["n"] = V(g.int(2, 7))
            elif op == "fft.irfft":
                ax = kw["axis"]["value"] if "axis" in kw else -1
                if shape[ax] < 2:  # default n = 2 * (m - 1) would be 0
                    kw["n"] = V(g.int(2, 7))
            norm_kw(g, kw)
            return Case([A(x)], kw, tol=tol(dt))

        def extras(g):
            out = [
                E([A(np.ones(0))]),                                  # no points
                E([A(np.ones(3))], {"n": V(0)}),                     # n < 1
                E([A(np.array(1.0))]),                               # 0-d: no axis -1
                E([A(np.ones(3))], {"axis": V(1)}),                  # axis out of range
                E([A(np.ones(3))], {"norm": V("sideways")}),         # bad norm
            ]
            if op == "fft.rfft":
                out.append(E([A(np.ones(3, np.complex128))]))        # complex input
            if op == "fft.irfft":
                out.append(E([A(np.ones(1))]))                       # default n = 0
            return out

        return draw, extras

    def n_d(op):
        two = op.endswith("2")

        def draw(g):
            dt = g.dtype(pool, bf16=True)
            shape = g.shape(lo=2 if two else 1, hi=3, allow0=False)
            x = g.array(shape, dt, "default")
            nd = x.ndim
            kw = {}
            if g.coin(0.5):
                k = 2 if two else g.int(1, nd)
                axes = list(g.rng.choice(np.arange(-nd, nd), size=k, replace=False)) if nd else []
                # distinct axes (after normalisation): draw from one sign
                axes = sorted({int(a) % nd for a in axes})
                while len(axes) < k:
                    axes = sorted(set(axes) | {g.int(0, nd - 1)})
                kw["axes"] = V([a - nd if g.coin() else a for a in axes])
                if g.coin(0.5):
                    kw["s"] = V([g.int(1, 6) for _ in axes])
            norm_kw(g, kw)
            return Case([A(x)], kw, tol=tol(dt))

        def extras(g):
            out = [
                E([A(np.ones((2, 3)))], {"s": V([2, 3]), "axes": V([0])}),  # lengths differ
                E([A(np.ones((2, 3)))], {"s": V([2, 0]), "axes": V([0, 1])}),  # no points
                E([A(np.ones((2, 0)))]),                                     # empty axis
                E([A(np.ones((2, 3)))], {"axes": V([0, 5])}),                # axis out of range
            ]
            if two:
                out.append(E([A(np.ones(3))]))                               # fewer than 2 axes
            else:
                out.append(Case([A(np.array(2.5))]))                         # 0-d: unchanged
                out.append(Case([A(np.arange(6.0).reshape(2, 3))], {"axes": V([])}))
            return out

        return draw, extras

    for op in ONE_D:
        gc.register(op, *one_d(op))
    for op in N_D:
        gc.register(op, *n_d(op))
