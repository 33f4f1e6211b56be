"""deeplearning.ai's L-layer network ("Building your Deep Neural Network: Step by Step"), in the
course's conventions: ``L_model_forward(X, parameters) -> (AL, caches)`` of ReLU layers and a
sigmoid output over a dict W1, b1, ..., WL, bL (columns are examples), and
``L_model_backward(AL, Y, caches) -> grads`` with grads['dW<l>'], grads['db<l>'] the gradient of
J = -(1/m) sum(Y log AL + (1 - Y) log(1 - AL)) -- the 1/m comes in through linear_backward, as
the course writes it (tests/zoo/styles/dlai_functions.py)."""

import numpy as np

from .dlai_functions import linear_activation_backward, linear_activation_forward


def L_model_forward(X, parameters):
    caches = []
    A = X
    L = len(parameters) // 2
    for l in range(1, L):
        A_prev = A
        A, cache = linear_activation_forward(A_prev, parameters['W' + str(l)], parameters['b' + str(l)], "relu")
        caches.append(cache)
    AL, cache = linear_activation_forward(A, parameters['W' + str(L)], parameters['b' + str(L)], "sigmoid")
    caches.append(cache)
    return AL, caches


def compute_cost(AL, Y):
    m = Y.shape[1]
    cost = (-1 / m) * np.sum(np.multiply(Y, np.log(AL)) + np.multiply(1 - Y, np.log(1 - AL)))
    return np.squeeze(cost)


def L_model_backward(AL, Y, caches):
    grads = {}
    L = len(caches)
    Y = Y.reshape(AL.shape)
    dAL = - (np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
    current_cache = caches[L - 1]
    grads["dA" + str(L - 1)], grads["dW" + str(L)], grads["db" + str(L)] = linear_activation_backward(
        dAL, current_cache, "sigmoid")
    for l in reversed(range(L - 1)):
        current_cache = caches[l]
        dA_prev_temp, dW_temp, db_temp = linear_activation_backward(grads["dA" + str(l + 1)], current_cache, "relu")
        grads["dA" + str(l)] = dA_prev_temp
        grads["dW" + str(l + 1)] = dW_temp
        grads["db" + str(l + 1)] = db_temp
    return grads
