#!/usr/bin/env bash
# Install everything the bot, the tools and the tests need, the same way for everyone (README,
# and CI's .ci/run): the system packages that are missing, the virtualenv .venv, dlib built
# for this CPU (cached), nmslib and the pinned requirements. Safe to run again: it only adds
# what is missing.
#
#   bash install.sh            # PYTHON=python3.12 or VENV=/opt/bot/venv to choose others
#
# PROJECT=none installs everything but the project itself (the Dockerfile's build stage does,
# so that the compiled layer does not depend on the code; it installs the project after).
# TEST_TOOLS=no leaves out the system packages only the tests use (Chromium; the image's).
#
# The first run takes 7-8 minutes on 2 idle cores (about 12 CPU-minutes): dlib and nmslib are
# compiled from source, because the prebuilt wheels are several times slower (README). Later
# runs reuse dlib's wheel from ~/.cache/lookalike-wheels and pip's cache: about a minute.
set -euo pipefail
cd "$(dirname "$0")"

python=${PYTHON:-python3}
venv=${VENV:-.venv}
started=$SECONDS

say() { echo "install.sh: $*" >&2; }

# --- system packages: a C++ compiler, CMake and OpenBLAS for dlib, Python's headers and venv, a font
if ! command -v "$python" >/dev/null; then
  say "no $python: install Python 3.11 or newer (Debian/Ubuntu: apt-get install python3), or set PYTHON"
  exit 1
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  say "$python is $("$python" -V 2>&1); the bot needs Python 3.11 or newer (set PYTHON to one)"
  exit 1
fi

missing=()
command -v c++ >/dev/null || missing+=(g++)
command -v cmake >/dev/null || missing+=(cmake)
if ! { ldconfig -p 2>/dev/null || true; } | grep -q 'libopenblas\.so '; then
  missing+=(libopenblas-dev)
fi
include=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
[ -f "$include/Python.h" ] || missing+=(python3-dev)
"$python" -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
# The pictures' names and credits: DejaVu Sans for Latin and Cyrillic (Pillow's own font has no
# Cyrillic), Noto for Arabic, Persian and Devanagari (bot/shaped_text.py)
[ -n "$(find /usr/share/fonts -name DejaVuSans.ttf -print -quit 2>/dev/null)" ] || missing+=(fonts-dejavu-core)
[ -n "$(find /usr/share/fonts -name NotoSansDevanagari-Regular.ttf -print -quit 2>/dev/null)" ] || missing+=(fonts-noto-core)
# Debian's Chromium, which the playground's browser tests drive through playwright (playwright's
# own browser download is not used: it fetches a build from outside the package registries)
if [ "${TEST_TOOLS:-yes}" != no ]; then
  command -v chromium >/dev/null || missing+=(chromium)
fi

if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    say "missing: ${missing[*]} (Debian names); install them with your system's package manager and run again"
    exit 1
  fi
  if [ "$(id -u)" = 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null; then
    as_root=(sudo)
  else
    say "missing system packages: ${missing[*]}"
    say "you are not root and there is no sudo: as root, run 'apt-get install -y ${missing[*]}', then this again"
    exit 1
  fi
  say "installing system packages: ${missing[*]}"
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- the virtualenv
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip)
"${pip[@]}" install -q --upgrade pip

# --- dlib, built once per machine and flags: against OpenBLAS, with AVX2/FMA where the CPU has
# them. Measured on this project's machine (README): the OpenBLAS build embeds a face 3-5x faster
# than the dlib-bin wheel, and AVX2/FMA make its HOG detection 2-3x faster than the default
# flags. The wheel's folder is keyed by the flags, so no cache can hand back a build with others.
dlib_version=$(sed -n 's/^dlib==//p' requirements.txt)
flags="-O3"
if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then
  flags="-O3 -mavx2 -mfma"
fi
wheels="${XDG_CACHE_HOME:-$HOME/.cache}/lookalike-wheels/dlib-$dlib_version-$(echo "$flags" | tr -c 'A-Za-z0-9\n' '_')"
if ! ls "$wheels"/dlib-"$dlib_version"-*.whl >/dev/null 2>&1; then
  mkdir -p "$wheels"
  say "building dlib $dlib_version with $flags (5-6 minutes on 2 cores, once per machine)"
  CFLAGS="$flags" CXXFLAGS="$flags" CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
    "${pip[@]}" wheel -q --no-deps --no-cache-dir --no-binary dlib "dlib==$dlib_version" -w "$wheels"
fi

# --- everything else, pinned; nmslib is compiled for this CPU (requirements.txt says why)
say "installing the pinned requirements (nmslib compiles from source the first time: 2-3 minutes)"
"${pip[@]}" install -q --find-links "$wheels" -r requirements.txt
# --- the project itself, editable: `import lookalike` works from anywhere, nothing patches sys.path
if [ "${PROJECT:-editable}" != none ]; then
  "${pip[@]}" install -q --no-deps --no-build-isolation -e .
fi
# --- the gettext catalogs, compiled from lookalike/locale/*/LC_MESSAGES/lookalike.po (README, "Languages")
"$venv/bin/pybabel" -q compile
"$venv/bin/python" -c 'import dlib, nmslib, telegram, prometheus_client'
say "done in $((SECONDS - started)) s; test with: $venv/bin/python -m pytest -q"
