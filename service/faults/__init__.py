"""Fault injection for fire drills: off unless AI_DIY_FAULT_INJECTION=true, never in PRODUCTION.

registry.py holds the faults switched on (bounded in size and time); hook.py is the ASGI
layer the request path consults (one attribute read while nothing is switched on);
health.py makes health checks fail on demand; cpu.py keeps a share of a core busy;
admin.py is the admin-token endpoint that switches them and writes an audit line per
switch. Killing the process (for the down and absent alerts) is the drill's job, not
the service's.
"""

from .hook import FaultInjection
from .registry import FaultError, FaultKind, FaultRegistry

__all__ = ["FaultError", "FaultInjection", "FaultKind", "FaultRegistry"]
