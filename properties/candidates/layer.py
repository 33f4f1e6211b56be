"""Layer objects: ``forward``/``backward`` and their variants, parameters found wherever they are kept.

Built with no argument, with the input width (``Layer(D)``) or with the input and output widths
(``Dense(D, M)``), plus ``--init``.  Before the search one probe case finds out what can be found:
the batch layout (rows are tried first, then columns), the parameters (float arrays the layer
holds after construction that forward does not change, and arrays forward creates in a
params-like dict or that get a gradient after backward: lazy initialisation), buffers (arrays
forward changes: running statistics), and each parameter's gradient (``dW`` for ``W``,
``grad_W``, ``W_grad``, ``grads['W']`` for ``params['W']``, ``_dw`` for ``_w``, a ``.grad``
beside a ``.data``, or ``--params W:dW``).  A parameter whose gradient cannot be found is refused
with exit code 2, naming it: never a certificate of dx alone.  A backward that changes the
parameters itself applies its own step: it is judged as (before - after) / lr.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from gradcert.oracles import finite_diff
from gradcert.properties.candidates import signatures
from gradcert.properties.candidates.blackbox import (
    BATCH,
    SAMPLE_STREAM,
    BlackBox,
    ShapeCase,
    _real_output,
    diagonal_of,
    drawn,
    estimate_entries,
    parse_letters,
    precision,
    shape_of,
)
from gradcert.properties.candidates.interface import parameters
from gradcert.properties.candidates.protocol import PlainStep
from gradcert.properties.candidates.remote import TARGET, path_text
from gradcert.properties.candidates.verdicts import CandidateFailure, as_array
from gradcert.properties.compare import unit_roundoff
from gradcert.properties.errors import TargetError, UsageError

STEP_LR = 0.5  # the learning rate gradcert passes to a backward(dout, lr) that applies its own step
PARAM_DICTS = ("params", "parameters", "param", "weights", "_params", "_parameters", "variables")
GRAD_DICTS = (
    "grads",
    "gradients",
    "grad",
    "dparams",
    "_grads",
    "_gradients",
    "param_grads",
    "d_params",
    "grad_params",
)
WIDTH_NAMES = (
    "n",
    "size",
    "dim",
    "d",
    "width",
    "features",
    "num_features",
    "n_in",
    "input_dim",
    "in_features",
    "input_size",
    "fan_in",
    "n_inputs",
    "in_dim",
    "channels",
    "num_channels",
)
OUTPUT_NAMES = (
    "units",
    "n_out",
    "out_features",
    "output_dim",
    "output_size",
    "fan_out",
    "n_units",
    "num_units",
    "hidden_size",
    "n_outputs",
    "out_dim",
    "n_neurons",
)


@dataclass
class Found:
    """What the probe case found out about a layer."""

    layout: str | None  # rows / columns for a 2-D input, None for a declared shape
    letters: tuple  # the input's letters
    constructor: tuple  # letters passed to the constructor, in order
    parameters: list  # paths of the parameters
    gradients: dict  # parameter path -> gradient path (or an index into backward's tuple)
    buffers: list  # paths of arrays forward changes (running statistics)
    steps: bool  # backward changes the parameters: it applies its own step
    dtype: object = np.float64  # the precision of the layer's output


class LayerChecker(BlackBox):
    style = "layer"
    part = "backward"

    def __init__(self, options, name, remote, interface):
        super().__init__(options, name, remote, interface)
        self.forward, self.backward = interface.forward, interface.backward
        self.takes = interface.backward_takes
        # A learning rate passed to backward is gradcert's to choose, as eta is for update_mini_batch;
        # one given to the constructor must be declared (--lr), to read the step.
        self.lr = options.lr if options.lr is not None else (STEP_LR if "lr" in self.takes else None)
        self.instance = interface.description.get("what") == "instance"
        self.output_attr = self.dx_attr = self._found_attr = None  # nnfs: self.output, self.dinputs
        self._training_flag()
        self._callable_with(self.forward, 1, "the layer's input x")
        self.found = self._probe()
        self.letters = self.found.letters + tuple(
            c for c in self.found.constructor if c not in self.found.letters
        )
        if options.lr is not None and not (self.found.steps or "lr" in self.takes):
            raise UsageError(
                f"--lr: {name}.{self.backward} does not change the layer's parameters, so it applies "
                "no step of its own; leave --lr out"
            )
        if self.found.steps or "lr" in self.takes:
            self.style, self.part = "step", "backward (its own step)"
            if self.lr is None:
                changed = ", ".join(path_text(p) for p in self.found.parameters) or "its parameters"
                raise UsageError(
                    f"{name}.{self.backward} changes {changed} itself (it applies its own step): "
                    "declare the learning rate it uses with --lr (and pass it to the constructor "
                    "with --init if it takes one)"
                )
            self.checked("dx", *(f"{path_text(p)} (its step)" for p in self.found.parameters))
        else:
            self.checked(
                "dx", *(f"{self._gradient_name(p)} (of {path_text(p)})" for p in self.found.parameters)
            )

    # -- set-up
    def _training_flag(self):
        """A forward that requires a training flag (nnfs' forward(inputs, training)) is given True."""
        params = parameters((self.interface.description.get("methods") or {}).get(self.forward)) or []
        for p in params[1:]:
            if p.required and p.name in TRAINING_NAMES and p.name not in self.kwargs:
                self.kwargs[p.name] = True
                self.note(f"{self.forward} is called with {p.name}=True (training mode); --kwargs sets it")

    def _constructor_letters(self):
        """What the constructor is given, as letters: (), (D,), (M,), (D, M), or its --init."""
        if self.instance:
            return ()
        params = parameters(self.interface.description.get("call"))
        given = set(self.options.init or {})
        needed = [p for p in (params or []) if p.required and p.name not in given]
        names = [p.name.lower() for p in needed]
        if not needed:
            return ()
        if len(needed) == 1 and _sizelike(names[0]):
            return ("M",) if names[0] in OUTPUT_NAMES else ("D",)
        if len(needed) == 2 and all(_sizelike(n) for n in names):
            return ("D", "M")
        raise TargetError(
            f"{self.name}({', '.join(p.name for p in params)}): gradcert passes a layer's "
            f"input width, or its input and output widths; give {', '.join(p.name for p in needed)} with "
            "--init (JSON), e.g. --init '{" + ", ".join(f'"{p.name}": ...' for p in needed) + "}'"
        )

    def _input_letters(self, layout):
        if self.options.shape:
            return parse_letters(self.options.shape)
        return ("N", "D") if layout == "rows" else ("D", "N")

    def build(self, dims, constructor, letters):
        if self.instance:
            return self.remote.copy(TARGET, what=f"copying {self.name}")
        args = [dims[c] for c in constructor]
        init = {
            k: (dims[v] if isinstance(v, str) and v in dims else v)
            for k, v in (self.options.init or {}).items()
        }
        layer = self.remote.call(
            TARGET, None, args, init, keep="handle", what=f"{self.name}({', '.join(map(str, args))})"
        )
        self._set_up(layer, dims, letters)
        return layer

    def _set_up(self, layer, dims, letters):
        """What a network does to a layer before its first forward, where the layer asks for it
        (ML-From-Scratch's): ``set_input_shape(shape)`` with the input's shape but the batch, and
        ``initialize(optimizer)`` with gradcert's plain SGD step (``protocol.PlainStep``), whose
        learning rate then reads the step backward takes."""
        methods = self.interface.description.get("methods") or {}
        if len(_required(methods.get("set_input_shape"))) == 1 and letters and letters[0] == "N":
            shape = tuple(int(c) if c.isdigit() else dims[c] for c in letters[1:])
            self.remote.call(layer, "set_input_shape", [shape], what=f"{self.name}.set_input_shape({shape})")
        needed = _required(methods.get("initialize"))
        if len(needed) == 1 and "optim" in needed[0].lower():
            self.lr = self.options.lr if self.options.lr is not None else STEP_LR
            self.remote.call(
                layer, "initialize", [PlainStep(self.lr)], what=f"{self.name}.initialize(optimizer)"
            )
            self.note(
                f"{self.name}.initialize is given a plain SGD step (w - {self.lr:g} grad) as its optimizer"
            )

    def call_forward(self, layer, x):
        what = f"{self.name}.{self.forward}"
        out = self.remote.call(layer, self.forward, [x], self.kwargs, what=what, fresh=True, mutable=True)
        if out is None:  # nnfs' convention: forward stores self.output and returns nothing
            out = self._stored(layer, OUTPUT_ATTRS, None, f"{what} returned None and holds no self.output")
            self.output_attr = self.output_attr or self._found_attr
        return _real_output(out, what)

    def _stored(self, layer, names, shape, missing):
        """The first float array among attributes ``names`` (of ``shape``, if given) the layer holds."""
        held = self.remote.snapshot(layer, what=f"reading {self.name}'s arrays")
        for name in names:
            value = held.get((("a", name),))
            if value is not None and (shape is None or value.shape == shape):
                self._found_attr = name
                return value
        raise CandidateFailure("invalid output", missing)

    def _dx_names(self):
        params = parameters((self.interface.description.get("methods") or {}).get(self.forward)) or []
        first = params[0].name if params else "inputs"
        return (f"d{first}", f"d_{first}", f"grad_{first}", f"{first}_grad") + DX_ATTRS

    def _backward_args(self, x, dout):
        return [{"dout": dout, "x": x, "lr": self.lr}[t] for t in self.takes]

    def call_backward(self, layer, x, dout):
        what = f"{self.name}.{self.backward}"
        result = self.remote.call(layer, self.backward, self._backward_args(x, dout), what=what, mutable=True)
        extras = []
        if isinstance(result, (tuple, list)) and result and not isinstance(result[0], (float, int)):
            result, extras = result[0], list(result[1:])
        if result is None:  # nnfs' convention: backward stores self.dinputs and returns nothing
            names = (self.dx_attr,) if self.dx_attr else self._dx_names()
            result = self._stored(
                layer,
                names,
                np.shape(x),
                f"{what} returned None and holds no self.dinputs (or dx, grad_input) of the input's shape",
            )
            self.dx_attr = self._found_attr
        dx = as_array(result, f"{what} (dx)")
        if dx.shape != np.shape(x):
            hint = " (transposed?)" if dx.shape == np.shape(x)[::-1] else ""
            raise CandidateFailure(
                "invalid output",
                f"{what} returned shape {dx.shape}; expected {np.shape(x)}, "
                f"the shape of the layer's input{hint}",
            )
        return dx, extras

    def _probe(self):
        """One probe case (N one more than the widths, so rows and columns cannot be confused)."""
        constructor = self._constructor_letters()
        dims = {"N": 4, "D": 3, "M": 2}
        layouts = [self.options.layout] if self.options.layout else ["rows", "columns"]
        if self.options.shape:
            layouts = [None]
            for letter in parse_letters(self.options.shape):
                if not letter.isdigit():
                    dims.setdefault(letter, (self.options.dims or {}).get(letter, 2 if letter != "N" else 3))
        dims.update(self.options.dims or {})
        first_error = None
        for layout in layouts:
            letters = self._input_letters(layout)
            case = ShapeCase(dims, 1)
            x = drawn(case, shape_of(letters, dims), 0, zeros=False)
            layer = self.build(dims, constructor, letters)
            before = self.remote.snapshot(layer, what=f"reading {self.name}'s arrays")
            try:
                out = self.call_forward(layer, x)
            except CandidateFailure as failure:
                first_error = first_error or failure
                continue
            if layout is not None and len(layouts) > 1:
                self.note(
                    f"batches as {layout} ({'N, D' if layout == 'rows' else 'D, N'}), inferred: the layer "
                    f"accepted them{'' if layout == 'rows' else ' and refused rows'}; --layout fixes it"
                )
            return self._discover(layer, x, out, before, layout, letters, constructor, case)
        raise first_error

    def _discover(self, layer, x, out, before, layout, letters, constructor, case):
        after = self.remote.snapshot(layer, what=f"reading {self.name}'s arrays after {self.forward}")
        dout = drawn(case, out.shape, 1, zeros=False)
        buffers = [p for p in before if p in after and not np.array_equal(before[p], after[p])]
        stable = [p for p in before if p in after and np.array_equal(before[p], after[p])]
        created = [p for p in after if p not in before and not _is_cache(after[p], x, out)]
        dx, extras = self.call_backward(layer, x, dout)
        later = self.remote.snapshot(layer, what=f"reading {self.name}'s arrays after {self.backward}")
        if self.options.params:
            params, gradients = self._explicit(self.options.params, after, later)
            return Found(layout, letters, constructor, params, gradients, buffers, False, out.dtype)
        partners = {path: _partner(path, later, before) for path in stable + created}
        taken = {partner for partner in partners.values() if partner is not None}
        params, gradients = [], {}
        for path, partner in partners.items():
            if path in taken or path[0][1] in GRAD_DICTS:
                continue  # a gradient array itself (dW allocated by the constructor)
            # Without a gradient, an array is a parameter when the constructor made it and forward
            # left it alone (unless its name says buffer), or when forward made it in a params dict
            # (lazy initialisation); anything else forward made is a cache of its own.
            required = (path in stable and not _BUFFER.search(path_text(path).lower())) or (
                path in created and path[0][1] in PARAM_DICTS
            )
            if partner is None and not required:
                continue
            params.append(path)
            if partner is not None:
                gradients[path] = partner
        # gradients returned by backward beside dx, matched to the parameters by shape, in order
        unmatched = [p for p in params if p not in gradients]
        for index, extra in enumerate(extras):
            for path in unmatched:
                if after[path].shape == np.shape(extra):
                    gradients[path] = index
                    unmatched.remove(path)
                    break
        if any(p in later and not np.array_equal(after[p], later[p]) for p in params):
            return Found(layout, letters, constructor, params, {}, buffers, True, out.dtype)
        missing = [p for p in params if p not in gradients]
        # A gradients dict that holds some parameters' gradients and not another's: that one was
        # not computed -- a bug to judge (its gradient taken as 0), not an interface to refuse.
        containers = {g[0] for g in gradients.values() if isinstance(g, tuple) and g[0][1] in GRAD_DICTS}
        for path in list(missing):
            if containers and path[0][1] in PARAM_DICTS and len(path) == 2:
                gradients[path] = ("absent", (next(iter(containers)), path[1]))
                missing.remove(path)
        if missing:
            names = ", ".join(path_text(p) for p in missing)
            raise TargetError(
                f"{self.name} holds float parameters ({names}) whose gradients gradcert cannot find "
                f"after {self.backward} (it looks for d<name>, grad_<name>, <name>_grad, grads[...] "
                f"beside params[...], .grad beside .data); name them with --params "
                f"{','.join(path_text(p) + ':d' + path_text(p) for p in missing)}"
            )
        if buffers:
            self.note(
                f"not parameters (changed by {self.forward}): {', '.join(path_text(p) for p in buffers)}"
            )
        return Found(layout, letters, constructor, params, gradients, buffers, False, out.dtype)

    def _explicit(self, mapping, after, later):
        params, gradients = [], {}
        for name, grad in mapping:
            path = _find_path(name, after)
            partner = _find_path(grad, later)
            if path is None:
                raise UsageError(
                    f"--params {name}:{grad}: {self.name} holds no float array {name!r} after "
                    f"{self.forward} (it holds {', '.join(path_text(p) for p in after) or 'none'})"
                )
            if partner is None:
                raise UsageError(
                    f"--params {name}:{grad}: {self.name} holds no float array {grad!r} after {self.backward}"
                )
            params.append(path)
            gradients[path] = partner
        return params, gradients

    # -- cases
    def strategy(self):
        return self.letter_strategy(self.letters, len(self.found.letters))

    def check(self, case):
        layer = self.build(case.dims, self.found.constructor, self.found.letters)
        x_dtype = precision(self.found.dtype)
        x = drawn(case, shape_of(self.found.letters, case.dims), 0, dtype=x_dtype)
        out = self.call_forward(layer, x)
        dout = drawn(case, out.shape, 1, zeros=False)
        outputs = self._outputs(layer, x)
        sample = case.rng(SAMPLE_STREAM)
        fd_x = estimate_entries("vjp", outputs(("arg", 0)), x, dout, dtype=precision(out.dtype), rng=sample)
        holds = self.remote.snapshot(layer, what=f"reading {self.name}'s parameters")
        for path in self.found.parameters:
            if path not in holds:
                raise CandidateFailure(
                    "invalid output", f"{self.name} no longer holds {path_text(path)} after {self.forward}"
                )
        fd = {
            path: estimate_entries(
                "vjp",
                outputs(("param", path)),
                holds[path],
                dout,
                dtype=precision(out.dtype, holds[path].dtype),
                rng=sample,
            )
            for path in self.found.parameters
        }
        if self.found.steps or "lr" in self.takes:
            return self._check_step(case, layer, x, dout, fd_x, fd, holds)
        self.call_forward(layer, x)  # the cache as forward leaves it at x, after the probes
        dx, extras = self.call_backward(layer, x, dout)
        later = self.remote.snapshot(layer, what=f"reading {self.name}'s gradients")
        grads = {
            path: _gradient(self.found.gradients[path], later, extras, self.name, holds[path].shape)
            for path in self.found.parameters
        }
        self.call_forward(layer, x)
        dx_again, _ = self.call_backward(layer, x, dout)
        roundoff = unit_roundoff(np.result_type(dx, *grads.values()))
        self.repeat_agrees([dx], [dx_again], f"{self.name}.{self.backward}", roundoff)
        tensors = [self.judge("dx", dx, fd_x, roundoff)]
        names = {}
        for path in self.found.parameters:
            name = self._gradient_name(path)
            names[name] = path
            grad = grads[path]
            if grad.shape != holds[path].shape:
                raise CandidateFailure(
                    "invalid output",
                    f"{self.name}: the gradient of {path_text(path)} has shape "
                    f"{grad.shape}; expected {holds[path].shape}",
                )
            tensors.append(self.judge(name, grad, fd[path], roundoff))

        def diagnose(name):
            if name != "dx":
                estimate = fd[names[name]]
                return signatures.diagnose(
                    name, grads[names[name]], estimate.value, batch=case.m, kink=estimate.kink
                )
            found = signatures.diagnose(
                "dx",
                dx,
                fd_x.value,
                dout=dout,
                x=x,
                diagonal=diagonal_of(fd_x),
                batch=case.m,
                batch_axis=self._batch_axis(),
                kink=fd_x.kink,
            )
            if found.signature is None and fd_x.diagonal is not None and out.shape == x.shape:
                # sigma' taken at the output: the elementwise derivative evaluated at a instead of z
                at_output = diagonal_of(finite_diff.vjp(outputs(("arg", 0)), out, dout))
                if at_output is not None and signatures.close(dx, dout * at_output):
                    return signatures.Diagnosis("dx", "sigma_prime_at_a")
            return found

        result = self.verdict(case, tensors, (dx, grads), dx.dtype, diagnose)
        self.remote.release(layer)
        return result

    def _gradient_name(self, path):
        where = self.found.gradients.get(path)
        if isinstance(where, tuple) and where and where[0] == "absent":
            return f"{path_text(where[1])} (absent)"
        return path_text(where) if isinstance(where, tuple) else f"d{path_text(path)}"

    def _check_step(self, case, layer, x, dout, fd_x, fd, holds):
        lr = self.lr
        self.call_forward(layer, x)
        dx, _ = self.call_backward(layer, x, dout)
        after = self.remote.snapshot(layer, what=f"reading {self.name}'s parameters after its step")
        roundoff = unit_roundoff(dx.dtype)
        tensors = [self.judge("dx", dx, fd_x, roundoff)]
        for path in self.found.parameters:
            before, now = np.asarray(holds[path], float), np.asarray(after[path], float)
            implied = (before - now) / lr
            # w - lr g and the subtraction back: u (|w| + |w'|) per entry, divided by lr
            extra = unit_roundoff(after[path].dtype) * (np.abs(before) + np.abs(now)) / lr
            tensors.append(
                self.judge(
                    f"d{path_text(path)} (from its step)",
                    implied,
                    fd[path],
                    unit_roundoff(after[path].dtype),
                    extra=extra,
                )
            )
        return self.verdict(
            case,
            tensors,
            (dx, {}),
            dx.dtype,
            lambda name: signatures.diagnose(name, *self._step_tensor(tensors, name), batch=case.m),
        )

    def _step_tensor(self, tensors, name):
        t = next(t for t in tensors if t.name == name)
        return t.candidate_value, t.oracle_value

    def _part(self, tensor):
        if self.style == "step":
            return "step" if "(from its step)" in tensor else "backward"
        return self.part

    def _batch_axis(self):
        letters = self.found.letters
        return letters.index(BATCH) if BATCH in letters else 0

    def _outputs(self, layer, x):
        select = None if self.output_attr is None else ("attr", self.output_attr)

        def for_vary(vary):
            def outputs(points):
                values = self.remote.outputs(
                    layer,
                    self.forward,
                    [x],
                    self.kwargs,
                    vary,
                    points,
                    select=select,
                    what=f"{self.name}.{self.forward} (finite differences)",
                )
                return np.stack([_real_output(v, f"{self.name}.{self.forward}") for v in values])

            return outputs

        return for_vary


def _required(signature):
    """The names of a method's required positional parameters ([] when it has none or is absent)."""
    return [p.name for p in parameters(signature) or [] if p.required]


def _sizelike(name):
    """Whether a constructor argument's name says it is a size (what gradcert can pass)."""
    return (
        name in WIDTH_NAMES
        or name in OUTPUT_NAMES
        or any(
            part in name
            for part in (
                "size",
                "dim",
                "feature",
                "unit",
                "neuron",
                "width",
                "input",
                "output",
                "channel",
                "n_",
                "num_",
                "fan",
            )
        )
    )


def _is_cache(value, x, out):
    """An array forward stored that is its input or output (or their transpose): a cache, not a parameter."""
    for other in (x, out):
        for candidate in (other, np.transpose(other)):
            if value.shape == candidate.shape and np.array_equal(value, candidate):
                return True
    return False


OUTPUT_ATTRS = ("output", "out", "outputs", "y", "Y", "a", "A", "activation", "activations")  # forward's
DX_ATTRS = (
    "dinputs",
    "d_inputs",
    "dinput",
    "dx",
    "dX",
    "d_x",
    "grad_input",
    "grad_inputs",
    "input_grad",
    "dA_prev",
    "dA",
    "delta",
)  # where a backward that returns nothing keeps dx
TRAINING_NAMES = ("training", "train", "is_training", "train_mode", "train_flg")

# Names of arrays that are state, not parameters: running statistics, caches, masks, constants.
_BUFFER = re.compile(r"running|moving|cache|mask|mean|var|std|eps|momentum|buffer|stat")


def _partner(path, later, before):
    """The path of a parameter's gradient among the arrays backward leaves: d<name> and the rest."""
    shape = later.get(path, before.get(path)).shape if (path in later or path in before) else None
    *head, (step, key) = path
    names = []
    if step == "a":
        bare = key.lstrip("_")
        prefix = key[: len(key) - len(bare)]
        names = [
            f"{prefix}d{bare}",
            f"{prefix}d_{bare}",
            f"{prefix}grad_{bare}",
            f"{prefix}grad{bare}",
            f"{prefix}{bare}_grad",
            f"{prefix}{bare}grad",
            f"{prefix}g{bare}",
            f"{prefix}delta_{bare}",
            f"{prefix}d{bare.lower()}",
            f"{prefix}grad_{bare.lower()}",
            f"{prefix}d{bare.upper()}",
        ]
        options = [tuple(head) + (("a", n),) for n in names]
        if key == "data":  # an autodiff-style parameter: its .grad beside its .data
            options.insert(0, tuple(head) + (("a", "grad"),))
    else:
        options = []
        if head and head[0][0] == "a" and len(head) == 1:
            for grads in GRAD_DICTS:  # grads['W'], grads['dW'], grads['grad_W'] beside params['W']
                options += [
                    (("a", grads), (step, key)),
                    (("a", grads), (step, f"d{key}")),
                    (("a", grads), (step, f"grad_{key}")),
                ]
            options.append(tuple(head) + ((step, f"d{key}"),))  # params['W'] with params['dW']
    for option in options:
        if option in later and option != path and (shape is None or later[option].shape == shape):
            return option
    return None


def _find_path(name, arrays):
    for path in arrays:
        text = path_text(path)
        if name in (text, text.replace("['", ".").replace("']", ""), str(path[-1][1])):
            return path
    return None


def _gradient(where, later, extras, name, shape=None):
    if isinstance(where, tuple) and where and where[0] == "absent":
        return np.zeros(shape)  # never computed: judged as a gradient of zero
    if isinstance(where, int):
        return as_array(extras[where], f"{name}: gradient {where + 1} returned by backward")
    if where not in later:
        raise CandidateFailure("invalid output", f"{name} holds no {path_text(where)} after backward")
    return as_array(later[where], f"{name}.{path_text(where)}")
