"""forward_pass/backward_pass layers (tests/zoo/styles/forward_pass_layers.py), one bug each."""


from ..styles import forward_pass_layers


class LinearGradsAveraged(forward_pass_layers.Linear):
    def backward_pass(self, dY):
        m = self.X.shape[0]
        self.grads["W"] = self.X.T @ dY / m  # BUG: averaged over the batch inside the layer
        self.grads["b"] = dY.sum(axis=0) / m  # (the same bug, both tensors: a factor 1/m)
        return dY @ self.params["W"].T


class LeakyReLUSlopeDropped(forward_pass_layers.LeakyReLU):
    def backward_pass(self, dY):
        return dY * (self.X > 0)  # BUG: the negative side's slope alpha is taken as 0
