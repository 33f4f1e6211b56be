"""gradcert against torch.autograd.gradcheck and jax.test_util.check_grads, on the same networks.

    python benchmarks/bench_vs_gradcheck.py [--quick] [--torch-threads N] [--warm-repeats K]

Every method runs in a fresh process of its own (``--worker``):

* cold -- the first call in that process, after the imports a user's script would
  already have made (numpy, torch or jax, the packages): what a one-off check costs;
* warm -- the median of the next K calls in the same process (K = 30; 1 for the slow
  ones): the steady state.  Fewer calls would not reach it: gradcheck's fast mode
  on [784, 30, 10] takes ~7 ms a call for its first ~25 calls here, then ~4.5 ms.

Like with like, in checked quantities: gradcheck's fast mode checks one random
projection per input tensor (4 here: W and b of each layer, each a number
against a tolerance), "gradcert directional-5" checks 5 (one over all tensors,
one per tensor); check_grads checks one projection over all inputs, as does
"gradcert directional-1".  The default directional mode checks 12 projections
(4 global, one random and one along g per tensor), one more per unit of each layer
whose weight matrix has more than 4,096 entries (30 on [784, 30, 10], 1,000 on the
1M MLP: nabla_w[0]'s rows), plus a Taylor test of ~35 cost evaluations.

What is certified: gradcert checks ``reference.Network.backprop`` (the call is timed
with the check); gradcheck and check_grads check the torch and JAX rebuilds of the same
network, their only way to take a network.

* gradcert exhaustive -- ``oracles.finite_diff.gradient`` (every entry) and
  ``properties.compare.compare`` with ``oracles.rounding.rounding_bound``;
* gradcert directional -- ``properties.directional.directional_check`` with its
  defaults: 4 global random directions and 2 per tensor (12 projections on these
  networks) and the first layer's unit directions, the complex-step oracle (NumPy;
  torch is not imported), the Taylor test along the first direction;
* gradcert directional-1 -- the same with one random direction, no per-tensor
  directions and no Taylor test: one projection, as check_grads;
* gradcert directional-5 -- one global and one per tensor (random), no Taylor
  test: at least the projections of gradcheck's fast mode (one per tensor);
* gradcert directional-torch -- the defaults with ``oracle="torch"``: torch's
  forward mode (``torch.func.jvp``, vmapped over the directions) as the oracle;
* gradcert directional-fd -- the defaults with ``oracle="finite-diff"``: central
  differences of the NumPy cost along each direction;
* gradcert floor -- the default directional check's arithmetic with no error bound, as tightly as
  NumPy allows (``_floor.py``): the least time any implementation of that check can take, and so
  the least ratio to gradcheck's fast mode it can reach (the rest is the bounds' and the records');
* gradcheck slow / fast -- ``torch.autograd.gradcheck(f, params)``, with ``fast_mode=True``;
* check_grads -- ``jax.test_util.check_grads(f, (params,), order=1, modes=["rev"])``.

gradcheck's slow mode would take hours on the 1M network (two evaluations of the
network per parameter): it is not run there, and its time is extrapolated from the
measured time of one evaluation, marked "est.".
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc

from _common import NETWORKS, case, clock, median, peak_rss_mib, print_header, run_worker, table

METHODS = ("gradcert-exhaustive", "gradcert-directional", "gradcert-floor", "gradcert-directional-1",
           "gradcert-directional-5",
           "gradcert-directional-torch", "gradcert-directional-fd", "gradcheck-slow", "gradcheck-fast",
           "check_grads")
DIRECTIONAL = {"gradcert-directional": {}, "gradcert-directional-fd": {"oracle": "finite-diff"},
               "gradcert-directional-torch": {"oracle": "torch"},
               "gradcert-directional-1": {"directions": 1, "per_tensor": False, "along_g": False,
                                          "taylor": 0, "units": False},
               "gradcert-directional-5": {"directions": 1, "along_g": False, "taylor": 0, "units": False}}
SLOW = {"gradcert-exhaustive", "gradcheck-slow"}  # one warm call is plenty
EXTRAPOLATED = {("mlp1m", "gradcheck-slow")}


def _torch_function(the_case):
    """f(*params) -> the batch cost, params = weights then biases as torch leaves."""
    import torch
    from gradcert.oracles.torch_grad import cost_function

    cost, constants = cost_function(the_case.arch, the_case.x, the_case.y)
    depth = the_case.arch.depth
    params = [torch.tensor(t, requires_grad=True) for t in (*the_case.weights, *the_case.biases)]
    return (lambda *p: cost(list(p[:depth]), list(p[depth:]), constants)), params


def _prepare(method, network, torch_threads):
    """(the check as a no-argument function returning True when it certifies, names imported)."""
    import numpy as np  # noqa: F401

    the_case = case(network)
    net = the_case.network()  # the candidate, built once: its backprop is timed with each check
    if method.startswith("gradcheck") or method == "gradcert-directional-torch":
        import torch

        torch.set_num_threads(torch_threads)
    if method == "gradcert-exhaustive":
        from gradcert.oracles import finite_diff
        from gradcert.oracles.rounding import rounding_bound
        from gradcert.properties.compare import compare

        def check():
            gradient = net.backprop(the_case.x, the_case.y)
            args = (the_case.arch, the_case.weights, the_case.biases, the_case.x, the_case.y)
            return compare(gradient, finite_diff.gradient(*args), rounding_bound(*args)).agrees

        return check
    if method == "gradcert-floor":
        from _floor import floor_check

        return floor_check(the_case, net)
    if method in DIRECTIONAL:
        from gradcert.properties.directional.check import directional_check

        def check():
            gradient = net.backprop(the_case.x, the_case.y)
            return directional_check(the_case, gradient, **DIRECTIONAL[method]).agrees

        return check
    if method.startswith("gradcheck"):
        import torch

        f, params = _torch_function(the_case)
        fast = method == "gradcheck-fast"
        return lambda: torch.autograd.gradcheck(f, params, fast_mode=fast)
    if method == "check_grads":
        import jax
        from jax.test_util import check_grads

        jax.config.update("jax_enable_x64", True)
        from gradcert.oracles.base import columns
        from gradcert.oracles.jax_grad import cost_function

        jnp = jax.numpy
        cost = cost_function(the_case.arch)
        x, y = jnp.asarray(columns(the_case.x)), jnp.asarray(columns(the_case.y))
        params = ([jnp.asarray(w) for w in the_case.weights], [jnp.asarray(b) for b in the_case.biases])

        def check():
            check_grads(lambda p: cost(p, x, y), (params,), order=1, modes=["rev"])  # raises on failure
            return True

        return check
    raise ValueError(method)


def _extrapolate(method, network, torch_threads):
    """gradcheck's slow mode on the whole network: two evaluations of f per entry (its
    central difference) and one backward pass; f is timed and scaled."""
    import torch

    torch.set_num_threads(torch_threads)
    the_case = case(network)
    f, params = _torch_function(the_case)
    with torch.no_grad():
        per_call = median(clock(lambda: f(*params), 20))
    return 2 * the_case.arch.n_parameters * per_call


def worker(method, network, warm_repeats, torch_threads):
    if (network, method) in EXTRAPOLATED:
        seconds = _extrapolate(method, network, torch_threads)
        return {"cold": None, "warm": seconds, "estimated": True, "agrees": None, "rss_mib": peak_rss_mib()}
    check = _prepare(method, network, torch_threads)
    rss_before = peak_rss_mib()
    start = time.perf_counter()
    agrees = check()
    cold = time.perf_counter() - start
    warm = median(clock(check, 1 if method in SLOW else warm_repeats))
    record = {"cold": cold, "warm": warm, "estimated": False, "agrees": bool(agrees),
              "rss_mib": peak_rss_mib(), "rss_before_mib": rss_before, "torch_loaded": "torch" in sys.modules}
    if method in DIRECTIONAL:
        tracemalloc.start()  # NumPy's allocations (torch's are not traced): measured in a separate call
        check()
        record["traced_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return record


def measure(method, network, args):
    """The median over ``args.processes`` fresh processes (one for the slow methods)."""
    runs = 1 if method in SLOW or (network, method) in EXTRAPOLATED else args.processes
    env = dict(os.environ)
    if args.blas_threads:  # read by OpenBLAS when numpy loads: only a fresh process can change it
        env["OPENBLAS_NUM_THREADS"] = str(args.blas_threads)
    records = [run_worker(__file__, method, network, "--warm-repeats", args.warm_repeats,
                          "--torch-threads", args.torch_threads, env=env) for _ in range(runs)]
    merged = dict(records[0])
    for key in ("cold", "warm", "rss_mib", "traced_peak_mib", "rss_before_mib"):
        if merged.get(key) is not None:
            merged[key] = median([r[key] for r in records])
    merged["agrees"] = None if merged["agrees"] is None else all(r["agrees"] for r in records)
    merged["processes"] = runs
    return merged


def _seconds(value, estimated=False):
    if value is None:
        return "-"
    text = f"{value:.4f}" if value < 0.1 else f"{value:.3f}" if value < 100 else f"{value:.0f}"
    return f"~{text} est." if estimated else text


# (ours, theirs, target[, networks]); the like-with-like pairs check the same number of quantities.
RATIOS = (("gradcert-exhaustive", "gradcheck-slow", 0.25),
          ("gradcert-directional-5", "gradcheck-fast", 0.5),
          ("gradcert-directional-1", "check_grads", 0.5),
          ("gradcert-directional", "gradcheck-fast", 0.25, ("nielsen",)),  # issue 13's target
          ("gradcert-floor", "gradcheck-fast", 0.25, ("nielsen",)),  # the least the target's check can cost
          ("gradcert-directional", "gradcheck-fast", 0.5, ("mlp1m",)),
          ("gradcert-directional", "check_grads", 0.5),
          ("gradcert-directional-torch", "gradcheck-fast", 0.5),
          ("gradcert-directional-torch", "check_grads", 0.5),
          ("gradcert-directional-fd", "gradcheck-fast", 0.5),
          ("gradcert-directional-fd", "check_grads", 0.5))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs=2, metavar=("METHOD", "NETWORK"), help=argparse.SUPPRESS)
    parser.add_argument("--warm-repeats", type=int, default=30, help="calls after the first (default 30)")
    parser.add_argument("--processes", type=int, default=3,
                        help="fresh processes per quick method, medians reported (default 3)")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch threads for every torch method (default 1: faster on a busy machine)")
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="OPENBLAS_NUM_THREADS for every method's NumPy (default 1; 0: as it is)")
    parser.add_argument("--networks", default=",".join(NETWORKS), help="comma-separated (default: all)")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated (default: all)")
    parser.add_argument("--quick", action="store_true", help="leave out gradcheck's slow mode (minutes)")
    args = parser.parse_args(argv)
    if args.worker:
        import json

        print(json.dumps(worker(*args.worker, args.warm_repeats, args.torch_threads)))
        return 0

    print_header("gradcert vs torch.autograd.gradcheck vs jax check_grads",
                 ["benchmarks/bench_vs_gradcheck.py", *argv])
    blas = args.blas_threads or os.environ.get("OPENBLAS_NUM_THREADS", "OpenBLAS's default")
    print(f"torch threads {args.torch_threads}, NumPy's OpenBLAS threads {blas}; "
          "cold = first call in a fresh process (after imports), "
          f"warm = median of the next {args.warm_repeats} calls (1 for the slow methods); each quick "
          f"method in {args.processes} processes, medians shown\n")
    results, rows = {}, []
    for network in args.networks.split(","):
        for method in args.methods.split(","):
            if args.quick and method == "gradcheck-slow":
                continue
            r = measure(method, network, args)
            results[network, method] = r
            memory = f"{r['rss_mib']:.0f}"
            if "traced_peak_mib" in r:
                memory += f" (numpy {r['traced_peak_mib']:.0f})"
            verdict = "-" if r["agrees"] is None else ("certified" if r["agrees"] else "DISAGREES")
            cold, warm = _seconds(r["cold"]), _seconds(r["warm"], r["estimated"])
            rows.append([network, method, cold, warm, memory, verdict])
            print(f"  {network:<8} {method:<27} cold {cold:>9}  warm {warm:>12}", flush=True)
    print()
    print(table(rows, ["network", "method", "cold s", "warm s", "peak RSS MiB", "verdict"]))
    print()
    print("ratios (target in brackets; < 1 means gradcert is faster).  Like with like first: exhaustive\n"
          "against gradcheck's slow mode (every entry), directional-5 against fast mode (one projection\n"
          "per tensor), directional-1 against check_grads (one projection); then the default directional\n"
          "mode (12 projections, unit directions, a Taylor test; issue 13's target 0.25 against fast mode)\n"
          "and the other oracles:")
    for network in NETWORKS:
        for ours, theirs, target, *only in RATIOS:
            if only and network not in only[0]:
                continue
            a, b = results.get((network, ours)), results.get((network, theirs))
            if a is None or b is None:
                continue
            for when in ("cold", "warm"):
                if a[when] is None or b[when] is None:
                    continue
                ratio = a[when] / b[when]
                est = " (est.)" if a["estimated"] or b["estimated"] else ""
                verdict = "met" if ratio <= target else "NOT met"
                print(f"  {network:<8} {when:<4} {ours} / {theirs} = {ratio:.3f}{est}  "
                      f"[<= {target}] {verdict}")
    big = results.get(("mlp1m", "gradcert-directional"))
    if big:
        met = "met" if big["cold"] < 1 else "NOT met"
        print(f"\n  mlp1m directional: cold {big['cold']:.2f} s, warm {big['warm']:.2f} s "
              f"[cold < 1 s] {met}; "
              f"peak RSS {big['rss_mib']:.0f} MiB (the whole process; "
              f"{big['rss_before_mib']:.0f} MiB before the first call; torch imported: "
              f"{'yes' if big.get('torch_loaded') else 'no'}), "
              f"NumPy allocations traced {big['traced_peak_mib']:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
