"""Rewrite pack YAML files in canonical form (indentation, modeline, DSL spacing),
comments preserved. `--check` changes nothing and exits 1 when a file would change."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

from ..errors import InputError
from . import add_pack_paths, display_path

HELP = "format pack YAML and DSL expressions canonically (--check for CI)"


def add_arguments(parser) -> None:
    add_pack_paths(parser)
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 when a file is not formatted"
    )
    parser.add_argument("--diff", action="store_true", help="print the changes as a unified diff")


def run(args) -> int:
    # deferred: loaded when the command runs (mtbrules --help stays fast)
    from ..formatter import format_text, pack_files
    from ..gitref import is_git_ref
    from ..registry import builtin_ids, pack_folders

    files: list[Path] = []
    for ref in args.paths or builtin_ids():
        if is_git_ref(ref) and not args.check:
            raise InputError(f"{ref}: a git revision cannot be rewritten; use --check")
        path = Path(ref)
        if path.is_file() and path.suffix in (".yaml", ".yml"):
            files.append(path)
        else:
            for folder in pack_folders([ref]):
                files.extend(pack_files(folder))
    changed = 0
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot read: {exc}") from None
        try:
            new = format_text(text, path)
        except Exception as exc:  # noqa: BLE001 - ruamel's parser errors carry their own position
            raise InputError(f"{display_path(str(path))}: cannot parse YAML: {exc}") from None
        if new == text:
            continue
        changed += 1
        if args.diff or args.check:
            sys.stdout.writelines(
                difflib.unified_diff(
                    text.splitlines(True),
                    new.splitlines(True),
                    display_path(str(path)),
                    display_path(str(path)) + " (formatted)",
                )
            )
        if args.check:
            print(f"would reformat {display_path(str(path))}", file=sys.stderr)
        else:
            path.write_text(new, encoding="utf-8")
            print(f"reformatted {display_path(str(path))}", file=sys.stderr)
    if args.check and changed:
        print(f"{changed} file{'s' * (changed != 1)} would be reformatted", file=sys.stderr)
        return 1
    return 0
