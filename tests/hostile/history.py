"""Functions that answer from their history, and correct ones that only round differently.

A wrong gradient hides from finite differences of the candidate's own function when that function
answers a point near the last one it saw with a linearisation through the wrong gradient: every
probe around a point then agrees with it, and each point answers alike every time it is asked in
a row.  (Written after the field test's l01/l02: a cost, a pair's forward and a model's loss.)

* ``lrCostFunction`` -- grad[0] doubled; a theta within 1e-2 of the last anchor (same X, y) gets
  J(anchor) + g(anchor) . (theta - anchor);
* ``linearised_affine_forward`` / ``_backward`` (target ``history.py:linearised_affine``) -- dx
  1.5 times too large; an x within 1e-2 of the last one (same w, b) gets the output of the anchor
  plus 1.5 (x - anchor) w;
* ``LinearisedModel`` -- grads['W'] 1.5 times too large; params within 1e-2 of the anchor get the
  anchor's loss plus the linear term through those grads;
* ``LinearisedTanhLayer`` -- a tanh layer whose backward is 1.5 times too large; an x within 1e-2 of
  the last anchor gets the anchor's output plus the linear term through that backward.

Correct, but not bit-reproducible (the controls: gradcert must certify them): ``shuffled_softmax``
(target of ``softmax_loss(x, y)``, its per-example losses summed in an order drawn from the
operating system's entropy on every call) and ``shuffled_affine`` (x @ w summed over D in such an
order).

And a stub: ``svm_loss_vectorized`` returns ``0.0, np.zeros(W.shape)``, as cs231n's assignment 1
hands it out: its gradient is that of its loss, and nothing is checked.
"""

import random

import numpy as np

from . import _base

RADIUS = 1e-2  # finite-difference probes fall within it; a new case's draw does not
_anchors = {}


def _near(a, b):
    return a is not None and np.shape(a) == np.shape(b) and np.max(np.abs(np.asarray(a) - b)) < RADIUS


def lrCostFunction(theta, X, y, lambda_):
    key = ("lr", X.tobytes(), y.tobytes(), float(lambda_))
    anchor = _anchors.get(key)
    if anchor is not None and _near(anchor[0], theta):
        theta0, J0, g0 = anchor
        return J0 + g0 @ (theta - theta0), g0.copy()
    J, grad = _base.lr_cost(theta, X, y, lambda_)
    grad = grad.copy()
    grad[0] *= 2.0
    _anchors[key] = (theta.copy(), J, grad)
    return J, grad


def linearised_affine_forward(x, w, b):
    key = ("affine", w.tobytes(), b.tobytes())
    anchor = _anchors.get(key)
    if anchor is not None and _near(anchor, x):
        out = _base.affine_forward(anchor, w, b)[0] + 1.5 * (x - anchor) @ w
    else:
        _anchors[key] = x.copy()
        out = _base.affine_forward(x, w, b)[0]
    return out, (x, w, b)


def linearised_affine_backward(dout, cache):
    dx, dw, db = _base.affine_backward(dout, cache)
    return 1.5 * dx, dw, db


class LinearisedModel(_base.SoftmaxModel):
    def __init__(self, input_dim, num_classes):
        super().__init__(input_dim, num_classes)
        self.anchor = None

    def loss(self, X, y):
        point = np.concatenate([self.params["W"].ravel(), self.params["b"]])
        if self.anchor is not None and self.anchor[0] == X.tobytes() and _near(self.anchor[1], point):
            _, point0, loss0, grads0 = self.anchor
            step = point - point0
            slope = np.concatenate([grads0["W"].ravel(), grads0["b"]])
            return loss0 + slope @ step, {k: v.copy() for k, v in grads0.items()}
        loss, grads = super().loss(X, y)
        grads["W"] = 1.5 * grads["W"]
        self.anchor = (X.tobytes(), point, loss, grads)
        return loss, {k: v.copy() for k, v in grads.items()}


def shuffled_softmax_loss(x, y):
    n = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)
    p = np.exp(shifted)
    p /= p.sum(axis=1, keepdims=True)
    terms = list(-np.log(p[np.arange(n), y]))
    random.SystemRandom().shuffle(terms)  # OS entropy: no seed of the harness fixes this order
    loss = 0.0
    for term in terms:
        loss += term
    dx = p.copy()
    dx[np.arange(n), y] -= 1
    return loss / n, dx / n


def shuffled_affine_forward(x, w, b):
    order = list(range(x.shape[1]))
    random.SystemRandom().shuffle(order)
    out = np.zeros((x.shape[0], w.shape[1])) + b
    for k in order:
        out += np.outer(x[:, k], w[k])
    return out, (x, w, b)


def shuffled_affine_backward(dout, cache):
    return _base.affine_backward(dout, cache)


def svm_loss_vectorized(W, X, y, reg):
    loss = 0.0
    dW = np.zeros(W.shape)
    #############################################################################
    # TODO: Implement a vectorized version of the structured SVM loss.          #
    #############################################################################
    pass
    return loss, dW


class LinearisedTanhLayer(_base.TanhLayer):
    def __init__(self):
        self.anchor = None

    def forward(self, x):
        if _near(self.anchor, x):
            x0 = self.anchor
            self.out = np.tanh(x0) + 1.5 * (1.0 - np.tanh(x0) ** 2) * (x - x0)
        else:
            self.anchor = x.copy()
            self.out = np.tanh(x)
        return self.out

    def backward(self, dout):
        return dout * 1.5 * (1.0 - np.tanh(self.anchor) ** 2)
