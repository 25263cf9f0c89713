"""The panel's fixtures (tests/dashboard/conftest.py) for the broadcasts pages' tests."""

from tests.dashboard.conftest import anonymous, panel, seeded  # noqa: F401
