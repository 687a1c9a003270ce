"""Which Python blocks of a page run, and how a failing one is told."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

import pytest
from markdown_blocks import python_blocks, run_python_blocks

PAGE = """# A page

```python
ran = ["plain"]
```

```python title="app.py"
ran.append("titled")
```

<!-- not run: needs a deployed stack -->
```python title="client.py"
ran.append("marked")
```

<!-- not run:  -->
```python
ran.append("no reason, so not marked")
```

```bash
echo not python
```
"""


def test_every_python_block_runs_unless_marked_with_a_reason(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(PAGE)
    namespace: dict[str, Any] = {}

    run_python_blocks(page, namespace)

    assert namespace["ran"] == ["plain", "titled", "no reason, so not marked"]
    assert [block.not_run for block in python_blocks(page)] == [
        None,
        None,
        "needs a deployed stack",
        None,
    ]


def test_a_failing_block_is_told_by_its_file_and_line(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# A page\n\n```python\nok = 1\nraise ValueError('wrong')\n```\n")

    with pytest.raises(ValueError, match="wrong") as raised:
        run_python_blocks(page, {})

    where = traceback.extract_tb(raised.value.__traceback__)[-1]
    assert (where.filename, where.lineno) == (str(page), 5)
