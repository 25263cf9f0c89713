"""This store's broadcast named in the path, or 404."""

from typing import Annotated

from fastapi import Depends

from app.broadcasts.models import Broadcast
from app.broadcasts.service import broadcast_of_store
from app.deps import PathId, SessionDep, StoreDep


def store_broadcast(broadcast_id: PathId, store: StoreDep, session: SessionDep) -> Broadcast:
    return broadcast_of_store(session, store_id=store.id, broadcast_id=broadcast_id)


BroadcastDep = Annotated[Broadcast, Depends(store_broadcast)]
