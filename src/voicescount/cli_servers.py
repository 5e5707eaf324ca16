"""``voicescount server add|list|push-secret`` and ``voicescount pull``: a study's collection servers.

Thin wrappers over ``collection.servers`` (connections, pulls); registered on the main command in
``cli.py``. Credentials are read from an environment variable or asked for without echo, never taken
as a command-line argument (it would stay in the shell's history and in ``ps``).
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

server_app = typer.Typer(help="A study's KoboToolbox and ODK Central servers.", no_args_is_help=True)


def _cli():
    from voicescount import cli

    return cli


@server_app.command("add")
def server_add(
    study: Annotated[str, typer.Argument(help="The study's short name (slug).")],
    kind: Annotated[str, typer.Option(help="kobo or odk_central.")],
    url: Annotated[str, typer.Option(help="The server's address, e.g. https://kf.kobotoolbox.org.")],
    asset: Annotated[str, typer.Option(help="Kobo: the form's asset uid.")] = "",
    project: Annotated[int | None, typer.Option(help="ODK Central: the project id.")] = None,
    form: Annotated[str, typer.Option(help="ODK Central: the form id.")] = "",
    account: Annotated[str, typer.Option(help="ODK Central: the account's e-mail address.")] = "",
    credential_env: Annotated[
        str, typer.Option(help="Environment variable holding the Kobo token or the ODK Central password.")
    ] = "VOICESCOUNT_SERVER_CREDENTIAL",
    every: Annotated[int, typer.Option(min=0, help="Pull every this many minutes (0: on demand only).")] = 0,
    push: Annotated[bool, typer.Option("--push", help="Kobo: make a REST Services push secret too.")] = False,
) -> None:
    """Connect a study to a KoboToolbox asset or an ODK Central form."""
    cli = _cli()
    cli.setup_django()
    from voicescount.collection.servers.connections import (
        InvalidConnection,
        create_connection,
        new_push_secret,
    )

    found, _user = cli._study_and_user(study, None)  # noqa: SLF001 -- the CLI's own helper
    credential = os.environ.get(credential_env) or typer.prompt("Token or password", hide_input=True)
    try:
        connection = create_connection(
            found,
            kind=kind,
            base_url=url,
            credential=credential,
            asset_uid=asset,
            project_id=project,
            form_id=form,
            username=account,
            interval_minutes=every,
        )
    except InvalidConnection as exc:
        raise cli.fail(str(exc)) from None
    cli.console.print(f"Connection {connection.pk}: {connection}", highlight=False)
    if push:
        _print_secret(connection, new_push_secret(connection))


def _print_secret(connection, secret: str) -> None:
    cli = _cli()
    cli.console.print(
        f"Push endpoint: /api/v1/servers/{connection.pk}/kobo-submissions\n"
        f"Secret (shown once; header 'Authorization: Bearer …'): {secret}",
        highlight=False,
    )


@server_app.command("push-secret")
def server_push_secret(
    connection: Annotated[int, typer.Argument(help="The connection's id (voicescount server list).")],
) -> None:
    """Make a new Kobo REST Services push secret for a connection (the previous one stops working)."""
    cli = _cli()
    cli.setup_django()
    from voicescount.collection.models import ServerConnection
    from voicescount.collection.servers.connections import new_push_secret

    found = ServerConnection.objects.filter(pk=connection, kind=ServerConnection.Kind.KOBO).first()
    if found is None:
        raise cli.fail(f"No KoboToolbox connection {connection}.")
    _print_secret(found, new_push_secret(found))


@server_app.command("list")
def server_list(study: Annotated[str, typer.Argument(help="The study's short name (slug).")]) -> None:
    """A study's connections and their last pull."""
    cli = _cli()
    cli.setup_django()
    found, _user = cli._study_and_user(study, None)  # noqa: SLF001
    for connection in found.server_connections.all():
        last = connection.pulls.first()
        state = (
            f"last pull {last.status}" + (f": {last.error}" if last and last.error else "")
            if last
            else "never pulled"
        )
        every = f"every {connection.interval_minutes} min" if connection.interval_minutes else "on demand"
        cli.console.print(f"{connection.pk}  {connection}  {every}  {state}", highlight=False)


def pull_command(
    study: Annotated[str, typer.Argument(help="The study's short name (slug).")],
    connection: Annotated[
        int | None, typer.Option(help="Only this connection (default: all of the study's).")
    ] = None,
) -> None:
    """Pull new submissions from a study's servers now, in this process; one batch per connection."""
    cli = _cli()
    cli.setup_django()
    from voicescount.collection.servers.pulls import enqueue_pull, run_pull

    found, _user = cli._study_and_user(study, None)  # noqa: SLF001
    connections = found.server_connections.all()
    if connection is not None:
        connections = connections.filter(pk=connection)
    if not connections:
        raise cli.fail(f"Study '{study}' has no server connection{f' {connection}' if connection else ''}.")
    failed = False
    for server in connections:
        pull = enqueue_pull(server, queue=False)
        run_pull(pull)
        pull.refresh_from_db()
        if pull.status == pull.Status.FAILED:
            failed = True
            cli.err_console.print(f"Connection {server.pk}: failed: {pull.error}", highlight=False)
        elif pull.status == pull.Status.DONE:
            batch = pull.batch
            stored = (
                f"batch {batch.pk}: {batch.accepted} accepted, {batch.duplicates} duplicates, "
                f"{batch.quarantined} quarantined"
                if batch
                else "nothing new"
            )
            cli.console.print(
                f"Connection {server.pk}: {pull.pages} page(s), {pull.received} submission(s); {stored}",
                highlight=False,
            )
        else:
            cli.console.print(f"Connection {server.pk}: a pull is already {pull.status} (pull {pull.pk}).")
    if failed:
        raise typer.Exit(1)
