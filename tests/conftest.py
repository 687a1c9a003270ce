"""Fixtures shared by the test modules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from aws_harness import AwsAccount
from stores import STORE_KINDS, opened_store

from durable_lambda.store import Store


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--kills",
        type=int,
        default=6,
        help="How many times the kill test SIGKILLs its engine (more to soak).",
    )
    parser.addoption(
        "--kill-seed", default=None, help="The seed of the kill test's moments (random if unset)."
    )


@pytest.fixture
def journals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder where step bodies journal their runs, also in worker processes.

    Worker processes inherit it through ``DURABLE_LAMBDA_TEST_JOURNALS``.
    """
    monkeypatch.setenv("DURABLE_LAMBDA_TEST_JOURNALS", str(tmp_path))
    return tmp_path


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A new store of each kind the contract suite runs on."""
    with opened_store(request.param, tmp_path) as opened:
        yield opened


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give the kill test time for as many kills as it was asked for."""
    kills: int = config.getoption("--kills")
    for item in items:
        if item.name.startswith("test_an_engine_killed_again_and_again"):
            item.add_marker(pytest.mark.timeout(120 + kills))


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[AwsAccount]:
    """An AWS account on moto, with a Lambda stand-in running durable functions."""
    account = AwsAccount(monkeypatch, tmp_path)
    with account.running(monkeypatch):
        yield account
