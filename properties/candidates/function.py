"""``grad(arch, weights, biases, x, y) -> (nabla_b, nabla_w)``: a gradient as a function of the network.

``arch`` is a copy of the plain ``Architecture`` (sizes, activations, cost, l2, batch_norm, ...):
whatever the function does to it, the oracles judge the architecture gradcert drew.  The
architectures drawn are those the user declared (``--activation``, ``--hidden-activation``,
``--output-activation``, ``--depth``, ``--sizes``, ``--cost``, ``--l2``, ``--batch-norm``); a
``NotImplementedError`` declines one case, which is skipped and counted, and a run in which every
case was declined could not check anything (exit code 2).
"""

from __future__ import annotations

import numpy as np
from gradcert.properties.candidates.base import (
    NetworkCases,
    agrees,
    judge_gradient,
)
from gradcert.properties.candidates.network import deterministic
from gradcert.properties.candidates.remote import TARGET, Remote
from gradcert.properties.candidates.verdicts import gradient_arrays
from gradcert.properties.certify import Disagreement
from gradcert.properties.compare import unit_roundoff


class FunctionChecker(NetworkCases):
    style = "function"

    def __init__(self, options, name, remote: Remote, interface):
        super().__init__(options, name)
        self.remote = remote

    def _call(self, case):
        args = [
            case.arch,
            [np.array(w) for w in case.weights],
            [np.array(b) for b in case.biases],
            np.array(case.x),
            np.array(case.y),
        ]
        names = ["weights"] * len(case.weights) + ["biases"] * len(case.biases) + ["x", "y"]
        result = self.remote.call(TARGET, None, args, what=self.name, names=names)
        nabla_b, nabla_w, dtype = gradient_arrays(result, case.arch, self.name)
        return (nabla_b, nabla_w), dtype

    def check(self, case):
        gradient, dtype = self._call(case)
        again, _ = self._call(case)
        deterministic(case, gradient, again, unit_roundoff(dtype), self.name)
        self.checked("nabla_b of every layer", "nabla_w of every layer")  # listed for a failure too
        found = judge_gradient(case, gradient, self.options, self.oracles, unit_roundoff(dtype))
        if not agrees(found):
            raise Disagreement(case, found, gradient=gradient, dtype=dtype)
        return found


class ReferenceChecker(NetworkCases):
    """The bundled ``gradcert.reference.Network.backprop``: gradcert's own code, run in this process."""

    style = "reference"

    def __init__(self, options, name="gradcert.reference.Network.backprop"):
        super().__init__(options, name)

    def check(self, case):
        gradient = case.network().backprop(case.x, case.y)
        self.checked("nabla_b of every layer", "nabla_w of every layer")
        found = judge_gradient(case, gradient, self.options, self.oracles, None)
        if not agrees(found):
            raise Disagreement(case, found, gradient=gradient, dtype=np.float64)
        return found
