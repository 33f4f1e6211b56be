"""The one runner behind every front end: load the target, detect its style, draw cases, judge, certify.

``run(target, options)`` is what ``gradcert.check``, ``gradcert check``, the pytest plugin and
``gradcert selftest`` call.  The target (a ``module:Name`` / ``path.py:Name`` string, an object,
or None for the bundled reference) is loaded in a worker process (``candidates.process``), its
style detected from its signatures (``candidates.interface``), the options checked against that
style, and then Hypothesis draws cases: the first gradient bug is shrunk to a minimal case, and
the first misbehaviour (a crash, an exit, a hang, garbage) is reported as it was met, without
shrinking through hangs.  Everything found is returned as a ``Certificate``: data, not text.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

from gradcert.properties.candidates import targets
from gradcert.properties.candidates.base import Unchecked
from gradcert.properties.candidates.interface import detect
from gradcert.properties.candidates.process import Worker
from gradcert.properties.candidates.remote import Remote
from gradcert.properties.candidates.verdicts import CandidateFailure, Declined
from gradcert.properties.certificate import Certificate, Failure, OracleResult
from gradcert.properties.certify import Disagreement
from gradcert.properties.errors import TargetError
from gradcert.properties.options import Options
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import Flaky

PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink)  # no "explain": it re-runs the case


def run(target=None, options=None, *, progress=None) -> Certificate:
    """Certify ``target`` under ``options``; UsageError/TargetError for what cannot be checked at all."""
    options = options or Options()
    start = time.perf_counter()
    name = _display_name(target)
    with contextlib.ExitStack() as stack:
        stack.enter_context(_hypothesis_storage())
        try:
            checker, worker = _open(target, options, name, stack)
        except CandidateFailure as failure:  # the import itself crashed, exited or hung
            cert = Certificate(
                name,
                getattr(failure, "style", None) or "?",  # "?": its import did not finish
                failure.verdict,
                examples=options.examples,
                seed=options.seed,
                failure=_misbehaviour_record(failure, None, None),
            )
            cert.reproduce = _reproduce_command(target, options)
            cert.seconds = time.perf_counter() - start
            return cert
        cert = Certificate(
            name,
            checker.style,
            "certified",
            examples=options.examples,
            seed=options.seed,
            oracles={n: OracleResult(n) for n in checker.oracles},
            isolated=worker is None or worker.isolated,
        )
        failing = _search(checker, options, cert, progress, start)
        checker.close()
        if cert.failure is None:  # a black box whose judged function never moved (candidates.history)
            vacuous, unmoved = getattr(checker, "vacuous", None), getattr(checker, "unmoved", None)
            if vacuous:  # nothing was checked but a zero gradient
                cert.verdict = "cannot check"
                cert.failure = Failure("cannot check", vacuous)
            elif unmoved:
                checker.note(unmoved)
        cert.notes, cert.tensors = list(checker.notes), list(checker.tensors)
        if worker is not None and not worker.isolated:
            cert.notes.append(
                "the candidate ran in gradcert's own process (no worker could be started "
                "here): a crash or hang of it is not contained"
            )
        if cert.failure is not None:
            # checker.options: a checker may have inferred an option (network2's cost)
            cert.reproduce = _reproduce_command(target, checker.options, checker, failing)
        cert.seconds = time.perf_counter() - start
        return cert


@contextlib.contextmanager
def _hypothesis_storage():
    """Hypothesis caches what it reads of local source files under ``./.hypothesis``; during a check
    that cache lives in a temporary directory of gradcert's, removed after, and the caller's setting
    is put back -- unless the user chose a storage directory (HYPOTHESIS_STORAGE_DIRECTORY)."""
    import tempfile

    from hypothesis import configuration

    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        yield
        return
    previous = getattr(configuration, "__hypothesis_home_directory", None)  # module-level: not mangled
    with tempfile.TemporaryDirectory(prefix="gradcert-hypothesis-") as home:
        configuration.set_hypothesis_home_dir(home)
        try:
            yield
        finally:
            configuration.set_hypothesis_home_dir(previous)


def _display_name(target):
    if target is None:
        return "gradcert.reference.Network.backprop"
    if isinstance(target, str):
        return target
    return getattr(target, "__qualname__", None) or type(target).__qualname__


def _open(target, options, name, stack):
    """(checker, worker) for the target, its style detected and the options checked against it."""
    from gradcert.properties.candidates.function import ReferenceChecker

    if target is None:
        options.applicable("reference")
        return ReferenceChecker(options), None
    worker, loaded = _load(target, options, stack)
    interface = detect(loaded, options.style)
    options.applicable(interface.style)
    remote = Remote(worker)
    try:
        return _checker(interface, options, name, remote), worker
    except CandidateFailure as failure:  # building or probing it misbehaved: its style is known
        failure.style = interface.style
        raise


def _load(target, options, stack):
    if isinstance(target, str):
        spec = targets.parse(target)
        worker = stack.enter_context(Worker(timeout=options.timeout))
        reply = worker.request(spec.load_request(), what=f"importing {spec.file or spec.module}")
        if reply.get("status") != "ok":
            raise targets.load_failure(spec, reply)
        return worker, reply["value"]
    source = _importable(target)
    if source is not None:  # a module can import it again: a fresh process, fully isolated
        return _load(source, options, stack)
    mode = "fork" if hasattr(os, "fork") else "in_process"
    worker = stack.enter_context(Worker(timeout=options.timeout, mode=mode, objects={0: target}))
    reply = worker.request({"op": "describe", "target": _ref0()}, what=f"describing {_display_name(target)}")
    if reply.get("status") != "ok":
        raise TargetError(f"{_display_name(target)} could not be described: {reply.get('message')}")
    return worker, {"pair": None, "describe": reply["value"]}


def _ref0():
    from gradcert.properties.candidates.remote import TARGET

    return TARGET


def _importable(obj):
    """'path/to/file.py:Qualname' when the object's own module, imported afresh, gives this very
    object; None for one defined in a function, in __main__, or interactively."""
    module = sys.modules.get(getattr(obj, "__module__", None) or "")
    qualname = getattr(obj, "__qualname__", None)
    if module is None or not qualname or "<locals>" in qualname or module.__name__ == "__main__":
        return None
    if not isinstance(obj, type) and not callable(obj) or type(obj).__name__ == "partial":
        return None
    file = getattr(module, "__file__", None)
    if not file or not file.endswith(".py"):
        return None
    found = module
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if found is not obj:
        return None
    expected, _ = targets.dotted_name(targets.Path(file).resolve())
    if expected != module.__name__:
        return None  # imported under another name (pytest's importlib mode): fork instead
    return f"{file}:{qualname}"


def _checker(interface, options, name, remote):
    from gradcert.properties.candidates.function import FunctionChecker
    from gradcert.properties.candidates.network import NetworkChecker

    style = interface.style
    if style == "network":
        return NetworkChecker(options, name, remote, interface)
    if style == "function":
        return FunctionChecker(options, name, remote, interface)
    if style in ("layer", "pair", "model") or (style == "step" and interface.forward):
        from gradcert.properties.candidates import blackbox

        return blackbox.checker(interface, options, name, remote)
    if style == "step":
        return NetworkChecker(options, name, remote, interface, step_only=True)
    if style == "engine":
        from gradcert.properties.candidates.engine import EngineChecker

        return EngineChecker(options, name, remote, interface)
    raise TargetError(f"{name}: no checker for style {style!r}")


def _search(checker, options, cert, progress, start):
    """The Hypothesis search; fills ``cert`` (verdict, failure, tallies, counts) and returns the
    failing case (None when there is none)."""
    state = {"broken": None, "case": None}
    strategy = (
        st.just(checker.pinned(options.case_seed)) if options.case_seed is not None else checker.strategy()
    )

    @hypothesis_seed(options.seed)
    @settings(
        max_examples=options.examples,
        database=None,
        deadline=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        report_multiple_bugs=False,
        verbosity=Verbosity.quiet,
        phases=PHASES,
    )
    @given(strategy)
    def body(case):
        if state["broken"] is not None:
            raise state["broken"]
        cert.examples_run += 1
        try:
            comparisons = checker.check(case)
        except Declined:
            cert.declined += 1
            return
        except Unchecked:
            cert.unchecked += 1
            return
        except CandidateFailure as failure:
            state["broken"], state["case"] = failure, case
            cert.first_failure_at = cert.first_failure_at or cert.examples_run
            raise
        except Disagreement:
            cert.first_failure_at = cert.first_failure_at or cert.examples_run
            raise
        for comparison in comparisons:
            cert.oracles.setdefault(comparison.oracle, OracleResult(comparison.oracle)).add(comparison, case)
        if progress is not None:
            progress(
                cert.examples_run, options.examples, time.perf_counter() - start, ", ".join(checker.oracles)
            )

    failing = None
    try:
        body()
    except Disagreement as failure:  # Hypothesis re-raises the shrunk, minimal case
        if hasattr(failure.case, "arch"):  # a network's case: every oracle is asked about it
            failure.ask_every_oracle(checker.oracles)
        cert.verdict = "gradient bug"
        cert.failure = _bug_record(checker, failure)
        failing = failure.outer
    except CandidateFailure as failure:
        cert.verdict = failure.verdict
        cert.failure = _misbehaviour_record(failure, state["case"], checker)
        failing = state["case"]
    except Flaky as error:
        cert.verdict = "non-deterministic"
        cert.failure = Failure(
            "non-deterministic",
            f"{checker.name} failed on a case and then passed on the "
            f"same case ({type(error).__name__}): its result is not a function of its input",
        )
    ran = cert.examples_run - cert.declined - cert.unchecked
    if cert.failure is None and ran == 0 and cert.unchecked:
        cert.verdict = "cannot check"
        cert.failure = Failure(
            "cannot check",
            f"no oracle could compute the gradient of any of the "
            f"{cert.unchecked} drawn cases of {checker.name}",
        )
    elif cert.failure is None and ran == 0:
        cert.verdict = "cannot check"
        cert.failure = Failure(
            "cannot check",
            f"{checker.name} declined all {cert.declined} drawn cases "
            "(NotImplementedError): declare what it supports (--activation, --cost, --l2, "
            "--batch-norm, --sizes)",
        )
    if cert.failure is None and cert.declined:
        checker.note(
            f"{cert.declined} of {cert.examples_run} drawn cases were declined (NotImplementedError)"
        )
    if cert.failure is None and cert.unchecked:
        checker.note(
            f"{cert.unchecked} of {cert.examples_run} drawn cases no oracle could compute (a log of an "
            "output rounded to 0 or 1): not judged"
        )
    return failing


def _case_record(case):
    if case is None:
        return None
    record = getattr(case, "record", None)
    if callable(record):
        return record()
    return {"architecture": case.arch.to_dict(), "batch": case.m, "seed": case.seed}


def _misbehaviour_record(failure, case, checker):
    return Failure(
        failure.verdict,
        failure.message,
        case=_case_record(case),
        case_text=case.describe() if case is not None else "",
        detail=failure.detail,
        output=failure.output,
    )


def _bug_record(checker, failure):
    from gradcert.properties.frontends.report import comparison_record, tensor_record

    bad = [c for c in failure.comparisons if c.status == "bug"]
    first = bad[0].first_disagreement
    record = Failure(
        "gradient bug",
        f"{failure.part}: {first.name} disagrees with {bad[0].oracle}",
        part=failure.part,
        case=_case_record(failure.outer),
        case_text=failure.outer.describe(),
        first_disagreement=tensor_record(first),
        comparisons=[comparison_record(c) for c in failure.comparisons],
        oracles_against=[c.oracle for c in bad],
        dtype=str(failure.dtype),
    )
    record.context = getattr(failure, "context", None)
    diagnosis = getattr(failure, "diagnosis", None)
    if diagnosis is None and hasattr(failure.case, "arch") and not failure.directional:
        from gradcert.properties.diagnose import diagnose

        diagnosis = diagnose(failure)
    if diagnosis is not None:
        record.equation, record.signature = diagnosis.equation, diagnosis.signature
        record.diagnosis = diagnosis.explanation or None
        record.suggestion = getattr(diagnosis, "suggestion", None)
    return record


def _reproduce_command(target, options, checker=None, case=None):
    """The command that checks exactly the failing case again (its architecture, batch and seed pinned)."""
    if checker is not None and case is not None and getattr(case, "seed", None) is not None:
        options = options.replace(**checker.reproduce(case))
    if target is None:
        return options.command()
    if isinstance(target, str):
        return options.command(target)
    arguments = ", ".join([_display_name(target)] + [f"{k}={v!r}" for k, v in options.given().items()])
    return f"gradcert.check({arguments})"


@contextlib.contextmanager
def checker_for(target, options=None):
    """The checker of ``target`` (its worker started, its target loaded), for driving it case by case
    in one's own tests: ``checker.check(case)`` raises on a disagreement or a misbehaviour."""
    with contextlib.ExitStack() as stack:
        checker, _ = _open(target, options or Options(), _display_name(target), stack)
        yield checker
