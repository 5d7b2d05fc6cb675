FROM python:3.11-slim
WORKDIR /srv
COPY pyproject.toml requirements.lock README.md ./
COPY app ./app
RUN pip install --no-cache-dir -c requirements.lock .
COPY alembic.ini ./
COPY migrations ./migrations
COPY scripts ./scripts
COPY seeds ./seeds
EXPOSE 8000
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--no-access-log", \
     "--http", "app.server:HttpToolsProtocol"]
