import secrets

from django.db import migrations, models


def create_stamp(apps, schema_editor):
    apps.get_model("publishing", "PublicationStamp").objects.create(pk=1, stamp=secrets.token_hex(16))


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="PublicationStamp",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("stamp", models.CharField(max_length=32, verbose_name="stamp")),
                ("changed", models.DateTimeField(auto_now=True, verbose_name="changed")),
            ],
            options={"verbose_name": "publication stamp"},
        ),
        migrations.RunPython(create_stamp, migrations.RunPython.noop),
    ]
