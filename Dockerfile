# syntax=docker/dockerfile:1
# semsearch: CPU-only image with the default model baked in, served by ONNX Runtime without torch. Build:
#   docker build -t semsearch .
# The torch stage installs torch (from TORCH_PIP_ARGS, default: PyTorch's CPU wheel index, before everything
# else so that no dependency can pull a CUDA build) and sentence-transformers, exports the default model to
# ONNX and checks the export against torch. The onnx stage is the runtime: the same package and versions,
# without torch, sentence-transformers or the model's weights (docker/runtime_requirements.py says what is
# left out). To serve with torch (SEMSEARCH_EMBED_BACKEND=torch, or a model that does not export), the torch
# stage is an image of its own, about 1.4 GB larger:
#   docker build --target torch -t semsearch:torch .

# What every image runs with.
FROM python:3.11-slim-bookworm AS base
LABEL org.opencontainers.image.title="semsearch" \
      org.opencontainers.image.description="Semantic search over paragraphs: sentence-transformers, FAISS, SQLite, FastAPI"
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HOME=/tmp \
    SEMSEARCH_DATA_DIR=/data \
    SEMSEARCH_MODEL_CACHE_DIR=/venv/share/semsearch/models \
    SEMSEARCH_HOST=0.0.0.0 \
    SEMSEARCH_PORT=8000
RUN mkdir /data && chown 10001:10001 /data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]
CMD ["semsearch", "serve"]

FROM base AS torch
ARG TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu torch==2.13.0"
# The pin (torch==2.13.0, or a wheel file) is inside TORCH_PIP_ARGS, where hadolint cannot see it.
# hadolint ignore=DL3013
RUN python -m venv /venv && pip install $TORCH_PIP_ARGS
WORKDIR /src
# Dependencies in their own layer: only pyproject.toml decides it, so source edits rebuild from below here.
COPY pyproject.toml README.md ./
COPY docker/runtime_requirements.py ./docker/
RUN mkdir index service && touch index/__init__.py service/__init__.py \
    && pip install . && pip uninstall -y semsearch \
    && python docker/runtime_requirements.py pyproject.toml > /runtime-requirements.txt \
    && python docker/runtime_requirements.py --constraints > /runtime-constraints.txt
COPY docker ./docker
COPY index ./index
COPY service ./service
RUN pip install --no-deps . && python docker/check_image.py build /venv/share/semsearch/models
USER 10001:10001

FROM base AS onnx
RUN python -m venv /venv
COPY --from=torch /runtime-requirements.txt /runtime-constraints.txt /tmp/
RUN pip install -r /tmp/runtime-requirements.txt -c /tmp/runtime-constraints.txt
WORKDIR /src
COPY pyproject.toml README.md ./
COPY docker ./docker
COPY index ./index
COPY service ./service
COPY --from=torch /venv/share/semsearch/models /venv/share/semsearch/models
# pip and setuptools go last: a running service installs nothing.
RUN pip install --no-deps . \
    && python docker/runtime_requirements.py --unused > /tmp/unused.txt \
    && pip uninstall -y -r /tmp/unused.txt \
    && python docker/check_image.py runtime /venv/share/semsearch/models \
    && python -m pip uninstall -y pip setuptools

# The image: the onnx stage's venv, without the build's sources.
FROM base
COPY --from=onnx /venv /venv
USER 10001:10001
