"""cs231n's affine pair with db averaged over the batch instead of summed."""

import numpy as np

from ..styles.cs231n_layers import affine_forward  # noqa: F401  (the pair's forward half)


def affine_backward(dout, cache):
    x, w, b = cache
    dx = dout.dot(w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T.dot(dout)
    db = np.mean(dout, axis=0)  # BUG: the mean over the N examples, not the sum
    return dx, dw, db
