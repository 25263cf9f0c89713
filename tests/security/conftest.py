"""The merchant panel's fixtures (a seeded tea shop, a browser-like client)."""

from tests.connection.conftest import shop_at_woo, woo  # noqa: F401, E402
from tests.dashboard.conftest import anonymous, panel, seeded  # noqa: F401
