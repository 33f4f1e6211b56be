"""A student's cs231n layers.py with one bug in each backward function.

The forward functions are the correct ones (imported from the zoo's
cs231n_layers, as a student's file would have them right); each
``<name>_backward`` below carries exactly one classic bug, so each pair is one
mutant: ``cs231n_layers_buggy.py:affine``, ``:relu``, ``:batchnorm``,
``:layernorm``, ``:dropout``, ``:conv_forward_naive``, ``:max_pool_forward_naive``.
"""

import numpy as np

from ..styles.cs231n_layers import (  # noqa: F401  (the pairs' forward halves)
    affine_forward,
    batchnorm_forward,
    conv_forward_naive,
    dropout_forward,
    layernorm_forward,
    max_pool_forward_naive,
    relu_forward,
)


def affine_backward(dout, cache):
    x, w, b = cache
    dx = dout.dot(w.T).reshape(x.shape)
    dw = dout.T.dot(x.reshape(x.shape[0], -1))  # BUG: (M, D), the transpose of dw; unseen when D == M
    db = np.sum(dout, axis=0)
    return dx, dw, db


def relu_backward(dout, cache):
    x = cache
    dx = dout  # BUG: the mask (x > 0) is never applied
    return dx


def batchnorm_backward(dout, cache):
    xhat, gamma, xmu, ivar, sqrtvar, var, eps = cache
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    dx = dout * gamma * ivar  # BUG: the terms through the batch mean and variance are missing
    return dx, dgamma, dbeta


def layernorm_backward(dout, cache):
    xhat, gamma, std = cache
    D = dout.shape[1]
    dbeta = -dout.sum(axis=0)  # BUG: sign flipped
    dgamma = np.sum(dout * xhat, axis=0)
    dxhat = dout * gamma
    dx = (D * dxhat - dxhat.sum(axis=1, keepdims=True)
          - xhat * np.sum(dxhat * xhat, axis=1, keepdims=True)) / (D * std)
    return dx, dgamma, dbeta


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    if dropout_param["mode"] == "train":
        dx = dout  # BUG: the dropout mask is not applied
    else:
        dx = dout
    return dx


def conv_backward_naive(dout, cache):
    """dx as the full correlation of dout with the kernel (stride 1)."""
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    assert stride == 1, "this backward handles stride 1 only"
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    dw = np.zeros_like(w)
    for i in range(HH):
        for j in range(WW):
            dw[:, :, i, j] = np.einsum("nfhw,nchw->fc", dout, x_pad[:, :, i:i + H_out, j:j + W_out])
    db = np.sum(dout, axis=(0, 2, 3))
    dout_full = np.pad(dout, ((0, 0), (0, 0), (HH - 1, HH - 1), (WW - 1, WW - 1)), mode="constant")
    kernel = w  # BUG: the full correlation needs the kernel rotated by 180 degrees, w[:, :, ::-1, ::-1]
    dx_pad = np.zeros_like(x_pad)
    for u in range(x_pad.shape[2]):
        for v in range(x_pad.shape[3]):
            dx_pad[:, :, u, v] = np.einsum("nfhw,fchw->nc", dout_full[:, :, u:u + HH, v:v + WW], kernel)
    dx = dx_pad[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for i in range(H_out):
        for j in range(W_out):
            # BUG: every element of the window gets dout, not only the window's maximum
            dx[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw] += dout[:, :, i:i + 1, j:j + 1]
    return dx
