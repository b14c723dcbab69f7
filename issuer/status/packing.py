"""Packed status lists whose `lst` is recompressed one chunk at a time (Token Status List §4.1).

`lst` is the packed statuses (`bits` per entry, LSB-first; `vc.status_list.StatusList` does the
packing) compressed as ZLIB (RFC 1950) and base64url-encoded. Compressing a whole 2^20-entry,
2-bit list (256 KiB) at level 9 costs ~10 ms when sparse and ~250 ms at 10 % revoked, too slow to
republish on every status change. So the bytes are cut into fixed chunks, each compressed as its
own raw-DEFLATE segment at level 9 ended with a sync flush (byte-aligned, not final, and never
referring back into another chunk); the segments are joined behind the `78 da` header, the stream
is closed with an empty final block and the Adler-32 of all bytes is appended. Any zlib decoder
reads this as one ordinary stream, and a status change recompresses just its own chunk.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from vc.base64url import b64url_encode
from vc.status_list import StatusList

__all__ = ["CHUNK_BYTES", "PackedStatusList"]

CHUNK_BYTES = 8192
"""8 KiB: ~0.3 ms per sparse chunk, ~4 ms per dense (10 %) chunk; ~1 KiB larger than one stream."""
_ZLIB_HEADER = b"\x78\xda"  # DEFLATE, 32 KiB window, FLEVEL 3 (level 9)
_FINAL_EMPTY_BLOCK = b"\x03\x00"  # BFINAL=1, fixed Huffman, end-of-block


def _compress_chunk(chunk: bytes) -> bytes:
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    return deflater.compress(chunk) + deflater.flush(zlib.Z_SYNC_FLUSH)


class PackedStatusList:
    """A status list plus the compressed segment of each chunk; `lst()` redoes only dirty ones."""

    __slots__ = ("_list", "_segments")

    def __init__(self, status_list: StatusList) -> None:
        self._list = status_list
        chunks = (len(status_list.to_bytes()) + CHUNK_BYTES - 1) // CHUNK_BYTES
        self._segments: list[bytes | None] = [None] * chunks

    @classmethod
    def build(cls, size: int, bits: int, entries: Iterable[tuple[int, int]]) -> PackedStatusList:
        """A list of `size` entries, all VALID except the given (index, status) pairs."""
        status_list = StatusList(size, bits)
        for idx, value in entries:
            status_list.set(idx, value)
        return cls(status_list)

    @property
    def size(self) -> int:
        return self._list.size

    @property
    def bits(self) -> int:
        return self._list.bits

    def get(self, idx: int) -> int:
        return self._list.get(idx)

    def set(self, idx: int, value: int) -> None:
        if self._list.get(idx) == value:
            return
        self._list.set(idx, value)
        self._segments[(idx * self._list.bits // 8) // CHUNK_BYTES] = None

    def to_bytes(self) -> bytes:
        return self._list.to_bytes()

    def copy(self) -> PackedStatusList:
        """An independent copy sharing the (immutable) compressed segments."""
        twin = PackedStatusList(StatusList(self._list.size, self._list.bits, self._list.to_bytes()))
        twin._segments = list(self._segments)
        return twin

    def compressed(self) -> bytes:
        """The ZLIB stream (RFC 1950) of the packed bytes, recompressing dirty chunks only."""
        data = self._list.to_bytes()
        for n, segment in enumerate(self._segments):
            if segment is None:
                self._segments[n] = _compress_chunk(data[n * CHUNK_BYTES : (n + 1) * CHUNK_BYTES])
        body = b"".join(s for s in self._segments if s is not None)
        return b"".join(
            (_ZLIB_HEADER, body, _FINAL_EMPTY_BLOCK, zlib.adler32(data).to_bytes(4, "big"))
        )

    def lst(self) -> str:
        """The `status_list.lst` value."""
        return b64url_encode(self.compressed())

    def to_json(self) -> dict[str, int | str]:
        """The `status_list` claim of a Status List Token."""
        return {"bits": self._list.bits, "lst": self.lst()}
