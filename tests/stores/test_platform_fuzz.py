"""Schemathesis against the live server: every operation of the operator's platform API
(/platform/v1), with data generated from the OpenAPI document (valid and invalid), must answer
without a 5xx and as the document says (status, content type, body schema).

As tests/admin/test_openapi_fuzz.py does for the merchant API: bounded and derandomized, the same
few hundred requests each run, a few seconds per backend. Half the runs use the id of a real
store, so bodies reach the validation and the writes behind a found store instead of stopping at
"not found"; the rest reach the 404s and the bounds of the path id. An answer that refuses
(4xx) must have changed nothing."""

import re

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.models import Base
from tests.conftest import ADMIN_TOKEN
from tests.helpers import live_kavenegar

pytestmark = pytest.mark.fuzz

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
# (generation mode, use the real store's id, examples per operation)
RUNS = [(GenerationMode.POSITIVE, True, 15), (GenerationMode.NEGATIVE, True, 8),
        (GenerationMode.POSITIVE, False, 5), (GenerationMode.NEGATIVE, False, 4)]
# What the platform API writes: stores, their default campaigns, the ledger, held messages.
WRITTEN = ("stores", "campaigns", "campaign_steps", "ledger_entries", "messages")


def database_state(factory) -> dict:
    with factory() as session:
        return {name: session.execute(sa.select(Base.metadata.tables[name])
                                      .order_by(sa.text("id"))).all() for name in WRITTEN}


@pytest.fixture
def loopback_kavenegar(live_server):
    """A PUT may switch the store to Kavenegar with any key: the gateway check then asks a fake
    on loopback, never the internet."""
    with live_kavenegar(live_server, "fuzz-key") as fake:
        yield fake


def test_the_platform_api_survives_generated_requests(live_server, store, admin_client,
                                                       factory, loopback_kavenegar):
    schema = schemathesis.openapi.from_dict(live_server.app.openapi()).include(tag="platform")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    ids = {"store_id": store.id}
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    calls = 0

    for operation in operations:
        names = re.findall(r"{(\w+)}", operation.path)
        for mode, real, examples in RUNS:
            fixed = {name: ids[name] for name in names if real and name in ids} or None

            @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed))
            def call(case):
                nonlocal calls
                before = database_state(factory)
                response = case.call(base_url=live_server.url, headers=headers)
                calls += 1
                case.validate_response(response, checks=CHECKS)
                if response.status_code >= 400:
                    assert database_state(factory) == before, (
                        f"{case.method} {case.formatted_path} answered "
                        f"{response.status_code} but changed the database")

            call()
    assert calls >= len(operations) * 15
    # The real store is still there, and still answers.
    assert admin_client.get(f"/platform/v1/stores/{store.id}").status_code == 200


def test_store_ids_no_column_holds_are_refused_not_a_server_error(live_server, admin_client):
    """Found by the fuzz: the gateway check sent any integer to PostgreSQL (integer out of
    range: 500). Every platform path takes the same bounded store id."""
    paths = [(method.upper(), path) for path, item in live_server.app.openapi()["paths"].items()
             if path.startswith("/platform/v1/stores/{store_id}") for method in item]
    assert len(paths) >= 9
    for method, path in paths:
        for store_id in (0, -1, 2**31, 2**63, 10**30):
            response = admin_client.request(method, path.format(store_id=store_id))
            assert response.status_code == 422, (method, path, store_id, response.text)
            assert response.json()["error"]["code"] == "invalid_request"
