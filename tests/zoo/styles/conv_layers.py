"""Convolution and max-pooling layers on (N, C, H, W) batches, parameters in dicts.

``Conv2D`` computes the cross-correlation out = x * W + b directly; its
backward gets dx as the full correlation of dout with the kernel rotated by
180 degrees (stride 1).  ``Conv2DIm2col`` unrolls the windows into columns
(im2col) and folds them back (col2im), with a stride.  Both keep
``params = {"W": (F, C, k, k), "b": (F,)}`` and fill ``grads`` with the same
keys.  ``MaxPool2D`` remembers where each window's maximum was.
"""

import numpy as np


class Conv2D:
    def __init__(self, in_channels, out_channels, kernel_size, padding=0):
        k = kernel_size
        scale = np.sqrt(2.0 / (in_channels * k * k))
        self.params = {"W": scale * np.random.randn(out_channels, in_channels, k, k),
                       "b": np.zeros(out_channels)}
        self.grads = {"W": np.zeros_like(self.params["W"]), "b": np.zeros_like(self.params["b"])}
        self.padding = padding

    def forward(self, x):
        p = self.padding
        self.x_pad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        W, b = self.params["W"], self.params["b"]
        F, C, k, _ = W.shape
        N, _, Hp, Wp = self.x_pad.shape
        out = np.empty((N, F, Hp - k + 1, Wp - k + 1))
        for i in range(out.shape[2]):
            for j in range(out.shape[3]):
                out[:, :, i, j] = np.tensordot(self.x_pad[:, :, i:i + k, j:j + k], W,
                                               axes=([1, 2, 3], [1, 2, 3]))
        return out + b[None, :, None, None]

    def backward(self, dout):
        self._parameter_gradients(dout)
        # d x_pad = dout full-correlated with the kernel rotated by 180 degrees
        return self._input_gradient(dout, self.params["W"][:, :, ::-1, ::-1])

    def _parameter_gradients(self, dout):
        W = self.params["W"]
        k = W.shape[2]
        H_out, W_out = dout.shape[2:]
        dW = np.empty_like(W)
        for r in range(k):
            for s in range(k):
                dW[:, :, r, s] = np.tensordot(dout, self.x_pad[:, :, r:r + H_out, s:s + W_out],
                                              axes=([0, 2, 3], [0, 2, 3]))
        self.grads["W"] = dW
        self.grads["b"] = dout.sum(axis=(0, 2, 3))

    def _input_gradient(self, dout, kernel):
        """The full correlation of dout with ``kernel`` (F, C, k, k), unpadded."""
        k, p = kernel.shape[2], self.padding
        dout_full = np.pad(dout, ((0, 0), (0, 0), (k - 1, k - 1), (k - 1, k - 1)))
        dx_pad = np.empty_like(self.x_pad)
        for u in range(dx_pad.shape[2]):
            for v in range(dx_pad.shape[3]):
                dx_pad[:, :, u, v] = np.tensordot(dout_full[:, :, u:u + k, v:v + k], kernel,
                                                  axes=([1, 2, 3], [0, 2, 3]))
        return dx_pad[:, :, p:dx_pad.shape[2] - p, p:dx_pad.shape[3] - p]


def im2col(x, k, stride):
    """(N, C, H, W) -> (N * H_out * W_out, C * k * k): one row per window."""
    N, C, H, W = x.shape
    H_out, W_out = (H - k) // stride + 1, (W - k) // stride + 1
    cols = np.empty((N, C, k, k, H_out, W_out))
    for r in range(k):
        for s in range(k):
            cols[:, :, r, s] = x[:, :, r:r + stride * H_out:stride, s:s + stride * W_out:stride]
    return cols.transpose(0, 4, 5, 1, 2, 3).reshape(N * H_out * W_out, -1), H_out, W_out


def col2im(cols, shape, k, stride, H_out, W_out):
    """The adjoint of im2col: windows that overlap add up."""
    N, C, H, W = shape
    cols = cols.reshape(N, H_out, W_out, C, k, k).transpose(0, 3, 4, 5, 1, 2)
    x = np.zeros(shape)
    for r in range(k):
        for s in range(k):
            x[:, :, r:r + stride * H_out:stride, s:s + stride * W_out:stride] += cols[:, :, r, s]
    return x


class Conv2DIm2col:
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        k = kernel_size
        self.params = {"W": np.random.randn(out_channels, in_channels, k, k) / np.sqrt(in_channels * k * k),
                       "b": 0.1 * np.random.randn(out_channels)}
        self.grads = {}
        self.stride, self.padding = stride, padding

    def forward(self, x):
        p = self.padding
        x_pad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        W = self.params["W"]
        F, _, k, _ = W.shape
        self.cols, H_out, W_out = im2col(x_pad, k, self.stride)
        self.x_pad_shape = x_pad.shape
        out = self.cols @ W.reshape(F, -1).T + self.params["b"]  # (N * H_out * W_out, F)
        N = x.shape[0]
        return out.reshape(N, H_out, W_out, F).transpose(0, 3, 1, 2)

    def backward(self, dout):
        W = self.params["W"]
        F, _, k, _ = W.shape
        N, _, H_out, W_out = dout.shape
        d = dout.transpose(0, 2, 3, 1).reshape(-1, F)
        self.grads["W"] = (d.T @ self.cols).reshape(W.shape)
        self.grads["b"] = d.sum(axis=0)
        dx_pad = col2im(d @ W.reshape(F, -1), self.x_pad_shape, k, self.stride, H_out, W_out)
        p = self.padding
        return dx_pad[:, :, p:self.x_pad_shape[2] - p, p:self.x_pad_shape[3] - p]


class MaxPool2D:
    """Max pooling over non-overlapping pool_size x pool_size windows (H, W divisible by it)."""

    def __init__(self, pool_size=2):
        self.pool_size = pool_size

    def forward(self, x):
        N, C, H, W = x.shape
        q = self.pool_size
        windows = x.reshape(N, C, H // q, q, W // q, q)
        out = windows.max(axis=(3, 5))
        self.mask = windows == out[:, :, :, None, :, None]  # where each window's maximum sits
        self.x_shape = x.shape
        return out

    def backward(self, dout):
        q = self.pool_size
        dx = self.mask * dout[:, :, :, None, :, None]
        return dx.reshape(self.x_shape)
