"""An editor's side of the protocol, for the tests: buffers, versions, settling."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lsprotocol import types
from pygls.uris import from_fs_path
from pytest_lsp import LanguageClient


class Editor:
    """What an editor does with one client: keeps buffers, sends them, waits for results."""

    def __init__(self, client: LanguageClient):
        self.client = client
        self.versions: dict[str, int] = {}
        self.texts: dict[str, str] = {}

    def uri(self, path: Path) -> str:
        return from_fs_path(str(path))

    async def open(self, path: Path, text: str | None = None) -> str:
        uri = self.uri(path)
        text = path.read_text(encoding="utf-8") if text is None else text
        self.texts[uri] = text
        if uri in self.versions:
            await self.change(path, text)
            return uri
        self.versions[uri] = 1
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="yaml", version=1, text=text
                )
            )
        )
        await self.settle()
        return uri

    async def change(self, path: Path, text: str) -> str:
        uri = self.uri(path)
        self.versions[uri] = self.versions.get(uri, 1) + 1
        self.texts[uri] = text
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=uri, version=self.versions[uri]
                ),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )
        await self.settle()
        return uri

    async def close(self, path: Path) -> None:
        uri = self.uri(path)
        self.versions.pop(uri, None)
        self.texts.pop(uri, None)
        self.client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        await self.settle()

    async def settle(self, quiet: float = 0.6, limit: float = 30.0) -> None:
        """Wait until diagnostics stop arriving (the server published its check)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        await asyncio.wait_for(
            self.client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), limit
        )
        while loop.time() < deadline:
            try:
                await asyncio.wait_for(
                    self.client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS),
                    quiet,
                )
            except TimeoutError:
                return

    def diagnostics(self, path: Path) -> list[types.Diagnostic]:
        return list(self.client.diagnostics.get(self.uri(path), []))

    def text_of(self, path: Path, rng: types.Range) -> str:
        """The buffer text a range covers (positions in UTF-16 units, as the protocol counts)."""
        text = self.texts.get(self.uri(path))
        if text is None:
            text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        assert rng.start.line == rng.end.line, rng
        encoded = lines[rng.start.line].encode("utf-16-le")
        return encoded[rng.start.character * 2 : rng.end.character * 2].decode("utf-16-le")


def position_of(text: str, needle: str, nth: int = 0, offset: int = 0) -> types.Position:
    """The protocol position of the `nth` occurrence of `needle` in `text` (plus `offset` chars)."""
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    at += offset
    line = text.count("\n", 0, at)
    col = at - (text.rfind("\n", 0, at) + 1)
    prefix = text[text.rfind("\n", 0, at) + 1 : at]
    assert len(prefix) == col
    return types.Position(line=line, character=len(prefix.encode("utf-16-le")) // 2)
