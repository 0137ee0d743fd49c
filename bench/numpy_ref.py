#!/usr/bin/env python3
"""NumPy's figures for ndserve's benchmark suite (issue 6).

Times NumPy on the workloads of `tests/src/bench/` that have a NumPy counterpart and
prints one JSON object per line, `{"name": ..., "value": ..., "unit": ...}`, with the
names the `bench` binary matches:

- `small_array_loop` (ms): `y = sin(x) * 2 + x; total += y.sum()` repeated;
- `<kernel>_<f32|f64>` (ms) for add, muladd (`a * b + c`), exp, log, sin, sqrt, sum,
  mean_axis0, argmax, sort, cumsum, where;
- `memcpy_bandwidth` (GB/s): `np.concatenate((a, b))` of two float64 inputs;
- `matmul_<f32|f64>_<N>` (GFLOP/s).

Each figure is the median of `--reps` timed runs after one warm-up, as in the suite.

    python3 bench/numpy_ref.py [--quick] [--kernel-len N] [--reps R] [--loop-iters I]
                               [--loop-len L] [--matmul 1024,2048]

The `bench` binary runs it with every size spelled out (and OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE removed from its environment: they slow OpenBLAS's matmul here);
`--quick` alone gives the suite's `--quick` sizes.
"""

import argparse
import json
import statistics
import time

import numpy as np

FULL = {"kernel_len": 10_000_000, "reps": 5, "loop_iters": 1000, "loop_len": 1000,
        "matmul": "1024,2048"}
QUICK = {"kernel_len": 1_000_000, "reps": 3, "loop_iters": 1000, "loop_len": 1000,
         "matmul": "256"}
MEAN_ROW = 1000
DTYPES = [(np.float32, "f32"), (np.float64, "f64")]


def emit(name, value, unit):
    print(json.dumps({"name": name, "value": value, "unit": unit}), flush=True)


def median_time(reps, fn):
    """Seconds: the median of `reps` runs of `fn` after one warm-up."""
    fn()
    times = []
    for _ in range(max(reps, 1)):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def uniform(rng, shape, dtype):
    """Uniform in [0.5, 1.5), as the suite's inputs."""
    return (rng.random(shape) + 0.5).astype(dtype)


def small_loop(rng, iters, length, reps):
    x = rng.random(length)

    def run():
        total = 0.0
        for _ in range(iters):
            y = np.sin(x) * 2 + x
            total += y.sum()
        return total

    emit("small_array_loop", median_time(reps, run) * 1e3, "ms")


def kernels(a, b, c):
    cond = a > 1.0
    a2d = a.reshape(-1, MEAN_ROW)
    return {
        "add": lambda: a + b,
        "muladd": lambda: a * b + c,
        "exp": lambda: np.exp(a),
        "log": lambda: np.log(a),
        "sin": lambda: np.sin(a),
        "sqrt": lambda: np.sqrt(a),
        "sum": lambda: a.sum(),
        "mean_axis0": lambda: a2d.mean(axis=0),
        "argmax": lambda: a.argmax(),
        "sort": lambda: np.sort(a),
        "cumsum": lambda: np.cumsum(a),
        "where": lambda: np.where(cond, a, b),
    }


def cpu_kernels(rng, n, reps):
    for dtype, suffix in DTYPES:
        a, b, c = (uniform(rng, n, dtype) for _ in range(3))
        for name, fn in kernels(a, b, c).items():
            emit(f"{name}_{suffix}", median_time(reps, fn) * 1e3, "ms")
        if dtype == np.float64:
            t = median_time(reps, lambda: np.concatenate((a, b)))
            emit("memcpy_bandwidth", 4 * a.nbytes / t / 1e9, "GB/s")


def matmul(rng, sizes, reps):
    for n in sizes:
        for dtype, suffix in DTYPES:
            a, b = uniform(rng, (n, n), dtype), uniform(rng, (n, n), dtype)
            t = median_time(reps, lambda: a @ b)
            emit(f"matmul_{suffix}_{n}", 2 * n**3 / t / 1e9, "GFLOP/s")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="the suite's --quick sizes")
    p.add_argument("--kernel-len", type=int)
    p.add_argument("--reps", type=int)
    p.add_argument("--loop-iters", type=int)
    p.add_argument("--loop-len", type=int)
    p.add_argument("--matmul", help="comma-separated matrix sides")
    args = p.parse_args()
    sizes = dict(QUICK if args.quick else FULL)
    for key in sizes:
        if getattr(args, key) is not None:
            sizes[key] = getattr(args, key)
    rng = np.random.default_rng(0)
    small_loop(rng, sizes["loop_iters"], sizes["loop_len"], sizes["reps"])
    cpu_kernels(rng, sizes["kernel_len"], sizes["reps"])
    matmul(rng, [int(s) for s in str(sizes["matmul"]).split(",") if s], sizes["reps"])


if __name__ == "__main__":
    main()
