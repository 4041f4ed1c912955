"""Uploads are allow-listed and checked by content, photos are re-encoded
without EXIF, pixel bombs are refused before decoding, private files get random
names, are served with safe headers and never from /media/ (issue 12)."""

import io
import re

import pytest
from PIL import Image

from portal.models import Role
from portal.services import role_assign
from tests.factories import make_user
from tests.uploads_support import (
    body_of,
    debug_urlconf,
    html,
    jpeg_with_gps,
    pixel_bomb,
    stored_file,
)
from tests.volunteers.test_request_views import form_data
from volunteers.models import RequestPhoto, ServiceRequest


@pytest.fixture
def worker(tree):
    user = make_user("gw_uploads")
    role_assign(user=user, role=Role.GRID_WORKER, page=tree.grid3a)
    return user


def record_with_photo(client, tree, worker, photo):
    client.force_login(worker)
    return client.post("/requests/new/", form_data(tree, photos=[photo]))


def test_a_photo_is_stored_under_a_random_name_without_exif(client, tree, worker):
    response = record_with_photo(client, tree, worker, jpeg_with_gps())
    assert response.status_code == 302
    photo = RequestPhoto.objects.get()
    stored = stored_file(photo.image)
    name = stored.name
    assert "resident_home" not in name
    assert re.fullmatch(r"private/[0-9a-f]{32}\.jpg", name), name
    with stored.open("rb") as handle:
        image = Image.open(io.BytesIO(handle.read()))
    assert not image.getexif() and "exif" not in image.info
    assert image.size == (64, 48)


def test_an_html_file_is_refused_as_a_photo_and_nothing_is_saved(client, tree, worker):
    response = record_with_photo(client, tree, worker, html("home.html"))
    page = response.content.decode()
    assert response.status_code == 200 and "请上传照片" in page
    assert not ServiceRequest.objects.exists() and not RequestPhoto.objects.exists()


def test_a_renamed_html_file_is_refused_by_its_content(client, tree, worker):
    response = record_with_photo(client, tree, worker, html("home.jpg"))
    assert "请上传照片" in response.content.decode()
    assert not RequestPhoto.objects.exists()


def test_a_pixel_bomb_is_refused_before_decoding(client, tree, worker):
    response = record_with_photo(client, tree, worker, pixel_bomb())
    page = response.content.decode()
    assert response.status_code == 200 and "图片尺寸过大" in page
    assert not RequestPhoto.objects.exists()


def test_the_photo_response_is_inline_with_safe_headers(client, tree, worker):
    record_with_photo(client, tree, worker, jpeg_with_gps())
    photo = RequestPhoto.objects.get()
    response = client.get(f"/requests/{photo.request_id}/photos/{photo.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert "sandbox" in response["Content-Security-Policy"]
    assert body_of(response).startswith(b"\xff\xd8")  # a JPEG


def test_media_does_not_serve_a_private_file_in_development(client, tree, worker, settings):
    record_with_photo(client, tree, worker, jpeg_with_gps())
    photo = RequestPhoto.objects.get()
    stored = stored_file(photo.image)
    client.logout()
    with debug_urlconf():
        assert client.get(f"/media/{stored.name}").status_code == 404
        client.force_login(worker)
        assert client.get(f"/media/{stored.name}").status_code == 404


def test_media_serves_public_image_renditions_in_development(client, settings, db):
    (settings.MEDIA_ROOT / "images").mkdir(parents=True, exist_ok=True)
    rendition = settings.MEDIA_ROOT / "images" / "cover.max-960x540.jpg"
    Image.new("RGB", (4, 3)).save(rendition, "JPEG")
    with debug_urlconf():
        assert client.get("/media/images/cover.max-960x540.jpg").status_code == 200
        assert client.get("/media/images/../private/x.jpg").status_code == 404


def test_wagtail_uploads_are_allow_listed(settings):
    assert "html" not in settings.WAGTAILDOCS_EXTENSIONS
    assert set(settings.WAGTAILIMAGES_EXTENSIONS) == {"jpg", "jpeg", "png", "webp"}
    assert settings.WAGTAILIMAGES_MAX_IMAGE_PIXELS <= 40_000_000
    assert Image.MAX_IMAGE_PIXELS <= 40_000_000
    assert settings.WAGTAILDOCS_SERVE_METHOD == "serve_view"


@pytest.fixture
def image_editor(db):
    """Wagtail's image library is open to superusers only here."""
    user = make_user("editor")
    user.is_superuser = True
    user.save()
    return user


def test_a_photo_uploaded_in_the_admin_loses_its_exif(client, image_editor):
    """Wagtail's own image upload (a notice's cover) goes through the same
    re-encoding: the stored original carries no GPS position."""
    from wagtail.images import get_image_model

    client.force_login(image_editor)
    response = client.post(
        "/admin/images/add/", {"title": "封面", "file": jpeg_with_gps("cover.jpg"), "tags": ""}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    image = get_image_model().objects.get(title="封面")
    with image.file.open("rb") as handle:
        stored = Image.open(io.BytesIO(handle.read()))
    assert not stored.getexif() and "exif" not in stored.info
    assert (image.width, image.height) == (64, 48)


def test_a_pixel_bomb_is_refused_in_the_admin_too(client, image_editor):
    from wagtail.images import get_image_model

    client.force_login(image_editor)
    response = client.post(
        "/admin/images/add/", {"title": "炸弹", "file": pixel_bomb(), "tags": ""}
    )
    assert response.status_code == 200
    assert not get_image_model().objects.filter(title="炸弹").exists()
