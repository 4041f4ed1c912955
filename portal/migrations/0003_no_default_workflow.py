"""Wagtail's first migration assigns its "Moderators approval" workflow to the
root page, so every page would inherit it. Here approval is the district's,
and only for the district notice board (portal.services.ensure_notice_board);
everything else is published by those who hold the publish right."""

from django.db import migrations


def forwards(apps, schema_editor):
    WorkflowPage = apps.get_model("wagtailcore", "WorkflowPage")
    WorkflowPage.objects.filter(page__depth=1, workflow__name="Moderators approval").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0002_publishing"),
        ("wagtailcore", "0048_add_default_workflows"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
