"""Stateless layers (tests/zoo/styles/stateless_layers.py), one bug each."""


from ..styles import stateless_layers


class ReLUMaskFromGradient(stateless_layers.ReLU):
    def backward(self, input, grad_output):
        relu_grad = grad_output > 0  # BUG: the mask is taken from grad_output, not from the input
        return grad_output * relu_grad


class TanhDoutFirstPrimeAtInput(stateless_layers.TanhDoutFirst):
    def backward(self, dout, x):
        return dout * (1.0 - x ** 2)  # BUG: 1 - x^2 is tanh' at the output, evaluated at the input


class SoftmaxRowsElementwise(stateless_layers.SoftmaxRows):
    def backward(self, input, grad_output):
        s = self.forward(input)
        return grad_output * s * (1.0 - s)  # BUG: the Jacobian's diagonal only
