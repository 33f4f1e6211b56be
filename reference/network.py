"""network.py, certified: backpropagation as in chapter 2 of Nielsen's book.

The names are the book's: ``sizes``, ``weights``, ``biases``, ``zs``,
``activations``, ``delta``, ``nabla_b``, ``nabla_w``.  Two departures, both
noted where they happen:

  * a batch of m examples is a matrix whose columns are the examples, so one
    pass computes all of them (m = 1 is network.py's single column);
  * the cost of a batch is the *mean* of the per-example costs, plus an
    optional L2 term, and ``backprop`` returns the gradient of exactly that.

Python lists count weight layers from 0, so ``weights[0]`` is the book's w^2.
"""

import numpy as np
from gradcert.reference.activations import activation_of_layer
from gradcert.reference.architecture import Architecture
from gradcert.reference.batchnorm import normalise, normalise_vjp
from gradcert.reference.costs import COST_CLASSES


class Network:
    def __init__(self, sizes, activation="sigmoid", cost="quadratic", l2=0.0,
                 batch_norm=False, modified_neuron=None, seed=None):
        """``Network([784, 30, 10])`` is network.py's sigmoid net with the quadratic cost.

        ``activation`` is one name, or one per weight layer; ``batch_norm`` one
        flag, or one per weight layer.  Weights start Gaussian with variance
        1/n_in (network2.py's default), biases standard Gaussian.
        """
        self.arch = Architecture.build(sizes, activation, cost, l2, batch_norm, modified_neuron)
        self.sizes = self.arch.sizes
        self.num_layers = len(self.sizes)
        self.cost_fn = COST_CLASSES[self.arch.cost]
        self.layer_activations = [activation_of_layer(self.arch, i) for i in range(self.arch.depth)]
        rng = np.random.default_rng(seed)
        self.biases = [rng.standard_normal((n, 1)) for n in self.sizes[1:]]
        self.weights = [rng.standard_normal((n, k)) / np.sqrt(k)
                        for k, n in zip(self.sizes[:-1], self.sizes[1:])]

    # weights and biases are settable, as in network.py; each assignment is
    # checked against the architecture and copied, so the caller's arrays are
    # never modified by a later update.
    @property
    def weights(self):
        return self._weights

    @weights.setter
    def weights(self, value):
        self._weights = self._checked(value, [w for w, _ in self.arch.shapes], "weights")

    @property
    def biases(self):
        return self._biases

    @biases.setter
    def biases(self, value):
        self._biases = self._checked(value, [b for _, b in self.arch.shapes], "biases")

    def feedforward(self, x):
        """The output a^L for a batch of columns x (or one column)."""
        return self._forward(x)[-1][-1]

    def cost(self, x, y):
        """The mean of C_x over the columns of x, plus (l2 / 2) * sum of squared weights."""
        x, y = self._columns(x, "x", 0), self._columns(y, "y", -1)
        data_cost = np.mean(self.cost_fn.fn(self.feedforward(x), y))
        return data_cost + 0.5 * self.arch.l2 * sum(np.sum(w * w) for w in self.weights)

    def backprop(self, x, y):
        """Return ``(nabla_b, nabla_w)``, the gradient of ``self.cost(x, y)``.

        BP1 and BP2 are taken in their general Jacobian form,
        delta = J(z)^T (upstream), which for an elementwise activation is the
        book's Hadamard product and for softmax is not.
        """
        return self._backprop(x, y, textbook=False)

    def backprop_elementwise(self, x, y):
        """The literal textbook form: delta = (upstream) * sigma'(z), elementwise.

        Right exactly when every activation is elementwise; kept so the harness
        can show where the textbook's assumption breaks (softmax).
        """
        return self._backprop(x, y, textbook=True)

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
        """Feedforward, keeping what backprop needs: zs (weighted inputs),
        us (the same after batch normalisation, or zs itself), the normalisers,
        and the activations a^1 = x, a^2, ..., a^L."""
        activation = self._columns(x, "x", 0)
        zs, us, norms, activations = [], [], [], [activation]
        for b, w, sigma, bn in zip(self.biases, self.weights, self.layer_activations,
                                   self.arch.batch_norm):
            z = w @ activation + b
            u, inv_std = normalise(z, self.arch.bn_epsilon) if bn else (z, None)
            activation = sigma.fn(u)
            zs.append(z)
            us.append(u)
            norms.append(inv_std)
            activations.append(activation)
        return zs, us, norms, activations

    def _backprop(self, x, y, textbook):
        zs, us, norms, activations = self._forward(x)
        y = self._columns(y, "y", -1)
        m = y.shape[1]
        # Each example's cost enters the batch cost with weight 1/m, so every
        # delta here is dC/dz for the whole batch and nabla_b sums over columns.
        if self._canonical_output() and not textbook:
            upstream = None  # BP1 with the canonical link needs no nabla_a C (see costs.py)
        else:
            upstream = self.cost_fn.derivative(activations[-1], y) / m  # nabla_a C
        nabla_b, nabla_w = [None] * len(self.weights), [None] * len(self.weights)
        for i in reversed(range(len(self.weights))):  # i = L-2, ..., 0: the book's L, ..., 2
            sigma, u = self.layer_activations[i], us[i]
            if upstream is None:
                delta = (activations[-1] - y) / m  # BP1 with the canonical link: a - y
            elif textbook:
                delta = upstream * sigma.prime(u)  # BP1/BP2 as printed: Hadamard product
            else:
                delta = sigma.vjp(u, upstream)  # BP1/BP2 in general: J(z)^T upstream
            if norms[i] is not None:
                delta = normalise_vjp(delta, u, norms[i])  # from dC/du back to dC/dz
            nabla_b[i] = delta.sum(axis=1, keepdims=True)  # BP3, summed over the batch
            nabla_w[i] = delta @ activations[i].T  # BP4, summed over the batch
            if self.arch.l2:
                nabla_w[i] += self.arch.l2 * self.weights[i]  # weight decay: d/dw of (l2 / 2) w^2
            if i:  # the (w^{l+1})^T delta^{l+1} of BP2, for the layer below (none below the first)
                upstream = self.weights[i].T @ delta
        return nabla_b, nabla_w

    def _canonical_output(self):
        arch = self.arch
        return (self.cost_fn.canonical == arch.activations[-1]
                and (arch.modified_neuron is None or arch.modified_neuron[0] != arch.depth - 1))

    def _columns(self, v, name, layer):
        """v as a float matrix whose columns are examples; a 1-D vector is one column."""
        v = np.asarray(v, dtype=float)
        v = v.reshape(-1, 1) if v.ndim == 1 else v
        n = self.sizes[layer]
        if v.ndim != 2 or v.shape[0] != n:
            raise ValueError(f"{name} has shape {v.shape}; expected ({n}, m): one column per example")
        return v

    @staticmethod
    def _checked(arrays, shapes, name):
        arrays = list(arrays)
        if len(arrays) != len(shapes):
            raise ValueError(f"{len(arrays)} {name} given for {len(shapes)} layers")
        out = []
        for i, (a, shape) in enumerate(zip(arrays, shapes)):
            a = np.array(a, dtype=float)
            if a.shape != shape:
                raise ValueError(f"{name}[{i}] has shape {a.shape}; expected {shape} (Nielsen's layout)")
            out.append(a)
        return out
