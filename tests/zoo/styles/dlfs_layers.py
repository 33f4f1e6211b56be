"""Layer objects in the conventions of "Deep Learning from Scratch" (Koki Saito,
oreilly-japan/deep-learning-from-scratch, common/layers.py).

Each layer has ``forward(x)`` and ``backward(dout)``; forward keeps what
backward needs in attributes (``self.mask``, ``self.out``, ``self.x``);
batches are rows (N, D); parameters are attributes with ``d``-prefixed
partners (``W``/``dW``, ``b``/``db``, ``gamma``/``dgamma``) filled in by
backward; forward takes ``train_flg=True`` where training and inference
differ.  Relu's backward writes into the dout it is handed, as the book's
does: a harness must pass a copy, and must not call that a bug.  The book's
Affine and BatchNormalization take their parameter arrays in the constructor;
these take sizes and draw them with np.random, as its multi-layer networks do.
"""

import numpy as np


class Relu:
    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = (x <= 0)
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout[self.mask] = 0  # in place, as the book writes it: the caller's dout is consumed
        dx = dout
        return dx


class Sigmoid:
    def __init__(self):
        self.out = None

    def forward(self, x):
        out = 1 / (1 + np.exp(-x))
        self.out = out
        return out

    def backward(self, dout):
        dx = dout * (1.0 - self.out) * self.out
        return dx


class Affine:
    """x of shape (N, d_1, ..., d_k) is flattened to (N, input_size); W: (input_size, output_size)."""

    def __init__(self, input_size, output_size, weight_init_std=0.01):
        self.W = weight_init_std * np.random.randn(input_size, output_size)
        self.b = np.zeros(output_size)
        self.x = None
        self.original_x_shape = None
        self.dW = None
        self.db = None

    def forward(self, x):
        self.original_x_shape = x.shape
        x = x.reshape(x.shape[0], -1)
        self.x = x
        out = np.dot(self.x, self.W) + self.b
        return out

    def backward(self, dout):
        dx = np.dot(dout, self.W.T)
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)
        dx = dx.reshape(*self.original_x_shape)
        return dx


class Dropout:
    """The book's dropout: a mask from np.random.rand, no rescaling in training, the
    outputs scaled by (1 - ratio) at inference."""

    def __init__(self, dropout_ratio=0.5):
        self.dropout_ratio = dropout_ratio
        self.mask = None

    def forward(self, x, train_flg=True):
        if train_flg:
            self.mask = np.random.rand(*x.shape) > self.dropout_ratio
            return x * self.mask
        else:
            return x * (1.0 - self.dropout_ratio)

    def backward(self, dout):
        return dout * self.mask


class BatchNormalization:
    """Batch normalisation over the rows of a batch, with gamma/beta and running averages."""

    def __init__(self, input_size, momentum=0.9):
        self.gamma = np.ones(input_size)
        self.beta = np.zeros(input_size)
        self.momentum = momentum
        self.running_mean = None
        self.running_var = None
        self.batch_size = None
        self.xc = None
        self.std = None
        self.dgamma = None
        self.dbeta = None

    def forward(self, x, train_flg=True):
        if self.running_mean is None:
            N, D = x.shape
            self.running_mean = np.zeros(D)
            self.running_var = np.zeros(D)
        if train_flg:
            mu = x.mean(axis=0)
            xc = x - mu
            var = np.mean(xc ** 2, axis=0)
            std = np.sqrt(var + 10e-7)
            xn = xc / std
            self.batch_size = x.shape[0]
            self.xc = xc
            self.xn = xn
            self.std = std
            self.running_mean = self.momentum * self.running_mean + (1 - self.momentum) * mu
            self.running_var = self.momentum * self.running_var + (1 - self.momentum) * var
        else:
            xc = x - self.running_mean
            xn = xc / np.sqrt(self.running_var + 10e-7)
        out = self.gamma * xn + self.beta
        return out

    def backward(self, dout):
        dbeta = dout.sum(axis=0)
        dgamma = np.sum(self.xn * dout, axis=0)
        dxn = self.gamma * dout
        dxc = dxn / self.std
        dstd = -np.sum((dxn * self.xc) / (self.std * self.std), axis=0)
        dvar = 0.5 * dstd / self.std
        dxc += (2.0 / self.batch_size) * self.xc * dvar
        dmu = np.sum(dxc, axis=0)
        dx = dxc - dmu / self.batch_size
        self.dgamma = dgamma
        self.dbeta = dbeta
        return dx
