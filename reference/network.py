"""network.py, certified: backpropagation as in chapter 2 of Nielsen's book.

The names are the book's: ``sizes``, ``weights``, ``biases``, ``activations``,
``delta``, ``nabla_b``, ``nabla_w``.  Two departures, both noted where they
happen:

  * a batch of m examples is a matrix whose columns are the examples, so one
    pass computes all of them (m = 1 is network.py's single column);
  * the cost of a batch is the *mean* of the per-example costs, plus the
    optional penalties, and ``backprop`` returns the gradient of exactly that.

Each layer is a short list of steps (``layers.py``: maxout, normalisation,
the activation, dropout), each in its own module with its forward pass and
its backward step; residual connections, tied weights and the penalties have
theirs too.  Python lists count weight layers from 0, so ``weights[0]`` is
the book's w^2.
"""

import numpy as np
from gradcert.reference import penalties, residual, tying
from gradcert.reference.architecture import Architecture
from gradcert.reference.costs import COST_CLASSES, canonical_link
from gradcert.reference.layers import layer_steps
from gradcert.reference.layout import Layout
from gradcert.reference.textbook import ELEMENTWISE, LAYERED_CHAIN, OUTPUTS_ALONE, Record


class Network(Layout):
    def __init__(self, sizes, activation="sigmoid", cost="quadratic", l2=0.0,
                 batch_norm=False, modified_neuron=None, seed=None, **components):
        """``Network([784, 30, 10])`` is network.py's sigmoid net with the quadratic cost.

        ``activation`` is one name, or one per weight layer; ``batch_norm`` one
        flag, or one per weight layer; ``components`` are the other fields of
        ``Architecture`` (``layer_norm``, ``l1``, ``residual``...).  Weights start
        Gaussian with variance 1/n_in (network2.py's default), biases standard Gaussian.
        """
        arch = Architecture.build(sizes, activation, cost, l2, batch_norm, modified_neuron, **components)
        self._setup(arch, seed)

    @classmethod
    def from_architecture(cls, arch, seed=None):
        """The network an ``Architecture`` describes."""
        net = cls.__new__(cls)
        net._setup(arch, seed)
        return net

    def _setup(self, arch, seed):
        self.arch, self.sizes, self.num_layers = arch, arch.sizes, len(arch.sizes)
        self.cost_fn = COST_CLASSES[arch.cost]
        self.steps = [layer_steps(arch, i) for i in range(arch.depth)]
        rng = np.random.default_rng(seed)
        self.biases = [rng.standard_normal(b) for _, b in arch.shapes]
        self.weights = [rng.standard_normal((n, k)) / np.sqrt(k) for (n, k), _ in arch.shapes]

    def feedforward(self, x):
        """The output a^L for a batch of columns x (or one column)."""
        return self._forward(x)[1][-1]

    def cost(self, x, y):
        """The mean of C_x over the columns of x, plus the penalties (see penalties.py)."""
        x, y = self._columns(x, "x", 0), self._columns(y, "y", -1)
        activations = self._forward(x)[1]
        data_cost = np.mean(self.cost_fn.fn(activations[-1], y))
        return data_cost + penalties.cost(self.arch, self.weights, activations)

    def backprop(self, x, y):
        """Return ``(nabla_b, nabla_w)``, the gradient of ``self.cost(x, y)``.

        BP1 and BP2 are taken in their general Jacobian form,
        delta = J(z)^T (upstream), which for an elementwise activation is the
        book's Hadamard product and for softmax is not.
        """
        return self.backprop_assuming(x, y)

    def backprop_elementwise(self, x, y):
        """The literal textbook form, delta = (upstream) * sigma'(z): right exactly when every
        activation is elementwise; kept so the harness can show where that breaks (softmax)."""
        return self.backprop_assuming(x, y, [ELEMENTWISE])

    def backprop_assuming(self, x, y, assumptions=(), record=None):
        """``(nabla_b, nabla_w)`` as the textbook computes it when ``assumptions``
        (names from textbook.py) are taken for granted: the gradient exactly when they hold.

        ``record``, a ``textbook.Record``, collects each layer's delta and, if
        it asks for them, adds every repair term, which makes it the gradient again.
        """
        return self._backprop(x, y, frozenset(assumptions), record or Record())

    def update_mini_batch(self, mini_batch, eta):
        """One step of gradient descent on a list of (x, y) column pairs (seed 002).

        The book loops over the examples and sums delta^{x,l} (a^{x,l-1})^T;
        stacking them as the columns of one batch computes the same sums in a
        single pass, since ``backprop`` of a batch already averages over its
        columns:  w -> w - (eta / m) sum_x nabla_w C_x, likewise for b.  (With
        batch normalisation the per-example loop would not be the gradient at
        all; the stacked batch is.)
        """
        x = np.hstack([self._columns(x, "x", 0) for x, _ in mini_batch])
        y = np.hstack([self._columns(y, "y", -1) for _, y in mini_batch])
        nabla_b, nabla_w = self.backprop(x, y)
        self.weights = [w - eta * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - eta * nb for b, nb in zip(self.biases, nabla_b)]

    def _forward(self, x):
        """Feedforward, keeping what backprop needs: each layer's step caches, and the
        activations a^1 = x, a^2, ..., a^L."""
        activation = self._columns(x, "x", 0)
        caches, activations = [], [activation]
        for i, (b, steps) in enumerate(zip(self.biases, self.steps)):
            z = self.weights[self.arch.weight_of(i)] @ activation + b  # a tied layer's matrix is another's
            layer_caches = []
            for step in steps:
                z, cache = step.forward(z)
                layer_caches.append(cache)
            activation = residual.forward(self.arch, i, z, activation)
            caches.append(layer_caches)
            activations.append(activation)
        return caches, activations

    def _backprop(self, x, y, assumed, record):
        caches, activations = self._forward(x)
        y = self._columns(y, "y", -1)
        arch, m = self.arch, y.shape[1]
        # Each example's cost enters the batch cost with weight 1/m, so every
        # delta here is dC/dz for the whole batch and nabla_b sums over columns.
        upstream = None  # BP1 with the canonical link needs no nabla_a C (see costs.py)
        if not canonical_link(arch, textbook=ELEMENTWISE in assumed):
            upstream = self.cost_fn.derivative(activations[-1], y) / m  # nabla_a C
        nabla_b, nabla_w = [None] * arch.depth, [None] * arch.depth
        for i in reversed(range(arch.depth)):  # i = L-2, ..., 0: the book's L, ..., 2
            steps = self.steps[i]
            if upstream is None:  # BP1 with the canonical link: a - y is dC/dz past the activation
                delta, steps = (activations[-1] - y) / m, steps[:-1]
            else:
                delta = upstream
            for step, cache in reversed(list(zip(steps, caches[i]))):  # BP1/BP2 through the layer's steps
                delta = step.backward(cache, delta, assumed, record, i)
            record.deltas[i] = delta
            nabla_b[i] = delta.sum(axis=1, keepdims=True)  # BP3, summed over the batch
            tying.add_use(arch, nabla_w, i, delta @ activations[i].T, assumed, record)  # BP4, summed
            if i:  # the (w^{l+1})^T delta^{l+1} of BP2, for the layer below (none below the first)
                below = self.weights[arch.weight_of(i)].T @ delta
                below = record.plus(below, residual.skip(arch, i, upstream), LAYERED_CHAIN, assumed, i - 1,
                                    "dC/da", residual.REPAIR)
                upstream = record.plus(below, penalties.activity_gradient(arch, i - 1, activations[i]),
                                       OUTPUTS_ALONE, assumed, i - 1, "dC/da", penalties.ACTIVITY_REPAIR)
        for i in range(arch.depth):  # the weight penalties; an idle tied slot's gradient is zero
            decay = penalties.weight_gradient(arch, self.weights, i)
            nabla_w[i] = record.plus(nabla_w[i], decay, OUTPUTS_ALONE, assumed, i, f"nabla_w[{i}]",
                                     penalties.weight_repair(arch))
            nabla_w[i] = np.zeros_like(self.weights[i]) if nabla_w[i] is None else nabla_w[i]
        return nabla_b, nabla_w
