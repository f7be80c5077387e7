"""Alert and recording rules as code, written to alerts/*.rules.yml by `make generate`.

signals/ holds what the rules, the dashboards (grafana/) and the Kubernetes resources
share; one module per concern (availability, errors, latency, resources, security, slo)
builds its rule group from it, rules.py renders them, and drill.py writes the
time-compressed copies fire drills load (alerts/drill/, never loaded in production).
The promtool tests (alerts/tests/) and alertmanager.yml are written by hand.
"""
