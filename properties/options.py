"""The options of a check: one object, built and validated in one place.

``gradcert.check(target, **options)``, ``gradcert check TARGET --flags``, the pytest plugin
(``--gradcert-*`` flags and ``gradcert_*`` ini keys) and ``gradcert selftest`` all build an
``Options`` here and hand it to the same runner.  ``SPECS`` is the table they share: each option's
name, flag, parser (from the text of a flag or an ini line) and the interface styles it means
something for.  An option given for a style it does not apply to is refused (``applicable``),
never silently ignored.  ``to_argv`` writes options back as flags, which is how a report's
``reproduce:`` command is built.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gradcert.properties.errors import UsageError

STYLES = ("reference", "network", "layer", "pair", "model", "step", "function", "engine")
NETWORKS = ("reference", "network", "function", "step")  # styles whose architecture gradcert draws
BLACK_BOXES = ("layer", "pair", "model")  # judged by differences of their own forward or loss
MODES = ("auto", "exhaustive", "directional")
LAYOUTS = ("rows", "columns")
MAX_TIMEOUT = 24 * 3600.0


def _names(text, what):
    if isinstance(text, str):
        names = tuple(n.strip() for n in text.split(",") if n.strip())
    elif isinstance(text, Sequence):
        names = tuple(str(n).strip() for n in text)
    else:
        raise UsageError(f"{what}: give names separated by commas, not {text!r}")
    if not names:
        raise UsageError(f"{what}: give at least one name")
    return names


def _choice(allowed, noun):
    def parse(value, what):
        names = _names(value, what)
        for name in names:
            if name not in allowed:
                raise UsageError(f"{what}: unknown {noun} {name!r}; choose from {', '.join(allowed)}")
        return names

    return parse


def _costs(value, what):
    from gradcert.reference.architecture import COSTS

    return _choice(COSTS, "cost")(value, what)


def _activations(value, what):
    from gradcert.reference.architecture import ACTIVATIONS

    return _choice(ACTIVATIONS, "activation")(value, what)


def _int(value, what, minimum):
    if isinstance(value, bool):
        raise UsageError(f"{what}: {value!r} is not a whole number")
    try:
        number = int(value) if not isinstance(value, float) or value.is_integer() else None
    except (TypeError, ValueError):
        number = None
    if number is None:
        raise UsageError(f"{what}: {value!r} is not a whole number")
    if number < minimum:
        adjective = "positive" if minimum == 1 else f"at least {minimum}"
        raise UsageError(
            f"{what}: {value!r} is not a {adjective} whole number"
            if minimum == 1
            else f"{what}: {value!r} must be {adjective}"
        )
    return number


def _positive_int(value, what):
    return _int(value, what, 1)


def _natural(value, what):
    return _int(value, what, 0)


def _sizes(value, what):
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",") if p.strip()]
    elif isinstance(value, Sequence):
        parts = list(value)
    else:
        parts = None
    try:
        sizes = tuple(int(p) for p in parts) if parts else None
    except (TypeError, ValueError):
        sizes = None
    if not sizes:
        raise UsageError(f"{what}: {value!r}: give whole numbers separated by commas, e.g. 784,30,10")
    if min(sizes) < 1:
        raise UsageError(f"{what}: {value!r}: every size must be at least 1")
    if len(sizes) < 2:
        raise UsageError(f"{what}: give the input layer and at least one more, e.g. 784,30,10")
    return sizes


def _number(value, what, *, positive=False):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{what}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise UsageError(f"{what}: {value!r} is not a finite number")
    if positive and not number > 0:
        raise UsageError(f"{what}: {value!r} must be greater than 0")
    if not positive and number < 0:
        raise UsageError(f"{what}: {value!r} must be at least 0")
    return number


def _l2(value, what):
    return _number(value, what)


def _lr(value, what):
    return _number(value, what, positive=True)


def _timeout(value, what):
    seconds = _number(value, what, positive=True)
    if seconds > MAX_TIMEOUT:
        raise UsageError(f"{what}: {value!r} seconds is more than a day; give a finite deadline")
    return seconds


def _batch_norm(value, what):
    """True (draw it), or one flag per weight layer."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("draw", "true", "yes"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "no", "none"):
        return False
    flags = value.split(",") if isinstance(value, str) else value
    try:
        parsed = tuple(
            {"0": False, "1": True, "false": False, "true": True}[str(f).strip().lower()] for f in flags
        )
    except (KeyError, TypeError, AttributeError):
        raise UsageError(
            f"{what}: {value!r}: give one 0 or 1 per weight layer, e.g. 1,0 (or no value, to draw it)"
        ) from None
    if not parsed:
        raise UsageError(f"{what}: give one 0 or 1 per weight layer")
    return parsed


def _json_object(value, what):
    if isinstance(value, Mapping):
        obj = dict(value)
    else:
        try:
            obj = json.loads(value)
        except (TypeError, ValueError) as error:
            raise UsageError(
                f"{what}: {value!r} is not a JSON object ({error}); e.g. '{{\"stride\": 1}}'"
            ) from None
    if not isinstance(obj, dict) or not all(isinstance(k, str) for k in obj):
        raise UsageError(f"{what}: give a JSON object with string keys, e.g. '{{\"n_in\": 4}}'")
    try:
        json.dumps(obj, allow_nan=False)
    except (TypeError, ValueError):
        raise UsageError(
            f"{what}: the values must be plain JSON (numbers, strings, lists, objects)"
        ) from None
    return obj


_MULTIPLE = re.compile(r"^\d+[A-Za-z_]\w*$")  # 4H: a whole multiple of a drawn size


def _letters(text, what):
    """'N,C,H,W' -> ('N', 'C', 'H', 'W'); letters stand for drawn sizes (a number fixes one)."""
    if not isinstance(text, str):
        text = ",".join(map(str, text))
    parts = tuple(p.strip() for p in text.split(",") if p.strip())
    if not parts or not all(p.isidentifier() or p.isdigit() or _MULTIPLE.match(p) for p in parts):
        raise UsageError(
            f"{what}: {text!r}: give sizes as letters or numbers separated by commas, e.g. N,C,H,W or N,3,8,8"
        )
    return parts


def _shape(value, what):
    return ",".join(_letters(value, what))


INTEGERS = ":int<"  # x=N,T:int<V: an input of integers from 0 to V - 1 (indices into a V-row table)


def _input_shape(shape, what):
    """'N,T:int<V' -> 'N,T:int<V', 'N, D' -> 'N,D': an input's letters, and for an input of
    integers (indices, labels) the letter or number its entries stay below."""
    letters, integers, bound = str(shape).partition(INTEGERS)
    if not integers and ":" not in str(shape):
        return ",".join(_letters(shape, what))
    bound = bound.strip()
    if not integers or not (bound.isidentifier() or (bound.isdigit() and int(bound) > 0)):
        raise UsageError(
            f"{what}: {shape!r}: write an input of integers as LETTERS:int<BOUND, its entries drawn "
            'from 0 to BOUND - 1, BOUND a letter or a number, e.g. "x=N,T:int<V W=V,D"'
        )
    return f"{','.join(_letters(letters, what))}{INTEGERS}{bound}"


def _inputs(value, what):
    """'x=N,D w=D,M b=M' (or a mapping of names to shapes) -> the same, normalised: 'x=N,D w=D,M b=M';
    an input of integers keeps its bound, 'x=N,T:int<V'."""
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, str):
        items = []
        for word in value.split():
            name, sep, shape = word.partition("=")
            if not sep or not name.isidentifier():
                raise UsageError(
                    f'{what}: {word!r}: write each input as name=LETTERS, e.g. "x=N,D w=D,M b=M"'
                )
            items.append((name, shape))
    else:
        raise UsageError(f'{what}: give a string such as "x=N,D w=D,M b=M"')
    if not items:
        raise UsageError(f'{what}: declare at least one input, e.g. "x=N,D"')
    return " ".join(f"{name}={_input_shape(shape, what)}" for name, shape in items)


def _dims(value, what):
    """'N=2,D=3' -> {'N': 2, 'D': 3}: letters of --shape/--inputs fixed to sizes."""
    if isinstance(value, Mapping):
        items = list(value.items())
    else:
        items = []
        for word in str(value).replace(" ", ",").split(","):
            if not word:
                continue
            letter, sep, size = word.partition("=")
            if not sep:
                raise UsageError(f"{what}: {word!r}: write letter=size, e.g. N=2,D=3")
            items.append((letter, size))
    dims = {}
    for letter, size in items:
        if not str(letter).isidentifier():
            raise UsageError(f"{what}: {letter!r} is not a letter name")
        dims[str(letter)] = _positive_int(size, f"{what} {letter}")
    return dims


def _params(value, what):
    """'W:dW,b:db' -> (('W', 'dW'), ('b', 'db'))."""
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, (list, tuple)) and all(
        isinstance(v, (list, tuple)) and len(v) == 2 for v in value
    ):
        pairs = [tuple(v) for v in value]
    else:
        pairs = []
        for word in str(value).split(","):
            word = word.strip()
            if not word:
                continue
            name, sep, grad = word.partition(":")
            if not sep or not name or not grad:
                raise UsageError(f"{what}: {word!r}: write parameter:gradient, e.g. W:dW,b:db")
            pairs.append((name.strip(), grad.strip()))
    if not pairs:
        raise UsageError(f"{what}: give at least one parameter:gradient pair, e.g. W:dW")
    return tuple((str(a), str(b)) for a, b in pairs)


def _mode(value, what):
    if value not in MODES:
        raise UsageError(f"{what}: {value!r}: choose from {', '.join(MODES)}")
    return value


def _layout(value, what):
    if value not in LAYOUTS:
        raise UsageError(f"{what}: {value!r}: choose rows (examples as rows, (N, D)) or columns ((D, N))")
    return value


def _style(value, what):
    if value not in STYLES[1:]:
        raise UsageError(f"{what}: {value!r}: choose from {', '.join(STYLES[1:])}")
    return value


def _oracles(value, what):
    from gradcert import oracles

    names = _choice(oracles.NAMES, "oracle")(value, what)
    for name in names:
        if not oracles.load(name).available():
            raise UsageError(
                f"{what}: {name} is not installed here; pip install 'gradcert[{name}]' or leave it out"
            )
    return names


@dataclass(frozen=True)
class Spec:
    """One option: its name, flag, metavar, parser, the styles it applies to, and its help."""

    name: str
    parse: object
    styles: tuple
    help: str
    metavar: str | None = None
    flag_value: object = None  # a flag that takes no value stores this (``--exhaustive``)

    @property
    def flag(self):
        return "--" + self.name.replace("_", "-")


ALL = STYLES
ALL_BUT_ENGINE = tuple(s for s in STYLES if s != "engine")  # an engine's cases are programs, not batches
SPECS = (
    Spec(
        "cost",
        _costs,
        NETWORKS,
        "the cost the target implements: quadratic, cross-entropy, log-likelihood "
        "(a network: one, default quadratic; a function: comma-separated, default all)",
        "COST",
    ),
    Spec(
        "activation",
        _activations,
        NETWORKS,
        "the activation of every layer (a network: default sigmoid); "
        "comma-separated for a function, or one per layer with --sizes",
        "NAME",
    ),
    Spec("hidden_activation", _activations, NETWORKS, "the hidden layers' activation(s) of a family", "NAME"),
    Spec("output_activation", _activations, NETWORKS, "the output layer's activation(s) of a family", "NAME"),
    Spec("depth", _positive_int, NETWORKS, "the number of weight layers (widths still drawn)", "L"),
    Spec("sizes", _sizes, NETWORKS, "fix the architecture, e.g. 784,30,10", "N,N,..."),
    Spec(
        "l2",
        _l2,
        ("reference", "function"),
        "the L2 coefficient the target implements (a grad function "
        "or the bundled reference; network2's decay is checked through update_mini_batch)",
        "LAMBDA",
    ),
    Spec(
        "batch_norm",
        _batch_norm,
        ("reference", "function"),
        "the target normalises over the batch: draw it, or fix it per layer, e.g. 1,0",
        "FLAGS",
    ),
    Spec(
        "layout",
        _layout,
        ("layer", "step", "network"),
        "a layer's batches: rows (N, D) or columns (D, N); a network's examples: rows (1, n) or "
        "columns (n, 1) (default: inferred)",
        "rows|columns",
    ),
    Spec(
        "shape",
        _shape,
        ("layer", "model", "step"),
        "a layer's (or a model's X's) input shape as letters (drawn) or numbers, e.g. N,C,H,W",
        "DIMS",
    ),
    Spec(
        "inputs",
        _inputs,
        ("pair", "model"),
        'the inputs of a function pair (or a model\'s X), each as name=LETTERS, e.g. "x=N,D w=D,M b=M" '
        '(a whole multiple of a size as 4H, an LSTM\'s Wx=D,4H); a pair\'s input of integers (indices) as '
        'LETTERS:int<BOUND, e.g. "x=N,T:int<V W=V,D"',
        "SPEC",
    ),
    Spec(
        "dims",
        _dims,
        BLACK_BOXES + ("step", "engine"),
        "fix letters of --shape/--inputs, e.g. N=2,D=3 (an engine's programs: leaves=2,steps=3)",
        "L=N,...",
    ),
    Spec(
        "init",
        _json_object,
        ("network", "layer", "model", "step"),
        'keyword arguments of the target\'s constructor, as JSON, e.g. \'{"n_in": 4, "n_out": 3}\'',
        "JSON",
    ),
    Spec(
        "kwargs",
        _json_object,
        BLACK_BOXES + ("step",),
        "keyword arguments of every forward or loss call, "
        'as JSON, e.g. \'{"conv_param": {"stride": 1, "pad": 1}}\'',
        "JSON",
    ),
    Spec(
        "params",
        _params,
        ("layer", "step"),
        "where a layer's parameters and their gradients are, when gradcert cannot find them: W:dW,b:db "
        "(or gamma:0,beta:1, entries of the tuple backward returns, counted from 0)",
        "P:G,...",
    ),
    Spec(
        "lr", _lr, ("step", "layer"), "the learning rate of a target that applies its gradient itself", "ETA"
    ),
    Spec("style", _style, ALL, "force the interface style instead of detecting it", "STYLE"),
    Spec("batch", _positive_int, ALL_BUT_ENGINE, "the largest batch drawn (default 4)", "M"),
    Spec("examples", _positive_int, ALL, "the number of drawn cases (default 100)", "N"),
    Spec("seed", _natural, ALL, "the seed of the drawn cases (default 0)", "S"),
    Spec(
        "case_seed",
        _natural,
        ALL,
        "check the one case built from this seed (with --sizes or --dims and "
        "--batch): how a report's reproduce command pins its case",
        "S",
    ),
    Spec(
        "oracles",
        _oracles,
        ALL,
        "comma-separated among torch, jax, finite-diff, complex-step (default: those installed that apply)",
        "NAMES",
    ),
    Spec(
        "mode",
        _mode,
        NETWORKS + BLACK_BOXES,
        "auto, exhaustive (every entry by finite differences) or "
        "directional (projections, the default above 100,000 parameters)",
        "MODE",
    ),
    Spec(
        "timeout",
        _timeout,
        ALL,
        "seconds each call into the target may take before it is judged hung (default 10)",
        "SECONDS",
    ),
)
BY_NAME = {spec.name: spec for spec in SPECS}
DEFAULTS = {"batch": 4, "examples": 100, "seed": 0, "mode": "auto", "timeout": 10.0}


@dataclass(frozen=True)
class Options:
    """Everything a check needs to know; every field validated by ``build``."""

    cost: tuple | None = None
    activation: tuple | None = None
    hidden_activation: tuple | None = None
    output_activation: tuple | None = None
    depth: int | None = None
    sizes: tuple | None = None
    l2: float | None = None
    batch_norm: object = None  # None, True (draw), False, or one flag per layer
    layout: str | None = None
    shape: str | None = None
    inputs: str | None = None
    dims: dict | None = None
    init: dict | None = None
    kwargs: dict | None = None
    params: tuple | None = None
    lr: float | None = None
    style: str | None = None
    batch: int = 4
    examples: int = 100
    seed: int = 0
    case_seed: int | None = None
    oracles: tuple | None = None
    mode: str = "auto"
    timeout: float = 10.0

    @classmethod
    def build(cls, **given) -> Options:
        """Options from keyword arguments (Python values, or the text of flags); a UsageError names
        the first one that cannot work."""
        unknown = sorted(set(given) - set(BY_NAME))
        if unknown:
            raise UsageError(f"unknown option {unknown[0]!r}; the options are {', '.join(BY_NAME)}")
        values = {}
        for name, value in given.items():
            if value is None:
                continue
            values[name] = BY_NAME[name].parse(value, BY_NAME[name].flag)
        options = cls(**values)
        options._check_together()
        return options

    def _check_together(self):
        if self.sizes is not None:
            if self.depth is not None and self.depth != len(self.sizes) - 1:
                raise UsageError(
                    f"--depth {self.depth} contradicts --sizes {_csv(self.sizes)} "
                    f"({len(self.sizes) - 1} weight layers): give one of them"
                )
            for name in ("activation", "hidden_activation", "output_activation"):
                value = getattr(self, name)
                layers = len(self.sizes) - 1
                if name == "activation" and value is not None and len(value) not in (1, layers):
                    raise UsageError(
                        f"--activation: with --sizes, give one name, or one per weight layer ({layers})"
                    )
            if isinstance(self.batch_norm, tuple) and len(self.batch_norm) != len(self.sizes) - 1:
                raise UsageError(
                    f"--batch-norm: {len(self.batch_norm)} flags for "
                    f"{len(self.sizes) - 1} weight layers: give one per layer"
                )
        if isinstance(self.batch_norm, tuple) and self.sizes is None:
            raise UsageError(
                "--batch-norm with one flag per layer needs --sizes (or give it no value, to draw it)"
            )
        if (
            self.case_seed is not None
            and self.sizes is None
            and self.dims is None
            and self.inputs is None
            and self.shape is None
        ):
            raise UsageError("--case-seed pins one case: give --sizes (or --dims for a layer) with it")
        if self.activation is not None and (self.hidden_activation or self.output_activation):
            raise UsageError(
                "--activation names every layer's activation: give it, or "
                "--hidden-activation/--output-activation, not both"
            )
        if self.cost is not None and len(self.cost) > 1 and self.case_seed is not None:
            raise UsageError("--case-seed pins one case: give one --cost with it")

    def given(self) -> dict:
        """The options that differ from their defaults, by name."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) != DEFAULTS.get(f.name)
        }

    def applicable(self, style):
        """Refuse any option that means nothing for ``style`` (no flag is silently ignored)."""
        for name in self.given():
            spec = BY_NAME[name]
            if style not in spec.styles:
                raise UsageError(
                    f"{spec.flag} does not apply to {_STYLE_NAMES[style]}: {_advice(name, style)}"
                )
        if style != "pair" and self.inputs and INTEGERS in self.inputs:
            raise UsageError(
                f"--inputs: an input of integers (LETTERS{INTEGERS}BOUND) is a function pair's; "
                f"{_STYLE_NAMES[style]} gets its labels drawn: declare its X's letters alone"
            )
        if style in BLACK_BOXES and self.oracles and set(self.oracles) != {"finite-diff"}:
            raise UsageError(
                f"--oracles: {_STYLE_NAMES[style]} is judged by differences of its own "
                f"{'loss' if style == 'model' else 'forward'}; only finite-diff applies"
            )
        if style == "engine" and self.oracles and set(self.oracles) != {"complex-step"}:
            raise UsageError(
                "--oracles: an autodiff engine is judged by the complex step of the drawn program; "
                "only complex-step applies"
            )
        if style in BLACK_BOXES and self.mode == "directional":
            raise UsageError(
                f"--directional does not apply to {_STYLE_NAMES[style]}: its gradients are "
                "checked entry by entry against differences of its own forward"
            )

    def replace(self, **changes) -> Options:
        return Options.build(**{**self.given(), **changes})

    def to_argv(self) -> list[str]:
        """These options as ``gradcert check`` flags (defaults left out)."""
        argv = []
        for name, value in self.given().items():
            flag = BY_NAME[name].flag
            if name == "mode":
                argv.append(f"--{value}")
            elif name == "batch_norm" and value is True:
                argv.append(flag)
            elif isinstance(value, tuple) and name == "params":
                argv += [flag, ",".join(f"{a}:{b}" for a, b in value)]
            elif isinstance(value, tuple):
                argv += [flag, ",".join(str(int(v)) if isinstance(v, bool) else str(v) for v in value)]
            elif isinstance(value, dict) and name == "dims":
                argv += [flag, ",".join(f"{k}={v}" for k, v in value.items())]
            elif isinstance(value, dict):
                argv += [flag, json.dumps(value, separators=(",", ":"))]
            elif isinstance(value, float):
                argv += [flag, repr(value)]
            else:
                argv += [flag, str(value)]
        return argv

    def command(self, target=None) -> str:
        """The shell command that runs a check with these options."""
        return "gradcert " + shlex.join(["check", *([target] if target else []), *self.to_argv()])


_STYLE_NAMES = {
    "reference": "the bundled reference",
    "network": "a network.py-style network",
    "layer": "a layer",
    "pair": "a forward/backward function pair",
    "model": "a model with a loss method",
    "step": "a target that applies its own step",
    "function": "a grad function",
    "engine": "an autodiff engine's value class",
}


def _advice(name, style):
    if name == "l2" and style in ("network", "step"):
        return "network2's L2 step is checked through update_mini_batch(mini_batch, eta, lmbda, n) by itself"
    if name == "batch_norm":
        return "only a grad(arch, ...) function or the bundled reference can be told to normalise"
    if name in ("cost", "activation", "hidden_activation", "output_activation", "depth", "sizes"):
        return "it is judged against its own forward pass, whatever it computes"
    if name in ("shape", "layout", "dims", "inputs", "kwargs", "params"):
        return "it describes how to call a layer, a function pair or a model"
    if name == "lr":
        return "only a target that applies its own gradient step takes a learning rate"
    if name == "init":
        return "a function has no constructor"
    if style == "engine" and name == "batch":
        return "an engine is checked on drawn programs, not batches; --dims leaves=L,steps=S fixes their size"
    if style == "engine":
        return "an engine is checked on drawn programs of its own operations"
    return "leave it out"


def _csv(values):
    return ",".join(str(v) for v in values)


__all__ = ["BY_NAME", "Options", "SPECS", "STYLES"]
