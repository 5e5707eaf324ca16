"""PostgreSQL: keep submission rows up to 8 KB inline, without compression attempts.

A submission row (raw payload, typed values and metadata as ``jsonb``: about 3.5 KB for a 60-question
form) is above PostgreSQL's default ``toast_tuple_target`` of 2 KB, so every insert tried to compress
its JSON columns with pglz and, the documents being small, mostly kept them as they were: CPU spent
for nothing. With the target at 8,160 bytes such rows are stored inline as before, and ``COPY`` of an
import is about 30% faster (docs/benchmarks.md). Larger rows are still compressed and moved out of
line. Nothing changes on SQLite.
"""

from django.db import migrations


def inline_rows(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE collection_submission SET (toast_tuple_target = 8160)")


def default_rows(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE collection_submission RESET (toast_tuple_target)")


class Migration(migrations.Migration):
    dependencies = [("collection", "0001_initial")]

    operations = [migrations.RunPython(inline_rows, default_rows, elidable=False)]
