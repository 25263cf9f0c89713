"""Which WooCommerce orders are purchases: paid and not given back."""

from datetime import datetime, timezone

import pytest

from app.commerce.service import is_purchased

PAID = datetime(2026, 11, 24, 7, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(("status", "paid", "purchase"), [
    ("processing", None, True), ("completed", None, True), ("on-hold", None, True),
    ("pending", None, False), ("pending", PAID, True),  # a gateway that marks it paid first
    # Given back or never taken, whatever date of payment the order still carries:
    ("refunded", PAID, False), ("cancelled", PAID, False), ("failed", PAID, False),
    ("trash", PAID, False), ("checkout-draft", None, False),
])
def test_a_purchase_is_paid_and_not_given_back(status, paid, purchase):
    assert is_purchased(status, paid) is purchase
