"""The C library's functions that the bot and the builder call through ctypes."""

from lookalike import libc


def test_glibcs_functions_are_found_and_a_missing_one_is_none():
    trim = libc.function("malloc_trim")
    assert trim is not None and trim(0) in (0, 1)
    assert libc.function("mallopt") is not None and libc.function("renameat2") is not None
    assert libc.function("no_such_function_in_any_libc") is None
