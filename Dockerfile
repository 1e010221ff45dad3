# One image for every rfidwms process: `rfidwms cloud`, `rfidwms edge`, `rfidwms sim`.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY rfidwms ./rfidwms
COPY protocols ./protocols
COPY edge ./edge
COPY cloud ./cloud
COPY firmware_sim ./firmware_sim
COPY dashboards ./dashboards
RUN pip install . && useradd --system --create-home rfidwms && mkdir -p /data && chown rfidwms /data
USER rfidwms
WORKDIR /data
CMD ["rfidwms", "--help"]
