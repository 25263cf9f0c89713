"""Celery app, beat schedule and tasks: thin wrappers that call app services."""
