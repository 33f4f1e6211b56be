"""What gradcert draws for a black-box candidate, and why each choice can fail a test.

* Functions defined on the positive numbers alone: a correct log or square root is certified at
  positive inputs, never judged a crash at gradcert's negative ones; its mutants are still caught,
  and a backward that is not finite where the forward is stays a verdict (exit 1).
* Wide draws: one case in eight is N(0, 16), so a gradient clipped at |x| > 3 is caught.
* Two regularisation strengths: a strength written in as a number is caught.
* A mask over a sequence's labels (cs231n's temporal_softmax_loss): drawn with about a quarter of it
  False, so that a gradient that leaves it out is caught.
* A pair of two outputs (an LSTM step's next_h and next_c): a dout drawn for each, so that a
  backward that drops one of them is caught.
"""

import pytest

import gradcert

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
FILE = f"{ROOT}/tests/candidates/domains.py"
STRENGTHS = f"{ROOT}/tests/candidates/strengths.py"
SEQUENCES = f"{ROOT}/tests/candidates/sequences.py"
FAST = {"examples": 30, "oracles": ["finite-diff"]}


@pytest.mark.parametrize("name", ["Log", "Sqrt", "NegLogLoss", "MathLog", "log"])
def test_a_correct_function_of_positive_inputs_is_certified_there(name):
    cert = gradcert.check(f"{FILE}:{name}", **FAST)
    assert cert.certified, cert.failure
    assert any("drawn positive" in note for note in cert.notes), cert.notes


def test_one_hot_labels_are_drawn_for_a_loss_layer_that_crashes_on_indices():
    cert = gradcert.check(f"{FILE}:NegLogLoss", **FAST)
    assert any("one-hot" in note for note in cert.notes), cert.notes


@pytest.mark.parametrize("name", ["LogSquared", "SqrtNoHalf", "NegLogLossNoMean", "logwrong"])
def test_a_mutant_of_positive_inputs_is_still_caught(name):
    cert = gradcert.check(f"{FILE}:{name}", **FAST)
    assert cert.exit_code == 1 and cert.verdict == "gradient bug", (cert.verdict, cert.failure)


def test_a_backward_not_finite_where_the_forward_is_stays_a_verdict():
    cert = gradcert.check(f"{FILE}:Clip", **FAST)
    assert cert.exit_code == 1 and not cert.certified
    assert not any("drawn positive" in note for note in cert.notes), cert.notes


def test_a_gradient_right_only_for_small_inputs_is_caught_on_a_wide_case():
    cert = gradcert.check(f"{FILE}:ClippedGradient", examples=100, oracles=["finite-diff"])
    assert cert.exit_code == 1 and cert.verdict == "gradient bug", (cert.verdict, cert.failure)


def test_a_correct_regularised_loss_is_certified_at_both_strengths():
    cert = gradcert.check(f"{STRENGTHS}:softmax_loss_vectorized", examples=20)
    assert cert.certified, cert.failure
    assert any("reg=0.1 or 0.35" in note for note in cert.notes), cert.notes


def test_a_strength_written_in_as_a_number_is_caught():
    cert = gradcert.check(f"{STRENGTHS}:softmax_loss_fixed_reg", examples=20)
    assert cert.exit_code == 1 and cert.verdict == "gradient bug", (cert.verdict, cert.failure)


def test_a_masked_sequence_loss_is_driven_with_its_mask():
    # Before: exit 2, "cannot tell what mask is".
    cert = gradcert.check(f"{SEQUENCES}:temporal_softmax_loss", examples=20)
    assert cert.certified, cert.failure


def test_a_sequence_loss_whose_gradient_leaves_the_mask_out_is_caught():
    cert = gradcert.check(f"{SEQUENCES}:temporal_softmax_loss_unmasked_grad", examples=20)
    assert cert.exit_code == 1 and cert.failure.signature == "mask_not_applied", cert.failure


LSTM = {"inputs": "x=N,D prev_h=N,H prev_c=N,H Wx=D,G Wh=H,G b=G", "dims": {"H": 2, "G": 8}, "examples": 20,
        "oracles": ["finite-diff"]}


def test_a_pair_of_two_outputs_is_judged_on_both():
    # Before: exit 1, "INVALID OUTPUT ... returned (next_h, next_c, cache); expected (out, cache)".
    cert = gradcert.check(f"{SEQUENCES}:lstm_step", **LSTM)
    assert cert.certified, cert.failure


def test_a_backward_that_drops_one_outputs_gradient_is_caught():
    cert = gradcert.check(f"{SEQUENCES}:lstmnocarry_step", **LSTM)
    assert cert.exit_code == 1 and cert.verdict == "gradient bug", (cert.verdict, cert.failure)
