# Superset 6.1 with the Happy Client configuration (pinned like .venv-superset).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SUPERSET_CONFIG_PATH=/app/superset/superset_config.py \
    FLASK_APP="superset.app:create_app()"

RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential libpq-dev chromium chromium-driver \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY superset/requirements.txt superset/constraints-superset.txt superset/
RUN pip install --no-cache-dir -c superset/constraints-superset.txt -r superset/requirements.txt
COPY superset/superset_config.py superset/superset_config.py
COPY docker/superset-init.sh docker/superset-init.sh
EXPOSE 8088
