#!/usr/bin/env python3
"""Writes promotion.json: NumPy 2's type promotion for ndserve's 15 dtypes.

NumPy is the oracle for `ndserve_proto::promote_types` and `result_type`
(`proto/tests/promotion.rs` reads the file). The JSON is generated once and committed;
rerun this script after a NumPy or ml_dtypes upgrade and review the diff:

    python3 proto/tests/data/gen_promotion.py

Requires numpy >= 2 and ml_dtypes (`python3 -m pip install numpy ml_dtypes`).

The file holds:

- `pairs`: every ordered pair of dtypes. `promote_types` is `np.promote_types(a, b)`,
  or null where it raises (ml_dtypes' bfloat16 with float16 or 16-bit and wider
  integers); `add` is `(np.ones(1, a) + np.ones(1, b)).dtype`, or null where the ufunc
  raises; `expected` is `promote_types`, falling back to `add`, null when NumPy gives no
  answer at all.
- `scalars`: every dtype with each Python scalar kind (NEP 50 weak scalars): `add` is
  `(np.ones(1, dtype) + scalar).dtype`, `radd` is `(scalar + np.ones(1, dtype)).dtype`
  and `result_type` is `np.result_type(np.ones(1, dtype), scalar)`.
- `scalar_alone`: `np.result_type(scalar)` for each kind.
- `multi`: `np.result_type` of a few mixes of arrays and Python scalars, with the
  chained ufunc's answer (`((x0 + x1) + x2)...`) beside it (null when all operands are
  Python scalars).
"""

import json
import pathlib
import sys

import ml_dtypes
import numpy as np

DTYPES = [
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "bfloat16", "float32", "float64", "complex64", "complex128",
]
SCALARS = {"bool": True, "int": 1, "float": 1.0, "complex": 1j}

MULTI = [
    [{"array": "int8"}, {"array": "uint8"}, {"scalar": "float"}],
    [{"array": "int8"}, {"array": "uint8"}, {"scalar": "int"}],
    [{"array": "int8"}, {"array": "uint8"}],
    [{"array": "int16"}, {"array": "uint32"}, {"scalar": "int"}],
    [{"array": "uint64"}, {"array": "int64"}, {"scalar": "int"}],
    [{"array": "uint8"}, {"array": "uint16"}, {"scalar": "bool"}],
    [{"array": "bool"}, {"array": "bool"}, {"scalar": "int"}],
    [{"array": "bool"}, {"scalar": "bool"}, {"scalar": "float"}],
    [{"array": "float16"}, {"scalar": "int"}, {"scalar": "complex"}],
    [{"array": "float16"}, {"array": "int8"}, {"scalar": "float"}],
    [{"array": "float32"}, {"array": "int16"}, {"scalar": "complex"}],
    [{"array": "float32"}, {"array": "int32"}],
    [{"array": "float32"}, {"array": "complex64"}, {"array": "float64"}],
    [{"array": "int32"}, {"scalar": "float"}, {"scalar": "int"}],
    [{"array": "uint32"}, {"scalar": "complex"}],
    [{"array": "complex64"}, {"array": "int64"}],
    [{"array": "bfloat16"}, {"array": "int8"}, {"scalar": "int"}],
    [{"array": "bfloat16"}, {"array": "float32"}, {"scalar": "complex"}],
    [{"scalar": "int"}, {"scalar": "float"}],
    [{"scalar": "bool"}, {"scalar": "int"}],
    [{"scalar": "float"}, {"scalar": "complex"}],
    [{"scalar": "bool"}, {"scalar": "bool"}],
]


def np_dtype(name):
    return np.dtype(ml_dtypes.bfloat16) if name == "bfloat16" else np.dtype(name)


def name_of(dt):
    if dt == np.dtype(ml_dtypes.bfloat16):
        return "bfloat16"
    name = np.dtype(dt).name
    if name not in DTYPES:
        raise ValueError(f"unexpected dtype {name}")
    return name


def attempt(f):
    """f()'s dtype name, or None where NumPy raises."""
    try:
        return name_of(f())
    except (TypeError, ValueError, OverflowError, np.exceptions.DTypePromotionError):
        return None


def operand(op):
    if "array" in op:
        return np.ones(1, np_dtype(op["array"]))
    return SCALARS[op["scalar"]]


def chained_add(values):
    def f():
        acc = values[0]
        for v in values[1:]:
            acc = acc + v
        return acc.dtype
    return f


def main():
    out = pathlib.Path(__file__).with_name("promotion.json")
    pairs = []
    for a in DTYPES:
        for b in DTYPES:
            da, db = np_dtype(a), np_dtype(b)
            pt = attempt(lambda: np.promote_types(da, db))
            add = attempt(lambda: (np.ones(1, da) + np.ones(1, db)).dtype)
            pairs.append({
                "a": a, "b": b, "promote_types": pt, "add": add,
                "expected": pt if pt is not None else add,
            })
    scalars = []
    for d in DTYPES:
        dt = np_dtype(d)
        for kind, s in SCALARS.items():
            scalars.append({
                "dtype": d, "scalar": kind,
                "add": attempt(lambda: (np.ones(1, dt) + s).dtype),
                "radd": attempt(lambda: (s + np.ones(1, dt)).dtype),
                "result_type": attempt(lambda: np.result_type(np.ones(1, dt), s)),
            })
    alone = {kind: attempt(lambda: np.result_type(s)) for kind, s in SCALARS.items()}
    multi = []
    for ops in MULTI:
        values = [operand(op) for op in ops]
        multi.append({
            "operands": ops,
            "result_type": attempt(lambda: np.result_type(*values)),
            # Python scalars alone add as Python numbers: no NumPy answer to record.
            "add": attempt(chained_add(values)) if any("array" in op for op in ops) else None,
        })
    doc = {
        "generator": "proto/tests/data/gen_promotion.py",
        "numpy": np.__version__,
        "ml_dtypes": ml_dtypes.__version__,
        "dtypes": DTYPES,
        "pairs": pairs,
        "scalars": scalars,
        "scalar_alone": alone,
        "multi": multi,
    }
    # One record per line: reviewable diffs without a huge file.
    lines = ["{"]
    keys = list(doc)
    for i, k in enumerate(keys):
        sep = "," if i + 1 < len(keys) else ""
        v = doc[k]
        if isinstance(v, list) and v and isinstance(v[0], dict):
            lines.append(f"  {json.dumps(k)}: [")
            for j, item in enumerate(v):
                lines.append("    " + json.dumps(item) + ("," if j + 1 < len(v) else ""))
            lines.append("  ]" + sep)
        else:
            lines.append(f"  {json.dumps(k)}: {json.dumps(v)}{sep}")
    lines.append("}")
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}: {len(pairs)} pairs, {len(scalars)} scalar cases, {len(multi)} multi", file=sys.stderr)


if __name__ == "__main__":
    main()
