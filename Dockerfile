# The look-alike bot's image: dlib and nmslib compiled once in a build stage (by install.sh
# itself, so with the same flags as a host install), then a slim runtime stage with the
# virtualenv, the font and a non-root user.
#
#   docker build -t lookalike .                                   # Debian bookworm-slim
#   docker build --build-arg BASE=ubuntu:24.04 -t lookalike .     # any Debian/Ubuntu with Python >= 3.11
#
# Like install.sh, the build compiles dlib and nmslib for the CPU it runs on (AVX2/FMA where
# present, nmslib with -march=native): build the image on the machine that runs it, or on one
# with the same CPU features. README "Run it in a container" has the whole walk-through.

ARG BASE=debian:bookworm-slim

# EXTRA_CA_CERT: PEM certificates to trust besides the system's, for a network whose HTTPS
# goes through an intercepting proxy (pip in the build, Telegram in the runtime).
ARG EXTRA_CA_CERT=""

FROM ${BASE} AS build
ARG EXTRA_CA_CERT
# pip trusts the system's store (with EXTRA_CA_CERT), not only its own bundled one.
ENV DEBIAN_FRONTEND=noninteractive VENV=/opt/venv PIP_CERT=/etc/ssl/certs/ca-certificates.crt
# install.sh installs the compiler, CMake, OpenBLAS and Python's headers itself; it needs Python.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends python3 ca-certificates >/dev/null \
 && if [ -n "$EXTRA_CA_CERT" ]; then \
      printf '%s\n' "$EXTRA_CA_CERT" > /usr/local/share/ca-certificates/extra.crt && update-ca-certificates >/dev/null; \
    fi
WORKDIR /src
# Only what the compilation depends on, so that a code change reuses this layer (7-8 minutes).
# The cache mount keeps install.sh's dlib wheel and pip's nmslib wheel across layer rebuilds.
COPY install.sh requirements.txt ./
# The tests' tools (pytest, ruff, mypy, playwright and its Chromium) stay out of the image.
RUN --mount=type=cache,target=/root/.cache,sharing=locked PROJECT=none TEST_TOOLS=no bash install.sh \
 && /opt/venv/bin/python -m pip uninstall -q -y mypy ruff pytest pytest-asyncio playwright
COPY pyproject.toml README.md ./
COPY lookalike lookalike
RUN /opt/venv/bin/python -m pip install -q --no-deps --no-build-isolation --no-compile . \
 && /opt/venv/bin/python -m compileall -q /opt/venv/lib


FROM ${BASE} AS runtime
ARG EXTRA_CA_CERT
ENV DEBIAN_FRONTEND=noninteractive
# Python, OpenBLAS (dlib is linked against it), OpenMP (nmslib), the font with Cyrillic for
# the pictures' names, CA certificates for api.telegram.org and Wikimedia.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends \
      python3 libopenblas0 libgomp1 fonts-dejavu-core ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && if [ -n "$EXTRA_CA_CERT" ]; then \
      printf '%s\n' "$EXTRA_CA_CERT" > /usr/local/share/ca-certificates/extra.crt && update-ca-certificates >/dev/null; \
    fi \
 && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home lookalike \
 && mkdir -p /data/index /data/photos /data/state \
 && chown -R lookalike:lookalike /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY bot.py model.py build_embeddings.py fetch_celebrities.py ./
# The volumes: /data/index holds the assets directory (and the build's cache beside it, so the
# build's atomic swap stays on one file system), /data/photos the photo folder, /data/state
# the answered-updates file that must outlive a restart.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
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
