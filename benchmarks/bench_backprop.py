"""The reference's own backprop against torch autograd and jax.grad, on [784, 30, 10], batch 10.

    python benchmarks/bench_backprop.py [--repeats N] [--profile]

All warm (after a few untimed calls), medians of many repetitions:

* reference -- ``reference.Network([784, 30, 10]).backprop(x, y)``;
* torch -- forward and ``torch.autograd.grad`` of the same cost, tensors already in
  torch, with torch's default threads and with one;
* jax.grad jitted -- ``jax.jit(jax.grad(cost))`` (the oracle's cost function);
* jax.grad eager -- ``jax.grad(cost)`` without jit.

If the reference is slower than torch, a cProfile of it says what dominates.  If
OPENBLAS_CORETYPE is set (it slows a current OpenBLAS on some processors), the
reference is measured again in a process without it.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys

from _common import case, clock, median, print_header, run_worker, table


def _reference(the_case):
    net = the_case.network()
    x, y = the_case.x, the_case.y
    return lambda: net.backprop(x, y)


def _torch(the_case, threads):
    import torch

    torch.set_num_threads(threads)
    ws = [torch.tensor(w, requires_grad=True) for w in the_case.weights]
    bs = [torch.tensor(b, requires_grad=True) for b in the_case.biases]
    x, y = torch.tensor(the_case.x), torch.tensor(the_case.y)

    def gradient():
        a = x
        for w, b in zip(ws, bs):
            a = torch.sigmoid(w @ a + b)
        cost = (0.5 * ((a - y) ** 2).sum(dim=0)).mean()
        return torch.autograd.grad(cost, [*bs, *ws])

    return gradient


def _jax(the_case, jit):
    import jax

    jax.config.update("jax_enable_x64", True)
    from gradcert.oracles.jax_grad import cost_function

    jnp = jax.numpy
    grad = jax.grad(cost_function(the_case.arch))
    grad = jax.jit(grad) if jit else grad
    params = ([jnp.asarray(w) for w in the_case.weights], [jnp.asarray(b) for b in the_case.biases])
    x, y = jnp.asarray(the_case.x), jnp.asarray(the_case.y)
    return lambda: jax.block_until_ready(grad(params, x, y))


def measure(function, repeats, warmup=5):
    clock(function, warmup)
    return median(clock(function, repeats))


def worker_reference(repeats):
    """The reference alone, in this process (run without OPENBLAS_CORETYPE by the parent)."""
    return {"seconds": measure(_reference(case("nielsen")), repeats)}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2000, help="timed calls per method (eager jax: / 20)")
    parser.add_argument("--profile", action="store_true", help="profile the reference even if it is faster")
    parser.add_argument("--worker", nargs=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        import json

        print(json.dumps(worker_reference(args.repeats)))
        return 0

    print_header("backprop on [784, 30, 10], batch 10: reference vs torch vs jax",
                 ["benchmarks/bench_backprop.py", *argv])
    the_case = case("nielsen")
    import torch

    threads = torch.get_num_threads()
    timings = {
        "reference (NumPy)": measure(_reference(the_case), args.repeats),
        f"torch autograd, {threads} threads": measure(_torch(the_case, threads), args.repeats),
        "torch autograd, 1 thread": measure(_torch(the_case, 1), args.repeats),
        "jax.grad jitted": measure(_jax(the_case, True), args.repeats),
        "jax.grad eager": measure(_jax(the_case, False), max(10, args.repeats // 20)),
    }
    reference = timings["reference (NumPy)"]
    rows = [[name, f"{seconds * 1e6:.0f}", f"{seconds / reference:.2f}"] for name, seconds in timings.items()]
    print(table(rows, ["method (warm, median)", "microseconds", "x reference"]))
    torch_best = min(v for k, v in timings.items() if k.startswith("torch"))
    ratio = reference / torch_best
    print(f"\nreference / fastest torch = {ratio:.2f}  [target <= 1: reference at least as fast as torch] "
          f"{'met' if ratio <= 1 else 'NOT met'}")
    # The reference again in fresh processes, under other OpenBLAS settings (read when numpy loads).
    single = run_worker(__file__, "reference", "--repeats", args.repeats,
                        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})["seconds"]
    print(f"reference with OPENBLAS_NUM_THREADS=1: {single * 1e6:.0f} us "
          f"(this process: {reference * 1e6:.0f} us)")
    if os.environ.get("OPENBLAS_CORETYPE"):
        env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
        other = run_worker(__file__, "reference", "--repeats", args.repeats, env=env)["seconds"]
        print(f"reference without OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE: {other * 1e6:.0f} us "
              f"(with: {reference * 1e6:.0f} us)")
    if ratio > 1 or args.profile:
        profiler = cProfile.Profile()
        backprop = _reference(the_case)
        profiler.enable()
        clock(backprop, 500)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
        print("\nwhere the reference's time goes (cProfile, 500 calls, by own time):")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:4000])
    return 0


if __name__ == "__main__":
    sys.exit(main())
