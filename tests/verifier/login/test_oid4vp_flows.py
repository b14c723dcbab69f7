"""OpenID4VP verifier flows over HTTP with the wallet simulator: signed requests by reference
(`x509_san_dns:`, `x509_hash:`), unsigned by value (`redirect_uri:`), cross- and same-device."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from login_kit import login_world, make_wallet

from vc.jws import decode_unverified
from vc.openid4vp import REQUEST_OBJECT_MEDIA_TYPE, REQUEST_OBJECT_TYP, parse_request_link


@pytest.mark.parametrize("prefix", ["x509_san_dns", "x509_hash"])
def test_signed_request_cross_device(database_url: str, tmp_path: Path, prefix: str) -> None:
    with login_world(tmp_path, database_url) as login:
        wallet, _ = make_wallet(tmp_path / "phone", login.issuer, number="E2001")
        session = login.session(client_id_prefix=prefix)
        assert session["client_id"].startswith(prefix + ":")
        link = parse_request_link(session["link"])
        assert session["link"].startswith("openid4vp://?client_id=")
        assert link.request_uri is not None and link.params is None

        fetched = login.http.get(link.request_uri)
        assert fetched.headers["content-type"].startswith(REQUEST_OBJECT_MEDIA_TYPE)
        header, params, _, _ = decode_unverified(fetched.text)
        assert header["typ"] == REQUEST_OBJECT_TYP and header["alg"] == "ES256"
        assert len(header["x5c"]) == 1  # the leaf only: the anchor is not sent
        assert params["client_id"] == session["client_id"]
        # HAIP by default: the answer comes encrypted to this session's own P-256 key
        assert params["response_mode"] == "direct_post.jwt" and "redirect_uri" not in params
        (key,) = params["client_metadata"]["jwks"]["keys"]
        assert key["crv"] == "P-256" and key["alg"] == "ECDH-ES" and "d" not in key
        assert len(params["nonce"]) >= 22 and params["state"]
        query = params["dcql_query"]["credentials"][0]
        assert query["meta"]["vct_values"] == [login.issuer.url + "/types/employee-id/v1"]
        assert [c["path"] for c in query["claims"]] == [
            ["employee_number"],
            ["name"],
            ["department"],
        ]

        assert login.result(session).status_code == 202  # pending
        presenter = login.presenter()
        plan = presenter.resolve_request(session["link"], wallet)
        assert plan.disclosed() == {"employee_id": ["department", "employee_number", "name"]}
        outcome = presenter.respond(plan, wallet)
        assert outcome.status_code == 200 and outcome.body == {}

        result = login.result(session)
        assert result.status_code == 200
        body = result.json()
        assert body["status"] == "completed"
        (item,) = body["presentations"]["employee_id"]
        assert item["claims"] == {
            "employee_number": "E2001",
            "name": "홍길동",
            "department": "디지털정부과",
        }
        assert item["issuer"] == login.issuer.url
        again = login.result(session)  # handed over once
        assert again.status_code == 400 and again.json()["error"] == "invalid_request"


def test_qr_images(database_url: str, tmp_path: Path) -> None:
    with login_world(tmp_path, database_url) as login:
        session = login.session()
        svg = login.http.get(session["qr_svg"])
        png = login.http.get(session["qr_png"])
        assert svg.headers["content-type"] == "image/svg+xml" and b"<svg" in svg.content
        assert png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
        import io

        import zxingcpp
        from PIL import Image

        (found,) = zxingcpp.read_barcodes(
            Image.open(io.BytesIO(png.content)), formats=zxingcpp.BarcodeFormat.QRCode
        )
        assert found.text == session["link"]


def test_unsigned_request_by_value(database_url: str, tmp_path: Path) -> None:
    with login_world(tmp_path, database_url) as login:
        wallet, _ = make_wallet(tmp_path / "phone", login.issuer)
        session = login.session(client_id_prefix="redirect_uri")
        assert session["client_id"] == f"redirect_uri:{login.url}/oid4vp/response"
        link = parse_request_link(session["link"])
        assert link.params is not None and link.request_uri is None
        presenter = login.presenter()
        presenter.respond(presenter.resolve_request(session["link"], wallet), wallet)
        assert login.result(session).json()["status"] == "completed"
        # there is nothing to fetch by reference for such a session
        refused = login.http.get(f"{login.url}/oid4vp/request/{session['id']}")
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"


def test_same_device_needs_the_response_code(database_url: str, tmp_path: Path) -> None:
    with login_world(tmp_path, database_url) as login:
        wallet, _ = make_wallet(tmp_path / "phone", login.issuer)
        session = login.session(flow="same_device")
        presenter = login.presenter()
        plan = presenter.resolve_request(session["same_device_link"], wallet)
        outcome = presenter.respond(plan, wallet, follow_redirect=False)
        assert outcome.redirect_uri is not None
        code = parse_qs(urlsplit(outcome.redirect_uri).query)["response_code"][0]
        assert len(code) >= 22
        without = login.result(session)
        assert without.status_code == 400 and without.json()["error"] == "access_denied"
        wrong = login.result(session, response_code="x" * 22)
        assert wrong.status_code == 400
        ok = login.result(session, response_code=code)
        assert ok.status_code == 200 and ok.json()["status"] == "completed"


def test_request_opened_on_one_device_is_not_served_for_the_other(
    database_url: str, tmp_path: Path
) -> None:
    with login_world(tmp_path, database_url) as login:
        session = login.session()
        cross = parse_request_link(session["link"]).request_uri
        same = parse_request_link(session["same_device_link"]).request_uri
        assert cross and same and cross != same
        assert login.http.get(cross).status_code == 200
        refused = login.http.get(same)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"


def test_request_uri_post_echoes_wallet_nonce(database_url: str, tmp_path: Path) -> None:
    with login_world(tmp_path, database_url) as login:
        session = login.session()
        uri = parse_request_link(session["link"]).request_uri
        assert uri is not None
        token = login.http.post(uri, data={"wallet_nonce": "abc123"}).text
        assert decode_unverified(token)[1]["wallet_nonce"] == "abc123"
        refused = login.http.post(uri, data={"wallet_nonce": "a b<c>"})
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"


def test_units_of_work_run_on_the_event_loop(database_url: str, tmp_path: Path) -> None:
    """Every transaction of a login runs on the event loop, the wallet's answer included: a
    handful of short statements, cheaper there than a hand-off to a pool thread and back."""

    def on_event_loop() -> bool:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    with login_world(tmp_path, database_url) as login:
        runtime = login.service.runtime
        seen: list[bool] = []
        plain = runtime.unit_of_work

        @contextlib.contextmanager
        def recorded() -> Iterator[Any]:
            seen.append(on_event_loop())
            with plain() as db:
                yield db

        runtime.unit_of_work = recorded
        wallet, _ = make_wallet(tmp_path / "phone", login.issuer, number="E2002")
        session = login.session()
        presenter = login.presenter()
        outcome = presenter.respond(presenter.resolve_request(session["link"], wallet), wallet)
        assert outcome.status_code == 200
        assert login.result(session).json()["status"] == "completed"
        assert len(seen) >= 4  # session, request object, answer, result
        assert all(seen)
