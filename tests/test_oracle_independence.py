"""The oracles judge the reference, so they must not share its math (DESIGN.md); and every
oracle computation lives in oracles/, nowhere else."""

import ast
import pathlib

import pytest

from gradcert import oracles
from gradcert import properties as properties_package

ORACLE_DIR = pathlib.Path(oracles.__file__).parent
PROPERTIES_DIR = pathlib.Path(properties_package.__file__).parent
# The only thing oracles may take from the reference package: the plain description.
ALLOWED_FROM_REFERENCE = {"gradcert.reference.architecture"}
# ... and from the properties package: the one exception family.
ALLOWED_FROM_PROPERTIES = {"gradcert.properties.errors"}
# What computes an oracle value: the frameworks, and the oracles' own forward pass and
# per-activation definitions.  Outside oracles/ nothing imports them (an oracle module
# itself may be imported: its gradient() and slopes() are the way to an oracle value).
ORACLE_MATH = ("torch", "jax", "gradcert.oracles.numpy_cost", "gradcert.oracles.activations")


def imported_modules(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            # "from gradcert.oracles import numpy_cost" imports gradcert.oracles.numpy_cost
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _within(module, names):
    return any(module == name or module.startswith(name + ".") for name in names)


def offending(directory, rule):
    """"file: module" for every import below ``directory`` that ``rule(module)`` forbids."""
    return sorted(f"{path.relative_to(directory)}: {module}" for path in directory.rglob("*.py")
                  for module in imported_modules(path) if rule(module))


def test_no_oracle_imports_the_reference_math():
    found = offending(ORACLE_DIR, lambda module: module.startswith("gradcert.reference")
                      and not _within(module, ALLOWED_FROM_REFERENCE))
    assert not found, f"oracles import the reference's math: {found}"


def test_no_oracle_depends_on_the_properties():
    found = offending(ORACLE_DIR, lambda module: module.startswith("gradcert.properties")
                      and not _within(module, ALLOWED_FROM_PROPERTIES))
    assert not found, f"oracles import the properties: {found}"


def test_nothing_outside_the_oracles_computes_an_oracle_value():
    # properties/ (the directional mode included: it keeps direction drawing,
    # projections, tolerances and verdicts) reaches oracle values only through the
    # oracles' own functions: gradient(), slopes(), the landscape's evaluations.
    found = offending(PROPERTIES_DIR, lambda module: _within(module, ORACLE_MATH))
    assert not found, f"oracle computations outside oracles/: {found}"


@pytest.mark.parametrize("source, expected", [
    ("from gradcert.reference.network import Network\nimport gradcert.reference.costs\n",
     {"gradcert.reference.network", "gradcert.reference.network.Network", "gradcert.reference.costs"}),
    ("from gradcert.oracles import numpy_cost\n", {"gradcert.oracles", "gradcert.oracles.numpy_cost"}),
    ("def f():\n    import torch.func\n", {"torch.func"}),
])
def test_the_checks_see_imports(tmp_path, source, expected):
    # The guards above must be able to fail: imports at any depth, in either form, are seen,
    # and each guard's rule matches them.
    bad = tmp_path / "bad.py"
    bad.write_text(source)
    found = set(imported_modules(bad))
    assert found == expected
    assert offending(tmp_path, lambda m: _within(m, ORACLE_MATH) or m.startswith("gradcert.reference."))
