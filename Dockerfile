FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    REDFLAG_HOST=0.0.0.0 \
    REDFLAG_PORT=8000 \
    REDFLAG_DATABASE_URL=sqlite:////data/redflag-relay.db

RUN useradd --create-home --uid 10001 relay && mkdir /data && chown relay /data
WORKDIR /srv/redflag-relay

# Dependencies in their own layer: it changes only when pyproject.toml does.
COPY pyproject.toml README.md ./
RUN mkdir app && touch app/__init__.py && pip install . && rm -rf app build

COPY app ./app
RUN pip install --no-deps . && rm -rf build

USER relay
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["redflag-relay", "serve"]
