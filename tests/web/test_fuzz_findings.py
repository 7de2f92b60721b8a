"""Bugs the fuzzers found, kept as regression tests now that they are fixed.

Each FIXME(lead) names the failing input, where it breaks and the suggested one-place fix; the
matching filter that keeps the property tests in test_fuzz_inputs.py green is marked the same way.
"""

from __future__ import annotations

import pytest

from tests.web.conftest import NET1, upload


# Found by fuzzing (fixed): audit_query.parse_cursor accepts any integer; past 2**63-1 SQLite raises OverflowError binding it
# (500). Refuse cursors outside 0..2**63-1 with the 422, then drop the xfail and the bound in test_fuzz_inputs.CURSORS.
def test_audit_cursor_beyond_bigint_is_not_a_500(owner):
    resp = owner["client"].get("/api/tenant/audit-logs", query_string={"cursor": str(2**63)}, headers=owner["headers"])
    assert resp.status_code in (200, 422), resp.status_code  # PostgreSQL compares it fine: an empty page


# Found by fuzzing: json.loads raises RecursionError for nesting deeper than the recursion limit, which Flask's
# get_json(silent=True) did not catch (500 everywhere). Fixed in hydronet/jsonio.py (SafeJSONProvider).
@pytest.mark.parametrize("url", ["/api/auth/login", "/api/auth/refresh", "/api/chat/conversations"])
def test_deeply_nested_json_is_a_clean_400(owner, url):
    body = "[" * 5000 + "]" * 5000
    resp = owner["client"].post(url, data=body, content_type="application/json", headers=owner["headers"])
    if url == "/api/auth/refresh":  # an unreadable body means "no refresh token in the body": the header is used
        assert resp.status_code == 401 and resp.get_json()["success"] is False
    else:
        assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "malformed_json"


NUL_REQUESTS = [
    ("GET", "/api/chat/conversations?q=a%00b", None),
    ("GET", "/api/tenant/audit-logs?action=a%00b", None),
    ("POST", "/api/chat/conversations", {"title": "a\x00b"}),
    ("PATCH", "/api/tenant", {"name": "a\x00b"}),
    ("POST", "/api/auth/login", {"email": "a\x00b@example.com", "password": "x"}),
]


# Found by fuzzing (fixed): psycopg2 refuses strings containing U+0000 ("A string literal cannot contain NUL (0x00)
# characters", ValueError) and every query or write carrying one answers 500 on PostgreSQL — search filters
# (?q, ?action, ?status on /api/admin/tenants and /api/admin/users), names, titles, even the login email.
# Refuse NUL in one place (validation.json_body and the query-string check in web/http.py) with a 422.
@pytest.mark.parametrize(("method", "url", "body"), NUL_REQUESTS, ids=[f"{m} {u}" for m, u, _ in NUL_REQUESTS])
def test_nul_characters_are_refused_cleanly(owner, method, url, body):
    resp = owner["client"].open(url, method=method, json=body, headers=owner["headers"])
    assert resp.status_code < 500, resp.status_code


# Found by fuzzing (fixed): a cursor holding U+0000 was refused with fields {"query": …}, not naming the
# parameter, so a client could not tell which of its query parameters was wrong.
def test_a_nul_in_a_query_parameter_names_that_parameter(owner):
    resp = owner["client"].get(
        "/api/chat/conversations", query_string={"cursor": "a\x00b", "limit": "5"}, headers=owner["headers"]
    )
    assert resp.status_code == 422
    assert resp.get_json()["error"]["fields"] == {"cursor": "contains a NUL character"}


# Found by fuzzing (fixed): a JSON string escape of a lone surrogate ("\ud800") decodes to a str that cannot be encoded as
# UTF-8; SQLite and psycopg2 raise UnicodeEncodeError when it is bound → 500 on every write with a text field and on
# POST /api/auth/login (unauthenticated). Refuse lone surrogates (and U+0000) in json_body → 400/422.
@pytest.mark.parametrize(
    ("method", "url", "raw"),
    [
        ("POST", "/api/chat/conversations", '{"title": "a\\ud800b"}'),
        ("POST", "/api/auth/login", '{"email": "a\\ud800@example.com", "password": "x"}'),
    ],
)
def test_lone_surrogates_are_refused_cleanly(owner, method, url, raw):
    resp = owner["client"].open(url, method=method, data=raw, content_type="application/json", headers=owner["headers"])
    assert 400 <= resp.status_code < 500, resp.status_code


# Found by fuzzing (fixed): the timestamp parser kept any offset Python accepts (±23:59); PostgreSQL refuses offsets
# beyond ±15:59 ("time zone displacement out of range", 500 on ?since/?until of both audit logs and on API key
# expires_at), and 9999-12-31T23:59:59-14:00 is stored as year 10000, which psycopg2 cannot read back: the
# tenant's GET /api/tenant/api-keys answers 500 from then on. Convert to UTC in contracts.Timestamp (OverflowError
# → 422). On SQLite the offset is silently dropped instead (stored naive: the key expires hours off).
def test_extreme_utc_offsets_are_refused_or_normalised(owner):
    client, headers = owner["client"], owner["headers"]
    assert client.get("/api/tenant/audit-logs?since=2020-01-01T00:00:00%2B16:00", headers=headers).status_code < 500
    key = {"name": "k", "scopes": ["chat"], "expires_at": "9999-12-31T23:59:59-14:00"}
    assert client.post("/api/tenant/api-keys", json=key, headers=headers).status_code < 500
    assert client.get("/api/tenant/api-keys", headers=headers).status_code == 200


# Found by fuzzing (fixed): parse_inp accepts non-finite numbers (a pipe length of nan, inf or 1e309); the upload is stored
# and the hydraulic analysis then fails with pandas' "Encountered all NA values" ValueError → 500. Refuse
# non-finite values in water/loader.py (InpError naming the line → 422), then widen test_fuzz_inputs.NUMBERS.
@pytest.mark.parametrize("value", ["nan", "1e309"])
def test_non_finite_inp_numbers_are_refused(owner, value):
    lines = NET1.splitlines()
    row = lines.index("[PIPES]") + 2
    fields = lines[row].split()
    lines[row] = " ".join([*fields[:3], value, *fields[4:]])  # the first pipe's length
    resp = upload(owner, "\n".join(lines).encode())
    if resp.status_code == 201:
        network_id = resp.get_json()["network"]["id"]
        resp = owner["client"].post(f"/api/networks/{network_id}/analyses/hydraulic", headers=owner["headers"])
    assert 400 <= resp.status_code < 500, resp.status_code


# Found by fuzzing (fixed): services/admin._validate_quotas runs set(value) on "models" before checking its items are strings;
# PATCH /api/admin/tenants/<id> {"quotas": {"models": [{}]}} (or [[1]]) → TypeError: unhashable type → 500.
# Every item is now checked to be a str first (→ 422 quotas.models); schemathesis fuzzes admin.update_tenant again.
@pytest.mark.parametrize("models", [[{}], [[1]]])
def test_quota_models_of_wrong_type_are_a_422(fuzz_app, factory, platform_admin, models):
    tenant = factory.tenant("Quota Water", plan="basic")
    resp = fuzz_app.test_client().patch(
        f"/api/admin/tenants/{tenant.id}", json={"quotas": {"models": models}}, headers=factory.headers(platform_admin)
    )
    assert resp.status_code == 422, resp.status_code


def _insert_after(text: str, header: str, line: str) -> str:
    """``line`` added as the first entry of section ``header`` of ``text``."""
    lines = text.splitlines()
    at = next(i for i, current in enumerate(lines) if current.strip().upper() == header) + 1
    return "\n".join([*lines[:at], line, *lines[at:]])


# The fuzzed shapes kept fixed: each defines one ID twice, which WNTR's parser accepts (the later element replaces the
# first in the registry while the first section's list keeps the name).
DUPLICATE_IDS = {
    # Found by fuzzing (fixed): the reservoir's line copied under [JUNCTIONS]; wn.junctions() then yields the
    # Reservoir and water/summary._demand raised AttributeError ('demand_timeseries_list') → 500 on upload.
    "reservoir ID also a junction": (
        _insert_after(NET1, "[JUNCTIONS]", " 9  800  0"),
        "'9'",
        ("[JUNCTIONS]", "[RESERVOIRS]"),
    ),
    "tank ID also a reservoir": (_insert_after(NET1, "[RESERVOIRS]", " 2  850"), "'2'", ("[RESERVOIRS]", "[TANKS]")),
    "junction ID twice": (_insert_after(NET1, "[JUNCTIONS]", " 10  700  5"), "'10'", ("[JUNCTIONS]",)),
    "pipe ID also a pump": (
        _insert_after(NET1, "[PIPES]", " 9  10  11  100  12  100  0  Open"),
        "'9'",
        ("[PIPES]", "[PUMPS]"),
    ),
}


@pytest.mark.parametrize(("text", "element", "sections"), DUPLICATE_IDS.values(), ids=DUPLICATE_IDS.keys())
def test_an_id_defined_twice_is_refused_naming_it_and_its_sections(owner, text, element, sections):
    networks_before = owner["client"].get("/api/networks", headers=owner["headers"]).get_json()["networks"]
    resp = upload(owner, text.encode())
    assert resp.status_code == 422, resp.get_data(as_text=True)[:300]
    message = resp.get_json()["error"]["fields"]["file"]
    assert element in message and all(section in message for section in sections), message
    assert owner["client"].get("/api/networks", headers=owner["headers"]).get_json()["networks"] == networks_before


def test_a_node_and_a_link_may_share_an_id(owner):
    """EPANET keeps nodes and links apart: Net1's pump 9 joins reservoir 9, and that is accepted."""
    assert upload(owner, NET1.encode()).status_code == 201
