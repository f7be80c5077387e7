"""What a deployment may change when it regenerates the files: its job and where its links lead."""

from __future__ import annotations

from dataclasses import dataclass

from .catalogue import GRAFANA_BASE_URL, JOB, RUNBOOK_BASE_URL, job_selector


@dataclass(frozen=True)
class Target:
    """The deployment the generated rules, dashboards and resources are written for."""

    job: str = JOB
    runbook_base_url: str = RUNBOOK_BASE_URL
    grafana_base_url: str = GRAFANA_BASE_URL

    @property
    def sel(self) -> str:
        """The job matcher, e.g. `job="ai-diy"`."""
        return job_selector(self.job)

    def runbook_url(self, alert: str) -> str:
        """The alert's section of the runbook (GitHub's anchor for its heading)."""
        return f"{self.runbook_base_url}#{alert.lower()}"

    def dashboard_url(self, uid: str, panel: int) -> str:
        """One panel of a dashboard, opened on its own (the monitoring-mixins `dashboard_url`)."""
        return f"{self.grafana_base_url}/d/{uid}?viewPanel={panel}"
