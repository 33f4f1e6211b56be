"""The oracles judge the reference, so they must not share its math (DESIGN.md)."""

import ast
import pathlib

from gradcert import oracles

ORACLE_DIR = pathlib.Path(oracles.__file__).parent
# The only thing oracles may take from the reference package: the plain description.
ALLOWED_FROM_REFERENCE = {"gradcert.reference.architecture"}


def imported_modules(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_no_oracle_imports_the_reference_math():
    offending = {
        f"{path.name}: {module}"
        for path in ORACLE_DIR.glob("*.py")
        for module in imported_modules(path)
        if module.startswith("gradcert.reference") and module not in ALLOWED_FROM_REFERENCE
    }
    assert not offending, f"oracles import the reference's math: {sorted(offending)}"


def test_the_check_sees_imports(tmp_path):
    # The guard above must be able to fail: a file importing the reference is caught.
    bad = tmp_path / "bad.py"
    bad.write_text("from gradcert.reference.network import Network\nimport gradcert.reference.costs\n")
    assert set(imported_modules(bad)) == {"gradcert.reference.network", "gradcert.reference.costs"}
