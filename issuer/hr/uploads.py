"""HR exports uploaded for review, kept until applied or expired (issue 19).

A person uploads an export, reads its dry run, then applies it: the file applied must be the one
reviewed. Each upload is stored under its SHA-256 digest in a private directory (files 0600 in a
0700 directory: it holds people's data), with a small record of who uploaded it, from which HR
system and when. Applying names the digest; the bytes read back must still hash to it, so a file
changed on disk is refused, and a changed export is a new upload with a new dry run. Uploads
expire after `ttl` and are deleted; applying one deletes it too.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from issuer.errors import HrError, IssuerCode
from vc.private_files import ensure_private_dir, write_private_file

__all__ = ["StoredUpload", "UploadStore"]

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class StoredUpload:
    digest: str
    data: bytes
    uploader: str
    source: str
    filename: str
    uploaded_at: datetime


@dataclass(frozen=True, slots=True)
class UploadStore:
    """Uploads in `directory`, each good for `ttl` and at most `max_bytes` long."""

    directory: Path
    ttl: timedelta
    max_bytes: int

    def put(self, data: bytes, *, uploader: str, source: str, filename: str, now: datetime) -> str:
        """Keep `data` (its digest returned); refused when over `max_bytes`."""
        if len(data) > self.max_bytes:
            raise HrError(
                IssuerCode.hr_upload_too_large,
                f"the file is larger than {self.max_bytes // (1024 * 1024)} MiB",
            )
        self.expire(now)
        digest = hashlib.sha256(data).hexdigest()
        ensure_private_dir(self.directory)
        write_private_file(self.directory / f"{digest}.csv", data)
        meta = {
            "uploader": uploader,
            "source": source,
            "filename": filename[:200],
            "uploaded_at": now.isoformat(),
        }
        write_private_file(self.directory / f"{digest}.json", json.dumps(meta).encode())
        return digest

    def get(self, digest: str, *, uploader: str, now: datetime) -> StoredUpload:
        """The upload `uploader` made under `digest`, unexpired and unchanged."""
        if not _DIGEST.fullmatch(digest):
            raise HrError(IssuerCode.hr_upload_not_found, "no such upload")
        try:
            meta = json.loads((self.directory / f"{digest}.json").read_bytes())
            data = (self.directory / f"{digest}.csv").read_bytes()
            uploaded_at = datetime.fromisoformat(meta["uploaded_at"])
        except (OSError, ValueError, KeyError, TypeError):
            raise HrError(IssuerCode.hr_upload_not_found, "no such upload") from None
        if meta.get("uploader") != uploader or uploaded_at + self.ttl <= now:
            raise HrError(IssuerCode.hr_upload_not_found, "no such upload (expired?)")
        if hashlib.sha256(data).hexdigest() != digest:
            raise HrError(IssuerCode.hr_upload_changed, "the stored file changed since its review")
        return StoredUpload(
            digest, data, meta["uploader"], str(meta["source"]), str(meta["filename"]), uploaded_at
        )

    def discard(self, digest: str) -> None:
        if _DIGEST.fullmatch(digest):
            for suffix in (".csv", ".json"):
                (self.directory / f"{digest}{suffix}").unlink(missing_ok=True)

    def expire(self, now: datetime) -> None:
        """Delete uploads older than `ttl` (by the time of their upload), and unreadable ones."""
        if not self.directory.is_dir():
            return
        for path in self.directory.glob("*.json"):
            try:
                uploaded_at = datetime.fromisoformat(json.loads(path.read_bytes())["uploaded_at"])
                fresh = uploaded_at + self.ttl > now
            except (OSError, ValueError, KeyError, TypeError):
                fresh = False
            if not fresh:
                self.discard(path.stem)
