#!/usr/bin/env python3
"""The shared NumPy-oracle kit plus ndserve's own op specs for the ops the kit lacks.

    python3 tests/conformance/extras.py --seed N --out DIR [--ops a,b] [--per-op K]

behaves exactly like ``../shared/conformance/gen_cases.py`` (same options, same case and
answer format, NumPy computes every expected answer) and knows, besides the kit's ops,
those registered by the ``*_specs.py`` modules beside this file (``linalg.*``, ``fft.*``,
``unique``, ``bincount``, ``histogram``, ...). CI generates its cases with this script, so
one list, ``tests/conformance-ops.txt``, names every op checked against NumPy.

The kit is found at ``$NDSERVE_SHARED/conformance`` (default: ``../shared`` beside the
repository). Each spec module has ``register(gc)``, where ``gc`` is the kit's module: it
calls ``gc.register(op, draw, extras)`` and may add ``gc.SPECIAL_CALLS[op]`` for names that
are not ``np.<op>``.
"""

import importlib
import os
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
SHARED = pathlib.Path(os.environ.get("NDSERVE_SHARED", REPO.parent / "shared"))
sys.path.insert(0, str(SHARED / "conformance"))
sys.path.insert(0, str(HERE))

import gen_cases as gc  # noqa: E402

# Spec modules, in registration order (each adds ops after the kit's).
SPEC_MODULES = [p.stem for p in sorted(HERE.glob("*_specs.py"))]


def load():
    """Registers every extra spec into the kit; returns the names of the ops added."""
    before = set(gc.OP_ORDER)
    for name in SPEC_MODULES:
        importlib.import_module(name).register(gc)
    return [op for op in gc.OP_ORDER if op not in before]


EXTRA_OPS = load()

if __name__ == "__main__":
    sys.exit(gc.main(sys.argv[1:]))
