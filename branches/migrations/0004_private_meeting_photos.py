"""Meeting photos become private files (random names under private/, served
only to those who may see the meeting); the Wagtail images they were stored as
are copied over (re-encoded, without EXIF) and deleted."""

import django.db.models.deletion
from django.db import migrations, models

import portal.uploads


def forward(apps, schema_editor):
    portal.uploads.move_to_private(
        apps, model="branches.meetingphoto", old="image", new="image_private",
        kind=portal.uploads.IMAGE, wagtail="wagtailimages.image",
    )  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [
        ("branches", "0003_member_category_label"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("wagtailcore", "0096_referenceindex_referenceindex_source_object_and_more"),
        ("wagtailimages", "0027_image_description"),
    ]

    operations = [
        migrations.AddField(
            model_name="meetingphoto",
            name="image_private",
            field=portal.uploads.PrivateFileField(default="", kind="image", verbose_name="photo"),
            preserve_default=False,
        ),
        # Deleting the Wagtail image must not take the photo row with it.
        migrations.AlterField(
            model_name="meetingphoto",
            name="image",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="wagtailimages.image",
            ),  # fmt: skip
        ),
        migrations.RunPython(forward, migrations.RunPython.noop),
        migrations.RemoveField(model_name="meetingphoto", name="image"),
        migrations.RenameField(
            model_name="meetingphoto", old_name="image_private", new_name="image"
        ),
    ]
