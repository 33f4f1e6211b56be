"""Where a target lives, and how its worker imports it: the way pytest and uvicorn load user code.

A target is written ``package.module:Name`` or ``path/to/file.py:Name``:

* ``package.module:Name`` is imported with the current directory first on ``sys.path`` (as
  ``python -m`` and uvicorn's default ``--app-dir .`` do), so ``gradcert check mynn.network:Network``
  works from the project's root;
* ``path/to/file.py:Name`` is imported under its real dotted name, found as pytest's ``prepend``
  import mode finds it: from the file's directory up, every directory with an ``__init__.py`` is a
  package, and the first one without is put on ``sys.path``.  So a file inside a package can use
  relative imports.  The module that this resolves to must be the file named: if another module
  of that name wins (one already imported, an installed package), gradcert refuses in one line
  rather than check the wrong code.  The current directory is put last on ``sys.path``, so that
  code written to run from its project's root finds its sibling packages.  A file whose name is
  no Python identifier (``my-net.py``) is imported from its location alone.
* ``Name`` may be dotted (``Outer.Inner``); for a forward/backward function pair it is the
  common stem: ``layers.py:affine`` names ``affine_forward`` and ``affine_backward``.

Parsing happens here, in gradcert's process; importing happens in the worker (``worker.Server.load``),
under the same deadline as every other call into user code.
"""

from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass
from pathlib import Path

from gradcert.properties.errors import TargetError


@dataclass(frozen=True)
class TargetSpec:
    text: str  # as the user wrote it
    module: str  # the dotted module name the worker imports
    attr: str  # the attribute path inside the module
    sys_path: str  # the directory put first on sys.path
    file: str | None = None  # the file named, which the imported module must be
    by_location: bool = False  # import from the file's location under a made-up name
    last_path: str | None = None  # put last on sys.path: the current directory, for a file target

    def load_request(self) -> dict:
        return {
            "op": "load",
            "module": self.module,
            "attr": self.attr,
            "sys_path": self.sys_path,
            "file": self.file,
            "by_location": self.by_location,
            "last_path": self.last_path,
        }


def parse(text, cwd=None) -> TargetSpec:
    """The ``TargetSpec`` for ``text``; a TargetError says how to write it when it cannot be one."""
    if not isinstance(text, str):
        raise TargetError(f"target {text!r}: give a string package.module:Name or path/to/file.py:Name")
    module_part, sep, attr = text.rpartition(":")
    if not sep or not module_part or not attr:
        raise TargetError(f"target {text!r}: write it as package.module:Name or path/to/file.py:Name")
    if not all(part.isidentifier() for part in attr.split(".")):
        raise TargetError(f"target {text!r}: {attr!r} is not a Python name")
    cwd = Path(cwd or os.getcwd())
    if module_part.endswith(".py") or "/" in module_part or os.sep in module_part:
        path = (
            (cwd / module_part).resolve() if not os.path.isabs(module_part) else Path(module_part).resolve()
        )
        if path.is_dir() and (path / "__init__.py").is_file():
            path = path / "__init__.py"
        if not path.is_file():
            raise TargetError(f"target {text!r}: no file {module_part}")
        if path.suffix != ".py":
            raise TargetError(f"target {text!r}: {module_part} is not a .py file")
        module, root = dotted_name(path)
        by_location = not all(part.isidentifier() for part in module.split("."))
        if by_location:
            module = "_gradcert_target_" + "".join(c if c.isalnum() else "_" for c in path.stem)
        # The current directory goes last on sys.path too: code written to run from a project's root
        # (Deep Learning from Scratch's `from common.layers import ...`) finds its siblings there, and
        # nothing installed or beside the file is shadowed by it.
        return TargetSpec(text, module, attr, str(root), str(path), by_location, str(cwd))
    if not all(part.isidentifier() for part in module_part.split(".")):
        raise TargetError(
            f"target {text!r}: {module_part!r} is neither a module name nor a path to a .py file"
        )
    return TargetSpec(text, module_part, attr, str(cwd))


def dotted_name(path: Path) -> tuple[str, Path]:
    """(dotted module name, the directory to put on sys.path) of a .py file, as pytest finds them."""
    parts = [] if path.name == "__init__.py" else [path.stem]
    directory = path.parent
    while (directory / "__init__.py").is_file():
        parts.insert(0, directory.name)
        directory = directory.parent
    return ".".join(parts), directory


def load_failure(spec: TargetSpec, reply: dict) -> Exception:
    """The error for a load request that did not return the target (exit code 2, or a verdict)."""
    from gradcert.properties.candidates.verdicts import CandidateFailure

    status = reply.get("status")
    where = spec.file or spec.module
    if status == "shadowed":
        return TargetError(
            f"target {spec.text!r}: the module {spec.module!r} resolves to {reply.get('file')}, "
            f"not {where}: another module of that name comes first; rename the file or "
            "name it by its path"
        )
    if status == "missing":
        names = reply.get("names") or []
        closest = closest_name(spec.attr, names)
        hint = f"; did you mean {spec.text.rpartition(':')[0]}:{closest}?" if closest is not None else ""
        if names:
            hint += f" (it defines {', '.join(names[:12])}{', ...' if len(names) > 12 else ''})"
        return TargetError(f"target {spec.text!r}: {where} has no attribute {spec.attr!r}{hint}")
    if status != "raised":
        return TargetError(f"target {spec.text!r}: importing {where} failed: {reply!r}")
    kind, message = reply.get("type"), reply.get("message", "")
    if kind == "SyntaxError":
        if reply.get("python2"):
            return TargetError(
                f"target {spec.text!r}: {where} is Python 2 code ({message} at "
                f"{reply.get('where')}); port it to Python 3 (print(), range, "
                "`except E as e`) and check it again"
            )
        return TargetError(
            f"target {spec.text!r}: {where} does not compile: {message} ({reply.get('where')})"
        )
    if kind in ("ModuleNotFoundError", "ImportError"):
        missing = message.split("'")[1] if message.count("'") >= 2 else None
        if spec.file is None and missing and spec.module.startswith(missing):
            return TargetError(
                f"target {spec.text!r}: cannot import {spec.module} ({message}); run gradcert "
                "from the directory that holds it, or name it by its path (path/to/file.py:Name)"
            )
        elsewhere = _found_elsewhere(spec, missing)
        return TargetError(f"target {spec.text!r}: importing {where} failed: {kind}: {message}{elsewhere}")
    if kind == "SystemExit":
        return CandidateFailure(
            "exited",
            f"importing {where} called sys.exit({reply.get('exit_code')}) "
            '(a script without an `if __name__ == "__main__":` guard?)',
            reply.get("traceback", ""),
        )
    if reply.get("ordinary"):
        # an ordinary exception while the module runs (training at import, a data file it opens):
        # gradcert could not load the code, as with a missing module -- exit 2, not a verdict on it
        line = _module_line(reply.get("traceback", ""), spec.file)
        return TargetError(
            f"target {spec.text!r}: gradcert could not load your code: importing {where} raised "
            f"{kind}" + (f": {message}" if message else "") + (f" at {line}" if line else "")
            + '; code that runs at import (training, reading data) belongs under `if __name__ == "__main__":`'
        )
    return CandidateFailure(
        "crashed", f"importing {where} raised {kind}: {message}", reply.get("traceback", "")
    )


def _module_line(text, file):
    """'file.py:LINE: source' of the innermost frame of the traceback in the target's own file (else
    the innermost frame run at a module's top level), or None."""
    import re

    frames = re.findall(r'File "([^"]+)", line (\d+), in ([^\n]+)\n(?:    ([^\n]*)\n)?', text)
    own = [f for f in frames if file and os.path.abspath(f[0]) == os.path.abspath(file)]
    top = [f for f in frames if f[2] == "<module>" and not f[0].startswith("<")]
    chosen = (own or top or [None])[-1]
    if chosen is None:
        return None
    path, number, _, source = chosen
    return f"{os.path.basename(path)}:{number}" + (f" ({source.strip()})" if source.strip() else "")


def closest_name(attr, names):
    """The defined name ``attr`` most likely meant: a pair's forward whose stem and suffix it is
    (``conv_naive`` -> ``conv_forward_naive``), else the closest spelling among the names and the
    stems of their pairs (``afine`` -> ``affine``), or None."""
    import difflib

    for name in names:
        head, found, tail = name.rpartition("_forward")
        if found and head and head + tail == attr:
            return name
    stems = [n[: -len("_forward")] for n in names if n.endswith("_forward") and n[: -len("_forward")]]
    close = difflib.get_close_matches(attr, stems + list(names), n=1, cutoff=0.6)
    return close[0] if close else None


def _found_elsewhere(spec, missing):
    """Where a module the target could not import sits, when it is a directory above the target's
    file (code that runs as ``cd ch05; python train.py``, with ``sys.path.append(os.pardir)``)."""
    if not missing or spec.file is None:
        return ""
    top = missing.split(".")[0]
    here = pathlib.Path(spec.file).resolve().parent
    for directory in (here, *here.parents):
        if (directory / top).is_dir() or (directory / f"{top}.py").is_file():
            return (
                f"; {top} is in {directory}: run gradcert from the directory the code expects to run in "
                f"(it may import relative to it), or put {directory} on PYTHONPATH"
            )
    return ""
