"""The power curve: the smallest gradient error each check flags, and what each check costs.

    python benchmarks/bench_power.py [--networks nielsen,mlp1m] [--quick]

The candidate is the reference's backprop on the benchmark networks (``_common.NETWORKS``:
Nielsen's [784, 30, 10], 23,860 parameters, and a [1000, 1000, 10] MLP, 1,011,010, both
sigmoid and quadratic with a batch of 10), made wrong in one of two ways:

* single entry -- one weight, the largest in magnitude of nabla_w[l], off by r times that
  largest entry;
* whole tensor -- all of nabla_w[l] scaled by (1 + r);

for l the first and the last layer and r = 1e-2, 1e-3, ..., 1e-12.  Each check says
"flagged" or not; the table gives, per check, the smallest r it flags (found by bisection
over the decades: a check that misses r misses every smaller error of the same kind, so
four checks find it among eleven), whether it certifies the right gradient, and the median
time of one check.

* gradcert-default -- what ``gradcert check`` does by default: entry by entry against
  torch, the complex step and finite differences on a sample of 2,000 entries (networks
  up to 100,000 parameters), the directional mode above;
* gradcert-exhaustive -- every entry against torch, the complex step and finite differences;
* gradcert-directional -- ``directional_check`` with its defaults;
* gradcheck-slow / -fast -- ``torch.autograd.gradcheck`` (and ``fast_mode=True``) on a
  ``torch.autograd.Function`` whose forward is the batch cost and whose backward returns the
  same wrong gradient (slow mode is not run on the 1M network: two evaluations per entry,
  hours; and fast mode's habit, once it has found a mismatch, of running slow mode on that
  input to print its Jacobians is switched off: the verdict is what is timed);
* check_grads -- ``jax.test_util.check_grads(f, (params,), order=1, modes=["rev"])`` on a
  ``jax.custom_vjp`` function with the same wrong backward.

Timing: every check warm (after one untimed call), in this process, torch at one thread and
``OPENBLAS_NUM_THREADS`` as the environment sets it (run with 1 on a shared machine).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
from _common import NETWORKS, case, print_header, table

RATIOS = [10.0**-k for k in range(2, 13)]
DEFAULT_ABOVE = 100_000  # parameters: the default mode is directional above (candidates.kinds)


def _mutations(gradient, layer, kind, r):
    """The right gradient with nabla_w[layer] made wrong by a relative r (see the docstring)."""
    nabla_b, nabla_w = [b.copy() for b in gradient[0]], [w.copy() for w in gradient[1]]
    target = nabla_w[layer]
    if kind == "single entry":
        index = np.unravel_index(int(np.argmax(np.abs(target))), target.shape)
        target[index] += r * np.abs(target).max()
    else:
        target *= 1.0 + r
    return nabla_b, nabla_w


class Checks:
    """Every check of the table, each a function of a gradient -> flagged (bool)."""

    def __init__(self, network):
        self.case = case(network)
        self.network = network
        self.right = self.case.network().backprop(self.case.x, self.case.y)
        self.methods = {"gradcert-default": self.default, "gradcert-exhaustive": self.exhaustive,
                        "gradcert-directional": self.directional, "gradcheck-slow": self.slow,
                        "gradcheck-fast": self.fast, "check_grads": self.check_grads}
        if network == "mlp1m":
            del self.methods["gradcheck-slow"]
        self._torch = self._jax = None

    def _judge(self, gradient, entries):
        from gradcert.properties.certify import judge

        names = ["torch", "complex-step", "finite-diff"]
        return any(c.status == "bug" for c in judge(self.case, gradient, names, fd_max_entries=entries))

    def default(self, gradient):
        if self.case.arch.n_parameters > DEFAULT_ABOVE:
            return self.directional(gradient)
        return self._judge(gradient, 2000)

    def exhaustive(self, gradient):
        return self._judge(gradient, None)

    def directional(self, gradient):
        from gradcert.properties.directional.check import directional_check

        return directional_check(self.case, gradient).verdict == "bug"

    def _torch_function(self, gradient):
        import torch
        from gradcert.oracles.torch_grad import cost_function

        torch.set_num_threads(1)
        cost, constants = cost_function(self.case.arch, self.case.x, self.case.y)
        depth = self.case.arch.depth
        wrong = [torch.tensor(t) for t in (*gradient[1], *gradient[0])]

        class Cost(torch.autograd.Function):
            @staticmethod
            def forward(ctx, *params):
                return cost(list(params[:depth]), list(params[depth:]), constants)

            @staticmethod
            def backward(ctx, grad_output):
                return tuple(grad_output * g for g in wrong)

        params = [torch.tensor(t, requires_grad=True) for t in (*self.case.weights, *self.case.biases)]
        return Cost.apply, params

    def _gradcheck(self, gradient, fast):
        import importlib

        import torch

        module = importlib.import_module("torch.autograd.gradcheck")  # the module, not the function
        f, params = self._torch_function(gradient)
        # Once fast mode has found a mismatch it runs slow mode on that input to print the
        # Jacobians: hours on the 1M network, after the verdict.  Timed is the verdict.
        explain = module._run_slow_mode_and_get_error
        module._run_slow_mode_and_get_error = lambda *args, **kwargs: ""
        try:
            return not torch.autograd.gradcheck(f, params, fast_mode=fast, raise_exception=False)
        finally:
            module._run_slow_mode_and_get_error = explain

    def slow(self, gradient):
        return self._gradcheck(gradient, False)

    def fast(self, gradient):
        return self._gradcheck(gradient, True)

    def check_grads(self, gradient):
        import jax
        from gradcert.oracles.base import columns
        from gradcert.oracles.jax_grad import cost_function
        from jax.test_util import check_grads

        jax.config.update("jax_enable_x64", True)
        jnp = jax.numpy
        cost = cost_function(self.case.arch)
        x, y = jnp.asarray(columns(self.case.x)), jnp.asarray(columns(self.case.y))
        wrong = ([jnp.asarray(w) for w in gradient[1]], [jnp.asarray(b) for b in gradient[0]])

        @jax.custom_vjp
        def f(params):
            return cost(params, x, y)

        def forward(params):
            return f(params), None

        def backward(_, grad_output):
            return (jax.tree_util.tree_map(lambda g: grad_output * g, wrong),)

        f.defvjp(forward, backward)
        params = ([jnp.asarray(w) for w in self.case.weights], [jnp.asarray(b) for b in self.case.biases])
        try:
            check_grads(f, (params,), order=1, modes=["rev"])
        except AssertionError:
            return True
        return False


def _timed(check, gradient):
    start = time.perf_counter()
    flagged = check(gradient)
    return flagged, time.perf_counter() - start


def power(checks, name, layers, quick):
    """(certifies the right gradient, {(kind, layer): smallest r flagged or None}, median seconds)."""
    check = checks.methods[name]
    check(checks.right)  # warm-up: compiles, imports
    certified, seconds = _timed(check, checks.right)
    certified = not certified
    times, smallest = [seconds], {}
    ratios = RATIOS[:4] if quick else RATIOS
    for kind in ("single entry", "whole tensor"):
        for layer in layers:
            # bisection: ratios[low] flagged (or low = -1), ratios[high] missed (or high = len)
            low, high = -1, len(ratios)
            while high - low > 1:
                middle = (low + high) // 2
                flagged, seconds = _timed(check, _mutations(checks.right, layer, kind, ratios[middle]))
                times.append(seconds)
                low, high = (middle, high) if flagged else (low, middle)
            smallest[kind, layer] = ratios[low] if low >= 0 else None
    return certified, smallest, statistics.median(times)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", default=",".join(NETWORKS), help="comma-separated (default: all)")
    parser.add_argument("--methods", default=None, help="comma-separated (default: all)")
    parser.add_argument("--quick", action="store_true", help="r down to 1e-5 only")
    args = parser.parse_args(argv)
    print_header("gradcert's power curve against gradcheck and check_grads",
                 ["benchmarks/bench_power.py", *argv])
    rows = []
    for network in args.networks.split(","):
        checks = Checks(network)
        layers = (0, checks.case.arch.depth - 1)
        names = args.methods.split(",") if args.methods else list(checks.methods)
        for name in names:
            if name not in checks.methods:
                continue
            certified, smallest, seconds = power(checks, name, layers, args.quick)
            cells = [_r(smallest[kind, layer]) for kind in ("single entry", "whole tensor")
                     for layer in layers]
            rows.append([network, name, "yes" if certified else "NO", *cells, f"{seconds:.3g}"])
            print(f"  {network:<8} {name:<21} certified {rows[-1][2]:<3} " + " ".join(cells)
                  + f"  {seconds:.3g} s", flush=True)
    print()
    print(table(rows, ["network", "check", "right gradient certified", "single entry, first layer",
                       "single entry, last layer", "whole tensor, first layer", "whole tensor, last layer",
                       "s per check"]))
    print("\nEach cell: the smallest r flagged (errors of r times the tensor's largest entry, or a tensor\n"
          "scaled by 1 + r); '-' if not even r = 1e-2.")
    return 0


def _r(r):
    return "-" if r is None else f"{r:.0e}"


if __name__ == "__main__":
    sys.exit(main())
