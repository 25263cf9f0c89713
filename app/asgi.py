"""ASGI entry point for uvicorn in production: `uvicorn app.asgi:app`."""

from app.config import get_settings
from app.main import create_app
from app.ops.logs import configure as configure_logging

# After uvicorn set up its loggers, before the first line: LOG_FORMAT, redaction (app/ops/logs).
configure_logging(get_settings().log_format, get_settings().log_level)
app = create_app()
