"""The merchant panel's fixtures (a seeded tea shop, a browser-like client)."""

from tests.dashboard.conftest import anonymous, panel, seeded  # noqa: F401
