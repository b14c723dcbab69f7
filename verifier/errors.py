"""The verifier's one error tree: every refusal of the relying side has a stable snake_case code.

Areas subclass `VerifierError` (trust and fetching, status, policy, gate sync, OpenID4VP and the
login service); each service maps codes to HTTP once, at its edge (`mobileid.edge`). `detail` is
for logs and people and never holds a secret; clients get the code and a description we wrote.
A presentation the pipeline refuses is not an error of the service but a decision (`Denied` in
`verifier.reasons`), which also descends from here so that one `except VerifierError` sees all.
"""

from __future__ import annotations

__all__ = ["VerifierError"]


class VerifierError(Exception):
    """Base of the verifier's errors.

    `keep_changes` is declared by the class (or passed when raised): true asks the unit of work
    to commit before the refusal is answered (a spent nonce, a counted wrong secret).
    """

    keep_changes: bool = False

    def __init__(self, code: str, detail: str = "", *, keep_changes: bool | None = None) -> None:
        self.code = code
        self.detail = detail
        if keep_changes is not None:
            self.keep_changes = keep_changes
        super().__init__(f"{code}: {detail}" if detail else code)
