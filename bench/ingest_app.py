"""The real bazgasht app for bench/ingest.py, built from the DATABASE_URL environment variable.

Deliveries are only received (verified and written), never applied: `background=False`, as the
endpoint's own cost is what the benchmark measures.
"""

import os

from app.config import Settings
from app.main import create_app

# Load from one address: the rate limits would measure themselves (README, Security).
app = create_app(Settings(database_url=os.environ["DATABASE_URL"], rate_limits=False),
                 background=False)
