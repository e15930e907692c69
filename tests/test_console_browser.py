"""The console in a real browser: Debian's Chromium, headless, driven by Playwright.

A Kota City officer signs in, sees a new alert appear without a reload, opens it,
acknowledges and resolves it, and the board empties; another room never sees it.
The screenshots these tests take are the ones in the README: they go to
``REDFLAG_SCREENSHOTS_DIR`` (``docs/screenshots`` to renew the README's), else to a
temporary directory.

Chromium comes from the system (``/usr/bin/chromium``); Playwright never downloads
one here. Without it these tests are skipped, except in CI, which installs it.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.clock import ShiftedClock
from app.console_text import LABELS
from app.fake_receivers import FakeControlRoom
from app.local_server import ServiceThread
from tests.builders import alert, meta_body, meta_headers
from tests.conftest import example_rooms
from tests.test_control_room_api import ADMIN_KEY, Api

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

CHROMIUM = os.environ.get("REDFLAG_TEST_CHROMIUM") or shutil.which("chromium")
# What the machine's notes say a headless Chromium needs on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STUDENT = {
    "display_name": "Sample Student",
    "username": "sample_user_01",
    "profile_url": "https://instagram.example/sample_user_01",
}

if CHROMIUM is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Chromium for the console tests (apt: chromium)")
    pytest.skip("no Chromium on this machine (apt: chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("REDFLAG_SCREENSHOTS_DIR")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


class Desk:
    """The service, its keys, and a way to post a signed webhook."""

    def __init__(self, service: ServiceThread):
        self.service = service
        self.url = service.url
        self.api = Api(service)

    def post_alert(self, alert_id: str, **fields: Any) -> str:
        body = meta_body(alert(alert_id, **fields))
        response = httpx.post(
            self.url + "/webhooks/meta", content=body, headers=meta_headers(body)
        )
        assert response.status_code == 200
        self.service.settled()
        with self.api.as_admin() as admin:
            listed = admin.get("/v1/alerts").json()["alerts"]
        return next(a["reference"] for a in listed if a["alert_id"] == alert_id)

    def state(self, ref: str) -> str:
        with self.api.as_admin() as admin:
            return admin.get(f"/v1/alerts/{ref}").json()["state"]


@pytest.fixture
def desk(start_service: Callable[..., ServiceThread], room: FakeControlRoom) -> Desk:
    # Stand at 03:10 IST, the hour the console is built for.
    clock = ShiftedClock()
    clock.stand_at(datetime(2026, 12, 4, 21, 40, tzinfo=UTC).timestamp())
    service = start_service(
        clock=clock,
        rooms=example_rooms(room.url, escalation=None),
        admin_key=ADMIN_KEY,
    )
    return Desk(service)


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., Any]]:
    contexts: list[Any] = []

    def open_(**options: Any) -> Any:
        context = browser.new_context(**options)
        contexts.append(context)
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()


def sign_in(page: Any, desk: Desk, room_id: str, *, officer: str = "") -> None:
    page.goto(desk.url + "/console")
    page.get_by_label(LABELS["key"][0]).fill(desk.api.key_for(room_id))
    if officer:
        page.get_by_label(LABELS["officer"][0]).fill(officer)
    page.get_by_role("button", name=LABELS["sign_in"][0]).click()
    expect(page.get_by_role("heading", name=LABELS["open_alerts"][0])).to_be_visible()


def test_kota_city_works_an_alert_from_the_board_to_resolved(
    desk: Desk, open_page: Callable[..., Any], screenshots: Path
) -> None:
    page = open_page(viewport={"width": 1280, "height": 800})
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    sign_in(page, desk, "kota-city", officer="SI R. Meena")
    expect(page.get_by_text(LABELS["no_open_alerts"][0])).to_be_visible()
    page.get_by_role("button", name=LABELS["sound_off"][0]).click()
    expect(page.get_by_role("button", name=LABELS["sound_on"][0])).to_be_visible()

    # A Kota student, posted while the board is open: it appears without a reload,
    # with a visible cue, and the sound plays.
    ref = desk.post_alert(
        "rf-browser-kota",
        subject=STUDENT,
        location={"locality": "Talwandi", "city": "Kota", "pincode": "324005"},
    )
    posted = time.monotonic()
    row = page.locator(f'tr[data-ref="{ref}"]')
    expect(row).to_be_visible(timeout=2000)
    appeared_s = time.monotonic() - posted
    expect(page.locator("#cue")).to_contain_text(ref)
    assert page.get_attribute("body", "data-last-cue-sound") == "yes"
    assert page.title().startswith("(1) ")
    expect(row).to_contain_text("Kota City")
    expect(row).to_contain_text(LABELS["risk_high"][0])
    expect(row).to_contain_text(LABELS["state_notifying"][0])
    expect(row).not_to_contain_text("Sample Student")
    page.screenshot(path=screenshots / "board.png", full_page=True)

    # The alert page: the person, the placement, the timeline.
    row.get_by_role("link", name=ref).click()
    expect(
        page.get_by_role("heading", name=f"{LABELS['alert'][0]} {ref}")
    ).to_be_visible()
    expect(page.get_by_text("Sample Student")).to_be_visible()
    expect(page.get_by_text("sample_user_01", exact=True)).to_be_visible()
    expect(page.get_by_text("अब और नहीं सहा जाता")).to_be_visible()
    expect(page.locator("section", has_text=LABELS["placement"][0])).to_contain_text(
        "Kota City"
    )
    expect(page.locator(".timeline")).to_contain_text(LABELS["event_routed"][0])
    page.screenshot(path=screenshots / "alert.png", full_page=True)

    # Acknowledge, then resolve with an outcome and a note.
    page.get_by_role("button", name=LABELS["acknowledge"][0]).click()
    expect(page.get_by_text(LABELS["done_acknowledge"][0])).to_be_visible()
    expect(page.locator(".actions")).to_contain_text("SI R. Meena")
    page.get_by_label(LABELS["outcome"][0]).select_option("reached_safe")
    page.get_by_label(LABELS["note"][0]).fill("Warden and parents with her")
    page.get_by_role("button", name=LABELS["resolve"][0]).click()
    expect(page.get_by_text(LABELS["done_resolve"][0])).to_be_visible()
    assert desk.state(ref) == "resolved"

    # Back on the board, the alert is gone.
    page.get_by_role("link", name=LABELS["back"][0]).click()
    expect(page.locator(f'tr[data-ref="{ref}"]')).to_have_count(0)
    expect(page.get_by_text(LABELS["no_open_alerts"][0])).to_be_visible()

    assert appeared_s < 2.0
    assert requested and all(url.startswith(desk.url + "/") for url in requested)


def test_another_room_finds_nothing_of_the_alert(
    desk: Desk, open_page: Callable[..., Any]
) -> None:
    kota = open_page()
    sign_in(kota, desk, "kota-city")
    ref = desk.post_alert("rf-browser-private", location={"pincode": "324005"})
    expect(kota.locator(f'tr[data-ref="{ref}"]')).to_be_visible(timeout=2000)

    ajmer = open_page()
    sign_in(ajmer, desk, "ajmer")
    ajmer.wait_for_timeout(1500)  # at least one refresh of the board
    board_text = ajmer.locator("main").inner_text()
    ajmer.goto(f"{desk.url}/console/alerts/{ref}")
    alert_text = ajmer.locator("main").inner_text()

    assert ref not in board_text
    assert LABELS["not_found"][0] in alert_text
    assert "Sample Student" not in alert_text


def test_the_board_says_so_when_it_cannot_refresh(
    desk: Desk, open_page: Callable[..., Any]
) -> None:
    """A proxy answering 502 while the service restarts: the desk must see that the
    board is stale, and the board must catch up once it is back."""
    page = open_page()
    sign_in(page, desk, "kota-city")
    expect(page.locator("#updated")).to_contain_text(LABELS["updated"][0])
    page.route("**/console/board", lambda route: route.fulfill(status=502))
    offline = page.get_by_text(LABELS["connection_lost"][0])

    expect(offline).to_be_visible(timeout=3000)
    ref = desk.post_alert("rf-browser-stale", location={"pincode": "324005"})
    page.unroute("**/console/board")

    expect(page.locator(f'tr[data-ref="{ref}"]')).to_be_visible(timeout=3000)
    expect(offline).to_be_hidden()


def test_at_360_pixels_nothing_scrolls_sideways(
    desk: Desk, open_page: Callable[..., Any], screenshots: Path
) -> None:
    page = open_page(viewport={"width": 360, "height": 740}, is_mobile=True)
    sign_in(page, desk, "kota-city")
    ref = desk.post_alert(
        "rf-browser-phone",
        subject=STUDENT | {"profile_url": "https://instagram.example/" + "x" * 120},
        location={"pincode": "324005"},
    )
    row = page.locator(f'tr[data-ref="{ref}"]')
    expect(row).to_be_visible(timeout=2000)

    board_width = page.evaluate("document.documentElement.scrollWidth")
    page.screenshot(path=screenshots / "board-phone.png", full_page=True)
    row.get_by_role("link", name=ref).click()
    expect(page.get_by_text("Sample Student")).to_be_visible()
    alert_width = page.evaluate("document.documentElement.scrollWidth")
    button = page.get_by_role("button", name=LABELS["acknowledge"][0])
    box = button.bounding_box()

    assert (board_width, alert_width) == (360, 360)
    assert box is not None and box["height"] >= 44  # a thumb can hit it


def test_the_desk_works_an_alert_with_the_keyboard_alone(
    desk: Desk, open_page: Callable[..., Any]
) -> None:
    ref = desk.post_alert("rf-browser-keys", location={"pincode": "324005"})
    page = open_page()
    page.goto(desk.url + "/console")
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # the brand
    for _ in range(6):
        if page.evaluate("document.activeElement.id") == "key":
            break
        page.keyboard.press("Tab")
    page.keyboard.type(desk.api.key_for("kota-city"))
    page.keyboard.press("Enter")
    expect(page.locator(f'tr[data-ref="{ref}"]')).to_be_visible()

    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == ref:
            break
    page.keyboard.press("Enter")
    expect(
        page.get_by_role("heading", name=f"{LABELS['alert'][0]} {ref}")
    ).to_be_visible()
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "acknowledge":
            break
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    page.keyboard.press("Enter")
    expect(page.get_by_text(LABELS["done_acknowledge"][0])).to_be_visible()

    assert outline == "solid"  # the focus can be seen
    assert desk.state(ref) == "acknowledged"


# The contrast ratio of every piece of text against the colour behind it (WCAG 2).
CONTRAST = """() => {
  const luminance = (rgb) => {
    const [r, g, b] = rgb.map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const parse = (css) => css.match(/[\\d.]+/g).map(Number);
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = parse(getComputedStyle(el).backgroundColor);
      if (c.length < 4 || c[3] > 0) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const worst = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!node.textContent.trim() || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden") continue;
    const fg = luminance(parse(style.color).slice(0, 3));
    const bg = luminance(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    worst.push([Math.round(ratio * 100) / 100, node.textContent.trim().slice(0, 30)]);
  }
  return worst.sort((a, b) => a[0] - b[0]).slice(0, 5);
}"""


def test_every_text_on_the_board_and_the_alert_page_is_readable(
    desk: Desk, open_page: Callable[..., Any]
) -> None:
    refs = [
        desk.post_alert(
            f"rf-browser-contrast-{level}",
            risk={"category": "self_harm", "level": level},
            location={"pincode": "324005"},
        )
        for level in ("imminent", "high", "medium", "low")
    ]
    page = open_page()
    sign_in(page, desk, "kota-city")
    board = page.evaluate(CONTRAST)
    page.goto(f"{desk.url}/console/alerts/{refs[0]}")
    alert_page = page.evaluate(CONTRAST)

    assert board and alert_page
    assert board[0][0] >= 4.5, board
    assert alert_page[0][0] >= 4.5, alert_page


# Whether the page's font shapes Devanagari: with a font that has it, "स्व" is one
# conjunct, narrower than its three characters drawn apart; with empty boxes, or a
# font that cannot join them, it is not.
SHAPING = """() => {
  const canvas = document.createElement("canvas").getContext("2d");
  canvas.font = getComputedStyle(document.querySelector("button")).font;
  const width = (text) => canvas.measureText(text).width;
  return {joined: width("स्व"), apart: width("स") + width("्") + width("व")};
}"""


def test_the_board_and_the_alert_page_in_hindi(
    desk: Desk, open_page: Callable[..., Any], screenshots: Path
) -> None:
    ref = desk.post_alert("rf-browser-hindi", location={"pincode": "324005"})
    page = open_page(viewport={"width": 1280, "height": 800})
    sign_in(page, desk, "kota-city")

    page.get_by_role("link", name=LABELS["other_language"][0]).click()
    expect(page.get_by_role("heading", name=LABELS["open_alerts"][1])).to_be_visible()
    row = page.locator(f'tr[data-ref="{ref}"]')
    expect(row).to_contain_text(LABELS["state_notifying"][1])
    page.screenshot(path=screenshots / "board-hindi.png", full_page=True)
    row.get_by_role("link", name=ref).click()
    expect(page.get_by_role("button", name=LABELS["acknowledge"][1])).to_be_visible()
    shaped = page.evaluate(SHAPING)

    assert page.get_attribute("html", "lang") == "hi"
    assert shaped["joined"] < shaped["apart"], shaped
