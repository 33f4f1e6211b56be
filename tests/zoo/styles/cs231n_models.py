"""Models with a loss method, in the conventions of cs231n assignment 2's fc_net.py.

``loss(X, y=None)`` returns the class scores (N, C) when ``y`` is None, and
otherwise ``(loss, grads)``, ``grads`` keyed like ``self.params``; ``y`` holds
integer class labels; the loss is softmax's mean negative log-likelihood plus
``0.5 * reg * sum(W ** 2)`` over the weight matrices.  Models are built from
the layer pairs of the sibling module, imported relatively as the assignment's
``from ..layers import *`` does.
"""

import numpy as np

from .cs231n_layers import (
    affine_backward,
    affine_forward,
    batchnorm_backward,
    batchnorm_forward,
    relu_backward,
    relu_forward,
    softmax_loss,
)


class TwoLayerNet(object):
    """affine - relu - affine - softmax, with weights in self.params."""

    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0):
        self.params = {}
        self.reg = reg
        self.params["W1"] = weight_scale * np.random.randn(input_dim, hidden_dim)
        self.params["b1"] = np.zeros(hidden_dim)
        self.params["W2"] = weight_scale * np.random.randn(hidden_dim, num_classes)
        self.params["b2"] = np.zeros(num_classes)

    def loss(self, X, y=None):
        W1, b1, W2, b2 = self.params["W1"], self.params["b1"], self.params["W2"], self.params["b2"]
        hidden, cache_h = affine_forward(X, W1, b1)
        hidden_relu, cache_r = relu_forward(hidden)
        scores, cache_s = affine_forward(hidden_relu, W2, b2)
        if y is None:
            return scores

        grads = {}
        data_loss, dscores = softmax_loss(scores, y)
        reg_loss = 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        loss = data_loss + reg_loss

        dhidden_relu, grads["W2"], grads["b2"] = affine_backward(dscores, cache_s)
        dhidden = relu_backward(dhidden_relu, cache_r)
        _, grads["W1"], grads["b1"] = affine_backward(dhidden, cache_h)
        grads["W2"] += self.reg * W2
        grads["W1"] += self.reg * W1
        return loss, grads


class FullyConnectedNet(object):
    """{affine - [batch norm] - relu} x (L - 1) - affine - softmax.

    As in the assignment, ``dtype`` defaults to float32 (pass ``dtype=np.float64``,
    or the string ``"float64"``, for a numeric gradient check) and batch
    normalisation is switched on with ``normalization="batchnorm"``; the loss
    always runs the layers in train mode.
    """

    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10,
                 normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32):
        self.normalization = normalization
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        self.params = {}
        dims = [input_dim] + list(hidden_dims) + [num_classes]
        for i in range(self.num_layers):
            self.params["W%d" % (i + 1)] = weight_scale * np.random.randn(dims[i], dims[i + 1])
            self.params["b%d" % (i + 1)] = np.zeros(dims[i + 1])
            if self.normalization == "batchnorm" and i < self.num_layers - 1:
                self.params["gamma%d" % (i + 1)] = np.ones(dims[i + 1])
                self.params["beta%d" % (i + 1)] = np.zeros(dims[i + 1])
        self.bn_params = []
        if self.normalization == "batchnorm":
            self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)]
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        X = X.astype(self.dtype)
        caches = []
        out = X
        for i in range(1, self.num_layers):
            out, cache_a = affine_forward(out, self.params["W%d" % i], self.params["b%d" % i])
            cache_n = None
            if self.normalization == "batchnorm":
                out, cache_n = batchnorm_forward(out, self.params["gamma%d" % i],
                                                 self.params["beta%d" % i], self.bn_params[i - 1])
            out, cache_r = relu_forward(out)
            caches.append((cache_a, cache_n, cache_r))
        L = self.num_layers
        scores, cache_last = affine_forward(out, self.params["W%d" % L], self.params["b%d" % L])
        if y is None:
            return scores

        loss, dscores = softmax_loss(scores, y)
        grads = {}
        dout, grads["W%d" % L], grads["b%d" % L] = affine_backward(dscores, cache_last)
        for i in range(L - 1, 0, -1):
            cache_a, cache_n, cache_r = caches[i - 1]
            dout = relu_backward(dout, cache_r)
            if self.normalization == "batchnorm":
                dout, grads["gamma%d" % i], grads["beta%d" % i] = batchnorm_backward(dout, cache_n)
            dout, grads["W%d" % i], grads["b%d" % i] = affine_backward(dout, cache_a)
        for i in range(1, L + 1):
            W = self.params["W%d" % i]
            loss += 0.5 * self.reg * np.sum(W * W)
            grads["W%d" % i] += self.reg * W
        return loss, grads
