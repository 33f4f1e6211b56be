"""The assumption map end to end: ``assumption_map`` and ``gradcert assumptions`` (issue 3).

The map is run once, on fewer cases per column than the command's default (a
break, where there is one, shows in most columns within the first few draws),
and every test below reads that one map.
"""

from __future__ import annotations

import argparse
import json
import sys

import pytest
from gradcert.properties.assumptions import map as assumptions
from gradcert.properties.strategies import case_from_seed
from gradcert.reference import Architecture

EXAMPLES = 25  # per column; the command's default is 200
KEYS = {"assumption", "activation", "cost", "feature", "holds", "max_rel_error", "counterexample"}
COUNTEREXAMPLE_KEYS = {"sizes", "activations", "cost", "l2", "batch_norm", "m"}


@pytest.fixture(scope="module")
def records():
    return assumptions.assumption_map(examples=EXAMPLES, seed=0)


def namespace(**overrides):
    """The arguments ``gradcert assumptions`` parses, with its defaults."""
    parser = assumptions.add_arguments(argparse.ArgumentParser(prog="gradcert assumptions"))
    args = parser.parse_args([])
    args.jobs = 1  # in this process: the test is about the map, not the worker pool
    for name, value in overrides.items():
        setattr(args, name, value)
    return args


def cells(records, assumption):
    return [r for r in records if r["assumption"] == assumption]


def cell_of(record):
    return record["assumption"], record["activation"], record["cost"], record["feature"]


def test_every_cell_has_a_record_with_the_documented_keys(records):
    columns = assumptions.columns()
    assert len(records) == len(assumptions.ASSUMPTIONS) * len(columns)
    assert {(r["activation"], r["cost"], r["feature"]) for r in records} == set(columns)
    for r in records:
        assert KEYS <= set(r), r
        assert r["examples"] == EXAMPLES
        assert (r["counterexample"] is None) == r["holds"], r
        assert r["max_rel_error"] is None or r["max_rel_error"] >= 0.0
    # Every activation, every cost and every feature has its columns, drawn from the strategies.
    assert {r["activation"] for r in records} == {"linear", "sigmoid", "tanh", "relu", "leaky_relu",
                                                  "softplus", "softmax"}
    assert {r["cost"] for r in records} == {"quadratic", "cross-entropy", "log-likelihood"}
    assert {r["feature"] for r in records} == set(assumptions.FEATURES)


def test_the_elementwise_assumption_breaks_exactly_for_softmax(records):
    for r in cells(records, "elementwise"):
        assert r["holds"] == (r["activation"] != "softmax"), r


def test_separability_breaks_exactly_with_batch_norm(records):
    for r in cells(records, "separable"):
        assert r["holds"] == (r["feature"] != "batch_norm"), r


def test_a_cost_of_the_outputs_alone_breaks_exactly_with_l2(records):
    for r in cells(records, "outputs-alone"):
        assert r["holds"] == (r["feature"] != "l2"), r


def test_where_an_assumption_holds_the_error_is_rounding(records):
    # The largest relative error where the shortcut agreed is below the rounding bound's
    # relative size gamma_N (N < 200 for these networks: ~2e-14), far below any break.
    for r in records:
        if r["holds"]:
            assert r["max_rel_error"] < 200 * assumptions.np.finfo(float).eps, r


def test_counterexamples_are_minimal_and_rebuild(records):
    for r in records:
        c = r["counterexample"]
        if c is None:
            continue
        assert COUNTEREXAMPLE_KEYS <= set(c), c
        # Shrunk to what the break needs: two examples for separability, one otherwise.
        if r["assumption"] == "separable":
            assert c["m"] == 2 and any(c["batch_norm"]), c
        elif r["assumption"] == "outputs-alone":
            assert c["m"] == 1 and c["l2"] > 0 and c["tensor"].startswith("nabla_w"), c
        else:
            assert c["m"] == 1 and c["activations"].count("softmax") >= 1, c
        # The record rebuilds the very case, which breaks the assumption again.
        arch = Architecture(tuple(c["sizes"]), tuple(c["activations"]), c["cost"], c["l2"],
                            tuple(c["batch_norm"]))
        assert assumptions.breaks(r["assumption"], case_from_seed(arch, c["m"], c["seed"]))


def test_explain_names_the_one_feature_that_breaks_each_assumption(records):
    lines = assumptions.explain(records)
    assert lines == {"elementwise": "breaks exactly where activation=softmax",
                     "separable": "breaks exactly where feature=batch_norm",
                     "outputs-alone": "breaks exactly where feature=l2"}


def test_the_same_seed_gives_the_same_map(records):
    cell = [("separable", "tanh", "quadratic", "batch_norm")]
    again = assumptions.assumption_map(examples=EXAMPLES, seed=0, cells=cell)
    assert again == [r for r in records if cell_of(r) == cell[0]]


def test_worker_processes_draw_the_same_map():
    # Finite differences as the oracle, so that the new processes need not import torch.
    wanted = [("elementwise", "softmax", "quadratic", "none"),
              ("separable", "linear", "quadratic", "batch_norm")]
    here = assumptions.assumption_map(examples=10, seed=1, cells=wanted, oracle="finite-diff")
    parallel = assumptions.assumption_map(examples=10, seed=1, cells=wanted, oracle="finite-diff", jobs=2)
    assert parallel == here
    assert [r["holds"] for r in here] == [False, False]


def test_run_prints_json_records(capsys, monkeypatch, records):
    monkeypatch.setattr(assumptions, "assumption_map", lambda **kwargs: records)
    assert assumptions.run(namespace(json=True)) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(json.dumps(records))


def test_run_prints_the_map_as_text(capsys, monkeypatch, records):
    monkeypatch.setattr(assumptions, "assumption_map", lambda **kwargs: records)
    assert assumptions.run(namespace()) == 0
    out = capsys.readouterr().out
    assert "elementwise (seed 003)" in out and "breaks exactly where activation=softmax" in out
    assert out.count("BREAKS") == sum(not r["holds"] for r in records)


def test_run_draws_the_map_as_a_png(tmp_path, capsys, monkeypatch, records):
    pytest.importorskip("matplotlib")
    monkeypatch.setattr(assumptions, "assumption_map", lambda **kwargs: records)
    path = tmp_path / "map.png"
    assert assumptions.run(namespace(plot=str(path))) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(path) in capsys.readouterr().err


def test_run_without_matplotlib_names_the_fix(tmp_path, capsys, monkeypatch):
    # None in sys.modules makes `import matplotlib...` raise ImportError, as if it were missing.
    for name in ("matplotlib", "matplotlib.figure"):
        monkeypatch.setitem(sys.modules, name, None)
    called = []
    monkeypatch.setattr(assumptions, "assumption_map", lambda **kwargs: called.append(kwargs))
    assert assumptions.run(namespace(plot=str(tmp_path / "map.png"))) == 2
    err = capsys.readouterr().err
    assert "pip install 'gradcert[plot]'" in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and not called  # checked before any search


@pytest.mark.parametrize("plot, message", [("no/such/dir/map.png", "does not exist"),
                                           ("map.notaformat", "give a file name ending in")])
def test_run_rejects_a_plot_file_it_cannot_write(tmp_path, capsys, monkeypatch, plot, message):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(assumptions, "assumption_map", lambda **kwargs: pytest.fail("searched anyway"))
    assert assumptions.run(namespace(plot=plot)) == 2
    assert message in capsys.readouterr().err


def test_examples_must_be_positive():
    parser = assumptions.add_arguments(argparse.ArgumentParser())
    with pytest.raises(SystemExit):
        parser.parse_args(["--examples", "0"])
    assert parser.parse_args(["--examples", "7", "--seed", "3", "--json"]).examples == 7
