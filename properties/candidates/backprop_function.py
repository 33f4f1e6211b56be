"""network.py's ``backprop`` written as a free function: ``backprop(x, y, biases, weights, num_layers)``.

Course solutions and small ports often lift Nielsen's method out of its class and pass what it reads
of ``self`` as arguments: ``backprop(weights, biases, x, y)``, ``backpropagate(nLayers, weights,
biases, inValues, outValues)``, ``backprop(net, x, y)``.  gradcert drives such a function as the
network style drives a class: it is called inside a small network gradcert builds around it
(``network_around``, in the worker), whose ``backprop(x, y)`` passes each argument by its name's
role (``roles``), so that the network style's cases, layouts, checks of what the candidate writes
into and verdicts all apply unchanged.

* The roles: the weights and the biases (lists, one array per layer, in network.py's shapes: a
  course's ``weightsT`` holds each W as (n_out, n_in) too), x and y (one column each, as
  network.py's), the number of layers (``len(sizes)``, network.py's ``num_layers``), the sizes,
  and a network object (``net``: the built network itself, with network.py's ``weights``,
  ``biases``, ``num_layers``, ``sizes`` and ``cost_derivative(output, y) = output - y``).  A
  parameter with a default is left to it.  A function with any other required parameter is not
  this style.
* The pair's order: network.py's ``(nabla_b, nabla_w)`` is the contract, unless the function's own
  return statements name the pair the other way round, ``return nablaW, nablaB`` (``pair_order``),
  which is read so and said in a note.  ``backprop(net, x, y)`` returning ``(net, nabla_b,
  nabla_w)`` is read as its last two.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap

import numpy as np

__all__ = ["network_around", "pair_order", "roles", "tensor_kind"]

_ROLES = {
    "weights": ("weights", "weight", "w", "ws", "wts", "weightst", "weights_t", "wt", "w_t"),
    "biases": ("biases", "bias", "b", "bs"),
    "x": ("x", "xs", "x_in", "inp", "input", "inputs", "invalues", "in_values", "input_values", "injected",
          "activation", "features", "sample"),
    "y": ("y", "ys", "t", "target", "targets", "label", "labels", "outvalues", "out_values", "output_values",
          "expected", "desired", "predicted", "y_true"),
    "layers": ("num_layers", "n_layers", "nlayers", "numlayers", "number_of_layers", "layers_count"),
    "sizes": ("sizes", "layer_sizes", "layer_dims", "topology"),
    "net": ("net", "network", "nn", "self"),
}
_ROLE_OF = {name: role for role, names in _ROLES.items() for name in names}
_NEEDED = ({"weights", "biases", "x", "y"}, {"net", "x", "y"})


def roles(params):
    """The role of each required positional parameter (``interface.Parameter``s), in order, if the
    function is a free backprop -- weights, biases, x and y, or a network and x and y, each named
    once, and nothing gradcert cannot give; else None."""
    if params is None or any(p.kind == "KEYWORD_ONLY" and not p.has_default for p in params):
        return None
    found = []
    for p in params:
        if not p.required:
            continue
        role = _ROLE_OF.get(p.name.lower())
        if role is None:
            return None
        found.append(role)
    if len(set(found)) != len(found) or not any(needed <= set(found) for needed in _NEEDED):
        return None
    return tuple(found)


def tensor_kind(name):
    """Which of a pair a name means: "w" for a weights-like one (nabla_w, nablaW, nb_w, dW, grad_ws,
    weights_grad), "b" for a biases-like one, None otherwise: how a port's own names tell its pair's
    order (here, its return statements; ``network._unpacked_order``, its training loop's unpacking)."""
    stem = re.sub(r"_?(grads?|gradients?)$", "", name.lower())
    if re.search(r"(w|ws|weights?)$", stem):
        return "w"
    if re.search(r"(b|bs|bias|biases)$", stem):
        return "b"
    return None


def pair_order(function):
    """"wb" if every return statement of ``function`` that returns names returns a weight-like name
    and then a bias-like one last (``return nablaW, nablaB``), "bw" if the other way, None if it cannot
    be told (no source, no such return, or returns that disagree)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    orders = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Return) or not isinstance(node.value, ast.Tuple):
            continue
        names = [e.id for e in node.value.elts if isinstance(e, ast.Name)]
        if len(names) != len(node.value.elts) or len(names) < 2:
            continue
        kinds = "".join(tensor_kind(n) or "?" for n in names[-2:])  # (net, nabla_b, nabla_w): the last two
        if kinds in ("wb", "bw"):
            orders.add(kinds)
    return orders.pop() if len(orders) == 1 else None


def network_around(function, function_roles, order):
    """A network.py-style class, built as ``Name(sizes)``, whose ``backprop(x, y)`` calls ``function``
    with the arguments of ``function_roles`` and returns its pair as (nabla_b, nabla_w)."""
    class FunctionNetwork:
        def __init__(self, sizes):
            self.sizes = list(sizes)
            self.num_layers = len(self.sizes)
            self.biases = [np.zeros((n, 1)) for n in self.sizes[1:]]
            self.weights = [np.zeros((n, n_in)) for n_in, n in zip(self.sizes[:-1], self.sizes[1:])]

        def cost_derivative(self, output_activations, y):  # network.py's, for backprop(net, x, y)
            return output_activations - y

        def backprop(self, x, y):
            given = {"weights": self.weights, "biases": self.biases, "x": x, "y": y,
                     "layers": self.num_layers, "sizes": list(self.sizes), "net": self}
            result = function(*[given[role] for role in function_roles])
            if isinstance(result, tuple) and len(result) == 3 and result[0] is self:
                result = result[1:]  # backprop(net, x, y) -> (net, nabla_b, nabla_w)
            if order == "wb" and isinstance(result, (tuple, list)) and len(result) == 2:
                result = (result[1], result[0])
            return result

    name = getattr(function, "__name__", "backprop")
    FunctionNetwork.__name__ = FunctionNetwork.__qualname__ = name
    FunctionNetwork.__module__ = getattr(function, "__module__", __name__)
    return FunctionNetwork
