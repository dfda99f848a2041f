# One image for every role: `pulse worker` (default), `pulse db upgrade`, `pulse notifier`.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY config config
COPY models models
COPY pipeline pipeline
COPY agents agents
COPY tables tables
COPY sql sql
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 pulse
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER pulse
WORKDIR /home/pulse
ENV PULSE_DATA_DIR=/home/pulse/data PULSE_WEB_BIND=0.0.0.0
EXPOSE 6066
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s \
    CMD python -c "import urllib.request,os; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PULSE_WEB_PORT', '6066'))" || exit 1
ENTRYPOINT ["pulse"]
CMD ["worker"]
