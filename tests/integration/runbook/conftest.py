"""One deployment per test module: started as the unit starts it, given the incident's traffic."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.net import wait_for

from .deployment import Deployment


@pytest.fixture(scope="module")
def deployment(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """Started, then given the incident's traffic unless the module sets QUIET_DEPLOYMENT."""
    deployed = Deployment(tmp_path_factory.mktemp("deployment"))
    try:
        deployed.start()
        if getattr(request.module, "QUIET_DEPLOYMENT", False):
            yield deployed
            return
        deployed.traffic_seen = deployed.traffic()

        # The access lines are written in batches, after the responses: wait until the last
        # request of each stream is logged (the client's 413, then each slow upload, which
        # ends after it), so no check reads the log before the traffic's lines are all there.
        def last_lines_written() -> bool:
            lines = [line for line in deployed.log_lines() if line.get("event") == "http_request"]
            paths = {line.get("path") for line in lines}
            return (
                any(line.get("status_code") == 413 for line in lines)
                and {
                    "/api/appdocs/slow.md",
                    "/api/appdocs/slowish.md",
                }
                <= paths
            )

        wait_for(last_lines_written, timeout=15, what="the traffic's access lines written")
        yield deployed
    finally:
        deployed.stop()
