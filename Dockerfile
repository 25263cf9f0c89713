FROM python:3.11-slim
WORKDIR /srv/bazgasht
COPY pyproject.toml alembic.ini ./
COPY app app
COPY workers workers
COPY migrations migrations
COPY templates templates
COPY plugin/bazgasht plugin/bazgasht
RUN pip install --no-cache-dir .
EXPOSE 8000
CMD ["uvicorn", "app.asgi:app", "--host", "0.0.0.0", "--port", "8000"]
