"""Find a plug-in target and tell which of the three kinds it is.

A target is ``package.module:Name`` or ``path/to/file.py:Name``.  The kind is
found by duck typing, most specific first:

* ``network``  -- a class with ``backprop`` (network.py's interface);
* ``layer``    -- a class with ``forward`` and ``backward``;
* ``function`` -- a callable named anything, taking
  ``(arch, weights, biases, x, y)`` and returning ``(nabla_b, nabla_w)``.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path


class TargetError(Exception):
    """The target cannot be loaded or is none of the three kinds (exit code 2)."""


@dataclass(frozen=True)
class Target:
    spec: str
    obj: object
    kind: str  # "network", "layer" or "function"

    @property
    def name(self) -> str:
        return self.spec


def load(spec: str) -> Target:
    module_part, sep, name = spec.rpartition(":")
    if not sep or not module_part or not name:
        raise TargetError(f"target {spec!r}: write it as package.module:Name or path/to/file.py:Name")
    module = _import(module_part, spec)
    obj = module
    for part in name.split("."):
        if not hasattr(obj, part):
            raise TargetError(f"target {spec!r}: {module_part} has no attribute {part!r}")
        obj = getattr(obj, part)
    return Target(spec, obj, kind_of(obj, spec))


def kind_of(obj, spec="target") -> str:
    if inspect.isclass(obj) and callable(getattr(obj, "backprop", None)):
        return "network"
    if inspect.isclass(obj) and callable(getattr(obj, "forward", None)) and callable(
            getattr(obj, "backward", None)):
        return "layer"
    if callable(obj) and not inspect.isclass(obj):
        return "function"
    raise TargetError(
        f"{spec} is none of the three kinds gradcert checks: a network class with backprop(x, y) "
        "(network.py's interface), a layer class with forward(x) and backward(dout), or a function "
        "grad(arch, weights, biases, x, y) -> (nabla_b, nabla_w)")


def _import(module_part, spec):
    if module_part.endswith(".py") or "/" in module_part or "\\" in module_part:
        path = Path(module_part)
        if not path.is_file():
            raise TargetError(f"target {spec!r}: no file {module_part}")
        module_name = f"_gradcert_target_{abs(hash(str(path.resolve())))}"
        if module_name in sys.modules:
            return sys.modules[module_name]
        loader_spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(loader_spec)
        sys.path.insert(0, str(path.resolve().parent))  # so the file can import its neighbours
        try:
            loader_spec.loader.exec_module(module)
        except Exception as error:
            raise TargetError(f"target {spec!r}: importing {module_part} failed: "
                              f"{type(error).__name__}: {error}") from error
        finally:
            sys.path.pop(0)
        sys.modules[module_name] = module
        return module
    try:
        return importlib.import_module(module_part)
    except ImportError as error:
        raise TargetError(f"target {spec!r}: cannot import {module_part} ({error}); "
                          "is it installed, or on PYTHONPATH?") from error
    except Exception as error:
        raise TargetError(f"target {spec!r}: importing {module_part} failed: "
                          f"{type(error).__name__}: {error}") from error
