"""Mutants of tests/zoo/styles/nielsen_ports.py, one bug each, as the ports have them."""

import numpy as np

from ..styles.nielsen_ports import OwnConventions, Renamed, SizedStep, TransposedWeights, sigmoid, sigmoid_prime


class RenamedBP4OffByOne(Renamed):
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
            del_w[-l] = np.dot(delta, activations[-l].transpose())  # BUG: the layer's own output, not its input
        return (del_b, del_w)


class TransposedBiasSign(TransposedWeights):
    def backprop(self, x, y):
        nabla_b, nabla_w = super().backprop(x, y)
        return [-nb for nb in nabla_b[:-1]] + [nabla_b[-1]], nabla_w  # BUG: hidden biases' sign


class SizedStepDropsWeights(SizedStep):
    def update_mini_batch(self, mini_batch, eta, n):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        self.biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(self.biases, nabla_b)]
        self.weights = [1 - (eta / len(mini_batch)) * nw for w, nw in zip(self.weights, nabla_w)]  # BUG: w dropped


class OwnConventionsOutputSigmaPrimeMissing(OwnConventions):
    def backpropagation(self, x, y):
        grad_w = [np.zeros(w.shape) for w in self.ws]
        grad_b = [np.zeros(b.shape) for b in self.bs]
        a, activations, zs = x, [x], []
        for w, b in zip(self.ws, self.bs):
            zs.append(np.dot(w, a) + b)
            a = sigmoid(zs[-1])
            activations.append(a)
        delta = activations[-1] - y  # BUG: BP1 without sigma'(z^L)
        for i in range(self.layer_num - 2, -1, -1):
            grad_b[i] = delta
            grad_w[i] = np.dot(delta, activations[i].T)
            if i:
                delta = np.dot(self.ws[i].T, delta) * sigmoid_prime(zs[i - 1])
        return grad_w, grad_b
