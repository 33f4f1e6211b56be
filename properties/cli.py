"""The ``gradcert`` command.

    gradcert check            certify the bundled reference against every installed oracle

Exit codes: 0 certified, 1 a gradient bug was found, 2 could not check
(bad arguments, an unknown oracle, a target that cannot be loaded).
torch and jax are imported only when an oracle that needs them runs.
"""

from __future__ import annotations

import argparse
import json
import sys

EXIT_CERTIFIED, EXIT_BUG, EXIT_CANNOT_CHECK = 0, 1, 2


class UsageError(Exception):
    """A user's mistake: reported in one line, exit code 2."""


def _parser():
    parser = argparse.ArgumentParser(
        prog="gradcert", description="Certify backpropagation against independent oracles.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = commands.add_parser("check", help="certify an implementation (default: the bundled reference)")
    check.add_argument("--examples", type=_positive_int, default=100,
                       help="drawn cases to check (default 100)")
    check.add_argument("--seed", type=int, default=0, help="seed of the drawn cases (default 0)")
    check.add_argument("--oracles", default=None,
                       help="comma-separated oracles among torch, jax, finite-diff (default: all installed)")
    check.add_argument("--json", action="store_true", help="print the result as JSON")
    check.add_argument("--verbose", action="store_true", help="show tracebacks of unexpected errors")
    return parser


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive whole number")
    return value


def _oracle_names(text):
    import oracles

    if text is None:
        return oracles.installed()
    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        if name not in oracles.NAMES:
            raise UsageError(f"--oracles: unknown oracle {name!r}; choose from {', '.join(oracles.NAMES)}")
        if not oracles.load(name).available():
            raise UsageError(f"--oracles: {name} is not installed here; "
                             f"pip install 'gradcert[{name}]' or leave it out")
    if not names:
        raise UsageError("--oracles: name at least one oracle")
    return names


def check_reference(args):
    from properties import strategies
    from properties.certify import certify

    strategy = strategies.cases(
        architectures=strategies.architectures(batch_norm=True, modified_neuron=True), max_batch=4)

    def reference_backprop(case):
        return case.network().backprop(case.x, case.y)

    return certify(reference_backprop, strategy, name="reference.Network.backprop",
                   oracle_names=_oracle_names(args.oracles), examples=args.examples, seed=args.seed)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_CANNOT_CHECK
    try:
        cert = check_reference(args)
    except UsageError as error:
        print(f"gradcert: {error}", file=sys.stderr)
        return EXIT_CANNOT_CHECK
    from properties import report

    print(json.dumps(report.to_json(cert), indent=2) if args.json else report.to_text(cert, argv))
    return EXIT_CERTIFIED if cert.certified else EXIT_BUG


if __name__ == "__main__":
    sys.exit(main())
