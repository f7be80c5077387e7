"""The service's signals and objectives: ONE definition every generator reads.

`catalogue` says what the alerts fire on (selectors, thresholds, windows, the availability
objective and its burn rates); `target` says where a deployment's generated files point
(its Prometheus job, where the runbook is published). The rules (alerts/), the dashboards
(grafana/), the Kubernetes resources (deploy/kubernetes/) and the drill rules are all
written from here by `make generate` (python -m generate).
"""
