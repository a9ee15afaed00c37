"""The `mtbrules lsp` language server for policy packs (the `lsp` extra: pygls).

Diagnostics as you type (everything `mtbrules check` reports, at the exact range),
hover, completion, go to definition and references, document symbols, formatting
and did-you-mean fixes. docs/lsp.md shows how to use it from editors.
"""
