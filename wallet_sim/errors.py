"""Wallet errors: a stable snake_case `code` and a message in Korean with English for the user.

Protocol errors returned by an issuer (OpenID4VCI 1.0 §6.3, §8.3.1.2, §11.3) or a verifier
(OpenID4VP 1.0 §8.5) map to fixed bilingual messages here, in one place; the raw
`error_description` of the other party is kept for logs, never trusted as the message. Only a
number is read from it: the tries left after a wrong transaction code ("wrong tx_code; 3 tries
left", as our issuer says it), shown in our own words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = [
    "ISSUER_ERROR_MESSAGES",
    "ConsentDeclined",
    "IssuerError",
    "NoCredential",
    "PresentationError",
    "StoreCorrupted",
    "VerifierError",
    "WalletChanged",
    "WalletError",
    "WalletExists",
    "WalletLocked",
    "WalletNotFound",
    "WrongPin",
]


class WalletError(Exception):
    """Base of every wallet failure. `code` is stable; `message` is what the user is shown."""

    code = "wallet_error"
    message_ko = "지갑 오류가 발생했습니다."
    message_en = "A wallet error occurred."

    def __init__(self, ko: str | None = None, en: str | None = None, *, detail: str = "") -> None:
        self.ko = ko or self.message_ko
        self.en = en or self.message_en
        self.detail = detail
        super().__init__(f"{self.code}: {self.en}" + (f" ({detail})" if detail else ""))

    @property
    def message(self) -> str:
        return f"{self.ko} / {self.en}"


class WalletNotFound(WalletError):
    code = "wallet_not_found"
    message_ko = "지갑이 없습니다. 먼저 발급 링크를 수락하거나 init 하세요."
    message_en = "No wallet here yet. Accept an offer link or run init first."


class WalletExists(WalletError):
    code = "wallet_exists"
    message_ko = "이미 지갑이 있습니다. 초기화하려면 reset 하세요."
    message_en = "A wallet already exists here; run reset to start over."


class WrongPin(WalletError):
    code = "wrong_pin"

    def __init__(self, remaining: int) -> None:
        self.remaining = remaining
        super().__init__(
            f"PIN이 올바르지 않습니다. 남은 시도 횟수: {remaining}회",
            f"Wrong PIN. Attempts left: {remaining}",
        )


class WalletLocked(WalletError):
    code = "wallet_locked"
    message_ko = (
        "PIN을 5회 잘못 입력하여 지갑이 잠기고 공무원증이 삭제되었습니다. "
        "재발급을 신청한 뒤 새 발급 링크를 수락하세요."
    )
    message_en = (
        "Five wrong PINs: the wallet is locked and its credentials were erased. "
        "Apply for reissue, then accept the new offer link."
    )


class WalletChanged(WalletError):
    """Another command saved or re-keyed the wallet while this one had it open."""

    code = "wallet_changed"
    message_ko = "다른 명령이 그사이 지갑을 변경했습니다. 다시 시도하세요."
    message_en = "Another command changed the wallet in the meantime; try again."


class StoreCorrupted(WalletError):
    code = "store_corrupted"
    message_ko = "지갑 저장소가 손상되었거나 변조되었습니다."
    message_en = "The wallet store is damaged or was tampered with."


class NoCredential(WalletError):
    code = "no_credential"
    message_ko = "지갑에 공무원증이 없습니다."
    message_en = "There is no credential in this wallet."


class ConsentDeclined(WalletError):
    code = "consent_declined"
    message_ko = "동의하지 않아 진행을 중단했습니다."
    message_en = "Consent was not given; nothing was done."


ISSUER_ERROR_MESSAGES: Mapping[str, tuple[str, str]] = {
    "invalid_request": (
        "요청이 올바르지 않습니다(인증 코드 누락 또는 불필요한 코드 등).",
        "The request was not accepted (e.g. a missing or unexpected transaction code).",
    ),
    "invalid_grant": (
        "발급 코드가 틀렸거나 만료되었거나 이미 사용되었습니다. "
        "문자로 받은 인증 코드를 확인하세요.",
        "The transaction code is wrong, or the offer has expired or was already used.",
    ),
    "offer_withdrawn": (
        "인증 코드를 여러 번 잘못 입력하여 발급 제안이 철회되었습니다. 인사 담당자나 부서장에게 "
        "새 발급을 요청하세요(새 신청, 또는 mobileid issuer reissue).",
        "The offer was withdrawn after too many wrong transaction codes; ask the HR officer or "
        "the department head for a new offer (a new application, or mobileid issuer reissue).",
    ),
    "offer_not_found": (
        "발급 링크를 찾을 수 없습니다(만료되었거나 이미 사용됨). 새 발급을 요청하세요.",
        "The offer link is unknown, expired or already used; ask for a new offer.",
    ),
    "invalid_client": (
        "발급기관이 이 지갑의 접근을 허용하지 않습니다.",
        "The issuer does not allow access by this wallet.",
    ),
    "unauthorized_client": (
        "이 지갑은 해당 발급 방식을 사용할 수 없습니다.",
        "This wallet may not use this grant type.",
    ),
    "unsupported_grant_type": (
        "발급기관이 사전 인가 코드 방식을 지원하지 않습니다.",
        "The issuer does not support the pre-authorized code flow.",
    ),
    "invalid_token": (
        "발급 세션이 만료되었습니다. 새 발급 링크로 다시 시도하세요.",
        "The issuance session expired; try again with a new offer link.",
    ),
    "invalid_credential_request": (
        "발급 요청 형식이 올바르지 않습니다.",
        "The credential request was malformed.",
    ),
    "unknown_credential_configuration": (
        "발급기관이 요청한 공무원증 종류를 알지 못합니다.",
        "The issuer does not know the requested credential type.",
    ),
    "unknown_credential_identifier": (
        "발급기관이 요청한 공무원증 식별자를 알지 못합니다.",
        "The issuer does not know the requested credential identifier.",
    ),
    "invalid_proof": (
        "기기 키 소유 증명이 거부되었습니다.",
        "The issuer rejected the proof of possession of the device key.",
    ),
    "invalid_nonce": (
        "기기 키 증명의 nonce가 만료되었습니다.",
        "The proof nonce was stale or already used.",
    ),
    "invalid_encryption_parameters": (
        "암호화 설정이 거부되었습니다.",
        "The issuer rejected the encryption parameters.",
    ),
    "credential_request_denied": (
        "발급기관이 공무원증 발급을 거부했습니다. 인사 담당자에게 문의하세요.",
        "The issuer denied issuing the credential; contact your HR office.",
    ),
    "invalid_notification_id": (
        "발급 완료 통지가 거부되었습니다(알 수 없는 통지 ID).",
        "The issuer did not recognise the notification id.",
    ),
    "invalid_notification_request": (
        "발급 완료 통지 형식이 올바르지 않습니다.",
        "The notification request was malformed.",
    ),
}


_TRIES_LEFT = re.compile(r"wrong tx_code; ([0-9]{1,2}) tr(?:y|ies) left")


def _wrong_code(tries_left: int) -> tuple[str, str]:
    return (
        f"인증 코드가 틀렸습니다. 문자로 받은 인증 코드를 확인하세요(남은 시도 {tries_left}회, "
        "모두 틀리면 발급 제안이 철회됩니다).",
        f"The transaction code is wrong: {tries_left} "
        f"{'try' if tries_left == 1 else 'tries'} left before the offer is withdrawn.",
    )


class IssuerError(WalletError):
    """The issuer answered with an OAuth / OpenID4VCI error, or could not be used at all."""

    code = "issuer_error"
    message_ko = "발급기관과 통신하는 중 문제가 발생했습니다."
    message_en = "Something went wrong while talking to the issuer."

    error: str | None = None
    status: int | None = None

    @classmethod
    def from_response(
        cls, error: str | None, description: str = "", *, status: int | None = None
    ) -> IssuerError:
        """The error an issuer returned (`error` code of its JSON body), with our message."""
        ko, en = ISSUER_ERROR_MESSAGES.get(error or "", (None, None))
        tries = _TRIES_LEFT.search(description) if error == "invalid_grant" else None
        if tries:
            ko, en = _wrong_code(int(tries.group(1)))
        if error and ko is None:
            ko, en = f"발급기관 오류: {error}", f"Issuer error: {error}"
        elif not error:
            ko = f"발급기관이 요청을 처리하지 못했습니다(HTTP {status})."
            en = f"The issuer could not handle the request (HTTP {status})."
        exc = cls(ko, en, detail=description)
        exc.error = error
        exc.status = status
        if error:
            exc.code = error
        return exc


class VerifierError(WalletError):
    """A verifier's request was refused by the wallet, or its response endpoint said no."""

    code = "verifier_error"
    message_ko = "검증기관 요청을 처리할 수 없습니다."
    message_en = "The verifier's request cannot be handled."


class PresentationError(WalletError):
    """A presentation could not be built (no matching credential, unknown purpose, ...)."""

    code = "presentation_error"
    message_ko = "제시할 수 있는 공무원증이 없습니다."
    message_en = "No credential in the wallet can answer this request."
