"""docs/PARITY.md covers every public name of our modules, and only what is true."""

from __future__ import annotations

import pytest
from parity import PARITY, ROOT, SECTIONS, STATUSES, Section, our_names, read_sections

REQUIRED = [
    "durable_lambda",
    "durable_lambda.config",
    "durable_lambda.retries",
    "durable_lambda.waits",
    "durable_lambda.serdes",
    "durable_lambda.exceptions",
    "durable_lambda.types",
    "durable_lambda.testing",
]


def sections() -> list[Section]:
    return read_sections(PARITY.read_text())


def test_the_readme_links_the_table() -> None:
    assert "(docs/PARITY.md)" in (ROOT / "README.md").read_text()


def test_every_module_and_aws_module_has_its_table() -> None:
    tables = [(section.ours, section.aws) for section in sections()]
    assert tables == SECTIONS
    assert {ours for ours, _ in tables} >= set(REQUIRED)


@pytest.mark.parametrize("section", sections(), ids=lambda s: s.heading())
def test_rows_have_a_known_status(section: Section) -> None:
    assert {status for status, _ in section.rows.values()} <= set(STATUSES)


@pytest.mark.parametrize("section", [s for s in sections() if s.ours], ids=lambda s: str(s.ours))
def test_the_table_matches_our_module(section: Section) -> None:
    assert section.ours is not None
    ours = our_names(section.ours)
    assert sorted(ours - section.rows.keys()) == [], "public names missing from the table"
    assert sorted(section.names("same", "extension") - ours) == [], "rows we do not have"
    assert sorted(section.names("missing") & ours) == [], "rows marked missing that we have"


def test_modules_we_lack_are_all_missing() -> None:
    for section in sections():
        if section.ours is None:
            assert section.names("same", "extension") == set(), section.heading()
