"""Tests of unit/data."""
