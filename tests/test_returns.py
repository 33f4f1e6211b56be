"""What a black-box backward returns, read as its author wrote it, and why each test can fail.

* A layer's backward that returns a tuple: dx is its one entry of the input's shape, wherever it
  sits ((dW, db, dx) is certified, its mutant caught); gradients of one shape for two parameters
  (dgamma, dbeta) are exit 2 until --params names them, then judged (a mutant caught).
* A pair's backward that returns more values than inputs: judged on the first ones where they have
  the inputs' shapes (certified, a mutant caught), exit 2 where they do not.
"""

import pytest
from gradcert.properties.errors import TargetError

import gradcert

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
RETURNS = f"{ROOT}/tests/candidates/returns.py"
FAST = {"examples": 10, "oracles": ["finite-diff"]}
BN = {"init": {"eps": 1e-5}, **FAST}


def judged(cert, certified, tensors, note=None):
    """A correct candidate certified with ``tensors`` checked (and ``note``); its mutant caught."""
    if not certified:
        assert cert.exit_code == 1 and cert.verdict == "gradient bug", (cert.verdict, cert.failure)
        return
    assert cert.certified, cert.failure
    assert cert.tensors == tensors, cert.tensors
    assert note is None or any(note in n for n in cert.notes), cert.notes


@pytest.mark.parametrize("name, certified", [("AffineGradsFirst", True), ("AffineGradsFirstDbMean", False)])
def test_dx_is_the_entry_of_the_inputs_shape_wherever_backward_returns_it(name, certified):
    cert = gradcert.check(f"{RETURNS}:{name}", **FAST)
    judged(cert, certified, ["dx", "dW (of W)", "db (of b)"], "dx is entry 2")
    assert certified or cert.failure.first_disagreement["tensor"] == "db", cert.failure


def test_two_gradients_of_one_shape_are_not_matched_by_their_order():
    with pytest.raises(TargetError, match="cannot match to the parameters by shape alone") as raised:
        gradcert.check(f"{RETURNS}:BatchNormGradsFirst", **BN)
    assert "--params gamma:0,beta:1" in str(raised.value)


@pytest.mark.parametrize(
    "name, certified", [("BatchNormGradsFirst", True), ("BatchNormGradsFirstNoMean", False)]
)
def test_gradients_named_by_their_place_in_the_tuple_are_judged(name, certified):
    cert = gradcert.check(f"{RETURNS}:{name}", params="gamma:0,beta:1", **BN)
    judged(cert, certified, ["dx", "dgamma (of gamma)", "dbeta (of beta)"])


PAIR = {"inputs": "x=N,D gamma=D beta=D", **FAST}


@pytest.mark.parametrize("name, certified", [("bnextra", True), ("bnextranomean", False)])
def test_a_pairs_extra_returned_value_is_left_out_with_a_note(name, certified):
    cert = gradcert.check(f"{RETURNS}:{name}", **PAIR)
    judged(cert, certified, ["dx", "dgamma", "dbeta"], "returns 4 values for 3 array inputs")


def test_a_pairs_extra_values_not_in_the_inputs_order_are_exit_2():
    with pytest.raises(TargetError, match="cannot tell which is whose gradient"):
        gradcert.check(f"{RETURNS}:bnreordered", **PAIR)
