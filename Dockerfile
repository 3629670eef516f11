# syntax=docker/dockerfile:1
# semsearch: CPU-only image with the default model baked in. Build:
#   docker build -t semsearch .
# torch comes from TORCH_PIP_ARGS (default: PyTorch's CPU wheel index), installed before everything else so
# that no dependency can pull a CUDA build.

FROM python:3.11-slim-bookworm AS build
ARG TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu torch==2.13.0"
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /venv
ENV PATH=/venv/bin:$PATH
# The pin (torch==2.13.0, or a wheel file) is inside TORCH_PIP_ARGS, where hadolint cannot see it.
# hadolint ignore=DL3013
RUN pip install $TORCH_PIP_ARGS
WORKDIR /src
# Dependencies in their own layer: only pyproject.toml decides it, so source edits rebuild from below here.
COPY pyproject.toml README.md ./
RUN mkdir index service && touch index/__init__.py service/__init__.py \
    && pip install . && pip uninstall -y semsearch
COPY index ./index
COPY service ./service
COPY docker/check_image.py /tmp/check_image.py
RUN pip install --no-deps . && python /tmp/check_image.py /venv/share/semsearch/models

FROM python:3.11-slim-bookworm
LABEL org.opencontainers.image.title="semsearch" \
      org.opencontainers.image.description="Semantic search over paragraphs: sentence-transformers, FAISS, SQLite, FastAPI"
COPY --from=build /venv /venv
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HOME=/tmp \
    SEMSEARCH_DATA_DIR=/data \
    SEMSEARCH_MODEL_CACHE_DIR=/venv/share/semsearch/models \
    SEMSEARCH_HOST=0.0.0.0 \
    SEMSEARCH_PORT=8000
RUN mkdir /data && chown 10001:10001 /data
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]
CMD ["semsearch", "serve"]
