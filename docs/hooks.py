"""MkDocs hook: docstrings' doctest examples (``>>>`` lines and their output) rendered as Python
code blocks, not as Markdown text (where ``[1, 2]`` would read as a link).

A Python-Markdown preprocessor added to the site's Markdown extensions, which mkdocstrings uses
for docstrings too: a run of lines starting with ``>>>`` (then ``...`` and output lines up to a
blank line) outside a fenced block becomes a fenced ``pycon`` block, at its own indentation.
"""

from __future__ import annotations

import re

from markdown import Extension
from markdown.preprocessors import Preprocessor

_PROMPT = re.compile(r"^(\s*)>>> ")
_FENCE = re.compile(r"^\s*(```|~~~)")


class DoctestBlocks(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        out, fenced, i = [], False, 0
        while i < len(lines):
            line = lines[i]
            if _FENCE.match(line):
                fenced = not fenced
            found = None if fenced else _PROMPT.match(line)
            if not found:
                out.append(line)
                i += 1
                continue
            indent = found.group(1)
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
                i += 1
            out += ["", f"{indent}```pycon", *(indent + b for b in block), f"{indent}```", ""]
        return out


class DoctestExtension(Extension):
    def extendMarkdown(self, md) -> None:
        md.preprocessors.register(DoctestBlocks(md), "snnx_doctest_blocks", 40)


def on_config(config, **kwargs):
    config.markdown_extensions.append(DoctestExtension())
    return config
