"""Grafana dashboards as code, written to grafana/dashboards/*.json by `make generate`.

The package is named after its directory; the SDK it uses imports as
`grafana_foundation_sdk`, so the two names never meet.
"""
