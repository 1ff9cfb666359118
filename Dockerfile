# Vigil: the console's front-end bundle (npm) and the Python package, in one image.
# Build: docker compose build   (or: docker build -t vigil:0.1.0 .)

# ---- front-end packages bundled into agent_web/static/vendor
FROM node:22.12.0-bookworm-slim AS static
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY agent_web/ agent_web/
RUN node agent_web/build_static.mjs

# ---- the Python package and its dependencies
FROM python:3.11.11-slim-bookworm AS vigil
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# uid/gid 1000 = the asterisk user of the Asterisk image: recordings, the alarm spool and the
# generated Asterisk includes are shared through volumes with both containers.
RUN groupadd --gid 1000 vigil \
    && useradd --uid 1000 --gid 1000 --groups dialout --create-home --home-dir /home/vigil vigil \
    && mkdir -p /var/spool/asterisk/monitor /var/spool/asterisk/alarm /var/log/asterisk \
       /etc/asterisk/vigil-generated /srv/vigil \
    && chown -R vigil:vigil /var/spool/asterisk /var/log/asterisk /etc/asterisk/vigil-generated \
       /srv/vigil
WORKDIR /opt/vigil
COPY pyproject.toml README.md alembic.ini ./
COPY core/ core/
COPY crm/ crm/
COPY receivers/ receivers/
COPY alarms/ alarms/
COPY cti/ cti/
COPY ivr/ ivr/
COPY agent_web/ agent_web/
COPY pbxsim/ pbxsim/
COPY vigil/ vigil/
COPY --from=static /src/agent_web/static/vendor/ agent_web/static/vendor/
RUN pip install . && python -c "import vigil.cli, agent_web.app"
USER vigil
WORKDIR /srv/vigil
# console (HTTP), FastAGI (Asterisk connects to it), SIA DC-09 (TCP and UDP)
EXPOSE 8000 4573 12000/tcp 12000/udp
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["vigil", "serve", "--role", "all"]
