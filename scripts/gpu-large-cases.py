#!/usr/bin/env python3
"""Conformance cases on arrays large enough to take the GPU reductions' long paths.

The generated conformance cases use small arrays, whose reductions take the GPU's short
paths (one thread per output, or one block per output). These cases reach the others:
a whole-array reduction split across blocks (unrolled loads, two passes), a reduction over
the trailing axis with a block per row, and one over the leading axis with many outputs
(one thread per output, adjacent columns). NumPy answers them; values are small integers
(exact in every dtype, short in JSON), with a NaN planted in half of the float arrays.
The GPU machine's Python writes them (they are too large to carry).

    python3 scripts/gpu-large-cases.py OUTDIR     # writes OUTDIR/large-cases.jsonl, large-expected.jsonl
"""

import json
import math
import sys

import numpy as np


def arr(a):
    """An array argument or result (FORMAT.md): NaN is written as the string "nan"."""
    data = ["nan" if isinstance(v, float) and math.isnan(v) else v for v in a.ravel().tolist()]
    return {"array": {"dtype": str(a.dtype), "shape": list(a.shape), "data": data}}


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(5)
    cases, expected = [], []
    all_ops = ["sum", "mean", "max", "min", "argmax", "argmin", "any", "prod"]
    plans = [
        # The whole array, split across blocks (unrolled loads, a tail, two passes).
        ((1 << 18) + 1000, None, all_ops, ["float32", "int32", "float64"]),
        # The leading axis with 34000 outputs: one thread per output.
        ((34, 34000), 0, ["sum", "mean", "argmax", "max"], ["float32", "int32"]),
        # The trailing axis: a block per row.
        ((3000, 100), -1, all_ops, ["float32", "int32", "float64"]),
        # The leading axis with few outputs: a block per column.
        ((100, 3000), 0, all_ops, ["float32", "int32", "float64"]),
    ]
    n = 0
    for shape, axis, ops, dtypes in plans:
        for dtype in dtypes:
            a = rng.integers(-40, 41, size=shape).astype(dtype)
            if dtype != "int32" and n % 2:
                a.ravel()[rng.integers(0, a.size)] = np.nan
            for op in ops:
                x = a
                if op == "prod":
                    # Products of -1, 0 and 1 are exact.
                    x = np.sign(a).astype(dtype)
                case = {"id": f"large-{op}/{n:04d}", "op": op, "args": [arr(x)],
                        "kwargs": {"axis": {"value": axis}}}
                r = np.asarray(getattr(np, op)(x, axis=axis))
                expected.append({"id": case["id"], "op": op, "ok": True, "result": arr(r), "tol": 10})
                cases.append(case)
                n += 1
    with open(f"{out}/large-cases.jsonl", "w") as f:
        f.writelines(json.dumps(c, separators=(",", ":")) + "\n" for c in cases)
    with open(f"{out}/large-expected.jsonl", "w") as f:
        f.writelines(json.dumps(e, separators=(",", ":")) + "\n" for e in expected)
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
