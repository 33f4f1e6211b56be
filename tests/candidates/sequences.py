"""cs231n assignment 3's loss over a sequence of scores, with a mask over its labels (afresh).

``temporal_softmax_loss(x, y, mask)``: x (N, T, V), y and mask (N, T); the loss summed over the
time steps the mask keeps and divided by N.  ``temporal_softmax_loss_unmasked_grad`` (mutant): its
gradient leaves the mask out.
"""

import numpy as np


def _softmax_rows(x_flat):
    probs = np.exp(x_flat - np.max(x_flat, axis=1, keepdims=True))
    return probs / np.sum(probs, axis=1, keepdims=True)


def temporal_softmax_loss(x, y, mask, verbose=False):
    n, t, v = x.shape
    x_flat, y_flat, mask_flat = x.reshape(n * t, v), y.reshape(n * t), mask.reshape(n * t)
    probs = _softmax_rows(x_flat)
    loss = -np.sum(mask_flat * np.log(probs[np.arange(n * t), y_flat])) / n
    dx_flat = probs.copy()
    dx_flat[np.arange(n * t), y_flat] -= 1
    dx_flat /= n
    dx_flat *= mask_flat[:, None]
    return loss, dx_flat.reshape(n, t, v)


def temporal_softmax_loss_unmasked_grad(x, y, mask, verbose=False):
    n, t, v = x.shape
    x_flat, y_flat, mask_flat = x.reshape(n * t, v), y.reshape(n * t), mask.reshape(n * t)
    probs = _softmax_rows(x_flat)
    loss = -np.sum(mask_flat * np.log(probs[np.arange(n * t), y_flat])) / n
    dx_flat = probs.copy()
    dx_flat[np.arange(n * t), y_flat] -= 1
    dx_flat /= n
    return loss, dx_flat.reshape(n, t, v)
