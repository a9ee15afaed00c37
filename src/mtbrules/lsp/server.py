"""`mtbrules lsp`: the language server, over stdio (pygls).

Each pack folder an open file belongs to is checked as a whole, with the texts the
editor holds in place of the saved files, a moment (`debounce`) after the last
change; its findings are published for every file of the pack, so a change in one
file flags what depends on it in the others. Checks run one at a time on a worker
thread, and a check overtaken by a newer edit is not published.
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs
from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from .._version import __version__
from ..diagnostics import ERROR, Location
from ..errors import MtbError
from ..files import PackFiles, YamlDoc
from ..formatter import format_text
from . import completion, hover, navigation
from .findings import ANALYSIS_CODES, CheckResult, Finding, complete, message, recheck
from .index import Occurrence, PackIndex
from .ranges import from_position, to_range

log = logging.getLogger(__name__)

#: Seconds between the last change and the check.
DEBOUNCE = 0.15
_PACK_FILES = ("pack.yaml", "diseases.yaml", "documents.yaml", "channels.yaml", "categories.yaml")
_SYMBOL_KINDS = {
    "clause": types.SymbolKind.Namespace,
    "rule": types.SymbolKind.Function,
    "section": types.SymbolKind.Array,
    "entry": types.SymbolKind.Constant,
}
_COMPLETION_KINDS = {
    "field": types.CompletionItemKind.Field,
    "function": types.CompletionItemKind.Function,
    "keyword": types.CompletionItemKind.Keyword,
    "id": types.CompletionItemKind.Value,
    "clause": types.CompletionItemKind.Reference,
}


def pack_folder_of(path: str | os.PathLike) -> Path | None:
    """The pack folder a file belongs to: its own folder or its parent's, the one with pack.yaml."""
    here = Path(os.path.realpath(path)).parent
    for folder in (here, here.parent):
        if (folder / "pack.yaml").is_file():
            return folder
    return None


@attrs.define
class OpenPack:
    """A pack folder the editor has files of open, and its last check."""

    folder: Path
    result: CheckResult | None = None
    index: PackIndex | None = None
    published: set = attrs.Factory(set)
    generation: int = 0
    timer: asyncio.TimerHandle | None = None
    lock: asyncio.Lock = attrs.Factory(asyncio.Lock)


class PackServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("mtbrules", __version__)
        self.files = PackFiles()
        self.packs: dict[Path, OpenPack] = {}
        self.debounce = DEBOUNCE
        self.checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mtbrules-check")

    # -- packs and texts

    def pack_of(self, uri: str) -> OpenPack | None:
        path = to_fs_path(uri)
        folder = pack_folder_of(path) if path else None
        if folder is None:
            return None
        state = self.packs.get(folder)
        if state is None:
            state = self.packs[folder] = OpenPack(folder)
        return state

    def index_of(self, state: OpenPack) -> PackIndex:
        if state.index is None:
            state.index = PackIndex.build(state.folder, self.files.snapshot())
        return state.index

    def lines_of(self, path: str) -> list[str]:
        try:
            return self.files.read_text(path).splitlines()
        except (OSError, UnicodeDecodeError):
            return []

    def range_of(self, loc: Location) -> types.Range:
        return to_range(loc, self.lines_of(loc.file), self.workspace.position_codec)

    def location_of(self, loc: Location) -> types.Location:
        return types.Location(uri=from_fs_path(loc.file) or loc.file, range=self.range_of(loc))

    def at(self, uri: str, pos: types.Position) -> tuple[OpenPack, PackIndex, str, int, int] | None:
        state = self.pack_of(uri)
        path = to_fs_path(uri)
        if state is None or path is None:
            return None
        index = self.index_of(state)
        file = str(state.folder / os.path.relpath(os.path.realpath(path), state.folder))
        line, col = from_position(pos, self.lines_of(file), self.workspace.position_codec)
        return state, index, file, line, col

    def occurrence(
        self, uri: str, pos: types.Position
    ) -> tuple[OpenPack, PackIndex, Occurrence] | None:
        found = self.at(uri, pos)
        if found is None:
            return None
        state, index, file, line, col = found
        occ = index.at(file, line, col)
        return (state, index, occ) if occ is not None else None

    # -- checking

    def schedule(self, state: OpenPack, delay: float) -> None:
        """Check the pack `delay` seconds from now, unless another change comes first."""
        state.generation += 1
        generation = state.generation
        if state.timer is not None:
            state.timer.cancel()
        loop = asyncio.get_running_loop()
        state.timer = loop.call_later(
            delay, lambda: asyncio.ensure_future(self.check(state, generation))
        )

    async def check(self, state: OpenPack, generation: int) -> None:
        """Check the pack and publish; when it loads, first without the static rule
        analysis (the slow part), showing the last analysis' findings meanwhile."""
        async with state.lock:
            if generation != state.generation:
                return  # a newer change is scheduled
            files = self.files.snapshot()
            first = await self.run(state, recheck, state.folder, files, state.index, False)
            if first is None or generation != state.generation:
                return
            state.index = first.index
            if first.report.pack is None:  # did not load: no analysis to wait for
                state.result = first
                self.publish(state, first)
                return
            self.publish(state, first, keep=ANALYSIS_CODES)
            result = await self.run(state, complete, first, state.folder, files)
            if result is None or generation != state.generation:
                return
            state.result = result
            self.publish(state, result)

    async def run(self, state: OpenPack, job, *args) -> CheckResult | None:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.checker, job, *args)
        except Exception as exc:  # a bug must not stop the server
            log.exception("check of %s failed", state.folder)
            self.window_log_message(
                types.LogMessageParams(
                    type=types.MessageType.Error,
                    message=f"mtbrules: internal error checking {state.folder}: {exc}",
                )
            )
            return None

    def publish(self, state: OpenPack, result: CheckResult, keep: frozenset = frozenset()) -> None:
        """Findings for every file of the pack (none: an empty list, clearing the last);
        `keep`: codes whose findings of the last complete check stay until the next."""
        files = {str(state.folder / n) for n in _PACK_FILES if (state.folder / n).is_file()}
        files |= set(result.index.docs) | set(result.findings) | state.published
        kept: dict[str, list[Finding]] = {}
        if keep and state.result is not None:
            for file, old in state.result.findings.items():
                kept[file] = [f for f in old if f.diagnostic.code in keep]
        for file in sorted(files):
            found = result.findings.get(file, []) + kept.get(file, [])
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(
                    uri=from_fs_path(file) or file,
                    diagnostics=[self.diagnostic(f) for f in found],
                )
            )
        state.published = {f for f in files if result.findings.get(f) or kept.get(f)}

    def diagnostic(self, finding: Finding) -> types.Diagnostic:
        diag = finding.diagnostic
        related = [
            types.DiagnosticRelatedInformation(location=self.location_of(loc), message=what)
            for loc, what in finding.related
        ]
        return types.Diagnostic(
            range=self.range_of(finding.location),
            message=message(diag),
            severity=types.DiagnosticSeverity.Error
            if diag.severity == ERROR
            else types.DiagnosticSeverity.Warning,
            code=diag.code,
            source="mtbrules",
            related_information=related or None,
            data={"replacement": finding.replacement} if finding.replacement else None,
        )


server = PackServer()


@server.feature(types.INITIALIZE)
def initialize(ls: PackServer, params: types.InitializeParams) -> None:
    options = params.initialization_options
    if isinstance(options, dict) and isinstance(options.get("debounce"), (int, float)):
        ls.debounce = max(0.0, float(options["debounce"]))


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: PackServer, params: types.DidOpenTextDocumentParams) -> None:
    state = ls.pack_of(params.text_document.uri)
    if state is None:
        return
    path = to_fs_path(params.text_document.uri)
    if path is not None:
        ls.files.set_text(path, params.text_document.text)
    ls.schedule(state, 0.0 if state.result is None else ls.debounce)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: PackServer, params: types.DidChangeTextDocumentParams) -> None:
    state = ls.pack_of(params.text_document.uri)
    path = to_fs_path(params.text_document.uri)
    if state is None or path is None:
        return
    ls.files.set_text(path, ls.workspace.get_text_document(params.text_document.uri).source)
    ls.schedule(state, ls.debounce)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: PackServer, params: types.DidCloseTextDocumentParams) -> None:
    state = ls.pack_of(params.text_document.uri)
    path = to_fs_path(params.text_document.uri)
    if path is not None:
        ls.files.discard(path)  # the saved file counts again
    if state is not None:
        ls.schedule(state, ls.debounce)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: PackServer, params: types.DidSaveTextDocumentParams) -> None:
    state = ls.pack_of(params.text_document.uri)
    if state is not None:
        ls.schedule(state, ls.debounce)


@server.feature(types.TEXT_DOCUMENT_HOVER)
def on_hover(ls: PackServer, params: types.HoverParams) -> types.Hover | None:
    found = ls.occurrence(params.text_document.uri, params.position)
    if found is None:
        return None
    state, index, occ = found
    pack = state.result.report.pack if state.result is not None else None
    text = hover.hover_text(index, occ, pack.calendar if pack is not None else None)
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
        range=ls.range_of(occ.location),
    )


@server.feature(
    types.TEXT_DOCUMENT_COMPLETION,
    types.CompletionOptions(trigger_characters=[".", '"', "'", " ", "[", ":"]),
)
def on_completion(ls: PackServer, params: types.CompletionParams) -> types.CompletionList | None:
    found = ls.at(params.text_document.uri, params.position)
    if found is None:
        return None
    _, index, file, line, col = found
    lines = ls.lines_of(file)
    doc: YamlDoc | None
    try:
        doc = ls.files.yaml(file)
    except MtbError:
        doc = None
    items = [
        types.CompletionItem(
            label=s.label,
            kind=_COMPLETION_KINDS.get(s.kind),
            detail=s.detail or None,
            documentation=s.documentation or None,
            insert_text=s.insert,
        )
        for s in completion.complete(index, file, lines, line, col, doc)
    ]
    return types.CompletionList(is_incomplete=False, items=items)


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
def on_definition(ls: PackServer, params: types.DefinitionParams) -> types.Location | None:
    found = ls.occurrence(params.text_document.uri, params.position)
    if found is None:
        return None
    _, index, occ = found
    where = navigation.definition(index, occ)
    return ls.location_of(where) if where is not None else None


@server.feature(types.TEXT_DOCUMENT_REFERENCES)
def on_references(ls: PackServer, params: types.ReferenceParams) -> list[types.Location] | None:
    found = ls.occurrence(params.text_document.uri, params.position)
    if found is None:
        return None
    _, index, occ = found
    declaration = params.context.include_declaration
    return [ls.location_of(loc) for loc in navigation.references(index, occ, declaration)]


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def on_symbols(ls: PackServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol]:
    found = ls.at(params.text_document.uri, types.Position(line=0, character=0))
    if found is None:
        return []
    state, _, file, _, _ = found
    index = PackIndex.build(state.folder, ls.files.snapshot(), state.index)

    def convert(sym: navigation.Symbol) -> types.DocumentSymbol:
        return types.DocumentSymbol(
            name=sym.name,
            detail=sym.detail or None,
            kind=_SYMBOL_KINDS[sym.kind],
            range=ls.range_of(sym.range),
            selection_range=ls.range_of(sym.selection),
            children=[convert(c) for c in sym.children] or None,
        )

    return [convert(s) for s in navigation.symbols(index, file)]


@server.feature(types.TEXT_DOCUMENT_FORMATTING)
def on_formatting(
    ls: PackServer, params: types.DocumentFormattingParams
) -> list[types.TextEdit] | None:
    document = ls.workspace.get_text_document(params.text_document.uri)
    path = to_fs_path(params.text_document.uri)
    if path is None or not path.endswith((".yaml", ".yml")):
        return None
    try:
        new = format_text(document.source, path)
    except Exception as exc:  # noqa: BLE001 - ruamel's parse errors: nothing to format yet
        ls.window_log_message(
            types.LogMessageParams(type=types.MessageType.Info, message=f"not formatted: {exc}")
        )
        return None
    if new == document.source:
        return []
    lines = document.lines
    end = types.Position(line=len(lines), character=0)
    return [
        types.TextEdit(
            range=types.Range(start=types.Position(line=0, character=0), end=end), new_text=new
        )
    ]


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
)
def on_code_action(ls: PackServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    out = []
    for diag in params.context.diagnostics:
        data: Any = diag.data
        if not isinstance(data, dict) or not isinstance(data.get("replacement"), str):
            continue
        new = data["replacement"]
        edit = types.WorkspaceEdit(
            changes={params.text_document.uri: [types.TextEdit(range=diag.range, new_text=new)]}
        )
        out.append(
            types.CodeAction(
                title=f"Change to {new}",
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[diag],
                edit=edit,
                is_preferred=True,
            )
        )
    return out


def serve() -> None:
    """Speak the protocol on standard input and output until the client says exit."""
    server.start_io()
