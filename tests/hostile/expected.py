"""What gradcert must say about each hostile candidate, as plain data.

Each entry of HOSTILE:

* ``target``  -- ``path/to/file.py:Name`` relative to the repository root;
* ``style``   -- the interface style (network, layer, function, ...), as in the zoo's catalogue;
* ``options`` -- keyword options of ``gradcert.check``; ``timeout`` is the deadline per call (the
                 hanging candidates rely on it), ``examples`` keeps each run short;
* ``verdict`` -- the Certificate's verdict: certified, gradient bug, crashed, exited, killed,
                 timed out, invalid output, mutated inputs, mutated weights, non-deterministic,
                 usage error, cannot check (a function with nothing to check: a constant loss);
* ``exit``    -- the exit code of ``gradcert check``: 0 certified, 2 usage error or cannot check,
                 1 otherwise;
* ``words``   -- strings the one verdict line must contain (case-insensitive): the call that was
                 running, or the exception or signal, where that is certain; may be empty;
* ``seconds`` -- a wall-clock bound for the whole ``gradcert check`` run (its deadline, start-up,
                 one worker restart and a margin);
* ``json``    -- (optional) also run with ``--json``: stdout must parse as one JSON document
                 whatever the candidate printed.

Every run must also print exactly one verdict line, no traceback, and leave no process behind.
"""

_H = "tests/hostile/"
FAST = {"timeout": 2, "examples": 10}
FUNCTION = {**FAST, "activation": "sigmoid", "cost": "quadratic"}
SECONDS = 15  # a 2 s deadline, worker start-up (~0.5 s) and a restart, with room on 2 shared cores


def _h(target, verdict, words=(), style="network", options=None, seconds=SECONDS, **extra):
    exit_code = {"certified": 0, "usage error": 2, "cannot check": 2}.get(verdict, 1)
    return {"target": _H + target, "style": style, "options": dict(FAST if options is None else options),
            "verdict": verdict, "exit": exit_code, "words": list(words), "seconds": seconds, **extra}


ENGINE = {"timeout": 2, "examples": 20}

HOSTILE = [
    # -- autodiff engines --------------------------------------------------------------------------
    _h("engines.py:SysExitInBackward", "exited", ["backward"], style="engine", options=ENGINE),
    _h("engines.py:HangsInBackward", "timed out", ["backward"], style="engine", options=ENGINE),
    _h("engines.py:TanhReturnsFloat", "invalid output", ["tanh"], style="engine", options=ENGINE),
    _h("engines.py:NanGradients", "invalid output", ["grad"], style="engine", options=ENGINE),
    _h("engines.py:ComplexData", "invalid output", ["complex"], style="engine", options=ENGINE),
    _h("engines.py:RaisesInMulBackward", "crashed", ["ZeroDivisionError"], style="engine", options=ENGINE),
    _h("engines.py:StepsInsideBackward", "mutated inputs", ["changed"], style="engine", options=ENGINE),
    _h("engines.py:BackwardTakesTheSeed", "certified", style="engine", options=ENGINE),
    # built from a number: an engine that cannot be is refused; one that hangs or exits is a verdict
    _h("engines.py:BuiltFromNestedListsOnly", "usage error", ["1.25", "np.array(1.25)", "TypeError"],
       style="engine", options=ENGINE),
    _h("engines.py:HangsWhenBuiltFromAnArray", "timed out", ["np.array(1.25)"], style="engine",
       options=ENGINE),
    _h("engines.py:ExitsWhenBuilt", "exited", ["1.25"], style="engine", options=ENGINE),
    # reading data and grad: only a missing attribute falls through to the next name
    _h("engines.py:GradReprHangs", "timed out", ["grad"], style="engine", options=ENGINE),
    _h("engines.py:GradGetterExits", "exited", ["grad"], style="engine", options=ENGINE),
    _h("engines.py:LyingFloatGrad", "gradient bug", style="engine", options=ENGINE),
    _h("engines.py:ClaimsFloatGrad", "invalid output", ["grad"], style="engine", options=ENGINE),
    _h("engines.py:FloatSubclassData", "certified", style="engine", options=ENGINE),
    _h("engines.py:LyingFloatData", "certified", style="engine", options=ENGINE),
    _h("engines.py:GradHoldsItself", "invalid output", ["grad"], style="engine", options=ENGINE),
    # a probe that can be told from a user's input: some leaves are drawn at full precision
    _h("engines.py:WrongUnlessLeavesAreRounded", "gradient bug", style="engine", options=ENGINE),
    # -- exits: any exit of the candidate's process, status 0 included, is a verdict -----------------
    _h("exits.py:SysExitInBackprop", "exited", ["backprop"]),
    _h("exits.py:SystemExitInUpdate", "exited", ["update_mini_batch"]),
    _h("exits.py:OsExitInBackprop", "exited", ["backprop"]),
    _h("exits.py:OsExitInLayerForward", "exited", ["forward"], style="layer"),
    _h("exits.py:SysExitInLayerBackward", "exited", ["backward"], style="layer"),
    _h("exits.py:system_exit_in_grad", "exited", ["grad"], style="function", options=FUNCTION),
    _h("exits.py:ClosesItsPipes", "exited", ["backprop"]),
    _h("exits.py:SysExitUnprintable", "exited", ["backprop", "sys.exit"]),
    _h("exit_at_import.py:Network", "exited", ["import"]),
    _h("thread_exit.py:ThreadExitsWrongGradient", "exited", ["backprop"]),
    # -- BaseExceptions raised by the candidate ----------------------------------------------------
    _h("skip.py:PytestSkipInBackprop", "crashed", ["Skipped"]),
    _h("interrupts.py:KeyboardInterruptInBackprop", "crashed", ["KeyboardInterrupt"]),
    _h("interrupts.py:GeneratorExitInBackprop", "crashed", ["GeneratorExit"]),
    _h("getter_raises.py:WeightsGetterRaisesAfterUpdate", "crashed", ["RuntimeError"]),
    # -- hangs: the deadline holds whatever the candidate does with signals, exceptions, imports ----
    _h("alarm_games.py:IgnoresAlarmAndHangs", "timed out", ["backprop"]),
    _h("alarm_games.py:CancelsAlarmAndHangs", "timed out", ["backprop"]),
    _h("hangs.py:CatchesBaseExceptionLoop", "timed out", ["backprop"]),
    _h("hangs.py:HangsInArray", "timed out"),
    _h("hangs.py:HangsInWeightsSetter", "timed out", ["weights"]),
    _h("hangs.py:LeavesItsProcessGroup", "timed out", ["backprop"]),
    _h("hanging_import.py:Network", "timed out", ["import"]),
    # -- signals ----------------------------------------------------------------------------------
    _h("hard_crashes.py:Segfault", "killed", ["SIGSEGV"]),
    _h("hard_crashes.py:Sigkill", "killed", ["SIGKILL"]),
    # -- garbage out ------------------------------------------------------------------------------
    _h("invalid.py:ZeroDObjectArray", "invalid output"),
    _h("invalid.py:ReturnsNone", "invalid output"),
    _h("invalid.py:WrongShapes", "invalid output", ["shape"], options={**FAST, "sizes": [3, 2, 1]}),
    _h("invalid.py:NaNGradient", "invalid output", ["nan"]),
    _h("invalid.py:InfGradient", "invalid output", ["inf"]),
    _h("invalid.py:ComplexGradient", "invalid output", ["complex"]),
    _h("invalid.py:LayerForwardNaN", "invalid output", ["forward"], style="layer"),
    _h("invalid.py:LayerForwardInf", "invalid output", ["forward"], style="layer"),
    _h("invalid.py:LayerForwardComplex", "invalid output", ["forward"], style="layer"),
    _h("nondeterministic.py:NoisyGradient", "non-deterministic", ["backprop"]),
    # -- history: a function answering a probe from the point before it (a linearisation through its
    #    own wrong gradient) is caught; one that only sums in another order is not
    _h("history.py:lrCostFunction", "non-deterministic", ["history-dependent", "lrCostFunction"],
       style="loss"),
    _h("history.py:linearised_affine", "non-deterministic",
       ["history-dependent", "linearised_affine_forward"], style="pair",
       options={**FAST, "inputs": "x=N,D w=D,M b=M"}),
    _h("history.py:LinearisedModel", "non-deterministic", ["history-dependent", "loss"], style="model"),
    _h("history.py:LinearisedTanhLayer", "non-deterministic", ["history-dependent", "forward"],
       style="layer"),
    _h("history.py:shuffled_softmax_loss", "certified", style="loss", seconds=20),
    _h("history.py:shuffled_affine", "certified", style="pair", options={**FAST, "inputs": "x=N,D w=D,M b=M"},
       seconds=20),
    # -- a stub (cs231n's unfinished svm_loss_vectorized): a constant loss has nothing to check
    _h("history.py:svm_loss_vectorized", "cannot check", ["constant", "stub"], style="loss"),
    # -- forgeries: the verdict is made where the candidate cannot reach ---------------------------
    _h("forgeries.py:PatchesJudge", "gradient bug"),
    _h("forgeries.py:PatchesCompare", "gradient bug"),
    _h("forgeries.py:forges_arch", "gradient bug", style="function", options=FUNCTION),
    _h("forgeries.py:HidesItsWrites", "mutated inputs", ["backprop", "x"]),
    _h("forgeries.py:HidesItsWritesWithBuiltins", "mutated inputs", ["backprop", "x"]),
    _h("forgeries.py:RunsCodeInGradcert", "crashed", ["backprop", "channel"]),
    _h("forgeries.py:PutsOffItsDeadline", "crashed", ["backprop", "heartbeat"]),
    _h("forgeries.py:RepliesWithAList", "crashed", ["backprop", "channel"]),
    _h("forged_import.py:Network", "crashed", ["import", "channel"]),
    _h("forgeries.py:BombsItsReply", "crashed", ["backward", "channel"], style="layer"),
    # -- correct code that misbehaves around its gradient: certified, and the run ends on time -------
    _h("threads.py:NonDaemonThread", "certified", seconds=20),
    # imports torch (seconds on a busy machine, under the same deadline as any call): a torch user's timeout
    _h("torch_grad_mode.py:DisablesTorchGrad", "certified", options={**FAST, "timeout": 30}, seconds=45),
    _h("cwd.py:DeletesItsCwd", "certified", seconds=20),
    _h("cwd.py:ChdirElsewhere", "certified", seconds=20),
    _h("syspath.py:ClearsSysPath", "certified", seconds=20),
    _h("syspath.py:ForgetsGradcertsModules", "certified", seconds=20),
    _h("prints.py:PrintsALot", "certified", seconds=30, json=True),
    _h("forks.py:ForksInBackprop", "certified", seconds=20),
    _h("forks.py:ForkLeavesTheSession", "certified", seconds=20),
    # -- correct low-precision code: judged at the precision it computes in --------------------------
    _h("precision.py:Float32WeightsSetter", "certified", seconds=20),
    _h("precision.py:Float32Backprop", "certified", seconds=20),
    _h("precision.py:Float16Gradient", "certified", seconds=20),
    _h("precision.py:LongdoubleGradient", "certified", seconds=20),
    # -- interfaces gradcert cannot drive: exit 2, never exit 1 --------------------------------------
    _h("usage.py:NoInterface", "usage error", style=None),
    _h("usage.py:BackwardTooManyArgs", "usage error", ["backward"], style=None),
    _h("usage.py:three_arguments", "usage error", style=None),
]
