"""Conformance specs for the counting ops: `unique` (np.unique, axis=None: repeated values
and NaNs, every combination of return_index, return_inverse and return_counts, equal_nan),
`histogram` (bin counts or edges, range, weights, density) and `bincount` (weights,
minlength); NumPy's answers, and NumPy's errors as fixed cases."""

import numpy as np


def register(gc):
    A, V, Case, E = gc.A, gc.V, gc.Case, gc.E
    pool = ["bool", "int8", "int32", "int64", "uint8", "uint64", "float16", "float32",
            "float64", "complex128"]

    def draw(g):
        dt = g.dtype(pool, bf16=False)
        shape = g.shape()
        x = g.array(shape, dt, "someeq")
        if gc.kind_of(dt) == "f" and x.size and g.coin(0.4):
            x = x.copy()
            x.flat[g.rng.random(x.size) < 0.3] = np.nan
        kw = {}
        for flag in ("return_index", "return_inverse", "return_counts"):
            if g.coin(0.5):
                kw[flag] = V(True)
        if g.coin(0.2):
            kw["equal_nan"] = V(bool(g.coin()))
        return Case([A(x)], kw)

    def extras(g):
        return [
            Case([A(np.array(5))], {"return_inverse": V(True)}),         # 0-d
            Case([A(np.zeros((2, 0), np.int8))], {"return_counts": V(True)}),
            Case([A(np.array([np.nan, 1.0, np.nan]))], {"return_index": V(True), "return_counts": V(True)}),
        ]

    gc.register("unique", draw, extras)


    real = ["bool", "int8", "int32", "int64", "uint8", "uint16", "float16", "float32", "float64"]

    def d_hist(g):
        dt = g.dtype(real, bf16=False)
        x = g.array(g.shape(), dt, "default")
        kw = {}
        args = [A(x)]
        if g.coin(0.3):
            edges = np.sort(g.array((g.int(1, 5),), g.choice(["int64", "float64", "float32"]), "default"))
            kw["bins"] = A(edges)
        elif g.coin(0.7):
            kw["bins"] = V(g.int(1, 6))
        if "bins" not in kw or "array" not in kw["bins"]:
            if g.coin(0.4):
                lo = float(g.int(-5, 2)) + (0.5 if g.coin() else 0.0)
                kw["range"] = V([lo, lo + float(g.int(0, 8))])
        if g.coin(0.3):
            kw["weights"] = A(g.array(x.shape, g.choice(["float64", "float32", "int32"]), "default"))
        if g.coin(0.25):
            kw["density"] = V(True)
        return Case(args, kw, tol=10)

    def x_hist(g):
        return [
            E([A(np.array([1.0, 2.0]))], {"bins": V(0)}),
            E([A(np.array([1.0, 2.0]))], {"bins": V(2), "range": V([3, 1])}),
            E([A(np.array([1.0, np.nan]))], {"bins": V(2)}),
            E([A(np.array([1.0, 2.0]))], {"bins": A(np.array([3.0, 1.0]))}),
            E([A(np.array([1.0, 2.0]))], {"bins": A(np.array([[1.0, 2.0]]))}),
            E([A(np.array([1.0, 2.0]))], {"weights": A(np.ones(3))}),
            Case([A(np.array([1.0, np.nan]))], {"bins": V(2), "range": V([0, 2])}),
            Case([A(np.zeros(0))], {"bins": V(2)}),
            Case([A(np.array([1, 1]))], {"bins": V(2)}),
        ]

    def d_bincount(g):
        dt = g.dtype(["bool", "int8", "int32", "int64", "uint8", "uint32"], bf16=False)
        x = g.array((g.int(0, 8),), dt, "range", lo=0, hi=9)
        kw = {}
        args = [A(x)]
        if g.coin(0.4):
            kw["weights"] = A(g.array(x.shape, g.choice(["float64", "float32", "int16"]), "default"))
        if g.coin(0.4):
            kw["minlength"] = V(g.int(0, 12))
        return Case(args, kw)

    def x_bincount(g):
        return [
            E([A(np.array([1, -1]))]),
            E([A(np.array([1.0, 2.0]))]),
            E([A(np.array([[1, 2]]))]),
            E([A(np.array([1, 2]))], {"minlength": V(-1)}),
            E([A(np.array([1, 2]))], {"weights": A(np.ones(3))}),
            Case([A(np.zeros(0, np.int64))]),
        ]

    gc.SPECIAL_CALLS["histogram"] = lambda a, bins=10, **kw: tuple(np.histogram(a, bins, **kw))
    gc.register("histogram", d_hist, x_hist)
    gc.register("bincount", d_bincount, x_bincount)
