"""network.py as its ports rewrite it: the book's algorithm under other habits, written afresh.

* ``Renamed``: the methods renamed, ``backpropagation(x, y)`` and ``update_network(mini_batch,
  learning_rate)``, as many course rewrites call them;
* ``TransposedWeights``: each W stored as (n_in, n_out), used as ``np.dot(w.transpose(), a)``,
  and its gradient returned in that same shape; the biases flat, (n_out,);
* ``SizedStep``: network2's step without its decay, ``update_mini_batch(mini_batch, eta, n)``,
  told the training set's size and not using it;
* ``OwnConventions``: weights and biases kept as ``ws`` and ``bs``, ``backpropagation`` returning
  ``(grad_w, grad_b)`` and the step ``gradientDescent(batch_data, learn_rate)`` reading it so.
"""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


class Renamed:
    def __init__(self, layer_sizes):
        self.num_layers = len(layer_sizes)
        self.biases = [np.random.randn(n, 1) for n in layer_sizes[1:]]
        self.weights = [np.random.randn(n, k) for k, n in zip(layer_sizes[:-1], layer_sizes[1:])]

    def update_network(self, mini_batch, learning_rate):
        del_b = [np.zeros(b.shape) for b in self.biases]
        del_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            db, dw = self.backpropagation(x, y)
            del_b = [s + d for s, d in zip(del_b, db)]
            del_w = [s + d for s, d in zip(del_w, dw)]
        self.weights = [w - learning_rate / len(mini_batch) * d for w, d in zip(self.weights, del_w)]
        self.biases = [b - learning_rate / len(mini_batch) * d for b, d in zip(self.biases, del_b)]

    def backpropagation(self, x, y):
        del_b = [np.zeros(b.shape) for b in self.biases]
        del_w = [np.zeros(w.shape) for w in self.weights]
        activation, activations, zs = x, [x], []
        for b, w in zip(self.biases, self.weights):
            z = np.dot(w, activation) + b
            activation = sigmoid(z)
            zs.append(z)
            activations.append(activation)
        delta = (activations[-1] - y) * sigmoid_prime(zs[-1])
        del_b[-1] = delta
        del_w[-1] = np.dot(delta, activations[-2].transpose())
        for l in range(2, self.num_layers):
            delta = np.dot(self.weights[-l + 1].transpose(), delta) * sigmoid_prime(zs[-l])
            del_b[-l] = delta
            del_w[-l] = np.dot(delta, activations[-l - 1].transpose())
        return (del_b, del_w)


class TransposedWeights:
    def __init__(self, sizes):
        self.num_layers = len(sizes)
        self.biases = [np.random.randn(y) for y in sizes[1:]]
        self.weights = [np.random.randn(x, y) for x, y in zip(sizes[:-1], sizes[1:])]

    def update_mini_batch(self, mini_batch, eta):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        self.weights = [w - (eta / len(mini_batch)) * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(self.biases, nabla_b)]

    def backprop(self, x, y):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        activation = x.reshape(-1)
        activations, zs = [activation], []
        for b, w in zip(self.biases, self.weights):
            z = np.dot(w.transpose(), activation) + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        delta = (activations[-1] - y.reshape(-1)) * sigmoid_prime(zs[-1])
        nabla_b[-1] = delta
        nabla_w[-1] = np.outer(delta, activations[-2]).transpose()
        for l in range(2, self.num_layers):
            delta = np.dot(self.weights[-l + 1], delta) * sigmoid_prime(zs[-l])
            nabla_b[-l] = delta
            nabla_w[-l] = np.outer(delta, activations[-l - 1]).transpose()
        return (nabla_b, nabla_w)


class SizedStep(Renamed):
    def __init__(self, sizes):
        super().__init__(sizes)

    def update_mini_batch(self, mini_batch, eta, n):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        self.biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(self.biases, nabla_b)]
        self.weights = [w - (eta / len(mini_batch)) * nw for w, nw in zip(self.weights, nabla_w)]

    def backprop(self, x, y):
        return self.backpropagation(x, y)


class OwnConventions:
    def __init__(self, size):
        self.layer_num = len(size)
        self.ws = [np.random.randn(j, k) for j, k in zip(size[1:], size[:-1])]
        self.bs = [np.random.randn(j, 1) for j in size[1:]]

    def gradientDescent(self, batch_data, learn_rate):
        grad_w = [np.zeros(w.shape) for w in self.ws]
        grad_b = [np.zeros(b.shape) for b in self.bs]
        for x, y in batch_data:
            once_w, once_b = self.backpropagation(x, y)
            for i in range(len(grad_w)):
                grad_w[i] += once_w[i]
                grad_b[i] += once_b[i]
        for i in range(len(grad_w)):
            self.ws[i] = self.ws[i] - learn_rate * grad_w[i] / len(batch_data)
            self.bs[i] = self.bs[i] - learn_rate * grad_b[i] / len(batch_data)

    def backpropagation(self, x, y):
        grad_w = [np.zeros(w.shape) for w in self.ws]
        grad_b = [np.zeros(b.shape) for b in self.bs]
        a, activations, zs = x, [x], []
        for w, b in zip(self.ws, self.bs):
            zs.append(np.dot(w, a) + b)
            a = sigmoid(zs[-1])
            activations.append(a)
        delta = (activations[-1] - y) * sigmoid_prime(zs[-1])
        for i in range(self.layer_num - 2, -1, -1):
            grad_b[i] = delta
            grad_w[i] = np.dot(delta, activations[i].T)
            if i:
                delta = np.dot(self.ws[i].T, delta) * sigmoid_prime(zs[i - 1])
        return grad_w, grad_b
