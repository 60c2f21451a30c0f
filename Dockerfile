# ocpi-oicp-bridge: the gateway on the embedded SQLite store (set BRIDGE_STORE for PostgreSQL).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin bridge

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bridge ./bridge
COPY mappings ./mappings
COPY config ./config
RUN pip install ".[postgres]" && mkdir -p /app/data && chown bridge:bridge /app/data

USER bridge
EXPOSE 8080
VOLUME ["/app/data"]
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/health').status != 200)"
CMD ["ocpi-oicp-bridge", "serve", "--config", "config/bridge.yaml", "--host", "0.0.0.0", "--port", "8080"]
