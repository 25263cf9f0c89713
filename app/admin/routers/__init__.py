"""The merchant admin API (`/api/v1`), one router per topic; every route needs the store's key.
The campaigns' own router is app/campaigns/router.py."""
