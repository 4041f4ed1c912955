"""Branch meeting photos are private files, shown only to those who may see
the meeting (issue 12, "private files are public")."""

import datetime as dt

from django.utils import timezone

from branches.models import MeetingKind, MeetingPhoto
from branches.schedule import meeting_schedule
from tests.uploads_support import assert_private, attach, jpeg_with_gps


def test_meeting_photos_only_for_those_who_see_the_meeting(client, tree, users):
    (meeting, *_rest) = meeting_schedule(
        branch=tree.branch_a,
        kind=MeetingKind.ASSEMBLY,
        title="支部党员大会",
        starts_at=timezone.now() - dt.timedelta(days=1),
        duration=dt.timedelta(hours=2),
        place="党群服务中心",
    )
    photo = MeetingPhoto(meeting=meeting, caption="会场", sort_order=0)
    attach(photo, "image", jpeg_with_gps())
    client.force_login(users.secretary)
    assert client.get(f"/admin/meetings/edit/{meeting.pk}/").status_code == 200
    page = client.get(f"/admin/meetings/{meeting.pk}/attendance/").content.decode()
    assert f"/admin/meetings/{meeting.pk}/photos/{photo.pk}/" in page
    assert_private(
        client,
        photo.image,
        view_url=f"/admin/meetings/{meeting.pk}/photos/{photo.pk}/",
        allowed=[users.secretary, users.district],
        denied=[users.secretary_b],
        attachment=False,
    )
