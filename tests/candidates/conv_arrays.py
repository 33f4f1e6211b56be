"""A convolution built around its arrays, as Deep Learning from Scratch's ``Convolution(W, b, stride=1,
pad=0)`` is (afresh, with loops where the book uses im2col): W (FN, C, FH, FW), b (FN,), x (N, C, H, W).
``ConvolutionDbSummedOverOneImage`` (mutant): db sums the first image's dout alone."""

import numpy as np


class Convolution:
    all_images = True

    def __init__(self, W, b, stride=1, pad=0):
        self.W, self.b, self.stride, self.pad = W, b, stride, pad

    def forward(self, x):
        fn, _, fh, fw = self.W.shape
        self.x = np.pad(x, ((0, 0), (0, 0), (self.pad, self.pad), (self.pad, self.pad)))
        n, _, h, w = self.x.shape
        out_h, out_w = 1 + (h - fh) // self.stride, 1 + (w - fw) // self.stride
        out = np.empty((n, fn, out_h, out_w))
        for i in range(out_h):
            for j in range(out_w):
                top, left = i * self.stride, j * self.stride
                patch = self.x[:, :, top:top + fh, left:left + fw]
                out[:, :, i, j] = np.tensordot(patch, self.W, axes=([1, 2, 3], [1, 2, 3])) + self.b
        return out

    def backward(self, dout):
        _, _, fh, fw = self.W.shape
        dx = np.zeros_like(self.x)
        self.dW = np.zeros_like(self.W)
        self.db = dout.sum(axis=(0, 2, 3)) if self.all_images else dout[0].sum(axis=(1, 2))
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                top, left = i * self.stride, j * self.stride
                rows, cols = slice(top, top + fh), slice(left, left + fw)
                self.dW += np.tensordot(dout[:, :, i, j], self.x[:, :, rows, cols], axes=([0], [0]))
                dx[:, :, rows, cols] += np.tensordot(dout[:, :, i, j], self.W, axes=([1], [0]))
        h, w = dx.shape[2:]
        return dx[:, :, self.pad:h - self.pad, self.pad:w - self.pad]


class ConvolutionDbSummedOverOneImage(Convolution):
    all_images = False
