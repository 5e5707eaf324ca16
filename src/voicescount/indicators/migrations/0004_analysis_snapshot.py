import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("collection", "0008_study_disclosure_thresholds"),
        ("indicators", "0003_indicatordefinition_direction"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AnalysisSnapshot",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "content_hash",
                    models.CharField(help_text="SHA-256 of the Parquet file's bytes.", max_length=64),
                ),
                ("rows", models.PositiveIntegerField(help_text="Submissions in the snapshot.")),
                (
                    "columns",
                    models.JSONField(default=list, help_text="Each column's name and type, in file order."),
                ),
                (
                    "path",
                    models.CharField(
                        help_text="The file, relative to the snapshot directory.", max_length=500
                    ),
                ),
                (
                    "source_state",
                    models.JSONField(
                        default=dict,
                        help_text="What it was made from: ids' hash, count, instruments, personal fields.",
                    ),
                ),
                ("created", models.DateTimeField(auto_now_add=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "study",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="snapshots",
                        to="collection.study",
                    ),
                ),
            ],
            options={"ordering": ["-created", "-pk"]},
        ),
        migrations.AddConstraint(
            model_name="analysissnapshot",
            constraint=models.UniqueConstraint(
                fields=("study", "content_hash"), name="unique_snapshot_content"
            ),
        ),
        migrations.AddField(
            model_name="estimaterun",
            name="snapshot",
            field=models.ForeignKey(
                blank=True,
                help_text="The analysis data the run read (blank for runs made before snapshots).",
                null=True,
                on_delete=django.db.models.deletion.RESTRICT,
                related_name="runs",
                to="indicators.analysissnapshot",
            ),
        ),
    ]
