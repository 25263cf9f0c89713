import dataclasses

import pytest

from app.contacts import phones
from app.contacts.phones import InvalidPhone, Phone, normalize_phone

CANONICAL = "+989123456789"

IRAN_FORMS = [
    "09123456789",
    "9123456789",
    "+989123456789",
    "00989123456789",
    "989123456789",
    "+9809123456789",  # a 0 kept after the country code is a common slip
]

PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")

INVISIBLE_MARKS = [
    "\u200e",  # LRM
    "\u200f",  # RLM
    "\u061c",  # Arabic letter mark
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u200c",  # ZWNJ
    "\u200d",  # ZWJ
    "\ufeff",  # BOM
    "\u00a0",  # NBSP
]


def _reason(raw, **kwargs):
    with pytest.raises(InvalidPhone) as exc_info:
        normalize_phone(raw, **kwargs)
    return exc_info.value.reason


@pytest.mark.parametrize("raw", IRAN_FORMS)
def test_every_iranian_form_normalizes_to_e164(raw):
    assert normalize_phone(raw) == Phone(e164=CANONICAL, unverified_prefix=False)


@pytest.mark.parametrize("raw", IRAN_FORMS)
@pytest.mark.parametrize("digits", [PERSIAN, ARABIC_INDIC], ids=["persian", "arabic-indic"])
def test_every_form_in_every_digit_system(raw, digits):
    assert normalize_phone(raw.translate(digits)).e164 == CANONICAL


def test_real_capture_persian_digits():
    assert normalize_phone("۰۹۱۲۳۴۵۶۷۸۹") == Phone(e164="+989123456789", unverified_prefix=False)


def test_mixed_digit_systems():
    assert normalize_phone("۰۹١٢3۴۵٦7۸9").e164 == CANONICAL


@pytest.mark.parametrize(
    "raw",
    [
        "0912 345 6789",
        "0912-345-6789",
        "0912.345.67.89",
        "(0912) 345 6789",
        "+98 (912) 345-6789",
        "0098 912 345 6789",
        " 0912\u00a0345\u00a06789 ",
        "0912\u2013345\u20136789",  # en dash from word processors
        "۰۹۱۲ - ۳۴۵ - ۶۷۸۹",
    ],
)
def test_separators_are_ignored(raw):
    assert normalize_phone(raw).e164 == CANONICAL


@pytest.mark.parametrize("mark", INVISIBLE_MARKS, ids=lambda m: f"U+{ord(m):04X}")
def test_invisible_marks_are_stripped(mark):
    assert normalize_phone(f"{mark}+98{mark}912{mark}345{mark}6789{mark}").e164 == CANONICAL


def test_rtl_paste_with_persian_digits_and_marks():
    assert normalize_phone("\u202b\u200f۰۹۱۲\u200c۳۴۵\u200c۶۷۸۹\u200f\u202c").e164 == CANONICAL


@pytest.mark.parametrize(
    "raw", ["09011234567", "09211234567", "09331234567", "09901234567", "09981234567"]
)
def test_known_prefixes_are_verified(raw):
    phone = normalize_phone(raw)
    assert phone.e164 == "+98" + raw[1:]
    assert phone.unverified_prefix is False


# phonenumbers 9.0.43 rejects these prefixes; 0941 is in use (Irancell data lines).
@pytest.mark.parametrize("prefix", ["0941", "0995", "0970", "0971", "0980"])
@pytest.mark.parametrize(
    "form",
    [
        lambda n: n,
        lambda n: n[1:],
        lambda n: "+98" + n[1:],
        lambda n: "0098" + n[1:],
        lambda n: "98" + n[1:],
        lambda n: n.translate(PERSIAN),
        lambda n: "\u200f" + n[:4] + " " + n[4:].translate(ARABIC_INDIC),
    ],
    ids=["national", "no-zero", "plus", "idd", "bare-cc", "persian", "arabic-marks"],
)
def test_unknown_iranian_mobile_prefix_is_kept_unverified(prefix, form):
    number = prefix + "1234567"
    assert not phonenumbers_knows(number), "library learned this prefix; pick another"
    assert normalize_phone(form(number)) == Phone(e164="+98" + number[1:], unverified_prefix=True)


def phonenumbers_knows(national):
    import phonenumbers

    parsed = phonenumbers.parse(national, "IR")
    return phonenumbers.is_valid_number(parsed) and phonenumbers.number_type(parsed) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


def test_09_number_the_library_files_as_fixed_line_is_kept_unverified():
    # phonenumbers 9.0.43 classifies parts of 094x as fixed wireless, but 09… lines
    # are mobile-operator lines that can receive SMS.
    assert normalize_phone("09412345678") == Phone(e164="+989412345678", unverified_prefix=True)


@pytest.mark.parametrize(
    "raw",
    [
        "02188776655",
        "021-8877-6655",
        "+982188776655",
        "00982188776655",
        "۰۲۱۸۸۷۷۶۶۵۵",
        "(۰۲۱) ۸۸۷۷ ۶۶۵۵",
        "03132223344",  # Isfahan
        "+442071838750",  # London landline
    ],
)
def test_landlines_are_rejected(raw):
    assert _reason(raw) == "not a mobile number"


@pytest.mark.parametrize(
    "raw, e164",
    [
        ("+447911123456", "+447911123456"),
        ("00447911123456", "+447911123456"),
        ("+44 7911 123456", "+447911123456"),
        ("+1 202-555-0123", "+12025550123"),  # FIXED_LINE_OR_MOBILE
        ("+۴۴۷۹۱۱۱۲۳۴۵۶", "+447911123456"),
    ],
)
def test_international_mobiles_with_explicit_prefix(raw, e164):
    assert normalize_phone(raw) == Phone(e164=e164, unverified_prefix=False)


def test_international_number_without_prefix_is_read_as_iranian_and_rejected():
    assert _reason("447911123456") == "too long"


def test_region_applies_to_numbers_without_prefix():
    assert normalize_phone("07911 123456", region="GB").e164 == "+447911123456"


def test_unverified_fallback_is_only_for_iran():
    assert _reason("09411234567", region="GB") == "not a valid number"


@pytest.mark.parametrize("raw", [None, "", "   ", "\u200e\u200f", "\u00a0\ufeff", "--", "()"])
def test_empty_is_rejected(raw):
    assert _reason(raw) == "empty"


@pytest.mark.parametrize(
    "raw",
    [
        "abc",
        "0912abc4567",
        "customer@example.com",
        "شماره ندارم",
        "+",
        "0912+3456789",
        "09123456789#",
        "۰۹۱۲x۳۴۵۶۷۸۹",
        12345,
    ],
)
def test_garbage_is_rejected(raw):
    assert _reason(raw) == "not a phone number"


@pytest.mark.parametrize("raw", ["0", "12", "+98", "+98912", "0912345", "۰۹۱۲۳۴۵", "0098"])
def test_too_short_is_rejected(raw):
    assert _reason(raw) == "too short"


@pytest.mark.parametrize("raw", ["091234567890", "+9891234567890", "0" * 30, "0912 " * 20])
def test_too_long_is_rejected(raw):
    assert _reason(raw) == "too long"


def test_unknown_country_code():
    assert _reason("+999123456789") == "unknown country code"


def test_invalid_phone_is_a_value_error_carrying_its_reason():
    with pytest.raises(ValueError) as exc_info:
        normalize_phone("02188776655")
    assert isinstance(exc_info.value, InvalidPhone)
    assert str(exc_info.value) == exc_info.value.reason == "not a mobile number"


def test_phone_is_frozen():
    phone = normalize_phone("09123456789")
    with pytest.raises(dataclasses.FrozenInstanceError):
        phone.e164 = "+989000000000"  # type: ignore[misc]


def test_spellings_of_one_number_share_a_cache_entry():
    phones._normalize_cleaned.cache_clear()
    normalize_phone("0912 345 6789")
    normalize_phone("۰۹۱۲-۳۴۵-۶۷۸۹")
    normalize_phone("\u200f0912.345.6789")
    info = phones._normalize_cleaned.cache_info()
    assert (info.misses, info.hits) == (1, 2)


def test_cached_rejection_still_raises_every_time():
    phones._normalize_cleaned.cache_clear()
    for _ in range(3):
        assert _reason("02188776655") == "not a mobile number"
    assert phones._normalize_cleaned.cache_info().hits == 2


@pytest.mark.parametrize("stored", ["+989121234567", "+989901234567", "+989441234567",
                                    "+982188776655", "+98912123456", "+9891212345678",
                                    "09121234567", "+447700900123", "+15555550100", ""])
def test_is_mobile_e164_says_what_normalizing_it_would(stored):
    """The segments' quick check of stored phones agrees with the full rule."""
    try:
        expected = normalize_phone(stored).e164 == stored
    except InvalidPhone:
        expected = False
    assert phones.is_mobile_e164(stored) is expected
    assert phones.is_mobile_e164(stored) is (stored in ("+989121234567", "+989901234567",
                                                        "+989441234567"))
