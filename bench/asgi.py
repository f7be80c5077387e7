"""The ASGI app hypercorn imports in a benchmark server: variant `BENCH_VARIANT` of workspace `BENCH_ROOT`."""

from __future__ import annotations

import os
from pathlib import Path

from .variants import build
from .workspace import Workspace

built = build(os.environ["BENCH_VARIANT"], Workspace(Path(os.environ["BENCH_ROOT"])))
app = built.app
