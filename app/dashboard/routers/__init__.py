"""The panel's pages, one router per part of the panel, all under /panel."""

from app.dashboard.routers import (
    activity,
    auth,
    broadcasts,
    campaigns,
    contacts,
    home,
    join,
    people,
    presets,
    reorders,
    retention,
    segments,
    settings,
    static,
)

routers = [static.router, auth.router, join.router, home.router, campaigns.router,
           presets.router, activity.router, contacts.router, settings.router, retention.router,
           reorders.router, people.router, segments.router, broadcasts.router,
           static.fallback]  # last: every other /panel address is the panel's 404 page
