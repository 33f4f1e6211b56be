"""What a check found, as data: the verdict, what each oracle saw, the failure, how to reproduce it.

``Certificate`` is what ``gradcert.check`` returns and what every report (text, JSON, JUnit) is
written from.  ``raise_for_verdict()`` turns it into an exception for tests:
``CertificationError`` (an AssertionError) when the candidate was not certified, ``CannotCheck``
when nothing could be checked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from gradcert.properties.errors import CannotCheck, CertificationError

EXIT_CODES = {"certified": 0, "cannot check": 2}  # every other verdict is 1: a bug, or a misbehaviour


@dataclass
class OracleResult:
    """What one oracle saw over all cases."""

    oracle: str
    cases: int = 0
    worst_rel_error: float = 0.0
    worst_case: str = ""

    def add(self, comparison, case):
        self.cases += 1
        if comparison.max_rel_error >= self.worst_rel_error:
            self.worst_rel_error, self.worst_case = comparison.max_rel_error, case.describe()


@dataclass
class Failure:
    """Why a candidate was not certified (plain data, the report's source)."""

    verdict: str
    message: str  # one line
    part: str | None = None  # backprop, update_mini_batch, backward, loss, ...
    case: dict | None = None  # the smallest failing case, as data that rebuilds it
    case_text: str = ""
    first_disagreement: dict | None = None  # the first tensor that disagrees
    equation: str | None = None  # which of BP1-BP4 fails
    signature: str | None = None  # a known bug's name
    diagnosis: str | None = None  # ... in words
    suggestion: str | None = None  # e.g. "matches cross-entropy: rerun with --cost cross-entropy"
    context: str | None = None  # the call that was judged, where the part alone does not say it
    comparisons: list = field(default_factory=list)  # per oracle: tensors and their errors
    oracles_against: list = field(default_factory=list)
    dtype: str | None = None
    detail: str = ""  # the candidate's traceback
    output: str = ""  # the last lines the candidate printed


@dataclass
class Certificate:
    target: str  # as given
    style: str
    verdict: str
    oracles: dict = field(default_factory=dict)  # name -> OracleResult
    failure: Failure | None = None
    reproduce: str | None = None
    tensors: list = field(default_factory=list)  # every tensor checked
    notes: list = field(default_factory=list)  # what the report must say besides the verdict
    examples: int = 0
    examples_run: int = 0
    declined: int = 0  # cases the candidate declined (NotImplementedError)
    unchecked: int = 0  # cases no oracle could compute
    first_failure_at: int | None = None
    seed: int = 0
    seconds: float = 0.0
    isolated: bool = True  # False when the candidate ran in gradcert's own process

    @property
    def certified(self) -> bool:
        return self.verdict == "certified"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.verdict, 1)

    def raise_for_verdict(self):
        """Return self when certified; otherwise raise CertificationError (CannotCheck for exit code 2)."""
        if self.certified:
            return self
        from gradcert.properties.frontends.report import to_text

        if self.verdict == "cannot check":
            raise CannotCheck(self.failure.message if self.failure else "nothing could be checked")
        raise CertificationError(to_text(self), certificate=self)

    def to_dict(self) -> dict:
        """Strict-JSON data: every float finite, or None beside a ``*_note`` saying what it was."""
        from gradcert.properties.frontends.report import to_record

        return to_record(self)


def finite_or_note(record):
    """``record`` with every non-finite float replaced by None and a sibling ``<key>_note``."""
    if isinstance(record, dict):
        out = {}
        for key, value in record.items():
            if isinstance(value, float) and not math.isfinite(value):
                out[key] = None
                out[f"{key}_note"] = "infinite" if value > 0 else "-infinite" if value < 0 else "not a number"
            else:
                out[key] = finite_or_note(value)
        return out
    if isinstance(record, list):
        return [None if isinstance(v, float) and not math.isfinite(v) else finite_or_note(v) for v in record]
    return record
