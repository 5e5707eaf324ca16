"""A plain index on ``Submission.respondent``.

``db_index=True`` on a ``CharField`` also makes PostgreSQL keep a ``varchar_pattern_ops`` copy of the
index for ``LIKE 'prefix%'`` queries; nothing runs those on a pseudonym, and each import wrote both
(4.8 MB each per 100,000 submissions). SQLite had one index either way.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("collection", "0004_submission_lz4_compression"),
    ]

    operations = [
        migrations.AlterField(
            model_name="submission",
            name="respondent",
            field=models.CharField(
                help_text="Links records of the same person without naming them.",
                max_length=64,
                verbose_name="pseudonymous respondent id",
            ),
        ),
        migrations.AddIndex(
            model_name="submission",
            index=models.Index(fields=["respondent"], name="submission_respondent_idx"),
        ),
    ]
