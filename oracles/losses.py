"""The losses of outputs a candidate computed: what a whole network's gradient is the gradient of,
where the candidate's own loss is not a separate function gradcert can call.

deeplearning.ai's L_model_backward differentiates the cost J = -(1/m) sum (Y log AL + (1 - Y) log(1 -
AL)) of L_model_forward's sigmoid outputs AL (columns are examples); ``binary_cross_entropy`` is that
J, from the oracles' own cost (``numpy_cost``), so that finite differences of it along each parameter
judge the candidate's grads.
"""

from __future__ import annotations

import numpy as np
from gradcert.oracles import numpy_cost


def binary_cross_entropy(outputs, labels):
    """J of sigmoid outputs (units, m) against 0/1 labels of that shape: the mean over the m
    examples (columns) of each example's summed cross-entropy."""
    outputs, labels = np.asarray(outputs, np.float64), np.asarray(labels, np.float64)
    return float(np.mean(numpy_cost.example_costs("cross-entropy", outputs.T, labels.T)))
