"""A data directory for ``test_import_faults.py``: run in its own process, as the CLI would see it.

    python -m tests.collection.import_faults_setup DATA_DIR EXPORT N

With ``DATABASE_URL`` set the database is that one, else the data directory's SQLite file. It is
migrated and given the reference data, the demo's household survey as study ``survey`` (its XLSForm,
question roles and consent questions, as the coordinator confirms them) and a coordinator ``coord``
with a signed-in session; ``EXPORT`` gets ``N`` demo submissions as one KoboToolbox export. Prints the
session key.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path


def prepare(data_dir: Path, export: Path, n: int) -> str:
    """Set up the database of ``data_dir`` and write ``export``; returns the coordinator's session key."""
    os.environ["VOICESCOUNT_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voicescount.settings")
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    from voicescount.accounts.models import Coalition, Membership, Organisation, Role
    from voicescount.collection.instruments import add_instrument
    from voicescount.collection.models import Study
    from voicescount.demo import definitions, survey
    from voicescount.framework.loaders import load_all as load_framework
    from voicescount.geography.loaders import load_all as load_geography

    call_command("migrate", interactive=False, verbosity=0)
    load_framework()
    load_geography()
    coalition = Coalition.objects.create(slug="vn", name="VN", country_code="VN")
    org = Organisation.objects.create(slug="org", name="Org", coalition=coalition)
    study = Study.objects.create(
        organisation=org,
        slug="survey",
        title_en="Survey",
        method=Study.Method.HOUSEHOLD_SURVEY,
        period_start=dt.date(2022, 3, 1),
        period_end=dt.date(2022, 6, 30),
        consent_procedure=Study.Consent.GUARDIAN_AND_ASSENT,
    )
    instrument = add_instrument(study, "form.xlsx", survey.build_xlsform(), check_permission=False)
    instrument.roles = {**instrument.roles, **definitions.QUESTION_ROLES}
    instrument.save()
    user = get_user_model().objects.create_user("coord", password="not-used-here")
    Membership.objects.create(user=user, organisation=org, role=Role.COORDINATOR)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    page = survey.kobo_page(survey.generate_submissions(n=n, seed=7))
    export.write_text(json.dumps(page, ensure_ascii=False), encoding="utf-8")
    return session.session_key


if __name__ == "__main__":
    print(prepare(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])))
