"""gradcert as a guest in someone else's project: the wheel, installed into a fresh environment.

The user's project has its own ``properties.py``, ``reference.py`` (a network with a gradient
bug) and ``oracles/`` package -- the names gradcert's folders had before they became
``gradcert.*``.  Its own test suite must pass untouched with gradcert's plugin installed;
``gradcert check reference:Network`` must check the user's code (and find its bug); the plugin
must add one item that fails beside the user's passing tests; nothing may be left behind.
"""

import os
import pathlib
import shutil
import site
import subprocess
import sys
import tarfile
import textwrap
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", "build", "dist", "*.egg-info", ".hypothesis", ".pytest_cache"
)

USER_FILES = {
    "properties.py": "DENSITY = 1.0\n",
    "oracles/__init__.py": "def answer():\n    return 42\n",
    "reference.py": textwrap.dedent("""\
        import numpy as np


        def sigmoid(z):
            return 1.0 / (1.0 + np.exp(-z))


        class Network:
            def __init__(self, sizes):
                self.sizes = sizes
                self.weights = [np.zeros((n, k)) for k, n in zip(sizes[:-1], sizes[1:])]
                self.biases = [np.zeros((n, 1)) for n in sizes[1:]]

            def backprop(self, x, y):
                activation, activations, zs = x, [x], []
                for w, b in zip(self.weights, self.biases):
                    zs.append(w @ activation + b)
                    activation = sigmoid(zs[-1])
                    activations.append(activation)
                delta = activations[-1] - y  # the bug: sigma'(z^L) left out
                nabla_b, nabla_w = [None] * len(self.weights), [None] * len(self.weights)
                for i in reversed(range(len(self.weights))):
                    nabla_b[i], nabla_w[i] = delta, delta @ activations[i].T
                    if i:
                        s = sigmoid(zs[i - 1])
                        delta = (self.weights[i].T @ delta) * s * (1 - s)
                return nabla_b, nabla_w
        """),
    "tests/test_own.py": textwrap.dedent("""\
        from oracles import answer
        from properties import DENSITY


        def test_their_properties_module_is_theirs():
            assert DENSITY == 1.0


        def test_their_oracles_package_is_theirs():
            assert answer() == 42
        """),
    "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["."]\n',
}


def run(*argv, cwd, env=None, timeout=300):
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python of a fresh venv with the wheel installed, the wheel's path)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=IGNORED)  # built from a copy: nothing left in the clone
    built = run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        str(work / "dist"),
        str(source),
        cwd=work,
    )
    assert built.returncode == 0, built.stderr
    wheel = next((work / "dist").glob("gradcert-*.whl"))
    venv = work / "venv"
    assert run(sys.executable, "-m", "venv", "--without-pip", str(venv), cwd=work).returncode == 0
    python = venv / "bin" / "python"
    done = run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        str(python),
        "install",
        "--no-deps",
        "--no-index",
        "-q",
        str(wheel),
        cwd=work,
    )
    assert done.returncode == 0, done.stderr
    # numpy, Hypothesis, pytest (and torch, jax) from this environment, without its editable gradcert:
    # a path line in a .pth file is put on sys.path, but the .pth files found there are not run.
    packages = run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=work)
    ours = pathlib.Path(packages.stdout.strip())
    (ours / "zz_parent_packages.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return python, wheel


def test_the_wheel_installs_one_import_name(installed):
    _, wheel = installed
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {t for t in tops if not t.endswith((".dist-info", ".data"))} == {"gradcert"}
    metadata = (
        zipfile.ZipFile(wheel)
        .read(next(n for n in zipfile.ZipFile(wheel).namelist() if n.endswith("METADATA")))
        .decode()
    )
    import gradcert

    assert f"Version: {gradcert.__version__}" in metadata and "License-Expression: MIT" in metadata


@pytest.fixture
def project(tmp_path):
    for name, text in USER_FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def listing(directory):
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if "__pycache__" not in p.parts)


def test_the_users_own_suite_passes_with_gradcert_installed(installed, project):
    python, _ = installed
    result = run(str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    header = run(str(python), "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", cwd=project)
    assert "gradcert" not in header.stdout  # the plugin adds nothing without a target


@pytest.mark.parametrize("pythonpath", [False, True])
def test_gradcert_check_checks_the_users_reference_py(installed, project, pythonpath):
    python, _ = installed
    env = dict(os.environ, PYTHONPATH=".") if pythonpath else None
    before = listing(project)
    result = run(
        str(python.parent / "gradcert"),
        "check",
        "reference:Network",
        "--oracles",
        "finite-diff",
        "--examples",
        "10",
        cwd=project,
        env=env,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BUG in backprop" in result.stdout and "sigma'(z) is missing" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert listing(project) == before  # no file left in the user's directory
    where = run(str(python), "-c", "import gradcert; print(gradcert.__file__)", cwd=project, env=env)
    assert where.stdout.strip().startswith(str(python.parents[1]))  # the wheel's gradcert, not the clone's


def test_the_plugin_fails_the_buggy_target_beside_the_users_passing_tests(installed, project):
    python, _ = installed
    result = run(
        str(python),
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--gradcert-target=reference:Network",
        "--gradcert-oracles=finite-diff",
        "--gradcert-examples=10",
        cwd=project,
    )
    assert result.returncode == 1
    assert "2 passed" in result.stdout and "1 failed" in result.stdout, result.stdout
    assert "BUG in backprop" in result.stdout


def test_the_sdist_carries_its_tests(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=IGNORED)
    built = run(
        sys.executable, "-c", "from setuptools import build_meta; build_meta.build_sdist('dist')", cwd=source
    )
    assert built.returncode == 0, built.stderr
    names = tarfile.open(next((source / "dist").glob("gradcert-*.tar.gz"))).getnames()
    for needed in (
        "tests/zoo/catalogue.py",
        "conftest.py",
        "constraints.txt",
        "LICENSE",
        "tests/test_zoo.py",
    ):
        assert any(name.endswith("/" + needed) for name in names), needed
