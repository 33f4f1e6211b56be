"""network.py's backprop lifted out of its class, as course solutions and ports write it (afresh).

* ``backpropagate(nLayers, weights, biases, inValues, outValues)``: returns ``nablaW, nablaB``;
* ``backprop(x, y, biases, weights, num_layers)``: network.py's order, (nabla_b, nabla_w);
* ``backprop_net(net, x, y)``: reads ``net.weights``, ``net.cost_derivative``; returns ``(net, nabla_b,
  nabla_w)``;
* ``backprop_course(x, y, biases, weightsT, num_layers)``: a course's name for the weights, held in
  network.py's shape;
* ``backprop_weights_first``: returns ``nabla_w, nabla_b``, named so: read in that order;
* the mutants: ``backpropagate_no_sigma_prime`` (BP2 without sigma'(z)), ``backprop_net_bp4_off``
  (BP4 takes the layer's own output), ``backprop_swapped`` (returns the pair the other way round with
  no names to say so: network.py's order is the contract, and the swap its classic bug).

Each returns its pair by name, as its authors do (the names are what gradcert reads the order from),
so a mutant is a whole function beside its correct twin, not a call of it.
"""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


def _forward(weights, biases, x, transposed=False):
    activation, activations, zs = x, [x], []
    for b, w in zip(biases, weights):
        z = np.dot(w.T if transposed else w, activation) + b
        zs.append(z)
        activation = sigmoid(z)
        activations.append(activation)
    return activations, zs


def backpropagate(nLayers, weights, biases, inValues, outValues):
    nablaW = [np.zeros(w.shape) for w in weights]
    nablaB = [np.zeros(b.shape) for b in biases]
    activations, wsums = _forward(weights, biases, np.atleast_2d(inValues))
    delta = (activations[-1] - outValues) * sigmoid_prime(wsums[-1])
    nablaB[-1] = delta
    nablaW[-1] = np.dot(delta, activations[-2].transpose())
    for layer in range(2, nLayers):
        delta = np.dot(weights[-layer + 1].transpose(), delta) * sigmoid_prime(wsums[-layer])
        nablaB[-layer] = delta
        nablaW[-layer] = np.dot(delta, activations[-layer - 1].transpose())
    return nablaW, nablaB


def backpropagate_no_sigma_prime(nLayers, weights, biases, inValues, outValues):
    nablaW = [np.zeros(w.shape) for w in weights]
    nablaB = [np.zeros(b.shape) for b in biases]
    activations, wsums = _forward(weights, biases, np.atleast_2d(inValues))
    delta = (activations[-1] - outValues) * sigmoid_prime(wsums[-1])
    nablaB[-1] = delta
    nablaW[-1] = np.dot(delta, activations[-2].transpose())
    for layer in range(2, nLayers):
        delta = np.dot(weights[-layer + 1].transpose(), delta)
        nablaB[-layer] = delta
        nablaW[-layer] = np.dot(delta, activations[-layer - 1].transpose())
    return nablaW, nablaB


def backprop(x, y, biases, weights, num_layers):
    nabla_b = [np.zeros(b.shape) for b in biases]
    nabla_w = [np.zeros(w.shape) for w in weights]
    activations, zs = _forward(weights, biases, x)
    delta = (activations[-1] - y) * sigmoid_prime(zs[-1])
    nabla_b[-1] = delta
    nabla_w[-1] = np.dot(delta, activations[-2].transpose())
    for k in range(2, num_layers):
        delta = np.dot(weights[-k + 1].transpose(), delta) * sigmoid_prime(zs[-k])
        nabla_b[-k] = delta
        nabla_w[-k] = np.dot(delta, activations[-k - 1].transpose())
    return (nabla_b, nabla_w)


def backprop_weights_first(x, y, biases, weights, num_layers):
    nabla_b, nabla_w = backprop(x, y, biases, weights, num_layers)
    return nabla_w, nabla_b


def backprop_swapped(x, y, biases, weights, num_layers):
    pair = backprop(x, y, biases, weights, num_layers)
    return pair[1], pair[0]


def backprop_net(net, x, y):
    nabla_b = [np.zeros(b.shape) for b in net.biases]
    nabla_w = [np.zeros(w.shape) for w in net.weights]
    activations, zs = _forward(net.weights, net.biases, x)
    delta = net.cost_derivative(activations[-1], y) * sigmoid_prime(zs[-1])
    nabla_b[-1] = delta
    nabla_w[-1] = np.dot(delta, activations[-2].transpose())
    for k in range(2, net.num_layers):
        delta = np.dot(net.weights[-k + 1].transpose(), delta) * sigmoid_prime(zs[-k])
        nabla_b[-k] = delta
        nabla_w[-k] = np.dot(delta, activations[-k - 1].transpose())
    return (net, nabla_b, nabla_w)


def backprop_net_bp4_off(net, x, y):
    nabla_b = [np.zeros(b.shape) for b in net.biases]
    nabla_w = [np.zeros(w.shape) for w in net.weights]
    activations, zs = _forward(net.weights, net.biases, x)
    delta = net.cost_derivative(activations[-1], y) * sigmoid_prime(zs[-1])
    nabla_b[-1] = delta
    nabla_w[-1] = np.dot(delta, activations[-1].transpose())
    for k in range(2, net.num_layers):
        delta = np.dot(net.weights[-k + 1].transpose(), delta) * sigmoid_prime(zs[-k])
        nabla_b[-k] = delta
        nabla_w[-k] = np.dot(delta, activations[-k].transpose())
    return (net, nabla_b, nabla_w)


def backprop_course(x, y, biases, weightsT, num_layers):
    """A course's name for the weights, in network.py's shape (n_out, n_in)."""
    return backprop(x, y, biases, weightsT, num_layers)
