"""Tests of lookalike.engine."""
