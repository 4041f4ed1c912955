"""Helpers for the tests of private uploads: sample files, the public address
a stored file would have, and the URL conf as `make run` (DEBUG) builds it."""

import contextlib
import importlib
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import clear_url_caches
from PIL import Image

GPS_IFD = 0x8825


def jpeg_with_gps(name="resident_home.jpg") -> SimpleUploadedFile:
    """A photo as a phone takes it: EXIF with a GPS position and the camera."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[GPS_IFD] = {1: "N", 2: (30.0, 15.0, 7.0), 3: "E", 4: (120.0, 9.0, 3.0)}
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 22, 29)).save(buffer, "JPEG", exif=exif)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def pdf(name="协议.pdf", body=b"%PDF-1.4 signed agreement") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, body, content_type="application/pdf")


def html(name="evidence.html") -> SimpleUploadedFile:
    body = b"<html><script>fetch('/admin/members/')</script></html>"
    return SimpleUploadedFile(name, body, content_type="text/html")


def pixel_bomb(name="bomb.png") -> SimpleUploadedFile:
    """11,000 x 11,000 pixels in about 15 KB: refused before decoding."""
    buffer = io.BytesIO()
    Image.new("1", (11_000, 11_000)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def public_url(value) -> str:
    """The address a stored file has outside the record's own view: Wagtail's
    document URL, a Wagtail image's original under /media/, or the /media/
    path of a plain file field."""
    url = getattr(value, "url", None)
    if url is None:  # a Wagtail image
        url = value.file.url
    return url


def stored_file(value):
    """The stored file of a record's upload (a Wagtail document or image before
    issue 12, the record's own file field after)."""
    return value.file if hasattr(value, "_meta") else value


def body_of(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


@contextlib.contextmanager
def debug_urlconf():
    """portal.urls as built with DEBUG on (as `make run` serves it)."""
    import portal.urls

    try:
        with override_settings(DEBUG=True):
            importlib.reload(portal.urls)
            clear_url_caches()
            yield
    finally:
        importlib.reload(portal.urls)
        clear_url_caches()


def _refused(response) -> bool:
    if response.status_code in (403, 404):
        return True
    return response.status_code == 302 and "login" in response["Location"]


def assert_private(client, value, *, view_url, allowed, denied, attachment=True):
    """Only ``allowed`` users get the file, through ``view_url``, with safe
    headers; anonymous visitors and ``denied`` users get it neither there nor
    at any public address (Wagtail's document URL, /media/ as `make run`
    routes it)."""
    stored = stored_file(value)
    with stored.open("rb") as handle:
        content = handle.read()
    for user in allowed:
        client.force_login(user)
        response = client.get(view_url)
        assert response.status_code == 200, user
        assert body_of(response) == content
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response["Content-Security-Policy"]
        disposition = response["Content-Disposition"]
        assert disposition.startswith("attachment" if attachment else "inline"), disposition
    for user in (None, *denied):
        client.logout()
        if user is not None:
            client.force_login(user)
        assert _refused(client.get(view_url)), user
        assert _refused(client.get(public_url(value))), (user, public_url(value))
        with debug_urlconf():
            assert client.get(f"/media/{stored.name}").status_code == 404, user


def attach(record, field_name, upload):
    """Store ``upload`` as the record's file: before issue 12 a Wagtail document
    or image the record points to, after it the record's own private file."""
    field = record._meta.get_field(field_name)
    if field.is_relation:
        item = field.related_model(title="upload", file=upload)
        if hasattr(item, "_set_document_file_metadata"):
            item._set_document_file_metadata()
        else:
            item._set_image_file_metadata()
        item.save()
        setattr(record, field_name, item)
    else:
        from portal.uploads import clean_upload

        getattr(record, field_name).save(upload.name, clean_upload(upload, field.kind), save=False)
    record.save()
