"""Worker processes' logging, metrics listener and per-task log context (Celery signals).

Connected when workers/celery_app.py is imported, so `celery -A workers.celery_app worker`
and `beat` get them; the app itself never imports this module.
"""

import logging

from celery import signals

from app.config import get_settings
from app.ops import logs, metrics

log = logging.getLogger(__name__)


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def _configure_logging(**_) -> None:
    """After Celery installed its handlers: LOG_FORMAT on them, redaction for every record."""
    settings = get_settings()
    logs.configure(settings.log_format, settings.log_level)


@signals.worker_init.connect
def _serve_metrics(**_) -> None:
    """In the worker's main process, before the pool starts: /metrics on METRICS_PORT, reading
    the multiprocess directory its prefork children write to."""
    port = get_settings().metrics_port
    if not port:
        return
    if not metrics.multiprocess_dir():
        log.warning("METRICS_PORT without PROMETHEUS_MULTIPROC_DIR: the pool's processes' "
                    "metrics cannot be read from the main process")
    metrics.start_http_server(port)
    log.info("metrics on :%d/metrics", port)


_task_context: dict[str, object] = {}


@signals.task_prerun.connect
def _task_started(task_id=None, **_) -> None:
    cm = logs.log_context(task_id=task_id)
    cm.__enter__()
    _task_context[task_id] = cm


@signals.task_postrun.connect
def _task_finished(task_id=None, **_) -> None:
    cm = _task_context.pop(task_id, None)
    if cm is not None:
        try:
            cm.__exit__(None, None, None)
        except ValueError:  # finished in another context than it started: nothing to undo
            pass
