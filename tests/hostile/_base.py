"""The correct code each hostile candidate starts from (not a candidate itself).

* ``Network`` -- network.py's interface: sigmoid neurons, the quadratic cost,
  ``backprop(x, y)`` for one column, ``update_mini_batch(mini_batch, eta)``.
* ``TanhLayer`` -- ``forward(x)`` / ``backward(dout)``, any shape.
* ``grad`` -- ``grad(arch, weights, biases, x, y)`` for sigmoid layers and the
  quadratic cost (mean over the columns, plus (l2 / 2) sum ||W||^2); other
  architectures raise NotImplementedError.
* ``lr_cost`` -- the Coursera exercise's regularised logistic-regression cost
  ``lrCostFunction(theta, X, y, lambda_) -> (J, grad)`` (theta[0] not decayed).
* ``affine_forward`` / ``affine_backward`` -- cs231n's pair, ``x (N, D) @ w (D, M) + b``.
* ``SoftmaxModel`` -- a cs231n-style model: ``params`` W (D, C), b (C,) and
  ``loss(X, y) -> (mean softmax cross-entropy, grads)``.

``wrong`` makes a gradient wrong the classic way (sigma' dropped at the output
is not reproducible from outside, so: every entry of nabla_w[-1] doubled).
"""

import numpy as np


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


class Network:
    def __init__(self, sizes):
        self.num_layers = len(sizes)
        self.sizes = sizes
        self.biases = [np.random.randn(y, 1) for y in sizes[1:]]
        self.weights = [np.random.randn(y, x) for x, y in zip(sizes[:-1], sizes[1:])]

    def feedforward(self, a):
        for b, w in zip(self.biases, self.weights):
            a = sigmoid(w @ a + b)
        return a

    def update_mini_batch(self, mini_batch, eta):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        self.weights = [w - (eta / len(mini_batch)) * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(self.biases, nabla_b)]

    def backprop(self, x, y):
        return gradient(self.weights, self.biases, x, y)


def gradient(weights, biases, x, y, l2=0.0):
    """(nabla_b, nabla_w) of the mean over x's columns of the quadratic cost, sigmoid layers."""
    activations = [x]
    for b, w in zip(biases, weights):
        activations.append(sigmoid(w @ activations[-1] + b))
    a = activations[-1]
    delta = (a - y) * a * (1 - a) / x.shape[1]
    nabla_b, nabla_w = [None] * len(weights), [None] * len(weights)
    for i in reversed(range(len(weights))):
        nabla_b[i] = delta.sum(axis=1, keepdims=True)
        nabla_w[i] = delta @ activations[i].T + l2 * weights[i]
        if i:
            a = activations[i]
            delta = (weights[i].T @ delta) * a * (1 - a)
    return nabla_b, nabla_w


def wrong(nabla_b, nabla_w):
    nabla_w = list(nabla_w)
    nabla_w[-1] = 2.0 * nabla_w[-1]
    return nabla_b, nabla_w


class TanhLayer:
    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout):
        return dout * (1.0 - self.out ** 2)


def grad(arch, weights, biases, x, y):
    if set(arch.activations) != {"sigmoid"} or arch.cost != "quadratic" or any(arch.batch_norm):
        raise NotImplementedError("sigmoid layers and the quadratic cost only")
    return gradient(weights, biases, x, y, arch.l2)


def sigmoid_of(z):
    return 1.0 / (1.0 + np.exp(-z))


def lr_cost(theta, X, y, lambda_):
    m = len(y)
    h = sigmoid_of(X @ theta)
    decay = theta.copy()
    decay[0] = 0.0
    J = -np.sum(y * np.log(h) + (1 - y) * np.log(1 - h)) / m + lambda_ / (2 * m) * np.sum(decay ** 2)
    grad = X.T @ (h - y) / m + lambda_ / m * decay
    return J, grad


def affine_forward(x, w, b):
    return x @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


class SoftmaxModel:
    def __init__(self, input_dim, num_classes):
        rng = np.random.default_rng(0)
        self.params = {"W": 0.1 * rng.standard_normal((input_dim, num_classes)), "b": np.zeros(num_classes)}

    def loss(self, X, y):
        W, b = self.params["W"], self.params["b"]
        scores = X @ W + b
        scores = scores - scores.max(axis=1, keepdims=True)
        p = np.exp(scores)
        p /= p.sum(axis=1, keepdims=True)
        n = X.shape[0]
        loss = -np.log(p[np.arange(n), y]).sum() / n
        dscores = p.copy()
        dscores[np.arange(n), y] -= 1
        dscores /= n
        return loss, {"W": X.T @ dscores, "b": dscores.sum(axis=0)}
