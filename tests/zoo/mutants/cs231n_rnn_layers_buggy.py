"""A mutant of tests/zoo/styles/cs231n_rnn_layers.py, as the assignment's solutions have it."""

import numpy as np

from ..styles.cs231n_rnn_layers import word_embedding_forward  # noqa: F401 (the pair's forward)


def word_embedding_backward(dout, cache):
    x, W = cache
    dW = np.zeros_like(W)
    dW[x] += dout  # BUG: buffered, so a word that occurs twice in x gets one row of dout, not their sum
    return dW
