"""Normalisation layers in train mode, row-major batches (N, D).

``BatchNorm1d`` borrows torch's names (``weight``/``bias`` for the scale and the
shift, ``eps``, ``momentum``, ``running_mean``/``running_var``) and stores its
gradients as ``grad_weight``/``grad_bias``; ``forward(x, training=True)``
normalises over the batch.  ``LayerNorm`` keeps everything private
(``_gamma``/``_beta`` and ``_dgamma``/``_dbeta``) and normalises each row over
its features.  Both use the biased variance, as torch does in the forward.
"""

import numpy as np


class BatchNorm1d:
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        self.eps = eps
        self.momentum = momentum
        self.weight = np.ones(num_features)
        self.bias = np.zeros(num_features)
        self.running_mean = np.zeros(num_features)
        self.running_var = np.ones(num_features)
        self.grad_weight = np.zeros(num_features)
        self.grad_bias = np.zeros(num_features)

    def forward(self, x, training=True):
        if training:
            mean = x.mean(axis=0)
            var = x.var(axis=0)
            n = x.shape[0]
            self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * mean
            self.running_var = (1 - self.momentum) * self.running_var + self.momentum * var * n / max(n - 1, 1)
        else:
            mean, var = self.running_mean, self.running_var
        self.inv_std = 1.0 / np.sqrt(var + self.eps)
        self.x_hat = (x - mean) * self.inv_std
        return self.weight * self.x_hat + self.bias

    def backward(self, grad_out):
        n = grad_out.shape[0]
        self.grad_bias = grad_out.sum(axis=0)
        self.grad_weight = (grad_out * self.x_hat).sum(axis=0)
        g = grad_out * self.weight
        # dx = (1/n) inv_std (n g - sum(g) - x_hat sum(g x_hat)): the mean and variance terms
        return self.inv_std / n * (n * g - g.sum(axis=0) - self.x_hat * (g * self.x_hat).sum(axis=0))


class LayerNorm:
    def __init__(self, normalized_shape, eps=1e-5):
        self._eps = eps
        self._gamma = np.ones(normalized_shape)
        self._beta = np.zeros(normalized_shape)
        self._dgamma = None
        self._dbeta = None

    def forward(self, x):
        self._mu = x.mean(axis=-1, keepdims=True)
        self._xc = x - self._mu
        self._var = np.mean(self._xc ** 2, axis=-1, keepdims=True)
        self._rstd = (self._var + self._eps) ** -0.5
        self._xhat = self._xc * self._rstd
        return self._xhat * self._gamma + self._beta

    def backward(self, dy):
        D = dy.shape[-1]
        self._dbeta = dy.reshape(-1, D).sum(axis=0)
        self._dgamma = (dy * self._xhat).reshape(-1, D).sum(axis=0)
        dxhat = dy * self._gamma
        # through x_hat = xc * rstd, with xc = x - mean(x) and rstd = (var(xc) + eps)^(-1/2)
        dxc = dxhat * self._rstd
        dvar = np.sum(dxhat * self._xc, axis=-1, keepdims=True) * -0.5 * self._rstd ** 3
        dxc += dvar * 2.0 * self._xc / D
        return dxc - dxc.mean(axis=-1, keepdims=True)
