"""Mutants of tests/zoo/styles/dlai_model.py's L_model_backward, one bug each."""

import numpy as np

from ..styles.dlai_functions import linear_activation_backward
from ..styles.dlai_model import L_model_forward  # noqa: F401  (the pair's forward, as written)

sign_flipped_forward = L_model_forward
hidden_sigmoid_forward = L_model_forward


def sign_flipped_backward(AL, Y, caches):
    grads = {}
    L = len(caches)
    Y = Y.reshape(AL.shape)
    dAL = np.divide(Y, AL) - np.divide(1 - Y, 1 - AL)  # BUG: the derivative of the cost's negation
    grads["dA" + str(L - 1)], grads["dW" + str(L)], grads["db" + str(L)] = linear_activation_backward(
        dAL, caches[L - 1], "sigmoid")
    for l in reversed(range(L - 1)):
        grads["dA" + str(l)], grads["dW" + str(l + 1)], grads["db" + str(l + 1)] = linear_activation_backward(
            grads["dA" + str(l + 1)], caches[l], "relu")
    return grads


def hidden_sigmoid_backward(AL, Y, caches):
    grads = {}
    L = len(caches)
    Y = Y.reshape(AL.shape)
    dAL = - (np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
    grads["dA" + str(L - 1)], grads["dW" + str(L)], grads["db" + str(L)] = linear_activation_backward(
        dAL, caches[L - 1], "sigmoid")
    for l in reversed(range(L - 1)):
        # BUG: the hidden layers are ReLU, but sigmoid's derivative is taken
        grads["dA" + str(l)], grads["dW" + str(l + 1)], grads["db" + str(l + 1)] = linear_activation_backward(
            grads["dA" + str(l + 1)], caches[l], "sigmoid")
    return grads
