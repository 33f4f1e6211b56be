"""The ``gradcert`` command: a thin front end that builds ``Options`` and calls the runner.

    gradcert check [TARGET]   certify an implementation (no TARGET: the bundled reference)
    gradcert assumptions      map where the textbook's assumptions hold and where they break
    gradcert selftest         measure gradcert's kill rate and false alarms on the zoo
    gradcert --version

Exit codes: 0 certified; 1 a gradient bug, or a candidate that crashed, exited, was killed, hung,
returned garbage, mutated its inputs or was non-deterministic; 2 could not check (bad arguments,
no such target, an interface gradcert cannot drive, an I/O error); 130 interrupted (Ctrl-C).
stdout holds gradcert's report and nothing else: the candidate's output is captured in its worker.
torch and jax are imported only when an oracle that needs them runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from gradcert.properties.errors import GradcertError, UsageError

EXIT_CERTIFIED, EXIT_BUG, EXIT_CANNOT_CHECK, EXIT_INTERRUPTED = 0, 1, 2, 130
PROGRESS_AFTER = 2.0  # seconds: a shorter run prints no progress


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: one line, exit 2, as ours
        raise UsageError(message)


def add_check_arguments(parser):
    """Every option of ``Options`` as a flag (one table: ``options.SPECS``), and the outputs."""
    from gradcert.properties.options import SPECS

    parser.add_argument(
        "target",
        nargs="?",
        metavar="TARGET",
        help="package.module:Name or path/to/file.py:Name (default: the bundled reference)",
    )
    for spec in SPECS:
        if spec.name == "batch_norm":
            parser.add_argument(
                spec.flag,
                dest=spec.name,
                nargs="?",
                const="draw",
                default=None,
                metavar=spec.metavar,
                help=spec.help,
            )
        elif spec.name == "mode":
            modes = parser.add_mutually_exclusive_group()
            modes.add_argument("--mode", dest="mode", default=None, metavar=spec.metavar, help=spec.help)
            modes.add_argument(
                "--exhaustive",
                dest="mode",
                action="store_const",
                const="exhaustive",
                help="check every parameter entry by finite differences (--mode exhaustive)",
            )
            modes.add_argument(
                "--directional",
                dest="mode",
                action="store_const",
                const="directional",
                help="check along random directions plus the Taylor test (--mode directional)",
            )
        elif spec.name == "layout":
            layouts = parser.add_mutually_exclusive_group()
            layouts.add_argument(
                "--layout", dest="layout", default=None, metavar=spec.metavar, help=spec.help
            )
            layouts.add_argument(
                "--rows",
                dest="layout",
                action="store_const",
                const="rows",
                help="a layer's batches have examples as rows, (N, D) (--layout rows)",
            )
            layouts.add_argument(
                "--columns",
                dest="layout",
                action="store_const",
                const="columns",
                help="a layer's batches have examples as columns, (D, N) (--layout columns)",
            )
        else:
            parser.add_argument(spec.flag, dest=spec.name, default=None, metavar=spec.metavar, help=spec.help)
    parser.add_argument("--json", action="store_true", help="print the certificate as JSON (strict: no NaN)")
    parser.add_argument("--junit", metavar="FILE", default=None, help="also write a JUnit XML report to FILE")
    parser.add_argument("--verbose", action="store_true", help="show the target's traceback when it crashes")


def parser():
    from gradcert import __version__

    top = _Parser(prog="gradcert", description="Certify backpropagation against independent oracles.")
    top.add_argument("--version", action="version", version=f"gradcert {__version__}")
    commands = top.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    add_check_arguments(
        commands.add_parser("check", help="certify an implementation (default: the reference)")
    )
    from gradcert.properties.assumptions import map as assumptions
    from gradcert.properties.frontends import selftest

    assumptions.add_arguments(
        commands.add_parser(
            "assumptions", help="map where the textbook's assumptions hold and where they break"
        )
    )
    selftest.add_arguments(
        commands.add_parser(
            "selftest", help="measure the kill rate and false alarms on the zoo (from a clone)"
        )
    )
    return top


def options_from(args):
    """The ``Options`` of parsed ``check`` arguments, validated."""
    from gradcert.properties.options import SPECS, Options

    return Options.build(**{spec.name: getattr(args, spec.name) for spec in SPECS})


def junit_path(text):
    """The --junit path resolved now (before the target runs) and its directories created."""
    if text is None:
        return None
    path = os.path.abspath(text)
    if os.path.isdir(path):
        raise UsageError(
            f"--junit {text}: is a directory; give a file name, e.g. {os.path.join(text, 'gradcert.xml')}"
        )
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    except OSError as error:
        raise UsageError(f"--junit {text}: cannot create its directory ({error.strerror})") from None
    return path


class Progress:
    """Cases done, total, the oracles judging and the elapsed time on stderr, for a terminal and a run
    of more than 2 s."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.shown = False

    def __call__(self, done, total, elapsed, oracles=""):
        if self.enabled and elapsed >= PROGRESS_AFTER:
            judged = f" ({oracles})" if oracles else ""
            self.stream.write(f"\rgradcert: {done}/{total} cases{judged}, {elapsed:.0f} s ")
            self.stream.flush()
            self.shown = True

    def clear(self):
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


def run_check(args):
    """Run ``gradcert check`` from parsed arguments; returns the exit code."""
    from gradcert.properties import runner
    from gradcert.properties.frontends import report

    options = options_from(args)
    junit = junit_path(args.junit)
    progress = Progress()
    try:
        cert = runner.run(args.target, options, progress=None if args.json else progress)
    finally:
        progress.clear()
    if cert.verdict == "cannot check" and not args.json:
        print(f"gradcert: {cert.failure.message}", file=sys.stderr)  # like any other exit 2: one line
        return cert.exit_code
    try:
        print(report.to_json(cert) if args.json else report.to_text(cert, verbose=args.verbose))
        sys.stdout.flush()
    except BrokenPipeError:
        _stdout_gone()  # ``gradcert check ... | head``: the verdict's exit code stands
    if junit:
        try:
            report.write_junit(cert, junit)
        except OSError as error:
            raise UsageError(f"--junit {args.junit}: cannot write it ({error.strerror})") from None
    return cert.exit_code


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    started = time.perf_counter()
    from gradcert.properties.candidates.process import interruptible

    try:
        with interruptible():
            return _main(argv)
    except GradcertError as error:
        print(f"gradcert: {error}", file=sys.stderr)
        return EXIT_CANNOT_CHECK
    except KeyboardInterrupt:
        print(f"\ngradcert: interrupted after {time.perf_counter() - started:.1f} s", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _stdout_gone()
        return EXIT_CANNOT_CHECK


def _main(argv):
    top = parser()
    args = top.parse_args(argv)
    if args.command is None:
        top.print_help()
        return EXIT_CANNOT_CHECK
    if args.command == "assumptions":
        from gradcert.properties.assumptions import map as assumptions

        return assumptions.run(args)
    if args.command == "selftest":
        from gradcert.properties.frontends import selftest

        return selftest.run(args)
    return run_check(args)


def _stdout_gone():
    """stdout's reader went away: say nothing more, and give the interpreter's flush at exit a
    descriptor that accepts the rest (Python's documented recipe for SIGPIPE)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
