"""Tests of unit/systemd."""
