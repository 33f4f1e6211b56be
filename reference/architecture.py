"""The plain description of a network: the one thing the reference and the
oracles share.

An ``Architecture`` says *what* network to build (sizes, one activation per
weight layer, the cost, the penalties, and where each optional component
sits) and never *how* to compute it: there is no math here, only names,
numbers and their validation.  Each oracle builds the network from this
description in its own framework, so a mistake in the reference's math cannot
leak into the oracles that judge it.

One weight layer ``l`` (counted from 0) computes, in this order:

    z = W a + b                        W = weights[l], or weights[s] if tied = (s, l)
    z <- max over each unit's pieces   maxout[l] > 1: W has maxout[l] rows per unit
    z <- normalised                    batch_norm[l] (over the batch) or layer_norm[l] (over the units)
    a' = sigma(z)                      activations[l], modified_neuron
    a' <- a' * dropout[l]              a fixed multiplier per unit (0 drops it)
    a' <- a' + a                       l in residual: the layer's input added to its output

and the cost of a batch is the mean over its examples of C_x(a^L), plus
``(activity[1] / 2) * sum a^2`` of the activations after layer ``activity[0]``
(per example, so also averaged), plus ``(l2 / 2) sum w^2 + l1 sum |w|`` over
the weight matrices in use (a tied layer's own slot is not one of them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from gradcert.properties.errors import ArchitectureError

# Activation names.  softmax is the one coupled activation: a_j depends on
# every z_k of its layer, so its Jacobian is not diagonal.
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "softplus", "linear", "softmax")
ELEMENTWISE = tuple(name for name in ACTIVATIONS if name != "softmax")
COSTS = ("quadratic", "cross-entropy", "log-likelihood")

# Output activations whose values lie in (0, 1), as cross-entropy needs.
UNIT_INTERVAL_OUTPUTS = ("sigmoid", "softmax")

# The optional components, by the name of the field that places them.
FEATURES = ("batch_norm", "l2", "layer_norm", "l1", "dropout", "residual", "tied", "maxout", "activity")

LEAKY_SLOPE = 0.01  # leaky_relu(z) = z for z > 0, LEAKY_SLOPE * z otherwise
BN_EPSILON = 1e-5  # batch norm: (z - mean) / sqrt(var + BN_EPSILON), as torch's default
LN_EPSILON = 1e-5  # layer norm likewise, over the units of each example (torch's LayerNorm default)


@dataclass(frozen=True)
class Architecture:
    """A fully connected network, described as plain data.

    * ``sizes`` -- neurons per layer, input first: ``(784, 30, 10)``.
    * ``activations`` -- one name per weight layer (``len(sizes) - 1`` names).
    * ``cost`` -- ``quadratic``, ``cross-entropy`` or ``log-likelihood``.
    * ``l2`` -- weight decay: the cost gains ``(l2 / 2) * sum of squared weights``.
    * ``batch_norm`` -- one flag per weight layer: normalise that layer's
      weighted input ``z`` over the batch (no learned scale or shift) before
      its activation.
    * ``modified_neuron`` -- ``(layer, unit, activation)`` or ``None``: one
      neuron whose activation differs from its layer's (Nielsen's "single
      modified neuron" exercise).  ``layer`` counts weight layers from 0.
    * ``layer_norm`` -- one flag per weight layer: normalise ``z`` over the
      units of each example instead (no learned scale or shift).
    * ``l1`` -- the cost gains ``l1 * sum of |w|``.
    * ``dropout`` -- ``()``, or one tuple per weight layer: ``()`` for none, or
      one fixed multiplier per unit of that (hidden) layer's output: 0 for a
      dropped unit, ``1 / (1 - p)`` for a kept one (inverted dropout).
    * ``residual`` -- the weight layers whose input is added to their output,
      ``a^{l+1} = sigma(z^{l+1}) + a^l`` (input and output of equal width).
    * ``tied`` -- ``(source, user)`` or ``None``: layer ``user`` computes with
      ``weights[source]`` (of the same shape); ``weights[user]`` is not used,
      so its gradient is zero and no penalty counts it.
    * ``maxout`` -- pieces per unit, one number per weight layer (1: none): a
      unit's value is the largest of its pieces, rows ``k*j .. k*j + k - 1`` of
      the weight matrix, which has ``k * n_out`` rows.
    * ``activity`` -- ``(layer, coefficient)`` or ``None``: each example's cost
      gains ``(coefficient / 2) * sum a^2`` over the activations after hidden
      layer ``layer`` (an activity penalty, as Keras' ``ActivityRegularization(l2=)``;
      an L1 one, sum |a|, would be constant on a softmax layer, whose outputs sum to 1).

    Every field after ``modified_neuron`` defaults to the component's absence,
    so a description without them is the network of the textbook.
    """

    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    cost: str = "quadratic"
    l2: float = 0.0
    batch_norm: tuple[bool, ...] = ()
    modified_neuron: tuple[int, int, str] | None = None
    layer_norm: tuple[bool, ...] = ()
    l1: float = 0.0
    dropout: tuple[tuple[float, ...], ...] = ()
    residual: tuple[int, ...] = ()
    tied: tuple[int, int] | None = None
    maxout: tuple[int, ...] = ()
    activity: tuple[int, float] | None = None

    leaky_slope = LEAKY_SLOPE  # constants of the description, not fields
    bn_epsilon = BN_EPSILON
    ln_epsilon = LN_EPSILON

    def __post_init__(self):
        sizes = tuple(int(n) for n in self.sizes)
        object.__setattr__(self, "sizes", sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise ArchitectureError(
                f"sizes={list(sizes)}: give at least two layers, each with at least one neuron, "
                "e.g. [784, 30, 10]"
            )
        layers = len(sizes) - 1
        activations = tuple(self.activations)
        object.__setattr__(self, "activations", activations)
        if len(activations) != layers:
            raise ArchitectureError(
                f"{len(activations)} activations for {layers} weight layers: "
                "give one name, or one per weight layer"
            )
        for name in activations:
            _check_name(name, ACTIVATIONS, "activation")
        _check_name(self.cost, COSTS, "cost")
        for name in ("l2", "l1"):
            object.__setattr__(self, name, _coefficient(getattr(self, name), name))
        for name in ("batch_norm", "layer_norm"):
            object.__setattr__(self, name, self._per_layer(name, bool, False))
        both = [i for i in range(layers) if self.batch_norm[i] and self.layer_norm[i]]
        if both:
            raise ArchitectureError(f"layer {both[0]} has both batch_norm and layer_norm: pick one per layer")
        self._check_modified_neuron()
        self._check_maxout()
        self._check_dropout()
        self._check_residual()
        self._check_tied()
        self._check_activity()
        self._check_cost_fits_output()

    @classmethod
    def build(
        cls,
        sizes: Sequence[int],
        activation: str | Sequence[str] = "sigmoid",
        cost: str = "quadratic",
        l2: float = 0.0,
        batch_norm: bool | Sequence[bool] = False,
        modified_neuron: tuple[int, int, str] | None = None,
        *,
        layer_norm: bool | Sequence[bool] = False,
        l1: float = 0.0,
        dropout: Sequence[Sequence[float]] = (),
        residual: Sequence[int] = (),
        tied: tuple[int, int] | None = None,
        maxout: int | Sequence[int] = 1,
        activity: tuple[int, float] | None = None,
    ) -> Architecture:
        """Accept one activation name (or one batch_norm or layer_norm flag, one maxout
        number) for every layer."""
        layers = max(len(sizes) - 1, 0)
        if isinstance(activation, str):
            activation = (activation,) * layers
        if isinstance(batch_norm, bool):
            batch_norm = (batch_norm,) * layers
        if isinstance(layer_norm, bool):
            layer_norm = (layer_norm,) * layers
        if isinstance(maxout, int):
            maxout = (maxout,) * layers
        return cls(tuple(sizes), tuple(activation), cost, l2, tuple(batch_norm), modified_neuron,
                   tuple(layer_norm), l1, tuple(tuple(d) for d in dropout), tuple(residual), tied,
                   tuple(maxout), activity)

    @property
    def depth(self) -> int:
        """The number of weight layers, L - 1 in Nielsen's counting."""
        return len(self.sizes) - 1

    @property
    def shapes(self) -> list[tuple[tuple[int, int], tuple[int, int]]]:
        """``(weight shape, bias shape)`` per layer, in Nielsen's layout (a maxout layer
        has one row per piece)."""
        pieces = self.maxout or (1,) * self.depth
        return [((k * n_out, n_in), (k * n_out, 1))
                for n_in, n_out, k in zip(self.sizes[:-1], self.sizes[1:], pieces)]

    @property
    def n_parameters(self) -> int:
        return sum(w[0] * w[1] + b[0] for w, b in self.shapes)

    def unit_activation(self, layer: int, unit: int) -> str:
        """The activation of one neuron, honouring ``modified_neuron``."""
        if self.modified_neuron is not None and self.modified_neuron[:2] == (layer, unit):
            return self.modified_neuron[2]
        return self.activations[layer]

    def weight_of(self, layer: int) -> int:
        """The index of the weight matrix layer ``layer`` computes with (its own unless tied)."""
        return self.tied[0] if self.tied is not None and self.tied[1] == layer else layer

    @property
    def elementwise(self) -> bool:
        """True when every activation is elementwise (the textbook BP1/BP2 assumption)."""
        return "softmax" not in self.activations

    @property
    def features(self) -> tuple[str, ...]:
        """The names (from ``FEATURES``) of the optional components this network has."""
        present = {"batch_norm": any(self.batch_norm), "l2": self.l2 > 0, "layer_norm": any(self.layer_norm),
                   "l1": self.l1 > 0, "dropout": bool(self.dropout), "residual": bool(self.residual),
                   "tied": self.tied is not None, "maxout": any(k > 1 for k in self.maxout),
                   "activity": self.activity is not None}
        return tuple(name for name in FEATURES if present[name])

    def describe(self) -> str:
        """A short one-line summary for reports."""
        parts = [f"sizes={list(self.sizes)}", f"activations={list(self.activations)}", f"cost={self.cost}"]
        if self.l2:
            parts.append(f"l2={self.l2:g}")
        if any(self.batch_norm):
            parts.append(f"batch_norm={[int(f) for f in self.batch_norm]}")
        if self.modified_neuron is not None:
            parts.append(f"modified_neuron={self.modified_neuron}")
        if any(self.layer_norm):
            parts.append(f"layer_norm={[int(f) for f in self.layer_norm]}")
        if self.l1:
            parts.append(f"l1={self.l1:g}")
        if self.dropout:
            parts.append(f"dropout={[[float(f'{v:g}') for v in d] for d in self.dropout]}")
        if self.residual:
            parts.append(f"residual={list(self.residual)}")
        if self.tied is not None:
            parts.append(f"tied={self.tied}")
        if any(k > 1 for k in self.maxout):
            parts.append(f"maxout={list(self.maxout)}")
        if self.activity is not None:
            parts.append(f"activity=({self.activity[0]}, {self.activity[1]:g})")
        return " ".join(parts)

    def to_dict(self) -> dict:
        return {
            "sizes": list(self.sizes),
            "activations": list(self.activations),
            "cost": self.cost,
            "l2": self.l2,
            "batch_norm": list(self.batch_norm),
            "modified_neuron": list(self.modified_neuron) if self.modified_neuron else None,
            "layer_norm": list(self.layer_norm),
            "l1": self.l1,
            "dropout": [list(d) for d in self.dropout],
            "residual": list(self.residual),
            "tied": list(self.tied) if self.tied is not None else None,
            "maxout": list(self.maxout),
            "activity": list(self.activity) if self.activity is not None else None,
        }

    @classmethod
    def from_dict(cls, record: dict) -> Architecture:
        """The inverse of ``to_dict`` (keys it does not know are an error, missing ones defaults)."""
        fields = dict(record)
        for name in ("modified_neuron", "tied", "activity"):
            if fields.get(name) is not None:
                fields[name] = tuple(fields[name])
        if "dropout" in fields:
            fields["dropout"] = tuple(tuple(d) for d in fields["dropout"])
        try:
            return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
        except TypeError as error:
            raise ArchitectureError(f"not an architecture record: {error}") from None

    def _per_layer(self, name, kind, absent):
        values = tuple(kind(v) for v in getattr(self, name)) or (absent,) * self.depth
        if len(values) != self.depth:
            raise ArchitectureError(
                f"{len(values)} {name} values for {self.depth} weight layers: give one per layer"
            )
        return values

    def _check_modified_neuron(self):
        if self.modified_neuron is None:
            return
        try:
            layer, unit, name = self.modified_neuron
        except (TypeError, ValueError):
            raise ArchitectureError(
                f"modified_neuron={self.modified_neuron!r}: give (layer, unit, activation)"
            ) from None
        object.__setattr__(self, "modified_neuron", (int(layer), int(unit), name))
        if not 0 <= layer < self.depth or not 0 <= unit < self.sizes[layer + 1]:
            raise ArchitectureError(
                f"modified_neuron={self.modified_neuron!r}: no such neuron in sizes={list(self.sizes)} "
                "(layer counts weight layers from 0)"
            )
        _check_name(name, ELEMENTWISE, "modified neuron's activation")
        if self.activations[layer] == "softmax":
            raise ArchitectureError(
                "modified_neuron: a softmax layer has no separate neurons to modify; "
                "pick a layer with an elementwise activation"
            )

    def _check_maxout(self):
        pieces = self._per_layer("maxout", int, 1)
        if min(pieces) < 1:
            raise ArchitectureError(f"maxout={list(pieces)}: give at least 1 piece per unit in every layer")
        object.__setattr__(self, "maxout", pieces)

    def _check_dropout(self):
        masks = tuple(tuple(float(v) for v in d) for d in self.dropout)
        if not any(masks):
            object.__setattr__(self, "dropout", ())
            return
        if len(masks) != self.depth:
            raise ArchitectureError(f"{len(masks)} dropout masks for {self.depth} weight layers: "
                                    "give one per layer, () where there is none")
        for layer, mask in enumerate(masks):
            if mask and layer == self.depth - 1:
                raise ArchitectureError(
                    "dropout on the output layer: give () for it; masks are for hidden layers")
            if mask and len(mask) != self.sizes[layer + 1]:
                raise ArchitectureError(f"dropout[{layer}] has {len(mask)} multipliers for "
                                        f"{self.sizes[layer + 1]} units: give one per unit")
            if not all(math.isfinite(v) and v >= 0 for v in mask):
                raise ArchitectureError(f"dropout[{layer}]={list(mask)}: multipliers must be finite and >= 0")
        object.__setattr__(self, "dropout", masks)

    def _check_residual(self):
        layers = tuple(sorted({int(i) for i in self.residual}))
        object.__setattr__(self, "residual", layers)
        for i in layers:
            if not 0 <= i < self.depth or self.sizes[i] != self.sizes[i + 1]:
                raise ArchitectureError(
                    f"residual={list(layers)}: layer {i} needs an input and output of equal width "
                    f"in sizes={list(self.sizes)} (layers count weight layers from 0)"
                )
        if self.depth - 1 in layers and self.cost != "quadratic":
            raise ArchitectureError(f"residual on the output layer with cost={self.cost}: the sum leaves "
                                    "(0, 1); use cost=quadratic or a residual on a hidden layer")

    def _check_tied(self):
        if self.tied is None:
            return
        try:
            source, user = (int(i) for i in self.tied)
        except (TypeError, ValueError):
            raise ArchitectureError(f"tied={self.tied!r}: give (source layer, user layer)") from None
        object.__setattr__(self, "tied", (source, user))
        shapes = self.shapes
        if not 0 <= source < user < self.depth or shapes[source][0] != shapes[user][0]:
            raise ArchitectureError(
                f"tied={self.tied}: layer {user} can use the weights of an earlier layer {source} of the "
                f"same shape; sizes={list(self.sizes)} give {[w for w, _ in shapes]}"
            )

    def _check_activity(self):
        if self.activity is None:
            return
        try:
            layer, coefficient = self.activity
            layer, coefficient = int(layer), float(coefficient)
        except (TypeError, ValueError):
            raise ArchitectureError(f"activity={self.activity!r}: give (hidden layer, coefficient)") from None
        if not 0 <= layer < self.depth - 1 or not (math.isfinite(coefficient) and coefficient >= 0):
            raise ArchitectureError(
                f"activity={self.activity!r}: the penalty sits on a hidden layer (0 .. {self.depth - 2}) "
                "with a coefficient >= 0"
            )
        object.__setattr__(self, "activity", (layer, coefficient))

    def _check_cost_fits_output(self):
        output = {self.unit_activation(self.depth - 1, j) for j in range(self.sizes[-1])}
        if self.cost == "cross-entropy" and not output <= set(UNIT_INTERVAL_OUTPUTS):
            raise ArchitectureError(
                f"cost=cross-entropy needs outputs in (0, 1), but the output activation is "
                f"{'/'.join(sorted(output))}: use sigmoid or softmax at the output, or cost=quadratic"
            )
        if self.cost == "log-likelihood" and output != {"softmax"}:
            raise ArchitectureError(
                f"cost=log-likelihood needs a softmax output layer, not {'/'.join(sorted(output))}: "
                "use activation=[..., 'softmax'], or cost=quadratic"
            )


def _coefficient(value, name):
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not (math.isfinite(number) and number >= 0):
        raise ArchitectureError(f"{name}={value!r}: the {name.upper()} coefficient must be a finite number "
                                ">= 0")
    return number


def _check_name(name, allowed, what):
    if name not in allowed:
        raise ArchitectureError(f"unknown {what} {name!r}: choose one of {', '.join(allowed)}")
