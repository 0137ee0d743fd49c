"""Conformance specs for the statistics ops beyond the kit: `median`, `quantile`,
`percentile`, `nanmin`, `nanmax`, `nanvar`, `nanstd` (axis None/int/negative/tuple,
keepdims, NaNs), `searchsorted` and `isin`; NumPy's answers, and NumPy's errors as fixed
cases. (`partition`/`argpartition` are in `order_specs.py`, with kth sets that give
NumPy's answer one value.)"""

import numpy as np


def register(gc):
    A, V, Case, E, OMIT = gc.A, gc.V, gc.Case, gc.E, gc.OMIT
    real = ["bool", "int8", "int32", "int64", "uint8", "uint64", "float16", "float32", "float64"]
    floats = ["float16", "float32", "float64"]

    def with_nans(g, x):
        if gc.kind_of(str(x.dtype)) == "f" and x.size and g.coin(0.5):
            x = x.copy()
            x.flat[g.rng.random(x.size) < 0.25] = np.nan
        return x

    def reduce_draw(pool, nans, extra=None):
        def draw(g):
            dt = g.dtype(pool, bf16=False)
            x = g.array(g.shape(lo=1, allow0=False), dt, "default")
            if nans:
                x = with_nans(g, x)
            kw = {}
            gc.kw_put(kw, "axis", g.axis(x.ndim))
            if g.coin(0.3):
                kw["keepdims"] = V(True)
            args = [A(x)]
            if extra:
                extra(g, args, kw)
            return Case(args, kw, tol=10)
        return draw

    def q_arg(scale):
        def extra(g, args, kw):
            if g.coin(0.5):
                args.append(V(round(float(g.rng.uniform(0, 1)) * scale, 3)))
            else:
                args.append(A(np.round(g.rng.uniform(0, 1, g.int(1, 3)) * scale, 3)))
        return extra

    err_axis = lambda g: [E([A(np.ones((2, 3)))], {"axis": V(2)})]
    gc.register("median", reduce_draw(real, True), err_axis)
    gc.register("quantile", reduce_draw(real, True, q_arg(1.0)),
                lambda g: [E([A(np.ones(3)), V(1.5)]), E([A(np.ones((2, 3))), V(0.5)], {"axis": V(2)})])
    gc.register("percentile", reduce_draw(real, True, q_arg(100.0)),
                lambda g: [E([A(np.ones(3)), V(150.0)])])
    for op in ("nanmin", "nanmax"):
        # an all-NaN slice is NaN with a RuntimeWarning (no error): keep those out
        def draw(g, op=op):
            dt = g.dtype(real, bf16=False)
            x = g.array(g.shape(lo=1, allow0=False), dt, "default")
            x = with_nans(g, x)
            kw = {}
            gc.kw_put(kw, "axis", g.axis(x.ndim))
            if g.coin(0.3):
                kw["keepdims"] = V(True)
            return Case([A(x)], kw)
        gc.register(op, draw, lambda g: [E([A(np.zeros((0, 2)))], {"axis": V(0)})])
    for op in ("nanvar", "nanstd"):
        def extra(g, args, kw):
            if g.coin(0.3):
                kw["ddof"] = V(1)
        gc.register(op, reduce_draw(floats + ["int32"], True, extra), err_axis)

    def d_search(g):
        dt = g.dtype(real, bf16=False)
        a = np.sort(g.array((g.int(0, 6),), dt, "someeq"))
        v = g.array(g.shape(), dt, "someeq")
        kw = {}
        if g.coin(0.5):
            kw["side"] = V(g.choice(["left", "right"]))
        return Case([A(a), A(v)], kw)

    gc.register("searchsorted", d_search, lambda g: [E([A(np.ones(3)), A(np.ones(2))], {"side": V("middle")})])

    def d_isin(g):
        dt = g.dtype(real, bf16=False)
        x = with_nans(g, g.array(g.shape(), dt, "someeq"))
        t = g.array(g.shape(hi=2), g.dtype(real, bf16=False), "someeq")
        kw = {}
        if g.coin(0.3):
            kw["invert"] = V(True)
        return Case([A(x), A(t)], kw)

    gc.register("isin", d_isin, lambda g: [])
