"""The compliance check of the rate limit: the 110-request loop of docs/operations.md on an untouched budget.

The loop spends the operator's address's budget for a minute, so it gets a deployment
of its own, with no other traffic from that address.
"""

from __future__ import annotations

import pytest

from .checks import run_checked, section
from .deployment import Deployment
from .test_operations_commands import CHECKS, OPERATIONS

pytestmark = pytest.mark.integration

QUIET_DEPLOYMENT = True


def test_operations_rate_limit_loop_refuses_past_the_limit(deployment: Deployment) -> None:
    (block,) = section(OPERATIONS, "Rate limiting holds")
    run_checked(deployment, OPERATIONS, block, CHECKS)
