"""The suite and the shared data: a test missing its photos skips, saying why, except in CI."""

from __future__ import annotations

import pytest

from tests.support.data import DATA, require


def test_missing_shared_data_skips_a_test_outside_ci(tmp_path, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(BaseException) as outcome:  # a skip or a failure, caught either way
        require(tmp_path / "no-such-data")
    assert outcome.type is pytest.skip.Exception and "needs the test data" in str(outcome.value)
    assert require(DATA) == DATA


@pytest.mark.parametrize("ci", ["true", "True", "1"])
def test_missing_shared_data_fails_the_run_in_ci(tmp_path, monkeypatch, ci):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(BaseException) as outcome:  # a skip would otherwise skip this test itself
        require(tmp_path / "no-such-data")
    assert outcome.type is pytest.fail.Exception and "CI=true and the test data is missing" in str(outcome.value)
