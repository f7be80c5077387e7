"""Tests of integration/operator."""
