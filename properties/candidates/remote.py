"""Calls into user code, as the checkers write them: one method each, a verdict for every misbehaviour.

``Remote`` wraps a ``Worker``: each method sends one request and turns the reply into a value or a
``CandidateFailure`` that names the call (``what``): raised -> "crashed", sys.exit -> "exited",
not plain data -> "invalid output", an argument written into -> "mutated inputs";
NotImplementedError -> ``Declined`` (the case is skipped and counted, not judged).
"""

from __future__ import annotations

from gradcert.properties.candidates.protocol import Ref
from gradcert.properties.candidates.verdicts import CandidateFailure, Declined

TARGET = Ref(0)
PARTNER = Ref(1)  # a function pair's backward


def path_text(path):
    """A parameter path as Python would write it: params['W'], layers[0].W, W."""
    text = ""
    for step, key in path:
        text += (f".{key}" if text else key) if step == "a" else f"[{key!r}]"
    return text


class Remote:
    def __init__(self, worker):
        self.worker = worker
        self.mutated = set()  # calls that wrote into an argument where that is allowed (a layer's dout)

    def _value(self, reply, what, *, names=None, mutable=False):
        status = reply.get("status")
        if status == "ok":
            if reply.get("mutated") and mutable:
                self.mutated.add(what)
            elif reply.get("mutated"):
                mutated = [
                    names[i] if names and i < len(names) else f"argument {i}" for i in reply["mutated"]
                ]
                raise CandidateFailure(
                    "mutated inputs",
                    f"{what} wrote into the {' and '.join(dict.fromkeys(mutated))} "
                    "it was given: copy an input before changing it",
                    output=self.worker.output_tail(),
                )
            return reply.get("value")
        if status == "invalid":
            raise CandidateFailure(
                "invalid output", f"{what} {reply.get('message')}", output=self.worker.output_tail()
            )
        if status == "raised":
            kind = reply.get("type")
            if kind == "NotImplementedError":
                raise Declined(f"{what} raised NotImplementedError: {reply.get('message')}".rstrip(": "))
            if kind == "SystemExit":
                raise CandidateFailure(
                    "exited",
                    f"{what} called sys.exit({reply.get('exit_code')})",
                    reply.get("traceback", ""),
                    self.worker.output_tail(),
                )
            message = reply.get("message")
            raise CandidateFailure(
                "crashed",
                f"{what} raised {kind}" + (f": {message}" if message else ""),
                reply.get("traceback", ""),
                self.worker.output_tail(),
            )
        raise CandidateFailure(
            "crashed", f"{what}: unexpected reply {status!r}", output=self.worker.output_tail()
        )

    def call(
        self,
        target,
        method=None,
        args=(),
        kwargs=None,
        *,
        keep="plain",
        what,
        names=None,
        fresh=False,
        mutable=False,
        outputs=1,
    ):
        """``names``: what to call each array among the arguments (in order), for a mutation verdict;
        ``mutable``: writing into them is allowed (noted); ``fresh``: randomness held fixed for this call;
        ``outputs``: with keep="pair", how many outputs come before the cache."""
        reply = self.worker.request(
            {
                "op": "call",
                "target": target,
                "method": method,
                "args": list(args),
                "kwargs": kwargs or {},
                "keep": keep,
                "fresh": fresh,
                "outputs": outputs,
            },
            what=what,
        )
        return self._value(reply, what, names=names, mutable=mutable)

    def get(self, target, path, *, what):
        return self._value(
            self.worker.request({"op": "get", "target": target, "path": path}, what=what), what
        )

    def assign(self, target, path, value, *, what):
        """Put ``value`` into the array at ``path`` in place (``worker._assign``)."""
        return self._value(
            self.worker.request({"op": "assign", "target": target, "path": path, "value": value}, what=what),
            what,
        )

    def set(self, target, path, value, *, what):
        return self._value(
            self.worker.request({"op": "set", "target": target, "path": path, "value": value}, what=what),
            what,
        )

    def arrays(self, target, *, what):
        return self._value(self.worker.request({"op": "arrays", "target": target}, what=what), what)

    def snapshot(self, target, *, what):
        """{path: array} of every float array the object holds."""
        return self._value(self.worker.request({"op": "snapshot", "target": target}, what=what), what)

    def copy(self, target, *, what):
        return self._value(self.worker.request({"op": "copy", "target": target}, what=what), what)

    def describe(self, target, *, what):
        return self._value(self.worker.request({"op": "describe", "target": target}, what=what), what)

    def outputs(self, target, method, args, kwargs, vary, points, *, select=None, what):
        """``method`` at every point, one argument or parameter varied (see worker.Server.outputs)."""
        reply = self.worker.request(
            {
                "op": "outputs",
                "target": target,
                "method": method,
                "args": list(args),
                "kwargs": kwargs or {},
                "vary": vary,
                "points": points,
                "select": select,
            },
            what=what,
        )
        return self._value(reply, what)

    def program(
        self,
        target,
        program,
        data,
        grad,
        *,
        backward=True,
        leaf_kwargs=None,
        seed_args=(),
        leaf_array=False,
        what,
    ):
        """An engine's value class run on an ``oracles.expressions.Program`` (see
        worker.Server.program): {"values": each register's data, "grads": each leaf's grad}."""
        reply = self.worker.request(
            {
                "op": "program",
                "target": target,
                "leaves": list(program.leaves),
                "steps": [list(step) for step in program.steps],
                "data": data,
                "grad": grad,
                "backward": backward,
                "leaf_kwargs": leaf_kwargs or {},
                "seed_args": list(seed_args),
                "leaf_array": leaf_array,
            },
            what=what,
        )
        return self._value(reply, what)

    def network_around(self, target, roles, *, what):
        """Put a network.py-style class around a free backprop function (``backprop_function``), in
        the target's place; returns the pair's order its return statements name ("wb", "bw", None)."""
        request = {"op": "network_around", "target": target, "roles": list(roles)}
        return self._value(self.worker.request(request, what=what), what)

    def release(self, target):
        """Let the worker drop an object of a finished case (a big network's arrays add up)."""
        worker = self.worker
        if (
            not isinstance(target, Ref)
            or target.id <= 1
            or worker.pid is None
            or worker.returncode is not None
        ):
            return
        try:
            worker.request({"op": "release", "target": target}, what="releasing an object")
        except CandidateFailure:
            pass  # the worker ended meanwhile: the next call says so
