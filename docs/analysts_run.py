"""Regenerate docs/analysts.md: a rule change in the Qingdao pack and its impact on 100,000 synthetic cases.

Run from the repository root (takes a few minutes on 2 cores):

    python docs/analysts_run.py            # 100,000 cases
    python docs/analysts_run.py --n 2000   # a quick try (does not write the page unless --write)

Every block of output in the page is produced by this script running the
real commands; nothing is typed by hand. The rule change is a made-up
example for the walkthrough, not a policy fact.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "analysts.md"

CASE = {
    "service": "certificate",
    "submitted_on": "2025-09-29",
    "diseases": ["高血压病合并心、脑、肾等并发症"],
    "hospitalized": False,
    "hospital_level": 3,
    "outpatient_years": 1.5,
    "district": "市北区",
}
CASE_B = {
    "service": "certificate",
    "submitted_on": "2025-09-29",
    "diseases": ["恶性肿瘤"],
    "first_application": True,
    "scheme": "employee",
    "hospital_level": 3,
}

# The edit an analyst tries out (hypothetical): 5 instead of 7 working days, and one
# year of systematic outpatient treatment instead of two for 高血压/糖尿病 without a hospital stay.
EDITS = [
    (
        "rules/s2_3_time_limits.yaml",
        "submitted_on + 7 working_days",
        "submitted_on + 5 working_days",
    ),
    ("rules/s2_2_materials.yaml", "outpatient_years < 2", "outpatient_years < 1"),
]


def sh(args: list[str], cwd: Path, input_text: str | None = None) -> tuple[int, str, float]:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "mtbrules", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        input=input_text,
        env={**os.environ, "CI": "1"},
    )
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - started


def block(text: str, lang: str = "") -> str:
    return f"```{lang}\n{text.rstrip()}\n```\n"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument(
        "--write", action="store_true", help="write the page even when --n is not 100000"
    )
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mtbrules-analysts-"))
    try:
        return run(work, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work: Path, args) -> int:
    out: dict[str, str] = {}
    (work / "case.json").write_text(
        json.dumps(CASE, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    (work / "case_b.json").write_text(
        json.dumps(CASE_B, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    out["case"] = json.dumps(CASE, ensure_ascii=False, indent=2)
    out["case_b"] = json.dumps(CASE_B, ensure_ascii=False, indent=2)

    # 1. One case: why.
    _, out["explain_applied"], _ = sh(
        ["explain", "case.json", "--pack", "qingdao", "--only", "applied", "--depth", "3"], work
    )
    _, out["explain_rule"], _ = sh(
        [
            "explain",
            "case.json",
            "--pack",
            "qingdao",
            "--lang",
            "en",
            "--rule",
            "group_a_outpatient_years",
            "--rule",
            "group_a_inpatient_documents",
        ],
        work,
    )
    # 2. One case across cities.
    _, out["compare"], _ = sh(
        ["compare", "case_b.json", "--packs", "all", "--format", "markdown"], work
    )

    # 3. The edit, in a copy of the pack.
    new = work / "qingdao-draft"
    shutil.copytree(ROOT / "policies" / "qingdao", new)
    for rel, old_text, new_text in EDITS:
        f = new / rel
        text = f.read_text(encoding="utf-8")
        assert text.count(old_text) == 1, (rel, old_text)
        f.write_text(text.replace(old_text, new_text), encoding="utf-8")

    # 4. A synthetic caseload.
    code, msg, secs = sh(
        [
            "synth",
            "--pack",
            "qingdao",
            "-n",
            str(args.n),
            "--seed",
            str(args.seed),
            "-o",
            "cases.jsonl",
        ],
        work,
    )
    assert code == 0, msg
    out["synth_secs"] = f"{secs:.1f}"
    out["synth_head"] = "\n".join(
        (work / "cases.jsonl").read_text(encoding="utf-8").splitlines()[:3]
    )

    # 5. The whole caseload, old rules.
    code, msg, secs = sh(
        ["batch", "--pack", "qingdao", "cases.jsonl", "-o", "decisions.parquet", "-q"], work
    )
    out["batch_code"], out["batch_msg"], out["batch_secs"] = str(code), msg.strip(), f"{secs:.1f}"
    import pyarrow.parquet as pq

    table = (
        pq.read_table(work / "decisions.parquet", columns=["outcome"]).column("outcome").to_pylist()
    )
    counts: dict[str, int] = {}
    for o in table:
        counts[o] = counts.get(o, 0) + 1
    out["outcomes"] = "\n".join(
        f"| {k} | {v:,} |" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])
    )

    # 6. The diff and its impact.
    draft = str(new)
    code, text, secs = sh(
        ["diff", "qingdao", draft, "--cases", "cases.jsonl", "--format", "markdown"], work
    )
    out["diff_code"], out["diff_secs"] = str(code), f"{secs:.1f}"
    out["diff_md"] = text.replace(draft, "qingdao-draft")
    _code2, js, _ = sh(
        ["diff", "qingdao", draft, "--cases", "cases.jsonl", "--format", "json"], work
    )
    data = json.loads(js)
    out["summary"] = json.dumps(data["summary"], ensure_ascii=False, indent=2)
    # An example row from the impact, explained with both packs.
    rows = (work / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    outcome_groups = data["impact"]["outcomes"]
    if outcome_groups:
        ex_row = outcome_groups[0]["examples"][0]
        (work / "example.json").write_text(rows[ex_row - 1], encoding="utf-8")
        out["example_row"] = str(ex_row)
        out["example_case"] = json.dumps(json.loads(rows[ex_row - 1]), ensure_ascii=False, indent=2)
        _, out["example_old"], _ = sh(
            [
                "explain",
                "example.json",
                "--pack",
                "qingdao",
                "--rule",
                "group_a_outpatient_years",
                "--lang",
                "en",
            ],
            work,
        )
        _, out["example_new"], _ = sh(
            [
                "explain",
                "example.json",
                "--pack",
                draft,
                "--rule",
                "group_a_outpatient_years",
                "--lang",
                "en",
            ],
            work,
        )
        out["example_new"] = out["example_new"].replace(draft, "qingdao-draft")
    no_change_code, no_change, _ = sh(["diff", "qingdao", "qingdao", "--format", "json"], work)
    out["no_change"] = json.dumps(json.loads(no_change)["summary"])
    out["no_change_code"] = str(no_change_code)
    out["unreached"] = unreached_report()
    out["n"] = f"{args.n:,}"
    out["cpus"] = str(len(os.sched_getaffinity(0)))

    page = TEMPLATE.format_map(_Out(out))
    if args.n == 100_000 or args.write:
        PAGE.write_text(page, encoding="utf-8")
        print(f"wrote {PAGE}")
    else:
        print(page)
    return 0


TEMPLATE = """# Analysts: explain, compare, diff, batch, synth

<!-- Generated by docs/analysts_run.py; do not edit by hand. Regenerate with
     `python docs/analysts_run.py` (a few minutes on 2 cores). -->

A walkthrough for policy analysts who change rules and need to see what the
change does: to one case, across cities, and to a whole caseload. Every block
of output below was produced by running the commands shown (the script
`docs/analysts_run.py` runs them and writes this page). The Python API for
each step is in [api.md](api.md).

The rule change studied here is **made up for the walkthrough**: it is not in
any notice.

## 1. One case: why is the decision what it is?

A 高血压病合并并发症 patient of 市北区, diagnosed in outpatient care, with 1.5
years of systematic outpatient treatment:

{case_block}
`mtbrules explain case.json --pack qingdao --only applied --depth 3` shows
each output with the rule and clause that produced it, then every applying
rule's condition with the values it read (✓ true, ✗ false, ? not given):

{explain_applied_block}
The decision is `ineligible`: `group_a_outpatient_years` rejects it. Why
did the outpatient-documents rule apply and the inpatient one not?
`--rule` picks rules, `--lang en` switches language; for a rule that did not
apply, only the sub-conditions that were not true are shown, with the value
each saw:

{explain_rule_block}
`--format json` gives the same as data (each condition with `expr`, `value`,
`seen`, `parts`, `items`). Only the fields the conditions read are shown,
never the rest of the case.

## 2. One case across cities

`mtbrules compare case_b.json --packs all --format markdown` (a first
application for 恶性肿瘤):

{case_b_block}
{compare}
A field only some packs define (e.g. Qingdao's `dialysis_count_3_months`) is
left out for the others, with a note; `--format json` has each pack's full
decision.

## 3. The change

A draft copy of the Qingdao pack with two edits:

| file | before | after |
|---|---|---|
| rules/s2_3_time_limits.yaml | `submitted_on + 7 working_days` | `submitted_on + 5 working_days` |
| rules/s2_2_materials.yaml | `outpatient_years < 2` | `outpatient_years < 1` |

## 4. A synthetic caseload

`mtbrules synth --pack qingdao -n {n} --seed 2025 -o cases.jsonl` ({synth_secs} s)
draws cases from the pack's catalogues (diseases by name, alias, id and in
Traditional characters, some not covered; documents by name or alias, some
missing, some with an old `issued_on`) and from the values the rules compare
with (districts, levels, years), and first searches for a case that reaches
each rule. The first three lines:

{synth_head_block}
Decisions under the current rules, with `mtbrules batch --pack qingdao
cases.jsonl -o decisions.parquet` ({batch_secs} s on {cpus} CPUs, exit code
{batch_code}):

| outcome | cases |
|---|---:|
{outcomes}

## 5. What the change does

`mtbrules diff qingdao qingdao-draft --cases cases.jsonl --format markdown`
({diff_secs} s; exit code {diff_code}: something changed):

{diff_md}
The `summary` object of `--format json`:

{summary_block}
Each change is blamed on the rule that caused it: a moved deadline on the
rule that sets it, an outcome on the rules whose applying changed. The
example rows are line numbers of `cases.jsonl`. Row {example_row}, for
instance:

{example_case_block}
explained with the current pack:

{example_old_block}
and with the draft:

{example_new_block}
With no change (`mtbrules diff qingdao qingdao`), the exit code is
{no_change_code} and the summary is `{no_change}`.

## Exit codes

| command | 0 | 1 | 2 |
|---|---|---|---|
| `explain`, `compare` | done | — | invalid case, unknown pack or rule |
| `diff` | nothing changed | something changed (statically or in the caseload) | unreadable pack, bad `git:REV:PATH` |
| `batch` | every row evaluated | some rows bad (see the errors file) | input unusable (missing, unknown format, not Parquet), or `--resume` cannot continue |
| `synth` | done | — | unknown pack |

## Batch formats

- **JSONL** in: one case per line (CONTRACT §2); `row` is the line number
  (blank lines are skipped but counted). Out: each line is `eval`'s Decision
  JSON with `row` added, written compact (no space after `,` and `:`; keys
  in the same order; UTF-8, not `\\u` escapes) by orjson, the same bytes on
  every run and with any number of workers. The errors file, `decision_json`
  and `synth`'s cases are written the same way. (Before 2026-12 the lines
  had a space after `,` and `:`; a JSON reader sees no difference.)
- **CSV** in: a header, then one case per record; `row` 1 is the first
  record. Empty cells are absent fields; `offsite.settled`-style columns
  build objects; booleans accept `true/false/1/0/yes/no`; lists are a JSON
  array or `;`-separated; a `case_json` column may hold the whole case.
- **Parquet** in: the same columns, typed (lists, dates, booleans) or text.
- **CSV/Parquet** out: `row`, `pack`, `pack_version`, `service`, `as_of`,
  `outcome`, `complete`, `required_documents`, `missing_documents`,
  `channels` (ids, `;`-separated), `decision_due`, `benefit_start`,
  `valid_until`, and `decision_json` (the whole Decision JSON with `row`).
- **Errors file** (`OUT.errors.jsonl`, or `--errors FILE`, CSV if it ends in
  `.csv`): one line per bad row with `row`, `field` (or null) and `message`.
  It is always written (empty when every row was evaluated). Bad rows are
  not in the output; join on `row`.
- Work is split into chunks of `--chunk-rows` (2000) rows over `-j` processes
  (default: all CPUs); at most 2×workers+1 chunks are in flight and output is
  written in input order, so memory stays flat whatever the input size. Each
  worker writes its own chunks of a JSONL or CSV output file, at the place
  that follows the previous chunk (decisions do not pass through the parent
  process); Parquet and standard output are written by the parent. A
  progress line appears on a terminal (not when `CI` is set, or with `-q`).

## An interrupted batch

A run never leaves a file at its final name until it has finished.

- While it runs, the decisions go to `OUT.partial` and the errors to
  `OUT.errors.jsonl.partial` (or `ERRORS.partial` for `--errors ERRORS`),
  in the output's folder, with `OUT.partial.manifest.json` beside them: the
  input (path, size, modification time), the formats, the pack and a
  fingerprint of its files, and `rows_done` — input rows 1…`rows_done` are
  all written, each either a decision or an error (`ok`, `bad`,
  `output_bytes`, `errors_bytes`). The manifest is rewritten at most twice
  a second, always after the files are flushed, so it never names a row that
  is not written.
- When every row is done, the errors file and then the output are renamed
  to their final names and the manifest is removed.
- **SIGTERM or Ctrl-C** (SIGINT, to the process or its whole group): the run
  finishes the chunks already handed to the workers, writes them, updates
  the manifest (`interrupted: "SIGTERM"`), says on standard error how many
  rows are done and where, and exits 128 + the signal: **143** for SIGTERM,
  **130** for Ctrl-C. A second signal stops at once (the manifest still
  names only rows that are written).
- **SIGKILL**, or a crash, of the command: the worker processes notice and
  end at once (on Linux the kernel kills them, `PR_SET_PDEATHSIG`; elsewhere
  a watchdog thread in each worker); the partial files may hold more than the
  manifest names, never less. A worker that dies stops the run like a signal,
  with exit code 3.
- **`mtbrules batch … --resume`** (the same input, output, errors file and
  pack) continues: it cuts the partial files back to the lengths the
  manifest names, skips the input rows already done (JSONL: seeks to where
  row `rows_done + 1` begins), appends the rest, and renames as a full run
  does. Every input row is then exactly once in the output or the errors
  file; the exit code and the summary count the whole run. It refuses
  (exit 2, saying why) when there is no manifest, when the input, formats,
  pack or errors file differ from the interrupted run's, or when a partial
  file is shorter than its manifest says. A Parquet output can be resumed
  after SIGTERM or Ctrl-C (the partial file is then a complete Parquet file)
  but not after SIGKILL (no footer): run again without `--resume`.
- Without `--resume`, a new run starts from the beginning and replaces any
  partial files of an earlier one. Standard output (`-o -`) is written as it
  comes and cannot be resumed.

## What synth cannot reach

`synth` reports the rules its seeded search does not reach, with the
reason, on standard error. For the built-in packs as of this run:

{unreached}
"""


def unreached_report() -> str:
    import mtbrules
    from mtbrules.synth import Synth

    lines = []
    for pid in mtbrules.builtin_packs():
        gen = Synth(mtbrules.load_pack(pid), seed=0)
        gen.seed_cases(__import__("random").Random("0:cover"))
        for rule, why in gen.unreached.items():
            lines.append(f"- `{pid}` `{rule}`: {why}")
    return "\n".join(lines) or "None: every rule of every built-in pack is reached."


class _Out(dict):
    """Template values; `x_block` is the raw output `x` in a fenced block."""

    def __missing__(self, key):
        if key.endswith("_block"):
            raw = self[key[: -len("_block")]]
            return block(raw, "json" if raw.lstrip().startswith(("{", "[")) else "")
        raise KeyError(key)


if __name__ == "__main__":
    sys.exit(main())
