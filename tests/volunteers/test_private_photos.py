"""Photos of service requests and of finished tasks are private files, shown
only to those who may see the request (issue 12, "private files are public")."""

from tests.uploads_support import assert_private, jpeg_with_gps
from tests.volunteers.test_request_views import (  # noqa: F401 (fixtures)
    form_data,
    new_request,
    worker,
    worker_b,
)
from volunteers.dispatch.services import offers_send
from volunteers.dispatch.task_services import offer_accept
from volunteers.models import Offer, RequestPhoto


def test_request_photos_only_for_those_who_see_the_request(client, tree, users, worker, worker_b):  # noqa: F811
    client.force_login(worker)
    response = client.post("/requests/new/", form_data(tree, photos=[jpeg_with_gps()]))
    assert response.status_code == 302
    photo = RequestPhoto.objects.get()
    page = client.get(f"/requests/{photo.request_id}/").content.decode()
    assert f"/requests/{photo.request_id}/photos/{photo.pk}/" in page
    assert "/media/" not in page
    assert_private(
        client,
        photo.image,
        view_url=f"/requests/{photo.request_id}/photos/{photo.pk}/",
        allowed=[worker, users.secretary, users.district],
        denied=[users.secretary_b, worker_b, users.partner],
        attachment=False,
    )


def test_completion_photo_only_for_the_volunteer_and_the_grid_staff(
    client,
    tree,
    users,
    worker,  # noqa: F811
    worker_b,  # noqa: F811
):
    request = new_request(worker, tree.grid3a)
    (offer,) = offers_send(request=request, users=[users.member], by=worker)
    offer_accept(offer=offer, user=users.member)
    client.force_login(users.member)
    response = client.post(
        f"/me/tasks/{offer.pk}/complete/", {"note": "药已送到", "photo": jpeg_with_gps()}
    )
    assert response.status_code == 302
    offer = Offer.objects.get(pk=offer.pk)
    assert_private(
        client,
        offer.completion_photo,
        view_url=f"/requests/{request.pk}/offers/{offer.pk}/photo/",
        allowed=[users.member, worker, users.secretary],
        denied=[users.secretary_b, worker_b, users.partner],
        attachment=False,
    )
