"""Alert and recording rules as code: `python -m alerts.generate` writes alerts/*.rules.yml.

alerts/definitions.py holds what the rules and the dashboards (grafana/) share; one
module per concern (availability, errors, latency, resources, security, slo) builds its
rule group from it. The promtool tests (alerts/tests/) and alertmanager.yml are written
by hand.
"""
