"""How each kind of candidate is driven and judged, one case at a time.

Every checker has ``strategy()`` -- the Hypothesis strategy of its cases --
and ``check(case) -> list[Comparison]``, which raises ``Disagreement`` on a
gradient bug and ``CandidateFailure`` when the candidate misbehaves.

* ``ReferenceChecker`` -- the bundled ``reference.Network.backprop``.
* ``NetworkChecker``   -- network.py's interface: ``Name(sizes)``, weights and
  biases set by gradcert, ``backprop(x, y)`` on single columns, and one
  ``update_mini_batch`` step on the whole batch when it has one.
* ``FunctionChecker``  -- ``grad(arch, weights, biases, x, y)``.
* ``LayerChecker``     -- ``forward(x)`` / ``backward(dout)``, judged against
  the vector-Jacobian product of its own forward by finite differences.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass

import numpy as np
from gradcert.oracles.finite_diff import UNIT_ROUNDOFF, step_sizes
from gradcert.properties import strategies
from gradcert.properties.candidates.calls import CandidateFailure, call, changed, copies, gradient_arrays
from gradcert.properties.certify import FD_MAX_ENTRIES, Disagreement, judge
from gradcert.properties.compare import Comparison, TensorComparison, compare_tensor, unit_roundoff
from gradcert.reference.architecture import Architecture
from hypothesis import strategies as st

ETA = 0.5  # the learning rate of the checked update_mini_batch step
DIRECTIONAL_ABOVE = 100_000  # parameters: larger networks are checked along directions by default


@dataclass(frozen=True)
class Options:
    """What the user declared (CLI flags or pytest options)."""

    costs: tuple[str, ...] = ("quadratic",)
    activation: tuple[str, ...] = ("sigmoid",)  # one name for all layers, or one per layer
    sizes: tuple[int, ...] | None = None
    batch: int = 4
    oracles: tuple[str, ...] = ()
    timeout: float = 10.0
    rows: bool = False
    l2: float | None = None  # function kind: None draws it
    batch_norm: bool = False  # function kind: may the architecture normalise?
    mode: str = "auto"  # "auto", "exhaustive" (every entry by finite differences) or "directional"


def directional(arch, options) -> bool:
    return options.mode == "directional" or (options.mode == "auto" and arch.n_parameters > DIRECTIONAL_ABOVE)


def judge_gradient(case, gradient, options, roundoff, extra_error=None):
    """The comparisons for one candidate gradient, entry by entry or along directions."""
    if directional(case.arch, options):
        return [_directional_comparison(case, gradient, options, roundoff, extra_error)]
    fd_entries = None if options.mode == "exhaustive" else FD_MAX_ENTRIES
    return judge(case, gradient, options.oracles, roundoff, extra_error, stop_early=True,
                 fd_max_entries=fd_entries)


def _directional_comparison(case, gradient, options, roundoff, extra_error=None):
    """directional_check's dot-product tests as a Comparison (one row per direction)."""
    from gradcert.properties.directional.check import directional_check

    # The complex step (NumPy, every direction in one pass) unless --oracles leaves it out;
    # then forward-mode AD, or central differences along each direction.
    oracle = next((n for n in ("complex-step", "torch", "jax") if n in options.oracles), "finite-diff")
    roundoff = unit_roundoff(np.float64) if roundoff is None else roundoff  # None: the reference's own
    result = directional_check(case, gradient, oracle=oracle, roundoff=roundoff, extra_error=extra_error)
    rows = []
    for r in result.records:
        layer = int(r.label.split("[")[1].split("]")[0]) if "[" in r.label else case.arch.depth
        rows.append(TensorComparison(
            name=f"<g, d> {r.label}", layer=layer, max_abs_error=r.difference,
            # relative to the projection, or to its tolerance when the projection is ~0
            max_rel_error=r.difference / max(abs(r.oracle), r.tolerance) if r.difference else 0.0,
            worst_index=(), candidate_value=r.candidate, oracle_value=r.oracle, tolerance=r.tolerance,
            excess=0.0 if r.status != "bug" else r.excess))
    for t in result.taylor:
        if t.status == "bug":
            rows.append(TensorComparison(
                name=f"Taylor rate {t.label}", layer=case.arch.depth, max_abs_error=0.0, max_rel_error=0.0,
                worst_index=(), candidate_value=t.rate, oracle_value=2.0, tolerance=0.0, excess=float("inf")))
    return Comparison(f"{result.oracle} (directional)", rows)


def _architectures(options, *, l2, batch_norm):
    """Architectures within what the user declared: fixed sizes, or drawn ones."""
    if options.sizes is not None:
        activation = options.activation
        if len(activation) == 1:
            activation = activation * (len(options.sizes) - 1)
        valid = []
        for cost in options.costs:
            try:
                valid.append(Architecture.build(options.sizes, list(activation), cost))
            except ValueError:
                continue
        if not valid:
            raise ValueError(f"no declared cost ({', '.join(options.costs)}) fits sizes "
                             f"{list(options.sizes)} with activation {'/'.join(activation)}")
        l2s = st.just(0.0) if l2 is False else st.just(float(l2)) if l2 is not True else \
            st.sampled_from([0.0, 0.1])
        return st.builds(lambda arch, decay: dataclasses.replace(arch, l2=decay), st.sampled_from(valid), l2s)
    order = [a for a in strategies.SIMPLEST_FIRST if a in options.activation]
    return strategies.architectures(activations=tuple(order), costs=tuple(options.costs), l2=l2,
                                    batch_norm=batch_norm, modified_neuron=False)


class ReferenceChecker:
    kind = "reference"
    name = "reference.Network.backprop"

    def __init__(self, options: Options):
        self.options = options

    def strategy(self):
        return strategies.cases(architectures=strategies.architectures(batch_norm=True, modified_neuron=True),
                                max_batch=self.options.batch)

    def check(self, case):
        gradient = case.network().backprop(case.x, case.y)
        comparisons = judge_gradient(case, gradient, self.options, None)
        if not all(c.agrees for c in comparisons):
            raise Disagreement(case, comparisons, gradient=gradient, dtype=np.float64)
        return comparisons


class NetworkChecker:
    kind = "network"

    def __init__(self, target, options: Options):
        self.cls, self.name, self.options = target.obj, target.spec, options
        self.has_update = callable(getattr(self.cls, "update_mini_batch", None))

    def strategy(self):
        o = self.options
        archs = _architectures(o, l2=False, batch_norm=False)
        return strategies.cases(architectures=archs, max_batch=o.batch)

    def _build(self, case):
        timeout = self.options.timeout
        net = call(self.cls, list(case.arch.sizes), what=f"{self.name}({list(case.arch.sizes)})",
                   timeout=timeout)
        try:
            net.weights, net.biases = copies(case.weights), copies(case.biases)
        except Exception as error:
            raise CandidateFailure("crashed", f"setting weights and biases on {self.name} failed: "
                                   f"{type(error).__name__}: {error}") from None
        return net

    def check(self, case):
        comparisons = []
        net = self._build(case)
        for x, y in case.columns():
            single = dataclasses.replace(case, x=x, y=y, seed=None)
            given_x, given_y = np.array(x), np.array(y)
            result = call(net.backprop, given_x, given_y, what=f"{self.name}.backprop",
                          timeout=self.options.timeout)
            self._no_mutation(case, net, [x, y], [given_x, given_y], "backprop")
            nabla_b, nabla_w, dtype = gradient_arrays(result, case.arch, f"{self.name}.backprop")
            found = judge_gradient(single, (nabla_b, nabla_w), self.options, unit_roundoff(dtype))
            if not all(c.agrees for c in found):
                raise Disagreement(single, found, outer=case, gradient=(nabla_b, nabla_w), dtype=dtype)
            comparisons += found
        if self.has_update and case.m >= 2:
            comparisons += self._check_update(case)
        return comparisons

    def _no_mutation(self, case, net, originals, given, method):
        if changed(originals, given) is not None:
            raise CandidateFailure("mutated inputs", f"{self.name}.{method} wrote into the x or y it was "
                                   "given; copy them before changing them")
        try:
            weights, biases = list(net.weights), list(net.biases)
        except Exception:
            weights, biases = [], []
        if changed(case.weights, weights) is not None or changed(case.biases, biases) is not None:
            raise CandidateFailure("mutated weights", f"{self.name}.{method} changed the network's own "
                                   "weights or biases; backprop must leave them as they were")

    def _check_update(self, case):
        net = self._build(case)
        batch = [(np.array(x), np.array(y)) for x, y in case.columns()]
        call(net.update_mini_batch, batch, ETA, what=f"{self.name}.update_mini_batch",
             timeout=self.options.timeout)
        given = [a for pair in batch for a in pair]
        if changed([a for pair in case.columns() for a in pair], given) is not None:
            raise CandidateFailure("mutated inputs", f"{self.name}.update_mini_batch wrote into the "
                                   "mini-batch it was given")
        # The gradient the step implies: (w_before - w_after) / eta.  Forming w - eta g and
        # subtracting back costs at most u (|w_before| + |w_after|) per entry, which divided
        # by eta is added to the oracle's error below.
        new_b, new_w, dtype = gradient_arrays((list(net.biases), list(net.weights)), case.arch,
                                              f"{self.name}.update_mini_batch (weights after the step)")
        implied_b = [(old - new) / ETA for old, new in zip(case.biases, new_b)]
        implied_w = [(old - new) / ETA for old, new in zip(case.weights, new_w)]
        u = unit_roundoff(dtype)
        extra_b = [u * (np.abs(old) + np.abs(new)) / ETA for old, new in zip(case.biases, new_b)]
        extra_w = [u * (np.abs(old) + np.abs(new)) / ETA for old, new in zip(case.weights, new_w)]
        found = judge_gradient(case, (implied_b, implied_w), self.options, u, (extra_b, extra_w))
        if not all(c.agrees for c in found):
            raise Disagreement(case, found, part="update_mini_batch", gradient=(implied_b, implied_w),
                               dtype=dtype, extra_error=(extra_b, extra_w))
        return found


class FunctionChecker:
    kind = "function"

    def __init__(self, target, options: Options):
        self.fn, self.name, self.options = target.obj, target.spec, options

    def strategy(self):
        o = self.options
        l2 = True if o.l2 is None else o.l2
        archs = _architectures(o, l2=l2, batch_norm=o.batch_norm)
        return strategies.cases(architectures=archs, max_batch=o.batch)

    def check(self, case):
        args = [case.arch, copies(case.weights), copies(case.biases), np.array(case.x), np.array(case.y)]
        originals = [a.copy() for a in args[1][:] + args[2][:] + [args[3], args[4]]]
        result = call(self.fn, *args, what=self.name, timeout=self.options.timeout)
        if changed(originals, args[1] + args[2] + [args[3], args[4]]) is not None:
            raise CandidateFailure("mutated inputs", f"{self.name} wrote into the weights, biases, x or y "
                                   "it was given; copy them before changing them")
        nabla_b, nabla_w, dtype = gradient_arrays(result, case.arch, self.name)
        found = judge_gradient(case, (nabla_b, nabla_w), self.options, unit_roundoff(dtype))
        if not all(c.agrees for c in found):
            raise Disagreement(case, found, gradient=(nabla_b, nabla_w), dtype=dtype)
        return found


@dataclass(frozen=True, eq=False)
class LayerCase:
    """A layer's input x and upstream gradient dout, in the layer's layout."""

    n: int
    m: int
    x: np.ndarray
    dout: np.ndarray
    seed: int

    def describe(self):
        return f"width={self.n} m={self.m} seed={self.seed}"


class LayerChecker:
    """backward(dout) against d/dx <forward(x), dout> by central differences of forward itself.

    The upstream gradient is Gaussian, mixed in sign (never all ones, which would
    hide a transposed or summed Jacobian).  ``--activation`` is not needed: the
    layer's own forward is the function whose derivative backward must be.
    """

    kind = "layer"

    def __init__(self, target, options: Options):
        self.cls, self.name, self.options = target.obj, target.spec, options
        self.options = dataclasses.replace(options, oracles=("finite-diff",))  # the only black-box oracle
        required = [p for p in inspect.signature(self.cls).parameters.values()
                    if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        self.takes_size = bool(required)

    def strategy(self):
        o = self.options
        widths = st.just(o.sizes[0]) if o.sizes else st.integers(1, 8)
        return st.builds(self._case, widths, st.integers(1, max(o.batch, 1)), st.integers(0, 2**32 - 1))

    def _case(self, n, m, seed):
        rng = np.random.default_rng(seed)
        shape = (m, n) if self.options.rows else (n, m)
        x, dout = rng.standard_normal(shape), rng.standard_normal(shape)
        if seed % 4 == 0:
            x[rng.random(shape) < 0.3] = 0.0  # exact zeros: where ReLU has its kink
        for a in (x, dout):
            a.setflags(write=False)
        return LayerCase(n, m, x, dout, seed)

    def _layer(self, case):
        args = (case.n,) if self.takes_size else ()
        return call(self.cls, *args, what=f"{self.name}({', '.join(map(str, args))})",
                    timeout=self.options.timeout)

    def _forward(self, layer, x, case):
        out = call(layer.forward, np.array(x), what=f"{self.name}.forward", timeout=self.options.timeout)
        out = np.asarray(out)
        if out.shape != case.dout.shape:
            raise CandidateFailure("invalid output", f"{self.name}.forward returned shape {out.shape}; "
                                   f"expected {case.dout.shape}, the shape of its input")
        return out

    def check(self, case):
        from gradcert.properties.candidates.calls import as_array

        layer = self._layer(case)
        parameters = _float_arrays(layer)  # set by the constructor: the layer's own parameters
        given_x = np.array(case.x)
        self._forward(layer, given_x, case)
        given_dout = np.array(case.dout)
        dx = call(layer.backward, given_dout, what=f"{self.name}.backward", timeout=self.options.timeout)
        if changed([case.x, case.dout], [given_x, given_dout]) is not None:
            raise CandidateFailure("mutated inputs", f"{self.name} wrote into the x or dout it was given")
        dx = as_array(dx, f"{self.name}.backward(dout)")
        if dx.shape != case.x.shape:
            raise CandidateFailure("invalid output", f"{self.name}.backward returned shape {dx.shape}; "
                                   f"expected {case.x.shape}, the shape of x")
        checked = [("dx", dx, case.x, lambda shifted: self._forward(layer, shifted, case))]
        for name, grad in _parameter_gradients(layer, parameters).items():
            grad = as_array(grad, f"{self.name}: the gradient of {name}")
            value = parameters[name]
            if grad.shape != value.shape:
                raise CandidateFailure("invalid output", f"{self.name}: the gradient of {name} has shape "
                                       f"{grad.shape}; expected {value.shape}")
            checked.append((f"d{name}", grad, value,
                            lambda shifted, name=name: self._forward_with(layer, name, shifted, case)))
        tensors = []
        for name, candidate, base, forward in checked:
            oracle, error = self._by_differences(base, case.dout, forward)
            # The candidate's own rounding is a few ulps of the terms of <forward, dout>; the
            # finite-difference error (>= u^(2/3) relative) exceeds it by ~10^5, so it is the bound.
            tensors.append(compare_tensor(name, 0, candidate, oracle, error, np.abs(oracle),
                                          2 * UNIT_ROUNDOFF))
        comparison = Comparison("finite-diff", tensors)
        if not comparison.agrees:
            raise Disagreement(case, [comparison], gradient=dx, dtype=dx.dtype)
        return [comparison]

    def _forward_with(self, layer, name, value, case):
        """forward(x) with one parameter replaced by ``value``; the layer's own array is put back."""
        holder, key = _holder(layer, name)
        original = holder[key] if isinstance(holder, dict) else getattr(layer, key)
        try:
            if isinstance(holder, dict):
                holder[key] = value
            else:
                setattr(layer, key, value)
            return self._forward(layer, case.x, case)
        finally:
            if isinstance(holder, dict):
                holder[key] = original
            else:
                setattr(layer, key, original)

    @staticmethod
    def _by_differences(base, dout, forward):
        """d/d(base) of f = sum(forward(base) * dout), entry by entry, with an error bound.

        Central differences with Richardson's extrapolation, as in
        ``oracles.finite_diff``: |D(h) - D(2h)| bounds the truncation error, and
        each value of f is off by at most n u sum|out * dout| (an n-term sum).

        Kinks: the one-sided slopes at step h differ by the second difference
        g(h) = (f(h) - 2 f(0) + f(-h)) / h, which is f'' h for a smooth f, so
        g(2h) = 2 g(h); across a kink at the centre (ReLU at an input that is
        exactly 0) g is the jump in slope whatever the step, so g(2h) = g(h).
        A ratio g(2h) / g(h) below 1.5, the midpoint of the two cases, with g
        well above the rounding noise, is taken for a kink: then any value between
        the one-sided slopes is a valid derivative and the error says so.
        """
        base = np.asarray(base, dtype=np.float64)
        h = step_sizes(base)
        value, error = np.zeros_like(base), np.zeros_like(base)
        out = forward(base)
        f0 = float(np.sum(out * dout))
        noise = max(base.size, dout.size) * UNIT_ROUNDOFF * float(np.sum(np.abs(out * dout)))
        for index in np.ndindex(base.shape):
            f = {}
            for k in (1, -1, 2, -2):
                shifted = np.array(base)
                shifted[index] += k * h[index]
                f[k] = float(np.sum(forward(shifted) * dout))
            step = h[index]
            d1, d2 = (f[1] - f[-1]) / (2 * step), (f[2] - f[-2]) / (4 * step)
            err = abs(d1 - d2) + 1.5 * noise / step
            gap1 = (f[1] - 2 * f0 + f[-1]) / step
            gap2 = (f[2] - 2 * f0 + f[-2]) / (2 * step)
            # gap1 sums four values of f, each off by at most `noise`: 4 noise / step is its
            # rounding; a kink must stand 8 times clear of that before it widens anything.
            if abs(gap1) > 8 * 4 * noise / step and abs(gap2) < 1.5 * abs(gap1):
                right, left = (f[1] - f0) / step, (f0 - f[-1]) / step
                value[index], error[index] = (right + left) / 2, abs(right - left) / 2 + err
            else:
                value[index], error[index] = (4 * d1 - d2) / 3, err
        return value, error


def _float_arrays(layer):
    """A layer's parameters as its constructor left them: ``params`` (a dict, as many
    from-scratch frameworks keep them) or float-array attributes; copies, by name."""
    params = getattr(layer, "params", None)
    if isinstance(params, dict):
        found = params.items()
    else:
        found = vars(layer).items() if hasattr(layer, "__dict__") else ()
    return {name: np.array(v, dtype=np.float64) for name, v in found
            if isinstance(v, np.ndarray) and v.dtype.kind == "f" and v.size}


def _holder(layer, name):
    params = getattr(layer, "params", None)
    return (params, name) if isinstance(params, dict) and name in params else (None, name)


def _parameter_gradients(layer, parameters):
    """After backward: ``grads[name]`` (with ``params``) or an attribute ``d<name>`` (``dW``, ``db``)."""
    grads = getattr(layer, "grads", None)
    found = {}
    for name in parameters:
        if isinstance(grads, dict) and name in grads:
            found[name] = grads[name]
        elif hasattr(layer, "d" + name):
            found[name] = getattr(layer, "d" + name)
    return found


def checker_for(target, options):
    return {"network": NetworkChecker, "function": FunctionChecker, "layer": LayerChecker}[target.kind](
        target, options)


__all__ = ["FunctionChecker", "LayerChecker", "NetworkChecker",
           "Options", "ReferenceChecker", "checker_for"]
