"""The ``redflag-relay`` command: serve, worker, demo, lookup, check-config, migrate,
replay, roster and keys."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from app.errors import ConfigError

cli = typer.Typer(
    help="Relays red-flag alerts from the platform to Rajasthan police control rooms.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _settings():
    from pydantic import ValidationError

    from app.settings import Settings

    try:
        return Settings()
    except ValidationError as exc:
        names = ", ".join("REDFLAG_" + str(e["loc"][0]).upper() for e in exc.errors())
        _fail(f"invalid settings: {names}")
    except ConfigError as exc:
        _fail(str(exc))


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Overrides REDFLAG_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Overrides REDFLAG_PORT.")] = None,
) -> None:
    """Run the service: migrate the database, then receive and deliver alerts."""
    import uvicorn

    from app.logs import configure_logging
    from app.main import create_app
    from app.store import migrate

    settings = _settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    try:
        migrate(settings.database_url)
        app = create_app(settings)
    except ConfigError as exc:
        _fail(str(exc))
    # TODO: uvicorn has no timeout for reading a request's headers or body, so a
    # slow client holds its connection for as long as it likes; until the server
    # gets one, production runs behind a proxy that times slow clients out.
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        access_log=False,
        log_level="warning",
        proxy_headers=True,
    )


@cli.command()
def demo(
    keep: Annotated[bool, typer.Option(help="Keep the demo's SQLite file.")] = False,
) -> None:
    """Run every sample request against a fresh service and fake receivers."""
    from app.demo import run_demo

    raise typer.Exit(code=run_demo(keep=keep))


@cli.command("check-config")
def check_config(
    rooms_file: Annotated[
        Path | None, typer.Option(help="Overrides REDFLAG_ROOMS_FILE.")
    ] = None,
) -> None:
    """Validate the settings and the control-room file; name every problem in both
    and exit 2 if there is one."""
    from app.main import checked_rooms
    from app.room_config import load_rooms

    settings = _settings()
    if rooms_file is not None:
        settings = settings.model_copy(update={"rooms_file": rooms_file})
    problems = []
    rooms = None
    try:
        rooms = load_rooms(settings.rooms_file, demo_mode=settings.demo_mode)
    except ConfigError as exc:
        problems.append(f"rooms file: {exc}")
    try:
        if rooms is None:
            settings.check_secrets(sms_enabled=settings.sms_enabled)
        else:
            rooms = checked_rooms(settings, rooms)
    except ConfigError as exc:
        problems.append(f"settings: {exc}")
    if problems or rooms is None:
        for problem in problems:
            typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(code=2)
    if not rooms.sms_enabled:
        typer.echo("note: SMS is off: no SMS gateway is configured")
    covered = sum(len(room.districts) for room in rooms.rooms)
    police = sum(len(room.police_districts) for room in rooms.rooms)
    typer.echo(
        f"ok: {len(rooms.rooms)} rooms, {covered} districts by name and "
        f"{police} police districts, fallback {rooms.fallback_room}"
    )


@cli.command()
def worker() -> None:
    """Expand, deliver and escalate, without receiving webhooks: write the alerts
    of stored events, send queued deliveries and take due escalation steps.

    Run as many as needed against one PostgreSQL database, beside ``serve``
    processes that answer the partner (with REDFLAG_EXPAND_AFTER_ANSWER=false they
    leave every event's alerts to the workers).
    """
    import asyncio

    from app.clock import SystemClock
    from app.delivery_runtime import delivering, escalating, expanding, paging_for
    from app.gazetteer import load_gazetteer
    from app.logs import configure_logging
    from app.main import checked_rooms
    from app.roster import Roster
    from app.store import Store
    from app.wakeup import EVENTS_CHANNEL, listen

    settings = _settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    try:
        rooms = checked_rooms(settings)
    except ConfigError as exc:
        _fail(str(exc))

    async def run() -> None:
        store = Store(settings.database_url, synchronous=settings.sqlite_synchronous)
        store.start()
        try:
            clock = SystemClock()
            async with contextlib.AsyncExitStack() as stack:
                delivery = await stack.enter_async_context(
                    delivering(settings=settings, rooms=rooms, store=store, clock=clock)
                )
                paging = paging_for(settings, rooms, Roster.from_config(rooms))
                expander = await stack.enter_async_context(
                    expanding(
                        settings=settings,
                        store=store,
                        gazetteer=load_gazetteer(),
                        rooms=rooms,
                        paging=paging,
                        clock=clock,
                        on_new_deliveries=delivery.wake,
                        takes_new_events=True,
                    )
                )
                if not settings.is_sqlite:
                    listener = asyncio.create_task(
                        listen(
                            settings.database_url,
                            expander.wake,
                            channel=EVENTS_CHANNEL,
                        )
                    )
                    stack.callback(listener.cancel)
                if settings.escalation_enabled:
                    await stack.enter_async_context(
                        escalating(
                            settings=settings,
                            paging=paging,
                            store=store,
                            clock=clock,
                            on_pages=delivery.wake,
                        )
                    )
                await asyncio.Event().wait()
        finally:
            store.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


@cli.command()
def replay(
    alert: Annotated[str | None, typer.Option(help="The partner's alert_id.")] = None,
    room: Annotated[str | None, typer.Option(help="A room id.")] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead")] = False,
) -> None:
    """Put dead deliveries back in the queue: by alert, by room, or all of them."""
    from app.clock import SystemClock
    from app.outbox import replay_dead
    from app.store import Store

    if not (alert or room or all_dead):
        _fail("say which: --alert ALERT_ID, --room ROOM or --all-dead")
    settings = _settings()
    store = Store(settings.database_url)
    now = SystemClock().now()
    try:
        count = store.write_sync(
            lambda conn: replay_dead(conn, now=now, alert_id=alert, room_id=room)
        )
    finally:
        store.close()
    typer.echo(f"replayed {count} dead deliveries")


@cli.command()
def migrate() -> None:
    """Bring the database schema to the newest revision."""
    from app.store import migrate as run_migrations

    settings = _settings()
    run_migrations(settings.database_url)
    typer.echo("ok: schema at the newest revision")


@cli.command()
def lookup(
    text: Annotated[
        str | None, typer.Argument(help="Free text, e.g. 'Talwandi, Kota'")
    ] = None,
    district: Annotated[str | None, typer.Option()] = None,
    city: Annotated[str | None, typer.Option()] = None,
    locality: Annotated[str | None, typer.Option()] = None,
    state: Annotated[str | None, typer.Option()] = None,
    pincode: Annotated[str | None, typer.Option()] = None,
    lat: Annotated[float | None, typer.Option()] = None,
    lon: Annotated[float | None, typer.Option()] = None,
    accuracy_m: Annotated[float | None, typer.Option("--accuracy-m")] = None,
    home_district: Annotated[str | None, typer.Option("--home-district")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Place a location in a Rajasthan district and police district."""
    from app.gazetteer import load_gazetteer, location_from_text

    # Free text is split into its PIN, its state and the place names (read in any
    # order); an option given as well takes precedence over what the text says.
    location = location_from_text(text) if text is not None else {}
    options = {
        "district": district,
        "city": city,
        "locality": locality,
        "state": state,
        "pincode": pincode,
        "lat": lat,
        "lon": lon,
        "accuracy_m": accuracy_m,
        "home_district": home_district,
    }
    location.update({key: value for key, value in options.items() if value is not None})
    placement = load_gazetteer().place(location).to_dict()

    if as_json:
        json.dump(placement, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    for key in (
        "district",
        "police_district",
        "in_rajasthan",
        "confidence",
        "home_district",
    ):
        typer.echo(f"{key:16} {placement[key]}")
    typer.echo(f"{'flags':16} {', '.join(placement['flags']) or '-'}")
    typer.echo(f"{'candidates':16} {', '.join(placement['candidates']) or '-'}")
    for item in placement["evidence"]:
        typer.echo(
            f"{'evidence':16} {item['field']}={item['value']!r} -> {item['matched']}"
        )


roster_cli = typer.Typer(
    help="The shift roster: who is on shift, and its gaps and overlaps.",
    no_args_is_help=True,
)
cli.add_typer(roster_cli, name="roster")


def _roster(rooms_file: Path | None):
    from app.main import checked_rooms
    from app.roster import Roster

    settings = _settings()
    if rooms_file is not None:
        settings = settings.model_copy(update={"rooms_file": rooms_file})
    try:
        return Roster.from_config(checked_rooms(settings))
    except ConfigError as exc:
        _fail(str(exc))


def _instant(text: str | None, zone):
    """An ISO time (local to the roster when it has no offset), or now."""
    from datetime import datetime

    from app.clock import SystemClock

    if text is None:
        return SystemClock().now()
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        _fail(f"not an ISO time: {text!r}")
    return at if at.tzinfo is not None else at.replace(tzinfo=zone)


@roster_cli.command("check")
def roster_check(
    days: Annotated[int, typer.Option(min=1, help="How many days to check.")] = 14,
    rooms: Annotated[
        Path | None, typer.Option(help="Overrides REDFLAG_ROOMS_FILE.")
    ] = None,
    start: Annotated[
        str | None, typer.Option(help="ISO time to start from; default now.")
    ] = None,
) -> None:
    """List empty slots and people on two rooms at once; exit 1 if there are any."""
    roster = _roster(rooms)
    problems = roster.check(_instant(start, roster.zone), days=days)
    for problem in problems:
        typer.echo(f"{problem.kind}: {problem.message}")
    if problems:
        noun = "problem" if len(problems) == 1 else "problems"
        typer.echo(f"{len(problems)} {noun} in the next {days} days", err=True)
        raise typer.Exit(code=1)
    typer.echo(f"ok: no gaps or overlaps in the next {days} days")


@roster_cli.command("show")
def roster_show(
    room: Annotated[str, typer.Option(help="A room id.")],
    at: Annotated[
        str | None,
        typer.Option(help="ISO time; without an offset, in the roster's timezone."),
    ] = None,
    rooms: Annotated[
        Path | None, typer.Option(help="Overrides REDFLAG_ROOMS_FILE.")
    ] = None,
) -> None:
    """Who is on shift in a room, now or at a given time."""
    roster = _roster(rooms)
    try:
        on = roster.on_shift(room, _instant(at, roster.zone))
    except KeyError:
        _fail(f"no room {room!r} in the rooms file")
    starts, ends = (
        on.starts_at.astimezone(roster.zone),
        on.ends_at.astimezone(roster.zone),
    )
    typer.echo(
        f"{on.room}: {on.shift} shift of {on.date.isoformat()}, "
        f"{starts:%Y-%m-%d %H:%M} to {ends:%Y-%m-%d %H:%M} {roster.zone.key} "
        f"({on.source})"
    )
    if not on.people:
        typer.echo("nobody on shift: escalation goes past this slot")
    for person in on.people:
        typer.echo(f"  {person.id}  {person.name}")


keys_cli = typer.Typer(
    help="API keys of the control rooms (stored hashed; shown once).",
    no_args_is_help=True,
)
cli.add_typer(keys_cli, name="keys")


def _write(work):  # type: ignore[no-untyped-def]
    """Run one write against the configured database, migrated first."""
    from app.store import Store, migrate

    settings = _settings()
    migrate(settings.database_url)
    store = Store(settings.database_url, synchronous=settings.sqlite_synchronous)
    try:
        return store.write_sync(work)
    finally:
        store.close()


@keys_cli.command("create")
def keys_create(
    room: Annotated[
        str | None, typer.Option(help="The control room the key acts for.")
    ] = None,
    admin: Annotated[
        bool, typer.Option("--admin", help="A key that sees every room.")
    ] = False,
    label: Annotated[str, typer.Option(help="Who holds it, for the list.")] = "",
) -> None:
    """Create a key and print it once; only its hash is stored."""
    from app.api_keys import create_key
    from app.clock import SystemClock
    from app.main import checked_rooms

    if (room is None) == (not admin):
        _fail("give either --room ID or --admin")
    if room is not None:
        try:
            known = {r.id for r in checked_rooms(_settings()).rooms}
        except ConfigError as exc:
            _fail(str(exc))
        if room not in known:
            _fail(f"no room {room!r} in the rooms file")
    now = SystemClock().now()
    key_id, key = _write(
        lambda conn: create_key(
            conn, room_id=room, is_admin=admin, label=label, now=now
        )
    )
    typer.echo(f"key id: {key_id}", err=True)
    typer.echo(key)


@keys_cli.command("list")
def keys_list() -> None:
    """Every key: id, room, label, created, revoked (never the key itself)."""
    from app.api_keys import list_keys

    for row in _write(list_keys):
        who = "admin" if row["is_admin"] else row["room_id"]
        revoked = f"revoked {row['revoked_at']:%Y-%m-%d}" if row["revoked_at"] else ""
        typer.echo(f"{row['key_id']}  {who:<16} {row['label']:<24} {revoked}".rstrip())


@keys_cli.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke a key at once."""
    from app.api_keys import revoke_key
    from app.clock import SystemClock

    now = SystemClock().now()
    if not _write(lambda conn: revoke_key(conn, key_id=key_id, now=now)):
        _fail(f"no active key {key_id!r}")
    typer.echo(f"revoked {key_id}")


def main() -> None:
    from app.logs import configure_logging

    # Until a command sets its own: log lines go to standard error, so that what a
    # command prints (a key, a placement as JSON) is all that reaches standard out.
    configure_logging(level="WARNING", fmt="json")
    cli()
