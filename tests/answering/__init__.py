"""Tests of lookalike.answering."""
