#!/usr/bin/env bash
# Install the bot and its tools, the same way for everyone (README, the Dockerfile, CI's .ci/run):
# the system packages that are missing, the virtualenv .venv, dlib and nmslib compiled from their
# locked sources (cached), and the locked requirements, every file checked against its hash.
# Safe to run again: it only adds what is missing.
#
#   bash install.sh              # production: what bot.py, model.py and the tools need
#   bash install.sh --dev        # and the development set: pytest, ruff, mypy, playwright and
#                                # Debian's Chromium for the browser tests, pip-compile
#   bash install.sh --portable   # (or PORTABLE=1) dlib and nmslib for x86-64-v3, any AVX2/FMA
#                                # x86-64 CPU, instead of for this machine's CPU; the image's build
#
# PYTHON=python3.12 or VENV=/opt/bot/venv choose others. PROJECT=none installs everything but
# the project itself (the Dockerfile's build stage does, so that the compiled layer does not
# depend on the code; it installs the project after).
#
# The first run takes 7-8 minutes on 2 idle cores (about 12 CPU-minutes): dlib and nmslib are
# compiled from source, because the prebuilt wheels are several times slower (README). Later
# runs reuse their wheels from ~/.cache/lookalike-wheels: about a minute.
#
# The locks (README "The lock"): requirements.txt (run time) and requirements-dev.txt (--dev),
# made by pip-compile --generate-hashes from requirements.in and requirements-dev.in. Every pip
# call below that fetches something runs with --require-hashes: a file whose hash is not PyPI's
# one in the lock is refused.
set -euo pipefail
cd "$(dirname "$0")"

dev=no
portable=${PORTABLE:-0}
for arg in "$@"; do
  case $arg in
    --dev) dev=yes ;;
    --portable) portable=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "install.sh: unknown option $arg (--dev, --portable, --help)" >&2
      exit 2
      ;;
  esac
done

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
# FriBiDi, which Pillow's wheels load from the system for their raqm layout (the names shaped)
{ ldconfig -p 2>/dev/null || true; } | grep -q 'libfribidi\.so\.0 ' || missing+=(libfribidi0)
# Debian's Chromium, which the playground's browser tests drive through playwright (playwright's
# own browser download is not used: it fetches a build from outside the package registries).
# Development only: a production host or image has no browser.
if [ "$dev" = yes ]; then
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

# --- the virtualenv, and pip at the locked version
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# locked NAME...: those packages' pins with their hashes, from requirements.txt, as a requirements
# file of their own (pip-compile writes "name==version \" and then one "--hash=... \" line a file).
locked() {
  local out="$scratch/$(echo "$*" | tr ' ' '-').txt"
  for name in "$@"; do
    awk -v pin="$name==" 'index($0, pin) == 1 {on = 1} on {print} on && !/\\$/ {exit}' requirements.txt
  done >"$out"
  echo "$out"
}

"${pip[@]}" install -q --require-hashes --no-deps -r "$(locked pip)"

# --- dlib and nmslib, compiled once per machine and flags from their locked sources.
# dlib against OpenBLAS, with AVX2/FMA where the CPU has them: measured on this project's machine
# (README), the OpenBLAS build embeds a face 3-5x faster than the dlib-bin wheel, and AVX2/FMA make
# its HOG detection 2-3x faster than the default flags. nmslib's setup.py adds -march=native unless
# CFLAGS names an -march (or -mavx...) itself. --portable builds both for x86-64-v3 (AVX2, FMA,
# BMI2: every x86-64 server CPU of the last ten years), so that the result runs on another machine;
# bench/README.md measures it against the native build. -frecord-gcc-switches writes the flags
# into the modules, where tests/test_container.py reads them back from the image.
if [ "$portable" = 1 ]; then
  target=x86-64-v3
  dlib_flags="-O3 -march=x86-64-v3 -frecord-gcc-switches"
  nmslib_flags=$dlib_flags
else
  target=native
  dlib_flags="-O3"
  if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then
    dlib_flags="-O3 -mavx2 -mfma"
  fi
  nmslib_flags="" # setup.py's -march=native
fi

# They are built without pip's build isolation, which would fetch their build requirements
# unhashed: those (setuptools, wheel, packaging; pybind11 and numpy, whose headers nmslib
# compiles against) come from the lock first. dlib's CMake is the system's.
"${pip[@]}" install -q --require-hashes --no-deps -r "$(locked setuptools wheel packaging pybind11 numpy)"

# compiled NAME FLAGS: NAME's wheel, built with FLAGS from the sdist whose hash the lock holds.
# pip wheel --require-hashes checks the sdist before building it; the wheel is cached in a folder
# keyed by that hash and the flags (for -march=native, by this CPU's flags too), so no cache can
# hand back a wheel built from another source or for another CPU. pip's own wheel cache is not
# used: it is keyed by the source alone, not by the flags.
compiled() {
  local name=$1 flags=$2 pins sha key folder
  pins=$(locked "$name")
  sha=$(grep -o -m1 'sha256:[0-9a-f]*' "$pins" | cut -c8-19)
  key=$(echo "${flags:-native}" | tr -c 'A-Za-z0-9\n' '_')
  if [ -z "$flags" ]; then
    key="march_native_$(grep -m1 '^flags' /proc/cpuinfo | md5sum | cut -c1-8)"
  fi
  folder="${XDG_CACHE_HOME:-$HOME/.cache}/lookalike-wheels/$(head -1 "$pins" | cut -d' ' -f1 | sed s/==/-/)-$sha-$key"
  if ! ls "$folder"/*.whl >/dev/null 2>&1; then
    say "compiling $name with ${flags:-its own -march=native} (dlib 5-6 minutes on 2 cores, nmslib 2-3; once per machine)"
    rm -rf "$folder.partial" && mkdir -p "$folder.partial"
    CFLAGS="$flags" CXXFLAGS="$flags" CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
      "${pip[@]}" wheel -q --no-deps --no-build-isolation --no-cache-dir --require-hashes \
      --no-binary "$name" -r "$pins" -w "$folder.partial"
    rm -rf "$folder" && mv "$folder.partial" "$folder"
  fi
  # The wheel file itself has no hash in the lock (it is made here): it is installed on its own,
  # from the folder its verified source and flags name, and the locked install below finds the
  # package already there. --force-reinstall: a venv switched between native and --portable
  # gets the other build of the same version.
  "${pip[@]}" install -q --no-deps --force-reinstall "$folder"/*.whl
}
compiled dlib "$dlib_flags"
compiled nmslib "$nmslib_flags"
# What the compiled modules need of a CPU, for lookalike/cpu_check.py to check at start.
echo "$target" >"$venv/lookalike-cpu-target"

# --- everything else, locked; with --dev the development set too
say "installing the locked requirements"
"${pip[@]}" install -q --require-hashes -r requirements.txt
if [ "$dev" = yes ]; then
  "${pip[@]}" install -q --require-hashes -r requirements-dev.txt
fi
# --- the project itself, editable: `import lookalike` works from anywhere, nothing patches sys.path
# and its gettext catalogs compiled from lookalike/locale/*/LC_MESSAGES/lookalike.po (README,
# "Languages"; the image's build stage, PROJECT=none, compiles them once it has copied the code)
if [ "${PROJECT:-editable}" != none ]; then
  "${pip[@]}" install -q --no-deps --no-build-isolation -e .
  "$venv/bin/pybabel" -q compile
fi
"$venv/bin/python" -c 'import dlib, nmslib, telegram, prometheus_client'
if [ "$dev" = yes ]; then
  "$venv/bin/python" -c 'import pytest, playwright, mypy'
  say "done in $((SECONDS - started)) s; test with: $venv/bin/python -m pytest -q"
else
  say "done in $((SECONDS - started)) s (production: no test tools; bash install.sh --dev adds them)"
fi
