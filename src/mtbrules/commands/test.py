"""Run packs' scenario files (a case and the expected part of its decision).
A failure shows the scenario's file:line, expected against actual as a diff, and
the decision path. `--coverage` reports the rules and the clauses of each source
the scenarios exercised; `--fail-under` fails when rule coverage is lower."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from ..diagnostics import github_escape
from ..terminal import printable
from . import add_pack_paths, display_path
from ._io import write_json

if TYPE_CHECKING:
    from ..coverage import ScenarioRun

HELP = "run packs' scenario tests, optionally with rule and clause coverage"


def add_arguments(parser) -> None:
    add_pack_paths(parser)
    parser.add_argument(
        "--coverage",
        action="store_true",
        help="report the rules and clauses the scenarios exercise",
    )
    parser.add_argument(
        "--fail-under",
        type=float,
        metavar="PERCENT",
        default=None,
        help="exit 1 when a pack's rule coverage is below PERCENT (implies --coverage)",
    )
    parser.add_argument("--format", choices=("text", "json", "github"), default="text")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print failures and the summary only"
    )


def run(args) -> int:
    # deferred: loaded when the command runs (mtbrules --help stays fast)
    from ..coverage import coverage_report, diff_text, run_pack
    from ..registry import builtin_ids, load_pack, pack_folders

    refs = args.paths or builtin_ids()
    folders = pack_folders(refs)
    packs = [load_pack(folder) for folder in folders]
    want_coverage = args.coverage or args.fail_under is not None
    failed = False
    report = []
    for pack in packs:
        cov = run_pack(pack)
        bad = [r for r in cov.runs if not r.passed]
        failed = failed or bool(bad)
        under = args.fail_under is not None and cov.rule_percent + 1e-9 < args.fail_under
        failed = failed or under
        if args.format == "json":
            entry = (
                cov.to_dict()
                if want_coverage
                else {"pack": pack.id, "scenarios": len(cov.runs), "failed": len(bad)}
            )
            entry["failures"] = [
                {
                    "file": display_path(r.scenario.location.file),
                    "line": r.scenario.location.line,
                    "name": r.scenario.name,
                    "failures": list(r.result.failures),
                    "diff": diff_text(r.scenario.expectation, r.result),
                    "path": [p.rule for p in r.result.decision.path] if r.result.decision else [],
                }
                for r in bad
            ]
            if under:
                entry["below_fail_under"] = args.fail_under
            report.append(entry)
            continue
        if args.format == "github":
            for r in bad:
                loc = r.scenario.location
                text = f"scenario '{r.scenario.name}' failed: " + "; ".join(r.result.failures)
                print(
                    f"::error file={display_path(loc.file)},line={loc.line},title=scenario failed::{github_escape(text)}"
                )
            if under:
                print(
                    f"::error title=coverage::{pack.id}: rule coverage {cov.rule_percent:.1f}% is below {args.fail_under}%"
                )
            continue
        for r in bad:
            print(printable(failure_report(r)))
        if not args.quiet or bad:
            print(f"{pack.id}: {len(cov.runs) - len(bad)} passed, {len(bad)} failed")
        if want_coverage:
            print(coverage_report(cov))
        if under:
            print(
                f"{pack.id}: rule coverage {cov.rule_percent:.1f}% is below --fail-under {args.fail_under}%"
            )
    if args.format == "json":
        write_json(report)
    sys.stdout.flush()
    return 1 if failed else 0


def failure_report(run: ScenarioRun) -> str:
    """A failed scenario: its file:line and name, each failure, expected against actual, the path."""
    # deferred: loaded when the command runs (mtbrules --help stays fast)
    from ..coverage import diff_text  # heavy imports happen when a command runs (cli.py)

    sc, result = run.scenario, run.result
    loc = sc.location
    lines = [f"FAIL {display_path(loc.file)}:{loc.line}: {sc.name}"]
    lines += ["  " + f for f in result.failures]
    diff = diff_text(sc.expectation, result)
    if diff:
        lines += ["  " + line for line in diff.splitlines()]
    if result.decision is not None:
        lines.append("  decision path:")
        for step in result.decision.path:
            lines.append(f"    {step.rule}  [{step.source}] {step.title}")
    return "\n".join(lines)
