"""Code assets bundled without Docker: the runtime package and a handler's own folder.

Each is copied (and its dependencies installed) by local bundling, so a synth
needs no Docker, and its asset hash is the hash of what was bundled
(``AssetHashType.OUTPUT``): the same files give the same asset on every machine.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

import durable_lambda

RUNTIME_SOURCE = Path(durable_lambda.__file__).resolve().parent
"""The runtime package, as installed (or checked out, in an editable install)."""
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")
PYTHON_RUNTIMES = (
    lambda_.Runtime.PYTHON_3_11,
    lambda_.Runtime.PYTHON_3_12,
    lambda_.Runtime.PYTHON_3_13,
    lambda_.Runtime.PYTHON_3_14,
)
"""The Lambda runtimes the runtime package runs on (Python 3.11 and later)."""
LAYER_ID = "DurableLambdaRuntime"

_GLIBC = {"python3.11": 26}
"""Lambda's glibc minor version by runtime: Amazon Linux 2 for 3.11, 2023 after."""
_AMAZON_LINUX_2023_GLIBC = 34
_OLDEST_MANYLINUX_GLIBC = 17


@jsii.implements(cdk.ILocalBundling)
class _LocalBundling:
    """Copies a folder into the asset, then installs its requirements if it has any."""

    def __init__(self, source: Path, prefix: str, pip_options: list[str] | None) -> None:
        self._source = source
        self._prefix = prefix
        self._pip_options = pip_options

    def try_bundle(self, output_dir: str, *_options: Any, **_: Any) -> bool:
        """Bundle into ``output_dir`` (jsii passes the bundling options positionally)."""
        destination = Path(output_dir) / self._prefix
        shutil.copytree(self._source, destination, ignore=IGNORED, dirs_exist_ok=True)
        requirements = self._source / "requirements.txt"
        if self._pip_options is not None and requirements.is_file():
            command = [sys.executable, "-m", "pip", "install", "--requirement", str(requirements)]
            subprocess.run(  # noqa: S603 - this interpreter's pip, on the user's requirements
                [*command, "--target", str(destination), *self._pip_options], check=True
            )
        return True


def _bundled(source: Path, prefix: str = "", pip_options: list[str] | None = None) -> Any:
    # aws-cdk-lib bundles a folder once per source and options: the layout and the pip
    # options are named in the environment so that each way of bundling is its own bundle.
    how = json.dumps({"prefix": prefix, "pip": pip_options})
    return lambda_.Code.from_asset(
        str(source),
        asset_hash_type=cdk.AssetHashType.OUTPUT,
        bundling=cdk.BundlingOptions(
            image=lambda_.Runtime.PYTHON_3_14.bundling_image,
            environment={"DURABLE_LAMBDA_BUNDLING": how},
            local=_LocalBundling(source, prefix, pip_options),
        ),
    )


def runtime_code() -> lambda_.Code:
    """The runtime package at the root of an asset: the code of the engine's handlers."""
    code: lambda_.Code = _bundled(RUNTIME_SOURCE, "durable_lambda")
    return code


def runtime_layer(scope: Construct) -> lambda_.ILayerVersion:
    """The layer holding the runtime package (``python/durable_lambda``), one per stack."""
    stack = cdk.Stack.of(scope)
    existing = stack.node.try_find_child(LAYER_ID)
    if isinstance(existing, lambda_.LayerVersion):
        return existing
    return lambda_.LayerVersion(
        stack,
        LAYER_ID,
        code=_bundled(RUNTIME_SOURCE, "python/durable_lambda"),
        compatible_runtimes=list(PYTHON_RUNTIMES),
        description=f"durable-lambda {durable_lambda.__version__}: the replay runtime",
        license="Apache-2.0",
    )


def lambda_platform_options(
    runtime: lambda_.Runtime, architecture: lambda_.Architecture
) -> list[str]:
    """pip options that install wheels for ``runtime`` on ``architecture``, not this machine.

    Binary wheels only (nothing is built here for another platform), for the runtime's
    CPython version and every manylinux tag its glibc accepts.
    """
    version = runtime.name.removeprefix("python")
    machine = "aarch64" if architecture.name == lambda_.Architecture.ARM_64.name else "x86_64"
    glibc = _GLIBC.get(runtime.name, _AMAZON_LINUX_2023_GLIBC)
    platforms = [f"manylinux2014_{machine}"] + [
        f"manylinux_2_{minor}_{machine}" for minor in range(_OLDEST_MANYLINUX_GLIBC, glibc + 1)
    ]
    return [
        *(option for platform in platforms for option in ("--platform", platform)),
        "--implementation",
        "cp",
        "--python-version",
        version,
        "--only-binary=:all:",
        "--no-compile",
        "--quiet",
        "--disable-pip-version-check",
    ]


class PythonCode:
    """Handler code from a folder, with its ``requirements.txt`` installed for Lambda."""

    @staticmethod
    def from_entry(
        entry: str,
        *,
        runtime: lambda_.Runtime,
        architecture: lambda_.Architecture | None = None,
    ) -> lambda_.Code:
        """The folder ``entry`` at the root of the asset (``__pycache__`` left out).

        A ``requirements.txt`` in it is installed into the asset with pip for the
        function's ``runtime`` and ``architecture`` (default x86_64): binary wheels for
        Lambda's platform only, whatever machine synthesizes. Without one, nothing is
        installed. The runtime package is not copied: durable functions get it as a layer.
        """
        source = Path(entry).resolve()
        if not source.is_dir():
            msg = f"entry must be a folder, got {entry!r}"
            raise ValueError(msg)
        options = lambda_platform_options(runtime, architecture or lambda_.Architecture.X86_64)
        code: lambda_.Code = _bundled(source, pip_options=options)
        return code
