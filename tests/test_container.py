"""The container image, run for real: the bot inside the image that the Dockerfile builds
(``bash .ci/image``, which CI runs first), against the fake Bot API on the host's loopback.

No image registry and no ``podman run`` here (this machine's sandbox refuses the namespaces
it needs), so the container is a buildah working container run with chroot isolation,
which shares the host's network: the bot in the image reaches the fake Bot API on
127.0.0.1, and the test reaches the bot's /readyz. A photo in, a look-alike out, the
image's own healthcheck command, and a clean stop on SIGTERM, writing nothing outside its
volumes and /tmp (compose.yaml runs it with a read-only root). Then what the image holds: its
OCI labels, no test tool and no browser, dlib and nmslib compiled for x86-64-v3, and the
one-line refusal on a CPU without AVX2.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import tomllib
from pathlib import Path

import httpx
import pytest

from tests.support.bot_api import FakeBotApi
from tests.support.bot_harness import TOKEN, name, new_user, only_reply, selfie
from tests.support.data import ROOT, missing_data
from tests.support.processes import descendants, free_port
from tests.test_deploy import SANDY_BRIDGE

pytestmark = pytest.mark.e2e  # starts bot.py (in the image)

IMAGE = os.environ.get("LOOKALIKE_IMAGE", "localhost/lookalike:ci")
IMAGE_UID = 10001  # the image's user "lookalike" (Dockerfile)
WRITABLE = ("proc", "sys", "dev", "tmp", "run", "data/index", "data/state")
"""Where a container may write: the kernel's file systems, the tmpfs and the volumes (compose.yaml)."""


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
        root = Path(buildah("mount", container))
        before = files_of(root)
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
    # Whatever the bot wrote is its user's, on the volume meant for it, and nothing else changed.
    assert all(path.stat().st_uid == IMAGE_UID for path in state.iterdir())
    assert changed(before, files_of(root)) == [], "\n".join(changed(before, files_of(root)))


def files_of(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and directory of the container's root file system outside WRITABLE (and what
    buildah run itself writes into it: /etc/hosts, /etc/resolv.conf, /etc/hostname), with its
    modification time and size."""
    found = {}
    for directory, subdirectories, files in os.walk(root):
        here = Path(directory).relative_to(root)
        subdirectories[:] = [d for d in subdirectories if (here / d).as_posix() not in WRITABLE]
        for entry in [*files, *subdirectories]:
            path = (here / entry).as_posix()
            if path not in ("etc/hosts", "etc/resolv.conf", "etc/hostname"):
                stat = (Path(directory) / entry).lstat()
                found[path] = (stat.st_mtime_ns, stat.st_size)
    return found


def changed(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> list[str]:
    return sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))


def run_in(container: str, *command: str, cpuinfo: Path | None = None) -> subprocess.CompletedProcess:
    """``command`` in the image; with ``cpuinfo``, that file in place of /proc/cpuinfo (bind-mounted
    over it in a mount namespace of its own, which buildah run's /proc then shows)."""
    run = ["buildah", "run", "--isolation=chroot", container, "--", *command]
    if cpuinfo is not None:
        run = ["unshare", "--mount", "sh", "-c", f'mount --bind "{cpuinfo}" /proc/cpuinfo && exec "$@"', "-", *run]
    return subprocess.run(run, capture_output=True, text=True, timeout=120)


def test_the_images_labels_are_the_oci_ones_with_the_packages_version(container):
    import json

    labels = json.loads(buildah("inspect", "--type", "image", IMAGE))["OCIv1"]["config"]["Labels"]
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert labels["org.opencontainers.image.version"] == version
    assert labels["org.opencontainers.image.title"] == "lookalike" and labels["org.opencontainers.image.description"]
    assert re.fullmatch(r"[0-9a-f]{40}", labels["org.opencontainers.image.revision"]), labels
    assert "org.opencontainers.image.source" in labels


def test_the_image_holds_no_test_tool_and_no_browser(container):
    tools = ("pytest", "pytest_asyncio", "playwright", "ruff", "mypy", "piptools")
    browsers = ("chromium", "chromium-browser", "google-chrome", "chrome")
    found = run_in(
        container,
        "python",
        "-c",
        "import importlib.util, shutil, sys;"
        f"print([m for m in {tools!r} if importlib.util.find_spec(m)] + [b for b in {browsers!r} if shutil.which(b)])",
    )
    assert found.returncode == 0 and found.stdout.strip() == "[]", found.stdout + found.stderr


def test_dlib_and_nmslib_in_the_image_are_compiled_for_x86_64_v3(container):
    """install.sh --portable compiles them with -frecord-gcc-switches: every -march their
    objects were compiled with is in the modules, and must be x86-64-v3 (never native)."""
    script = (
        "import glob, re, sysconfig;"
        "site = sysconfig.get_paths()['purelib'];"
        "print({so.rsplit('/', 1)[1].split('.')[0]: sorted(set(re.findall(rb'-march=([\\w.-]+)', open(so, 'rb').read())))"
        " for so in glob.glob(site + '/_dlib_pybind11*.so') + glob.glob(site + '/nmslib*.so')})"
    )
    found = run_in(container, "python", "-c", script)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == "{'_dlib_pybind11': [b'x86-64-v3'], 'nmslib': [b'x86-64-v3']}", found.stdout
    target = run_in(container, "cat", "/opt/venv/lookalike-cpu-target")
    assert target.stdout.strip() == "x86-64-v3"


def test_on_a_cpu_without_avx2_the_image_exits_with_one_line(container, tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(SANDY_BRIDGE)
    cpuinfo.chmod(0o644)
    for program in (["python", "bot.py"], ["python", "model.py", "/tmp/none.jpg"]):
        result = run_in(container, *program, cpuinfo=cpuinfo)
        # buildah's own lines about the exit status aside, the program's one line
        lines = [line for line in result.stderr.splitlines() if not re.match(r"(subprocess exited|Error: exit)", line)]
        assert result.returncode == 2 and len(lines) == 1, result.stdout + result.stderr
        assert lines[0].startswith(f"{program[1]}: this CPU lacks avx2, bmi1, bmi2, f16c, fma, abm, movbe,"), lines
