"""One digit-folding helper for every input, one for every number a person reads."""

from app.digits import latin_digits, persian_digits


def test_persian_and_arabic_indic_digits_read_as_latin():
    assert latin_digits("۰۹۱۲ ٣٤٥ 6789") == "0912 345 6789"
    assert latin_digits("سبد ۲") == "سبد 2"  # letters stay as they are


def test_numbers_are_shown_in_persian_digits():
    assert persian_digits(1405) == "۱۴۰۵"
    assert persian_digits("09/02") == "۰۹/۰۲"
