"""Whether systemd manages the AI-DIY service on this host: what applies a configuration change.

A restored configuration takes effect when the service restarts, and how to restart it
depends on what runs it: its systemd unit where one is installed, otherwise whoever
started `ai-diy serve` (a terminal running `make run`, a container, a supervisor).
"""

from __future__ import annotations

import shutil
import subprocess

UNIT = "ai-diy"
# systemctl answers from systemd's own state; a host that hangs longer has no answer worth waiting for.
SYSTEMCTL_TIMEOUT = 5.0


def systemd_unit_installed(unit: str = UNIT) -> bool:
    """True when systemd knows the unit, running or not (a crashed service is restarted by its unit too).

    Asked of systemctl itself rather than guessed from files: it answers only where
    systemd runs (without systemd as PID 1, as in most containers, it fails), and only
    it knows every directory a unit can be installed in. LoadState is `loaded` for an
    installed unit and `not-found` otherwise.
    """
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return False
    try:
        answer = subprocess.run(  # noqa: S603  # a fixed command line; the unit name is ours
            [systemctl, "show", "-p", "LoadState", "--value", unit],
            capture_output=True,
            text=True,
            timeout=SYSTEMCTL_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return answer.returncode == 0 and answer.stdout.strip() == "loaded"
