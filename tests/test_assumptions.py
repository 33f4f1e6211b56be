"""The assumption map end to end: ``assumption_map`` and ``gradcert assumptions`` (issues 3 and 14).

The map is searched once and every test below reads that one map.  Under the
default profiles it covers four (activation, cost) pairs (the simplest, a
softmax output with its log-likelihood, sigmoid with cross-entropy, relu) with
every feature, on fewer cases per column than the command's default (a break,
where there is one, shows in most columns within the first few draws); under
``HYPOTHESIS_PROFILE=thorough`` it is the whole map at the command's 200.  The
expected map below is asserted, not used: the search finds it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import pytest
from gradcert.properties.assumptions import map as assumptions
from gradcert.properties.assumptions.explain import EXPLAINABLE, explain_feature
from gradcert.properties.strategies import case_from_seed
from gradcert.reference import Architecture

THOROUGH = os.environ.get("HYPOTHESIS_PROFILE") == "thorough"
EXAMPLES = 200 if THOROUGH else 12  # per column; the command's default is 200
PAIRS = None if THOROUGH else {("linear", "quadratic"), ("softmax", "log-likelihood"),
                               ("sigmoid", "cross-entropy"), ("relu", "quadratic")}
KEYS = {"assumption", "activation", "cost", "feature", "holds", "max_rel_error", "counterexample", "repair"}
COUNTEREXAMPLE_KEYS = {"sizes", "activations", "cost", "l2", "batch_norm", "m", "seed", "arch"}

# The expected map (issue 14): which components break which assumption.  Dropout breaks nothing.
BREAKS = {"elementwise": lambda r: r["activation"] == "softmax" or r["feature"] in ("layer_norm", "maxout"),
          "separable": lambda r: r["feature"] == "batch_norm",
          "outputs-alone": lambda r: r["feature"] in ("l2", "l1", "activity"),
          "layered-chain": lambda r: r["feature"] == "residual",
          "single-use": lambda r: r["feature"] == "tied"}

# What each break's repair must name, found in the records (the reference's own repair terms).
REPAIRS = {("elementwise", "softmax"): "off-diagonal", ("elementwise", "layer_norm"): "other units",
           ("elementwise", "maxout"): "piece", ("separable", "batch_norm"): "other examples",
           ("outputs-alone", "l2"): "l2 * w", ("outputs-alone", "l1"): "l1 * sign(w)",
           ("outputs-alone", "activity"): "activity penalty", ("layered-chain", "residual"): "skip",
           ("single-use", "tied"): "sum over its uses"}

# The minimal counterexamples the issue names, in the simplest column that has each component.
MINIMAL = {("elementwise", "softmax", "log-likelihood", "none"): dict(sizes=[1, 2], m=1),
           ("elementwise", "linear", "quadratic", "layer_norm"): dict(sizes=[1, 2], m=1, layer_norm=[True]),
           ("elementwise", "linear", "quadratic", "maxout"): dict(sizes=[1, 1], m=1, maxout=[2]),
           ("separable", "linear", "quadratic", "batch_norm"): dict(sizes=[1, 1], m=2, batch_norm=[True]),
           ("outputs-alone", "linear", "quadratic", "l2"): dict(sizes=[1, 1], m=1),
           ("outputs-alone", "linear", "quadratic", "l1"): dict(sizes=[1, 1], m=1),
           ("outputs-alone", "linear", "quadratic", "activity"): dict(sizes=[1, 1, 1], m=1, activity_layer=0),
           ("layered-chain", "linear", "quadratic", "residual"): dict(sizes=[1, 1, 1], m=1, residual=[1]),
           ("single-use", "linear", "quadratic", "tied"): dict(sizes=[1, 1, 1], m=1, tied=[0, 1])}


def searched_cells():
    return [(name, *column) for column in assumptions.columns() for name in assumptions.ASSUMPTIONS
            if PAIRS is None or column[:2] in PAIRS]


@pytest.fixture(scope="module")
def records():
    return assumptions.assumption_map(examples=EXAMPLES, seed=0, cells=searched_cells())


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


def component_of(record):
    """The component a break is the repair of: softmax for the elementwise form in a softmax column
    (whatever its feature), else the column's feature."""
    if record["assumption"] == "elementwise" and record["activation"] == "softmax" \
            and record["feature"] not in ("layer_norm", "maxout"):
        return "softmax"
    return record["feature"]


def test_every_cell_has_a_record_with_the_documented_keys(records):
    assert len(records) == len(searched_cells())
    assert {cell_of(r) for r in records} == set(searched_cells())
    for r in records:
        assert KEYS <= set(r), r
        assert r["examples"] == EXAMPLES
        assert (r["counterexample"] is None) == r["holds"] == (r["repair"] is None), r
        assert r["max_rel_error"] is None or r["max_rel_error"] >= 0.0
    # Every feature has its columns, drawn from the strategies: the three of issue 3 and seven more.
    assert {r["feature"] for r in records} == set(assumptions.FEATURES)
    assert set(assumptions.FEATURES) == {"none", "batch_norm", "l2", "layer_norm", "l1", "dropout",
                                         "residual", "tied", "maxout", "activity"}
    assert set(assumptions.ASSUMPTIONS) == set(BREAKS)


@pytest.mark.parametrize("assumption", list(BREAKS))
def test_each_assumption_breaks_exactly_where_the_issue_says(records, assumption):
    for r in cells(records, assumption):
        assert r["holds"] == (not BREAKS[assumption](r)), r


def test_dropout_with_a_fixed_mask_breaks_nothing_but_what_softmax_breaks(records):
    for r in records:
        if r["feature"] == "dropout":
            assert r["holds"] == (r["assumption"] != "elementwise" or r["activation"] != "softmax"), r


def test_explain_names_the_components_that_break_each_assumption(records):
    assert assumptions.explain(records) == {
        "elementwise": "breaks exactly where activation=softmax or feature=layer_norm or feature=maxout",
        "separable": "breaks exactly where feature=batch_norm",
        "outputs-alone": "breaks exactly where feature=l2 or feature=l1 or feature=activity",
        "layered-chain": "breaks exactly where feature=residual",
        "single-use": "breaks exactly where feature=tied"}


def test_explain_says_when_no_attribute_explains_a_break():
    def record(holds, **cell):
        return {"assumption": "separable", "holds": holds, **cell}

    mixed = [record(False, activation="tanh", cost="quadratic", feature="l2"),
             record(True, activation="tanh", cost="quadratic", feature="none"),
             record(True, activation="relu", cost="quadratic", feature="l2")]
    assert assumptions.explain(mixed) == {"separable": "breaks in 1 of 3 cells"}


def test_where_an_assumption_holds_the_error_is_rounding(records):
    # The largest relative error where the shortcut agreed is below the rounding bound's
    # relative size gamma_N (N < 200 for these networks: ~2e-14), far below any break.
    for r in records:
        if r["holds"]:
            assert r["max_rel_error"] < 200 * assumptions.np.finfo(float).eps, r


def test_every_break_has_its_repair_and_textbook_plus_repair_is_the_oracle_gradient(records):
    for r in records:
        repair = r["repair"]
        if repair is None:
            continue
        assert repair["verified"] and repair["failures"] == 0 and repair["cases"] >= 1, r
        assert repair["cases"] == r["broken"] + 1  # every breaking case drawn, and the counterexample
        assert any(t["max_abs"] > 0 for t in repair["terms"]), r  # (a width-1 softmax layer adds 0)
        wanted = REPAIRS[r["assumption"], component_of(r)]
        assert any(wanted in formula for formula in repair["formulas"]), (wanted, repair["formulas"])
        # The same rounding as the true gradient's: textbook + repair is within the bound.
        assert repair["max_rel_error"] < 200 * assumptions.np.finfo(float).eps, r


def test_a_wrong_repair_is_rejected(monkeypatch):
    # Sharpness of the repair check: the softmax repair off by one part in a million is caught.
    from gradcert.reference import activations

    case = case_from_seed(Architecture.build([1, 2], "softmax"), 1, 0)
    assert assumptions.measure_repair("elementwise", case)[0].agrees
    exact = activations.Softmax.off_diagonal
    wrong = staticmethod(lambda z, g: (1 + 1e-6) * exact(z, g))
    monkeypatch.setattr(activations.Softmax, "off_diagonal", wrong)
    assert not assumptions.measure_repair("elementwise", case)[0].agrees


def test_counterexamples_rebuild_and_break_again(records):
    for r in records:
        c = r["counterexample"]
        if c is None:
            continue
        assert COUNTEREXAMPLE_KEYS <= set(c), c
        arch = Architecture.from_dict(c["arch"])
        assert list(arch.sizes) == c["sizes"] and arch.l2 == c["l2"]
        assert r["feature"] == "none" or r["feature"] in arch.features, c  # the column's feature, present
        assert assumptions.breaks(r["assumption"], case_from_seed(arch, c["m"], c["seed"]))


@pytest.mark.parametrize("cell", list(MINIMAL))
def test_each_counterexample_is_the_minimal_one(records, cell):
    found = [r for r in records if cell_of(r) == cell]
    assert len(found) == 1
    c, expected = found[0]["counterexample"], MINIMAL[cell]
    arch = Architecture.from_dict(c["arch"])
    assert c["sizes"] == expected["sizes"] and c["m"] == expected["m"], c["describe"]
    for field in ("layer_norm", "maxout", "batch_norm", "residual"):
        if field in expected:
            assert list(getattr(arch, field)) == expected[field], c["describe"]
    if "tied" in expected:
        assert list(arch.tied) == expected["tied"], c["describe"]
    if "activity_layer" in expected:
        assert arch.activity[0] == expected["activity_layer"], c["describe"]
    # Nothing else is needed: no other component is present.
    others = set(arch.features) - {cell[3]}
    assert not others, c["describe"]


def test_the_same_seed_gives_the_same_map(records):
    cell = [("separable", "linear", "quadratic", "batch_norm")]
    again = assumptions.assumption_map(examples=EXAMPLES, seed=0, cells=cell)
    assert again == [r for r in records if cell_of(r) == cell[0]]


def test_worker_processes_draw_the_same_map():
    # Finite differences as the oracle, so that the new processes need not import torch.
    wanted = [("elementwise", "softmax", "quadratic", "none"),
              ("single-use", "linear", "quadratic", "tied")]
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
    assert "elementwise (seed 003)" in out and "single-use (seed 003)" in out
    assert "breaks exactly where activation=softmax or feature=layer_norm or feature=maxout" in out
    assert out.count("BREAKS") == sum(not r["holds"] for r in records)
    assert out.count("repair ok on") == sum(not r["holds"] for r in records)


def test_run_draws_the_map_as_a_png(tmp_path, capsys, monkeypatch, records):
    pytest.importorskip("matplotlib")
    monkeypatch.setattr(assumptions, "assumption_map", lambda **kwargs: records)
    path = tmp_path / "map.png"
    assert assumptions.run(namespace(plot=str(path))) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(path) in capsys.readouterr().err


@pytest.mark.parametrize("feature", EXPLAINABLE)
def test_explain_prints_each_features_counterexample_as_numbers(feature):
    text = explain_feature(feature, examples=10, seed=0)
    if feature == "dropout":
        assert "BREAKS" not in text and text.count("holds on all 10 cases") == 5
        return
    assert text.count("BREAKS") == 1, text  # each component breaks exactly one assumption
    for word in ("minimal counterexample", "textbook", "true", "difference", "repair at layer",
                 "textbook + repair agrees"):
        assert word in text, (word, text)


def test_run_explain_goes_through_the_command(capsys):
    assert assumptions.run(namespace(explain="tied", examples=5)) == 0
    out = capsys.readouterr().out
    assert "single-use (seed 003) BREAKS" in out and "nabla_w[1]: textbook" in out


def test_run_rejects_an_unknown_feature_to_explain(capsys, monkeypatch):
    monkeypatch.setattr(assumptions, "assumption_map", lambda **kwargs: pytest.fail("searched anyway"))
    assert assumptions.run(namespace(explain="dropconnect")) == 2
    err = capsys.readouterr().err
    assert "--explain dropconnect: choose one of softmax, batch_norm" in err
    assert len(err.strip().splitlines()) == 1


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
    args = parser.parse_args(["--examples", "7", "--seed", "3", "--json", "--explain", "maxout"])
    assert args.examples == 7 and args.explain == "maxout"
