"""Untrusted image bytes -> faces -> 128-d embeddings -> nearest celebrities, with a similarity."""
