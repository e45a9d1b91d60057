"""Tests of lookalike.fetcher."""
