"""This store's segment named in the path, or 404."""

from typing import Annotated

from fastapi import Depends

from app.deps import PathId, SessionDep, StoreDep
from app.segments.models import Segment
from app.segments.service import segment_of_store


def store_segment(segment_id: PathId, store: StoreDep, session: SessionDep) -> Segment:
    return segment_of_store(session, store_id=store.id, segment_id=segment_id)


SegmentDep = Annotated[Segment, Depends(store_segment)]
