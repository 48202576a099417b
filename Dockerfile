# Small image, non-root, serving on 0.0.0.0:$PORT (PaaS hosts such as Render set PORT).
# The Python here is the one the package is tested on (tests/ops/test_container.py checks).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml setup.cfg README.md ./
COPY tasktrek ./tasktrek
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
# No database, port or secret variable here: whatever the operator or the platform sets
# (MONGO_URI alone, as a PaaS sets it, selects MongoDB) is never overridden by the image.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TASKTREK_HOST=0.0.0.0
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /data --create-home tasktrek
USER tasktrek
# With nothing set, the embedded default sqlite:///tasktrek.db is relative to the working
# directory: /data/tasktrek.db (and its .secret file) on this volume.
WORKDIR /data
VOLUME ["/data"]
EXPOSE 5000
# Readiness, not mere liveness: unhealthy while the database does not answer.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s CMD ["python", "-m", "tasktrek.healthcheck"]
CMD ["tasktrek"]
