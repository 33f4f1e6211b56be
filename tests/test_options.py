"""One Options, validated in one place: every flag honoured, or refused with exit code 2.

For every interface style, a representative target, and every option that means nothing for that
style: ``gradcert check`` exits 2 with one line naming the flag (never a silent no-op).  Beside
each refusal, the same option on a style it applies to is honoured: the check runs.
"""

import pytest
from gradcert.properties.errors import UsageError
from gradcert.properties.frontends import cli
from gradcert.properties.options import SPECS, Options

TARGETS = {  # style -> a target written in it
    "reference": None,
    "network": "tests/zoo/correct/nielsen_network.py:Network",
    "function": "tests/zoo/correct/functional_grad.py:grad",
    "layer": "tests/zoo/correct/layers_correct.py:TanhLayer",
    "pair": "tests/zoo/styles/cs231n_layers.py:relu",
    "model": "tests/zoo/styles/cs231n_models.py:TwoLayerNet",
    "step": "tests/zoo/styles/step_layers.py:Tanh",
    "function-bn": "tests/zoo/styles/batchnorm_grad.py:grad",  # a grad function that normalises
    "engine": "tests/zoo/styles/scalar_engine.py:Value",
}
EXTRA = {  # what a style needs declared to run at all
    "model": ["--init", '{"input_dim": 3, "hidden_dim": 4, "num_classes": 3}'],
}
VALUES = {  # a valid value for each option (valid in itself: only its style can make it wrong)
    "cost": "quadratic",
    "activation": "sigmoid",
    "hidden_activation": "tanh",
    "output_activation": "sigmoid",
    "depth": "2",
    "sizes": "2,3",
    "l2": "0.1",
    "batch_norm": "1,0",
    "layout": "rows",
    "shape": "N,3",
    "inputs": "x=N,3",
    "dims": "N=2",
    "init": '{"n": 3}',
    "kwargs": '{"train": true}',
    "params": "W:dW",
    "lr": "0.1",
    "style": "layer",
    "batch": "2",
    "examples": "2",
    "seed": "1",
    "case_seed": "1",
    "oracles": "finite-diff",
    "mode": "exhaustive",
    "timeout": "5",
}


def flags(name):
    spec = next(s for s in SPECS if s.name == name)
    if name == "batch_norm":
        return [spec.flag]  # no value: draw it (a value per layer needs --sizes, itself refused here)
    return [spec.flag, VALUES[name]]


CASES = [
    (style, spec.name)
    for style in TARGETS
    if style != "function-bn"
    for spec in SPECS
    if style not in spec.styles and spec.name != "style"
]


@pytest.mark.parametrize("style, name", CASES, ids=[f"{s}-{n}" for s, n in CASES])
def test_an_option_that_does_not_apply_is_refused(capsys, style, name):
    target = [TARGETS[style]] if TARGETS[style] else []
    code = cli.main(["check", *target, *EXTRA.get(style, []), *flags(name), "--examples", "2"])
    out, err = capsys.readouterr()
    assert code == 2, out + err
    spec = next(s for s in SPECS if s.name == name)
    assert err.startswith("gradcert: ") and err.count("\n") == 1 and spec.flag in err, err
    assert "Traceback" not in out + err


def test_every_style_refuses_something_and_honours_the_rest():
    # The table is not vacuous: each style has options that do not apply, and each option
    # applies to some style.
    assert all(any(s == style for s, _ in CASES) for style in TARGETS if style != "function-bn")
    assert all(spec.styles for spec in SPECS)


HONOURED = [
    ("reference", ["--sizes", "2,3,1", "--activation", "tanh", "--cost", "quadratic"]),
    ("reference", ["--l2", "0.5", "--sizes", "2,2"]),
    ("reference", ["--batch-norm", "1", "--sizes", "2,2", "--batch", "3"]),
    (
        "function",
        [
            "--hidden-activation",
            "tanh",
            "--output-activation",
            "softmax",
            "--cost",
            "log-likelihood",
            "--depth",
            "2",
        ],
    ),
    ("function-bn", ["--batch-norm", "1,0", "--sizes", "2,3,2"]),
    ("layer", ["--shape", "N,5", "--layout", "rows"]),
    ("pair", ["--inputs", "x=N,3,2"]),
    ("network", ["--sizes", "3,2", "--case-seed", "4"]),
    ("engine", ["--dims", "leaves=2,steps=3", "--case-seed", "4"]),
]


@pytest.mark.parametrize("style, argv", HONOURED, ids=[f"{s}-{a[0]}" for s, a in HONOURED])
def test_an_option_that_applies_is_honoured(capsys, style, argv):
    import json

    target = [TARGETS[style]] if TARGETS[style] else []
    code = cli.main(["check", *target, *argv, "--examples", "3", "--json"])
    record = json.loads(capsys.readouterr().out)
    assert code == 0, record["failure"]
    if "--sizes" in argv and "--batch-norm" not in argv:
        sizes = [int(n) for n in argv[argv.index("--sizes") + 1].split(",")]
        worst = [o["worst_case"] for o in record["oracles"].values() if o["cases"]]
        assert worst and all(f"sizes={sizes}" in w for w in worst), worst  # the declared sizes were drawn
    if "--batch-norm" in argv and style == "function-bn":
        assert any("batch_norm=[1, 0]" in o["worst_case"] for o in record["oracles"].values() if o["cases"])


@pytest.mark.parametrize(
    "given, words",
    [
        ({"depth": 2, "sizes": (2, 3, 4, 1)}, "contradicts --sizes"),
        ({"activation": ("tanh",), "hidden_activation": ("relu",)}, "not both"),
        ({"batch_norm": (True, False)}, "needs --sizes"),
        ({"case_seed": 3}, "pins one case"),
        ({"examples": True}, "whole number"),
        ({"timeout": float("nan")}, "finite"),
        ({"kwargs": "{not json"}, "not a JSON object"),
        ({"inputs": "x N,D"}, "name=LETTERS"),
        ({"dims": "N:2"}, "letter=size"),
        ({"params": "W"}, "parameter:gradient"),
        ({"colour": "red"}, "unknown option 'colour'"),
    ],
)
def test_options_that_cannot_work_are_named(given, words):
    with pytest.raises(UsageError, match=words.replace("(", r"\(")):
        Options.build(**given)


def test_options_round_trip_through_flags():
    options = Options.build(
        cost="cross-entropy",
        sizes=[4, 3, 2],
        l2=0.25,
        batch_norm=[True, False],
        dims={"N": 2},
        init={"a": [1, 2]},
        params="W:dW",
        mode="directional",
        timeout=3,
        case_seed=7,
    )
    parsed = cli.options_from(cli.parser().parse_args(["check", *options.to_argv()]))
    assert parsed == options
