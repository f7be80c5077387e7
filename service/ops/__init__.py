"""Operators' domain logic: config snapshots, backups, retention."""
