"""Lazily initialised dense layers (tests/zoo/styles/lazy_layers.py), one bug each."""

from ..styles import lazy_layers


class FullyConnectedWeightGradSkipsActivation(lazy_layers.FullyConnected):
    """dX is right; dW is wrong by as much as the ReLU's zeros weigh (tens of per cent or more)."""

    def backward(self, dLdY):
        W = self.parameters["W"]
        X, Z = self.cache["X"], self.cache["Z"]
        dZ = self.activation.backward(Z, dLdY)
        self.gradients["W"] = X.T @ dLdY  # BUG: dLdY where dZ belongs: the activation's mask is skipped
        self.gradients["b"] = dZ.sum(axis=0, keepdims=True)
        return dZ @ W.T


class FullyConnectedBiasGradSignFlipped(lazy_layers.FullyConnected):
    def backward(self, dLdY):
        W = self.parameters["W"]
        X, Z = self.cache["X"], self.cache["Z"]
        dZ = self.activation.backward(Z, dLdY)
        self.gradients["W"] = X.T @ dZ
        self.gradients["b"] = -dZ.sum(axis=0, keepdims=True)  # BUG: sign flipped
        return dZ @ W.T
