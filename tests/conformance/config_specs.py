"""Conformance spec for `experimental_enable_numpy_behavior`, which NumPy lacks.

tnp's switch turns on NumPy's behaviour; ndserve has no other, so its answer is None for
the settings under which tnp behaves as NumPy 2 (`prefer_float32=False`, mode `'legacy'`,
which with NumPy 2 installed promotes by NEP 50) and an error for the rest: the modes
`'off'`, `'safe'` and `'all'` (TensorFlow's own promotion), `prefer_float32=True`
(float32 Python floats) and names that are no mode. The oracle below states that rule;
NumPy answers every other op.
"""

MODES = ("off", "legacy", "safe", "all")


def numpy_behavior(prefer_float32=False, dtype_conversion_mode="legacy"):
    if dtype_conversion_mode not in MODES:
        raise ValueError(f"{dtype_conversion_mode!r} is not a valid mode")
    if dtype_conversion_mode != "legacy":
        raise ValueError("only NumPy's promotion ('legacy' with NumPy 2) is NumPy behaviour")
    if prefer_float32:
        raise ValueError("NumPy's default float is float64")
    return None


def register(gc):
    V, Case, E = gc.V, gc.Case, gc.E
    op = "experimental_enable_numpy_behavior"
    gc.SPECIAL_CALLS[op] = numpy_behavior

    def draw(g):
        w = g.choice(["none", "kw", "pos"])
        if w == "none":
            return Case([], {})
        if w == "pos":
            return Case([V(False), V("legacy")], {})
        kw = {}
        if g.coin(0.5):
            kw["prefer_float32"] = V(False)
        kw["dtype_conversion_mode"] = V("legacy")
        return Case([], kw)

    gc.register(op, draw, lambda g: [
        E([], {"prefer_float32": V(True)}),
        E([], {"dtype_conversion_mode": V("all")}),
        E([], {"dtype_conversion_mode": V("safe")}),
        E([], {"dtype_conversion_mode": V("off")}),
        E([V(False), V("numpy")]),
    ])
