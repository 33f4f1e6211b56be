"""A ``weights`` property whose getter raises once update_mini_batch has run."""

from . import _base


class WeightsGetterRaisesAfterUpdate(_base.Network):
    def __init__(self, sizes):
        self._updated = False
        super().__init__(sizes)

    @property
    def weights(self):
        if self._updated:
            raise RuntimeError("weights are on the GPU now")
        return self._weights

    @weights.setter
    def weights(self, value):
        self._weights = value

    def update_mini_batch(self, mini_batch, eta):
        super().update_mini_batch(mini_batch, eta)
        self._updated = True
