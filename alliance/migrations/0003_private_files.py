"""Evidence, agenda attachments and signed agreements become private files
(random names under private/, served only through the records' own views); the
Wagtail documents they were stored as are copied over and deleted."""

from django.db import migrations

import portal.uploads

FIELDS = [
    ("actionprogress", "evidence", "evidence"),
    ("agendaitem", "attachment", "attachment"),
    ("agreement", "signed_file", "signed agreement"),
]


def forward(apps, schema_editor):
    for model, name, _label in FIELDS:
        portal.uploads.move_to_private(
            apps, model=f"alliance.{model}", old=name, new=f"{name}_private",
            kind=portal.uploads.ANY, wagtail="wagtaildocs.document",
        )  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [
        ("alliance", "0002_labels"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("wagtailcore", "0096_referenceindex_referenceindex_source_object_and_more"),
        ("wagtaildocs", "0014_alter_document_file_size"),
    ]

    operations = [
        *(
            migrations.AddField(
                model_name=model,
                name=f"{name}_private",
                field=portal.uploads.PrivateFileField(blank=True, kind="any", verbose_name=label),
            )
            for model, name, label in FIELDS
        ),
        migrations.RunPython(forward, migrations.RunPython.noop),
        *(migrations.RemoveField(model_name=model, name=name) for model, name, _l in FIELDS),
        *(
            migrations.RenameField(model_name=model, old_name=f"{name}_private", new_name=name)
            for model, name, _l in FIELDS
        ),
    ]
