"""Service-request photos and completion photos become private files (random
names under private/, served only to those who may see the request); the
Wagtail images they were stored as are copied over (re-encoded, without EXIF)
and deleted."""

import django.db.models.deletion
from django.db import migrations, models

import portal.uploads


def forward(apps, schema_editor):
    for model, name in (("requestphoto", "image"), ("offer", "completion_photo")):
        portal.uploads.move_to_private(
            apps, model=f"volunteers.{model}", old=name, new=f"{name}_private",
            kind=portal.uploads.IMAGE, wagtail="wagtailimages.image",
        )  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [
        ("volunteers", "0005_request_rounds"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("wagtailcore", "0096_referenceindex_referenceindex_source_object_and_more"),
        ("wagtailimages", "0027_image_description"),
    ]

    operations = [
        migrations.AddField(
            model_name="requestphoto",
            name="image_private",
            field=portal.uploads.PrivateFileField(default="", kind="image", verbose_name="photo"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="offer",
            name="completion_photo_private",
            field=portal.uploads.PrivateFileField(blank=True, kind="image", verbose_name="photo"),
        ),
        # Deleting the Wagtail image must not take the photo row with it.
        migrations.AlterField(
            model_name="requestphoto",
            name="image",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="wagtailimages.image",
            ),  # fmt: skip
        ),
        migrations.RunPython(forward, migrations.RunPython.noop),
        migrations.RemoveField(model_name="requestphoto", name="image"),
        migrations.RemoveField(model_name="offer", name="completion_photo"),
        migrations.RenameField(
            model_name="requestphoto", old_name="image_private", new_name="image"
        ),
        migrations.RenameField(
            model_name="offer", old_name="completion_photo_private", new_name="completion_photo"
        ),
    ]
