"""The Python blocks of a Markdown file, run as written: in order, in one namespace.

Every block fenced ```python runs, whatever else its fence says (a title,
say). A block that cannot run here (a CDK app, a call to a deployed stack)
is marked on the line above its fence with the reason:
``<!-- not run: needs a deployed stack -->``; it is shown, not run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PYTHON_BLOCK = re.compile(
    r"^(?:<!-- not run: (?P<reason>[^\n]*?\S[^\n]*?) -->\n)?```python[^\n]*\n(?P<source>.*?)^```$",
    re.DOTALL | re.MULTILINE,
)


@dataclass(frozen=True)
class PythonBlock:
    """One block fenced ```python: where it starts, its source, why it is not run."""

    line: int
    source: str
    not_run: str | None


def python_blocks(path: Path) -> list[PythonBlock]:
    """Every block fenced ```python in ``path``, in order, marked or not."""
    text = path.read_text()
    return [
        PythonBlock(
            line=text.count("\n", 0, match.start("source")),
            source=match["source"],
            not_run=match["reason"],
        )
        for match in PYTHON_BLOCK.finditer(text)
    ]


def run_python_blocks(path: Path, namespace: dict[str, Any]) -> None:
    """Execute every Python block of ``path`` not marked as not run, in ``namespace``."""
    for block in python_blocks(path):
        if block.not_run is None:
            # Line numbers of a traceback are the Markdown file's.
            source = "\n" * block.line + block.source
            exec(compile(source, str(path), "exec"), namespace)
