"""Which interface style a target is written in, told from its signatures before the first call.

The worker describes the target as plain data (``worker.describe``): what it is (class, function,
instance), its call signature and its methods' signatures.  From that alone this module picks the
style and what to call, so an interface gradcert cannot drive is refused (exit code 2) with what
it found and what it expected -- never a crash verdict from calling it the wrong way.

=========  ==========================================================================
network    network.py / network2.py: ``Name(sizes)`` with ``backprop(x, y)`` (or its ports'
           ``backpropagation``, ``back_propagation``, ...: ``BACKPROPS``); or a one-argument
           factory (a function, a ``functools.partial``) returning one; or its backprop as a
           free function of the weights, biases, x and y (``backprop_function``)
step       a network with ``update_mini_batch`` (or ``update_network``, ...: ``UPDATES``) but no
           ``backprop``
layer      ``forward``/``backward``, ``forward_pass``/``backward_pass``, ``__call__`` +
           ``backward``; a stateless ``backward(x, dout)`` too
pair       cs231n's ``NAME_forward(x, ...) -> (out, cache)`` and ``NAME_backward(dout, cache)``;
           its loss functions ``softmax_loss(x, y)``, ``svm_loss_naive(W, X, y, reg) -> (loss, grad)``
model      ``loss(X, y) -> (loss, grads)`` with a ``params`` dict (cs231n), ``loss(x, t)`` with
           ``gradient(x, t)`` (Deep Learning from Scratch), or deeplearning.ai's pair
           ``L_model_forward(X, parameters)``, ``L_model_backward(AL, Y, caches)``
function   ``grad(arch, weights, biases, x, y) -> (nabla_b, nabla_w)``
engine     an autodiff engine's value class, micrograd's ``Value``: ``Value(2.0)``, the
           operators ``+`` and ``*`` (and what else it has), ``backward()``, ``.grad``
=========  ==========================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gradcert.properties.candidates import backprop_function
from gradcert.properties.errors import TargetError

FORWARDS = ("forward", "forward_pass", "fprop", "__call__")
BACKWARDS = ("backward", "backward_pass", "bprop")
LEARNING_RATES = ("lr", "learning_rate", "eta", "alpha", "step_size", "rate")
INPUT_NAMES = ("x", "X", "input", "inputs", "input_", "a", "a_prev", "x_in", "inp", "bottom", "data")
# A loss's labels, taken second by its forward and its backward (nnfs' y_true)
LOSS_LABELS = ("y_true", "t", "y", "label", "labels", "target", "targets", "y_train")
UPSTREAM_NAMES = (
    "dout",
    "grad",
    "grad_output",
    "grad_out",
    "dy",
    "dY",
    "delta",
    "top_diff",
    "dA",
    "da",
    "output_grad",
    "out_grad",
    "upstream",
    "gradient",
    "d_out",
    "dz",
    "error",
    "top_grad",
    "dvalues",  # Neural Networks from Scratch's backward(dvalues)
    "d_values",
)
GRAD_FUNCTION = ("arch", "weights", "biases", "x", "y")
# network.py's backprop(x, y) and update_mini_batch(mini_batch, eta) under the names its ports give them
BACKPROPS = ("backprop", "backpropagation", "back_propagation", "backward_propagation", "back_prop",
             "backward_prop")
UPDATES = ("update_mini_batch", "update_minibatch", "update_batch", "update_network", "gradientDescent",
           "gradient_descent", "update_weights")


def named(methods, names):
    """The first of ``names`` that ``methods`` has, or None."""
    return next((name for name in names if name in methods), None)


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: str  # inspect's kind name: POSITIONAL_ONLY, POSITIONAL_OR_KEYWORD, VAR_POSITIONAL, ...
    has_default: bool

    @property
    def positional(self):
        return self.kind in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")

    @property
    def required(self):
        return self.positional and not self.has_default


def parameters(signature):
    """The worker's signature data as Parameters (None: Python could not tell)."""
    if signature is None:
        return None
    return [Parameter(name, kind, has_default) for name, kind, has_default, _ in signature]


def required(signature):
    params = parameters(signature)
    return None if params is None else [p for p in params if p.required]


def accepts(signature, count):
    """Whether a callable with this signature can be called with ``count`` positional arguments."""
    params = parameters(signature)
    if params is None:
        return True
    if any(p.kind == "VAR_POSITIONAL" for p in params):
        return len([p for p in params if p.required]) <= count
    positional = [p for p in params if p.positional]
    return len([p for p in positional if p.required]) <= count <= len(positional)


@dataclass(frozen=True)
class Interface:
    """The detected style and what gradcert calls: method names, argument orders."""

    style: str
    description: dict
    forward: str | None = None  # layer: the forward method
    backward: str | None = None  # layer: the backward method
    backward_takes: tuple = ("dout",)  # layer: what backward is given, in order (dout, x, lr)
    factory: bool = False  # network: the target is a one-argument callable returning the network
    pair: tuple | None = None  # pair: (forward name, backward name)
    partner: dict | None = None  # pair: the backward function's description
    loss: bool = False  # pair: a loss function returning (loss, grad), forward and backward in one
    roles: tuple | None = None  # network: a free backprop function's arguments (``backprop_function``)
    notes: tuple = field(default_factory=tuple)

    @property
    def name(self):
        return self.description.get("name")


def detect(loaded, forced=None) -> Interface:
    """The style of a loaded target (the worker's ``load`` reply value); TargetError if none fits."""
    if loaded.get("pair"):
        forward, backward = loaded["describe"]
        style = "model" if _whole_model_pair(forward, backward) else "pair"
        return Interface(style, forward, pair=tuple(loaded["pair"]), partner=backward)
    description = loaded["describe"]
    found = _detect(description)
    if (
        forced
        and found is not None
        and found.style != forced
        and not (forced == "step" and found.style in ("network", "layer"))
    ):
        raise TargetError(
            f"{description['name']} looks like {_WHAT[found.style]}, not {_WHAT[forced]}; "
            f"leave --style out, or name the right target"
        )
    if found is None:
        raise TargetError(_refusal(description))
    if forced == "step" and found.style in ("network", "layer"):
        return Interface(
            "step",
            description,
            found.forward,
            found.backward,
            found.backward_takes,
            found.factory,
            notes=found.notes,
        )
    return found


# Frameworks' own differentiable objects: their gradients are the framework's to check.
FRAMEWORK_BASES = {
    "torch.autograd.function.Function": "a torch.autograd.Function: check its backward with "
    "torch.autograd.gradcheck({name}.apply, inputs) (float64 inputs with requires_grad=True)",
    "torch.nn.modules.module.Module": "a torch.nn.Module, whose gradients torch's autograd computes: "
    "gradcert checks backward passes written by hand in NumPy",
}


def _framework(d):
    for base in d.get("bases") or ():
        if base in FRAMEWORK_BASES:
            return f"{d['name']} is " + FRAMEWORK_BASES[base].format(name=d["name"])
    return None


def _detect(d):
    methods = d.get("methods") or {}
    what = d["what"]
    framework = _framework(d)
    if framework is not None:
        raise TargetError(framework)
    if what == "class" and _is_engine(d, methods):
        return Interface("engine", d)
    if what in ("class", "instance"):
        backprop, update = named(methods, BACKPROPS), named(methods, UPDATES)
        if backprop is not None and not _has_layer_forward(methods) and (
            backprop == "backprop" or accepts(methods.get(backprop), 2)
        ):
            return Interface("network", d)
        if update is not None and backprop is None:
            return Interface("step", d)
        if "loss" in methods and not _has_layer_forward(methods):
            return Interface("model", d)
        layer = _layer(d, methods)
        if layer is not None:
            return layer
        return None
    if what == "function":
        call = parameters(d.get("call"))
        if call is None:
            return None
        names = [p.name for p in call if p.positional]
        needed = [p for p in call if p.required]
        if names[:5] != list(GRAD_FUNCTION):
            found = backprop_function.roles(call)
            if found is not None:
                return Interface("network", d, roles=found)
        if len(needed) == 5 or names[:5] == list(GRAD_FUNCTION):
            return Interface("function", d)
        from gradcert.properties.candidates.loss_function import is_loss_function

        if is_loss_function(d):
            return Interface("pair", d, loss=True)
        if len(needed) == 1:
            return Interface("network", d, factory=True)
    return None


PARAMETER_DICTS = ("parameters", "params")


def _is_engine(d, methods):
    """micrograd's Value and its kin: backward() with no forward, and the operators + and *."""
    operators = set(d.get("operators") or ())
    return (
        "backward" in methods
        and {"__add__", "__mul__"} <= operators
        and not any(name in methods for name in FORWARDS[:-1])
        and named(methods, BACKPROPS) is None
    )


def _whole_model_pair(forward, backward):
    """deeplearning.ai's whole network as a pair: L_model_forward(X, parameters) -> (AL, caches) and
    L_model_backward(AL, Y, caches) -> grads, the parameters a dict of W1, b1, ..."""
    takes = [p.name for p in parameters(forward.get("call")) or [] if p.required]
    gives = [p.name for p in parameters(backward.get("call")) or [] if p.required]
    return len(takes) == 2 and takes[1] in PARAMETER_DICTS and len(gives) == 3


def _has_layer_forward(methods):
    return any(name in methods for name in FORWARDS[:-1]) and any(name in methods for name in BACKWARDS)


def _layer(d, methods):
    forward = next((name for name in FORWARDS if name in methods), None)
    backward = next((name for name in BACKWARDS if name in methods), None)
    if backward is None and forward in FORWARDS[:-1] and "backprop" in methods:
        backward = "backprop"  # forward + backprop(dout): a layer, not network.py's backprop(x, y)
    if forward is None or backward is None:
        return None
    takes = _loss_backward(methods.get(forward), methods.get(backward)) or _backward_arguments(
        methods.get(backward), d["name"], backward
    )
    return Interface("layer", d, forward, backward, takes)


def _loss_backward(forward, backward):
    """("x", "t") for a loss whose forward and backward both take labels second, Neural Networks from
    Scratch's forward(y_pred, y_true) and backward(dvalues, y_true): backward is given the loss's
    input (its predictions) and the labels; else None."""
    takes = [p for p in parameters(forward) or [] if p.name != "self" and p.required]
    gives = [p for p in parameters(backward) or [] if p.name != "self" and p.required]
    labelled = len(takes) == 2 and len(gives) == 2
    if labelled and takes[1].name in LOSS_LABELS and gives[1].name in LOSS_LABELS:
        return ("x", "t")
    return None


def _backward_arguments(signature, name, method):
    """What backward is given, in order: dout alone, (x, dout) or (dout, x) for a stateless one, and
    a learning rate when it applies its own step."""
    params = parameters(signature)
    if params is None:
        return ("dout",)
    if params and params[0].name == "self":
        params = params[1:]
    needed = [p for p in params if p.required]
    takes = [_role(p.name) for p in needed]
    if not takes:
        return ("dout",)
    if len(takes) == 1 and takes[0] not in ("dout", "x", "lr"):
        return ("dout",)  # one argument, whatever its name: the upstream gradient
    if takes.count("dout") == 0 and len(takes) == 2 and "x" in takes:
        takes[takes.index(next(t for t in takes if t != "x"))] = "dout"
    unknown = [t for t in takes if t not in ("dout", "x", "lr")]
    if unknown:
        raise TargetError(
            f"{name}.{method}{_shown(signature)}: gradcert cannot tell what to pass as "
            f"{', '.join(unknown)}; it passes the upstream gradient (dout), the layer's input "
            "(x) for a stateless backward, and a learning rate (lr)"
        )
    return tuple(takes)


def _role(name):
    """What a parameter of backward is, from its name: the learning rate, the layer's input, the
    upstream gradient -- or unknown (its own name)."""
    lowered = name.lower()
    if name in LEARNING_RATES or "learning" in lowered or lowered in ("lrate", "step"):
        return "lr"
    if name in INPUT_NAMES:
        return "x"
    if (
        name in UPSTREAM_NAMES
        or "grad" in lowered
        or "delta" in lowered
        or "err" in lowered
        or (lowered.startswith("d") and len(lowered) <= 5)
    ):
        return "dout"
    return name


def _shown(signature):
    params = parameters(signature) or []
    return "(" + ", ".join(p.name for p in params) + ")"


_WHAT = {
    "network": "a network.py-style network",
    "step": "a network or layer that applies its own step",
    "layer": "a layer",
    "pair": "a forward/backward function pair",
    "model": "a model with a loss method",
    "function": "a grad(arch, weights, biases, x, y) function",
    "engine": "an autodiff engine's value class",
    "reference": "the bundled reference",
}

_EXPECTED = (
    "a network class Name(sizes) with backprop(x, y) (network.py), or a one-argument factory of one, or "
    "its backprop as a function of the weights, biases, x and y; "
    "a layer class with forward/backward (or forward_pass/backward_pass, __call__ + backward); "
    "a cs231n pair module:NAME with NAME_forward and NAME_backward; a model with loss(X, y) -> (loss, grads) "
    "and a params dict; a function grad(arch, weights, biases, x, y); or an autodiff engine's value class "
    "(micrograd's Value: backward() and the operators + and *)"
)


def _refusal(d):
    methods = sorted(n for n in (d.get("methods") or {}) if not n.startswith("_") or n == "__call__")
    if d["what"] == "function":
        params = parameters(d.get("call"))
        shown = "(" + ", ".join(p.name for p in params) + ")" if params is not None else "(?)"
        found = f"a function {d['name']}{shown}"
        if params is not None and len([p for p in params if p.required]) == 2:
            found += (
                ": a backward function alone cannot be checked -- gradcert needs its forward "
                "too (name the pair as module:NAME for NAME_forward/NAME_backward)"
            )
    elif d["what"] in ("class", "instance") and d.get("engines"):
        name, module, file = d["engines"][0]
        where = f"{file}:{name}" if file else f"{module}:{name}"
        return (
            f"{d['name']} is built on the autodiff engine {module}.{name}: its gradients are that "
            f"engine's backward(), which gradcert checks on programs of its operations: "
            f"gradcert check {where}"
        )
    elif d["what"] in ("class", "instance"):
        found = f"a {d['what']} {d['name']} with methods {', '.join(methods) or 'none'}"
    else:
        found = f"a {d['what']} {d.get('type')}"
    return f"{found}; gradcert checks {_EXPECTED}"
