"""Segments: named groups of a store's contacts, defined by conditions over the store's own data
(purchases, engagement, RFM scores), always without opted-out, promo-blocked and unreachable
contacts."""
