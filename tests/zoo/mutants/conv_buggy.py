"""Convolution and pooling layers (tests/zoo/styles/conv_layers.py), one bug each."""

import numpy as np

from ..styles import conv_layers


class Conv2DKernelNotFlipped(conv_layers.Conv2D):
    def backward(self, dout):
        self._parameter_gradients(dout)
        return self._input_gradient(dout, self.params["W"])  # BUG: the kernel is not rotated by 180 degrees


class MaxPool2DMaskIgnored(conv_layers.MaxPool2D):
    def backward(self, dout):
        q = self.pool_size
        # BUG: dout is spread over the whole window, not routed to its maximum
        dx = np.broadcast_to(dout[:, :, :, None, :, None], self.mask.shape)
        return dx.reshape(self.x_shape)


class Conv2DIm2colBiasGradMissing(conv_layers.Conv2DIm2col):
    def backward(self, dout):
        W = self.params["W"]
        F, _, k, _ = W.shape
        N, _, H_out, W_out = dout.shape
        d = dout.transpose(0, 2, 3, 1).reshape(-1, F)
        self.grads["W"] = (d.T @ self.cols).reshape(W.shape)
        # BUG: self.grads["b"] = d.sum(axis=0) is missing: b has no gradient at all
        dx_pad = conv_layers.col2im(d @ W.reshape(F, -1), self.x_pad_shape, k, self.stride, H_out, W_out)
        p = self.padding
        return dx_pad[:, :, p:self.x_pad_shape[2] - p, p:self.x_pad_shape[3] - p]
