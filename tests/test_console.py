"""The console over HTTP: signing in and out, the session cookie, forms that only
this site can post, the board and the alert page, and a room that sees only its own.
What a browser does with the pages is in test_console_browser.py."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.clock import FrozenClock
from app.console_text import LABELS
from app.fake_receivers import FakeControlRoom
from app.local_server import ServiceThread
from tests.builders import alert, meta_body, meta_headers
from tests.conftest import example_rooms
from tests.test_control_room_api import ADMIN_KEY, Api

NOW = datetime(2026, 12, 4, 21, 30, tzinfo=UTC)  # 03:00 IST on the 5th
PERSON = ("Sample Student", "sample_user_01", "+919999900001", "अब और नहीं सहा जाता")


class Console:
    """A browser's view: one cookie jar per signed-in room."""

    def __init__(self, service: ServiceThread, clock: FrozenClock):
        self.service = service
        self.clock = clock
        self.api = Api(service)

    def browser(self) -> httpx.Client:
        return httpx.Client(base_url=self.service.url, timeout=10)

    def sign_in(self, key: str, *, officer: str = "") -> httpx.Client:
        browser = self.browser()
        form = browser.get("/console/sign-in")
        response = browser.post(
            "/console/sign-in",
            data={"csrf": form_token(form.text), "key": key, "officer": officer},
            headers={"origin": self.service.url},
        )
        assert response.status_code == 303, response.text
        return browser

    def sign_in_room(self, room_id: str, **kwargs: str) -> httpx.Client:
        return self.sign_in(self.api.key_for(room_id), **kwargs)

    def post_alert(self, alert_id: str, **location: str) -> str:
        body = meta_body(alert(alert_id, location=location))
        response = httpx.post(
            self.service.url + "/webhooks/meta",
            content=body,
            headers=meta_headers(body),
        )
        assert response.status_code == 200
        self.service.settled()
        with self.api.as_admin() as admin:
            listed = admin.get("/v1/alerts").json()["alerts"]
        return next(a["reference"] for a in listed if a["alert_id"] == alert_id)


def form_token(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no form token"
    return found.group(1)


@pytest.fixture
def console(
    start_service: Callable[..., ServiceThread], room: FakeControlRoom
) -> Iterator[Console]:
    clock = FrozenClock(NOW)
    service = start_service(
        clock=clock,
        rooms=example_rooms(room.url, escalation=None),
        admin_key=ADMIN_KEY,
        console_session_h=12,
    )
    yield Console(service, clock)


def test_signing_in_sets_a_session_cookie_that_scripts_cannot_read(
    console: Console,
) -> None:
    browser = console.browser()
    form = browser.get("/console/sign-in")

    response = browser.post(
        "/console/sign-in",
        data={"csrf": form_token(form.text), "key": console.api.key_for("kota-city")},
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/console"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if "rf_console=" in c
    )
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "samesite", "max-age", "path"} <= attributes
    assert "samesite=lax" in cookie.lower() and "max-age=43200" in cookie.lower()
    assert "secure" not in attributes  # plain HTTP on loopback
    assert browser.get("/console").status_code == 200


def test_the_cookie_is_secure_when_the_console_is_served_over_https(
    console: Console,
) -> None:
    """Behind a TLS proxy on loopback, uvicorn takes the scheme from the proxy."""
    browser = console.browser()
    https = {"x-forwarded-proto": "https"}
    form = browser.get("/console/sign-in", headers=https)
    # httpx keeps a Secure cookie for https:// only; the test speaks plain HTTP.
    sign_in_cookie = form.headers["set-cookie"].split(";")[0]

    response = browser.post(
        "/console/sign-in",
        data={"csrf": form_token(form.text), "key": console.api.key_for("ajmer")},
        headers=https | {"cookie": sign_in_cookie},
    )

    assert "secure" in [
        p.strip().lower() for p in form.headers["set-cookie"].split(";")
    ]
    session = next(
        c for c in response.headers.get_list("set-cookie") if "rf_console=" in c
    )
    assert "secure" in [p.strip().lower() for p in session.split(";")]


@pytest.mark.parametrize(
    "key", ["", "rfk_nope_nope", "x" * 500, "' OR 1=1 --", "\u0000\u202e"]
)
def test_a_wrong_key_gets_the_form_again_and_no_session(
    console: Console, key: str
) -> None:
    browser = console.browser()
    form = browser.get("/console/sign-in")

    response = browser.post(
        "/console/sign-in", data={"csrf": form_token(form.text), "key": key}
    )

    assert response.status_code == 401
    assert LABELS["key_wrong"][0] in response.text
    assert "rf_console=" not in " ".join(response.headers.get_list("set-cookie"))
    assert browser.get("/console").status_code == 303


def test_signing_in_without_the_forms_token_is_refused(console: Console) -> None:
    """A page elsewhere cannot sign an officer in to a session of its choosing."""
    browser = console.browser()

    response = browser.post(
        "/console/sign-in", data={"key": console.api.key_for("kota-city")}
    )

    assert response.status_code == 400
    assert "rf_console=" not in " ".join(response.headers.get_list("set-cookie"))


def test_every_page_needs_a_session(console: Console) -> None:
    ref = console.post_alert("rf-con-anon", pincode="324005")
    browser = console.browser()

    board = browser.get("/console")
    rows = browser.get("/console/board")
    page = browser.get(f"/console/alerts/{ref}")
    act = browser.post(f"/console/alerts/{ref}/acknowledge", data={"csrf": "x"})

    assert [r.status_code for r in (board, page, act)] == [303, 303, 303]
    assert board.headers["location"] == "/console/sign-in"
    assert rows.status_code == 401
    assert not any(part in r.text for r in (board, rows, page) for part in PERSON)


def test_the_board_shows_the_rooms_open_alerts_without_the_persons_details(
    console: Console,
) -> None:
    kota = console.post_alert("rf-con-board-1", pincode="324005")
    ajmer = console.post_alert("rf-con-board-2", district="Ajmer")
    browser = console.sign_in_room("kota-city")

    board = browser.get("/console")
    rows = browser.get("/console/board")

    assert board.status_code == 200
    assert kota in board.text and ajmer not in board.text
    assert "Kota City" in rows.text and "Notifying" in rows.text
    for page in (board, rows):
        assert not any(part in page.text for part in PERSON)
        assert page.headers["cache-control"] == "no-store"
        assert "default-src 'self'" in page.headers["content-security-policy"]


def test_the_board_answers_304_while_nothing_changes(console: Console) -> None:
    console.post_alert("rf-con-etag-1", pincode="324005")
    browser = console.sign_in_room("kota-city")
    first = browser.get("/console/board")

    same = browser.get(
        "/console/board", headers={"if-none-match": first.headers["etag"]}
    )
    console.post_alert("rf-con-etag-2", pincode="324005")
    changed = browser.get(
        "/console/board", headers={"if-none-match": first.headers["etag"]}
    )

    assert (same.status_code, changed.status_code) == (304, 200)
    assert "rf-con-etag-2" not in changed.text  # the partner's id is not shown
    assert changed.text.count("data-ref=") == 2


def test_the_board_is_304_on_a_clock_that_runs_too(
    start_service: Callable[..., ServiceThread], room: FakeControlRoom
) -> None:
    """Regression: the server's time was inside the rows, so no two polls matched."""
    service = start_service(
        rooms=example_rooms(room.url, escalation=None), admin_key=ADMIN_KEY
    )
    console = Console(service, FrozenClock(NOW))
    console.post_alert("rf-con-etag-clock", pincode="324005")
    browser = console.sign_in_room("kota-city")
    first = browser.get("/console/board")
    time.sleep(1.1)

    again = browser.get(
        "/console/board", headers={"if-none-match": first.headers["etag"]}
    )

    assert again.status_code == 304
    assert again.headers["x-server-now"] > first.headers["x-server-now"]


def test_the_board_puts_unacknowledged_and_urgent_alerts_first(
    console: Console,
) -> None:
    refs = {}
    for level in ("low", "imminent", "medium", "high"):
        body = meta_body(
            alert(
                f"rf-con-order-{level}",
                risk={"category": "suicide", "level": level},
                location={"district": "Tonk"},
            )
        )
        httpx.post(
            console.service.url + "/webhooks/meta",
            content=body,
            headers=meta_headers(body),
        )
    with console.api.as_admin() as admin:
        for item in admin.get("/v1/alerts").json()["alerts"]:
            refs[item["risk"]["level"]] = item["reference"]
        admin.post(f"/v1/alerts/{refs['imminent']}/acknowledge")
    browser = console.sign_in_room("tonk")

    rows = browser.get("/console/board").text

    order = re.findall(r'data-ref="([^"]+)"', rows)
    assert order == [refs[level] for level in ("high", "medium", "low", "imminent")]


def test_the_alert_page_shows_the_person_and_works_the_alert_to_resolved(
    console: Console,
) -> None:
    ref = console.post_alert("rf-con-work", pincode="324005")
    browser = console.sign_in_room("kota-city", officer="SI R. Meena")
    origin = {"origin": console.service.url}

    page = browser.get(f"/console/alerts/{ref}")
    token = form_token(page.text)
    acked = browser.post(
        f"/console/alerts/{ref}/acknowledge", data={"csrf": token}, headers=origin
    )
    after_ack = browser.get(acked.headers["location"])
    resolved = browser.post(
        f"/console/alerts/{ref}/resolve",
        data={"csrf": token, "outcome": "reached_safe", "note": "Parents with her"},
        headers=origin,
    )
    after_resolve = browser.get(resolved.headers["location"])
    again = browser.post(
        f"/console/alerts/{ref}/resolve",
        data={"csrf": token, "outcome": "other"},
        headers=origin,
    )

    assert all(part in page.text for part in PERSON)
    assert "324005" in page.text and "Kota City" in page.text
    assert acked.status_code == 303
    assert LABELS["done_acknowledge"][0] in after_ack.text
    assert "test (SI R. Meena)" in after_ack.text  # the key's label, not its id
    assert LABELS["done_resolve"][0] in after_resolve.text
    assert "Parents with her" in after_resolve.text
    assert again.headers["location"].endswith("?error=already_resolved")
    with console.api.as_room("kota-city") as kota:
        detail = kota.get(f"/v1/alerts/{ref}").json()
    assert detail["state"] == "resolved"
    assert detail["resolution"] == "reached_safe"
    assert detail["acknowledged_by"].endswith("(SI R. Meena)")
    assert ref not in browser.get("/console/board").text


def test_the_link_a_room_receives_opens_the_alert_in_the_console(
    console: Console, room: FakeControlRoom
) -> None:
    ref = console.post_alert("rf-con-link", pincode="324005")
    [received] = room.wait_for(1)
    link = httpx.URL(received.json()["link"])
    browser = console.sign_in_room("kota-city")

    page = browser.get(link.path)

    assert link.path == f"/console/alerts/{ref}"
    assert page.status_code == 200 and "Sample Student" in page.text


def test_what_the_partner_sent_is_shown_as_text_never_run(console: Console) -> None:
    body = meta_body(
        alert(
            "rf-con-xss",
            subject={
                "display_name": "<script>alert(1)</script>",
                "profile_url": "javascript:alert(2)",
            },
            content={
                "excerpt": '"><img src=x onerror=alert(3)>',
                "url": "https://ig.example/p/1",
            },
            location={"pincode": "324005", "locality": "{{ 7*7 }}"},
        )
    )
    httpx.post(
        console.service.url + "/webhooks/meta", content=body, headers=meta_headers(body)
    )
    with console.api.as_admin() as admin:
        [ref] = [a["reference"] for a in admin.get("/v1/alerts").json()["alerts"]]
    browser = console.sign_in_room("kota-city")

    page = browser.get(f"/console/alerts/{ref}").text

    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert "<img src=x" not in page
    assert 'href="javascript:' not in page and "javascript:alert(2)" in page
    assert '<a href="https://ig.example/p/1" rel="noopener noreferrer"' in page
    assert "{{ 7*7 }}" in page and ">49<" not in page


def test_a_form_without_the_sessions_token_changes_nothing(console: Console) -> None:
    ref = console.post_alert("rf-con-csrf", pincode="324005")
    browser = console.sign_in_room("kota-city")

    forged = browser.post(f"/console/alerts/{ref}/acknowledge", data={"csrf": "0" * 32})
    missing = browser.post(f"/console/alerts/{ref}/acknowledge")
    elsewhere = browser.post(
        f"/console/alerts/{ref}/acknowledge",
        data={"csrf": form_token(browser.get(f"/console/alerts/{ref}").text)},
        headers={"origin": "https://evil.example"},
    )

    assert forged.headers["location"].endswith("?error=form_expired")
    assert missing.headers["location"].endswith("?error=form_expired")
    assert elsewhere.status_code == 403
    with console.api.as_room("kota-city") as kota:
        assert kota.get(f"/v1/alerts/{ref}").json()["state"] == "notifying"


def test_another_room_sees_nothing_of_an_alert_and_cannot_act_on_it(
    console: Console,
) -> None:
    ref = console.post_alert("rf-con-private", pincode="324005")
    intruder = console.sign_in_room("ajmer")
    token = form_token(intruder.get("/console").text)

    board = intruder.get("/console")
    rows = intruder.get("/console/board")
    page = intruder.get(f"/console/alerts/{ref}")
    missing = intruder.get("/console/alerts/RF-NOSUCH1")
    acts = [
        intruder.post(
            f"/console/alerts/{ref}/{action}",
            data={"csrf": token, "outcome": "false_positive"},
        )
        for action in ("acknowledge", "unacknowledge", "resolve")
    ]

    assert ref not in board.text and ref not in rows.text
    assert (page.status_code, missing.status_code) == (404, 404)
    # Nothing tells the two apart but the address asked for (in the language link).
    assert page.text.replace(ref, "RF-NOSUCH1") == missing.text
    assert LABELS["not_found"][0] in page.text
    assert [r.status_code for r in acts] == [404, 404, 404]
    assert not any(part in r.text for r in (page, *acts) for part in PERSON)
    with console.api.as_room("kota-city") as kota:
        assert kota.get(f"/v1/alerts/{ref}").json()["state"] == "notifying"


def test_the_command_centres_admin_sees_every_room(console: Console) -> None:
    kota = console.post_alert("rf-con-admin-1", pincode="324005")
    ajmer = console.post_alert("rf-con-admin-2", district="Ajmer")
    browser = console.sign_in(ADMIN_KEY)

    rows = browser.get("/console/board").text

    assert kota in rows and ajmer in rows
    assert "kota-city" in rows and "ajmer" in rows  # the rooms column


def test_signing_out_ends_the_session_on_the_server(console: Console) -> None:
    browser = console.sign_in_room("kota-city")
    stolen = dict(browser.cookies)
    token = form_token(browser.get("/console").text)

    out = browser.post(
        "/console/sign-out",
        data={"csrf": token},
        headers={"origin": console.service.url},
    )
    replayed = httpx.get(console.service.url + "/console/board", cookies=stolen)

    assert out.headers["location"] == "/console/sign-in"
    assert replayed.status_code == 401


def test_a_session_expires_and_a_revoked_key_ends_it_at_once(
    console: Console,
) -> None:
    ajmer = console.sign_in_room("ajmer")
    tonk = console.sign_in_room("tonk")
    key_id = console.api.key_for("tonk").split("_")[1]

    from app.api_keys import revoke_key
    from app.store import Store

    store = Store(console.service.server.config.app.state.settings.database_url)
    try:
        store.write_sync(lambda conn: revoke_key(conn, key_id=key_id, now=NOW))
    finally:
        store.close()
    tonk_after_revoke = tonk.get("/console/board").status_code
    ajmer_before = ajmer.get("/console/board").status_code
    console.clock.at = NOW + timedelta(hours=12, seconds=1)
    ajmer_after = ajmer.get("/console/board").status_code

    assert (tonk_after_revoke, ajmer_before, ajmer_after) == (401, 200, 401)


def test_every_label_is_in_english_and_hindi_and_the_pages_switch() -> None:
    for key, (english, hindi) in LABELS.items():
        assert english.strip() and hindi.strip(), key
        if key != "other_language":
            assert re.search("[\u0900-\u097f]", hindi), f"{key} is not in Hindi"


def test_the_console_speaks_hindi_when_asked_and_remembers(console: Console) -> None:
    console.post_alert("rf-con-hindi", pincode="324005")
    browser = console.sign_in_room("kota-city")

    switched = browser.get("/console", params={"lang": "hi"})
    kept = browser.get("/console")
    rows = browser.get("/console/board")
    back = browser.get("/console", params={"lang": "en"})

    assert '<html lang="hi">' in switched.text
    assert LABELS["open_alerts"][1] in kept.text
    assert LABELS["state_notifying"][1] in rows.text
    assert LABELS["open_alerts"][0] in back.text


def test_wrong_keys_from_one_address_are_throttled(console: Console) -> None:
    browser = console.browser()
    answers = []
    for key in [f"rfk_guess_{i}" for i in range(10)] + [console.api.key_for("tonk")]:
        form = browser.get("/console/sign-in")
        answers.append(
            browser.post(
                "/console/sign-in", data={"csrf": form_token(form.text), "key": key}
            )
        )
    console.clock.at = NOW + timedelta(minutes=5)
    form = browser.get("/console/sign-in")
    later = browser.post(
        "/console/sign-in",
        data={"csrf": form_token(form.text), "key": console.api.key_for("tonk")},
    )

    assert [a.status_code for a in answers] == [401] * 10 + [429]
    assert LABELS["too_many_tries"][0] in answers[-1].text
    assert later.status_code == 303


@pytest.mark.parametrize(
    "path", ["/console/sign-in", "/console/sign-out", "/console/alerts/RF-X/resolve"]
)
def test_a_form_of_too_many_fields_is_an_empty_form_not_a_500(
    console: Console, path: str
) -> None:
    """Regression: 21 empty fields made the form parser raise, a 500."""
    browser = console.sign_in_room("kota-city")

    response = browser.post(
        path,
        content=b"&" * 30 + b"a=1&" * 30,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code < 500


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("GET", "/console/alerts/" + "A" * 5000, None),
        ("GET", "/console/alerts/%00%ff", None),
        ("GET", "/console?lang=%ff%fe", None),
        ("POST", "/console/alerts/RF-X/explode", {"csrf": "x"}),
        ("POST", "/console/sign-in", {"csrf": "x" * 10000}),
        ("POST", "/console/sign-out", None),
        ("GET", "/console/static/../app/settings.py", None),
        ("GET", "/console/static/nope.js", None),
    ],
)
def test_hostile_requests_get_a_clean_answer(
    console: Console, method: str, path: str, data: dict[str, str] | None
) -> None:
    browser = console.sign_in_room("kota-city")

    response = browser.request(method, path, data=data)

    assert response.status_code < 500
    assert "Traceback" not in response.text
