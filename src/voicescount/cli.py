"""The ``voicescount`` command: one entry point for everything a user runs.

Each command is a thin wrapper: it prepares the environment, starts Django and calls a service.
Configuration errors are shown as one clear sentence, never as a traceback.
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(
    name="voicescount",
    help="VoicesCount: citizen-generated data for SDG monitoring.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="VOICESCOUNT_DATA_DIR",
        help="Directory for the embedded database and generated keys (default: ~/.local/share/voicescount).",
        show_default=False,
    ),
]


def fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[bold red]Error:[/] {message}", highlight=False)
    return typer.Exit(code)


def setup_django(data_dir: Path | None = None) -> None:
    """Configure and start Django, turning configuration problems into clear errors."""
    from voicescount import config

    if data_dir is not None:
        os.environ[config.ENV_DATA_DIR] = str(data_dir.expanduser().resolve())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voicescount.settings")
    try:
        import django

        django.setup()
    except config.ConfigurationError as exc:
        raise fail(str(exc)) from None


def check_port_free(host: str, port: int) -> None:
    """Fail early, with advice, when the port is taken or the address is not ours."""
    if not 0 < port < 65536:
        raise fail(f"Port {port} is not a valid TCP port (1–65535).")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # As gunicorn does: connections of a server that just stopped (TIME_WAIT) do not block the port;
        # on Linux a port that something still listens on is refused all the same.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise fail(
                    f"Port {port} on {host} is already in use (another VoicesCount or another server?). "
                    f"Stop it, or choose another port with --port, e.g. --port {port + 1}."
                ) from None
            if exc.errno == errno.EACCES:
                raise fail(
                    f"Not allowed to listen on port {port}; ports below 1024 need privileges."
                ) from None
            raise fail(f"Cannot listen on {host}:{port}: {exc.strerror}.") from None


def progress_bar() -> tuple[Progress, Callable[[str, int, int], None]]:
    """A Rich progress bar and the ``progress(description, done, total)`` callback loaders accept."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    tasks: dict[str, int] = {}

    def report(description: str, done: int, total: int) -> None:
        if description not in tasks:
            tasks[description] = progress.add_task(description, total=total)
        progress.update(tasks[description], completed=done, total=total)

    return progress, report


def run_migrations() -> None:
    from django.conf import settings
    from django.core.management import call_command
    from django.db.utils import OperationalError

    try:
        with console.status("Preparing the database (migrations)…"):
            call_command("migrate", interactive=False, verbosity=0)
    except OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise fail(f"Cannot use the {settings.DATABASE_DESCRIPTION}: {reason}") from None


def load_reference_data() -> None:
    from voicescount.framework.loaders import ReferenceDataError
    from voicescount.framework.loaders import load_all as load_framework
    from voicescount.geography.loaders import GeographyDataError
    from voicescount.geography.loaders import load_all as load_geography

    progress, report = progress_bar()
    try:
        with progress:
            load_framework(progress=report)
            load_geography(progress=report)
    except (ReferenceDataError, GeographyDataError) as exc:
        raise fail(f"The reference data could not be loaded: {exc}") from None


def close_connections() -> None:
    """Close every database connection (and cache client) this process holds.

    Called in the master before gunicorn forks its workers and again in each worker after the fork: a
    connection opened before the fork (by the migrations, the demo loader…) would otherwise be one socket
    shared by every worker, and on PostgreSQL one request would read another's rows.
    """
    from django.core.cache import caches
    from django.db import connections

    connections.close_all()
    for cache in caches.all(initialized_only=True):
        cache.close()


def serve_wsgi(host: str, port: int, workers: int) -> None:
    """Serve the site with gunicorn (static files by whitenoise); each worker opens its own connections."""
    from gunicorn.app.base import BaseApplication

    from voicescount.wsgi import application

    class VoicesCountServer(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", None)
            self.cfg.set("timeout", 120)
            # The application is imported here, in the master, and shared by the forked workers; it opens
            # no connection on import, and the workers close whatever they might have inherited.
            self.cfg.set("preload_app", False)
            self.cfg.set("post_fork", lambda _server, _worker: close_connections())

        def load(self):
            return application

    close_connections()
    VoicesCountServer().run()


@app.command()
def demo(
    data_dir: DataDirOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=16, help="Web server worker processes.")] = 2,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the web server at the end.")
    ] = True,
    respondents: Annotated[
        int, typer.Option(min=200, max=100_000, help="Size of the synthetic demo survey.")
    ] = 3000,
) -> None:
    """Set up the demo (database, reference data, users, a computed demo study) and serve it."""
    if serve:
        check_port_free(host, port)
    setup_django(data_dir)
    from django.conf import settings

    from voicescount.accounts.demo import DEMO_PASSWORD, create_demo_accounts

    console.print(
        f"Data directory: [bold]{settings.DATA_DIR}[/]  ·  database: {settings.DATABASE_DESCRIPTION}"
    )
    run_migrations()
    load_reference_data()
    with console.status("Creating demo organisations and users…"):
        users = create_demo_accounts()

    from voicescount.collection.errors import CollectionError
    from voicescount.demo.load import load_demo_study
    from voicescount.indicators.compute import ComputeError

    progress, report = progress_bar()
    try:
        with progress:
            summary = load_demo_study(progress=report, respondents=respondents)
    except (CollectionError, ComputeError) as exc:
        raise fail(f"The demo study could not be loaded: {exc}") from None
    console.print(
        f"Demo study: {summary.accepted} submissions accepted, {summary.quarantined} in quarantine "
        f"(no consent), {summary.duplicates} duplicates; {summary.definitions} indicators "
        f"({summary.computed} computed); {summary.official} illustrative official figures."
    )

    table = Table(title="Demo logins (password for all: " + DEMO_PASSWORD + ")", show_lines=False)
    table.add_column("user")
    table.add_column("role")
    table.add_column("organisation")
    for user in users:
        table.add_row(user.username, str(user.role_label), str(user.organisation_name))
    console.print(table)
    url = f"http://{host}:{port}/"
    if not serve:
        console.print(f"Demo data ready. Start the site with: voicescount serve --port {port}")
        return
    console.print(
        f"\n[bold green]VoicesCount demo:[/] {url}   sign in: {url}en/accounts/sign-in/   "
        f"(admin: {url}en/admin/)   Ctrl+C to stop.\n"
    )
    from voicescount.workers import worker_process

    with worker_process():  # runs the uploads' import jobs; stopped with the server
        serve_wsgi(host, port, workers)


@app.command("serve")
def serve_command(
    data_dir: DataDirOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Web server worker processes.")] = 2,
    migrate: Annotated[bool, typer.Option("--migrate/--no-migrate", help="Apply migrations first.")] = True,
) -> None:
    """Serve the site with gunicorn (production: set VOICESCOUNT_MODE=production and its settings)."""
    check_port_free(host, port)
    setup_django(data_dir)
    from django.conf import settings
    from django.core.management import call_command

    if migrate:
        run_migrations()
    if settings.PRODUCTION:
        with console.status("Collecting static files…"):
            call_command("collectstatic", interactive=False, verbosity=0)
    console.print(f"Serving on http://{host}:{port}/  ·  database: {settings.DATABASE_DESCRIPTION}")
    serve_wsgi(host, port, workers)


@app.command("load-reference")
def load_reference(data_dir: DataDirOption = None) -> None:
    """Load (or update) the SDG framework, code lists and geography from the committed reference files."""
    setup_django(data_dir)
    run_migrations()
    load_reference_data()
    console.print("[green]Reference data loaded.[/]")


def _study_and_user(study_slug: str, username: str | None):
    from django.contrib.auth import get_user_model

    from voicescount.collection.models import Study

    study = Study.objects.select_related("organisation").filter(slug=study_slug).first()
    if study is None:
        known = ", ".join(Study.objects.values_list("slug", flat=True)[:10]) or "none yet"
        raise fail(f"No study '{study_slug}' (known: {known}).")
    user = None
    if username:
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise fail(f"No active user '{username}'.")
    return study, user


@app.command("instrument")
def add_instrument(
    study: Annotated[str, typer.Argument(help="The study's short name (slug).")],
    xlsform: Annotated[
        Path, typer.Argument(help="XLSForm file (.xlsx, .xls, .csv or .md).", exists=True, dir_okay=False)
    ],
    user: Annotated[str | None, typer.Option(help="Act as this user (their rights apply).")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Add an XLSForm instrument (a form version) to a study."""
    setup_django(data_dir)
    from django.core.exceptions import PermissionDenied

    from voicescount.collection.errors import CollectionError
    from voicescount.collection.instruments import add_instrument as add

    study_obj, user_obj = _study_and_user(study, user)
    try:
        instrument = add(
            study_obj,
            xlsform.name,
            xlsform.read_bytes(),
            user=user_obj,
            check_permission=user_obj is not None,
        )
    except (CollectionError, PermissionDenied) as exc:
        raise fail(str(exc)) from None
    roles = instrument.roles or {}
    console.print(
        f"[green]Instrument {instrument.form_id} version {instrument.version or '—'} added[/] "
        f"({len(instrument.definition.get('questions', []))} questions; "
        f"{sum(r == 'personal' for r in roles.values())} marked personal)."
    )


@app.command("compute")
def compute_command(
    study: Annotated[str, typer.Argument(help="The study's short name (slug).")],
    force: Annotated[bool, typer.Option(help="Recompute even when nothing changed.")] = False,
    publish: Annotated[
        bool, typer.Option(help="Then publish the latest run of each public definition (else: drafts).")
    ] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Compute every indicator definition of a study (only those whose inputs changed, unless --force).

    The runs are drafts, which the public site does not show until a coordinator publishes them on the
    study's results page; with --publish, the latest run of each public definition is published here."""
    setup_django(data_dir)
    from voicescount.collection.models import Study
    from voicescount.indicators.compute import compute_study
    from voicescount.indicators.publication import publish_latest

    study_obj = Study.objects.filter(slug=study).first()
    if study_obj is None:
        raise fail(
            f"No study '{study}'. Studies: {', '.join(Study.objects.values_list('slug', flat=True)) or '—'}"
        )
    progress, report = progress_bar()
    errors: list[str] = []
    with progress:
        runs = compute_study(
            study_obj, progress=report, force=force, on_error=lambda _definition, exc: errors.append(str(exc))
        )
    done = [code for code, run in runs.items() if run is not None]
    console.print(
        f"[green]{len(done)} indicator(s) computed[/], {len(runs) - len(done)} unchanged since the last run."
    )
    if publish:
        published = publish_latest(study_obj, None, check_permission=False)
        console.print(f"[green]{len(published)} run(s) published[/] (the public site shows them now).")
    elif done:
        console.print("The new runs are drafts: publish them on the study's results page (or use --publish).")
    if errors:
        raise fail(f"{len(errors)} indicator(s) could not be computed:\n" + "\n".join(errors))


@app.command("reproduce")
def reproduce_command(
    study: Annotated[str, typer.Argument(help="The study's short name (slug).")],
    code: Annotated[str, typer.Argument(help="The indicator definition's code.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The zip file to write.", dir_okay=False)],
    user: Annotated[str | None, typer.Option(help="Act as this user (their rights apply).")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Write the reproduction pack (confidential microdata and an R script) of a definition's latest run."""
    setup_django(data_dir)
    from voicescount.accounts.permissions import Action, has_permission
    from voicescount.indicators.reproduction import ReproductionError, latest_pack_run, write_pack

    study_obj, user_obj = _study_and_user(study, user)
    if user_obj is not None and not has_permission(user_obj, Action.REPRODUCE, study_obj.organisation):
        raise fail(f"User '{user}' may not download reproduction packs of {study_obj.organisation.name}.")
    partial = output.with_name(f".{output.name}.partial")
    try:
        run = latest_pack_run(study_obj, code)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # microdata: owner only
        with os.fdopen(fd, "wb") as target:
            write_pack(run, target)
        os.replace(partial, output)
    except ReproductionError as exc:
        partial.unlink(missing_ok=True)
        raise fail(str(exc)) from None
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise fail(f"Cannot write {output}: {exc.strerror}") from None
    console.print(
        f"[green]Reproduction pack of {code} (run {run.pk}) written to {output}[/]; confidential microdata. "
        "Unzip it and run: Rscript reproduce.R"
    )


@app.command("publish")
def publish_command(
    out_dir: Annotated[Path, typer.Argument(help="Directory to write the static site into.")],
    data_dir: DataDirOption = None,
) -> None:
    """Write the whole public site (both languages, data, downloads, assets) as static files."""
    setup_django(data_dir)
    from voicescount.publishing.static_site import PublishError, publish

    progress, report = progress_bar()
    try:
        with progress:
            written = publish(out_dir, progress=report)
    except PublishError as exc:
        raise fail(str(exc)) from None
    console.print(f"[green]{written} files written to {out_dir}[/]; serve them from any static host.")


@app.command("official")
def official_command(
    source_file: Annotated[Path, typer.Argument(help="SDMX-ML, SDMX-CSV, Open SDG CSV or UN SDG API JSON.")],
    source: Annotated[str, typer.Option(help="Who published the figures (shown beside them).")],
    fmt: Annotated[
        str, typer.Option("--format", help="auto, sdmx-ml, sdmx-csv, open-sdg or unsd-json.")
    ] = "auto",
    source_url: Annotated[str, typer.Option(help="Where they were published.")] = "",
    mapping: Annotated[
        Path | None, typer.Option(help="Mapping file (YAML or CSV): series, areas, codes; see docs.")
    ] = None,
    save_mapping: Annotated[
        str, typer.Option(help="Save the mapping under this name (with --organisation).")
    ] = "",
    organisation: Annotated[str, typer.Option(help="Organisation (slug) the import is for.")] = "",
    illustrative: Annotated[bool, typer.Option(help="Mark as illustrative, not real statistics.")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Import official statistics to compare community estimates with (with a mapping file)."""
    setup_django(data_dir)
    from voicescount.accounts.models import Organisation
    from voicescount.indicators import official_mapping
    from voicescount.indicators.official import OfficialDataError

    if not source_file.exists():
        raise fail(f"{source_file}: no such file.")
    org = Organisation.objects.filter(slug=organisation).first() if organisation else None
    if organisation and org is None:
        raise fail(f"No organisation has the short name {organisation}.")
    if save_mapping and org is None:
        raise fail("--save-mapping needs --organisation: mappings are saved for an organisation.")
    try:
        summary = official_mapping.import_mapped(
            source_file,
            fmt,
            mapping=official_mapping.load_mapping_file(mapping) if mapping else {},
            source=source,
            source_url=source_url,
            organisation=org,
            save_as=save_mapping,
            illustrative=illustrative,
            mapping_file=mapping.name if mapping else "mapping",
        )
    except (OfficialDataError, ValueError) as exc:
        raise fail(str(exc)) from None
    console.print(
        f"[green]{summary.created} created, {summary.updated} updated[/], {len(summary.skipped)} skipped."
    )
    for reason in summary.skipped[:20]:
        console.print(f"  skipped {reason}")


class _ImportStopped(BaseException):
    """SIGTERM or SIGINT during an import: unwinds it (the transaction rolls back, workers stop).

    A ``BaseException``, as ``KeyboardInterrupt`` is, so that no ``except Exception`` on the way
    mistakes it for an error in the file."""


def _stop_import(signum: int, _frame: object) -> None:
    raise _ImportStopped(signal.Signals(signum).name)


@app.command("import")
def import_command(
    study: Annotated[str, typer.Argument(help="The study's short name (slug).")],
    source: Annotated[Path, typer.Argument(help="Export file or directory of Kobo JSON pages.", exists=True)],
    form: Annotated[
        str | None, typer.Option(help="Form id (default: the study's only or latest instrument).")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="auto, kobo-json, odk-csv, odk-odata, csv or xlsx.")
    ] = "auto",
    user: Annotated[str | None, typer.Option(help="Act as this user (their rights apply).")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Import submissions from a KoboToolbox, ODK Central, CSV or XLSX export as one batch."""
    setup_django(data_dir)
    from django.core.exceptions import PermissionDenied

    from voicescount.collection import batches, import_service, importing
    from voicescount.collection.errors import CollectionError

    study_obj, user_obj = _study_and_user(study, user)
    instruments = study_obj.instruments.order_by("-uploaded", "-pk")
    instrument = (instruments.filter(form_id=form) if form else instruments).first()
    if instrument is None:
        raise fail(
            f"Study '{study}' has no instrument{' ' + repr(form) if form else ''}; "
            "add one with `voicescount instrument`."
        )
    if fmt != "auto" and fmt not in importing.FORMATS:
        raise fail(f"Unknown format '{fmt}'; use one of: auto, {', '.join(importing.FORMATS)}.")
    stopping = {sig: signal.signal(sig, _stop_import) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        chosen = importing.detect_format(source, source.name) if fmt == "auto" else fmt
        total = importing.source_size(source)
        progress = Progress(
            TextColumn("Importing {task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=console,
        )
        # The file may be read in a worker process: it reports the bytes read through shared memory,
        # and the bar moves as each chunk is stored here.
        read = (
            multiprocessing.get_context("fork").Value("q", 0, lock=False)
            if batches.import_workers()
            else None
        )
        with progress:
            task = progress.add_task(source.name, total=total or None)

            def bytes_read(done: int, _total: int) -> None:
                if read is None:
                    progress.update(task, completed=done)
                else:
                    read.value = done

            report = import_service.import_file(
                instrument,
                source,
                fmt=chosen,
                user=user_obj,
                check_permission=user_obj is not None,
                read=bytes_read,
                stored=None if read is None else lambda _n: progress.update(task, completed=read.value),
                wait=None,
                waiting=lambda: progress.console.print(
                    f"Waiting for another import of study '{study}' to finish…", highlight=False
                ),
            )
            progress.update(task, completed=total)
    except (CollectionError, PermissionDenied) as exc:
        raise fail(f"Nothing was imported. {exc}") from None
    except _ImportStopped as stopped:
        raise fail(
            f"Import stopped ({stopped}) before it finished: a batch is stored whole or not at all, so "
            "run the same command again to import the file (records already stored count as duplicates).",
            code=128 + int(signal.Signals[str(stopped)]),
        ) from None
    finally:
        for sig, handler in stopping.items():
            signal.signal(sig, handler)
    table = Table(title=f"Batch {report.batch_id}: {source.name}")
    for column in ("received", "accepted", "duplicates", "quarantined"):
        table.add_column(column, justify="right")
    table.add_row(*(str(getattr(report, c)) for c in ("received", "accepted", "duplicates", "quarantined")))
    console.print(table)
    for reason in report.reasons[:20]:
        for issue in reason["issues"]:
            console.print(
                f"  {reason['locator']}: {issue['field'] or '—'}: {issue['message']}", highlight=False
            )
    if report.quarantined > 20:
        console.print("  … and more; see the batch report in the admin or on the study's import page.")
    if report.notes:
        console.print("Notes (nothing was held back for these):")
        for note in report.notes[:20]:
            count = f" ({note['count']} records)" if note.get("count") else ""
            console.print(f"  {note.get('field') or '—'}: {note.get('message', '')}{count}", highlight=False)


@app.command("worker")
def worker_command(
    processes: Annotated[int, typer.Option(min=1, max=64, help="Worker processes (jobs run at once).")] = 1,
    batch: Annotated[bool, typer.Option("--batch", help="Run the queued jobs, then stop.")] = False,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between looks for a new job.")] = 1.0,
    data_dir: DataDirOption = None,
) -> None:
    """Run background jobs (imports of uploaded files) until stopped with Ctrl+C or SIGTERM."""
    setup_django(data_dir)
    from django.conf import settings

    from voicescount.workers import run_workers

    console.print(
        f"Running jobs with {processes} worker process{'es' if processes > 1 else ''}  ·  "
        f"database: {settings.DATABASE_DESCRIPTION}"
    )
    from django.db.utils import OperationalError, ProgrammingError

    try:
        run_workers(processes, batch=batch, interval=interval)
    except (OperationalError, ProgrammingError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise fail(
            f"Cannot run jobs on the {settings.DATABASE_DESCRIPTION}: {reason} "
            "(is it migrated? `voicescount serve` or `voicescount manage migrate` does that)."
        ) from None


from voicescount.cli_servers import pull_command, server_app  # noqa: E402 -- they use the helpers above

app.command("pull")(pull_command)
app.add_typer(server_app, name="server")

study_app = typer.Typer(help="Studies as files: write a study package, or load one.", no_args_is_help=True)
app.add_typer(study_app, name="study")


@study_app.command("dump")
def study_dump(
    study: Annotated[str, typer.Argument(help="The study's short name (slug).")],
    directory: Annotated[Path, typer.Argument(help="Directory to write the package into (created).")],
    with_data: Annotated[
        bool, typer.Option("--with-data", help="Also write the submissions, without personal fields.")
    ] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Write a study as a package: study.yaml, indicators.yaml, forms/ (and data/ with --with-data)."""
    setup_django(data_dir)
    from voicescount.collection.packages import dump_study

    study_obj, _ = _study_and_user(study, None)
    counts = dump_study(study_obj, directory, with_data=with_data)
    records = f", {counts['records']} records (no personal fields)" if with_data else ""
    console.print(
        f"[green]Study {study} written to {directory}[/]: {counts['instruments']} instrument(s), "
        f"{counts['definitions']} definitions, {counts['derived_variables']} derived variables{records}.",
        highlight=False,
    )


@study_app.command("load")
def study_load(
    directory: Annotated[
        Path, typer.Argument(help="A study package directory.", exists=True, file_okay=False)
    ],
    organisation: Annotated[
        str | None,
        typer.Option(
            help="Organisation (slug) the study belongs to (default: the study's own, if it exists)."
        ),
    ] = None,
    slug: Annotated[str | None, typer.Option(help="Load the study under this short name instead.")] = None,
    user: Annotated[str | None, typer.Option(help="Act as this user (their rights apply).")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create or update a study from a package (again: nothing changes); a bad package changes nothing."""
    setup_django(data_dir)
    from django.contrib.auth import get_user_model
    from django.core.exceptions import PermissionDenied

    from voicescount.accounts.models import Organisation
    from voicescount.collection.errors import CollectionError
    from voicescount.collection.packages import load_study, package_slug

    user_obj = None
    if user:
        user_obj = get_user_model().objects.filter(username=user, is_active=True).first()
        if user_obj is None:
            raise fail(f"No active user '{user}'.")
    try:
        target = slug or package_slug(directory)
    except CollectionError as exc:
        raise fail(f"Nothing was loaded. {exc}") from None
    from voicescount.collection.models import Study

    existing = Study.objects.select_related("organisation").filter(slug=target).first()
    org_slug = organisation or (existing.organisation.slug if existing else None)
    if org_slug is None:
        raise fail(f"Study '{target}' is new: say which organisation it belongs to with --organisation.")
    org = Organisation.objects.filter(slug=org_slug).first()
    if org is None:
        known = ", ".join(Organisation.objects.values_list("slug", flat=True)[:10]) or "none yet"
        raise fail(f"No organisation '{org_slug}' (known: {known}).")
    try:
        report = load_study(directory, organisation=org, user=user_obj, slug=slug)
    except (CollectionError, PermissionDenied) as exc:
        raise fail(f"Nothing was loaded. {exc}") from None
    state = (
        "created"
        if report.created
        else (f"{len(report.changed)} change(s)" if report.changed else "unchanged")
    )
    console.print(f"[green]Study {report.study.slug}[/] ({org.slug}): {state}.", highlight=False)
    for name, result in report.imports.items():
        console.print(
            f"  {name}: {result['received']} received, {result['accepted']} accepted, "
            f"{result['duplicates']} duplicates, {result['quarantined']} quarantined",
            highlight=False,
        )


@app.command(
    "manage",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
def manage(ctx: typer.Context) -> None:
    """Run a Django management command, e.g. `voicescount manage check --deploy`."""
    setup_django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["voicescount manage", *ctx.args])


def main() -> None:
    """Console-script entry point."""
    from voicescount.config import ConfigurationError

    try:
        app()
    except ConfigurationError as exc:  # raised lazily, e.g. by a management command
        err_console.print(f"[bold red]Error:[/] {exc}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
