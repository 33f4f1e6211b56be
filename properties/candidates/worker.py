"""The worker process: where a plugged-in implementation is imported, built and called.

Started by ``process.Worker`` as ``python -m gradcert.properties.candidates.worker IN OUT`` (two
pipe descriptors), or forked from the caller for an object that exists only in its process.  It
imports the standard library and NumPy, nothing of gradcert's judging: the verdict is made in the
parent from the plain data this process sends back, so nothing the candidate does here -- exit,
hang, patch gradcert's modules, rewrite the arrays it was given -- can forge or suppress it.

The worker keeps the user's objects in a table of handles (0 is the target) and answers one
request at a time (``serve``):

* ``load``      import the target's module under its dotted name and look the target up;
* ``describe``  the signatures and attributes gradcert detects the interface style from;
* ``call``      call a handle or one of its methods; the result comes back as plain data
                (``plain``), as a new handle, or as ``(plain out, handle of the cache)``;
* ``get`` / ``set``  read or assign an attribute, dict entry or list entry (a path);
* ``arrays``    every float array an object holds, by path: where its parameters are;
* ``outputs``   one method called at many points (finite differences), one input or one
                parameter varied; a heartbeat after each call keeps the parent's deadline per call;
* ``release``, ``ping``, ``quit``.

Every reply says what happened: ``ok`` with a value, ``raised`` (the exception's type, message
and traceback; SystemExit included), or ``invalid`` (a value that is not plain data).  An argument
the candidate wrote into is reported (``mutated``).  Before a call that asks for it (``fresh``: a
forward pass of a layer, a function pair or a model, and every finite-difference probe) NumPy's and
Python's global generators are seeded and the generators the target holds are put back to their
first state, so a dropout mask is the same at every forward pass: its randomness is held fixed.
A backward pass is not reseeded: one that draws a mask of its own instead of forward's is seen.
"""

from __future__ import annotations

import ast
import builtins
import copy
import importlib
import importlib.util
import inspect
import os
import random
import sys
import textwrap
import traceback

import numpy as np
from gradcert.properties.candidates.protocol import Opaque, Ref, receive, send

# This module's own builtins, as they are now, before any candidate is imported: every function
# below is made with them.  A candidate that rebinds builtins.enumerate or zip (or isinstance, list)
# in its process would otherwise blind the check that it left its arguments alone.
__builtins__ = dict(vars(builtins))

SEED = 20240601  # the global generators' seed before every call, when randomness is held fixed
MAX_ITEMS = 100_000  # a returned container larger than this is not a gradient: Opaque
MAX_DEPTH = 8
TRACEBACK_CHARS = 4000


class Invalid(Exception):
    """A returned value that cannot be turned into plain data."""


def plain(value, depth=0):
    """``value`` as data the parent can read without trusting it: arrays, numbers, containers.

    Runs here, under the parent's deadline, because turning a candidate's object into an array
    calls the candidate's code (``__array__``, ``__len__``, ``__iter__``, a tensor's ``numpy()``).
    """
    if depth > MAX_DEPTH:
        return Opaque(type(value).__name__, "nested too deeply")
    if value is None or type(value) in _PLAIN:
        return value
    if issubclass(type(value), np.generic):
        return np.array(value)  # a 0-d array keeps a NumPy scalar's dtype
    for base in _BUILTINS:
        if issubclass(type(value), base):  # type(), not isinstance: __class__ can claim float
            return _BUILTINS[base](value)  # the number itself: the subclass's own methods never run
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            if value.ndim == 0:
                return Opaque("0-d object array", _short(value.item()))
            return [plain(v, depth + 1) for v in value]
        return np.array(value, copy=True, subok=False)
    if isinstance(value, (list, tuple)):
        if len(value) > MAX_ITEMS:
            return Opaque(type(value).__name__, f"{len(value)} items")
        items = [plain(v, depth + 1) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, dict):
        return {str(k): plain(v, depth + 1) for k, v in list(value.items())[:MAX_ITEMS]}
    if _tensor_like(value):
        return plain(_as_numpy(value), depth + 1)
    try:
        array = np.asarray(value)
    except Exception as error:
        return Opaque(type(value).__name__, f"not an array ({type(error).__name__}: {error})")
    if array.dtype == object:
        return Opaque(type(value).__name__, _short(value))
    return np.array(array, copy=True, subok=False)


# A subclass of a builtin, as the builtin (float.__float__ reads the stored double, whatever the
# subclass says its __float__, __eq__ or __reduce__ are): the parent unpickles builtins only.
_PLAIN = (bool, int, float, complex, str, np.float64, np.complex128)  # sent as they are
_BUILTINS = {float: float.__float__, int: int.__int__, complex: complex.__complex__, str: str.__str__}


def _tensor_like(value):
    return hasattr(value, "detach") and hasattr(value, "numpy")  # torch tensors


def _as_numpy(value):
    tensor = value.detach()
    if hasattr(tensor, "cpu"):
        tensor = tensor.cpu()
    return tensor.numpy()


def _short(value):
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."


def signature_of(obj):
    """[(name, kind, has_default, default repr)] of a callable, or None if Python cannot tell."""
    try:
        parameters = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return None
    return [
        (p.name, p.kind.name, p.default is not p.empty, None if p.default is p.empty else _short(p.default))
        for p in parameters
    ]


def describe(obj):
    """What gradcert detects an interface style from: plain data, nothing of the object itself."""
    if inspect.isclass(obj):
        what = "class"
    elif inspect.isroutine(obj) or isinstance(obj, type(describe)):
        what = "function"
    elif inspect.ismodule(obj):
        what = "module"
    elif callable(obj) and type(obj).__name__ == "partial":
        what = "function"
    else:
        what = "instance"
    methods = {}
    for name in dir(obj):
        if name.startswith("__") and name != "__call__":
            continue
        try:
            member = inspect.getattr_static(obj, name)
        except AttributeError:
            continue
        unbound = what == "class" and inspect.isfunction(member)  # its first parameter is self
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        if inspect.isfunction(member) or inspect.ismethoddescriptor(member):
            bound = getattr(obj, name, None)
            signature = signature_of(bound) if bound is not None else None
            methods[name] = signature[1:] if unbound and signature else signature
    attributes = {}
    if what == "instance" and hasattr(obj, "__dict__"):
        # a class held as a value (network2's self.cost = CrossEntropyCost) by its own name
        attributes = {
            k: v.__qualname__ if inspect.isclass(v) else type(v).__qualname__
            for k, v in list(vars(obj).items())[:200]
        }
    module = sys.modules.get(getattr(obj, "__module__", None) or "")
    cls = obj if what == "class" else type(obj)
    return {
        # arithmetic an autodiff engine's value class defines (micrograd's Value: a * b + 1)
        "operators": sorted(n for n in OPERATOR_NAMES if getattr(cls, n, None) is not None),
        # engine-like classes beside the target (micrograd's nn.py imports engine.Value)
        "engines": _engines_beside(module, cls) if what in ("class", "instance") else [],
        "what": what,
        "name": getattr(obj, "__qualname__", None) or type(obj).__qualname__,
        "type": type(obj).__qualname__,
        "module": getattr(obj, "__module__", None),
        "file": getattr(module, "__file__", None),
        "call": signature_of(obj) if callable(obj) else None,
        "methods": methods,
        "attributes": attributes,
        "doc": (inspect.getdoc(obj) or "")[:300],
        # how its own code unpacks what its methods return: a port's ``nb_w, nb_b = self.backprop(x, y)``
        "unpacks": _unpacks(cls) if what in ("class", "instance") else {},
        # the classes it derives from, as module.qualname (a torch.autograd.Function, a torch.nn.Module)
        "bases": [
            f"{c.__module__}.{c.__qualname__}" for c in (obj if what == "class" else type(obj)).__mro__[1:]
        ],
    }


OPERATOR_NAMES = ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
                  "__rtruediv__", "__pow__", "__neg__", "__matmul__")


def _unpacks(cls):
    """{method: [[name, ...], ...]}: the names the class's own code (its MRO's, read from the source)
    unpacks a call of ``self.method(...)`` into, as in ``nb_w, nb_b = self.backprop(x, y)``."""
    found = {}
    for klass in cls.__mro__:
        if klass.__module__ in ("builtins", "numpy"):
            continue
        try:
            source = inspect.getsource(klass)
            if len(source) > 200_000:  # a framework's base class (torch's Module): no port's loop in it
                continue
            tree = ast.parse(textwrap.dedent(source))
        except Exception:  # no source to read (a class made at run time, a C type): nothing to say
            continue
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], (ast.Tuple, ast.List))):
                continue
            call, names = node.value, node.targets[0].elts
            if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and isinstance(call.func.value, ast.Name) and call.func.value.id == "self"
                    and all(isinstance(n, ast.Name) for n in names)):
                found.setdefault(call.func.attr, []).append([n.id for n in names])
    return found


def _engines_beside(module, cls):
    """Classes in the target's module namespace that look like an autodiff engine's value class
    (``backward`` and the operators + and *), as (qualified name, module, file)."""
    found = []
    for value in list(vars(module).values())[:2000] if module is not None else ():
        if (
            inspect.isclass(value)
            and value is not cls
            and callable(getattr(value, "backward", None))
            and getattr(value, "__add__", None) is not None
            and getattr(value, "__mul__", None) is not None
            and value.__module__ not in ("builtins", "numpy")
        ):
            home = sys.modules.get(value.__module__)
            found.append((value.__qualname__, value.__module__, getattr(home, "__file__", None)))
    return found[:5]


# --- paths into objects: ("a", name) attribute, ("k", key) mapping entry, ("i", index) sequence entry


def get_path(obj, path):
    for step, key in path:
        obj = getattr(obj, key) if step == "a" else obj[key]
    return obj


def set_path(obj, path, value):
    *head, (step, key) = path
    holder = get_path(obj, head)
    value = _like(_current(holder, step, key), value)
    if step == "a":
        setattr(holder, key, value)
    else:
        holder[key] = value


def _current(holder, step, key):
    """What the candidate holds there now, or None (nothing yet, or a getter that raises: its reading
    back is a verdict of its own)."""
    try:
        return getattr(holder, key) if step == "a" else holder[key]
    except Exception:  # noqa: BLE001 - the candidate's own getter
        return None


def _like(current, value):
    """A list of arrays in the container the candidate keeps its own in: a tuple, or a 1-D object array
    (``np.array([...], dtype=object)``, a habit of network.py's ports, whose arithmetic on the whole
    list -- ``self.weights - eta * nabla_w`` -- a Python list would break)."""
    if not isinstance(value, list):
        return value
    if isinstance(current, tuple):
        return tuple(value)
    if isinstance(current, np.ndarray) and current.dtype == object and current.ndim == 1:
        held = np.empty(len(value), dtype=object)
        for i, item in enumerate(value):
            held[i] = item
        return held
    return value


def float_arrays(obj, depth=2, values=False):
    """Every float array ``obj`` holds, as {path: (shape, dtype name)} (or {path: a copy} with
    ``values``): attributes, dict and list entries, sub-objects down to ``depth`` (``.data`` and
    ``.grad`` of autodiff-style parameter objects among them).  An array reached by two paths (an
    attribute and a dict entry sharing it) is listed once, under the first."""
    found, seen = {}, set()

    def visit(value, path, level):
        if isinstance(value, np.ndarray):
            if value.dtype.kind == "f" and value.size and id(value) not in seen:
                seen.add(id(value))
                found[tuple(path)] = np.array(value, copy=True) if values else (value.shape, value.dtype.name)
            return
        if level > depth or isinstance(value, (str, bytes, int, float, bool, type(None))):
            return
        if isinstance(value, dict):
            for k, v in list(value.items())[:64]:
                if isinstance(k, (str, int)):
                    visit(v, path + [("k", k)], level + 1)
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value[:64]):
                visit(v, path + [("i", i)], level + 1)
        elif (
            hasattr(value, "__dict__")
            and not inspect.isroutine(value)
            and not inspect.isclass(value)
            and not inspect.ismodule(value)
        ):
            for k, v in list(vars(value).items())[:200]:
                visit(v, path + [("a", k)], level + 1)

    if hasattr(obj, "__dict__"):
        for k, v in list(vars(obj).items())[:200]:
            visit(v, [("a", k)], 1)
    return found


def _same(a, b):
    """Whether an array still holds what its copy does: shape, dtype and bytes, compared by the
    interpreter's own bytes equality, not by NumPy functions a candidate can replace in its process
    (np.array_equal patched to say True hid a backprop that zeroed its x)."""
    return a.shape == b.shape and a.dtype == b.dtype and _BYTES(a) == _BYTES(b)


_BYTES = np.ndarray.tobytes  # bound at import, before any candidate is imported


def _arrays_in(value):
    """Every ndarray among call arguments (lists, tuples and dicts searched)."""
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, (list, tuple)):
        return [a for v in value for a in _arrays_in(v)]
    if isinstance(value, dict):
        return [a for v in value.values() for a in _arrays_in(v)]
    return []


class Server:
    def __init__(self, fd_in, fd_out, objects=None):
        self.fd_in, self.fd_out = fd_in, fd_out
        self.objects = dict(objects or {})
        self.next_id = max(self.objects, default=-1) + 1
        self.pid = os.getpid()
        self.generators = []  # (generator, its first state): put back before every forward call
        self.token = None  # the request's token (process.Worker.request)

    # -- randomness
    def _collect_generators(self, *holders):
        for holder in holders:
            values = list(vars(holder).values()) if hasattr(holder, "__dict__") else []
            for value in values:
                if isinstance(value, np.random.Generator):
                    self.generators.append((value, value.bit_generator.state))
                elif isinstance(value, np.random.RandomState):
                    self.generators.append((value, value.get_state()))
                elif isinstance(value, random.Random):
                    self.generators.append((value, value.getstate()))

    def _fix_randomness(self):
        np.random.seed(SEED)
        random.seed(SEED)
        for generator, state in self.generators:
            if isinstance(generator, np.random.Generator):
                generator.bit_generator.state = state
            elif isinstance(generator, np.random.RandomState):
                generator.set_state(state)
            else:
                generator.setstate(state)

    # -- handles
    def _store(self, obj):
        handle = self.next_id
        self.next_id += 1
        self.objects[handle] = obj
        self._collect_generators(obj)
        return Ref(handle)

    def _resolve(self, value):
        """A request's arguments as the candidate gets them: handles replaced by their objects, arrays
        as writable arrays of their own (unpickled ones are read-only views of the message)."""
        if isinstance(value, Ref):
            return self.objects[value.id]
        if isinstance(value, np.ndarray):
            return value if value.flags.writeable else value.copy()
        if isinstance(value, list):
            return [self._resolve(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self._resolve(v) for v in value)
        if isinstance(value, dict):
            return {k: self._resolve(v) for k, v in value.items()}
        return value

    # -- the loop
    def serve(self):
        # gradcert's modules and NumPy's as they are now, put back into sys.modules before each
        # message is read and each reply sent: a candidate that drops them from sys.modules would
        # have the unpickler make the protocol module anew, whose Ref is not the one handles are
        own = {n: m for n, m in sys.modules.items() if n.split(".")[0] in ("gradcert", "numpy")}
        send(self.fd_out, {"status": "ready", "pid": self.pid})
        while True:
            sys.modules.update(own)
            message = receive(self.fd_in)
            if message is None or message.get("op") == "quit":
                os._exit(0)  # at once: a non-daemon thread of the candidate must not keep us alive
            self.token = message.get("token")  # on every reply to this request, its heartbeats too
            try:
                reply = self.handle(message)
            except BaseException as error:  # noqa: BLE001 - SystemExit, KeyboardInterrupt, pytest's Skipped
                reply = self._raised(error)
            if os.getpid() != self.pid:
                os._exit(0)  # a fork of the candidate's came back here: only the worker answers
            sys.modules.update(own)
            try:
                send(self.fd_out, {**reply, "token": self.token})
            except (TypeError, AttributeError, RecursionError, ValueError) as error:  # unpicklable
                why = f"the reply could not be sent: {error}"
                send(self.fd_out, {"status": "invalid", "message": why, "token": self.token})

    def _raised(self, error):
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        reply = {
            "status": "raised",
            "type": type(error).__name__,
            "module": type(error).__module__,
            "message": _short_message(error),
            "traceback": text[-TRACEBACK_CHARS:],
            "ordinary": isinstance(error, Exception),  # not SystemExit, KeyboardInterrupt, pytest's Skipped
        }
        if isinstance(error, SystemExit):
            code = error.code  # an object's repr may raise: _short says its type then
            reply["exit_code"] = code if type(code) in (int, bool, str, type(None)) else _short(code)
        if isinstance(error, SyntaxError):
            reply["python2"] = _looks_like_python2(error)
            reply["where"] = f"{error.filename}:{error.lineno}"
        return reply

    def handle(self, message):
        op = message["op"]
        if op == "ping":
            return {"status": "ok", "value": None}
        if op == "load":
            return self.load(message)
        if op == "describe":
            return {"status": "ok", "value": describe(self._resolve(message["target"]))}
        if op == "release":
            self.objects.pop(message["target"].id, None)
            return {"status": "ok", "value": None}
        if op == "call":
            return self.call(message)
        if op == "get":
            obj = self._resolve(message["target"])
            return self._reply(lambda: plain(get_path(obj, message["path"])))
        if op == "set":
            obj = self._resolve(message["target"])
            set_path(obj, message["path"], self._resolve(message["value"]))
            return {"status": "ok", "value": None}
        if op == "assign":  # in place where the array allows it: every alias of it sees the change
            obj = self._resolve(message["target"])
            _assign(obj, message["path"], self._resolve(message["value"]))
            return {"status": "ok", "value": None}
        if op == "arrays":
            return {"status": "ok", "value": float_arrays(self._resolve(message["target"]))}
        if op == "snapshot":
            return {"status": "ok", "value": float_arrays(self._resolve(message["target"]), values=True)}
        if op == "copy":  # a fresh copy of an instance target for each case
            return {"status": "ok", "value": self._store(copy.deepcopy(self._resolve(message["target"])))}
        if op == "outputs":
            return self.outputs(message)
        if op == "program":
            return self.program(message)
        if op == "network_around":  # a free backprop function, driven as network.py's class
            from gradcert.properties.candidates import backprop_function

            function = self._resolve(message["target"])
            order = backprop_function.pair_order(function)
            self.objects[message["target"].id] = backprop_function.network_around(
                function, tuple(message["roles"]), order
            )
            return {"status": "ok", "value": order}
        raise ValueError(f"unknown request {op!r}")

    def _reply(self, produce):
        value = produce()
        return {"status": "ok", "value": value}

    def load(self, message):
        if message.get("sys_path"):
            sys.path.insert(0, message["sys_path"])
        if message.get("last_path") and message["last_path"] not in sys.path:
            sys.path.append(message["last_path"])
        name = message["module"]
        top = name.split(".")[0]
        expected = message.get("file")
        if (
            expected
            and top in sys.modules
            and not _inside(getattr(sys.modules[top], "__file__", None), message.get("sys_path"))
        ):
            return {"status": "shadowed", "module": name, "file": getattr(sys.modules[top], "__file__", None)}
        if message.get("by_location"):
            location = importlib.util.spec_from_file_location(name, expected)
            module = importlib.util.module_from_spec(location)
            sys.modules[name] = module
            location.loader.exec_module(module)
        else:
            module = importlib.import_module(name)
        found = getattr(module, "__file__", None)
        if expected and (found is None or not os.path.exists(found) or not os.path.samefile(found, expected)):
            return {"status": "shadowed", "module": name, "file": found}
        self._collect_generators(module)
        attr = message["attr"]
        try:
            obj = module
            for part in attr.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            forward, backward = f"{attr}_forward", f"{attr}_backward"  # module:affine
            if "." not in attr and hasattr(module, forward) and hasattr(module, backward):
                self.objects[0], self.objects[1] = getattr(module, forward), getattr(module, backward)
                self.next_id = max(self.next_id, 2)
                return {
                    "status": "ok",
                    "value": {
                        "pair": [forward, backward],
                        "file": found,
                        "describe": [describe(self.objects[0]), describe(self.objects[1])],
                    },
                }
            return {
                "status": "missing",
                "module": name,
                "attr": attr,
                "file": found,
                "names": sorted(n for n in vars(module) if not n.startswith("_"))[:500],
            }
        self.objects[0] = obj
        self.next_id = max(self.next_id, 1)
        value = {"pair": None, "file": found, "describe": describe(obj)}
        pair = _pair_names(attr, module)  # affine_forward -> affine_backward, relu -> relu_backward
        if pair is not None and inspect.isroutine(obj) and all(hasattr(module, n) for n in pair):
            self.objects[0], self.objects[1] = (getattr(module, n) for n in pair)
            self.next_id = max(self.next_id, 2)
            value.update(pair=list(pair), describe=[describe(self.objects[0]), describe(self.objects[1])])
        return {"status": "ok", "value": value}

    def call(self, message):
        target = self._resolve(message["target"])
        function = target if message.get("method") is None else getattr(target, message["method"])
        args = self._resolve(message.get("args", ()))
        kwargs = self._resolve(message.get("kwargs", {}))
        given = _arrays_in(args) + _arrays_in(kwargs)
        before = [a.copy() for a in given]
        if message.get("fresh"):
            self._fix_randomness()
        result = function(*args, **kwargs)
        mutated = [i for i, (a, b) in enumerate(zip(given, before)) if not _same(a, b)]
        keep = message.get("keep", "plain")
        if keep == "handle":
            value = self._store(result)
        elif keep == "pair":  # cs231n's forward: (out, cache), the cache kept here for backward
            outputs = message.get("outputs", 1)  # an LSTM step's (next_h, next_c, cache): 2
            if not isinstance(result, (tuple, list)) or len(result) != outputs + 1:
                expected = "(out, cache)" if outputs == 1 else f"{outputs} outputs and a cache"
                return {
                    "status": "invalid",
                    "message": f"returned {_short(result)}; expected {expected}",
                    "mutated": mutated,
                }
            outs = [plain(r) for r in result[:-1]]
            value = (outs[0] if outputs == 1 else outs, self._store(result[-1]))
        else:
            value = plain(result)
        return {"status": "ok", "value": value, "mutated": mutated}

    def outputs(self, message):
        """``method`` at every point of ``points``, varying argument ``vary`` (("arg", i)) or a
        parameter (("param", path), changed in place and put back); ``select`` picks the output:
        an index into a tuple result, or ("attr", name), an attribute of the target after the call.
        A heartbeat after each call."""
        target = self._resolve(message["target"])
        function = target if message.get("method") is None else getattr(target, message["method"])
        args = list(self._resolve(message.get("args", ())))
        kwargs = self._resolve(message.get("kwargs", {}))
        kind, where = message["vary"]
        points, select = message["points"], message.get("select")
        original = None
        if kind == "param":
            holder_value = get_path(target, where)
            original = np.array(holder_value, copy=True)
        results = []
        try:
            for i, point in enumerate(points):
                if kind == "arg":
                    args[where] = np.array(point, copy=True)
                elif kind == "entry":  # an entry of a dict argument: (argument index, key)
                    args[where[0]][where[1]] = np.array(point, copy=True)
                else:
                    _assign(target, where, point)
                self._fix_randomness()
                result = function(*copy.deepcopy(args), **copy.deepcopy(kwargs))
                if isinstance(select, (tuple, list)) and select[0] == "attr":
                    result = getattr(target, select[1])  # a forward that stores its output (nnfs)
                elif isinstance(select, (tuple, list)):  # several outputs: (next_h, next_c)
                    result = [result[i] for i in select]
                elif select is not None:
                    result = result[select]
                results.append(plain(result))
                send(self.fd_out, {"status": "tick", "done": i + 1, "token": self.token})
        finally:
            if kind == "param":
                _assign(target, where, original)
        return {"status": "ok", "value": results}


    def program(self, message):
        """An autodiff engine's value class run on a program (``run_program``)."""
        self._fix_randomness()
        value = run_program(self._resolve(message["target"]), message["leaves"], message["steps"],
                            message["data"], message["grad"], message.get("backward", True),
                            message.get("leaf_kwargs"), tuple(message.get("seed_args", ())),
                            message.get("leaf_array", False))
        return {"status": "ok", "value": value}


def run_program(cls, leaves, steps, data, grad, backward=True, leaf_kwargs=None, seed_args=(),
                leaf_array=False):
    """An autodiff engine's value class (micrograd's ``Value``) run on a program: the ``leaves``
    made with the class, then each step -- (op, operands), an operand a register index or
    ("c", constant) -- applied as the user would write it (``a * b``, ``2.0 - a``, ``a ** 3``,
    ``sum([a, b], c)``, ``a.tanh()``), then ``backward()`` on the last register.  Returns every
    register's value (its ``data`` attribute) and each leaf's ``grad`` (its ``grad`` attribute),
    as plain data; ``backward`` False stops before it (the forward alone).  A step that gives
    something other than a value ends the program there, that thing reported as it is.
    ``leaf_kwargs`` are passed to every leaf's constructor (``requires_grad=True``), ``seed_args``
    to ``backward`` (an engine whose backward asks for the output's gradient gets 1.0); with
    ``leaf_array`` a leaf is made from a 0-d array, for an engine that takes arrays only.  The values
    are read before backward (``values``) and after it (``after``): backward must leave them."""

    def is_value(r):  # duck typing: an engine's operations may return a subclass or a sibling class
        return hasattr(r, data) and callable(getattr(r, "backward", None))

    registers = [cls(np.array(v) if leaf_array else v, **(leaf_kwargs or {})) for v in leaves]
    for op, operands in steps:
        if not is_value(registers[-1]):
            break
        args = [registers[x] if isinstance(x, int) else x[1] for x in operands]
        if op == "sum":
            result = sum(args[1:], args[0])
        elif op in _OPERATORS:
            result = _OPERATORS[op](*args)
        else:
            result = getattr(args[0], op)()
        registers.append(result)
    holders = (data, *(h for h in _HOLDERS if h != data))
    values = [
        _number(getattr(r, data), holders) if is_value(r) else Opaque(type(r).__name__, _short(r))
        for r in registers
    ]
    grads = after = None
    if backward and all(is_value(r) for r in registers):
        registers[-1].backward(*seed_args)
        after = [_number(getattr(r, data, None), holders) for r in registers]
        grads = [_number(getattr(r, grad, None), holders) for r in registers[: len(leaves)]]
    return {"values": values, "after": after, "grads": grads}


_HOLDERS = ("data", "value", "val")  # where a value object keeps its number (engine.DATA_NAMES)
_HOLDING = 3  # levels of holders read through: a Tensor's grad, a Tensor, its array
_MISSING = object()

_OPERATORS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
    "neg": lambda a: -a,
}


def _number(value, holders=_HOLDERS, depth=0):
    """A scalar engine's data or grad as plain data: a number (a 0-d or one-entry array's too), None,
    or Opaque for anything else.  An object that is none of these but holds one in ``holders``
    (``data``, ``value``, ``val``: a grad kept as a value of the engine's own class, x.grad.data)
    is read through them, at most ``_HOLDING`` levels down."""
    if value is None or type(value) in (bool, int, float):
        return value
    try:
        array = np.asarray(plain(value))
    except Exception:  # noqa: BLE001 - the candidate's __array__ may raise anything
        array = None
    if array is not None and array.dtype.kind in "biuf" and array.size == 1:
        return np.array(array.reshape(()))  # keeps the dtype: the engine's precision
    if depth < _HOLDING:
        for name in holders:
            inner = getattr(value, name, _MISSING)  # a getter that raises otherwise: the candidate's crash
            if inner is not _MISSING and inner is not value:
                number = _number(inner, holders, depth + 1)
                if not isinstance(number, Opaque):
                    return number
    return Opaque(type(value).__name__, _short(value))


def _pair_names(attr, module=None):
    """(forward, backward) when ``attr`` names one of a function pair: cs231n's NAME_forward and
    NAME_backward (the last 'forward' or 'backward' in the name swapped for the other), or
    deeplearning.ai's NAME and NAME_backward (``relu(Z) -> (A, cache)``, ``relu_backward(dA, cache)``).
    A backward NAME_backward_SUFFIX with no NAME_forward_SUFFIX beside it is paired with NAME_forward
    (cs231n's batchnorm_backward_alt)."""
    if "." in attr:
        return None
    if (
        module is not None
        and "forward" not in attr
        and "backward" not in attr
        and hasattr(module, f"{attr}_backward")
    ):
        return attr, f"{attr}_backward"
    for word, other in (("forward", "backward"), ("backward", "forward")):
        head, found, tail = attr.rpartition(word)
        if found:
            partner = head + other + tail
            if word == "backward" and tail and module is not None and not hasattr(module, partner):
                # cs231n's batchnorm_backward_alt, conv_backward_naive beside a forward without the suffix
                partner = head + other
            return (attr, partner) if word == "forward" else (partner, attr)
    return None


def _assign(target, path, value):
    """Put ``value`` into the parameter at ``path``: in place where the array allows it (every alias
    of it sees the change), else by assignment."""
    current = get_path(target, path)
    if isinstance(current, np.ndarray) and current.flags.writeable and current.shape == np.shape(value):
        np.copyto(current, value, casting="unsafe")
    else:
        set_path(target, path, np.array(value, dtype=getattr(current, "dtype", np.float64)))


def _inside(path, directory):
    if not path or not directory:
        return False
    return os.path.abspath(path).startswith(os.path.abspath(directory) + os.sep)


def _short_message(error):
    try:
        text = str(error)
    except Exception:
        text = ""
    return text if len(text) <= 300 else text[:297] + "..."


def _looks_like_python2(error):
    text = f"{error.msg} {error.text or ''}"
    return (
        "Missing parentheses in call to 'print'" in text
        or "Missing parentheses in call to 'exec'" in text
        or (error.text or "").lstrip().startswith(("print ", "exec "))
        or ", e:" in (error.text or "")
        or "except " in (error.text or "")
        and "," in (error.text or "").split("except", 1)[-1]
    )


def die_with_parent(parent):
    """End this process when gradcert's ends, even while the candidate hangs: a SIGKILLed gradcert
    must not leave a worker behind.  Linux: the kernel sends SIGKILL (PR_SET_PDEATHSIG); elsewhere
    a watchdog thread notices the re-parenting."""
    import signal
    import threading

    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, int(signal.SIGKILL), 0, 0, 0) == 0:  # PR_SET_PDEATHSIG
            if os.getppid() != parent:  # the parent died before the request took effect
                os._exit(0)
            return
    except (OSError, AttributeError):
        pass

    def watch():
        while os.getppid() == parent:
            threading.Event().wait(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="gradcert-watchdog", daemon=True).start()


def adopt_orphans():
    """Make this process the one its orphaned descendants are re-parented to (Linux:
    PR_SET_CHILD_SUBREAPER), so that every process the candidate starts stays below the worker, where
    ``process.Worker.kill`` finds it: a child that starts a session of its own, or a grandchild whose
    parent exited, is out of reach of a kill of the process group."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    fd_in, fd_out = int(argv[0]), int(argv[1])
    if len(argv) > 2:
        die_with_parent(int(argv[2]))
    adopt_orphans()
    for fd in (fd_in, fd_out):
        os.set_inheritable(fd, False)  # the candidate's own children get no part of the channel
    sys.dont_write_bytecode = True  # importing the user's modules leaves no __pycache__ behind
    Server(fd_in, fd_out).serve()


if __name__ == "__main__":
    main()
