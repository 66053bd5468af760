# syntax=docker/dockerfile:1
# Jupyter + open_notebook_ext, hardened. Two stages:
#   panel: Node.js builds the JupyterLab panel and the wheel (with the panel in it);
#   final: a slim Python image with only the runtime packages, as a fixed non-root user.
# The same image runs the kernels (docker-compose.yml `kernels`: Jupyter Kernel
# Gateway as user 10002, `jupyter kernelgateway`), with an execute-only copy of the
# interpreter for them: a process started from a file it cannot read is
# non-dumpable from its first instruction, so no sibling kernel can read or attach
# to a kernel while it starts.
# Nothing secret is baked in: the token and the encryption key arrive at run time
# as files (compose `secrets:`), named by JUPYTER_TOKEN_FILE and
# OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE.

FROM node:20-bookworm-slim AS panel
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY jupyter-config ./jupyter-config
COPY labextension ./labextension
COPY open_notebook_ext ./open_notebook_ext
RUN python3 -m venv /build \
 && /build/bin/pip install --no-cache-dir build==1.2.2.post1 \
 && /build/bin/python -m build --wheel --outdir /dist .

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/data/home \
    NOTEBOOK_DIR=/data/notebooks \
    OPEN_NOTEBOOK_DATA_DIR=/data/open_notebook \
    JUPYTER_DATA_DIR=/data/jupyter \
    JUPYTER_RUNTIME_DIR=/tmp/jupyter-runtime \
    IPYTHONDIR=/tmp/ipython \
    MPLCONFIGDIR=/tmp/matplotlib
COPY --from=panel /dist/ /tmp/dist/
RUN echo "$(ls /tmp/dist/open_notebook_ext-*.whl)[lab,postgresql,gateway]" > /tmp/dist/requirements.txt \
 && pip install --no-cache-dir --requirement /tmp/dist/requirements.txt \
 && rm -rf /tmp/dist /root/.cache \
 && groupadd --gid 10001 notebook \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /data/home \
      --shell /usr/sbin/nologin notebook \
 && useradd --uid 10002 --gid 10001 --no-create-home --home-dir /tmp/home \
      --shell /usr/sbin/nologin kernels \
 && mkdir -p /data/home /data/notebooks /data/open_notebook /data/jupyter /handoff \
 && chown -R 10001:10001 /data \
 && chmod 0700 /data/open_notebook \
 && chmod 2775 /data/notebooks \
 && chown 10002:10001 /handoff \
 && chmod 0700 /handoff \
 && cp /usr/local/bin/python3.11 /usr/local/bin/python3-kernel \
 && chmod 0111 /usr/local/bin/python3-kernel
COPY jupyter-config/production/jupyter_server_config.py /etc/jupyter/jupyter_server_config.py
COPY jupyter-config/isolated/jupyter_kernel_gateway_config.py /etc/jupyter/jupyter_kernel_gateway_config.py
USER 10001:10001
WORKDIR /data/notebooks
VOLUME ["/data"]
EXPOSE 8888
# /api answers without authentication; Python instead of curl (not installed).
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8888/api', timeout=4).status != 200)"]
ENTRYPOINT ["jupyter", "lab"]
