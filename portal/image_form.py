"""Wagtail's admin image form (``WAGTAILIMAGES_IMAGE_FORM_BASE``): a picture
uploaded in the admin (a notice's cover, a page's photo) is re-encoded like
every other upload: EXIF and other metadata (a phone's GPS position!) removed,
pixel bombs refused before decoding (``portal.uploads.clean_image``)."""

from pathlib import PurePosixPath

from wagtail.images.forms import BaseImageForm

from portal.uploads import clean_image


class ImageForm(BaseImageForm):
    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if not upload or "file" not in self.changed_data:
            return upload
        cleaned = clean_image(upload)
        # Keep the name people chose; the extension is the re-encoded format's.
        cleaned.name = PurePosixPath(upload.name).stem + PurePosixPath(cleaned.name).suffix
        return cleaned
