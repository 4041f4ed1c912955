"""User uploads: what may be uploaded, how it is stored and how it is served.

Every file a user uploads with a record (evidence, attachments, agreements,
photos of meetings and service requests) goes through this module:

- an allow-list per kind (``IMAGE``: jpg/png/webp; ``DOCUMENT``: pdf and office
  formats; ``ANY``: either), checked by content (magic bytes; Pillow for
  images), not only by the extension;
- images are measured from their header before anything is decoded (pixel
  bombs are refused), then re-encoded without EXIF (no GPS position), turned
  upright and scaled down to ``MAX_IMAGE_SIDE``;
- files belonging to a private record are kept in a ``PrivateFileField``:
  stored as ``private/<random>.<ext>`` (no original file name), never routed
  under ``/media/`` (the web server denies ``/media/private/``), and served
  only by ``private_file_response`` from a view that has already applied the
  record's own scope rule;
- the response forces a download unless the file is an image we re-encoded,
  and always carries ``X-Content-Type-Options: nosniff`` and a sandboxing CSP.
"""

import io
import os
import uuid
import warnings
import zipfile

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import models
from django.http import FileResponse
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

IMAGE = "image"
DOCUMENT = "document"
ANY = "any"

IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp")
DOCUMENT_EXTENSIONS = ("pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp")
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# Pixel bombs: refused from the header, before decoding. Pillow refuses too
# (DecompressionBombError above twice this), wherever it opens an image.
MAX_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# Re-encoded photos are scaled down to fit this box (plenty for a phone screen).
MAX_IMAGE_SIDE = 2400
PRIVATE_PREFIX = "private"

_PILLOW_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # doc, xls, ppt
_OOXML = {"docx", "xlsx", "pptx"}
_ODF = {"odt", "ods", "odp"}
# Served inline: only images this module re-encoded (they are stored with these endings).
_INLINE_TYPES = {"jpg": "image/jpeg", "png": "image/png"}
FILE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def extension_of(name: str) -> str:
    """The lower-case extension of a file name, without the dot ("" if none)."""
    return os.path.splitext(name or "")[1].lower().lstrip(".")


def _types_message(kind: str) -> str:
    if kind == IMAGE:
        return _("Upload a photo (JPG, PNG or WebP).")
    if kind == DOCUMENT:
        return _("Upload a PDF, Word, Excel or PowerPoint file.")
    return _("Upload a photo (JPG, PNG or WebP) or a PDF, Word, Excel or PowerPoint file.")


def _head(upload, size: int = 4096) -> bytes:
    upload.seek(0)
    head = upload.read(size)
    upload.seek(0)
    return head


def _document_content_ok(upload, extension: str) -> bool:
    head = _head(upload)
    if extension == "pdf":
        return head.startswith(b"%PDF-")
    if extension in ("doc", "xls", "ppt"):
        return head.startswith(_OLE)
    if not head.startswith(b"PK\x03\x04"):
        return False
    try:
        upload.seek(0)
        with zipfile.ZipFile(upload) as archive:
            names = set(archive.namelist())
            if extension in _ODF:
                return "mimetype" in names
            return "[Content_Types].xml" in names
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    finally:
        upload.seek(0)


def clean_document(upload):
    """The upload if it is an allowed document whose content matches its
    extension; otherwise a ValidationError in the user's language."""
    extension = extension_of(upload.name)
    if extension not in DOCUMENT_EXTENSIONS or not _document_content_ok(upload, extension):
        raise ValidationError(_types_message(DOCUMENT), code="file_type")
    return upload


def clean_image(upload) -> ContentFile:
    """A re-encoded copy of an allowed photo: measured from its header first
    (more than ``MAX_PIXELS`` is refused without decoding), then decoded,
    turned upright, scaled to ``MAX_IMAGE_SIDE`` and saved without EXIF or
    other metadata (JPEG, or PNG when it has transparency)."""
    if extension_of(upload.name) not in IMAGE_EXTENSIONS:
        raise ValidationError(_types_message(IMAGE), code="file_type")
    too_big = ValidationError(
        _("The picture is too large: at most %(mpx)d million pixels.")
        % {"mpx": MAX_PIXELS // 1_000_000},
        code="too_many_pixels",
    )
    not_a_picture = ValidationError(_types_message(IMAGE), code="file_type")
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(upload)  # reads the header only
            if image.format not in _PILLOW_FORMATS:
                raise not_a_picture
            width, height = image.size
            if width * height * getattr(image, "n_frames", 1) > MAX_PIXELS:
                raise too_big
            image.load()
            image = ImageOps.exif_transpose(image)
            image.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE))
            transparent = image.mode in ("RGBA", "LA", "PA") or (
                image.mode == "P" and "transparency" in image.info
            )
            image = image.convert("RGBA" if transparent else "RGB")
            image.info.clear()
            out = io.BytesIO()
            if transparent:
                image.save(out, "PNG", optimize=True)
            else:
                image.save(out, "JPEG", quality=85, optimize=True)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_big from None
    except ValidationError:
        raise
    except Exception:  # Pillow raises many kinds (OSError, SyntaxError, ValueError, …)
        raise not_a_picture from None
    finally:
        upload.seek(0)
    return ContentFile(out.getvalue(), name="photo.png" if transparent else "photo.jpg")


def clean_upload(upload, kind: str = ANY):
    """An upload made safe to store for ``kind`` (``IMAGE``, ``DOCUMENT`` or
    ``ANY``): a re-encoded photo, or the checked document itself. Raises a
    ValidationError with a clear message otherwise; nothing is stored here."""
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("The file is larger than %(mb)d MB.") % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)},
            code="file_too_large",
        )
    extension = extension_of(upload.name)
    if kind == IMAGE or (kind == ANY and extension in IMAGE_EXTENSIONS):
        return clean_image(upload)
    if kind == ANY and extension not in DOCUMENT_EXTENSIONS:
        raise ValidationError(_types_message(ANY), code="file_type")
    return clean_document(upload)


def private_upload_to(instance, filename: str) -> str:
    """``private/<random hex>.<ext>``: nothing of the original name is kept."""
    extension = extension_of(filename)
    allowed = extension in IMAGE_EXTENSIONS or extension in DOCUMENT_EXTENSIONS
    return f"{PRIVATE_PREFIX}/{uuid.uuid4().hex}.{extension if allowed else 'bin'}"


class UploadField(forms.FileField):
    """A form's file field for ``kind`` uploads: checked and (for photos)
    re-encoded by ``clean_upload``; the cleaned value is what gets stored."""

    def __init__(self, *, kind: str = ANY, **kwargs):
        self.kind = kind
        accept = {
            IMAGE: "image/jpeg,image/png,image/webp",
            DOCUMENT: ",".join(f".{e}" for e in DOCUMENT_EXTENSIONS),
            ANY: ",".join(f".{e}" for e in IMAGE_EXTENSIONS + DOCUMENT_EXTENSIONS),
        }[kind]
        kwargs.setdefault("widget", forms.ClearableFileInput)
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("accept", accept)

    def clean(self, data, initial=None):
        value = super().clean(data, initial)
        if value and hasattr(value, "content_type"):  # a new upload, not the stored file
            return clean_upload(value, self.kind)
        return value


class PrivateFileField(models.FileField):
    """A file that belongs to a private record: checked by ``UploadField`` in
    every form (site and admin), stored under a random name below
    ``private/``, served only through ``private_file_response``."""

    def __init__(self, *args, kind: str = ANY, **kwargs):
        self.kind = kind
        kwargs["upload_to"] = private_upload_to
        kwargs.setdefault("max_length", 100)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("upload_to", None)
        kwargs["kind"] = self.kind
        return name, path, args, kwargs

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": UploadField, "kind": self.kind, **kwargs})


def private_file_response(field_file, *, download_name: str) -> FileResponse:
    """The response for a private file, for a view that has already checked
    that the user may see its record. ``download_name`` is the file name the
    user gets, without extension (the stored extension is added). Re-encoded
    photos are shown inline; everything else is a download. Never cached by
    shared caches, never sniffed, never run."""
    extension = extension_of(field_file.name)
    inline_type = _INLINE_TYPES.get(extension)
    response = FileResponse(
        field_file.open("rb"),
        as_attachment=inline_type is None,
        filename=f"{download_name}.{extension}",
        content_type=inline_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = FILE_CSP
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = "private, no-store"
    return response


def move_to_private(apps, *, model: str, old: str, new: str, kind: str, wagtail: str) -> None:
    """Data migration step: copy the Wagtail document or image each ``model``
    row points to with ``old`` into its private field ``new`` (checked and
    re-encoded as a new upload would be; a file that fails the check is kept
    as an opaque ``.bin`` download), then delete the Wagtail object (and its
    renditions), so its public ``/documents/`` and ``/media/`` URLs are gone.
    A Wagtail object that some other page or record also uses is kept."""
    Model = apps.get_model(model)
    Wagtail = apps.get_model(wagtail)
    ours = {
        (Model._meta.app_label, Model._meta.model_name),
        *(
            (f.related_model._meta.app_label, f.related_model._meta.model_name)
            for f in Model._meta.get_fields()
            if getattr(f, "many_to_one", False) and f.related_model is not None
        ),
    }
    ContentType = apps.get_model("contenttypes", "ContentType")
    ReferenceIndex = apps.get_model("wagtailcore", "ReferenceIndex")
    wagtail_type = ContentType.objects.filter(
        app_label=Wagtail._meta.app_label, model=Wagtail._meta.model_name
    ).first()
    done = set()
    for row in Model.objects.filter(**{f"{old}__isnull": False}).iterator():
        source = getattr(row, old)
        try:
            with source.file.open("rb") as handle:
                data = ContentFile(handle.read(), name=os.path.basename(source.file.name))
        except (OSError, ValueError):
            continue  # the file is gone: nothing to copy
        try:
            cleaned = clean_upload(data, kind)
        except ValidationError:
            cleaned = ContentFile(data.read(), name="file.bin")
        getattr(row, new).save(cleaned.name, cleaned, save=False)
        Model.objects.filter(pk=row.pk).update(**{new: getattr(row, new).name})
        done.add(source.pk)
    for pk in done:
        used_elsewhere = False
        if wagtail_type is not None:
            users = ReferenceIndex.objects.filter(
                to_content_type=wagtail_type, to_object_id=str(pk)
            ).select_related("base_content_type")
            used_elsewhere = any(
                (r.base_content_type.app_label, r.base_content_type.model) not in ours
                for r in users
            )
        if used_elsewhere:
            continue
        source = Wagtail.objects.get(pk=pk)
        renditions = getattr(source, "renditions", None)
        for rendition in renditions.all() if renditions is not None else ():
            rendition.file.delete(save=False)
        source.file.delete(save=False)
        Wagtail.objects.filter(pk=pk).delete()
