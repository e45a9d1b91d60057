"""Tests of lookalike.playground."""
