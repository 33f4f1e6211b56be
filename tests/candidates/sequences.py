"""cs231n assignment 3's sequence functions (afresh).

* ``temporal_softmax_loss(x, y, mask)``: x (N, T, V), y and mask (N, T); the loss summed over the
  time steps the mask keeps and divided by N.  ``temporal_softmax_loss_unmasked_grad`` (mutant): its
  gradient leaves the mask out.
* ``lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b) -> (next_h, next_c, cache)`` and
  ``lstm_step_backward(dnext_h, dnext_c, cache)``: a pair of two outputs.  ``lstmnocarry`` (mutant):
  the backward drops dnext_c, the gradient that reaches the cell directly.
"""

import numpy as np


def _softmax_rows(x_flat):
    probs = np.exp(x_flat - np.max(x_flat, axis=1, keepdims=True))
    return probs / np.sum(probs, axis=1, keepdims=True)


def temporal_softmax_loss(x, y, mask, verbose=False):
    return _temporal_softmax_loss(x, y, mask, masked_gradient=True)


def temporal_softmax_loss_unmasked_grad(x, y, mask, verbose=False):
    return _temporal_softmax_loss(x, y, mask, masked_gradient=False)


def _temporal_softmax_loss(x, y, mask, masked_gradient):
    n, t, v = x.shape
    x_flat, y_flat, mask_flat = x.reshape(n * t, v), y.reshape(n * t), mask.reshape(n * t)
    probs = _softmax_rows(x_flat)
    loss = -np.sum(mask_flat * np.log(probs[np.arange(n * t), y_flat])) / n
    dx_flat = probs.copy()
    dx_flat[np.arange(n * t), y_flat] -= 1
    dx_flat /= n
    if masked_gradient:
        dx_flat *= mask_flat[:, None]
    return loss, dx_flat.reshape(n, t, v)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One LSTM step: two outputs and a cache.  Wx (D, 4H), Wh (H, 4H), b (4H,)."""
    h = prev_h.shape[1]
    a = x.dot(Wx) + prev_h.dot(Wh) + b
    i, f, o, g = sigmoid(a[:, :h]), sigmoid(a[:, h:2 * h]), sigmoid(a[:, 2 * h:3 * h]), np.tanh(a[:, 3 * h:])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)


def lstm_step_backward(dnext_h, dnext_c, cache):
    return _lstm_step_backward(dnext_h, dnext_c, cache, carry=True)


def _lstm_step_backward(dnext_h, dnext_c, cache, carry):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    tanh_c = np.tanh(next_c)
    do = dnext_h * tanh_c
    dc = (dnext_c if carry else 0.0) + dnext_h * o * (1 - tanh_c**2)
    df, dprev_c, di, dg = dc * prev_c, dc * f, dc * g, dc * i
    da = np.hstack([di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g**2)])
    return da.dot(Wx.T), da.dot(Wh.T), dprev_c, x.T.dot(da), prev_h.T.dot(da), da.sum(axis=0)


def lstmnocarry_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    return lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)


def lstmnocarry_step_backward(dnext_h, dnext_c, cache):  # mutant: the cell's own upstream gradient lost
    return _lstm_step_backward(dnext_h, dnext_c, cache, carry=False)
