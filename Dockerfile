# The look-alike bot's image: dlib and nmslib compiled once in a build stage (by install.sh
# itself, from the locked and hashed sources), then a slim runtime stage with the virtualenv,
# the font and a non-root user.
#
#   docker build -t lookalike .                                   # Debian bookworm-slim
#   docker build --build-arg BASE=ubuntu:24.04 -t lookalike .     # any Debian/Ubuntu with Python >= 3.11
#
# Portable: dlib and nmslib are compiled for x86-64-v3 (install.sh --portable: AVX2, FMA, BMI2;
# every x86-64 server CPU of the last ten years), not for the CPU of the machine that builds the
# image, so an image built in CI runs on any such host (bench/README.md measures it against a
# build for this machine's own CPU). On a CPU without them the bot exits with one line saying
# so (lookalike/cpu_check.py), not with SIGILL. README "Run it in a container" has the whole
# walk-through.

ARG BASE=debian:bookworm-slim

# EXTRA_CA_CERT: PEM certificates to trust besides the system's, for a network whose HTTPS
# goes through an intercepting proxy (pip in the build, Telegram in the runtime).
ARG EXTRA_CA_CERT=""
# What the image's labels say of the source (.ci/image passes the commit and, when the clone has
# one, its origin's URL).
ARG REVISION=""
ARG SOURCE=""

FROM ${BASE} AS build
ARG EXTRA_CA_CERT
# pip trusts the system's store (with EXTRA_CA_CERT), not only its own bundled one.
ENV DEBIAN_FRONTEND=noninteractive VENV=/opt/venv PIP_CERT=/etc/ssl/certs/ca-certificates.crt
# install.sh installs the compiler, CMake, OpenBLAS and Python's headers itself; it needs Python.
# dlib links X11, libpng and libjpeg when it finds them (a host's wheel from a desktop-ish
# machine does): installed here, every build of dlib links the same ones, wherever compiled.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends python3 ca-certificates libx11-dev libpng-dev libjpeg-dev >/dev/null \
 && if [ -n "$EXTRA_CA_CERT" ]; then \
      printf '%s\n' "$EXTRA_CA_CERT" > /usr/local/share/ca-certificates/extra.crt && update-ca-certificates >/dev/null; \
    fi
WORKDIR /src
# Only what the compilation depends on, so that a code change reuses this layer (7-8 minutes).
# The cache mount keeps install.sh's dlib and nmslib wheels across layer rebuilds. CACHE names
# another cache directory instead: CI mounts the host's ~/.cache there (podman build --volume),
# so the image reuses portable wheels that the host compiled on the same Debian release (install.sh
# keys them by source hash and flags) rather than compiling them a second time.
ARG CACHE=/root/.cache
COPY install.sh requirements.txt ./
# The production set only: no test tools (pytest, ruff, mypy, playwright) and no Chromium.
RUN --mount=type=cache,target=/root/.cache,sharing=locked \
    XDG_CACHE_HOME=$CACHE PROJECT=none bash install.sh --portable
COPY pyproject.toml README.md ./
COPY lookalike lookalike
# The gettext catalogs compiled (their .po files are the source; the .mo files are not in git).
RUN /opt/venv/bin/pybabel -q compile \
 && /opt/venv/bin/python -m pip install -q --no-deps --no-build-isolation --no-compile . \
 && /opt/venv/bin/python -m compileall -q /opt/venv/lib
# The system packages the compiled modules link (OpenBLAS, X11, libpng...), by the names this
# base gives them: what the runtime stage installs (and checks by importing the modules).
RUN find /opt/venv -name '*.so*' -type f -print0 | xargs -0 ldd 2>/dev/null > /tmp/ldd.txt || true; \
    awk '$2 == "=>" && $3 ~ /^\// {print $3}' /tmp/ldd.txt | sort -u | while read -r lib; do \
      dpkg -S "$lib" 2>/dev/null || dpkg -S "$(realpath "$lib")" 2>/dev/null || dpkg -S "/usr$lib" 2>/dev/null || true; \
    done | cut -d: -f1 | sort -u > /opt/venv/runtime-packages \
 && cat /opt/venv/runtime-packages


FROM ${BASE} AS runtime
ARG EXTRA_CA_CERT
ARG REVISION
ARG SOURCE
# The OCI annotations: the version is pyproject.toml's (tests/test_deploy.py checks they agree).
# The project states no licence, so the image claims none (org.opencontainers.image.licenses is
# left out rather than guessed); dlib (Boost), nmslib (Apache-2.0) and the rest keep their own.
LABEL org.opencontainers.image.title="lookalike" \
      org.opencontainers.image.description="Celebrity look-alike bot for Telegram: dlib face embeddings, an HNSW index, python-telegram-bot" \
      org.opencontainers.image.version="0.5.0" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}"
ENV DEBIAN_FRONTEND=noninteractive
# Python, the libraries the compiled modules link (the build stage's list: OpenBLAS for dlib...),
# the fonts for the pictures' names in every script (DejaVu: Latin, Cyrillic; Noto: Arabic,
# Devanagari...) and FriBiDi, which Pillow's wheels load from the system for their raqm layout
# (the names shaped), CA certificates for api.telegram.org.
COPY --from=build /opt/venv/runtime-packages /tmp/runtime-packages
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends \
      python3 fonts-dejavu-core fonts-noto-core libfribidi0 ca-certificates $(cat /tmp/runtime-packages) >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && if [ -n "$EXTRA_CA_CERT" ]; then \
      printf '%s\n' "$EXTRA_CA_CERT" > /usr/local/share/ca-certificates/extra.crt && update-ca-certificates >/dev/null; \
    fi \
 && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home lookalike \
 && mkdir -p /data/index /data/photos /data/state \
 && chown -R lookalike:lookalike /data
COPY --from=build /opt/venv /opt/venv
# Fails the build, not the bot's start, if a compiled module cannot load here.
RUN /opt/venv/bin/python -c "import dlib, nmslib, onnxruntime, numpy, av, telegram; from PIL import features; assert features.check('raqm'), 'no raqm layout'"
WORKDIR /app
COPY bot.py model.py build_embeddings.py fetch_celebrities.py ./
# The code is compiled at build time and nothing is written beside it (PYTHONDONTWRITEBYTECODE):
# the root file system can be read-only (compose.yaml), with the volumes and /tmp writable.
# ORT_DISABLE_TELEMETRY: onnxruntime 1.32 (the gender classifier) otherwise writes a device id
# into ~/.cache/Microsoft and starts its telemetry uploader in every process that loads a model.
# The volumes: /data/index holds the assets directory (and the build's cache beside it, so the
# build's atomic swap stays on one file system), /data/photos the photo folder, /data/state
# the answered-updates file that must outlive a restart.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ORT_DISABLE_TELEMETRY=1 \
    ASSETS_DIR=/data/index/assets \
    ANSWERED_FILE=/data/state/answered-updates.json \
    METRICS_PORT=9100
VOLUME ["/data/index", "/data/photos", "/data/state"]
USER lookalike
EXPOSE 8443 9100
# /readyz: the index loaded, the face workers alive, Telegram answered recently (README "Health").
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-m", "lookalike.bot.probe", "readyz"]
CMD ["python", "bot.py"]
