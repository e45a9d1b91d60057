"""The container image, run for real: the bot inside the image that the Dockerfile builds
(``bash .ci/image``, which CI runs first), against the fake Bot API on the host's loopback.

No image registry and no ``podman run`` here (this machine's sandbox refuses the namespaces
it needs), so the container is a buildah working container run with chroot isolation,
which shares the host's network: the bot in the image reaches the fake Bot API on
127.0.0.1, and the test reaches the bot's /readyz. A photo in, a look-alike out, the
image's own healthcheck command, and a clean stop on SIGTERM.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.bot_api_server import FakeBotApi
from tests.support.bot_harness import TOKEN, name, new_user, only_reply, selfie
from tests.support.data import missing_data
from tests.support.processes import descendants

pytestmark = pytest.mark.e2e  # starts bot.py (in the image)

IMAGE = os.environ.get("LOOKALIKE_IMAGE", "localhost/lookalike:ci")
IMAGE_UID = 10001  # the image's user "lookalike" (Dockerfile)


def buildah(*args: str, timeout: float = 120) -> str:
    result = subprocess.run(["buildah", *args], capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"buildah {' '.join(args)}: {result.stderr}"
    return result.stdout.strip()


@pytest.fixture(scope="module")
def container():
    if shutil.which("buildah") is None or os.geteuid() != 0:
        missing_data("needs buildah and root: `bash .ci/image` installs it and builds the image")
    if subprocess.run(["buildah", "inspect", "--type", "image", IMAGE], capture_output=True).returncode != 0:
        missing_data(f"needs the image {IMAGE}: build it with `bash .ci/image`")
    name_ = buildah("from", "--pull-never", IMAGE)
    yield name_
    buildah("rm", name_)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def readable_copy(source: Path, target: Path) -> Path:
    """The assets directory, readable by the image's user (pytest's folders are root's, 0700)."""
    shutil.copytree(source, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


def bot_in(process: subprocess.Popen) -> int:
    """The bot's own process below ``buildah run`` (SIGTERM goes to it, as docker stop does)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for pid in sorted(descendants(process.pid)):
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            # python bot.py itself, not buildah's own helpers whose arguments name it too
            if Path(argv[0].decode()).name.startswith("python") and argv[1:2] == [b"bot.py"]:
                return pid
        time.sleep(0.1)
    raise AssertionError("no bot.py process below buildah run")


def test_the_image_answers_a_photo_and_stops_cleanly_on_sigterm(container, people, assets, tmp_path):
    index = readable_copy(assets, tmp_path / "index" / "assets")
    state = tmp_path / "state"
    state.mkdir()
    os.chown(state, IMAGE_UID, IMAGE_UID)
    metrics_port = free_port()
    with FakeBotApi(token=TOKEN) as api:
        environment = {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": api.url,
            "WORKERS": "2",
            "METRICS_PORT": str(metrics_port),
        }
        command = ["buildah", "run", "--isolation=chroot", "--network=host"]
        for key, value in environment.items():
            command += ["--env", f"{key}={value}"]
        command += ["-v", f"{index}:/data/index/assets:ro", "-v", f"{state}:/data/state", container, "--"]
        log_path = tmp_path / "bot.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen([*command, "python", "bot.py"], stdout=log, stderr=subprocess.STDOUT)
        try:
            api.wait_for(lambda c: c.method == "getUpdates", timeout=120, description="the bot in the image started")
            user, person = new_user(), people[0]
            api.send_photo_update(user, sizes=selfie(person))
            reply = only_reply(api, user, timeout=60)
            assert reply.method == "sendPhoto" and name(person) in reply.params["caption"], reply.params

            # The image's healthcheck command, run in the container as Docker would.
            deadline = time.monotonic() + 30
            while httpx.get(f"http://127.0.0.1:{metrics_port}/readyz", timeout=5).status_code != 200:
                assert time.monotonic() < deadline, "the bot in the image never became ready"
                time.sleep(0.5)
            probe = subprocess.run(
                [*command, "python", "-m", "lookalike.bot.probe", "readyz"], capture_output=True, text=True, timeout=60
            )
            assert probe.returncode == 0 and '"ready": true' in probe.stdout, probe.stdout + probe.stderr

            os.kill(bot_in(process), signal.SIGTERM)
            assert process.wait(60) == 0, log_path.read_text()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        output = log_path.read_text()
        assert "receiving updates by long polling" in output and output.rstrip().endswith("stopped"), output[-3000:]
        assert "Traceback" not in output and TOKEN not in output
    # Whatever the bot wrote is its user's, on the volume meant for it.
    assert all(path.stat().st_uid == IMAGE_UID for path in state.iterdir())
