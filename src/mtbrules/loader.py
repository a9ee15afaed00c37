"""Pack folder → validated, cross-checked, compiled Pack: `load_pack_folder`.

Stages, in order: find and read each YAML file with positions (`_yaml`; or from
the compiled-pack cache), validate it against its definition in
`schemas/pack.schema.json`, then build the model (packbuild.py: catalogues,
references, DSL). Errors are collected (up to packbuild.MAX_ERRORS), sorted by
position and raised together. The loaded pack keeps the parsed files as its
locator (locator.py).
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

from . import bundled, cache
from . import workdays as wd
from ._yaml import YamlDoc, load_yaml
from .diagnostics import Diagnostic, Location
from .errors import PackError
from .files import PackFiles
from .pack import Pack
from .packbuild import Collector, PackBuilder

#: Files of a pack, in the order they are read, with their schema definition.
CATALOGUE_FILES = (
    ("pack.yaml", "pack_file", True),
    ("diseases.yaml", "diseases_file", False),
    ("documents.yaml", "documents_file", False),
    ("channels.yaml", "channels_file", False),
    ("categories.yaml", "categories_file", False),
)
#: Rule files in one pack (rules/*.yaml).
MAX_RULE_FILES = 200
#: Bytes of all of a pack's YAML files together (each file is also limited by _yaml.MAX_FILE_BYTES).
MAX_PACK_BYTES = 16 * 1024 * 1024


@functools.cache
def _schema() -> dict:
    text = bundled.read_text("schemas", "pack.schema.json")
    return json.loads(text)


@functools.cache
def validator(definition: str):
    """A validator for one kind of pack file (a `$defs` entry of pack.schema.json)."""
    import jsonschema  # imported on first validation: a cached pack never needs it

    schema = _schema()
    return jsonschema.Draft202012Validator(
        {"$ref": f"#/$defs/{definition}", "$defs": schema["$defs"]}
    )


def schema_diagnostics(doc: YamlDoc, definition: str) -> list[Diagnostic]:
    """Schema errors of one parsed file, each at the position of the offending value."""
    out = []
    for error in validator(definition).iter_errors(doc.value):
        path = tuple(error.absolute_path)
        message = _schema_message(error)
        where = ".".join(str(p) for p in path) or "(top level)"
        out.append(Diagnostic("MTB110", f"{where}: {message}", doc.location(path)))
    return out


def _schema_message(error) -> str:
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return f"unknown key {', '.join(repr(e) for e in extra)} (allowed: {allowed})"
    if error.validator == "required":
        return error.message.replace("is a required property", "is required")
    if error.validator == "anyOf" and error.context:
        # deferred: jsonschema's error tools (~25 ms) only for an invalid pack
        from jsonschema.exceptions import best_match

        best = best_match(error.context)
        return best.message
    return error.message


def load_pack_folder(
    folder: str | os.PathLike,
    calendar: wd.WorkingCalendar | None = None,
    files: PackFiles | None = None,
) -> Pack:
    """Load, validate and compile the pack in `folder`. PackError lists every problem.

    With `files`, their texts take the place of the disk's (an editor's unsaved
    buffers) and the compiled-pack cache is not used: `files` keeps what it parsed.
    """
    root = Path(folder)
    try:
        is_pack = (root / "pack.yaml").is_file() or (
            files is not None and files.is_file(root / "pack.yaml")
        )
    except (OSError, ValueError):  # e.g. a name too long for the file system
        is_pack = False
    if not is_pack:
        raise PackError.at("MTB101", "not a pack folder (no pack.yaml)", Location(str(root)[:200]))
    rule_dir = root / "rules"
    is_file = Path.is_file if files is None else files.is_file
    if files is not None:
        rule_paths = files.glob(rule_dir)
    else:
        rule_paths = sorted(rule_dir.glob("*.yaml")) if rule_dir.is_dir() else []
    catalogue_paths = [root / name for name, _, _ in CATALOGUE_FILES if is_file(root / name)]
    # Before anything reads the files (the cache key hashes them all).
    total = 0
    for path in catalogue_paths + rule_paths[:MAX_RULE_FILES]:
        try:
            total += path.stat().st_size if files is None else files.size(path)
        except OSError:
            pass  # reported when the file is read
    if total > MAX_PACK_BYTES:
        raise PackError.at(
            "MTB105",
            f"the pack's YAML files add up to more than {MAX_PACK_BYTES} bytes",
            Location(str(root)),
        )
    digest = None
    if files is None and len(rule_paths) <= MAX_RULE_FILES and cache.enabled():
        try:
            digest = cache.key(root, catalogue_paths + rule_paths)
        except OSError:
            digest = None
        hit = cache.get(digest) if digest else None
        # The key is the folder's real place; positions name the folder as it was spelled
        # when the entry was made (relative or absolute): another spelling is a miss.
        if hit is not None and hit[0]["pack.yaml"].file == str(root / "pack.yaml"):
            cached_docs, rule_docs, trees = hit
            return PackBuilder(root, cached_docs, rule_docs, Collector(), calendar, trees).build()
    out = Collector()
    docs: dict[str, YamlDoc | None] = {}
    for name, definition, required in CATALOGUE_FILES:
        path = root / name
        if not is_file(path):
            if required:
                out.add("MTB101", f"missing {name}", Location(str(path)))
            docs[name] = None
            continue
        docs[name] = _read(path, definition, out, files)
    rule_docs = []
    if len(rule_paths) > MAX_RULE_FILES:
        out.add("MTB105", f"more than {MAX_RULE_FILES} rule files", Location(str(rule_dir)))
        rule_paths = rule_paths[:MAX_RULE_FILES]
    for path in rule_paths:
        doc = _read(path, "rules_file", out, files)
        if doc is not None:
            rule_docs.append(doc)
    out.raise_if_errors()
    builder = PackBuilder(root, docs, rule_docs, out, calendar, files=files)
    pack = builder.build()
    if digest:
        # Only a pack that loaded cleanly is cached: a broken one must report its errors every time.
        cache.put(digest, (docs, rule_docs, builder.trees))
    return pack


def _read(path: Path, definition: str, out: Collector, files=None) -> YamlDoc | None:
    try:
        doc = load_yaml(str(path)) if files is None else files.yaml(path)
    except PackError as exc:
        out.extend(exc.diagnostics)
        return None
    if files is None:
        diagnostics = schema_diagnostics(doc, definition)
    else:  # validated once per text
        text = "\n".join(doc.lines)
        diagnostics = files.memo(
            "schema:" + definition, path, text, lambda: schema_diagnostics(doc, definition)
        )
    out.extend(diagnostics)
    return None if diagnostics else doc
