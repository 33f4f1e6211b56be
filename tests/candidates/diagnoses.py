"""Wrong gradients whose diagnosis used to be wrong: each names what a reader should hear."""

import numpy as np


def sqrthalf_forward(x):  # a square root as a cs231n pair; the backward leaves out its 1/2
    out = np.sqrt(x)
    return out, out


def sqrthalf_backward(dout, cache):
    return dout / cache


def softmax_loss_never_accumulated(x, y):  # the gradient is right; the loss is never added up
    shifted = x - np.max(x, axis=1, keepdims=True)
    probs = np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True)
    n = x.shape[0]
    loss = 0.0
    dx = probs.copy()
    dx[np.arange(n), y] -= 1
    dx /= n
    return loss, dx
