# Small image, non-root, serving on 0.0.0.0:$PORT (PaaS hosts such as Render set PORT).
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml setup.cfg README.md ./
COPY tasktrek ./tasktrek
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.12-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TASKTREK_HOST=0.0.0.0 \
    PORT=5000 \
    TASKTREK_DATABASE_URL=sqlite:////data/tasktrek.db
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /data --create-home tasktrek
USER tasktrek
WORKDIR /data
VOLUME ["/data"]
EXPOSE 5000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import os,urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"TASKTREK_PORT\") or os.environ[\"PORT\"]}/healthz')"
CMD ["tasktrek"]
