"""Hypothesis strategies for networks, their parameters and their batches.

Written the way ``hypothesis.extra.numpy`` writes its own: keyword-only
arguments with defaults, checked when the strategy is made (an
``InvalidArgument`` names the argument and says what would work), and composed
from smaller strategies.

Everything shrinks toward the simplest case: fewer and narrower layers,
``linear`` before the other activations, ``quadratic`` before the other costs,
no weight decay, no batch normalisation, no modified neuron, none of the other
optional components, a batch of one example, seed 0.

Parameters and batches are built by NumPy from a drawn integer seed rather than
entry by entry: a case with hundreds of numbers costs Hypothesis one draw, and
``case_from_seed(arch, m, seed)`` rebuilds any case that ``cases()`` drew
without Hypothesis at all (its ``seed`` is in the case's repr).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from gradcert.reference.architecture import ACTIVATIONS, COSTS, ELEMENTWISE, Architecture, ArchitectureError
from gradcert.reference.network import Network
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

__all__ = ["DROPOUT_RATE", "MAX_PIECES", "SIMPLEST_FIRST", "Case", "architectures", "batches",
           "case_from_seed", "cases", "parameters"]

# Every activation name, simplest first: sampled_from shrinks toward the first
# element, so a shrunk counterexample uses the simplest activation that still fails.
SIMPLEST_FIRST = ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "softmax")

_SEEDS = st.integers(0, 2**32 - 1)

# One NumPy stream per kind of array, so that changing the batch size redraws
# neither the parameters nor the examples that remain (see _batch_from_seed).
_PARAMETERS_STREAM, _INPUTS_STREAM, _TARGETS_STREAM = 0, 1, 2

_MAX_REPR_ENTRIES = 40  # a larger case prints its shapes, not its numbers

DROPOUT_RATE = 0.5  # a dropped unit's multiplier is 0, a kept one's 1 / (1 - DROPOUT_RATE)
MAX_PIECES = 3  # maxout: pieces per unit, at most


@dataclass(frozen=True, eq=False)
class Case:
    """One network, its parameters and one batch: everything a gradient check needs.

    The arrays are float64 copies made read-only, so no check can change what
    another check sees.  ``seed`` is the seed ``case_from_seed`` rebuilds the
    case from, or None when the case was put together some other way.
    """

    arch: Architecture
    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    x: np.ndarray
    y: np.ndarray
    seed: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "weights", tuple(_frozen(w) for w in self.weights))
        object.__setattr__(self, "biases", tuple(_frozen(b) for b in self.biases))
        object.__setattr__(self, "x", _frozen(self.x))
        object.__setattr__(self, "y", _frozen(self.y))
        expected = self.arch.shapes
        actual = [[w.shape for w in self.weights], [b.shape for b in self.biases]]
        if actual != [[w for w, _ in expected], [b for _, b in expected]]:
            raise ValueError(f"weight and bias shapes {actual} do not fit {self.arch.describe()}: "
                             f"expected {expected} (Nielsen's layout)")
        n_in, n_out = self.arch.sizes[0], self.arch.sizes[-1]
        if self.x.ndim != 2 or self.x.shape[0] != n_in or self.y.shape != (n_out, self.x.shape[1]):
            raise ValueError(f"x has shape {self.x.shape} and y {self.y.shape}; expected ({n_in}, m) "
                             f"and ({n_out}, m): one column per example")

    @property
    def m(self) -> int:
        """The batch size: the number of columns of x."""
        return self.x.shape[1]

    def network(self) -> Network:
        """A fresh reference ``Network`` with this case's architecture and parameters."""
        net = Network.from_architecture(self.arch, seed=0)
        net.weights = list(self.weights)  # the setters copy, so the network's arrays are writable
        net.biases = list(self.biases)
        return net

    def columns(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The batch as a list of ``(x, y)`` single-column pairs (read-only views)."""
        return [(self.x[:, i:i + 1], self.y[:, i:i + 1]) for i in range(self.m)]

    def describe(self) -> str:
        return f"{self.arch.describe()} m={self.m}"

    def __repr__(self) -> str:
        head = self.describe() + ("" if self.seed is None else f" seed={self.seed}")
        groups = {"weights": self.weights, "biases": self.biases, "x": (self.x,), "y": (self.y,)}
        if sum(a.size for arrays in groups.values() for a in arrays) > _MAX_REPR_ENTRIES:
            shown = {name: [a.shape for a in arrays] for name, arrays in groups.items()}
            return f"Case({head}; shapes {shown})"
        # Python's float repr has exactly the digits it takes to read the number back.
        shown = {name: [f"array({a.tolist()!r})" for a in arrays] for name, arrays in groups.items()}
        weights, biases = ", ".join(shown["weights"]), ", ".join(shown["biases"])
        return f"Case({head}; weights=[{weights}], biases=[{biases}], x={shown['x'][0]}, y={shown['y'][0]})"

    def _repr_pretty_(self, printer, cycle):
        """Hypothesis prints falsifying examples with this, not field by field as for other dataclasses."""
        printer.text(repr(self))


def architectures(
    *,
    min_depth: int = 1,
    max_depth: int = 4,
    min_width: int = 1,
    max_width: int = 8,
    activations: tuple[str, ...] = SIMPLEST_FIRST,
    costs: tuple[str, ...] = COSTS,
    l2: bool | float = True,
    batch_norm: bool = False,
    modified_neuron: bool = False,
    hidden_activations: tuple[str, ...] | None = None,
    output_activations: tuple[str, ...] | None = None,
    layer_norm: bool = False,
    l1: bool | float = False,
    dropout: bool = False,
    residual: bool = False,
    tied: bool = False,
    maxout: bool = False,
    activity: bool | float = False,
) -> st.SearchStrategy[Architecture]:
    """Return a strategy for valid ``Architecture`` descriptions.

    * ``min_depth`` and ``max_depth`` bound the number of weight layers (>= 1).
    * ``min_width`` and ``max_width`` bound every layer's width, the input
      layer's included (>= 1).
    * ``activations`` are the names each layer's activation is drawn from; the
      first one is where shrinking goes, hence the default ``SIMPLEST_FIRST``.
    * ``costs`` are the cost names to draw from.  The output activation is
      drawn among those some cost accepts, then the cost among those that
      accept it (cross-entropy needs sigmoid, or softmax at least two wide;
      log-likelihood needs softmax), so no draw is ever rejected.
    * ``l2``: True draws 0.0 (where shrinking goes) or a coefficient in
      [0.001, 1]; False means no weight decay; a number >= 0 fixes it.
    * ``batch_norm``: False leaves every layer unnormalised; True draws one flag
      per layer (shrinking to False).
    * ``modified_neuron``: False means none; True draws either none or one
      neuron of an elementwise layer given another elementwise activation from
      ``activations`` (Nielsen's "single modified neuron").
    * ``hidden_activations`` and ``output_activations``, if given, replace
      ``activations`` for the hidden layers and for the output layer alone
      (a family such as "tanh hidden layers, a softmax output").

    The other components of ``Architecture``, each False by default (never
    drawn); True draws it or not, shrinking to its absence:

    * ``layer_norm``: one flag per layer, as ``batch_norm`` (a layer drawn
      with both keeps batch normalisation alone).
    * ``l1``: as ``l2``, for the penalty ``l1 * sum |w|``.
    * ``dropout``: per hidden layer, none or a fixed mask: each unit dropped
      (0) or kept (``1 / (1 - DROPOUT_RATE)``), shrinking to kept.
    * ``residual``: a set of layers whose input is added to their output;
      their input and output widths are drawn as one.
    * ``tied``: none or ``(source, user)``, two layers drawn with one shape.
    * ``maxout``: 1 to ``MAX_PIECES`` pieces per unit in each layer
      (shrinking to 1: none).
    * ``activity``: none or a penalty ``(hidden layer, coefficient)``; True
      draws the coefficient in [0.001, 1], a number fixes it.
    """
    _check_int(min_depth, "min_depth", minimum=1)
    _check_int(max_depth, "max_depth", minimum=1)
    _check_interval(min_depth, max_depth, "min_depth", "max_depth")
    _check_int(min_width, "min_width", minimum=1)
    _check_int(max_width, "max_width", minimum=1)
    _check_interval(min_width, max_width, "min_width", "max_width")
    activations = _check_names(activations, ACTIVATIONS, "activations")
    hidden = activations if hidden_activations is None else _check_names(
        hidden_activations, ACTIVATIONS, "hidden_activations")
    outputs = activations if output_activations is None else _check_names(
        output_activations, ACTIVATIONS, "output_activations")
    costs = _check_names(costs, COSTS, "costs")
    costs_for = {}  # output activation -> the costs that accept it, in the given order
    for name in outputs:
        fitting = tuple(cost for cost in costs if _fits(Architecture, (1, 1), (name,), cost)
                        and _least_output_width(name, cost, min_width) <= max_width)
        if fitting:
            costs_for[name] = fitting
    if not costs_for:
        raise InvalidArgument(
            f"costs={costs!r} accept none of activations={outputs!r} at the output: cross-entropy "
            "needs sigmoid, or softmax with max_width >= 2; log-likelihood needs softmax; add "
            "'quadratic' to costs, or a fitting activation to activations"
        )
    l2s = _l2s(l2)
    l1s = _l2s(l1, "l1")
    activities = None if activity is False else _coefficients(activity, "activity")
    _check_bool(batch_norm, "batch_norm")
    _check_bool(modified_neuron, "modified_neuron")
    for name, value in (("layer_norm", layer_norm), ("dropout", dropout), ("residual", residual),
                        ("tied", tied), ("maxout", maxout)):
        _check_bool(value, name)
    neuron_activations = tuple(name for name in dict.fromkeys(hidden + outputs) if name in ELEMENTWISE)
    if modified_neuron and len(neuron_activations) < 2:
        raise InvalidArgument(
            f"modified_neuron=True needs two elementwise activations in activations={activations!r}, "
            "so that a neuron can differ from its layer"
        )
    return _architectures(
        depths=st.integers(min_depth, max_depth),
        widths=st.integers(min_width, max_width),
        hidden_activations=st.sampled_from(hidden),
        output_activations=st.sampled_from(tuple(costs_for)),
        costs_for={name: st.sampled_from(fitting) for name, fitting in costs_for.items()},
        output_widths={
            (name, cost): st.integers(_least_output_width(name, cost, min_width), max_width)
            for name, fitting in costs_for.items() for cost in fitting
        },
        l2s=l2s,
        batch_norm=batch_norm,
        neuron_activations=neuron_activations if modified_neuron else (),
        components=_Components(layer_norm, l1s, dropout, residual, tied, maxout, activities),
    )


def parameters(arch: Architecture, *, scale: float | None = None) -> st.SearchStrategy[tuple]:
    """Return a strategy for ``(weights, biases)``: tuples of read-only float64
    arrays in Nielsen's shapes, ``(n_out, n_in)`` and ``(n_out, 1)``.

    * ``arch`` is the ``Architecture`` whose parameters to draw.
    * ``scale``, if given (a number >= 0), multiplies every weight: large values
      drive sigmoid and tanh into saturation, 0 makes every layer constant.

    Weights are Gaussian with variance ``1 / n_in`` and biases with standard
    deviation 0.5, so each weighted input ``z`` is of order one: activations are
    neither flat (a zero gradient hides bugs) nor overflowing.  They are built
    from one drawn seed, which shrinks toward 0.
    """
    _check_arch(arch)
    scale = _check_scale(scale)
    return _SEEDS.map(lambda seed: _parameters_from_seed(arch, seed, scale))


def batches(arch: Architecture, *, min_batch: int = 1, max_batch: int = 8) -> st.SearchStrategy[tuple]:
    """Return a strategy for ``(x, y)``: a batch of m examples as columns,
    read-only float64 arrays of shapes ``(n_0, m)`` and ``(n_L, m)``.

    * ``arch`` is the ``Architecture`` the batch is for; its cost decides the
      targets: one-hot columns for log-likelihood, otherwise numbers strictly
      inside (0, 1).
    * ``min_batch`` and ``max_batch`` bound m (>= 1); m shrinks toward
      ``min_batch``.

    Inputs are standard Gaussian, built from one drawn seed.
    """
    _check_arch(arch)
    _check_batch_bounds(min_batch, max_batch)
    return st.tuples(st.integers(min_batch, max_batch), _SEEDS).map(lambda ms: _batch_from_seed(arch, *ms))


def cases(
    *,
    architectures: st.SearchStrategy[Architecture] | None = None,
    min_batch: int = 1,
    max_batch: int = 8,
    scale: float | None = None,
) -> st.SearchStrategy[Case]:
    """Return a strategy for ``Case``: an architecture, its parameters and a batch.

    * ``architectures`` is a strategy for the ``Architecture``; None means
      ``architectures()`` with its defaults.
    * ``min_batch`` and ``max_batch`` bound the batch size m (>= 1).
    * ``scale``, if given, multiplies every weight, as in ``parameters``.

    Parameters and batch come from one drawn seed with the distributions of
    ``parameters`` and ``batches``, so ``case_from_seed(case.arch, case.m,
    case.seed, scale=scale)`` rebuilds the very same case.
    """
    if architectures is None:
        architectures = _default_architectures()
    elif not isinstance(architectures, st.SearchStrategy):
        raise InvalidArgument(
            f"architectures={architectures!r} must be a strategy for Architecture, e.g. "
            "architectures(max_depth=2), or None for the default"
        )
    _check_batch_bounds(min_batch, max_batch)
    scale = _check_scale(scale)
    return _cases(architectures=architectures, batch_sizes=st.integers(min_batch, max_batch), scale=scale)


def case_from_seed(arch: Architecture, m: int, seed: int, *, scale: float | None = None) -> Case:
    """The ``Case`` for ``arch`` with a batch of ``m`` examples, built from ``seed``
    with the distributions of ``parameters`` and ``batches``: the same
    arguments always give the same case, with or without Hypothesis.
    Bad arguments raise ``InvalidArgument``, as the strategies do.
    """
    _check_arch(arch)
    _check_int(m, "m", minimum=1)
    _check_int(seed, "seed", minimum=0)
    weights, biases = _parameters_from_seed(arch, seed, _check_scale(scale))
    x, y = _batch_from_seed(arch, m, seed)
    return Case(arch, weights, biases, x, y, seed=int(seed))


_default_architectures = architectures  # cases() has an argument of the same name


@dataclass(frozen=True)
class _Components:
    """What ``architectures`` draws of the components after ``modified_neuron``."""

    layer_norm: bool
    l1s: st.SearchStrategy
    dropout: bool
    residual: bool
    tied: bool
    maxout: bool
    activities: st.SearchStrategy | None


@st.composite
def _architectures(draw, *, depths, widths, hidden_activations, output_activations, costs_for, output_widths,
                   l2s, batch_norm, neuron_activations, components):
    depth = draw(depths)
    if components.residual or components.tied:
        sizes, hidden, output, cost, n_out, links = draw(_linked_layers(
            depth, widths, hidden_activations, output_activations, costs_for, output_widths, components))
    else:
        links = {}
        sizes = draw(st.lists(widths, min_size=depth, max_size=depth))  # the input and hidden layers
        hidden = draw(st.lists(hidden_activations, min_size=depth - 1, max_size=depth - 1))
        # The cost is drawn from those that accept the output activation, never
        # filtered: no draw is rejected, and the cost's index keeps its meaning
        # while the shrinker simplifies the activation.
        output = draw(output_activations)
        cost = draw(costs_for[output])
        n_out = draw(output_widths[output, cost])
    l2 = draw(l2s)
    flags = draw(st.lists(st.booleans(), min_size=depth, max_size=depth)) if batch_norm else ()
    arch = Architecture((*sizes, n_out), (*hidden, output), cost, l2, tuple(flags), **links)
    arch = draw(_more_components(arch, components))
    if neuron_activations:
        neuron = draw(_modified_neurons(arch, neuron_activations))
        arch = dataclasses.replace(arch, modified_neuron=neuron)
    return arch


@st.composite
def _linked_layers(draw, depth, widths, hidden_activations, output_activations, costs_for, output_widths,
                   components):
    """Activations and cost first, then residual connections and a tie, then one width per
    group of layers they make equal: (sizes without the output, hidden, output, cost, n_out, links)."""
    hidden = draw(st.lists(hidden_activations, min_size=depth - 1, max_size=depth - 1))
    output = draw(output_activations)
    cost = draw(costs_for[output])
    # The output layer's sum would leave (0, 1): a residual there only with the quadratic cost.
    # Top layer first, where the shrinker goes: a skip below the first layer reaches no parameter.
    residual_layers = [i for i in reversed(range(depth)) if i < depth - 1 or cost == "quadratic"]
    residual = []
    if components.residual and residual_layers:
        layers = st.lists(st.sampled_from(residual_layers), unique=True, max_size=depth)
        residual = draw(layers, label="residual")
    pairs = [(s, u) for u in range(depth) for s in range(u)]
    tie = draw(st.none() | st.sampled_from(pairs), label="tied") if components.tied and pairs else None
    # Widths 0 .. depth (input first) joined into groups: a residual layer's input and output,
    # a tie's two inputs and two outputs.
    group = list(range(depth + 1))

    def root(i):
        while group[i] != i:
            i = group[i]
        return i

    joined = [(i, i + 1) for i in residual] + ([(tie[0], tie[1]), (tie[0] + 1, tie[1] + 1)] if tie else [])
    for i, j in joined:
        group[max(root(i), root(j))] = min(root(i), root(j))
    # Every width is drawn, so that the links do not shorten the draw (which the shrinker would
    # prefer); a group takes its first member's width, or the output's, whose bounds are stricter.
    drawn = draw(st.lists(widths, min_size=depth, max_size=depth)) + [draw(output_widths[output, cost])]
    width_of = {root(i): drawn[i] for i in range(depth + 1)[::-1] if root(i) != root(depth) or i == depth}
    sizes = [width_of[root(i)] for i in range(depth + 1)]
    return sizes[:-1], hidden, output, cost, sizes[-1], {"residual": tuple(residual), "tied": tie}


@st.composite
def _more_components(draw, arch, components):
    """The components drawn after the sizes: layer norm, l1, maxout, dropout, activity.

    Each is drawn as a list of the layers that have it (with its value there), not as one
    entry per layer: the shrinker then moves the component to layer 0 and drops the layers
    above, where an entry on the top layer would vanish with it and stop the shrinking.
    """
    depth, changes = arch.depth, {}
    layers = st.integers(0, depth - 1)
    if components.layer_norm:
        chosen = draw(st.lists(layers, unique=True, max_size=depth), label="layer_norm")
        changes["layer_norm"] = tuple(i in chosen and not arch.batch_norm[i] for i in range(depth))
    changes["l1"] = draw(components.l1s, label="l1")
    if components.maxout:
        pieces = [1] * depth
        chosen = st.lists(st.tuples(layers, st.integers(2, MAX_PIECES)), max_size=depth)
        for i, k in draw(chosen, label="maxout"):
            pieces[i] = k
        if arch.tied is not None:  # a tied pair keeps one shape
            pieces[arch.tied[1]] = pieces[arch.tied[0]]
        changes["maxout"] = tuple(pieces)
    if components.dropout and depth > 1:
        kept, masks = 1.0 / (1.0 - DROPOUT_RATE), [()] * depth  # none on the output layer
        for i in draw(st.lists(st.integers(0, depth - 2), unique=True, max_size=depth - 1), label="dropout"):
            n = arch.sizes[i + 1]
            dropped = draw(st.lists(st.booleans(), min_size=n, max_size=n), label=f"dropped units of {i}")
            masks[i] = tuple(0.0 if d else kept for d in dropped)
        changes["dropout"] = tuple(masks)
    if components.activities is not None and depth > 1:
        layer = draw(st.none() | st.integers(0, depth - 2), label="activity layer")
        if layer is not None:
            changes["activity"] = (layer, draw(components.activities, label="activity"))
    return dataclasses.replace(arch, **changes)


def _least_output_width(activation, cost, min_width):
    # A softmax of width 1 is the constant 1, where cross-entropy's (1 - y) ln(1 - a) is infinite.
    return max(min_width, 2) if (activation, cost) == ("softmax", "cross-entropy") else min_width


def _modified_neurons(arch, names):
    """None, or ``(layer, unit, activation)`` such that the architecture stays
    valid: an elementwise layer, a different activation, one the cost accepts."""
    choices = [
        (layer, unit, name)
        for layer, own in enumerate(arch.activations)
        for name in names
        # Validity depends on the layer and the name, not the unit: test unit 0.
        if name != own and own in ELEMENTWISE
        and _fits(dataclasses.replace, arch, modified_neuron=(layer, 0, name))
        for unit in range(arch.sizes[layer + 1])
    ]
    return st.none() | st.sampled_from(choices) if choices else st.none()


@st.composite
def _cases(draw, *, architectures, batch_sizes, scale):
    arch = draw(architectures)
    m = draw(batch_sizes)
    seed = draw(_SEEDS)
    return case_from_seed(arch, m, seed, scale=scale)


def _parameters_from_seed(arch, seed, scale):
    rng = np.random.default_rng((seed, _PARAMETERS_STREAM))
    weights, biases = [], []
    for (n_out, n_in), bias_shape in arch.shapes:
        # Variance 1/n_in keeps z = w a + b of order one when a is (network2.py's default).
        w = rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
        weights.append(_frozen(w if scale is None else scale * w))
        biases.append(_frozen(0.5 * rng.standard_normal(bias_shape)))
    if arch.tied is not None:  # the idle slot holds the matrix the layer uses, as a reader expects
        weights[arch.tied[1]] = weights[arch.tied[0]]
    return tuple(weights), tuple(biases)


def _batch_from_seed(arch, m, seed):
    n_in, n_out = arch.sizes[0], arch.sizes[-1]
    # Drawn one example (row) after another and then transposed, from separate
    # streams for inputs and targets: a smaller m keeps the first examples, so
    # shrinking the batch size does not redraw the examples that remain.
    x = np.random.default_rng((seed, _INPUTS_STREAM)).standard_normal((m, n_in)).T
    targets = np.random.default_rng((seed, _TARGETS_STREAM))
    if arch.cost == "log-likelihood":
        y = np.zeros((n_out, m))
        y[targets.integers(0, n_out, size=m), np.arange(m)] = 1.0
    else:
        # k / 2**53 for k in 1 .. 2**53 - 1: uniform, exact in float64, and never
        # exactly 0 or 1, so no check depends on how a cost treats 0 * ln 0.
        y = (targets.integers(1, 2**53, size=(m, n_out)) / 2.0**53).T
    return _frozen(x), _frozen(y)


def _frozen(a):
    a = np.array(a, dtype=np.float64)  # a C-ordered copy: the caller keeps its own array
    a.setflags(write=False)
    return a


def _fits(build, *args, **kwargs):
    """Whether the reference accepts this architecture (its rules, not a copy of them)."""
    try:
        build(*args, **kwargs)
    except ArchitectureError:
        return False
    return True


def _coefficients(value, name):
    """True: a coefficient drawn in [0.001, 1]; a number > 0 fixes it."""
    if value is True:
        return st.floats(0.001, 1.0)
    if isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
        return st.just(float(value))
    raise InvalidArgument(f"{name}={value!r} must be True (draw a coefficient), False (none) or a number > 0")


def _l2s(l2, name="l2"):
    if isinstance(l2, bool):
        return st.just(0.0) | st.floats(0.001, 1.0) if l2 else st.just(0.0)
    if isinstance(l2, Real) and math.isfinite(l2) and l2 >= 0:
        return st.just(float(l2))
    raise InvalidArgument(
        f"{name}={l2!r} must be True (draw a coefficient), False (none) or a finite number >= 0"
    )


def _check_int(value, name, *, minimum):
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise InvalidArgument(f"{name}={value!r} must be an integer")
    if value < minimum:
        raise InvalidArgument(f"{name}={value!r} must be at least {minimum}")


def _check_interval(lower, upper, lower_name, upper_name):
    if upper < lower:
        raise InvalidArgument(f"Cannot have {upper_name}={upper!r} < {lower_name}={lower!r}")


def _check_batch_bounds(min_batch, max_batch):
    _check_int(min_batch, "min_batch", minimum=1)
    _check_int(max_batch, "max_batch", minimum=1)
    _check_interval(min_batch, max_batch, "min_batch", "max_batch")


def _check_bool(value, name):
    if not isinstance(value, bool):
        raise InvalidArgument(f"{name}={value!r} must be True or False")


def _check_names(names, allowed, name):
    if isinstance(names, str):
        raise InvalidArgument(f"{name}={names!r} must be a sequence of names, e.g. {name}=({names!r},)")
    try:
        names = tuple(names)
    except TypeError:
        raise InvalidArgument(f"{name}={names!r} must be a sequence of names") from None
    if not names:
        raise InvalidArgument(f"{name}=() is empty: give at least one of {', '.join(allowed)}")
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise InvalidArgument(f"{name}={names!r}: unknown {unknown}; choose from {', '.join(allowed)}")
    return tuple(dict.fromkeys(names))  # without repeats, in the given order


def _check_arch(arch):
    if not isinstance(arch, Architecture):
        raise InvalidArgument(
            f"arch={arch!r} must be an Architecture, e.g. Architecture.build([2, 3, 1], 'tanh')"
        )


def _check_scale(scale):
    if scale is None:
        return None
    if isinstance(scale, bool) or not isinstance(scale, Real) or not (math.isfinite(scale) and scale >= 0):
        raise InvalidArgument(f"scale={scale!r} must be None or a finite number >= 0")
    return float(scale)
