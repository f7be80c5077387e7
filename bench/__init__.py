"""Reproducible benchmarks of the AI-DIY middleware stack (not tests).

`python -m bench` measures, in one run, a bare Starlette app with the service's
routes, the full service (`create_app`), each observability and security layer
alone, and (when installed) third-party instrumentation on the same bare app:
in process through a hand-written ASGI caller, under hypercorn driven by wrk, the
cost of one `/metrics` scrape, and a profile of the full stack's request path.
Every number is also reported as a ratio against the bare app of the same run.
"""

from __future__ import annotations
