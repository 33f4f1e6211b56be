"""The plain description of a network: the one thing the reference and the
oracles share.

An ``Architecture`` says *what* network to build (sizes, one activation per
weight layer, the cost, the L2 coefficient, where batch normalisation sits)
and never *how* to compute it: there is no math here, only names, numbers
and their validation.  Each oracle builds the network from this description
in its own framework, so a mistake in the reference's math cannot leak into
the oracles that judge it.
"""

from __future__ import annotations

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

LEAKY_SLOPE = 0.01  # leaky_relu(z) = z for z > 0, LEAKY_SLOPE * z otherwise
BN_EPSILON = 1e-5  # batch norm: (z - mean) / sqrt(var + BN_EPSILON), as torch's default


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
    """

    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    cost: str = "quadratic"
    l2: float = 0.0
    batch_norm: tuple[bool, ...] = ()
    modified_neuron: tuple[int, int, str] | None = None

    leaky_slope = LEAKY_SLOPE  # constants of the description, not fields
    bn_epsilon = BN_EPSILON

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
        if not self.l2 >= 0:
            raise ArchitectureError(f"l2={self.l2!r}: the L2 coefficient must be a number >= 0")
        object.__setattr__(self, "l2", float(self.l2))
        flags = tuple(bool(f) for f in self.batch_norm) or (False,) * layers
        if len(flags) != layers:
            raise ArchitectureError(
                f"{len(flags)} batch_norm flags for {layers} weight layers: give one per layer"
            )
        object.__setattr__(self, "batch_norm", flags)
        self._check_modified_neuron()
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
    ) -> Architecture:
        """Accept one activation name (or one batch_norm flag) for every layer."""
        layers = max(len(sizes) - 1, 0)
        if isinstance(activation, str):
            activation = (activation,) * layers
        if isinstance(batch_norm, bool):
            batch_norm = (batch_norm,) * layers
        return cls(tuple(sizes), tuple(activation), cost, l2, tuple(batch_norm), modified_neuron)

    @property
    def depth(self) -> int:
        """The number of weight layers, L - 1 in Nielsen's counting."""
        return len(self.sizes) - 1

    @property
    def shapes(self) -> list[tuple[tuple[int, int], tuple[int, int]]]:
        """``(weight shape, bias shape)`` per layer, in Nielsen's layout."""
        return [((n_out, n_in), (n_out, 1)) for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:])]

    @property
    def n_parameters(self) -> int:
        return sum(n_out * (n_in + 1) for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]))

    def unit_activation(self, layer: int, unit: int) -> str:
        """The activation of one neuron, honouring ``modified_neuron``."""
        if self.modified_neuron is not None and self.modified_neuron[:2] == (layer, unit):
            return self.modified_neuron[2]
        return self.activations[layer]

    @property
    def elementwise(self) -> bool:
        """True when every activation is elementwise (the textbook BP1/BP2 assumption)."""
        return "softmax" not in self.activations

    def describe(self) -> str:
        """A short one-line summary for reports."""
        parts = [f"sizes={list(self.sizes)}", f"activations={list(self.activations)}", f"cost={self.cost}"]
        if self.l2:
            parts.append(f"l2={self.l2:g}")
        if any(self.batch_norm):
            parts.append(f"batch_norm={[int(f) for f in self.batch_norm]}")
        if self.modified_neuron is not None:
            parts.append(f"modified_neuron={self.modified_neuron}")
        return " ".join(parts)

    def to_dict(self) -> dict:
        return {
            "sizes": list(self.sizes),
            "activations": list(self.activations),
            "cost": self.cost,
            "l2": self.l2,
            "batch_norm": list(self.batch_norm),
            "modified_neuron": list(self.modified_neuron) if self.modified_neuron else None,
        }

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


def _check_name(name, allowed, what):
    if name not in allowed:
        raise ArchitectureError(f"unknown {what} {name!r}: choose one of {', '.join(allowed)}")
