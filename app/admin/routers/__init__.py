"""The merchant admin API (`/api/v1`), one router per topic; every route needs the store's key."""

from app.admin.routers import activity, campaigns, contacts, preview, store

routers = [store.router, campaigns.router, preview.router, contacts.router, activity.router]
