"""The ``gradcert`` command.

    gradcert check [TARGET]   certify an implementation (no TARGET: the bundled reference)
    gradcert assumptions      map where the textbook's assumptions hold and where they break
    gradcert selftest         measure gradcert's kill rate and false alarms on the mutant zoo

Exit codes: 0 certified, 1 a gradient bug (or a candidate that crashed, hung,
returned garbage or mutated its inputs), 2 could not check (bad arguments, no
such target, not one of the three kinds).  torch and jax are imported only
when an oracle that needs them runs.
"""

from __future__ import annotations

import argparse
import sys

EXIT_CERTIFIED, EXIT_BUG, EXIT_CANNOT_CHECK = 0, 1, 2


class UsageError(Exception):
    """A user's mistake: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: one line, exit 2, as ours
        raise UsageError(message)


def _names(text):
    return tuple(n.strip() for n in text.split(",") if n.strip())


def _sizes(text):
    try:
        sizes = tuple(int(n) for n in _names(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give whole numbers separated by commas, "
                                         "e.g. 784,30,10") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: every size must be at least 1")
    return sizes


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def add_check_arguments(check):
    check.add_argument("target", nargs="?", metavar="TARGET",
                       help="package.module:Name or path/to/file.py:Name (default: the bundled reference)")
    check.add_argument("--cost", type=_names, default=None,
                       help="the cost the target implements: quadratic, cross-entropy, log-likelihood "
                            "(a network: default quadratic; a function: comma-separated, default all)")
    check.add_argument("--activation", type=_names, default=None,
                       help="the activation (a network: default sigmoid); comma-separated for a function, "
                            "or one per layer with --sizes")
    check.add_argument("--sizes", type=_sizes, default=None, help="fix the architecture, e.g. 784,30,10")
    check.add_argument("--batch", type=_positive_int, default=4, help="largest batch drawn (default 4)")
    check.add_argument("--examples", type=_positive_int, default=100, help="drawn cases (default 100)")
    check.add_argument("--seed", type=int, default=0, help="seed of the drawn cases (default 0)")
    check.add_argument("--case-seed", type=int, default=None,
                       help="check the one case built from this seed (with --sizes and --batch): "
                            "how a report's reproduce command pins its case")
    check.add_argument("--oracles", type=_names, default=None,
                       help="comma-separated among torch, jax, finite-diff, complex-step "
                            "(default: all installed)")
    check.add_argument("--timeout", type=_positive_float, default=10.0,
                       help="seconds per call to the target before it is judged hung (default 10)")
    check.add_argument("--l2", type=float, default=None, help="a function target: fix the L2 coefficient")
    check.add_argument("--batch-norm", nargs="?", const="draw", default=None,
                       help="a function target handles batch normalisation: draw it, or fix it per layer "
                            "(e.g. 1,0)")
    mode = check.add_mutually_exclusive_group()
    mode.add_argument("--exhaustive", action="store_const", dest="mode", const="exhaustive",
                      help="check every parameter entry by finite differences (default: a sample of 2000)")
    mode.add_argument("--directional", action="store_const", dest="mode", const="directional",
                      help="check along random directions plus the Taylor test (the default above "
                           "100,000 parameters)")
    check.add_argument("--rows", action="store_true",
                       help="a layer target takes row-major batches (examples as rows)")
    check.add_argument("--json", action="store_true", help="print the result as JSON")
    check.add_argument("--junit", metavar="FILE", default=None, help="also write a JUnit XML report")
    check.add_argument("--verbose", action="store_true", help="show the target's traceback when it crashes")


def _parser():
    parser = _Parser(prog="gradcert", description="Certify backpropagation against independent oracles.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    add_check_arguments(commands.add_parser(
        "check", help="certify an implementation (default: the bundled reference)"))
    assumptions = commands.add_parser(
        "assumptions", help="map where the textbook's assumptions hold and where they break")
    try:
        from gradcert.properties.assumptions import map as assumptions_module
    except ImportError:  # pragma: no cover - the module ships with gradcert
        assumptions_module = None
    if assumptions_module is not None:
        assumptions_module.add_arguments(assumptions)
    from gradcert.properties.frontends import selftest

    selftest.add_arguments(commands.add_parser(
        "selftest", help="measure the kill rate and false alarms on the mutant zoo (from a clone)"))
    return parser


def _oracle_names(names, kind):
    from gradcert import oracles

    if names is None:
        installed = oracles.installed()
        if kind != "reference" and "torch" in installed and "jax" in installed:
            # jax.grad finds exactly what torch.autograd finds, and compiles each new
            # architecture in ~0.2 s: a target's default check leaves it to --oracles.
            installed.remove("jax")
        return tuple(installed)
    for name in names:
        if name not in oracles.NAMES:
            raise UsageError(f"--oracles: unknown oracle {name!r}; choose from {', '.join(oracles.NAMES)}")
        if not oracles.load(name).available():
            raise UsageError(f"--oracles: {name} is not installed here; "
                             f"pip install 'gradcert[{name}]' or leave it out")
    if not names:
        raise UsageError("--oracles: name at least one oracle")
    return names


def options_from(args, kind):
    """The ``Options`` a check runs with, from parsed arguments, validated."""
    from gradcert.properties.candidates.kinds import Options
    from gradcert.reference.architecture import ACTIVATIONS, COSTS

    for name in args.cost or ():
        if name not in COSTS:
            raise UsageError(f"--cost: unknown cost {name!r}; choose from {', '.join(COSTS)}")
    for name in args.activation or ():
        if name not in ACTIVATIONS:
            raise UsageError(f"--activation: unknown activation {name!r}; "
                             f"choose from {', '.join(ACTIVATIONS)}")
    if kind == "network":
        costs, activation = args.cost or ("quadratic",), args.activation or ("sigmoid",)
        if len(costs) != 1:
            raise UsageError("--cost: a network implements one cost; name one")
    else:
        costs, activation = args.cost or COSTS, args.activation or ACTIVATIONS
    if args.sizes is not None:
        if len(args.sizes) < (1 if kind == "layer" else 2):
            raise UsageError("--sizes: give the input layer and at least one more, e.g. 784,30,10")
        if kind != "layer" and len(activation) not in (1, len(args.sizes) - 1):
            raise UsageError(f"--activation: with --sizes, give one name, or one per weight layer "
                             f"({len(args.sizes) - 1})")
    if args.case_seed is not None and args.sizes is None:
        raise UsageError("--case-seed pins one case: give --sizes (and --batch) with it")
    batch_norm = args.batch_norm is not None
    return Options(costs=tuple(costs), activation=tuple(activation), sizes=args.sizes, batch=args.batch,
                   oracles=_oracle_names(args.oracles, kind), timeout=args.timeout, rows=args.rows,
                   l2=args.l2, batch_norm=batch_norm, mode=args.mode or "auto")


def _pinned_case(checker, args):
    """The one case ``--case-seed`` names, as a Hypothesis strategy of one value."""
    from gradcert.properties.strategies import case_from_seed
    from hypothesis import strategies as st

    if checker.kind == "layer":
        return st.just(checker._case(args.sizes[0], args.batch, args.case_seed))
    from gradcert.reference.architecture import Architecture

    o = checker.options
    activation = o.activation * (len(o.sizes) - 1) if len(o.activation) == 1 else o.activation
    flags = False
    try:
        if args.batch_norm not in (None, "draw"):
            flags = [{"0": False, "1": True}[f] for f in _names(args.batch_norm)]
        arch = Architecture.build(o.sizes, list(activation), o.costs[0], args.l2 or 0.0, batch_norm=flags)
    except KeyError:
        raise UsageError(f"--batch-norm {args.batch_norm}: give one 0 or 1 per layer, e.g. 1,0") from None
    except ValueError as error:
        raise UsageError(str(error)) from None
    return st.just(case_from_seed(arch, args.batch, args.case_seed))


def run_check(args):
    from gradcert.properties.candidates import targets
    from gradcert.properties.candidates.kinds import ReferenceChecker, checker_for
    from gradcert.properties.certify import certify

    if args.target is None:
        checker = ReferenceChecker(options_from(args, "reference"))
    else:
        try:
            target = targets.load(args.target)
        except targets.TargetError as error:
            raise UsageError(str(error)) from None
        try:
            checker = checker_for(target, options_from(args, target.kind))
        except ValueError as error:
            raise UsageError(str(error)) from None
    strategy = _pinned_case(checker, args) if args.case_seed is not None else None
    return certify(checker, oracle_names=checker.options.oracles, examples=args.examples, seed=args.seed,
                   case_strategy=strategy)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        parser = _parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_CANNOT_CHECK
        if args.command == "assumptions":
            from gradcert.properties.assumptions import map as assumptions

            return assumptions.run(args)
        if args.command == "selftest":
            from gradcert.properties.frontends import selftest

            return selftest.run(args)
        return _check(args, argv)
    except UsageError as error:
        print(f"gradcert: {error}", file=sys.stderr)
        return EXIT_CANNOT_CHECK


def _check(args, argv):
    import json

    from gradcert.properties.candidates.calls import CannotCheck
    from gradcert.properties.frontends import report

    try:
        cert = run_check(args)
    except CannotCheck as error:
        raise UsageError(f"{error}; declare what the target supports with --activation, --cost, "
                         "--l2 or --batch-norm") from None
    record = report.to_json(cert, argv)
    print(json.dumps(record, indent=2) if args.json else report.to_text(cert, argv, verbose=args.verbose))
    if args.junit:
        report.write_junit(record, args.junit)
    return EXIT_CERTIFIED if cert.certified else EXIT_BUG


if __name__ == "__main__":
    sys.exit(main())
