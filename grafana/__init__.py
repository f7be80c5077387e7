"""Grafana dashboards as code: `python -m grafana.generate` writes grafana/dashboards/*.json.

The package is named after its directory; the SDK it uses imports as
`grafana_foundation_sdk`, so the two names never meet.
"""
