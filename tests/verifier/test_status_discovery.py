"""Token Status List aggregation: how a gate learns every list an issuer publishes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from gate_kit import Clock

from verifier.trust import TrustedIssuer, TrustStore, authorization_server_metadata_url

ISSUER = "https://mobileid.mois.go.kr"
AS_METADATA = "/.well-known/oauth-authorization-server"


def store(
    answers: dict[str, Callable[[], httpx.Response]],
    *,
    trusted: TrustedIssuer | None = None,
    clock: Clock | None = None,
) -> tuple[TrustStore, list[str]]:
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        answer = answers.get(str(request.url))
        return answer() if answer else httpx.Response(404)

    client = httpx.Client(transport=httpx.MockTransport(handle))
    trust = TrustStore(
        [trusted or TrustedIssuer(ISSUER)],
        client=client,
        clock=clock or Clock(),
        refresh_interval_s=60,
    )
    return trust, seen


def metadata(**fields: Any) -> Callable[[], httpx.Response]:
    body = {"issuer": ISSUER, "token_endpoint": f"{ISSUER}/token", **fields}
    return lambda: httpx.Response(200, json=body)


def aggregation(*uris: Any) -> Callable[[], httpx.Response]:
    return lambda: httpx.Response(200, json={"status_lists": list(uris)})


def test_metadata_url_inserts_the_well_known_path_before_the_issuer_path() -> None:
    assert authorization_server_metadata_url(ISSUER) == ISSUER + AS_METADATA
    assert (
        authorization_server_metadata_url("https://gov.example/tenant/a/")
        == "https://gov.example/.well-known/oauth-authorization-server/tenant/a"
    )


def test_discovers_every_published_list_on_the_issuers_origin() -> None:
    trust, _ = store(
        {
            ISSUER + AS_METADATA: metadata(
                status_list_aggregation_endpoint=f"{ISSUER}/status-lists"
            ),
            f"{ISSUER}/status-lists": aggregation(
                f"{ISSUER}/status-lists/1",
                f"{ISSUER}/status-lists/2",
                f"{ISSUER}/status-lists/1",
                "https://evil.example/status-lists/9",
                42,
            ),
        }
    )
    found = trust.discover_status_lists(ISSUER)
    assert found == (f"{ISSUER}/status-lists/1", f"{ISSUER}/status-lists/2")


def test_answer_is_reused_within_the_refresh_interval_and_kept_on_failure() -> None:
    clock = Clock()
    answers = {
        ISSUER + AS_METADATA: metadata(status_list_aggregation_endpoint=f"{ISSUER}/agg"),
        f"{ISSUER}/agg": aggregation(f"{ISSUER}/status-lists/1"),
    }
    trust, seen = store(answers, clock=clock)
    first = trust.discover_status_lists(ISSUER)
    assert trust.discover_status_lists(ISSUER) == first and len(seen) == 2  # no refetch
    answers[f"{ISSUER}/agg"] = lambda: httpx.Response(500)
    clock.advance(61)
    assert trust.discover_status_lists(ISSUER) == first  # the issuer failed: keep what we had
    assert len(seen) == 4


@pytest.mark.parametrize(
    "answers",
    [
        pytest.param({}, id="no-metadata"),
        pytest.param({ISSUER + AS_METADATA: metadata()}, id="no-aggregation-endpoint"),
        pytest.param(
            {ISSUER + AS_METADATA: lambda: httpx.Response(200, content=b"{not json")},
            id="metadata-not-json",
        ),
        pytest.param(
            {
                ISSUER + AS_METADATA: lambda: httpx.Response(
                    200,
                    json={
                        "issuer": "https://other.example",
                        "status_list_aggregation_endpoint": f"{ISSUER}/agg",
                    },
                ),
                f"{ISSUER}/agg": aggregation(f"{ISSUER}/status-lists/1"),
            },
            id="metadata-of-another-issuer",
        ),
        pytest.param(
            {
                ISSUER + AS_METADATA: metadata(
                    status_list_aggregation_endpoint="https://evil.example/agg"
                ),
                "https://evil.example/agg": aggregation("https://evil.example/1"),
            },
            id="endpoint-off-origin",
        ),
        pytest.param(
            {
                ISSUER + AS_METADATA: metadata(status_list_aggregation_endpoint=f"{ISSUER}/agg"),
                f"{ISSUER}/agg": lambda: httpx.Response(200, json={"status_lists": "x"}),
            },
            id="aggregation-not-a-list",
        ),
        pytest.param(
            {
                ISSUER + AS_METADATA: metadata(status_list_aggregation_endpoint=f"{ISSUER}/agg"),
                f"{ISSUER}/agg": lambda: httpx.Response(200, content=b"[1]" * 400_000),
            },
            id="aggregation-oversized",
        ),
        pytest.param(
            {ISSUER + AS_METADATA: metadata(status_list_aggregation_endpoint=42)},
            id="endpoint-not-a-string",
        ),
    ],
)
def test_bad_or_missing_answers_discover_nothing(answers: dict[str, Any]) -> None:
    trust, _ = store(answers)
    assert trust.discover_status_lists(ISSUER) == ()


def test_offline_or_untrusted_discovers_nothing() -> None:
    offline = TrustStore([TrustedIssuer(ISSUER)], client=None, clock=Clock())
    assert offline.discover_status_lists(ISSUER) == ()
    trust, seen = store({})
    assert trust.discover_status_lists("https://other.example") == ()
    assert seen == []
