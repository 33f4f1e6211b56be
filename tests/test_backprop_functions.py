"""network.py's backprop as a free function of the weights, biases, x and y
(``properties.candidates.backprop_function``): driven as written, judged as network.py's backprop.

Before, a function of five arguments was taken for grad(arch, weights, biases, x, y) and crashed on
gradcert's Architecture (exit 1 on correct code), and one of four or three was refused (exit 2)."""

import pytest
from gradcert.properties.candidates import backprop_function
from gradcert.properties.candidates.interface import Parameter

import gradcert

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
FILE = f"{ROOT}/tests/candidates/free_backprops.py"
FAST = {"examples": 15}


@pytest.mark.parametrize("name", ["backpropagate", "backprop", "backprop_net", "backprop_course",
                                  "backprop_weights_first"])
def test_a_correct_free_backprop_is_certified_as_written(name):
    cert = gradcert.check(f"{FILE}:{name}", **FAST)
    assert cert.certified, cert.failure
    assert any("driven as network.py's backprop(x, y)" in note for note in cert.notes), cert.notes


def test_the_pair_is_read_in_the_order_its_return_statement_names():
    cert = gradcert.check(f"{FILE}:backpropagate", **FAST)
    assert any("(nabla_w, nabla_b): read in that order" in note for note in cert.notes), cert.notes


@pytest.mark.parametrize("name, signature", [("backpropagate_no_sigma_prime", "sigma_prime_missing"),
                                             ("backprop_net_bp4_off", None), ("backprop_swapped", None)])
def test_a_wrong_free_backprop_is_caught(name, signature):
    cert = gradcert.check(f"{FILE}:{name}", **FAST)
    assert cert.exit_code == 1 and cert.verdict == "gradient bug", (cert.verdict, cert.failure)
    if signature:
        assert cert.failure.signature == signature, cert.failure


def _params(*names, defaults=()):
    return [Parameter(n, "POSITIONAL_OR_KEYWORD", n in defaults) for n in names]


@pytest.mark.parametrize("names, expected", [
    (("weights", "biases", "x", "y"), ("weights", "biases", "x", "y")),
    (("nLayers", "weights", "biases", "inValues", "outValues"), ("layers", "weights", "biases", "x", "y")),
    (("net", "x", "y"), ("net", "x", "y")),
    (("weightsT", "biases", "x", "y"), ("weights", "biases", "x", "y")),  # a course's, network.py's shape
    (("wt", "biases", "x", "y"), ("weights", "biases", "x", "y")),  # wt: a weight, not transposed
    (("weights", "biases", "x_T", "y"), None),  # x_T: no role
    (("arch", "weights", "biases", "x", "y"), None),  # gradcert's own grad function style
    (("weights", "biases", "x", "y", "cost"), None),  # a cost object gradcert cannot give
    (("weights", "x", "y"), None),  # no biases
    (("w", "weights", "biases", "x", "y"), None),  # the weights twice
])
def test_the_roles_are_read_from_the_names(names, expected):
    assert backprop_function.roles(_params(*names)) == expected


def test_a_parameter_with_a_default_is_left_to_it():
    found = backprop_function.roles(_params("weights", "biases", "x", "y", "eta", defaults=("eta",)))
    assert found == ("weights", "biases", "x", "y")


COURSE = f"{ROOT}/tests/candidates/course_network.py"


def test_a_network_of_weightsT_is_given_its_weights_and_its_own_mini_batch():
    # Before: exit 1 -- the drawn weights went into a new attribute, the network's own random weightsT
    # were judged, and the step crashed on a list of pairs it unzips as a pair of lists.
    cert = gradcert.check(f"{COURSE}:Network", **FAST)
    assert cert.certified, cert.failure
    assert any("runs on a pair of lists (xs, ys)" in note for note in cert.notes), cert.notes


def test_a_step_over_the_wrong_count_is_caught_in_its_own_mini_batch_form():
    cert = gradcert.check(f"{COURSE}:NetworkStepOverTwo", **FAST)
    assert cert.exit_code == 1 and cert.failure.part == "update_mini_batch", cert.failure


def test_a_network_of_rows_with_column_biases_is_called_on_rows():
    # Before: exit 1, CRASHED (a column x into a W^T product), unless --rows was given; and its
    # backward_prop and update_weights were not recognised.
    cert = gradcert.check(f"{COURSE}:RowsColumnBiases", **FAST)
    assert cert.certified, cert.failure
    assert any("raises on a column x" in note for note in cert.notes), cert.notes
    cert = gradcert.check(f"{COURSE}:RowsColumnBiasesNoSigmaPrime", **FAST)
    assert cert.exit_code == 1 and cert.verdict == "gradient bug", (cert.verdict, cert.failure)


def test_a_network_of_flat_vectors_is_called_on_flat_vectors():
    # Before: exit 1, CRASHED on columns, on rows and with --rows or --columns alike.
    cert = gradcert.check(f"{COURSE}:FlatVectors", **FAST)
    assert cert.certified, cert.failure
    assert any("runs on a flat vector" in note for note in cert.notes), cert.notes
    cert = gradcert.check(f"{COURSE}:FlatVectorsBiasSign", **FAST)
    assert cert.exit_code == 1 and cert.verdict == "gradient bug", (cert.verdict, cert.failure)
