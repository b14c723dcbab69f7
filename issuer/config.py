"""What the issuer's services need to know, without depending on how it is configured."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.employee_id import employee_vct

__all__ = ["IssuerConfig"]


@dataclass(frozen=True, slots=True)
class IssuerConfig:
    """Built by the assembly (`mobileid.runtime.issuer_config`) from its settings, where every
    configurable value has its one default; plain values only."""

    base_url: str
    """The Credential Issuer Identifier (OpenID4VCI §2), without a trailing slash."""
    secret_key: bytes
    credential_lifetime_s: int
    offer_lifetime_s: int
    access_token_lifetime_s: int
    c_nonce_lifetime_s: int
    tx_code_max_attempts: int
    status_list_size: int
    status_list_ttl_s: int
    """`ttl` of status list tokens and their HTTP `max-age`: how long verifiers may cache."""
    status_list_token_lifetime_s: int
    """`exp` - `iat` of status list tokens; a token is re-signed when half of it has passed."""
    dpop_required: bool
    """Refuse tokens to wallets that send no DPoP proof (HAIP); otherwise they get Bearer ones."""
    # Not configurable: fixed by the credential type and the protocols' profiles.
    tx_code_length: int = 6
    status_list_bits: int = 2
    proof_algorithms: tuple[str, ...] = ("EdDSA", "ES256")
    """Of holder proofs of possession and of DPoP proofs."""
    proof_max_age_s: int = 300
    dpop_max_age_s: int = 60
    dpop_leeway_s: int = 5

    @property
    def vct(self) -> str:
        return employee_vct(self.base_url)

    def url(self, path: str) -> str:
        return self.base_url + path

    def offer_uri(self, offer_ref: str) -> str:
        return self.url(f"/credential-offer/{offer_ref}")

    def status_list_uri(self, list_id: int) -> str:
        return self.url(f"/status-lists/{list_id}")

    @property
    def status_list_aggregation_uri(self) -> str:
        """Where every list is listed (Token Status List aggregation)."""
        return self.url("/status-lists")
