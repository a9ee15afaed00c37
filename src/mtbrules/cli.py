"""The `mtbrules` command line: argparse subcommands, and exit codes from exceptions.

Only this module prints errors and picks exit codes (CONTRACT §1): 0 done,
1 findings, 2 invalid input (one line on stderr, no traceback), 3 a bug.
Each subcommand lives in `mtbrules.commands.<name>` with `add_arguments`
and `run`; heavy imports happen inside `run` so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from ._version import __version__
from .errors import InputError, MtbError, error_message
from .terminal import printable

#: Subcommands, in the order `--help` lists them. A module that is not
#: installed (an optional extra) is left out of the parser.
COMMANDS = (
    "eval",
    "packs",
    "check",
    "test",
    "fmt",
    "schema",
    "calendar",
    "explain",
    "compare",
    "diff",
    "batch",
    "synth",
    "compile",
    "serve",
    "studio",
    "lsp",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mtbrules",
        description="Policy as code for China's outpatient chronic and special disease insurance (门诊慢特病).",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    parser.add_argument("--version", action="version", version=f"mtbrules {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"mtbrules.commands.{name}")
        except ImportError:
            continue
        command = sub.add_parser(name, help=module.HELP, description=module.__doc__)
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        code = args._run(args)
    except InputError as exc:
        print(f"mtbrules: {printable(error_message(exc))}", file=sys.stderr)
        return 2
    except MtbError as exc:
        print(f"mtbrules: {printable(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("mtbrules: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a bug
        print(
            f"mtbrules: internal error (this is a bug): {type(exc).__name__}: {printable(str(exc))}",
            file=sys.stderr,
        )
        if args.debug:
            traceback.print_exc()
        return 3
    return int(code or 0)


#: The message for an error, as every edge says it (the library's own function).
render_error = error_message


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    entry()
