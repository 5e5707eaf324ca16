"""Questionnaire codes (the ``respondent_id`` role) are personal data: encrypt the ones stored in clear.

Submissions imported before this rule kept the code in ``values`` and ``raw`` beside the pseudonym
derived from it. This moves them into the encrypted ``personal`` column, as imports now store them;
the pseudonyms do not change. Reversing leaves them encrypted (nothing is lost either way)."""

from django.db import migrations


def seal_questionnaire_codes(apps, schema_editor):
    from voicescount.collection.sealing import seal_personal_answers

    Instrument = apps.get_model("collection", "Instrument")
    Submission = apps.get_model("collection", "Submission")
    for instrument in Instrument.objects.all():
        codes = frozenset(name for name, role in (instrument.roles or {}).items() if role == "respondent_id")
        seal_personal_answers(instrument, codes, Submission.objects)


class Migration(migrations.Migration):
    dependencies = [
        ("collection", "0005_submission_respondent_plain_index"),
    ]

    operations = [
        migrations.RunPython(seal_questionnaire_codes, migrations.RunPython.noop, elidable=True),
    ]
