"""Does a pack's cost grow with the rules that apply, or with the rules it has?

Synthetic packs (written to a temporary folder, never shipped): N diseases and
one rule per disease (`any d in diseases: d.id == "dK"`, requiring a document
and giving a reason), plus one rule that decides the outcome. The case names
10 diseases, so 10 disease rules apply whatever N is. CPU time per
`evaluate()`, median of interleaved rounds; the ratio of the N-rule pack to
the 10-rule pack is the figure of issue 13 ("1,000 rules of which 10 apply
≤ 2× a 10-rule pack").
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

APPLYING = 10


def write_pack(root: Path, n_rules: int) -> Path:
    folder = root / f"scaling{n_rules}"
    (folder / "rules").mkdir(parents=True)
    (folder / "pack.yaml").write_text(
        f"id: scaling{n_rules}\nname: 规模测试\ncity: 测试市\n"
        "sources:\n  s1: {title: 测试通知, file: source.txt}\n"
        "versions:\n  - {id: v1, effective_from: 2024-01-01, effective_to: 2025-12-31}\n"
        "services:\n  - {id: certificate, name: 认定}\n",
        encoding="utf-8",
    )
    (folder / "source.txt").write_text("一、测试条款。\n", encoding="utf-8")
    diseases = "".join(f"  - {{id: d{k}, name: 病种{k}}}\n" for k in range(n_rules))
    (folder / "diseases.yaml").write_text("diseases:\n" + diseases, encoding="utf-8")
    docs = "".join(
        f"  - {{id: doc{k}, name: 材料{k}, name_en: Document {k}}}\n" for k in range(n_rules)
    )
    (folder / "documents.yaml").write_text("documents:\n" + docs, encoding="utf-8")
    (folder / "channels.yaml").write_text(
        "channels:\n  - {id: counter, name: 经办窗口, kind: window}\n", encoding="utf-8"
    )
    rules = [
        (
            "rules:\n"
            "  - id: general\n    title: 一般\n    source: {doc: s1, clause: 一}\n"
            "    outcome: review\n    channels: [counter]\n"
        )
    ]
    for k in range(n_rules):
        rules.append(
            f"  - id: r{k}\n    title: 病种{k}\n    source: {{doc: s1, clause: 一}}\n"
            f"    when: 'any d in diseases: d.id == \"d{k}\"'\n"
            f"    require: [doc{k}]\n    reason: 病种{k}的材料\n"
        )
    (folder / "rules" / "all.yaml").write_text("".join(rules), encoding="utf-8")
    return folder


def run(sizes=(10, 100, 1000), rounds: int = 7, calls: int = 300, log=print) -> dict:
    import mtbrules

    case = {
        "service": "certificate",
        "submitted_on": "2025-03-03",
        "diseases": [f"病种{k}" for k in range(APPLYING)],
    }
    with tempfile.TemporaryDirectory() as tmp:
        packs = {n: mtbrules.load_pack(str(write_pack(Path(tmp), n))) for n in sizes}
        for pack in packs.values():
            decision = pack.evaluate(case)
            assert len(decision.required_documents) == APPLYING, decision
        times: dict[int, list[float]] = {n: [] for n in sizes}
        for _ in range(rounds):  # interleaved, so load bursts spread over every size
            for n, pack in packs.items():
                evaluate = pack.evaluate
                t0 = time.process_time()
                for _ in range(calls):
                    evaluate(case)
                times[n].append((time.process_time() - t0) / calls * 1e6)
    base = statistics.median(times[sizes[0]])
    rows = []
    for n in sizes:
        median = statistics.median(times[n])
        rows.append({"rules": n, "applying": APPLYING, "median_us": median, "ratio": median / base})
        log(f"  {n:>5} rules, {APPLYING} apply: {median:8.1f} µs/case  {median / base:5.2f}×")
    return {"rows": rows, "rounds": rounds, "calls": calls}


if __name__ == "__main__":
    run()
