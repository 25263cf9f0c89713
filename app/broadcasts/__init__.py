"""Broadcasts: one SMS to a segment, scheduled for a time, sent through the campaign engine."""
