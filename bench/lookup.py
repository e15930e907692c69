"""Placement benchmark: how fast the gazetteer places a location, on one core.

    .venv/bin/python bench/lookup.py [--seconds 2.0]

Measures, in one process and one thread:

- load: the time and memory to build the gazetteer from app/data (memory as the
  tracemalloc peak of the build and the growth of the resident set);
- names: district names, spelling variants and India Post town names, English and
  Devanagari, in the district or city field;
- pins: every PIN of the India Post data for Rajasthan;
- fuzzy: free text with misspellings, noise words, affixes and a state, read by
  ``place_text``;
- points: coordinates scattered over and around Rajasthan, accuracy 50 m.

Each workload runs twice: as partners send (the same names again and again, so the
gazetteer's cache of name readings is warm after the first pass), and with that
cache cleared before every pass of 5,000 inputs (each text read for the first time,
bar repeats within a pass).

Inputs are generated from the data with a fixed seed, so runs compare. Prints a
summary and writes it as JSON to ``bench/results/lookup-<date>.json``.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import platform
import random
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.gazetteer import DEFAULT_DATA_DIR, Gazetteer  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SEED = 20261203
SAMPLES = 5_000
NOISE = ("near bus stand", "Distt.", "District", "जिला", "(Raj.)", "Rajasthan", "po")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="per workload")
    args = parser.parse_args()

    load = measure_load()
    gazetteer = Gazetteer(DEFAULT_DATA_DIR)
    rng = random.Random(SEED)
    workloads = {
        "names": (names(rng), gazetteer.place),
        "pins": (pins(rng), gazetteer.place),
        "fuzzy": (fuzzy_texts(rng), gazetteer.place_text),
        "points": (points(rng), gazetteer.place),
    }
    rates = {
        name: rate(call, inputs, args.seconds)
        for name, (inputs, call) in workloads.items()
    }
    first_readings = {
        name: rate(call, inputs, args.seconds, before_pass=gazetteer.clear_caches)
        for name, (inputs, call) in workloads.items()
    }

    report = {
        "benchmark": "lookup",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python bench/lookup.py " + " ".join(sys.argv[1:]),
        "machine": {"python": platform.python_version(), "cpu": platform.machine()},
        "load": load,
        "placements_per_second": rates,
        "placements_per_second_caches_cleared_each_pass": first_readings,
        "targets": {
            "names": 20_000,
            "pins": 20_000,
            "fuzzy": 5_000,
            "points": 5_000,
            "load_seconds": 1.0,
            "load_mb": 60,
        },
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"lookup-{datetime.now(UTC):%Y-%m-%d}.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")


def measure_load() -> dict[str, float]:
    """Build the gazetteer once cold: seconds, tracemalloc peak, RSS growth."""
    gc.collect()
    rss_before = _rss_mb()
    started = time.perf_counter()
    Gazetteer(DEFAULT_DATA_DIR)
    seconds = time.perf_counter() - started
    rss_after = _rss_mb()

    tracemalloc.start()
    Gazetteer(DEFAULT_DATA_DIR)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "seconds": round(seconds, 3),
        "tracemalloc_peak_mb": round(peak / 2**20, 1),
        "rss_growth_mb": round(rss_after - rss_before, 1),
        "rss_total_mb": round(rss_after, 1),
    }


def rate(
    call: Callable,
    inputs: list,
    seconds: float,
    before_pass: Callable[[], None] | None = None,
) -> float:
    """Placements per second, cycling through `inputs` for about `seconds`;
    `before_pass` (untimed) runs before each pass, e.g. to forget cached names."""
    for item in inputs[:200]:  # warm-up
        call(item)
    done, elapsed = 0, 0.0
    while elapsed < seconds:
        if before_pass is not None:
            before_pass()
        started = time.perf_counter()
        for item in inputs:
            call(item)
        elapsed += time.perf_counter() - started
        done += len(inputs)
    return round(done / elapsed)


def names(rng: random.Random) -> list[dict]:
    rows = _rows("rajasthan_districts.csv")
    spellings = [a for row in rows for a in row["aliases"].split("|") if a]
    spellings += [row["district_hi"] for row in rows]
    towns = sorted({row["office_name"] for row in _rows("rajasthan_pincodes.csv")})
    towns = [_office_name(name) for name in towns]
    chosen = spellings * 20 + rng.sample(towns, SAMPLES // 2)
    rng.shuffle(chosen)
    fields = ("district", "city")
    return [{rng.choice(fields): name} for name in chosen[:SAMPLES]]


def pins(rng: random.Random) -> list[dict]:
    found = sorted({row["pincode"] for row in _rows("rajasthan_pincodes.csv")})
    rng.shuffle(found)
    return [{"pincode": pin} for pin in found]


def fuzzy_texts(rng: random.Random) -> list[str]:
    rows = _rows("rajasthan_districts.csv")
    base = [row["district_en"] for row in rows] + [
        _office_name(row["office_name"])
        for row in rng.sample(_rows("rajasthan_pincodes.csv"), 300)
    ]
    texts = []
    for _ in range(SAMPLES):
        name = _misspell(rng, rng.choice(base))
        words = [name, *rng.sample(NOISE, rng.randint(1, 3))]
        rng.shuffle(words)
        texts.append(" ".join(words))
    return texts


def points(rng: random.Random) -> list[dict]:
    """Points over a box a little larger than Rajasthan (23.0-30.2 N, 69.5-78.3 E)."""
    return [
        {
            "lat": round(rng.uniform(23.0, 30.2), 5),
            "lon": round(rng.uniform(69.5, 78.3), 5),
            "accuracy_m": 50,
        }
        for _ in range(SAMPLES)
    ]


def _misspell(rng: random.Random, name: str) -> str:
    if len(name) < 6:
        return name
    i = rng.randrange(1, len(name) - 1)
    edit = rng.choice(("drop", "double", "swap", "lower"))
    if edit == "drop":
        return name[:i] + name[i + 1 :]
    if edit == "double":
        return name[:i] + name[i] + name[i:]
    if edit == "swap":
        return name[: i - 1] + name[i] + name[i - 1] + name[i + 1 :]
    return name.lower()


def _office_name(name: str) -> str:
    for suffix in (" S.O", " B.O", " H.O"):
        name = name.removesuffix(suffix)
    return name


def _rows(name: str) -> list[dict[str, str]]:
    with (DEFAULT_DATA_DIR / name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _rss_mb() -> float:
    """Resident set size now, from /proc (Linux); the peak elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
