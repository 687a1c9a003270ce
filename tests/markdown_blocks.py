"""The Python blocks of a Markdown file, run as written: in order, in one namespace.

A block fenced ```python runs; one whose fence carries more (```python
title="app.py", a file of the reader's project) is shown, not run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def python_blocks(path: Path) -> list[str]:
    """The source of each block fenced ```python in ``path``, in order."""
    return PYTHON_BLOCK.findall(path.read_text())


def run_python_blocks(path: Path, namespace: dict[str, Any]) -> None:
    """Execute every Python block of ``path`` in ``namespace``, in order."""
    for number, block in enumerate(python_blocks(path), start=1):
        exec(compile(block, f"{path.name} python block {number}", "exec"), namespace)
