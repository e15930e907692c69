"""The names the rest of the service may rely on: current districts, police districts.

Read from the reference data under ``app/data`` (see ``app/data/SOURCES.md``).
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
KOTA = "Kota"
KOTA_CITY = "Kota City"
KOTA_RURAL = "Kota Rural"


@cache
def current_districts() -> tuple[str, ...]:
    """The 41 revenue districts in force since 2024-12-28, in English."""
    with (DATA_DIR / "rajasthan_districts.csv").open(encoding="utf-8") as fh:
        rows = csv.DictReader(fh)
        return tuple(row["district_en"] for row in rows if row["status"] == "current")


@cache
def police_districts() -> tuple[str, ...]:
    """Territorial police districts in force, with the commissionerates' short names."""
    names = []
    with (DATA_DIR / "rajasthan_police_districts.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["kind"] == "railway_police" or row["status"].startswith("abolished"):
                continue
            names.append(row["police_district"].split(" (")[0])
    return tuple(names)
