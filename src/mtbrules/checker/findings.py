"""The checker's findings as they are made: each code's severity, the entry a finding is
about, where entries stand (the pack's locator), and the pack notes that acknowledge warnings."""

from __future__ import annotations

from pathlib import Path

from ..diagnostics import CODES, ERROR, WARNING, Diagnostic, Location
from ..files import PackFiles
from ..locator import PackLocator
from ..pack import Pack


class Findings:
    """The findings for one loaded pack, and what the checks need to make them."""

    def __init__(self, pack: Pack, folder: Path, files: PackFiles | None = None):
        self.pack = pack
        self.folder = folder
        self.files = files or PackFiles()
        self.out: list[Diagnostic] = []
        self.subjects: dict[int, str] = {}  # id(diagnostic) -> the entry it is about
        # The positions the loader kept; a pack built in memory has none.
        self.locator = pack.locator or PackLocator(str(folder), {})

    def add(
        self,
        code: str,
        message: str,
        location: Location | None,
        hint: str | None = None,
        example=None,
        subject: str | None = None,
    ):
        diag = Diagnostic(code, message, location, CODES[code][1], hint, example)
        self.out.append(diag)
        if subject is not None:
            self.subjects[id(diag)] = subject

    # -- positions

    def entry_location(
        self, file: str, key: str, ident: str, sub: tuple = ("id",)
    ) -> Location | None:
        """Where entry `ident` of `key` in catalogue `file` stands (PackLocator.entry)."""
        return self.locator.entry(file, key, ident, sub)

    def rule_location(self, rule, sub: tuple = ()) -> Location:
        """Where part `sub` of `rule` stands; its id's position without `sub` or when unknown."""
        return (self.locator.rule(rule.id, sub) if sub else None) or rule.location

    def acknowledged(self) -> None:
        """Drop the warnings a pack note acknowledges as the text's own silence; MTB414 for an
        acknowledgement of an error or of a warning that is not found."""
        acks = []
        for i, noted in enumerate(self.pack.notes):
            for j, entry in enumerate(noted.acknowledges):
                where = self.locator.at("pack.yaml", ("notes", i, "acknowledges", j))
                acks.append((entry, where, noted.id))
        if not acks:
            return
        used = set()
        kept = []
        for diag in self.out:
            subject = self.subjects.get(id(diag))
            hit = None
            for k, (entry, _loc, _note) in enumerate(acks):
                code, _, subj = entry.partition(":")
                if (
                    code == diag.code
                    and diag.severity == WARNING
                    and (not subj or subj == subject or (subject or "").startswith(subj + ":"))
                ):
                    hit = k
                    break
            if hit is None:
                kept.append(diag)
            else:
                used.add(hit)
        for k, (entry, loc, note) in enumerate(acks):
            code = entry.partition(":")[0]
            if CODES.get(code, ("", ERROR))[1] != WARNING:
                kept.append(
                    Diagnostic(
                        "MTB414",
                        f"note '{note}' acknowledges {entry}, but only warnings can be acknowledged",
                        loc,
                        ERROR,
                        "fix the error instead",
                    )
                )
            elif k not in used:
                kept.append(
                    Diagnostic(
                        "MTB414",
                        f"note '{note}' acknowledges {entry}, but check finds no such warning",
                        loc,
                        WARNING,
                        "remove the stale acknowledgement",
                    )
                )
        self.out = kept


def unique(found: list[Diagnostic]) -> list[Diagnostic]:
    """`found` without repeats (the same code, message and place), in order."""
    seen, out = set(), []
    for d in found:
        key = (d.code, d.message, d.location)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out
