"""Operators' domain logic: backups and their restore, pruning, log retention, configuration snapshots.

`service.cli` parses the operator's arguments and prints; the work, its checks and its
all-or-nothing changes live here.
"""
