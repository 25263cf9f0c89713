"""Reading the panel's numbers (app/dashboard/forms.py): any digits, and the right problem."""

from app.dashboard.forms import Form


def test_a_number_past_the_range_is_out_of_range_however_long():
    form = Form({"amount": "۱۲۳۴۵۶۷۸۹۰۱۲۳۴", "small": "۱۲٬۰۰۰", "word": "ده"})
    assert form.integer("amount", low=1, high=10**13) is None
    assert form.integer("small", low=1, high=10**13) == 12_000
    assert form.integer("word", low=1, high=10) is None
    assert [(p.field, p.code) for p in form.problems] == [("amount", "range"),
                                                           ("word", "not_integer")]
