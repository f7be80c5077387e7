"""Tests of unit/retention."""
