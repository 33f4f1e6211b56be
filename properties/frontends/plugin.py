"""The pytest plugin: ``pytest --gradcert-target=pkg.mod:Name`` certifies inside your own suite.

Registered under ``[project.entry-points.pytest11]``.  It adds one test item,
``gradcert[<target>]``, that runs the same certification as ``gradcert check``
and fails with the same report.  Without ``--gradcert-target`` it does
nothing; numpy, Hypothesis, torch and jax are imported only when it runs.
"""

from __future__ import annotations

import pytest

_OPTIONS = {  # pytest option -> (gradcert check flag, help)
    "target": ("target", "package.module:Name or path/to/file.py:Name to certify"),
    "cost": ("--cost", "the cost the target implements (see gradcert check --help)"),
    "activation": ("--activation", "the activation the target implements"),
    "sizes": ("--sizes", "fix the architecture, e.g. 784,30,10"),
    "batch": ("--batch", "largest batch drawn"),
    "examples": ("--examples", "drawn cases"),
    "seed": ("--seed", "seed of the drawn cases"),
    "oracles": ("--oracles", "comma-separated oracles"),
    "timeout": ("--timeout", "seconds per call to the target"),
}


def pytest_addoption(parser):
    group = parser.getgroup("gradcert", "certify a backpropagation implementation")
    for name, (_, text) in _OPTIONS.items():
        group.addoption(f"--gradcert-{name}", dest=f"gradcert_{name}", default=None, help=text)
    group.addoption("--gradcert-rows", dest="gradcert_rows", action="store_true",
                    help="a layer target takes row-major batches")


def check_argv(config):
    """The ``gradcert check`` arguments equivalent to this run's options."""
    argv = ["check"]
    for name, (flag, _) in _OPTIONS.items():
        value = config.getoption(f"gradcert_{name}")
        if value is None:
            continue
        argv += [value] if flag == "target" else [flag, value]
    if config.getoption("gradcert_rows"):
        argv.append("--rows")
    return argv


def pytest_collection_modifyitems(session, config, items):
    target = config.getoption("gradcert_target")
    if target:
        items.append(GradcertItem.from_parent(session, name=f"gradcert[{target}]", argv=check_argv(config)))


class GradcertFailure(Exception):
    """The certification failed; carries the report text."""


class GradcertItem(pytest.Item):
    def __init__(self, *, argv, **kwargs):
        super().__init__(**kwargs)
        self.argv = argv

    def runtest(self):
        from gradcert.properties.candidates.calls import CannotCheck
        from gradcert.properties.frontends import cli, report

        try:
            args = cli._parser().parse_args(self.argv)
            cert = cli.run_check(args)
        except (cli.UsageError, CannotCheck) as error:
            raise GradcertFailure(f"gradcert could not check: {error}") from None
        if not cert.certified:
            raise GradcertFailure(report.to_text(cert, self.argv))
        self.user_properties.append(("gradcert", report.to_text(cert, self.argv)))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, GradcertFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, self.name
