"""The Coursera cost functions' classic bugs, each beside the correct code it breaks."""

import numpy as np

from zoo.styles.coursera_costs import _unroll, nnCostFunction, sigmoid


def nnCostFunctionRegGradMissing(nn_params, input_layer_size, hidden_layer_size, num_labels, X, y, lambda_=0.0):
    """The penalty is in J but not in the gradient."""
    J, grad = nnCostFunction(nn_params, input_layer_size, hidden_layer_size, num_labels, X, y, lambda_)
    _, unregularised = nnCostFunction(nn_params, input_layer_size, hidden_layer_size, num_labels, X, y, 0.0)
    return J, unregularised


def nnCostFunctionBiasRegularised(nn_params, input_layer_size, hidden_layer_size, num_labels, X, y, lambda_=0.0):
    """The gradient penalises the bias column too (J does not)."""
    Theta1, Theta2 = _unroll(nn_params, input_layer_size, hidden_layer_size, num_labels)
    J, grad = nnCostFunction(nn_params, input_layer_size, hidden_layer_size, num_labels, X, y, lambda_)
    m = y.size
    n1 = Theta1.size
    grad = grad.copy()
    grad[:n1].reshape(Theta1.shape)[:, 0] += (lambda_ / m) * Theta1[:, 0]
    grad[n1:].reshape(Theta2.shape)[:, 0] += (lambda_ / m) * Theta2[:, 0]
    return J, grad


def nnCostFunctionSigmoidGradientAtA(nn_params, input_layer_size, hidden_layer_size, num_labels, X, y, lambda_=0.0):
    """delta_2 uses g'(a2) = sigmoidGradient of the activation instead of z2."""
    Theta1, Theta2 = _unroll(nn_params, input_layer_size, hidden_layer_size, num_labels)
    m = y.size
    a1 = np.concatenate([np.ones((m, 1)), X], axis=1)
    z2 = a1.dot(Theta1.T)
    h2 = sigmoid(z2)
    a2 = np.concatenate([np.ones((m, 1)), h2], axis=1)
    a3 = sigmoid(a2.dot(Theta2.T))
    y_matrix = np.eye(num_labels)[y.reshape(-1)]
    reg_term = (lambda_ / (2 * m)) * (np.sum(np.square(Theta1[:, 1:])) + np.sum(np.square(Theta2[:, 1:])))
    J = (-1 / m) * np.sum((np.log(a3) * y_matrix) + np.log(1 - a3) * (1 - y_matrix)) + reg_term
    delta_3 = a3 - y_matrix
    delta_2 = delta_3.dot(Theta2)[:, 1:] * (sigmoid(h2) * (1 - sigmoid(h2)))
    Theta1_grad = (1 / m) * delta_2.T.dot(a1)
    Theta2_grad = (1 / m) * delta_3.T.dot(a2)
    Theta1_grad[:, 1:] += (lambda_ / m) * Theta1[:, 1:]
    Theta2_grad[:, 1:] += (lambda_ / m) * Theta2[:, 1:]
    return J, np.concatenate([Theta1_grad.ravel(), Theta2_grad.ravel()])


def costFunctionNoMean(theta, X, y):
    """The gradient is summed over the examples where J takes their mean."""
    m = y.size
    h = sigmoid(X.dot(theta.T))
    J = (1 / m) * np.sum(-y.dot(np.log(h)) - (1 - y).dot(np.log(1 - h)))
    return J, (h - y).dot(X)
