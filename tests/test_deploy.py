"""How the bot is configured and supervised: .env and .env.example, README's table, the
token's shape, the systemd unit, the health figures and the progress lines of the tools."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess

import pytest

from lookalike.answering.health import Health
from lookalike.bot.config import Config, ConfigError
from lookalike.bot.env_file import read_env_file, with_env_file
from lookalike.progress import LogProgress
from tests.support.data import ROOT

TOKEN = "4242:AAE-never_LOG-this-Token-0123456789"


class Recording(dict):
    """An environment that remembers every name the configuration asked it for."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked: set[str] = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.asked.add(key)
        return super().__getitem__(key)


def configuration_variables() -> set[str]:
    env = Recording({"TELEGRAM_BOT_TOKEN": TOKEN})
    Config.from_env(env)
    return env.asked


def test_the_configuration_reads_the_variables_it_is_known_to():
    # The recording sees the names Config.from_env asks for; a few it must never miss.
    assert {"TELEGRAM_BOT_TOKEN", "ASSETS_DIR", "SHUTDOWN_GRACE_SECONDS", "METRICS_PORT"} <= configuration_variables()


def test_every_configuration_variable_is_in_env_example_and_the_readme():
    example = {
        match.group(1)
        for match in re.finditer(r"^#? ?([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE)
    }
    readme = (ROOT / "README.md").read_text()
    table = {
        name
        for row in re.findall(r"^\| (.+?) \|", readme, re.MULTILINE)
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row)
    }
    variables = configuration_variables()
    assert variables - example == set(), "missing from .env.example"
    assert variables - table == set(), "missing from README's table"


def test_env_example_as_an_env_file_is_the_defaults(tmp_path):
    """Copied to .env with only the token filled in, the example configures the default bot."""
    text = (ROOT / ".env.example").read_text().replace("TELEGRAM_BOT_TOKEN=", f"TELEGRAM_BOT_TOKEN={TOKEN}")
    (tmp_path / ".env").write_text(text)
    from_file = Config.from_env(with_env_file({"ENV_FILE": str(tmp_path / ".env")}))
    assert from_file == Config.from_env({"TELEGRAM_BOT_TOKEN": TOKEN})


def test_env_file_lines_and_the_environment_wins(tmp_path):
    path = tmp_path / "bot.env"
    path.write_text(
        "# a comment\n\n"
        f"export TELEGRAM_BOT_TOKEN={TOKEN}\n"
        "WORKERS = 3   # two cores and a half\n"
        "LOG_LEVEL='debug'\n"
        'ADMIN_IDS="1, 2 # not a comment"\n'
        "ASSETS_DIR=/from/the/file\n"
    )
    assert read_env_file(path) == {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "WORKERS": "3",
        "LOG_LEVEL": "debug",
        "ADMIN_IDS": "1, 2 # not a comment",
        "ASSETS_DIR": "/from/the/file",
    }
    merged = with_env_file({"ENV_FILE": str(path), "ASSETS_DIR": "/from/the/environment"})
    assert merged["ASSETS_DIR"] == "/from/the/environment" and merged["WORKERS"] == "3"


def test_dot_env_is_read_from_the_working_directory_when_present(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert with_env_file({"WORKERS": "2"}) == {"WORKERS": "2"}  # no .env: the environment alone
    (tmp_path / ".env").write_text("WORKERS=5\nPORT=8080\n")
    assert with_env_file({"WORKERS": "2"}) == {"WORKERS": "2", "PORT": "8080"}


def test_a_bad_env_file_line_is_named_without_its_content(tmp_path):
    path = tmp_path / ".env"
    path.write_text(f"LOG_LEVEL=INFO\n{TOKEN}\n")
    with pytest.raises(ConfigError) as caught:
        read_env_file(path)
    assert f"{path}:2: not a NAME=value line" in str(caught.value) and TOKEN not in str(caught.value)
    with pytest.raises(ConfigError, match="cannot read the env file"):
        with_env_file({"ENV_FILE": str(tmp_path / "missing.env")})


@pytest.mark.parametrize("token", ["abc", "55555", ":AAH", "4242:", "4242:AA H", "bot4242:AAH"])
def test_a_token_of_the_wrong_shape_is_refused_without_showing_it(token):
    with pytest.raises(ConfigError) as caught:
        Config.from_env({"TELEGRAM_BOT_TOKEN": token})
    assert "does not look like a bot token" in str(caught.value) and token not in str(caught.value)


def test_tokens_of_botfathers_shape_are_accepted():
    for token in (TOKEN, "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "1:x"):
        assert Config.from_env({"TELEGRAM_BOT_TOKEN": token}).token == token


# ------------------------------------------------------------------ systemd


def unit_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in (ROOT / "deploy" / "lookalike-bot.service").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


def test_the_systemd_unit_outwaits_the_grace_and_is_sandboxed():
    settings = unit_settings()
    grace = Config.from_env({"TELEGRAM_BOT_TOKEN": TOKEN}).shutdown_grace_seconds
    assert float(settings["TimeoutStopSec"][0]) > grace
    assert settings["Restart"] == ["on-failure"] and settings["NoNewPrivileges"] == ["yes"]
    assert settings["ProtectSystem"] == ["strict"] and settings["User"] == ["lookalike"]
    # What the bot writes is within ReadWritePaths: ANSWERED_FILE, and nothing else.
    writable = settings["ReadWritePaths"][0].split()
    answered = next(v.split("=", 1)[1] for v in settings["Environment"] if v.startswith("ANSWERED_FILE="))
    assert any(answered.startswith(path + "/") for path in writable)
    assert settings["EnvironmentFile"] == ["-/etc/lookalike/bot.env"]  # optional: the token is a credential


def test_the_systemd_unit_hands_the_token_over_as_a_credential_file():
    """The token file systemd loads (LoadCredential=NAME:PATH) is the one TELEGRAM_BOT_TOKEN_FILE
    names in the service's credentials directory (%d), and the token is in no Environment= line."""
    settings = unit_settings()
    [credential] = settings["LoadCredential"]
    name, source = credential.split(":", 1)
    assert source.startswith("/etc/lookalike/")
    environment = dict(value.split("=", 1) for value in settings["Environment"])
    assert environment["TELEGRAM_BOT_TOKEN_FILE"] == f"%d/{name}"
    assert "TELEGRAM_BOT_TOKEN" not in environment


def test_the_systemd_unit_passes_systemd_analyze_verify(tmp_path):
    """systemd-analyze checks every directive's name and value, and that ExecStart is an
    executable: the unit's /opt/lookalike is pointed at this checkout's .venv for that."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        reason = "systemd-analyze is not installed (Debian: apt-get install systemd; .ci/image installs it)"
        if os.environ.get("CI", "").strip().lower() in ("true", "1"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    python = ROOT / ".venv" / "bin" / "python"
    assert python.exists(), "install.sh makes .venv"
    unit = tmp_path / "lookalike-bot.service"
    unit.write_text((ROOT / "deploy" / "lookalike-bot.service").read_text().replace("/opt/lookalike", str(ROOT)))
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if unit.name in line]
    assert complaints == []


# ------------------------------------------------------------------ health


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Pool:
    workers = 2

    def __init__(self):
        self.alive = 2

    def check_workers(self) -> int:
        return self.alive


class Assets:
    def __init__(self, count: int):
        self.current = type("Index", (), {"version": "v1", "__len__": lambda self: count})()


def test_ready_only_when_started_with_an_index_workers_and_telegram_answering():
    clock, pool = Clock(), Pool()
    health = Health(pool, Assets(24), telegram_silence=120, clock=clock)
    assert not health.readiness()[0]  # not started
    health.started = True
    health.workers_alive = pool.check_workers()
    assert not health.readiness()[0]  # Telegram never answered
    health.telegram_answered()
    ready, figures = health.readiness()
    assert ready and figures["index_version"] == "v1" and figures["workers_alive"] == 2
    clock.now += 121
    assert not health.readiness()[0]  # Telegram silent too long
    health.telegram_answered()
    health.workers_alive = 1
    assert not health.readiness()[0]  # a worker gone
    health.workers_alive = 2
    assert health.readiness()[0]
    health.stopping = True
    assert not health.readiness()[0]
    assert not Health(
        pool, Assets(0), clock=clock, started=True, workers_alive=2, telegram_answered_at=clock.now
    ).readiness()[0]


def test_alive_until_the_event_loop_stalls():
    clock = Clock()
    health = Health(Pool(), Assets(1), clock=clock)
    assert health.liveness()[0]
    health.loop_tick_at = clock.now
    clock.now += 29
    assert health.liveness()[0]
    clock.now += 2
    assert not health.liveness()[0]


# ------------------------------------------------------------------ progress lines


def test_progress_without_a_terminal_is_a_log_line_every_5_percent_or_30_seconds(caplog):
    clock = Clock()
    caplog.set_level(logging.INFO, logger="progress")
    progress = LogProgress(1000, "photo", "analysing", clock=clock)
    for _ in range(49):
        clock.now += 0.1
        progress.update()
    assert caplog.messages == []  # 4.9%, 4.9 s
    clock.now += 0.1
    progress.update()
    assert caplog.messages == ["analysing: 50/1000 photos (5%), 10.0 photos/s, 2 min left"]
    clock.now += 31  # slower now: a line after 30 s though only 0.1% more
    progress.update()
    assert caplog.messages[-1] == "analysing: 51/1000 photos (5%), 1.4 photos/s, 11 min left"
    progress.update(949)
    progress.close()
    assert caplog.messages[-1] == "analysing: 1000/1000 photos in 36 s (27.8 photos/s)"
    assert len(caplog.messages) == 3


def test_build_embeddings_logs_progress_when_stderr_is_not_a_terminal(tmp_path):
    from tests.support.data import LFW, require

    require(LFW)
    photos = tmp_path / "photos"
    photos.mkdir()
    for person in sorted(p.name for p in LFW.iterdir() if p.is_dir())[:12]:
        first = sorted((LFW / person).glob("*.jpg"))[0]
        (photos / f"{person}.jpg").symlink_to(first)
    command = [str(ROOT / ".venv" / "bin" / "python"), str(ROOT / "build_embeddings.py"), str(photos)]
    result = subprocess.run(
        [*command, "--out", str(tmp_path / "assets"), "--jitters", "1", "--workers", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "analysing: " in line]
    assert len(lines) >= 10, result.stderr  # 12 photos: each is more than 5%
    assert re.search(r"analysing: \d+/12 photos \(\d+%\), [\d.]+ photos/s, \d+ (s|min) left", lines[0]), lines[0]
    assert re.search(r"analysing: 12/12 photos in \d+ s", lines[-1]), lines[-1]
    assert "\r" not in result.stderr  # no bar drawn into a log


# ------------------------------------------------------------------ the tools' rough edges


def test_fetch_retries_are_logged_without_the_query(caplog):
    """Each retry's warning names where the request went and why, not the 120-character
    URL-encoded SPARQL query it carried."""
    import socket

    from lookalike.fetcher.polite_http import HttpError, PoliteClient

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: connections are refused
    client = PoliteClient("LookalikeTest/1.0 (test@example.org)", attempts=3, backoff=0.01)
    query = "SELECT ?person ?sitelinks WHERE { ?person wdt:P31 wd:Q5; wdt:P18 ?image; wikibase:sitelinks ?sitelinks }"
    caplog.set_level(logging.WARNING)
    with pytest.raises(HttpError):
        client.get(f"http://127.0.0.1:{port}/sparql", params={"query": query, "format": "json"})
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings
    assert warnings[0].startswith(f"127.0.0.1:{port}/sparql: ") and "retry 1 of 2 in" in warnings[0]
    assert all("SELECT" not in w and "query=" not in w and len(w) < 160 for w in warnings), warnings


def test_fetch_help_shows_contact_as_required():
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), str(ROOT / "fetch_celebrities.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    usage = result.stdout.split("\n\n")[0]
    assert "--contact EMAIL_OR_URL" in usage and "[--contact" not in usage, usage
    assert "required:" in result.stdout


def test_photos_readme_runs_the_tools_from_the_venv():
    text = (ROOT / "photos" / "README.md").read_text()
    commands = re.findall(r"^\s+(\S*python\S*) (build_embeddings|fetch_celebrities)\.py", text, re.MULTILINE)
    assert commands and all(python == ".venv/bin/python" for python, _ in commands), commands


# ------------------------------------------------------------------ the CPU the compiled modules need

# /proc/cpuinfo of a Sandy Bridge Xeon (E5-2670, 2012): AVX but no AVX2, FMA, BMI, F16C, LZCNT or MOVBE.
SANDY_BRIDGE = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) CPU E5-2670 0 @ 2.60GHz
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss ht syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology cpuid tsc_known_freq pni pclmulqdq ssse3 cx16 pcid sse4_1 sse4_2 x2apic popcnt tsc_deadline_timer aes xsave avx hypervisor lahf_lm pti xsaveopt
bugs\t\t: cpu_meltdown spectre_v1 spectre_v2

processor\t: 1
flags\t\t: fpu sse sse2 ssse3 avx avx2 fma
"""
# The same machine a generation on (Haswell, 2013): everything x86-64-v3 needs.
HASWELL = SANDY_BRIDGE.replace("popcnt", "popcnt movbe fma f16c abm bmi1 avx2 bmi2", 1)


@pytest.fixture
def cpu(tmp_path, monkeypatch):
    """cpu_check pointed at a /proc/cpuinfo text and a virtualenv's build target of the test's choosing."""
    from lookalike import cpu_check

    def given(cpuinfo: str, target: str):
        (tmp_path / "cpuinfo").write_text(cpuinfo)
        (tmp_path / "lookalike-cpu-target").write_text(f"{target}\n")
        monkeypatch.setattr(cpu_check, "CPUINFO", tmp_path / "cpuinfo")
        monkeypatch.setattr(cpu_check, "TARGET_FILE", tmp_path / "lookalike-cpu-target")
        return cpu_check

    return given


def test_a_portable_build_on_a_cpu_without_avx2_exits_with_one_line(cpu, capsys, monkeypatch):
    cpu_check = cpu(SANDY_BRIDGE, "x86-64-v3")
    monkeypatch.setattr("sys.argv", ["/app/bot.py"])
    with pytest.raises(SystemExit) as exited:
        cpu_check.exit_if_unsupported()
    assert exited.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("bot.py: this CPU lacks "), lines
    # what Sandy Bridge lacks of x86-64-v3, named; only the first processor's flags count
    assert "avx2, bmi1, bmi2, f16c, fma, abm, movbe," in lines[0] and "x86-64-v3" in lines[0]


def test_a_portable_build_runs_on_a_cpu_with_x86_64_v3_and_a_native_build_anywhere(cpu):
    assert cpu(HASWELL, "x86-64-v3").problem() is None
    cpu_check = cpu(SANDY_BRIDGE, "native")  # built on this machine, for its own CPU
    assert cpu_check.problem() is None
    cpu_check.exit_if_unsupported()  # returns


def test_a_cpuinfo_without_flags_or_an_install_without_a_target_is_not_refused(cpu, tmp_path):
    cpu_check = cpu("processor\t: 0\nFeatures\t: fp asimd\n", "x86-64-v3")  # an ARM CPU's cpuinfo
    assert cpu_check.problem() is None
    (tmp_path / "lookalike-cpu-target").unlink()  # not installed by install.sh
    (tmp_path / "cpuinfo").write_text(SANDY_BRIDGE)
    assert cpu_check.problem() is None


def test_install_sh_writes_the_target_the_check_reads():
    """install.sh records the target of the build it made, where lookalike.cpu_check looks."""
    from lookalike import cpu_check

    assert cpu_check.TARGET_FILE.read_text().strip() in cpu_check.REQUIRED.keys() | {"native"}
    script = (ROOT / "install.sh").read_text()
    assert f'>"$venv/{cpu_check.TARGET_FILE.name}"' in script and "target=x86-64-v3" in script
    assert set(cpu_check.REQUIRED) == {"x86-64-v3"}


# ------------------------------------------------------------------ compose.yaml and the image's labels


def compose() -> dict:
    import yaml

    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_every_compose_service_runs_hardened_with_rotated_logs():
    services = compose()["services"]
    assert set(services) == {"bot", "fetch", "build"}
    for name, service in services.items():
        assert service["read_only"] is True and "/tmp" in service["tmpfs"], name
        assert service["cap_drop"] == ["ALL"] and "no-new-privileges:true" in service["security_opt"], name
        assert re.fullmatch(r"(\$\{[A-Z_]+:-)?\d+[mg]\}?", service["mem_limit"]), name
        logging_ = service["logging"]
        assert logging_["driver"] == "json-file", name
        assert re.fullmatch(r"\d+m", logging_["options"]["max-size"]) and int(logging_["options"]["max-file"]) >= 2


def test_with_a_read_only_root_the_bot_writes_only_to_its_volumes():
    """Whatever the bot writes (ANSWERED_FILE, STATS_FILE beside it) is on a writable volume; the
    index is read-only to it, and the builder's output and the fetcher's photos are volumes too."""
    services = compose()["services"]
    bot, build, fetch = services["bot"], services["build"], services["fetch"]
    mounts = {v.split(":")[1]: v.split(":")[2:] for v in bot["volumes"]}
    answered = bot["environment"]["ANSWERED_FILE"]
    assert any(answered.startswith(path + "/") and "ro" not in options for path, options in mounts.items())
    assert mounts["/data/index"] == ["ro"]
    out = build["entrypoint"][build["entrypoint"].index("--out") + 1]
    assert any(out.startswith(v.split(":")[1] + "/") and not v.endswith(":ro") for v in build["volumes"])
    photos = fetch["entrypoint"][fetch["entrypoint"].index("--out") + 1]
    assert any(v.split(":")[1] == photos and not v.endswith(":ro") for v in fetch["volumes"])


def test_compose_gives_the_token_as_a_secret_file_and_metrics_an_address():
    config = compose()
    bot = config["services"]["bot"]
    [secret] = bot["secrets"]
    assert "file" in config["secrets"][secret]
    assert bot["environment"]["TELEGRAM_BOT_TOKEN_FILE"] == f"/run/secrets/{secret}"
    assert "TELEGRAM_BOT_TOKEN" not in bot["environment"]
    assert bot["env_file"] == [{"path": ".env", "required": False}]
    # /metrics on the container's own interface; a port, if any, published on the host's loopback only
    assert bot["environment"]["METRICS_LISTEN"] == "0.0.0.0"
    assert all(str(port).startswith("127.0.0.1:") for port in bot.get("ports", []))
    ignored = (ROOT / ".gitignore").read_text().split() + (ROOT / ".dockerignore").read_text().split()
    source = config["secrets"][secret]["file"].removeprefix("./")
    assert {f"{source.split('/')[0]}/", source.split("/")[0]} <= set(ignored)


def test_the_bots_memory_limit_follows_the_readmes_formula():
    """compose.yaml plans for twice the index, as README's ASSETS_DIR row says a reload needs."""
    per_million = float(
        re.search(r"twice the index \(about ([\d.]+) GB a million", (ROOT / "README.md").read_text())[1]
    )
    text = (ROOT / "compose.yaml").read_text()
    base, planned = map(float, re.search(r"([\d.]+) GB \+ ([\d.]+) GB per million celebrities", text).groups())
    assert planned == 2 * per_million
    limit = re.fullmatch(r"\$\{BOT_MEMORY:-(\d+)g\}", compose()["services"]["bot"]["mem_limit"])
    fits = float(re.search(r"fits a gallery of up to ~(\d+)k", text)[1]) / 1000
    assert base + planned * fits <= int(limit[1])


def test_the_images_version_label_is_the_packages():
    import tomllib

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f'org.opencontainers.image.version="{version}"' in dockerfile


# ------------------------------------------------------------------ the locks


def locked(name: str) -> dict[str, tuple[str, int]]:
    """A pip-compile lock's packages: name -> (version, how many hashes)."""
    packages: dict[str, tuple[str, int]] = {}
    for block in re.split(r"\n(?=\S)", (ROOT / name).read_text()):
        pin = re.match(r"([a-z0-9._-]+)==(\S+)", block)
        if pin:
            packages[pin[1]] = (pin[2], len(re.findall(r"--hash=sha256:[0-9a-f]{64}", block)))
        else:
            assert block.startswith(("#", "--no-binary")) or not block.strip(), block
    return packages


def test_both_locks_pin_every_package_with_hashes_and_agree():
    runtime, dev = locked("requirements.txt"), locked("requirements-dev.txt")
    assert {"dlib", "nmslib", "numpy", "python-telegram-bot", "setuptools", "pybind11", "pip"} <= runtime.keys()
    assert all(hashes > 0 for _, hashes in [*runtime.values(), *dev.values()])
    assert all(runtime[name][0] == dev[name][0] for name in runtime.keys() & dev.keys())
    # The development set stays out of a production install (install.sh without --dev, the image).
    tools = {"pytest", "pytest-asyncio", "playwright", "ruff", "mypy", "pip-tools"}
    assert tools <= dev.keys() and not tools & runtime.keys()
