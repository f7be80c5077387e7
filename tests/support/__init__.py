"""Helpers shared by the test suites: free ports, real processes, binaries, the service's environment,
the Redis, Prometheus and Alertmanager starters, the security test app and the alert-rule reader."""
