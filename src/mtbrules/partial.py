"""The partial result of a caseload run: names that say so, the manifest of rows done, resume.

A run never writes at the final names until it has finished: the decisions go
to `OUT.partial` and the errors to `ERRORS.partial`, in the same folder (so
that the final rename is atomic), and `OUT.partial.manifest.json` says which
input rows they hold. On success both are renamed to their final names and the
manifest is removed; a run that is interrupted or killed leaves the three, and
`resume()` continues from them.

The manifest only ever names rows whose output is completely written: the
files are flushed before the manifest is replaced (write to a temporary name,
then `os.replace`), so after any kill the manifest's `output_bytes` and
`errors_bytes` are a prefix of the files. Resuming truncates the files to
those lengths and goes on from `rows_done + 1`: every input row ends up
exactly once in the output or the errors file. (Flushed is not synced: a
power cut, unlike a killed process, may lose written data; the manifest is
then ahead of the disk, and resuming says so when a file is shorter than it
claims.)
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import time
from typing import Any

import attrs

from ._version import __version__
from .errors import InputError

SUFFIX = ".partial"
MANIFEST_SUFFIX = ".partial.manifest.json"
_KIND = "mtbrules batch partial result"


def partial_name(path: str) -> str:
    return path + SUFFIX


def manifest_name(path: str) -> str:
    return path + MANIFEST_SUFFIX


def fingerprint_folder(folder: str) -> str:
    """The SHA-256 of a pack folder's files (names and bytes): a resumed run uses the same pack."""
    h = hashlib.sha256(f"mtbrules {__version__}\0".encode())
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = os.path.join(root, name)
            h.update(os.path.relpath(path, folder).encode() + b"\0")
            with open(path, "rb") as fh:
                h.update(fh.read())
            h.update(b"\0")
    return h.hexdigest()


def input_identity(path: str) -> dict[str, Any]:
    """What must not change between a run and its resumption: the input's size and time."""
    info = os.stat(path)
    return {
        "input": os.path.abspath(path),
        "input_size": info.st_size,
        "input_mtime_ns": info.st_mtime_ns,
    }


@attrs.define
class Manifest:
    """What a partial run holds. `rows_done`: input rows 1..rows_done are all in the files."""

    output: str
    errors: str | None
    job: dict[str, Any]  # input identity, formats, pack: must match to resume
    rows_done: int = 0
    input_offset: int | None = 0  # JSONL: byte offset of row rows_done + 1
    output_bytes: int = 0
    errors_bytes: int = 0
    ok: int = 0
    bad: int = 0
    interrupted: str | None = None

    @property
    def path(self) -> str:
        return manifest_name(self.output)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": _KIND,
            "version": 1,
            "output": os.path.abspath(self.output),
            "partial_output": os.path.abspath(partial_name(self.output)),
            "errors": os.path.abspath(self.errors) if self.errors else None,
            "partial_errors": os.path.abspath(partial_name(self.errors)) if self.errors else None,
            **self.job,
            "rows_done": self.rows_done,
            "input_offset": self.input_offset,
            "output_bytes": self.output_bytes,
            "errors_bytes": self.errors_bytes,
            "ok": self.ok,
            "bad": self.bad,
            "finished": False,
            "interrupted": self.interrupted,
            "updated": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        }

    def save(self) -> None:
        """Replace the manifest atomically (the files it describes are flushed first, by the caller)."""
        tmp = f"{self.path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh, ensure_ascii=False, indent=2)
            fh.write("\n")
        os.replace(tmp, self.path)

    def remove(self) -> None:
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass


def load(output: str, job: dict[str, Any], errors: str | None) -> Manifest:
    """The manifest of the partial run of `output`, checked against this run's `job`; InputError if
    there is none, or it is of another input, pack or format, or its files are shorter than it says."""
    path = manifest_name(output)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise InputError(
            f"--resume: no partial run of {output} to continue ({path} does not exist)"
        ) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: unreadable manifest: {exc}") from None
    if not isinstance(data, dict) or data.get("kind") != _KIND:
        raise InputError(f"{path}: not a manifest of a partial mtbrules batch run")
    for key, value in job.items():
        if data.get(key) != value:
            raise InputError(
                f"--resume: the partial run of {output} was made with another {key.replace('_', ' ')} "
                f"({data.get(key)!r}, now {value!r}); run without --resume to start again"
            )
    old_errors = data.get("errors")
    if (old_errors or None) != (os.path.abspath(errors) if errors else None):
        raise InputError(
            f"--resume: the partial run of {output} wrote its errors to {old_errors or 'standard error'}; "
            "resume with the same --errors"
        )
    try:
        manifest = Manifest(
            output=output,
            errors=errors,
            job=job,
            rows_done=int(data["rows_done"]),
            input_offset=data["input_offset"],
            output_bytes=int(data["output_bytes"]),
            errors_bytes=int(data["errors_bytes"]),
            ok=int(data["ok"]),
            bad=int(data["bad"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: incomplete manifest ({exc})") from None
    for name, size in (
        (partial_name(output), manifest.output_bytes),
        (partial_name(errors) if errors else None, manifest.errors_bytes),
    ):
        if name is None:
            continue
        have = os.path.getsize(name) if os.path.exists(name) else -1
        if have < size:
            raise InputError(
                f"--resume: {name} holds {max(have, 0)} bytes, fewer than the {size} its manifest "
                "names (lost after the manifest was written); run without --resume to start again"
            )
    return manifest


def truncate(path: str, size: int) -> None:
    """Cut `path` back to `size` bytes: what a killed run wrote past its manifest is dropped."""
    with open(path, "r+b") as fh:
        fh.truncate(size)


def commit(manifest: Manifest) -> None:
    """The run is complete: the partial files take their final names, the manifest goes."""
    if manifest.errors:
        os.replace(partial_name(manifest.errors), manifest.errors)
    # The output last: a file at the output's name means the whole run is there.
    os.replace(partial_name(manifest.output), manifest.output)
    manifest.remove()


class Throttle:
    """True at most every `seconds` (the manifest is rewritten per chunk only so often)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.last = time.monotonic()

    def __call__(self) -> bool:
        now = time.monotonic()
        if now - self.last >= self.seconds:
            self.last = now
            return True
        return False
