"""NUL bytes (and lone surrogates) sent to every route in the issuer's OpenAPI document: refused
at the edge with 400 and the endpoint's own code, never a 500, on SQLite and PostgreSQL alike,
with and without valid authentication, and no traceback in the logs; a client leaving mid-body
is one log line."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from edge_kit import (
    Baseline,
    assert_no_tracebacks,
    assert_one_line_for_leaving,
    captured_logs,
    routes_of,
    run_attacks,
)
from issuer_kit import (
    CONFIG_ID,
    Holder,
    apply_and_approve,
    bearer,
    employee,
    link_of,
    read_sms,
    tx_code_of,
)
from lifecycle_kit import Office

from vc.keys import Ed25519PrivateKey
from vc.openid4vci import PRE_AUTHORIZED_GRANT, parse_credential_offer_link

CODES = {
    "/credential": "invalid_credential_request",
    "/notification": "invalid_notification_request",
}
"""The endpoint's code for a request it cannot parse (OpenID4VCI 1.0 §8.3.1, §11.3); else
`invalid_request` (RFC 6749 §5.2 and the HR API)."""


def code_for(path: str) -> str:
    return CODES.get(path, "invalid_request")


def baselines(server: Any, office: Office) -> dict[str, Baseline]:
    """A request each route would take: real ids, valid bodies, each route's own credentials."""
    issued = office.issue("E1002")
    admin = bearer(office.tokens.admin)
    apply_and_approve(
        office.client,
        office.tokens,
        applicant=office.tokens.admin,
        employee_number="E2001",
        head=office.head_of("E2001"),
    )
    office.offers_seen += 1
    link = link_of(read_sms(server.data_dir, kind="offer_link", count=2)[1])
    tx = tx_code_of(read_sms(server.data_dir, kind="tx_code", count=2)[1])
    holder = Holder(office.client, Ed25519PrivateKey.generate(), server.clock)
    offer_ref = urlsplit(parse_credential_offer_link(link)[1]).path.rsplit("/", 1)[1]
    access = bearer(holder.access_token(link, tx))
    pending = office.client.post(
        "/hr/applications", json={"phone": "010-1234-5678"}, headers=bearer(office.tokens.e1001)
    ).json()
    list_id = urlsplit(issued.uri).path.rsplit("/", 1)[1]
    reason = {"reason": "phone_lost", "comment": "분실"}
    return {
        "GET /credential-offer/{ref}": Baseline(path_params={"ref": offer_ref}),
        "POST /token": Baseline(
            form={
                "grant_type": PRE_AUTHORIZED_GRANT,
                "pre-authorized_code": "code",
                "tx_code": "123456",
            }
        ),
        "POST /nonce": Baseline(),
        "POST /credential": Baseline(
            json_body={"credential_configuration_id": CONFIG_ID, "proofs": {"jwt": ["e.y.z"]}},
            auth=access,
        ),
        "POST /notification": Baseline(
            json_body={"notification_id": "n1", "event": "credential_accepted"}, auth=access
        ),
        "GET /hr/me": Baseline(auth=admin),
        "POST /hr/applications": Baseline(
            json_body={"employee_number": "E1001", "phone": "010-1234-5678", "reason": "new"},
            auth=admin,
        ),
        "GET /hr/applications": Baseline(query={"state": "pending", "limit": "10"}, auth=admin),
        "GET /hr/applications/{application_id}": Baseline(
            path_params={"application_id": pending["id"]}, auth=admin
        ),
        "POST /hr/applications/{application_id}/approve": Baseline(
            path_params={"application_id": pending["id"]}, json_body={"comment": "승인"}, auth=admin
        ),
        "POST /hr/applications/{application_id}/reject": Baseline(
            path_params={"application_id": pending["id"]}, json_body={"comment": "반려"}, auth=admin
        ),
        "GET /hr/employees/{employee_number}": Baseline(
            path_params={"employee_number": "E1001"}, auth=admin
        ),
        "PUT /hr/employees/{employee_number}": Baseline(
            path_params={"employee_number": "E1001"},
            query={"dry_run": "true"},
            json_body=employee("E1001", name="홍길순"),
            auth=admin,
        ),
        "GET /hr/employees/{employee_number}/credentials": Baseline(
            path_params={"employee_number": "E1002"}, auth=admin
        ),
        "GET /console/api/grants/{employee_number}": Baseline(
            path_params={"employee_number": "E1001"}, auth=admin
        ),
        "GET /docs/assets/{name}": Baseline(path_params={"name": "swagger-ui.css"}),
        **{
            f"POST /hr/credentials/{{credential_id}}/{verb}": Baseline(
                path_params={"credential_id": issued.credential_id}, json_body=reason, auth=admin
            )
            for verb in ("revoke", "suspend", "reinstate")
        },
        "POST /hr/employees/{employee_number}/reissue": Baseline(
            path_params={"employee_number": "E1002"},
            json_body={"phone": "010-9999-0000", **reason},
            auth=admin,
        ),
        "POST /hr/mass-actions": Baseline(
            json_body={
                "action": "suspend",
                "agency_code": "1741000",
                "department_code": "D100",
                "reason": "investigation",
                "comment": "감사",
                "dry_run": True,
            },
            auth=admin,
        ),
        "GET /status-lists/{list_id}": Baseline(path_params={"list_id": list_id}),
    }


def test_nul_in_every_route_of_the_openapi_document_is_refused_at_the_edge(
    live_server: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    office = Office(live_server, tmp_path)
    table = baselines(live_server, office)
    routes = routes_of(live_server.app)
    assert {"POST /credential", "PUT /hr/employees/{employee_number}"} <= {r.key for r in routes}
    with captured_logs(caplog):
        sent = run_attacks(live_server.client, live_server.url, routes, table, code_for)
        assert_no_tracebacks(caplog)
    assert sent > 150


def test_a_client_leaving_mid_body_is_one_log_line(
    live_server: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with captured_logs(caplog):
        assert_one_line_for_leaving(caplog, live_server.url, "/hr/applications", b'{"phone": "01')
        assert live_server.client.get("/status-lists").status_code == 200  # still serving
