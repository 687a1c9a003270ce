"""The README's Python blocks run as written: in order, in one namespace.

The only glue: ``send_email``, the reader's own mail function in the
callbacks example, is a stub that records the URL it was given. Shell
blocks (set-up, curl) are not run; the engine's HTTP routes have their own
tests (``test_callbacks.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from markdown_blocks import python_blocks, run_python_blocks

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_has_python_blocks() -> None:
    assert len(python_blocks(README)) >= 4


def test_the_readmes_python_blocks_run_as_written() -> None:
    sent: list[str] = []
    namespace: dict[str, Any] = {"__name__": "readme", "send_email": sent.append}
    run_python_blocks(README, namespace)
    # The callbacks example runs twice: on the default store, then on DynamoDB.
    assert len(sent) == 2
    assert all(url.startswith("http://127.0.0.1:") for url in sent)
