"""Tests of lookalike.builder."""
