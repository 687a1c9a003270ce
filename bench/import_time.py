"""Cold import time of durable_lambda against aws_durable_execution_sdk_python.

Each import runs in a fresh interpreter, several times, and the median is
kept. Target: durable_lambda at most half the anchor's time (the AWS SDK
imports boto3 eagerly; we import no AWS SDK at all).
"""

from __future__ import annotations

import statistics
import subprocess
import sys

RUNS = 9
PROBE = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def cold_import_seconds(module: str) -> float:
    samples = [
        float(
            subprocess.run(
                [sys.executable, "-c", PROBE.format(module=module)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for _ in range(RUNS)
    ]
    return statistics.median(samples)


def main() -> None:
    ours = cold_import_seconds("durable_lambda")
    anchor = cold_import_seconds("aws_durable_execution_sdk_python")
    print(f"import durable_lambda                    {ours * 1000:7.1f} ms")
    print(f"import aws_durable_execution_sdk_python  {anchor * 1000:7.1f} ms")
    print(f"ours / anchor                            {ours / anchor:7.2f} (target <= 0.50)")


if __name__ == "__main__":
    main()
