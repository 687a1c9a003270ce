"""The documentation site builds with ``mkdocs build --strict``, offline.

The build runs once per session in a child process, into a temporary folder,
bounded in time, with every socket connection refused: a plugin or an
extension that fetched something would fail it. Any warning (a nav entry to a
missing page, a broken link or anchor, a docstring mkdocstrings cannot read)
fails the build. The API reference shows every public name of the modules it
renders, and every class, function and method it shows has a docstring; the
command line's reference shows every command.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import griffe
import pytest
import yaml
from click import Group
from markdown_blocks import python_blocks, run_python_blocks

from durable_lambda.cli.commands import cli

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BUILD_TIMEOUT_SECONDS = 100
DOCS = ROOT / "docs"
PAGES_WITH_PYTHON = sorted(
    str(page.relative_to(DOCS)) for page in DOCS.rglob("*.md") if python_blocks(page)
)
"""The pages whose Python blocks run as written."""

OFFLINE_MKDOCS = """
import socket
import sys


def refuse(*args, **kwargs):
    raise OSError("the documentation build must not use the network")


socket.socket.connect = socket.socket.connect_ex = refuse
socket.create_connection = socket.getaddrinfo = refuse

from mkdocs.__main__ import cli

sys.exit(cli())
"""
"""``mkdocs`` with every outgoing connection and name lookup refused."""


@dataclass(frozen=True)
class Build:
    returncode: int
    output: str
    site: Path


def readme_docs_commands() -> list[list[str]]:
    """The commands of the README's "Docs" section, each as its arguments."""
    section = README.read_text().split("\n## Docs\n", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"^```bash\n(.*?)^```$", section, re.DOTALL | re.MULTILINE)
    return [shlex.split(line, comments=True) for line in block.splitlines()]


def build_site(arguments: list[str], site: Path) -> Build:
    """``mkdocs`` with ``arguments`` (a build), offline, into ``site``."""
    completed = subprocess.run(
        [sys.executable, "-c", OFFLINE_MKDOCS, *arguments, "--site-dir", str(site)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_SECONDS,
        check=False,
    )
    return Build(completed.returncode, completed.stdout + completed.stderr, site)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """The site built by the README's command."""
    [build] = [command for command in readme_docs_commands() if command[1] == "build"]
    assert build[0] == ".venv/bin/mkdocs"
    return build_site(build[1:], tmp_path_factory.mktemp("site"))


def build_variant(tmp_path: Path, **changes: Any) -> Build:
    """The site's configuration with ``changes``, built strictly; search is its only plugin
    (the API reference's pages take time and are beside the point)."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    config.update({"docs_dir": str(DOCS), "plugins": ["search"], **changes})
    variant = tmp_path / "mkdocs.yml"
    variant.write_text(yaml.safe_dump(config))
    return build_site(["build", "--strict", "--config-file", str(variant)], tmp_path / "site")


def inventory(site: Path) -> dict[str, str]:
    """The objects the API reference renders (``objects.inv``): name -> role."""
    header_lines = 4
    compressed = (site / "objects.inv").read_bytes().split(b"\n", header_lines)[header_lines]
    entries = [line.split(" ", 2) for line in zlib.decompress(compressed).decode().splitlines()]
    return {name: role for name, role, _ in entries}


def test_the_site_builds_strict_and_offline(site: Build) -> None:
    assert site.returncode == 0, site.output
    assert "WARNING" not in site.output, site.output
    assert (site.site / "reference" / "testing" / "index.html").is_file()


def test_a_nav_entry_to_a_missing_page_fails_the_build(tmp_path: Path) -> None:
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]

    build = build_variant(tmp_path, nav=[*nav, {"Gone": "gone.md"}])

    assert build.returncode != 0
    assert "'gone.md' is included in the 'nav' configuration" in build.output
    assert "Aborted with 1 warnings in strict mode" in build.output


def test_a_broken_link_or_anchor_fails_the_build(tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "index.md").write_text("# Home\n\n[gone](gone.md), [nowhere](other.md#nowhere)\n")
    (pages / "other.md").write_text("# Other\n")

    build = build_variant(tmp_path, docs_dir=str(pages), nav=["index.md", "other.md"])

    assert build.returncode != 0
    assert "contains a link 'gone.md', but the target is not found" in build.output
    assert "the doc 'other.md' does not contain an anchor '#nowhere'" in build.output
    assert "Aborted with 2 warnings in strict mode" in build.output


def command_names(group: Group, prefix: str) -> list[str]:
    """``prefix`` and the full name of every command under ``group``, depth first."""
    names = [prefix]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, Group):
            names += command_names(command, f"{prefix} {name}")
        else:
            names.append(f"{prefix} {name}")
    return names


def test_the_reference_shows_every_command_of_the_command_line(site: Build) -> None:
    page = (site.site / "reference" / "cli" / "index.html").read_text()
    shown = re.findall(r'<h[2-6] id="durable-lambda[^"]*">([^<]+)', page)

    assert shown == command_names(cli, "durable-lambda")
    assert "durable-lambda callback succeed" in shown
    assert "--stack" in page


def test_the_reference_shows_every_public_name_with_a_docstring(site: Build) -> None:
    rendered = inventory(site.site)
    packages = {
        name: griffe.load(name, search_paths=[str(ROOT / folder)])
        for name, folder in (("durable_lambda", "runtime"), ("durable_lambda_cdk", "constructs"))
    }

    def find(path: str) -> griffe.Object | griffe.Alias:
        top, _, inside = path.partition(".")
        package = packages[top]
        return package[inside] if inside else package

    modules = [name for name, role in rendered.items() if role == "py:module"]
    unlisted = [
        f"{module}.{name}"
        for module in modules
        for name in find(module).exports or ()
        if not name.startswith("__") and f"{module}.{name}" not in rendered
    ]
    bare = [
        name
        for name, role in rendered.items()
        if role in ("py:class", "py:function", "py:method") and not find(name).docstring
    ]
    assert modules
    assert unlisted == []
    assert bare == []


def test_the_guides_have_python_blocks() -> None:
    assert {"quickstart.md", "concepts.md", "operations.md"} <= set(PAGES_WITH_PYTHON)


@pytest.mark.parametrize("page", PAGES_WITH_PYTHON)
def test_the_python_blocks_of_a_page_run_as_written(page: str) -> None:
    namespace: dict[str, Any] = {"__name__": page.removesuffix(".md")}

    run_python_blocks(DOCS / page, namespace)
    for name, value in list(namespace.items()):
        if name.startswith("test_"):  # a test the page shows, as pytest would run it
            value()
