"""Command-line tools: `flask --app makerspace <command>` (or plain `flask` in the repo root)."""

from __future__ import annotations

import signal
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from flask_babel import force_locale
from flask_babel import gettext as _

from makerspace.accounts.models import Role
from makerspace.accounts.services import create_user, find_user_by_email, issue_api_token
from makerspace.backup import BackupError, make_backup
from makerspace.core.cli_errors import cli_locale, database_command
from makerspace.demo import database_is_empty, seed_demo
from makerspace.errors import DomainError
from makerspace.extensions import db
from makerspace.jobs import Worker, run_tick
from makerspace.machines.poller import MachinePoller
from makerspace.mail.sender import send_due
from makerspace.stats.rollup import forget_rollup, refresh_days, refresh_distinct, refresh_open


@click.command("seed-demo")
@database_command
@click.option("--if-empty", is_flag=True, help="Only seed a database that has no branches yet.")
def seed_demo_command(if_empty: bool) -> None:
    """Add demo branches and accounts (safe to run again)."""
    if if_empty and not database_is_empty():
        click.echo("The database has data already; demo data not added.")
        return
    created = seed_demo()
    db.session.commit()
    click.echo(f"Demo data ready: {created['branches']} branches, {created['users']} accounts, "
               f"{created['equipment']} machines, {created['bookings']} bookings and "
               f"{created['events']} courses added.")


@click.command("create-user")
@database_command
@click.argument("email")
@click.option("--name", required=True, help="The person's full name.")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.CITIZEN.value,
              show_default=True)
@click.option("--branch", "branches", multiple=True, help="Branch slug (librarians; repeatable).")
@click.option("--password", help="Password; one is generated and printed when left out.")
@click.option("--birth-year", type=int, help="Birth year, for age limits.")
def create_user_command(email: str, name: str, role: str, branches: tuple[str, ...],
                        password: str | None, birth_year: int | None) -> None:
    """Create an account of any role."""
    if role == Role.LIBRARIAN.value and not branches:
        raise click.UsageError("A librarian needs at least one --branch.")
    try:
        user, generated = create_user(email=email, name=name, role=Role(role),
                                      branch_slugs=branches, password=password,
                                      birth_year=birth_year)
    except DomainError as error:
        raise click.ClickException(str(error.message)) from error
    db.session.commit()
    click.echo(f"Created {user.role.value} {user.email}.")
    if generated:
        click.echo(f"Password: {generated}")


@click.command("create-token")
@database_command
@click.argument("email")
@click.option("--name", default="CLI", show_default=True, help="What the token is for.")
def create_token_command(email: str, name: str) -> None:
    """Create an API token for an account; the token is the last line printed."""
    user = find_user_by_email(email)
    if user is None:
        raise click.ClickException(f"No account with the e-mail address {email}.")
    _token, raw = issue_api_token(user, name=name)
    db.session.commit()
    click.echo(f"API token for {user.email} (shown once, keep it secret):")
    click.echo(raw)


@click.command("tick")
@database_command
@click.option("--full", is_flag=True,
              help="Look through all bookings, not only the last TICK_LOOKBACK_DAYS (7) days.")
def tick_command(full: bool) -> None:
    """Mark no-shows (freeing the machine), complete ended bookings, block repeat no-shows;
    queue reminders, anonymise and delete what is past its retention time (docs/privacy.md),
    and send the e-mail that is due.

    Safe to run every minute (cron or a systemd timer): one transaction, and a second run
    finds nothing left to do.
    """
    summary = run_tick(full=full)
    if summary is None:
        with force_locale(cli_locale()):
            click.echo(_("tick: another tick is running; this one did nothing."))
        return
    sweep = summary.sweep
    click.echo(f"tick: {len(sweep.no_shows)} no-show(s), {len(sweep.completed)} completed, "
               f"{len(sweep.blocks)} block(s), {summary.reminders} reminder(s).")
    loans = summary.loans
    click.echo(f"loans: {len(loans.reminded)} reminder(s), {len(loans.overdue)} overdue "
               f"notice(s), {len(loans.missed)} not picked up.")
    click.echo(summary.retention.summary())
    click.echo(summary.sending.summary())


@click.command("worker")
@with_appcontext
@click.option("--tick-seconds", type=float, help="Seconds between sweeps "
              "(WORKER_TICK_SECONDS, 60).")
def worker_command(tick_seconds: float | None) -> None:
    """Run until stopped (SIGTERM, Ctrl-C): send e-mail as soon as it is queued and run the
    sweeps of `tick` every minute. Safe to run on several hosts at once."""
    worker = Worker(current_app._get_current_object(),  # type: ignore[attr-defined]
                    tick_seconds=tick_seconds)
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    worker.run()


@click.command("backup")
@database_command
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace PATH if it exists.")
def backup_command(path: Path, overwrite: bool) -> None:
    """Copy the database to PATH while the app runs (SQLite: a consistent copy of the file;
    PostgreSQL: pg_dump's custom format, for pg_restore). See docs/deploy.md."""
    with force_locale(cli_locale()):
        try:
            made = make_backup(path, url=current_app.config["SQLALCHEMY_DATABASE_URI"],
                               overwrite=overwrite)
        except BackupError as error:
            raise click.ClickException(str(error)) from error
        click.echo(_("Backup written to %(path)s (%(size)s bytes, %(kind)s).",
                     path=made.path, size=made.size, kind=made.kind))


@click.command("send-mail")
@database_command
@click.option("--limit", default=100, show_default=True, help="Send at most this many.")
def send_mail_command(limit: int) -> None:
    """Send the e-mail in the outbox that is due, then exit (`tick` does this too).

    Without MAIL_SERVER nothing is sent and the messages stay in the outbox (/admin/outbox).
    Safe to run from several places at once: each message is delivered once.
    """
    click.echo(send_due(limit=limit).summary())


@click.command("stats-rollup")
@database_command
@click.option("--again", is_flag=True, help="Drop the kept days and periods first and count "
              "them all again (after changing past bookings by hand).")
def stats_rollup_command(again: bool) -> None:
    """Roll up every settled day and count every settled month, quarter and year, and the
    open ones (the bookings made so far), for the statistics now (tick does two months of
    days and one period of each a minute; an open one when its numbers are an hour old)."""
    if again:
        forget_rollup()
        db.session.commit()
    days = refresh_days(limit=1_000_000, commit=True)
    counted = refresh_distinct(limit=10_000, commit=True)
    opened = refresh_open(limit=10, commit=True)
    click.echo(f"Statistics: {counted} settled period(s) and {opened} open period(s) counted, "
               f"{days} day(s) rolled up.")


@click.command("poll-machines")
@database_command
def poll_machines_command() -> None:
    """Ask every connected machine that is due for its state once and apply the answers:
    job starts check bookings in, job ends free the rest of the slot (`flask worker` does
    this every MACHINE_POLL_SECONDS). See docs/machines.md."""
    poller = MachinePoller(current_app._get_current_object())  # type: ignore[attr-defined]
    try:
        report = poller.poll_once()
    finally:
        poller.stop()
    click.echo(f"Machines: {report.asked} asked, {report.answered} answered, "
               f"{len(report.failed)} unreachable.")


def register_commands(app: Flask) -> None:
    for command in (seed_demo_command, create_user_command, create_token_command,
                    tick_command, send_mail_command, worker_command, backup_command,
                    stats_rollup_command, poll_machines_command):
        app.cli.add_command(command)
