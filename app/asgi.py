"""ASGI entry point for uvicorn in production: `uvicorn app.asgi:app`."""

from app.main import create_app

app = create_app()
