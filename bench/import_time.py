"""Cold import time of durable_lambda against aws_durable_execution_sdk_python.

Each import runs in a fresh interpreter, in alternating rounds
(``paired.py``); the medians are kept. Target: durable_lambda at most half the
anchor's time (the AWS SDK imports boto3 eagerly; we import no AWS SDK at all).
"""

from __future__ import annotations

import subprocess
import sys

from paired import measure

ROUNDS = 9
PROBE = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def cold_import_seconds(module: str) -> float:
    """Seconds a fresh interpreter takes to import ``module``."""
    probe = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(probe.stdout)


def main() -> None:
    anchor, timings = measure(
        lambda: cold_import_seconds("aws_durable_execution_sdk_python"),
        {"durable_lambda": lambda: cold_import_seconds("durable_lambda")},
        ROUNDS,
    )
    ours = timings["durable_lambda"]
    print(f"import durable_lambda                    {ours.seconds * 1000:7.1f} ms")
    print(f"import aws_durable_execution_sdk_python  {anchor * 1000:7.1f} ms")
    print(f"ours / anchor                            {1 / ours.ratio:7.2f} (target <= 0.50)")


if __name__ == "__main__":
    main()
