"""The worker process, on its own: deadlines, every way it can end, restarts, output, the channel."""

import os
import pickle
import textwrap
import time

import numpy as np
import pytest
from gradcert.properties.candidates.process import Worker
from gradcert.properties.candidates.protocol import ChannelError, Ref, loads_safely
from gradcert.properties.candidates.verdicts import CandidateFailure

MODULE = textwrap.dedent("""\
    import os, sys, time

    class Thing:
        def slow(self, seconds):
            time.sleep(float(seconds))
            return float(seconds)

        def shout(self, lines):
            for i in range(lines):
                print(f"line {i}")
            return lines

        def forge(self):  # writes a crafted reply straight into gradcert's channel
            import pickle, struct
            for fd in range(3, 64):
                try:
                    data = pickle.dumps({"status": "ok", "value": os.system})
                    os.write(fd, struct.pack("!Q", len(data)) + data)
                except OSError:
                    continue
            time.sleep(5)
    """)


@pytest.fixture
def worker(tmp_path):
    (tmp_path / "thing.py").write_text(MODULE)
    with Worker(timeout=2.0, cwd=tmp_path) as w:
        reply = w.request(
            {
                "op": "load",
                "module": "thing",
                "attr": "Thing",
                "sys_path": str(tmp_path),
                "file": str(tmp_path / "thing.py"),
            },
            what="importing thing.py",
        )
        assert reply["status"] == "ok"
        yield w


def make(worker):
    return worker.request({"op": "call", "target": Ref(0), "args": [], "keep": "handle"}, what="Thing()")[
        "value"
    ]


def test_a_call_past_its_deadline_is_killed_and_the_next_call_gets_a_fresh_worker(worker):
    thing = make(worker)
    start = time.perf_counter()
    with pytest.raises(CandidateFailure) as failure:
        worker.request({"op": "call", "target": thing, "method": "slow", "args": [60]}, what="Thing.slow")
    assert failure.value.verdict == "timed out" and time.perf_counter() - start < 5
    first = worker.starts
    again = make(worker)  # restarted, the target imported again
    reply = worker.request(
        {"op": "call", "target": again, "method": "slow", "args": [0.01]}, what="Thing.slow"
    )
    assert reply["value"] == 0.01 and worker.starts == first + 1


def test_the_deadline_is_per_call_in_a_batch(worker):
    # five calls of 0.6 s each within one request: each under the 2 s deadline, the batch over it
    thing = make(worker)
    reply = worker.request(
        {
            "op": "outputs",
            "target": thing,
            "method": "slow",
            "args": [0.0],
            "kwargs": {},
            "vary": ("arg", 0),
            "points": [0.6] * 5,
        },
        what="Thing.slow",
    )
    assert reply["status"] == "ok" and len(reply["value"]) == 5


def test_what_the_candidate_prints_is_kept_apart_and_its_tail_is_bounded(worker, capfd):
    thing = make(worker)
    worker.request({"op": "call", "target": thing, "method": "shout", "args": [5000]}, what="Thing.shout")
    out, err = capfd.readouterr()
    assert "line" not in out + err  # nothing reached gradcert's own streams
    tail = worker.output_tail()
    assert tail.endswith("line 4999") and len(tail.splitlines()) <= 15 and len(tail) <= 2000


def test_a_reply_the_candidate_forges_cannot_run_code_here(worker):
    thing = make(worker)
    with pytest.raises(CandidateFailure) as failure:
        worker.request({"op": "call", "target": thing, "method": "forge"}, what="Thing.forge")
    assert failure.value.verdict == "crashed" and "channel" in failure.value.message


def test_the_safe_unpickler_rebuilds_data_and_refuses_the_rest():
    data = {"a": [np.arange(3.0), np.float32(2), (1, "x")], "b": Ref(3)}
    back = loads_safely(pickle.dumps(data, protocol=5))
    assert np.array_equal(back["a"][0], data["a"][0]) and back["a"][1].dtype == np.float32
    with pytest.raises(ChannelError, match="posix.system|os.system"):
        loads_safely(pickle.dumps(os.system))
    with pytest.raises(ChannelError):
        loads_safely(b"\x80\x05garbage")
    assert loads_safely(pickle.dumps(np.dtypes.Float64DType)) is np.dtypes.Float64DType
    # an attribute path from an allowed module: numpy.dtypes.__builtins__.get("exec")
    reach = b"\x80\x04\x8c\x0cnumpy.dtypes\x8c\x10__builtins__.get\x93\x8c\x04exec\x85R."
    with pytest.raises(ChannelError, match="__builtins__"):
        loads_safely(reach)


def test_in_process_mode_answers_the_same_requests():
    class Local:
        def double(self, x):
            return 2 * x

    with Worker(timeout=1.0, mode="in_process", objects={0: Local}) as w:
        thing = w.request({"op": "call", "target": Ref(0), "args": [], "keep": "handle"}, what="Local()")[
            "value"
        ]
        reply = w.request(
            {"op": "call", "target": thing, "method": "double", "args": [np.ones(2)]}, what="double"
        )
        assert np.array_equal(reply["value"], [2.0, 2.0]) and not w.isolated
