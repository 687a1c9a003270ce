"""Fixtures shared by the test modules."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def journals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder where step bodies journal their runs, also in worker processes.

    Worker processes inherit it through ``DURABLE_LAMBDA_TEST_JOURNALS``.
    """
    monkeypatch.setenv("DURABLE_LAMBDA_TEST_JOURNALS", str(tmp_path))
    return tmp_path
