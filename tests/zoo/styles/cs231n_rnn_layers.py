# Source: Stanford cs231n assignment 3, cs231n/rnn_layers.py: word_embedding_forward / word_embedding_backward
"""cs231n's word embedding pair, written for the zoo in the assignment's conventions.

``word_embedding_forward(x, W)``: x of shape (N, T), integers (word indices) below V; W of shape
(V, D), one vector per word; out of shape (N, T, D), the vector of every word of x.
``word_embedding_backward(dout, cache)`` returns dW alone: x is integers and has no gradient.
A word that occurs twice in x gets both rows of dout, as the assignment's hint (np.add.at) says.
"""

import numpy as np


def word_embedding_forward(x, W):
    out = W[x, :]
    cache = x, W
    return out, cache


def word_embedding_backward(dout, cache):
    x, W = cache
    dW = np.zeros_like(W)
    np.add.at(dW, x, dout)
    return dW
