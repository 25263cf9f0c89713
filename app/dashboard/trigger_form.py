"""The panel's form for a campaign's trigger_params, one set of fields per trigger that has
them: order_status's status (one of WooCommerce's, or a custom one typed), product_bought's
products and categories, survey_answered's rating range, reorder_due's days before. Read into
the dict app/campaigns/schemas.trigger_params checks (which, with editing.update_campaign, has
the last word), each problem next to its field. The fields are named apart from the
conditions form's, which shares the page (and its list of problems)."""

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from app.campaigns.models import ORDER_STATUS, PRODUCT_BOUGHT, REORDER_DUE, SURVEY_ANSWERED
from app.campaigns.schemas import (
    MAX_CONDITION_IDS,
    MAX_DAYS_BEFORE,
    InvalidTriggerParams,
    StatusSlug,
    trigger_params,
)
from app.dashboard import automation_form
from app.dashboard.automation_form import Named
from app.dashboard.forms import Form
from app.dashboard.segment_form import read_ids
from app.digits import latin_digits, persian_digits
from app.stores.models import Store

# WooCommerce's own statuses an order can reach and stay in for a tick, as the select offers
# them (their Persian labels: templates/dashboard/_labels.html ORDER_STATUS). Trash and
# checkout-draft are left out: a trashed order is deleted here, a draft is no signal.
STATUS_CHOICES = ("processing", "completed", "on-hold", "pending", "failed", "cancelled",
                  "refunded")
CUSTOM = "custom"  # the select's «another status», typed in status_custom
RATINGS = (1, 2, 3, 4, 5)  # a survey's stars (app/segments/schemas.py Rating)
# Form field → the param it fills.
IDS = {"trigger_products": "products", "trigger_categories": "categories"}
RATING_FIELDS = ("rating_min", "rating_max")
FIELDS = ("status", "status_custom", *IDS, *RATING_FIELDS, "days_before")
EDITABLE = frozenset({ORDER_STATUS, PRODUCT_BOUGHT, SURVEY_ANSWERED, REORDER_DUE})

_SLUG = TypeAdapter(StatusSlug)


def _status(form: Form) -> dict:
    chosen = form.raw("status")
    field = "status_custom" if chosen == CUSTOM else "status"
    try:
        return {"status": _SLUG.validate_python(form.raw(field))}
    except ValidationError as exc:
        error = exc.errors()[0]
        if error["type"] == "string_too_short":
            form.add(field, "required")
        elif error["type"] == "string_too_long":
            form.add(field, "too_long", max=error.get("ctx", {}).get("max_length"))
        else:  # Persian letters, spaces, other signs
            form.add(field, "status_invalid")
        return {}


def _products(form: Form) -> dict:
    data = {name: found for field, name in IDS.items()
            if (found := read_ids(form, field, most=MAX_CONDITION_IDS))}
    if form.ok and not data:
        form.add("trigger_products", "ids_none")
    return data


def _ratings(form: Form) -> dict:
    low = form.integer("rating_min", low=RATINGS[0], high=RATINGS[-1])
    high = form.integer("rating_max", low=RATINGS[0], high=RATINGS[-1])
    if low is not None and high is not None and low > high:
        form.add("rating_max", "rating_order")
    return {"rating_min": low, "rating_max": high}


def _days(form: Form) -> dict:
    return {"days_before": form.integer("days_before", low=0, high=MAX_DAYS_BEFORE)}


_READERS = {ORDER_STATUS: _status, PRODUCT_BOUGHT: _products, SURVEY_ANSWERED: _ratings,
            REORDER_DUE: _days}


def read_params(form: Form, trigger: str) -> dict | None:
    """The trigger's params the form describes, or None with the problems added to `form`."""
    data = _READERS[trigger](form)
    if not form.ok:
        return None
    try:
        return trigger_params(trigger, data)
    except InvalidTriggerParams as exc:  # the form's own checks should have said it already
        form.add("trigger_params", "not_accepted", detail=str(exc))
        return None


def values_of(trigger: str, params: dict) -> dict[str, str]:
    """Saved params as the form shows them (Persian digits); every field, empty when unused."""
    values = dict.fromkeys(FIELDS, "")
    if trigger == ORDER_STATUS:
        status = params.get("status", "")
        values["status"] = status if status in STATUS_CHOICES else CUSTOM
        values["status_custom"] = "" if status in STATUS_CHOICES else status
    for field, name in IDS.items():
        values[field] = persian_digits("، ".join(map(str, params.get(name) or [])))
    for name in RATING_FIELDS:  # the select's values
        if params.get(name) is not None:
            values[name] = str(params[name])
    if params.get("days_before") is not None:
        values["days_before"] = persian_digits(params["days_before"])
    return values


def typed_values(form: Form) -> dict[str, str]:
    """What the merchant typed, shown again beside the problems (a rating as the select's
    value)."""
    return {name: latin_digits(form.raw(name)).strip() if name in RATING_FIELDS
            else form.raw(name)[:400] for name in FIELDS}


def names_of(session: Session, store: Store, values: dict[str, str]) -> dict[str, list[Named]]:
    """Each id the products and categories fields hold, with its name where the store's
    products brought it (another store's products never name one)."""
    found = automation_form.names_of(session, store, {name: values.get(field, "")
                                                      for field, name in IDS.items()})
    return {field: found[name] for field, name in IDS.items()}
