"""Cost functions in the Coursera machine-learning exercises' Python conventions (ex2, ex3, ex4, ex5):
an unrolled parameter vector first, (J, grad) returned for scipy.optimize.minimize(jac=True), the
labels 0 .. K - 1 turned into rows of an identity matrix, the bias column left out of the penalty.
Written for gradcert's zoo in those habits."""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoidGradient(z):
    g = sigmoid(z)
    return g * (1 - g)


def _unroll(nn_params, input_layer_size, hidden_layer_size, num_labels):
    Theta1 = np.reshape(nn_params[:hidden_layer_size * (input_layer_size + 1)],
                        (hidden_layer_size, (input_layer_size + 1)))
    Theta2 = np.reshape(nn_params[(hidden_layer_size * (input_layer_size + 1)):],
                        (num_labels, (hidden_layer_size + 1)))
    return Theta1, Theta2


def nnCostFunction(nn_params, input_layer_size, hidden_layer_size, num_labels, X, y, lambda_=0.0):
    Theta1, Theta2 = _unroll(nn_params, input_layer_size, hidden_layer_size, num_labels)
    m = y.size
    a1 = np.concatenate([np.ones((m, 1)), X], axis=1)
    z2 = a1.dot(Theta1.T)
    a2 = np.concatenate([np.ones((m, 1)), sigmoid(z2)], axis=1)
    a3 = sigmoid(a2.dot(Theta2.T))
    y_matrix = np.eye(num_labels)[y.reshape(-1)]
    reg_term = (lambda_ / (2 * m)) * (np.sum(np.square(Theta1[:, 1:])) + np.sum(np.square(Theta2[:, 1:])))
    J = (-1 / m) * np.sum((np.log(a3) * y_matrix) + np.log(1 - a3) * (1 - y_matrix)) + reg_term
    delta_3 = a3 - y_matrix
    delta_2 = delta_3.dot(Theta2)[:, 1:] * sigmoidGradient(z2)
    Theta1_grad = (1 / m) * delta_2.T.dot(a1)
    Theta2_grad = (1 / m) * delta_3.T.dot(a2)
    Theta1_grad[:, 1:] = Theta1_grad[:, 1:] + (lambda_ / m) * Theta1[:, 1:]
    Theta2_grad[:, 1:] = Theta2_grad[:, 1:] + (lambda_ / m) * Theta2[:, 1:]
    grad = np.concatenate([Theta1_grad.ravel(), Theta2_grad.ravel()])
    return J, grad


def costFunction(theta, X, y):
    m = y.size
    h = sigmoid(X.dot(theta.T))
    J = (1 / m) * np.sum(-y.dot(np.log(h)) - (1 - y).dot(np.log(1 - h)))
    grad = (1 / m) * (h - y).dot(X)
    return J, grad


def lrCostFunction(theta, X, y, lambda_):
    m = y.size
    if y.dtype == bool:
        y = y.astype(int)
    h = sigmoid(X.dot(theta.T))
    temp = theta.copy()
    temp[0] = 0
    J = (1 / m) * np.sum(-y.dot(np.log(h)) - (1 - y).dot(np.log(1 - h))) + (lambda_ / (2 * m)) * np.sum(temp**2)
    grad = (1 / m) * (h - y).dot(X) + (lambda_ / m) * temp
    return J, grad


def linearRegCostFunction(X, y, theta, lambda_=0.0):
    m = y.size
    h = X.dot(theta)
    J = (1 / (2 * m)) * np.sum(np.square(h - y)) + (lambda_ / (2 * m)) * np.sum(np.square(theta[1:]))
    grad = (1 / m) * (h - y).dot(X)
    grad[1:] = grad[1:] + (lambda_ / m) * theta[1:]
    return J, grad


def computeCost(X, y, theta):
    """ex1's cost alone: no gradient to check."""
    m = y.size
    return np.sum((X.dot(theta) - y) ** 2) / (2 * m)


def nnCostFunctionOneBased(nn_params, input_size, hidden_size, num_labels, X, y, Lambda):
    """ex4 as ports of the MATLAB original write it: classes counted from 1 (y - 1 picks the row of
    the identity), a loop over the examples, Lambda required."""
    Theta1, Theta2 = _unroll(nn_params, input_size, hidden_size, num_labels)
    m = X.shape[0]
    J = 0.0
    Theta1_grad, Theta2_grad = np.zeros(Theta1.shape), np.zeros(Theta2.shape)
    for i in range(m):
        a1 = np.concatenate([[1.0], X[i]])
        z2 = Theta1 @ a1
        a2 = np.concatenate([[1.0], sigmoid(z2)])
        a3 = sigmoid(Theta2 @ a2)
        yk = np.zeros(num_labels)
        yk[y[i] - 1] = 1
        J += np.sum(-yk * np.log(a3) - (1 - yk) * np.log(1 - a3))
        d3 = a3 - yk
        d2 = (Theta2.T @ d3)[1:] * sigmoidGradient(z2)
        Theta1_grad += np.outer(d2, a1)
        Theta2_grad += np.outer(d3, a2)
    J = J / m + Lambda / (2 * m) * (np.sum(Theta1[:, 1:] ** 2) + np.sum(Theta2[:, 1:] ** 2))
    Theta1_grad /= m
    Theta2_grad /= m
    Theta1_grad[:, 1:] += Lambda / m * Theta1[:, 1:]
    Theta2_grad[:, 1:] += Lambda / m * Theta2[:, 1:]
    return J, np.concatenate([Theta1_grad.ravel(), Theta2_grad.ravel()])
