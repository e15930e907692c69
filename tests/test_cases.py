"""Every sample request of app/data/cases/cases.json, sent as its exact bytes to the
real service, with each expectation checked and each alert delivered to its rooms."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.demo import Demo, check_case, delivery_table, load_cases
from tests.databases import Databases
from tests.test_notifiers import wait_until

CASES = load_cases()


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory, databases: Databases
) -> Iterator[Demo]:
    workdir = Path(tmp_path_factory.mktemp("cases"))
    with databases.fresh(workdir) as url:
        running = Demo.start(workdir, database_url=url)
        yield running
        running.stop()


@pytest.fixture(scope="module")
def client(demo: Demo) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=demo.service.url, timeout=10) as http:
        yield http


def case_by_id(case_id: str) -> dict:
    return next(case for case in CASES if case["id"] == case_id)


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_case_meets_its_expectation(
    demo: Demo, client: httpx.Client, case: dict
) -> None:
    if case["id"] == "c16-duplicate-of-c01":
        demo.send_case(client, case_by_id("c01-kota-hindi"))

    response = demo.send_case(client, case)

    assert check_case(demo, case, response) == []


def test_every_alert_of_the_cases_reaches_each_of_its_rooms_once_per_channel(
    demo: Demo, client: httpx.Client
) -> None:
    for case in CASES:
        demo.send_case(client, case)
    expected = {
        (row["idempotency_key"], row["room_id"], row["channel"])
        for row in delivery_table(demo.settings)
    }

    received = demo.room.wait_for(
        sum(1 for _, _, channel in expected if channel == "http"), timeout_s=20
    )
    demo.sms.wait_for(sum(1 for _, _, channel in expected if channel == "sms"))

    http_keys = sorted(r.headers["webhook-id"] for r in received)
    assert http_keys == sorted(k for k, _, channel in expected if channel == "http")
    assert {r.path.removeprefix("/rooms/") for r in received} == {
        room for _, room, channel in expected if channel == "http"
    }
    wait_until(
        lambda: all(
            row["state"] == "delivered" for row in delivery_table(demo.settings)
        )
    )
