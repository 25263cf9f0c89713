"""Merchant reports: what campaigns sent, cost and brought back. Read-only."""
