"""Digital Credentials Query Language (OpenID4VP 1.0 §6, §7): parse a query, match credentials.

`parse_dcql_query` checks the structure (§6.1-6.3) and returns frozen dataclasses; `match_dcql`
evaluates the query against the holder's credentials following §6.4 (claims and claim_sets,
credentials and credential_sets) with the JSON claims path pointer semantics of §7.1, and says
which credential answers which query and which claim paths must be disclosed. Credentials are
given as `Candidate`s holding their fully disclosed claims, so this module never sees secrets.
Unknown query members are ignored (§6); formats other than `dc+sd-jwt` parse but never match.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vc.errors import ClaimsError, Code, FormatError

__all__ = [
    "SD_JWT_VC_FORMAT",
    "Candidate",
    "ClaimQuery",
    "ClaimsPath",
    "CredentialMatch",
    "CredentialQuery",
    "CredentialSetQuery",
    "DcqlMatch",
    "DcqlQuery",
    "check_presented_queries",
    "match_credential_query",
    "match_dcql",
    "parse_dcql_query",
    "select_claims",
]

SD_JWT_VC_FORMAT = "dc+sd-jwt"
ClaimsPath = tuple[str | int | None, ...]
ConcretePath = tuple[str | int, ...]
_ID = re.compile(r"[A-Za-z0-9_-]+")
_MAX_QUERIES = 64
_MAX_CLAIMS = 256
_MAX_PATH = 32


@dataclass(frozen=True, slots=True)
class ClaimQuery:
    path: ClaimsPath
    id: str | None = None
    values: tuple[str | int | bool, ...] | None = None


@dataclass(frozen=True, slots=True)
class CredentialQuery:
    id: str
    format: str
    meta: Mapping[str, Any]
    claims: tuple[ClaimQuery, ...] | None = None
    claim_sets: tuple[tuple[str, ...], ...] | None = None
    multiple: bool = False
    require_cryptographic_holder_binding: bool = True
    trusted_authorities: tuple[tuple[str, tuple[str, ...]], ...] | None = None

    @property
    def vct_values(self) -> tuple[str, ...] | None:
        values = self.meta.get("vct_values")
        return tuple(values) if isinstance(values, list) else None


@dataclass(frozen=True, slots=True)
class CredentialSetQuery:
    options: tuple[tuple[str, ...], ...]
    required: bool = True


@dataclass(frozen=True, slots=True)
class DcqlQuery:
    credentials: tuple[CredentialQuery, ...]
    credential_sets: tuple[CredentialSetQuery, ...] | None = None

    def query(self, query_id: str) -> CredentialQuery:
        return next(q for q in self.credentials if q.id == query_id)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A credential the wallet could present: an opaque `ref`, its format and processed claims.

    `holder_bound` says whether it can carry a Key Binding proof; `authorities` lists what it can
    match in `trusted_authorities` as (type, value) pairs (e.g. ("aki", "<b64url>")).
    """

    ref: str
    format: str
    claims: Mapping[str, Any]
    holder_bound: bool = True
    authorities: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True, slots=True)
class CredentialMatch:
    """One credential answering one Credential Query, and the claim paths to disclose."""

    query_id: str
    candidate: Candidate
    disclose: tuple[ConcretePath, ...]
    claim_ids: tuple[str, ...] = ()
    holder_binding: bool = True


@dataclass(frozen=True, slots=True)
class DcqlMatch:
    """The credentials to present, by Credential Query id (§8.1 `vp_token` keys)."""

    presentations: Mapping[str, tuple[CredentialMatch, ...]] = field(default_factory=dict)


# --- parsing (§6.1-6.3) ----------------------------------------------------------------------


def _bad(detail: str) -> FormatError:
    return FormatError(Code.malformed, f"DCQL: {detail}")


def _identifier(value: Any, what: str) -> str:
    if type(value) is not str or not _ID.fullmatch(value):
        raise _bad(f"{what} must be a non-empty string of [A-Za-z0-9_-]")
    return value


def _non_empty_list(value: Any, what: str, limit: int = _MAX_CLAIMS) -> list[Any]:
    if type(value) is not list or not value:
        raise _bad(f"{what} must be a non-empty array")
    if len(value) > limit:
        raise FormatError(Code.input_too_large, f"DCQL: {what} has too many entries")
    return value


def _bool(obj: Mapping[str, Any], name: str, default: bool) -> bool:
    value = obj.get(name, default)
    if type(value) is not bool:
        raise _bad(f"{name} must be a boolean")
    return value


def _path(value: Any) -> ClaimsPath:
    items = _non_empty_list(value, "claims path", _MAX_PATH)
    for item in items:
        ok = item is None or type(item) is str or (type(item) is int and item >= 0)
        if not ok:
            raise _bad("a claims path holds strings, null and non-negative integers only")
    return tuple(items)


def _claim_query(value: Any) -> ClaimQuery:
    if type(value) is not dict:
        raise _bad("each claims entry must be an object")
    claim_id = _identifier(value["id"], "claim id") if "id" in value else None
    values = None
    if "values" in value:
        raw = _non_empty_list(value["values"], "values")
        if not all(type(v) in (str, int, bool) for v in raw):
            raise _bad("values hold strings, integers or booleans")
        values = tuple(raw)
    return ClaimQuery(_path(value.get("path")), claim_id, values)


def _credential_query(value: Any) -> CredentialQuery:
    if type(value) is not dict:
        raise _bad("each credentials entry must be an object")
    query_id = _identifier(value.get("id"), "credential query id")
    fmt, meta = value.get("format"), value.get("meta")
    if type(fmt) is not str or not fmt:
        raise _bad(f"credential query {query_id!r} needs a format")
    if type(meta) is not dict:
        raise _bad(f"credential query {query_id!r} needs a meta object")
    if fmt == SD_JWT_VC_FORMAT:
        vcts = _non_empty_list(meta.get("vct_values"), "meta.vct_values")
        if not all(type(v) is str for v in vcts):
            raise _bad("meta.vct_values must hold strings")
    claims = None
    if "claims" in value:
        claims = tuple(_claim_query(c) for c in _non_empty_list(value["claims"], "claims"))
        claim_ids = [c.id for c in claims if c.id is not None]
        if len(claim_ids) != len(set(claim_ids)):
            raise _bad(f"claim ids repeat in credential query {query_id!r}")
    claim_sets = None
    if "claim_sets" in value:
        if claims is None:
            raise _bad("claim_sets needs claims (§6.4.1)")
        known = {c.id for c in claims}
        if None in known:
            raise _bad("every claim needs an id when claim_sets is present")
        sets: list[tuple[str, ...]] = []
        for option in _non_empty_list(value["claim_sets"], "claim_sets"):
            ids = tuple(_identifier(i, "claim_sets id") for i in _non_empty_list(option, "option"))
            if not set(ids) <= known:
                raise _bad("claim_sets names a claim id that is not in claims")
            sets.append(ids)
        claim_sets = tuple(sets)
    authorities = None
    if "trusted_authorities" in value:
        entries = []
        for entry in _non_empty_list(value["trusted_authorities"], "trusted_authorities"):
            if type(entry) is not dict or type(entry.get("type")) is not str:
                raise _bad("trusted_authorities entries need a type")
            vals = _non_empty_list(entry.get("values"), "trusted_authorities values")
            if not all(type(v) is str for v in vals):
                raise _bad("trusted_authorities values must be strings")
            entries.append((entry["type"], tuple(vals)))
        authorities = tuple(entries)
    return CredentialQuery(
        id=query_id,
        format=fmt,
        meta=meta,
        claims=claims,
        claim_sets=claim_sets,
        multiple=_bool(value, "multiple", False),
        require_cryptographic_holder_binding=_bool(
            value, "require_cryptographic_holder_binding", True
        ),
        trusted_authorities=authorities,
    )


def parse_dcql_query(document: Any) -> DcqlQuery:
    """Check a DCQL query object (§6) and return it typed; raises `FormatError(malformed)`."""
    if type(document) is not dict:
        raise _bad("the query must be a JSON object")
    credentials = tuple(
        _credential_query(c)
        for c in _non_empty_list(document.get("credentials"), "credentials", _MAX_QUERIES)
    )
    ids = [c.id for c in credentials]
    if len(ids) != len(set(ids)):
        raise _bad("credential query ids must be unique")
    sets = None
    if "credential_sets" in document:
        parsed = []
        for entry in _non_empty_list(document["credential_sets"], "credential_sets"):
            if type(entry) is not dict:
                raise _bad("each credential_sets entry must be an object")
            options = []
            for option in _non_empty_list(entry.get("options"), "options"):
                refs = tuple(_identifier(i, "option id") for i in _non_empty_list(option, "option"))
                if not set(refs) <= set(ids):
                    raise _bad("credential_sets names an unknown credential query")
                options.append(refs)
            parsed.append(CredentialSetQuery(tuple(options), _bool(entry, "required", True)))
        sets = tuple(parsed)
    return DcqlQuery(credentials, sets)


# --- claims path pointer (§7.1) --------------------------------------------------------------


def select_claims(claims: Any, path: Sequence[str | int | None]) -> list[tuple[ConcretePath, Any]]:
    """Apply a claims path pointer; returns (concrete path, value) pairs, each `null` resolved.

    Raises `ClaimsError(missing_claim)` when the selection ends empty and
    `ClaimsError(invalid_claim)` when a component meets the wrong JSON type (§7.1.1).
    """
    selected: list[tuple[ConcretePath, Any]] = [((), claims)]
    for component in path:
        nxt: list[tuple[ConcretePath, Any]] = []
        for where, node in selected:
            if type(component) is str:
                if not isinstance(node, Mapping):
                    raise ClaimsError(Code.invalid_claim, "claims path expects an object")
                if component in node:
                    nxt.append(((*where, component), node[component]))
            elif component is None or (type(component) is int and component >= 0):
                if not isinstance(node, list):
                    raise ClaimsError(Code.invalid_claim, "claims path expects an array")
                if component is None:
                    nxt.extend(((*where, i), item) for i, item in enumerate(node))
                elif component < len(node):
                    nxt.append(((*where, component), node[component]))
            else:
                raise ClaimsError(Code.invalid_claim, "claims path component is not allowed")
        selected = nxt
    if not selected:
        raise ClaimsError(Code.missing_claim, "claims path selects nothing")
    return selected


def _value_matches(value: Any, wanted: tuple[str | int | bool, ...]) -> bool:
    return any(type(value) is type(w) and value == w for w in wanted)


def _resolve_claim(candidate: Candidate, claim: ClaimQuery) -> tuple[ConcretePath, ...] | None:
    try:
        found = select_claims(candidate.claims, claim.path)
    except ClaimsError:
        return None
    if claim.values is not None:
        wanted = claim.values
        found = [(p, v) for p, v in found if _value_matches(v, wanted)]
        if not found:
            return None
    return tuple(p for p, _ in found)


def match_credential_query(query: CredentialQuery, candidate: Candidate) -> CredentialMatch | None:
    """Whether `candidate` satisfies `query` (§6.4.1), and with which claims; None if not."""
    if candidate.format != query.format or query.format != SD_JWT_VC_FORMAT:
        return None
    vcts = query.vct_values
    if vcts is not None and candidate.claims.get("vct") not in vcts:
        return None
    if query.require_cryptographic_holder_binding and not candidate.holder_bound:
        return None
    if query.trusted_authorities is not None and not any(
        (kind, value) in candidate.authorities
        for kind, values in query.trusted_authorities
        for value in values
    ):
        return None
    binding = query.require_cryptographic_holder_binding and candidate.holder_bound
    if query.claims is None:
        return CredentialMatch(query.id, candidate, (), (), binding)
    resolved = {i: _resolve_claim(candidate, c) for i, c in enumerate(query.claims)}
    if query.claim_sets is None:
        if any(r is None for r in resolved.values()):
            return None
        paths = [p for r in resolved.values() for p in r or ()]
        ids = tuple(c.id for c in query.claims if c.id is not None)
        return CredentialMatch(query.id, candidate, _unique(paths), ids, binding)
    by_id = {c.id: i for i, c in enumerate(query.claims)}
    for option in query.claim_sets:  # preference order: the first that can be satisfied
        found = [resolved[by_id[claim_id]] for claim_id in option]
        if all(r is not None for r in found):
            paths = [p for r in found for p in r or ()]
            return CredentialMatch(query.id, candidate, _unique(paths), option, binding)
    return None


def _unique(paths: list[ConcretePath]) -> tuple[ConcretePath, ...]:
    return tuple(dict.fromkeys(paths))


def match_dcql(query: DcqlQuery, candidates: Sequence[Candidate]) -> DcqlMatch:
    """Choose what to present (§6.4.2); raises `ClaimsError(missing_claim)` if it cannot.

    A query without `multiple` takes the first matching candidate. Without `credential_sets` every
    Credential Query is required; with them each required set needs one satisfiable option (the
    first, in the Verifier's order) and optional sets are answered when they can be.
    """
    found: dict[str, tuple[CredentialMatch, ...]] = {}
    for credential_query in query.credentials:
        matches = [
            m for c in candidates if (m := match_credential_query(credential_query, c)) is not None
        ]
        if matches:
            found[credential_query.id] = tuple(
                matches if credential_query.multiple else matches[:1]
            )
    if query.credential_sets is None:
        missing = [q.id for q in query.credentials if q.id not in found]
        if missing:
            raise ClaimsError(Code.missing_claim, f"no credential satisfies {missing}")
        return DcqlMatch(found)
    chosen: dict[str, tuple[CredentialMatch, ...]] = {}
    for index, credential_set in enumerate(query.credential_sets):
        option = next((o for o in credential_set.options if all(i in found for i in o)), None)
        if option is None:
            if credential_set.required:
                raise ClaimsError(
                    Code.missing_claim, f"no option of credential set {index} can be satisfied"
                )
            continue
        for query_id in option:
            chosen[query_id] = found[query_id]
    return DcqlMatch(chosen)


def check_presented_queries(query: DcqlQuery, presented: Mapping[str, Sequence[Any]]) -> None:
    """The verifier's check of a `vp_token`'s shape against its query (§6.4, §8.1).

    Only ids of the query, one presentation per query unless `multiple`, every required query
    (no `credential_sets`) or one option of every required credential set answered. Raises
    `FormatError(malformed)` for ids or counts, `ClaimsError(missing_claim)` for missing answers.
    """
    known = {q.id: q for q in query.credentials}
    for query_id, items in presented.items():
        credential_query = known.get(query_id)
        if credential_query is None:
            raise _bad("vp_token answers a credential query that was not asked")
        if not items or (len(items) > 1 and not credential_query.multiple):
            raise _bad(f"vp_token has the wrong number of presentations for {query_id!r}")
    if query.credential_sets is None:
        missing = [q.id for q in query.credentials if q.id not in presented]
        if missing:
            raise ClaimsError(Code.missing_claim, f"vp_token does not answer {missing}")
        return
    for index, credential_set in enumerate(query.credential_sets):
        answered = any(all(i in presented for i in o) for o in credential_set.options)
        if credential_set.required and not answered:
            raise ClaimsError(Code.missing_claim, f"credential set {index} is not answered")
