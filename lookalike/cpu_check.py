"""Does this CPU have the instructions that dlib and nmslib were compiled for?

install.sh writes the build's target into the virtualenv (``lookalike-cpu-target`` in
``sys.prefix``): ``native`` for a build made on the machine that runs it, for its own CPU;
``x86-64-v3`` for the portable build (``install.sh --portable``, the container image), which
needs AVX2, FMA, BMI1/2, F16C, LZCNT and MOVBE besides x86-64-v2's SSE4.2 and POPCNT. Started
on a CPU without them, the first such instruction in dlib or nmslib would kill the process with
SIGILL and no word of why: the package runs :func:`exit_if_unsupported` when it is imported
(``lookalike/__init__.py``), before any of its modules loads dlib or nmslib, in every process
(bot.py, model.py, build_embeddings.py, the face workers, Dask workers), which exits with one
line naming what is missing instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

X86_64_V3 = (
    # x86-64-v2
    "cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3",
    # x86-64-v3 ("abm" is how /proc/cpuinfo names LZCNT, "xsave" OSXSAVE's CPU side)
    "avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave",
)  # fmt: skip
"""/proc/cpuinfo's names for the features of the x86-64-v3 level (the x86-64 psABI's)."""

REQUIRED = {"x86-64-v3": X86_64_V3}
TARGET_FILE = Path(sys.prefix) / "lookalike-cpu-target"
CPUINFO = Path("/proc/cpuinfo")
EXIT_STATUS = 2


def missing_features(cpuinfo: str, target: str) -> list[str]:
    """The features ``target`` needs that the first processor in ``cpuinfo`` (the text of
    /proc/cpuinfo) lacks; none when the target needs nothing named or the text lists no
    flags (not an x86 CPU: a build for x86-64 would not have loaded at all there)."""
    flags_line = next((line for line in cpuinfo.splitlines() if line.startswith("flags")), None)
    if flags_line is None:
        return []
    flags = set(flags_line.partition(":")[2].split())
    return [feature for feature in REQUIRED.get(target, ()) if feature not in flags]


def problem() -> str | None:
    """Why dlib and nmslib as built here cannot run on this CPU, in one line; None when they can
    (or when nothing says what they were built for: not installed by install.sh)."""
    try:
        target = TARGET_FILE.read_text().strip()
        text = CPUINFO.read_text()
    except OSError:
        return None
    missing = missing_features(text, target)
    if not missing:
        return None
    return (
        f"this CPU lacks {', '.join(missing)}, which dlib and nmslib as built here need ({target}: "
        "install.sh --portable and the container image build for it); run on a CPU with AVX2 and FMA "
        "(Intel Haswell, AMD Excavator or newer), or install with `bash install.sh`, which builds them for this CPU"
    )


def exit_if_unsupported() -> None:
    """Exit with one line on stderr (status 2) when :func:`problem` finds one."""
    why = problem()
    if why is not None:
        program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] not in ("", "-c") else "lookalike"
        print(f"{program}: {why}", file=sys.stderr)
        sys.exit(EXIT_STATUS)
