"""One digit-folding helper for every input, one for every number a person reads."""

from app.digits import latin_digits, persian_digits, persian_number


def test_persian_and_arabic_indic_digits_read_as_latin():
    assert latin_digits("۰۹۱۲ ٣٤٥ 6789") == "0912 345 6789"
    assert latin_digits("سبد ۲") == "سبد 2"  # letters stay as they are


def test_numbers_are_shown_in_persian_digits():
    assert persian_digits(1405) == "۱۴۰۵"
    assert persian_digits("09/02") == "۰۹/۰۲"


def test_numbers_have_persian_separators_never_latin_ones():
    assert persian_number(1234567) == "۱٬۲۳۴٬۵۶۷"
    assert persian_number(1234.56, 1) == "۱٬۲۳۴٫۶"
    assert persian_number(0.5, 1) == "۰٫۵"
    assert persian_number(2.5) == "۲"  # no decimals asked: rounded (to even, as Python does)
    assert persian_number(-12000) == "-۱۲٬۰۰۰"
