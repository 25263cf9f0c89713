"""Each store sees only its own reports; wrong keys, campaigns and dates get clear errors."""

import pytest

from tests.reports.conftest import NOVEMBER, headers

ENDPOINTS = ["/api/v1/reports/summary", "/api/v1/reports/timeseries", "/api/v1/reports/ab-tests",
             "/api/v1/reports/messages.csv", "/api/v1/reports/orders.csv"]


def test_the_other_store_sees_only_its_own(client, seeded):
    body = client.get("/api/v1/reports/summary", params=NOVEMBER,
                      headers=headers(seeded.other)).json()
    totals = body["totals"]
    assert (totals["sent"], totals["cost"], totals["clicks"], totals["orders"], totals["revenue"],
            totals["opt_outs"], totals["survey_answers"]) == (1, 9999, 1, 1, 99_000_000, 1, 1)
    assert [c["comment"] for c in body["surveys"]["latest_comments"]] == ["از فروشگاه دیگر"]
    mine = client.get("/api/v1/reports/summary", params=NOVEMBER,
                      headers=headers(seeded.store)).json()
    assert mine["totals"]["revenue"] == 11_500_000
    assert "9001" not in client.get("/api/v1/reports/orders.csv", params=NOVEMBER,
                                    headers=headers(seeded.store)).text


@pytest.mark.parametrize("path", [
    "/api/v1/reports/campaigns/{id}", "/api/v1/reports/timeseries?campaign_id={id}",
    "/api/v1/reports/ab-tests?campaign_id={id}", "/api/v1/reports/messages.csv?campaign_id={id}",
    "/api/v1/reports/orders.csv?campaign_id={id}"])
def test_another_stores_campaign_is_not_found(client, seeded, path):
    response = client.get(path.format(id=seeded.other_campaign_id), headers=headers(seeded.store))
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "campaign_not_found",
                                         "message": f"no campaign with id {seeded.other_campaign_id}"}}
    missing = client.get(path.format(id=999_999), headers=headers(seeded.store))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "campaign_not_found"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_store_key_is_required(client, seeded, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_api_key"
    response = client.get(path, headers={"Authorization": "Bearer bz_not-a-key"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


@pytest.mark.parametrize("params, code, says", [
    ({"from": "2026-13-01"}, "invalid_date", "from: '2026-13-01' is not a date"),
    ({"to": "yesterday"}, "invalid_date", "to: 'yesterday' is not a date"),
    ({"from": "1405/12/31"}, "invalid_date", "is not a date"),  # 1405 has no Esfand 31
    ({"from": "2026-11-30", "to": "2026-11-01"}, "invalid_range", "is after to"),
    ({"from": "2025-01-01", "to": "2026-11-01"}, "invalid_range", "at most 366 days"),
    ({"from": "9999-12-31"}, "invalid_date", "out of range"),
    ({"from": "0001/01/01"}, "invalid_date", "out of range"),
])
@pytest.mark.parametrize("path", ENDPOINTS)
def test_bad_dates_are_422_with_a_reason(client, seeded, path, params, code, says):
    response = client.get(path, params=params, headers=headers(seeded.store))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == code and says in error["message"]


def test_a_malformed_campaign_id_is_422(client, seeded):
    for value in ("abc", "0", str(2**31), "9" * 30):
        response = client.get("/api/v1/reports/timeseries", params={"campaign_id": value},
                              headers=headers(seeded.store))
        assert response.status_code == 422, value
        assert response.json()["error"]["code"] == "invalid_request"
    response = client.get(f"/api/v1/reports/campaigns/{2**63}", headers=headers(seeded.store))
    assert response.status_code == 422
    response = client.get("/api/v1/reports/messages.csv", params={"phones": "some"},
                          headers=headers(seeded.store))
    assert response.status_code == 422


def test_only_from_or_only_to(client, seeded):
    body = client.get("/api/v1/reports/summary", params={"to": "2026-11-30"},
                      headers=headers(seeded.store)).json()
    assert (body["range"]["from"], body["range"]["to"]) == ("2026-11-01", "2026-11-30")
    assert body["totals"]["sent"] == 9
    body = client.get("/api/v1/reports/timeseries", params={"from": "2999-01-01"},
                      headers=headers(seeded.store)).json()
    assert (body["range"]["from"], body["range"]["to"]) == ("2999-01-01", "2999-01-01")


def test_the_reports_are_in_the_openapi_document(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in ENDPOINTS + ["/api/v1/reports/campaigns/{campaign_id}"]:
        assert "get" in paths[path]
    params = {p["name"] for p in paths["/api/v1/reports/summary"]["get"]["parameters"]}
    assert params == {"from", "to"}
