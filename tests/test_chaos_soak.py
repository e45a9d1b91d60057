"""bench/chaos_soak.py itself, CI-sized: one minute-long cycle of its faults (the workers and the
bot killed with SIGKILL, 5xx and 429 windows, slow downloads, a new assets directory, the state's
disk full) on the tests' gallery, so that the harness keeps working; its figures come from the
long runs (bench/README.md)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.support.data import ROOT

pytestmark = pytest.mark.e2e  # starts bot.py, several times


def test_a_one_minute_cycle_of_faults_answers_every_photo_exactly_once(assets, tmp_path):
    command = [
        sys.executable,
        str(ROOT / "bench" / "chaos_soak.py"),
        *("--minutes", "1", "--cycle-minutes", "1", "--rate", "3", "--users", "60"),
        *("--gallery", str(assets), "--work", str(tmp_path)),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    last = result.stdout.strip().splitlines()[-1]
    figures = re.search(r"(\d+) photos sent, (\d+) answered exactly once, (\d+) twice, (\d+) lost", last)
    assert figures, result.stdout[-3000:]
    sent, once, twice, lost = map(int, figures.groups())
    assert sent > 60 and once == sent and twice == lost == 0, last
    assert "tracebacks 0" in last and "exit status at the end 0" in result.stdout
    ran = re.findall(r"^\s+[\d.]+ min  (.+)$", result.stdout, flags=re.MULTILINE)
    assert {"workers SIGKILL", "bot SIGKILL", "sends 500", "sends 429 storm", "new assets directory"} <= set(ran)
    if os.geteuid() == 0:
        assert "disk full" in ran and "skipped" not in result.stdout, result.stdout[-3000:]
