"""The documentation site builds with warnings as errors (`mkdocs build --strict`: a broken link,
a missing snippet or an unresolved reference fails it), and the generated pages hold what they
are generated from: every subcommand and option of the parsers, every profile, every module."""

from __future__ import annotations

import argparse
import html
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from snnx.cli import build_parser
from snnx.semantics import PROFILES

ROOT = Path(__file__).resolve().parents[3]
QUIET = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}


def build(root: Path, site: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(root / "mkdocs.yml")]
    return subprocess.run(
        [*command, "-d", str(site)], cwd=root, capture_output=True, text=True, env=QUIET
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = build(ROOT, out)
    assert done.returncode == 0, done.stderr[-4000:]
    return out


def page(site: Path, name: str) -> str:
    return html.unescape((site / name / "index.html").read_text())


def test_cli_reference_lists_every_command_and_option(site):
    text = page(site, "reference/cli")
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in sub.choices.items():
        assert f"snnx {name}" in text
        for action in parser._actions:
            for flag in action.option_strings:
                assert flag in text, (name, flag)


def test_profiles_page_lists_every_profile(site):
    text = page(site, "guide/profiles")
    assert all(f"<code>{name}</code>" in text for name in PROFILES)


def test_api_reference_renders_docstrings_and_doctests(site):
    text = page(site, "reference/api/snnx.metrics")
    assert "Footprint, parameter count and connection sparsity of" in text  # a function's docstring
    assert '<span class="gp">>>> </span>' in text  # doctests highlighted as code, not prose
    assert (site / "reference/api/snnx.targets.loihi.lower/index.html").exists()


def test_target_pages_include_the_format_documents(site):
    assert "What is fixed at compile time" in page(site, "targets/lynxi")  # FORMAT.md
    assert "snnx-bss2-experiment" in page(site, "targets/bss2")  # SCHEMA.md


def test_a_broken_link_fails_the_build(tmp_path):
    """Strictness is real: the same site with one dead link does not build."""
    copy = tmp_path / "repo"
    copy.mkdir()
    for name in ("mkdocs.yml", "docs", "src", "README.md"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, copy / name)
    index = copy / "docs" / "index.md"
    index.write_text(index.read_text() + "\nSee [nowhere](no-such-page.md).\n")
    done = build(copy, tmp_path / "site")
    assert done.returncode != 0 and "no-such-page.md" in done.stdout + done.stderr
