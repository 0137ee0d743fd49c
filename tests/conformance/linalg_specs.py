"""Conformance specs for `linalg.*` (np.linalg): random calls over dtypes, batch shapes
(size 0 included) and options, with NumPy's answers; the fixed cases are NumPy's errors.

Inputs are drawn well conditioned (diagonally dominant, or B B^H + n I where the op wants
a positive-definite matrix), so LAPACK's and faer's roundings agree to the tolerances.

What is compared: every output that NumPy defines uniquely. Eigenvectors, singular vectors
and QR factors are unique only up to the sign (phase) of each vector, and ndserve computes
them with faer, whose signs need not be LAPACK's: the cases of `linalg.eigh`, of
`linalg.svd` with `compute_uv=True` and of `linalg.qr` compare dtypes and shapes only
(cmp="meta"); their values are checked by reconstruction (A v = v w, U S Vh = A, Q R = A)
in the Rust unit and end-to-end tests. `svd(compute_uv=False)` (the singular values) is
compared in full.
"""

import numpy as np

OPS = ["inv", "solve", "det", "slogdet", "norm", "qr", "cholesky", "eigh", "svd",
       "lstsq", "pinv", "matrix_rank"]
POOL = ["bool", "int8", "int32", "int64", "uint8", "float32", "float64", "complex64",
        "complex128"]
SINGLE = {"float32", "complex64"}


class _Outputs(tuple):
    """A tuple of NumPy results that `np.zeros_like` maps element by element, so that a
    cmp="meta" case (the kit zeroes the expected result) works for multi-output ops."""

    def __array_function__(self, func, types, args, kwargs):
        if func is np.zeros_like:
            return tuple(np.zeros_like(x) for x in self)
        return NotImplemented


def _tupled(fn):
    def call(*args, **kwargs):
        r = fn(*args, **kwargs)
        return _Outputs(r) if isinstance(r, tuple) else r
    return call


def register(gc):
    A, V, S, Case, E = gc.A, gc.V, gc.S, gc.Case, gc.E

    for op in OPS:
        fn = getattr(np.linalg, op)
        gc.SPECIAL_CALLS["linalg." + op] = _tupled(fn) if op in ("qr", "eigh", "svd") else fn

    def tol(dt):
        return 100 if dt in SINGLE else 10

    def batch(g):
        """Leading axes: none mostly, sometimes one or two (size 0 included)."""
        return g.choice([(), (), (), (2,), (3,), (0,), (2, 1)])

    def cast(x, dt):
        return np.asarray(x).astype(gc.np_dtype(dt))

    def wellcond(g, shape, dt):
        """A diagonally dominant stack of square matrices of dtype dt."""
        n = shape[-1]
        if dt == "bool":
            up = g.rng.random(shape) < 0.5
            return np.triu(up, 1) | np.eye(n, dtype=bool)
        kind = gc.kind_of(dt)
        if kind in "iu":
            lo = 0 if kind == "u" else -3
            x = g.rng.integers(lo, 4, shape) + (4 * n + 4) * np.eye(n, dtype=np.int64)
            return cast(x, dt)
        x = g.rng.normal(0.0, 1.0, shape)
        if kind == "c":
            x = x + 1j * g.rng.normal(0.0, 1.0, shape)
        return cast(x + (n + 2) * np.eye(n), dt)

    def spd(g, shape, dt):
        """A Hermitian positive-definite stack: B B^H + n I."""
        n = shape[-1]
        kind = gc.kind_of(dt)
        if dt == "bool":
            return np.broadcast_to(np.eye(n, dtype=bool), shape).copy()
        if kind in "iu":
            b = g.rng.integers(0 if kind == "u" else -2, 3, shape)
        else:
            b = g.rng.normal(0.0, 1.0, shape)
            if kind == "c":
                b = b + 1j * g.rng.normal(0.0, 1.0, shape)
        a = b @ np.conj(np.swapaxes(b, -1, -2)) + n * np.eye(n)
        return cast(a, dt)

    def rect(g, shape, dt):
        """Any stack of matrices (full rank almost surely)."""
        if dt == "bool":
            return g.array(shape, "bool")
        return g.array(shape, dt, "dyadic" if gc.kind_of(dt) in "iu" else "default")

    def square(g, lo=0):
        return batch(g) + (g.int(lo, 4),) * 2

    common_errors = [
        E([A(np.ones((2, 2), np.float16))]),   # float16 is refused
        E([A(np.ones(3))]),                    # 1-d
        E([A(np.ones((2, 3)))]),               # not square
    ]

    # ---- inv, det, slogdet ----
    def d_square(g):
        dt = g.dtype(POOL, bf16=True)
        return Case([A(wellcond(g, square(g), dt))], tol=tol(dt))

    register_sq = [("linalg.inv", True), ("linalg.det", False), ("linalg.slogdet", False)]
    for op, singular_errors in register_sq:
        def extras(g, singular_errors=singular_errors):
            out = list(common_errors)
            sing = A(np.array([[1.0, 2.0], [2.0, 4.0]]))
            out.append(E([sing]) if singular_errors else Case([sing]))
            out.append(Case([A(np.ones((2, 0, 0)))]))
            return out
        gc.register(op, d_square, extras)

    # ---- solve ----
    def d_solve(g):
        d1 = g.dtype(POOL)
        d2 = d1 if g.coin(0.6) else g.choice(POOL)
        a = wellcond(g, square(g), d1)
        n = a.shape[-1]
        w = g.choice(["vec", "mat", "bcast"])
        if w == "vec":
            bs = (n,)
        elif w == "mat":
            bs = a.shape[:-2] + (n, g.int(0, 3))
        else:
            bs = (g.choice([1, 2]),) + (1,) * len(a.shape[:-2]) + (n, g.int(1, 2))
        b = rect(g, bs, d2)
        return Case([A(a), A(b)], tol=tol(d1 if d1 in SINGLE and d2 in SINGLE else "float64"))

    gc.register("linalg.solve", d_solve, lambda g: [
        E([A(np.ones((2, 2), np.float16)), A(np.ones(2))]),
        E([A(np.eye(2)), A(np.ones(3))]),                          # wrong length
        E([A(np.eye(2)), A(np.ones((3, 2)))]),                     # 2-d b is a matrix (NumPy 2)
        E([A(np.array([[1.0, 2.0], [2.0, 4.0]])), A(np.ones(2))]),  # singular
        E([A(np.ones((2, 3))), A(np.ones(2))]),
        E([A(np.ones((2, 2, 2)) + np.eye(2)), A(np.ones((3, 2, 1)))]),  # batch mismatch
        Case([A(np.eye(3)), A(np.ones((2, 3, 1)))]),               # b's batch broadcasts
    ])

    # ---- cholesky ----
    def d_cholesky(g):
        dt = g.dtype(POOL)
        kw = {}
        if g.coin(0.4):
            kw["upper"] = V(g.coin())
        return Case([A(spd(g, square(g), dt))], kw, tol=tol(dt))

    gc.register("linalg.cholesky", d_cholesky, lambda g: common_errors + [
        E([A(np.array([[1.0, 2.0], [2.0, 1.0]]))]),     # not positive definite
        E([A(-np.eye(2))], {"upper": V(True)}),
        Case([A(np.zeros((3, 0, 0)))]),
    ])

    # ---- norm ----
    VEC_ORDS = [None, 2, 1, 0, -1, -2, 3, 0.5, np.inf, -np.inf]
    MAT_ORDS = [None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]

    def ord_arg(o):
        if isinstance(o, float) and not np.isfinite(o):
            return S(o)
        return V(o)

    def d_norm(g):
        dt = g.dtype(POOL + ["float16"], bf16=True)
        w = g.choice(["flat", "vec", "vec_axis", "mat", "mat_axes"])
        kind = gc.kind_of(dt)
        vk = "dyadic" if kind in "iuf" else "default"
        kw = {}
        if w == "flat":
            x = g.array(g.shape(hi=3), dt, vk)
        elif w == "vec":
            x = g.array((g.int(1, 6),), dt, vk)
            o = g.choice(VEC_ORDS)
            if o is not None:
                kw["ord"] = ord_arg(o)
        elif w == "vec_axis":
            x = g.array(g.shape(lo=1, hi=3, allow0=False), dt, vk)
            kw["axis"] = V(g.int(-x.ndim, x.ndim - 1))
            kw["ord"] = ord_arg(g.choice(VEC_ORDS))
        elif w == "mat":
            x = g.array(g.shape(nd=2, allow0=False), dt, vk)
            o = g.choice(MAT_ORDS)
            if o is not None:
                kw["ord"] = ord_arg(o)
        else:
            x = g.array(g.shape(nd=3, allow0=False), dt, vk)
            ax = [int(a) for a in g.rng.choice(3, size=2, replace=False)]
            kw["axis"] = V([ax[0], ax[1] - 3 if g.coin(0.3) else ax[1]])
            kw["ord"] = ord_arg(g.choice(MAT_ORDS))
        if dt == "float16" and "ord" in kw and kw["ord"].get("value") in ("nuc", 2, -2) \
                and w in ("mat", "mat_axes"):
            kw["ord"] = V("fro")
        if g.coin(0.3):
            kw["keepdims"] = V(True)
        return Case([A(x)], kw, tol=30 if dt == "float16" else tol(dt))

    gc.register("linalg.norm", d_norm, lambda g: [
        E([A(np.ones((2, 2)))], {"ord": V(3)}),                    # not a matrix order
        E([A(np.ones(3))], {"ord": V("fro")}),                      # not a vector order
        E([A(np.ones((2, 2, 2)))], {"ord": V(1)}),                  # 3-d with ord
        E([A(np.ones((2, 2)))], {"axis": V([0, 0])}),               # duplicate axes
        E([A(np.ones((2, 2)))], {"axis": V([0, 1, 1])}),
        E([A(np.ones((2, 2), np.float16))], {"ord": V("nuc")}),     # svd of float16
        E([A(np.ones((2, 0)))], {"ord": V(-1)}),                    # min of nothing
        Case([A(np.ones((2, 0)))], {"ord": V(1)}),
        Case([A(np.zeros((0, 3)))]),
        Case([A(np.ones((2, 2), np.float16) * 300)], {"ord": V("fro")}, tol=30),
    ])

    # ---- qr ----
    def d_qr(g):
        dt = g.dtype(POOL)
        x = rect(g, batch(g) + (g.int(0, 4), g.int(0, 4)), dt)
        kw = {}
        if g.coin(0.6):
            kw["mode"] = V(g.choice(["reduced", "complete", "r"]))
        return Case([A(x)], kw, cmp="meta")

    gc.register("linalg.qr", d_qr, lambda g: [
        E([A(np.ones((2, 2), np.float16))]),
        E([A(np.ones(3))]),
        E([A(np.ones((2, 2)))], {"mode": V("bogus")}),
    ])

    # ---- eigh ----
    def d_eigh(g):
        dt = g.dtype(POOL)
        x = spd(g, square(g), dt)
        kw = {}
        if g.coin(0.4):
            kw["UPLO"] = V(g.choice(["L", "U", "l", "u"]))
        return Case([A(x)], kw, cmp="meta")

    gc.register("linalg.eigh", d_eigh, lambda g: common_errors + [
        E([A(np.eye(2))], {"UPLO": V("X")}),
    ])

    # ---- svd ----
    def d_svd(g):
        dt = g.dtype(POOL)
        herm = g.coin(0.25)
        if herm:
            x = spd(g, square(g), dt)
            if gc.kind_of(dt) in "fc" and g.coin(0.5):
                x = (x - 2 * np.eye(x.shape[-1], dtype=x.dtype)).astype(x.dtype)  # indefinite
        else:
            x = rect(g, batch(g) + (g.int(0, 4), g.int(0, 4)), dt)
        kw = {}
        if herm:
            kw["hermitian"] = V(True)
        uv = g.coin(0.5)
        if not uv:
            kw["compute_uv"] = V(False)
        elif g.coin(0.5):
            kw["full_matrices"] = V(g.coin())
        return Case([A(x)], kw, cmp=None if not uv else "meta", tol=tol(dt))

    gc.register("linalg.svd", d_svd, lambda g: [
        E([A(np.ones((2, 2), np.float16))]),
        E([A(np.ones(3))]),
        E([A(np.ones((2, 3)))], {"hermitian": V(True)}),
        Case([A(np.ones((3, 0)))], {"compute_uv": V(False)}),
    ])

    # ---- pinv ----
    def d_pinv(g):
        dt = g.dtype(POOL)
        herm = g.coin(0.2)
        kw = {}
        if herm:
            x = spd(g, square(g), dt)
            kw["hermitian"] = V(True)
        else:
            m, n = g.int(0, 4), g.int(0, 4)
            x = wellcond(g, batch(g) + (max(m, n),) * 2, dt)[..., :m, :n] if dt != "bool" \
                else rect(g, batch(g) + (m, n), dt)
        w = g.choice(["none", "none", "rcond", "rtol"])
        if w == "rcond":
            kw["rcond"] = V(g.choice([1e-10, 1e-3]))
        elif w == "rtol":
            kw["rtol"] = V(g.choice([1e-10, None]) if gc.kind_of(dt) in "fc" else 1e-10)
        return Case([A(np.ascontiguousarray(x))], kw, tol=tol(dt) * 10)

    gc.register("linalg.pinv", d_pinv, lambda g: [
        E([A(np.ones((2, 2), np.float16))]),
        E([A(np.ones(3))]),
        E([A(np.eye(2))], {"rcond": V(0.1), "rtol": V(0.1)}),
        Case([A(np.array([[1.0, 0.0], [0.0, 0.0]]))]),
        Case([A(np.array([[1.0, 0.0], [0.0, 1e-3]]))], {"rcond": V(1e-2)}),
    ])

    # ---- matrix_rank ----
    def d_rank(g):
        dt = g.dtype(POOL)
        m, n = g.int(0, 5), g.int(0, 5)
        r = g.int(0, min(m, n)) if min(m, n) else 0
        b = batch(g)
        if dt == "bool":
            x = np.zeros(b + (m, n), dtype=bool)
            k = min(m, n, r)
            x[..., range(k), range(k)] = True
        else:
            lo = 0 if gc.kind_of(dt) in "ub" else -2
            left = g.rng.integers(lo, 3, b + (m, r))
            right = g.rng.integers(lo, 3, b + (r, n))
            x = cast(left @ right, dt)
        kw = {}
        w = g.choice(["none", "none", "tol", "rtol", "herm"])
        if w == "tol":
            kw["tol"] = V(g.choice([0.5, 1e-8]))
        elif w == "rtol":
            kw["rtol"] = V(g.choice([0.1, 1e-8]))
        elif w == "herm" and m == n:
            if gc.kind_of(dt) in "iuf":
                y = np.asarray(x, dtype=np.float64)
                x = cast(y @ np.swapaxes(y, -1, -2), dt)
            kw["hermitian"] = V(gc.kind_of(dt) in "iuf")
        return Case([A(x)], kw)

    gc.register("linalg.matrix_rank", d_rank, lambda g: [
        Case([A(np.array([0.0, 1.0]))]),
        Case([A(np.zeros(3))]),
        Case([A(np.array(2.5))]),
        E([A(np.ones((2, 2), np.float16))]),
        Case([A(np.ones(3, np.float16))]),
        E([A(np.eye(2))], {"tol": V(0.1), "rtol": V(0.1)}),
    ])

    # ---- lstsq ----
    def d_lstsq(g):
        d1 = g.dtype(POOL)
        d2 = d1 if g.coin(0.6) else g.choice(POOL)
        m, n = g.int(1, 5), g.int(1, 4)
        if d1 == "bool":
            a = np.zeros((m, n), dtype=bool)
            k = min(m, n)
            a[range(k), range(k)] = True
        else:
            a = wellcond(g, (max(m, n),) * 2, d1)[:m, :n]
        b = rect(g, (m,) if g.coin(0.5) else (m, g.int(0, 3)), d2)
        kw = {}
        if g.coin(0.3):
            kw["rcond"] = V(g.choice([None, 1e-10, -1]))
        t = tol(d1 if d1 in SINGLE and d2 in SINGLE else "float64") * 10
        return Case([A(np.ascontiguousarray(a)), A(b)], kw, tol=t)

    gc.register("linalg.lstsq", d_lstsq, lambda g: [
        E([A(np.ones((2, 2), np.float16)), A(np.ones(2))]),
        E([A(np.ones((3, 2))), A(np.ones(4))]),                     # incompatible
        E([A(np.ones((2, 3, 2))), A(np.ones((2, 3)))]),             # not 2-d
        Case([A(np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])), A(np.array([1.0, 2.0, 2.0]))]),
        Case([A(np.ones((3, 0))), A(np.ones(3))]),
        Case([A(np.ones((0, 2))), A(np.ones(0))]),
    ])
