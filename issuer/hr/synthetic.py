"""Synthetic HR exports for load and scale work (`mobileid hr generate`): never production data.

Writes a CSV in exactly the format `mobileid hr import` reads (`schemas.hr_record`), headed by a
`#` comment line saying what it is. Central agencies (e-사람) and local governments (인사랑) with
agency-scoped department codes, positions with their grades, employment types and statuses in
plausible proportions, a few dispatched employees, phone numbers in the unassigned 010-0xxx block
(no message can reach a real person) and small grey JPEG photos as data URIs. A seeded RNG makes
the same file for the same seed; rows are streamed to the file, so a national population (1.2
million rows, about 500 MB) never sits in memory. The file is created 0600 (it has the shape of
personal data, whatever its origin).
"""

from __future__ import annotations

import base64
import csv
import io
import os
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path

from PIL import Image

from schemas.hr_record import HR_COLUMNS

__all__ = ["SYNTHETIC_MARK", "SyntheticSource", "synthetic_rows", "write_synthetic_hr_file"]

SYNTHETIC_MARK = "# 합성 자료 / SYNTHETIC HR data for load and scale tests; never production data"

# (agency, code, relative head count). Codes have the shape of 행정기관코드; head counts are rough.
_CENTRAL = (
    ("행정안전부", "1741000", 4),
    ("기획재정부", "1051000", 2),
    ("교육부", "1342000", 3),
    ("외교부", "1262000", 2),
    ("법무부", "1270000", 6),
    ("국방부", "1290000", 5),
    ("보건복지부", "1352000", 3),
    ("고용노동부", "1492000", 3),
    ("국토교통부", "1613000", 3),
    ("환경부", "1480000", 2),
    ("국세청", "1210000", 8),
    ("관세청", "1220000", 3),
    ("통계청", "1240000", 2),
    ("경찰청", "1320000", 40),
    ("소방청", "1661000", 17),
    ("우정사업본부", "1721100", 10),
)
_LOCAL = (
    ("서울특별시", "6110000", 12),
    ("부산광역시", "6260000", 6),
    ("대구광역시", "6270000", 4),
    ("인천광역시", "6280000", 4),
    ("광주광역시", "6290000", 3),
    ("대전광역시", "6300000", 3),
    ("울산광역시", "6310000", 2),
    ("세종특별자치시", "5690000", 1),
    ("경기도", "6410000", 14),
    ("강원특별자치도", "6530000", 4),
    ("충청북도", "6430000", 3),
    ("충청남도", "6440000", 4),
    ("전북특별자치도", "6540000", 4),
    ("전라남도", "6460000", 5),
    ("경상북도", "6470000", 6),
    ("경상남도", "6480000", 6),
    ("제주특별자치도", "6500000", 1),
)
_DEPARTMENTS = (
    "기획조정실",
    "운영지원과",
    "인사과",
    "감사담당관",
    "정책기획과",
    "재정담당관",
    "디지털정부과",
    "정보화담당관",
    "민원봉사과",
    "안전총괄과",
    "복지정책과",
    "일자리경제과",
    "도시계획과",
    "환경관리과",
    "교통행정과",
    "문화관광과",
)
# (position 직위, grade 직급, weight): most servants are 주무관 in grades 6-9.
_POSITIONS = (
    ("주무관", "9급", 14),
    ("주무관", "8급", 16),
    ("주무관", "7급", 22),
    ("주무관", "6급", 20),
    ("팀장", "6급", 8),
    ("사무관", "5급", 9),
    ("과장", "4급", 5),
    ("서기관", "4급", 3),
    ("국장", "3급", 2),
    ("실장", "2급", 1),
)
_TYPES = (("general", 78), ("special", 16), ("fixed_term", 3), ("part_time", 2), ("political", 1))
_STATUSES = (("active", 95), ("leave", 4), ("retired", 1))
_SURNAMES = (
    ("김", "Kim"),
    ("이", "Lee"),
    ("박", "Park"),
    ("최", "Choi"),
    ("정", "Jung"),
    ("강", "Kang"),
    ("조", "Cho"),
    ("윤", "Yoon"),
    ("장", "Jang"),
    ("임", "Lim"),
    ("한", "Han"),
    ("오", "Oh"),
)
_SYLLABLES = (
    ("민", "min"),
    ("서", "seo"),
    ("지", "ji"),
    ("현", "hyun"),
    ("준", "jun"),
    ("영", "young"),
    ("수", "su"),
    ("은", "eun"),
    ("하", "ha"),
    ("도", "do"),
    ("윤", "yun"),
    ("우", "woo"),
    ("진", "jin"),
    ("혜", "hye"),
    ("성", "seong"),
    ("희", "hee"),
)
_PHOTOS = 32
_AS_OF = date(2026, 1, 1)  # retirement dates count from here, so a seed makes one file
_DEPARTMENTS_PER_AGENCY = 12
_DISPATCHED_SHARE = 0.01


class SyntheticSource(StrEnum):
    """Which agencies a synthetic file holds."""

    central = "central"
    local = "local"
    all = "all"  # a national file


@dataclass(frozen=True, slots=True)
class _Agency:
    name: str
    code: str
    prefix: str
    """Employee numbers: G (central government) or L (local government), then digits."""


def _photo_pool(rng: random.Random) -> list[str]:
    """Small grey JPEGs (12x16, about 170 bytes) with a random tone and gradient each."""
    photos = []
    for _ in range(_PHOTOS):
        tone, step = rng.randrange(60, 200), rng.randrange(1, 4)
        image = Image.new("L", (12, 16))
        image.putdata([min(255, tone + step * (x + y)) for y in range(16) for x in range(12)])
        buf = io.BytesIO()
        image.save(buf, format="JPEG", quality=30, optimize=True)
        photos.append("data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode())
    return photos


def _weighted(rng: random.Random, items: tuple[tuple[str, int], ...]) -> Callable[[], str]:
    values = [v for v, _ in items]
    cumulative = [sum(w for _, w in items[: n + 1]) for n in range(len(items))]
    return lambda: rng.choices(values, cum_weights=cumulative)[0]


def synthetic_rows(
    count: int, *, seed: int, source: SyntheticSource = SyntheticSource.all
) -> Iterator[dict[str, str]]:
    """`count` HR rows (column -> cell text), reproducible for a seed, one at a time."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, no secret
    chosen = [(_CENTRAL, "G"), (_LOCAL, "L")]
    if source is not SyntheticSource.all:
        chosen = chosen[:1] if source is SyntheticSource.central else chosen[1:]
    agencies = [(_Agency(n, c, p), w) for table, p in chosen for n, c, w in table]
    weights = [w for _, w in agencies]
    photos = _photo_pool(rng)
    employment_type = _weighted(rng, _TYPES)
    employment_status = _weighted(rng, _STATUSES)
    position_weights = [w for *_, w in _POSITIONS]
    for n in range(count):
        agency = rng.choices(agencies, weights)[0][0]
        department = rng.randrange(_DEPARTMENTS_PER_AGENCY)
        position, grade, _ = rng.choices(_POSITIONS, position_weights)[0]
        surname, surname_en = rng.choice(_SURNAMES)
        (a, a_en), (b, b_en) = rng.choice(_SYLLABLES), rng.choice(_SYLLABLES)
        status = employment_status()
        if status == "retired":
            retirement = _AS_OF - timedelta(days=rng.randrange(1, 365))
        elif rng.random() < 0.05:
            retirement = _AS_OF + timedelta(days=rng.randrange(30, 3650))
        else:
            retirement = None
        dispatched = rng.random() < _DISPATCHED_SHARE
        yield {
            "employee_number": f"{agency.prefix}{n + 1:08d}",
            "name": surname + a + b,
            "name_en": f"{surname_en} {(a_en + b_en).capitalize()}",
            "agency": agency.name,
            "agency_code": agency.code,
            "department": _DEPARTMENTS[(department + int(agency.code)) % len(_DEPARTMENTS)],
            "department_code": f"{agency.code}-{department + 1:03d}",
            "position": position,
            "grade": grade,
            "employment_type": employment_type(),
            "employment_status": status,
            "retirement_date": retirement.isoformat() if retirement else "",
            "dispatched_to_agency_code": rng.choice(agencies)[0].code if dispatched else "",
            "phone": f"010-0{rng.randrange(1000):03d}-{rng.randrange(10000):04d}",
            "photo": rng.choice(photos),
        }


def write_synthetic_hr_file(
    path: Path,
    count: int,
    *,
    seed: int,
    source: SyntheticSource = SyntheticSource.all,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Write `count` synthetic rows to `path` (created 0600, replaced if it exists)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_TRUNC
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write(f"{SYNTHETIC_MARK} (mobileid hr generate --seed {seed})\n")
        writer = csv.DictWriter(fh, fieldnames=HR_COLUMNS)
        writer.writeheader()
        for n, row in enumerate(synthetic_rows(count, seed=seed, source=source), start=1):
            writer.writerow(row)
            if progress is not None and n % 10_000 == 0:
                progress(10_000)
        if progress is not None:
            progress(count % 10_000)
