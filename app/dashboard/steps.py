"""The step editor's form: delay with a unit, text, coupon settings and A/B variants.

`state_of_step` fills the form from a saved step, `state_of_form` keeps what the merchant typed
(so a refused form comes back as they left it), and `fields_of` checks it and turns it into the
fields `app.campaigns.editing.update_step` takes, which checks everything again.
"""

from decimal import Decimal, InvalidOperation

from app.campaigns.models import CampaignStep
from app.campaigns.schemas import (
    MAX_DELAY_MINUTES,
    MAX_SEND_WITHIN,
    MAX_VARIANTS,
    MIN_SEND_WITHIN,
)
from app.dashboard.chips import Segment, segments_of
from app.dashboard.forms import Form, plain_number

UNITS = {"minutes": 1, "hours": 60, "days": 24 * 60}
COUPON_MODES = ("none", "fixed", "personal")
DISCOUNT_TYPES = ("percent", "fixed_cart", "fixed_product")
ON_FAILURE = ("hold", "fallback")


def delay_parts(minutes: int) -> tuple[int, str]:
    """1440 → (1, "days"): the largest unit that divides the delay."""
    for unit in ("days", "hours"):
        if minutes and minutes % UNITS[unit] == 0:
            return minutes // UNITS[unit], unit
    return minutes, "minutes"


def _blank_coupon() -> dict:
    return {"mode": "none", "code": "", "discount_type": "percent", "amount": "",
            "expires_days": "3", "on_failure": "hold", "fallback_code": "",
            "minimum_amount": "", "individual_use": True}


def state_of_step(step: CampaignStep) -> dict:
    value, unit = delay_parts(step.delay_minutes)
    within, within_unit = delay_parts(step.send_within_minutes)
    coupon = _blank_coupon()
    saved = step.coupon or {}
    if saved:
        mode = saved.get("mode") or ("fixed" if "code" in saved else "none")
        coupon.update({k: saved[k] for k in coupon if k in saved and saved[k] is not None})
        coupon["mode"] = mode
        coupon["expires_days"] = str(saved.get("expires_days", 3))
    variants = [{"name": v.get("name", ""), "template": v.get("template", ""),
                 "weight": str(v.get("weight", 0))} for v in step.variants or []]
    return {"delay_value": str(value), "delay_unit": unit,
            "within_value": str(within), "within_unit": within_unit, "template": step.template,
            "coupon": coupon, "variants": _with_blank_row(variants)}


def _with_blank_row(variants: list[dict]) -> list[dict]:
    """One empty row to add a variant with (none past the limit)."""
    if len(variants) < MAX_VARIANTS:
        variants = variants + [{"name": "", "template": "", "weight": "50"}]
    return variants


def state_of_form(form: Form) -> dict:
    coupon = {"mode": form.raw("coupon_mode") if form.raw("coupon_mode") in COUPON_MODES
              else "none",
              "code": form.raw("coupon_code").strip(),
              "discount_type": form.raw("discount_type") if form.raw("discount_type")
              in DISCOUNT_TYPES else "percent",
              "amount": form.raw("amount").strip(),
              "expires_days": form.raw("expires_days").strip(),
              "on_failure": form.raw("on_failure") if form.raw("on_failure") in ON_FAILURE
              else "hold",
              "fallback_code": form.raw("fallback_code").strip(),
              "minimum_amount": form.raw("minimum_amount").strip(),
              "individual_use": form.checked("individual_use")}
    names, templates, weights = (form.many("variant_name"), form.many("variant_template"),
                                 form.many("variant_weight"))
    # A tampered form may send ragged columns: the rows stop at the shortest one.
    variants = [{"name": n, "template": t, "weight": w}
                for n, t, w in zip(names, templates, weights, strict=False)][:MAX_VARIANTS]
    return {"delay_value": form.raw("delay_value").strip(),
            "delay_unit": form.raw("delay_unit") if form.raw("delay_unit") in UNITS else "hours",
            "within_value": form.raw("within_value").strip(),
            "within_unit": form.raw("within_unit") if form.raw("within_unit") in UNITS
            else "hours",
            "template": form.raw("template"), "coupon": coupon,
            "variants": _with_blank_row([v for v in variants
                                         if v["name"].strip() or v["template"].strip()])}


def _amount(form: Form, name: str, value: str, *, required: bool) -> str | None:
    text = plain_number(value).replace("٫", ".")
    if not text:
        if required:
            form.add(name, "required")
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        form.add(name, "not_number")
        return None
    if not number.is_finite() or number <= 0:
        form.add(name, "positive")
        return None
    return text


def _code(form: Form, name: str, value: str) -> str | None:
    if not value:
        form.add(name, "required")
        return None
    if len(value) > 50:
        form.add(name, "too_long", max=50)
        return None
    if any(c.isspace() for c in value):
        form.add(name, "code_spaces")
        return None
    return value


def coupon_of(form: Form, coupon: dict) -> dict | None:
    mode = coupon["mode"]
    if mode == "none":
        return None
    if mode == "fixed":
        code = _code(form, "coupon_code", coupon["code"])
        return {"mode": "fixed", "code": code} if code else None
    amount = _amount(form, "amount", coupon["amount"], required=True)
    if amount is not None and coupon["discount_type"] == "percent" and Decimal(amount) > 100:
        form.add("amount", "percent_max")
    days_form = Form({"expires_days": coupon["expires_days"]})
    expires = days_form.integer("expires_days", low=1, high=90)
    form.problems += days_form.problems
    settings = {"mode": "personal", "discount_type": coupon["discount_type"], "amount": amount,
                "expires_days": expires, "on_failure": coupon["on_failure"],
                "individual_use": coupon["individual_use"]}
    if coupon["on_failure"] == "fallback":
        settings["fallback_code"] = _code(form, "fallback_code", coupon["fallback_code"])
    minimum = _amount(form, "minimum_amount", coupon["minimum_amount"], required=False)
    if minimum is not None:
        settings["minimum_amount"] = minimum
    return settings


def fields_of(form: Form, state: dict) -> dict:
    """The step's fields from the editor's state; problems are added to `form`."""
    fields: dict = {}
    delay_form = Form({"delay_value": state["delay_value"]})
    unit = UNITS[state["delay_unit"]]
    value = delay_form.integer("delay_value", low=0, high=MAX_DELAY_MINUTES // unit)
    form.problems += delay_form.problems
    if value is not None:
        fields["delay_minutes"] = value * unit
    within_form = Form({"within_value": state["within_value"]})
    unit = UNITS[state["within_unit"]]
    within = within_form.integer("within_value", low=-(-MIN_SEND_WITHIN // unit),
                                 high=MAX_SEND_WITHIN // unit, required=False)
    form.problems += within_form.problems
    if not within_form.problems:  # left empty: the campaign kind's default
        fields["send_within_minutes"] = None if within is None else within * unit
    # How long a text may be, and what it may say, is the service's to check
    # (app/campaigns/checks.py): refused there, never cut here.
    template = state["template"].strip()
    if not template:
        form.add("template", "required")
    else:
        fields["template"] = template
    fields["coupon"] = coupon_of(form, state["coupon"])
    variants, seen = [], set()
    for i, row in enumerate(v for v in state["variants"]
                            if v["name"].strip() or v["template"].strip()):
        name, text = row["name"].strip(), row["template"].strip()
        where = f"variant_{i}"
        if not name:
            form.add(where, "variant_name_missing")
            continue
        if len(name) > 40:
            form.add(where, "too_long", max=40)
            continue
        if name in seen:
            form.add(where, "variant_name_repeated", name=name)
            continue
        seen.add(name)
        if not text:
            form.add(where, "variant_text_missing", name=name)
            continue
        weight_form = Form({where: row["weight"]})
        weight = weight_form.integer(where, low=0, high=1000)
        form.problems += weight_form.problems
        if weight is not None:
            variants.append({"name": name, "template": text, "weight": weight})
    if variants and sum(v["weight"] for v in variants) == 0:
        form.add("variants", "weights_zero")
    fields["variants"] = variants
    return fields


def chips_of(state: dict) -> dict[str, list[Segment] | None]:
    """Each text of the editor as words and chips, by its preview key; None: it stays a plain
    text box (app/dashboard/chips.py)."""
    found = {"template": segments_of(state["template"])}
    for i, variant in enumerate(state["variants"]):
        found[f"variant_{i}"] = segments_of(variant["template"])
    return found
