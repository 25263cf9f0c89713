"""The real bazgasht app for bench/redirect.py, built from the DATABASE_URL environment variable.

`background=False`: no scheduler or ingest loops in the process, as in bench/ingest_app.py. The
click recorder still runs (the lifespan starts it, and flushes it on a graceful stop): writing
the clicks is part of what a redirect costs.
"""

import os

from app.config import Settings
from app.main import create_app

# Load from one address: the rate limits would measure themselves (README, Security).
app = create_app(Settings(database_url=os.environ["DATABASE_URL"], rate_limits=False),
                 background=False)
