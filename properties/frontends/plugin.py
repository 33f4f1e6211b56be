"""The pytest plugin: certify implementations inside your own test run.

    pytest --gradcert-target=pkg.mod:Name --gradcert-cost=cross-entropy

or in ``pyproject.toml``::

    [tool.pytest.ini_options]
    gradcert_target = ["pkg/network.py:Network", "pkg/layers.py:Softmax"]
    gradcert_cost = "cross-entropy"

Each target is one test item, ``gradcert::<target>``, that runs the same check as
``gradcert check`` (the same ``Options``, the same runner, the candidate in its own worker
process) and fails with the same report.  Every option of ``gradcert check`` is a
``--gradcert-<option>`` flag and a ``gradcert_<option>`` ini key; a flag wins over the ini file.
Bad values are a usage error when pytest starts, not a failed test.  Without a target the plugin
does nothing, and loading it imports neither NumPy nor Hypothesis, torch or JAX.
"""

from __future__ import annotations

import pytest
from gradcert.properties.options import SPECS

SWITCHES = {  # flag -> (option, value): the CLI's shortcuts
    "exhaustive": ("mode", "exhaustive"),
    "directional": ("mode", "directional"),
    "rows": ("layout", "rows"),
    "columns": ("layout", "columns"),
}


def _dest(name):
    return f"gradcert_{name}"


def pytest_addoption(parser):
    group = parser.getgroup("gradcert", "certify backpropagation implementations (gradcert)")
    group.addoption(
        "--gradcert-target",
        dest=_dest("target"),
        action="append",
        default=None,
        metavar="TARGET",
        help="package.module:Name or path/to/file.py:Name to certify (repeatable)",
    )
    parser.addini("gradcert_target", "targets to certify, one test item each", type="linelist", default=[])
    for spec in SPECS:
        if spec.name == "batch_norm":
            group.addoption(
                f"--gradcert-{spec.flag[2:]}",
                dest=_dest(spec.name),
                nargs="?",
                const="draw",
                default=None,
                metavar=spec.metavar,
                help=spec.help,
            )
        else:
            group.addoption(
                f"--gradcert-{spec.flag[2:]}",
                dest=_dest(spec.name),
                default=None,
                metavar=spec.metavar,
                help=spec.help,
            )
        parser.addini(_dest(spec.name), spec.help, default=None)
    for switch, (name, value) in SWITCHES.items():
        group.addoption(
            f"--gradcert-{switch}",
            dest=_dest(switch),
            action="store_true",
            default=False,
            help=f"same as --gradcert-{name}={value}",
        )


def _targets(config):
    return list(config.getoption(_dest("target")) or []) or list(config.getini("gradcert_target") or [])


def options_from(config):
    """The run's ``Options``: flags first, then the ini file (a UsageError names a bad value)."""
    from gradcert.properties.options import Options

    given = {}
    for spec in SPECS:
        value = config.getoption(_dest(spec.name))
        if value is None:
            value = config.getini(_dest(spec.name))
        if value not in (None, ""):
            given[spec.name] = value
    for switch, (name, value) in SWITCHES.items():
        if config.getoption(_dest(switch)):
            given[name] = value
    return Options.build(**given)


def pytest_configure(config):
    if not _targets(config):
        return
    from gradcert.properties.candidates import targets
    from gradcert.properties.errors import GradcertError

    try:
        config._gradcert_options = options_from(config)
        for target in _targets(config):
            targets.parse(target)  # a malformed target or a missing file: refused before the run
    except GradcertError as error:
        raise pytest.UsageError(f"gradcert: {error}") from None


def pytest_collection_modifyitems(session, config, items):
    found = _targets(config)
    if not found:
        return
    collector = GradcertCollector.from_parent(session, name="gradcert", nodeid="gradcert")
    items.extend(GradcertItem.from_parent(collector, name=target, target=target) for target in found)


class GradcertCollector(pytest.Collector):
    """The parent of the gradcert items, so that each has a node id (and a JUnit classname)."""

    def collect(self):
        return []


class GradcertFailure(Exception):
    """The certification failed; carries the report text."""


class GradcertItem(pytest.Item):
    def __init__(self, *, target, **kwargs):
        super().__init__(**kwargs)
        self.target = target

    def runtest(self):
        from gradcert.properties import runner
        from gradcert.properties.errors import GradcertError
        from gradcert.properties.frontends import report

        try:
            cert = runner.run(self.target, self.config._gradcert_options)
        except GradcertError as error:
            raise GradcertFailure(f"gradcert could not check: {error}") from None
        text = report.to_text(cert)
        if not cert.certified:
            raise GradcertFailure(text)
        self.user_properties.append(("gradcert", text))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, GradcertFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, f"gradcert[{self.target}]"
