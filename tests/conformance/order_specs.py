"""Conformance specs for `partition` and `argpartition`.

NumPy leaves the order between the kth places unspecified, so a case has one answer only
when every gap between consecutive kth places (and before the first, after the last)
holds at most one element: kth = (1, 3, 5, ...) in any order, or one kth in an axis of at
most three. The draws keep to those; `argpartition` also needs distinct values (ties may
come in either order). Within that, everything varies: dtypes, NaN (sorted last), axis
None/negative/omitted, negative and unsorted kth, an int or a list. NumPy's errors (kth or
axis out of bounds) are fixed cases.
"""

import numpy as np


def register(gc):
    A, V, Case, E, OMIT = gc.A, gc.V, gc.Case, gc.E, gc.OMIT
    real = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint64",
            "float16", "float32", "float64"]
    distinct_ok = [d for d in real if d != "bool"]

    def kth_for(g, n):
        """A kth with one valid answer for an axis of length n (n >= 1)."""
        if n <= 3 and g.coin(0.5):
            k = g.int(0, n - 1) if n < 3 else 1
            ks = [k]
        else:
            ks = list(range(1, n, 2)) or [0]
        ks = [k - n if g.coin(0.3) else k for k in ks]
        g.rng.shuffle(ks)
        if len(ks) == 1 and g.coin(0.6):
            return ks[0]
        return ks

    def draw(op):
        def d(g):
            arg = op == "argpartition"
            dt = g.dtype(distinct_ok if arg else real, bf16=False)
            nan = 0.2 if gc.kind_of(dt) == "f" and g.coin(0.4) else 0.0
            shape = g.shape(lo=1, allow0=False)
            x = g.array(shape, dt, "unique" if arg else "default", nan=0.0 if arg else nan)
            nd = x.ndim
            ax = g.choice([OMIT, None] + ([g.int(-nd, nd - 1)] * 2 if nd else []))
            n = x.size if ax is None else (x.shape[-1 if ax is OMIT else ax] if nd else 0)
            if n == 0:
                # a 0-d array has no axis -1: NumPy's error
                return Case([A(x), V(0)], {} if ax is OMIT else {"axis": V(ax)}, expect="error")
            kw = {}
            gc.kw_put(kw, "axis", ax)
            return Case([A(x), V(kth_for(g, n))], kw)
        return d

    def errors(g):
        return [
            E([A(np.arange(3.0)), V(3)]),
            E([A(np.arange(3.0)), V(-4)]),
            E([A(np.arange(6).reshape(2, 3)), V([0, 3])]),
            E([A(np.ones((2, 3))), V(0)], {"axis": V(2)}),
            E([A(np.array(1.5)), V(0)]),
        ]

    gc.register("partition", draw("partition"), errors)
    gc.register("argpartition", draw("argpartition"), errors)
