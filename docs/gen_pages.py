"""Pages the documentation site generates at build time (mkdocs-gen-files), so they follow the
code: the CLI reference from the argument parsers, the profile table from `snnx.semantics`, the
passes page and the API reference from the source files (read by mkdocstrings, not imported).

Runs inside `mkdocs build` (see mkdocs.yml); nothing here is written into the repository.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mkdocs_gen_files

from snnx.cli.reference import markdown
from snnx.semantics import CHOICES, PROFILES

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "snnx"
#: Modules of snnx.passes that hold no pass of their own.
PASS_HELPERS = {"__init__", "base", "rewrite", "manager", "delays", "neuron_forms"}
#: Packages and modules left out of the API reference (the command's own modules are in the CLI
#: reference; examples holds data).
API_SKIP = ("snnx.cli.", "snnx.examples", "snnx.__main__")


def first_line(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ")


with mkdocs_gen_files.open("reference/cli.md", "w") as page:
    page.write(markdown())

with mkdocs_gen_files.open("guide/profiles.md", "w") as page:
    knobs = [k for k in ("dt", *CHOICES, "max_spikes")]
    page.write(
        "# Profiles\n\nGenerated from `snnx.semantics.PROFILES`: each framework's NIR import "
    )
    page.write("as measured (the comment above each profile in `src/snnx/semantics.py` says ")
    page.write("how). `max_spikes` 0 means no limit.\n\n")
    page.write("| profile | " + " | ".join(knobs) + " | per-type overrides |\n")
    page.write("|---" * (len(knobs) + 2) + "|\n")
    for name, s in PROFILES.items():
        values = [f"`{getattr(s, k):g}`" if k == "dt" else f"`{getattr(s, k)}`" for k in knobs]
        overrides = "; ".join(
            f"{t}: " + ", ".join(f"{k}={v}" for k, v in o.items()) for t, o in s.overrides.items()
        )
        page.write(f"| `{name}` | " + " | ".join(values) + f" | {overrides or '-'} |\n")

with mkdocs_gen_files.open("reference/passes.md", "w") as page:
    page.write("# Passes\n\n")
    page.write("Each pass is one file in `src/snnx/passes/`, a function `Graph -> Graph` whose ")
    page.write("docstring states its rewrite (rendered below from the source). `snnx optimize ")
    page.write("-O1/-O2` runs them in levels; `--check-equivalence` simulates before and after ")
    page.write("every pass. See also [the pass manager](api/snnx.passes.manager.md).\n\n")
    for path in sorted((PACKAGE / "passes").glob("*.py")):
        if path.stem in PASS_HELPERS:
            continue
        page.write(f"## {path.stem.replace('_', '-')}\n\n{first_line(path)}\n\n")
        page.write(f"::: snnx.passes.{path.stem}\n    options:\n      show_root_heading: false\n")
        page.write("      show_root_toc_entry: false\n      heading_level: 3\n\n")

modules = []
for path in sorted(PACKAGE.rglob("*.py")):
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    name = ".".join(parts)
    if (name.startswith(API_SKIP) and name != "snnx.cli.reference") or name == "snnx.cli.__init__":
        continue
    modules.append((name, path))
    with mkdocs_gen_files.open(f"reference/api/{name}.md", "w") as page:
        page.write(f"# `{name}`\n\n::: {name}\n")
    mkdocs_gen_files.set_edit_path(f"reference/api/{name}.md", path.relative_to(SRC.parent))

with mkdocs_gen_files.open("reference/api/index.md", "w") as page:
    page.write("# API reference\n\nEvery module of the `snnx` package, rendered from its ")
    page.write("docstrings. The public names are re-exported by `snnx` itself ")
    page.write("([`snnx`](snnx.md)).\n\n| module | what it holds |\n|---|---|\n")
    for name, path in modules:
        page.write(f"| [`{name}`]({name}.md) | {first_line(path).replace('|', '/')} |\n")
