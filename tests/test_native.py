"""The compiled verification core (mypyc, `setup.py`) against its Python source.

The `.py` files are the reference: the same corpus of presentations, valid, replayed, revoked,
for another gate, and hundreds of tampered and random ones, must get the same decision, reason
and detail from both cores, each in its own fresh process. A stale build must never run, and the
default install must have built the compiled core (else the suite would test only one path).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from native_corpus import (
    lists,
    metadata_documents,
    mutants,
    odd_credentials,
    policies,
    status_tokens,
)

import verifier.pipeline  # noqa: F401  (loads the listed modules: state() reports them)
from bench.gate import Fixture, gate_policy
from vc import native
from vc.qr_compact import encode_presentation

ROOT = Path(__file__).resolve().parents[1]
PURE = os.environ.get(native.PURE_ENV, "") not in ("", "0")

# Decides every payload of a corpus file with a fresh gate pipeline; prints the core's state
# and each decision (everything but the time taken).
DECIDE = """
import json, sys, time
from bench.gate import ISSUER, STATUS_URI, gate_policy
from vc import native
from verifier.pipeline import Pipeline
from verifier.replay import InMemoryReplayStore
from verifier.status import StatusCache
from verifier.trust import TrustedIssuer, TrustStore
from vc.errors import VCError
from vc.sd_jwt_vc import parse_jwt_vc_issuer_metadata
from vc.status_list import StatusList, verify_status_list_token
from verifier.policy import PolicyError, parse_gate_policy

corpus = json.load(open(sys.argv[1]))
policy = gate_policy()
now = corpus["now"]
trust = TrustStore([TrustedIssuer(ISSUER)], client=None, clock=lambda: now)
trust.load_document(ISSUER, corpus["metadata"], fetched_at=now)
status = StatusCache(trust, client=None, algorithms=policy.verification.algorithms)
status.load_token(ISSUER, STATUS_URI, corpus["status_token"], etag=None, fetched_at=now, now=now)
pipeline = Pipeline(
    policy.verification, audience=policy.audience, trust=trust, status=status,
    replay=InMemoryReplayStore(),
)
out = []
for text, packed in corpus["payloads"]:
    payload = bytes.fromhex(packed) if packed is not None else text
    d = pipeline.decide(payload, now=now)
    out.append([d.allow, str(d.reason), d.detail, d.displayed_claims, d.issuer, d.stale_status,
                d.employee_number, d.agency_code, d.member_id])


def outcome(call):
    try:
        return ["ok", call()]
    except VCError as exc:
        return ["refused", type(exc).__name__, str(exc.code)]
    except PolicyError as exc:
        return ["refused", "PolicyError", str(exc)]
    except Exception as exc:  # recorded: the test refuses any, on either core
        return ["crash", type(exc).__name__, str(exc)]


def status(token):
    v = verify_status_list_token(token, key, uri=STATUS_URI, algorithms=["EdDSA"], now=now)
    return [v.iat, v.exp, v.ttl, v.status_list.size, v.status_list.bits, v.status(3)]


def kids(document):
    return sorted(parse_jwt_vc_issuer_metadata(document, ISSUER))


def policy(data):
    p = parse_gate_policy(data, environ={"LIB": "library-secret-0123456789abcdef"})
    v = p.verification
    return [p.gate_id, p.audience, p.site, p.central_url, p.central_token, p.retention_days,
            p.replay_store, p.allow_insecure_loopback, str(v.purpose), sorted(v.required_claims),
            list(v.displayed_claims), list(v.algorithms), v.max_status_age_s, v.kb_window_s,
            v.clock_skew_s, sorted(v.allowed_agencies), v.member_id_claim,
            [[t.issuer, t.name, list(t.vct_values), list(t.status_origins)]
             for t in p.trusted_issuers]]


def inflate(lst, bits):
    decoded = StatusList.decode(lst, bits)
    return [decoded.size, decoded.get(1)]


(key,) = parse_jwt_vc_issuer_metadata(corpus["metadata"], ISSUER).values()
others = {
    "tokens": [outcome(lambda t=t: status(t)) for t in corpus["tokens"]],
    "documents": [outcome(lambda d=d: kids(d)) for d in corpus["documents"]],
    "lists": [outcome(lambda p=p: inflate(*p)) for p in corpus["lists"]],
    "policies": [outcome(lambda d=d: policy(d)) for d in corpus["policies"]],
}
print(json.dumps({"state": native.state(), "decisions": out, **others}, ensure_ascii=False))
"""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(7)
    fixture = Fixture(holders=2)
    audience = gate_policy().audience
    valid = fixture.presentations(6, audience)
    fixture.credentials[1] = fixture.issue(fixture.holders[1], 997)  # a revoked slot
    texts = [
        *valid[:3],
        valid[0],  # replayed
        fixture.presentations(2, audience)[1],
        fixture.presentations(1, "https://other-gate.example")[0],
        *mutants(rng, valid[3], 400),
        *("".join(rng.choice('A~.-_{}"가') for _ in range(rng.randrange(200))) for _ in range(60)),
        "",
        "~",
        "{}",
        '{"payload": 1}',
    ]
    packed = [encode_presentation(valid[4]), encode_presentation(valid[5])]
    packed_mutants = [
        p[:i] + bytes([rng.randrange(256)]) + p[i + 1 :]
        for p in packed
        for i in (rng.randrange(len(p)) for _ in range(60))
    ]
    texts += odd_credentials(fixture, audience)
    payloads = [[t, None] for t in texts] + [["", p.hex()] for p in packed + packed_mutants]
    path = tmp_path_factory.mktemp("native") / "corpus.json"
    now = time.time()
    document = {
        "now": now,
        "metadata": fixture.metadata,
        "status_token": fixture.status_token,
        "payloads": payloads,
        "tokens": status_tokens(rng, fixture, int(now)),
        "documents": metadata_documents(rng, fixture.metadata),
        "lists": lists(),
        "policies": policies(),
    }
    path.write_text(json.dumps(document, ensure_ascii=False))
    return path


def _python(source: str, *args: str, cwd: Path, env: dict[str, str]) -> tuple[object, str]:
    """Run `source` in a fresh interpreter; (the JSON it printed, its stderr)."""
    done = subprocess.run(
        [sys.executable, "-c", source, *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


def _decide(corpus: Path, pure: bool) -> dict:
    decided, _ = _python(DECIDE, str(corpus), cwd=ROOT, env={native.PURE_ENV: "1" if pure else "0"})
    assert isinstance(decided, dict)
    return decided


def test_both_cores_decide_the_corpus_alike(corpus: Path) -> None:
    python, default = _decide(corpus, pure=True), _decide(corpus, pure=False)
    assert python["state"]["core"] == "python"
    assert set(python["state"]["loaded"].values()) == {"python"}
    assert default["state"]["core"] == "compiled" or PURE
    decisions = python["decisions"]
    assert len(decisions) == len(default["decisions"]) > 500
    for i, (ours, reference) in enumerate(zip(default["decisions"], decisions, strict=True)):
        assert ours == reference, f"payload {i}"
    reasons = [d[1] for d in decisions]
    # the corpus reaches the decisions it was built for, in this order
    assert reasons[:6] == ["ok", "ok", "ok", "replayed", "revoked", "wrong_audience"]
    assert {"malformed", "invalid_signature"} <= set(reasons)
    # the issuer-signed odd credentials get past the signatures, to the checks after them
    assert {"invalid_status", "expired", "not_yet_valid", "key_binding_missing"} <= set(reasons)
    assert reasons.count("ok") > 50
    assert reasons[-122:-120] == ["ok", "ok"]  # the compact QR encodings
    for part in ("tokens", "documents", "lists", "policies"):
        assert default[part] == python[part], part
        assert not [o for o in python[part] if o[0] == "crash"], part  # only VCErrors refuse
    # the status checks after the signature each had their say
    refused = {o[2] for o in python["tokens"] if o[0] == "refused"}
    assert {"expired", "invalid_status_list", "status_uri_mismatch", "invalid_signature"} <= refused
    assert python["tokens"][0] == ["ok", [python["tokens"][0][1][0], None, 300, 16, 2, 3]]


@pytest.mark.skipif(PURE, reason=f"{native.PURE_ENV} is set: the sources run by request")
def test_the_installed_core_is_compiled() -> None:
    state = native.state()
    assert state["core"] == "compiled", state["why"]
    assert state["loaded"] == dict.fromkeys(native.COMPILED, "compiled")


def _copy_tree(root: Path) -> None:
    for package in ("vc", "verifier"):
        shutil.copytree(
            ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    for shared in ROOT.glob("mobileid_core__mypyc*"):
        shutil.copy2(shared, root / shared.name)


@pytest.mark.skipif(PURE, reason=f"{native.PURE_ENV} is set: nothing compiled to go stale")
def test_a_changed_source_runs_from_source(tmp_path: Path) -> None:
    _copy_tree(tmp_path)
    assert native._decide(tmp_path, {})[0] is True
    policy = tmp_path / "verifier" / "policy.py"
    policy.write_text(policy.read_text() + "\n# edited after the build\n")
    compiled, why = native._decide(tmp_path, {})
    assert (compiled, why) == (False, "stale build: verifier.policy changed since it was compiled")
    # a fresh interpreter on that tree loads every listed module from its source
    probe = (
        "import json, verifier.pipeline; from vc import native; print(json.dumps(native.state()))"
    )
    env = {"PYTHONPATH": str(tmp_path), native.PURE_ENV: "0"}
    state, stderr = _python(probe, cwd=tmp_path, env=env)
    assert isinstance(state, dict)
    assert state["core"] == "python"
    assert state["loaded"] == dict.fromkeys(native.COMPILED, "python")
    assert "stale build" in stderr  # said once, as a warning


def test_no_manifest_or_a_pure_request_means_the_sources(tmp_path: Path) -> None:
    assert native._decide(tmp_path, {}) == (False, "not compiled (no build manifest)")
    assert native._decide(ROOT, {native.PURE_ENV: "1"}) == (False, f"{native.PURE_ENV} is set")
    (tmp_path / "vc").mkdir()
    (tmp_path / "vc" / native.MANIFEST).write_text('{"sources": {"vc.jws": "0"}}')
    assert native._decide(tmp_path, {}) == (False, "the build compiled another module list")
