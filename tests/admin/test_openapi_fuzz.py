"""Schemathesis against the live server: every admin operation, with data generated from the
OpenAPI document (valid and invalid), must answer without a 5xx and as the document says.

Bounded and derandomized: the same few hundred requests each run, a few seconds per backend.
Real ids of the store are fed to half the runs, so bodies reach the validation behind a found
campaign, step or contact instead of stopping at "not found"."""

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.helpers import bearer, live_kavenegar

pytestmark = pytest.mark.fuzz

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
# (generation mode, use the store's real ids, examples per operation)
RUNS = [(GenerationMode.POSITIVE, True, 12), (GenerationMode.NEGATIVE, True, 6),
        (GenerationMode.POSITIVE, False, 3)]


@pytest.fixture
def loopback_kavenegar(live_server):
    """A PATCH may switch the store to Kavenegar with any key: test sends then reach a fake on
    loopback, never the internet."""
    with live_kavenegar(live_server, "fuzz-key") as fake:
        yield fake


def _real_ids(api) -> dict[str, int]:
    campaign = api.get("/api/v1/campaigns").json()["items"][0]
    contact = api.post("/api/v1/contacts/opt-out", json={"phone": "09121112233"}).json()
    segment = api.post("/api/v1/segments", json={"name": "همه"}).json()
    return {"campaign_id": campaign["id"], "step_id": campaign["steps"][0]["id"],
            "contact_id": contact["id"], "segment_id": segment["id"]}


def test_the_admin_api_survives_generated_requests(live_server, store, api, loopback_kavenegar):
    schema = (schemathesis.openapi.from_dict(live_server.app.openapi())
              .include(tag_regex=r"^admin: ")
              # A new key would leave every later request unauthorized; it has its own tests.
              .exclude(path="/api/v1/store/api-key"))
    operations = [result.ok() for result in schema.get_all_operations()]
    # Deletions last: until then the real ids stay found.
    operations.sort(key=lambda op: op.method.upper() == "DELETE")
    assert len(operations) >= 20
    ids = _real_ids(api)
    headers = bearer(store)
    calls = 0

    for operation in operations:
        # The run is a few hundred requests a minute, past the merchant API's rate limit: each
        # operation starts with a fresh count, so every answer is the operation's own.
        live_server.app.state.limiter.reset()
        names = re.findall(r"{(\w+)}", operation.path)
        for mode, real, examples in RUNS:
            fixed = {name: ids[name] for name in names if real and name in ids} or None

            @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed))
            def call(case):
                nonlocal calls
                response = case.call(base_url=live_server.url, headers=headers)
                calls += 1
                case.validate_response(response, checks=CHECKS)

            call()
    assert calls >= len(operations) * 10
