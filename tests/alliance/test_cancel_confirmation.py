"""Cancelling a joint meeting cannot be undone: its button asks first
(``data-confirm``, handled by site.js under the strict CSP)."""

from tests.alliance.test_meetings import alliance, convene  # noqa: F401


def test_the_cancel_button_asks_for_confirmation(client, alliance, users):  # noqa: F811
    meeting = convene(alliance, users.secretary)
    client.force_login(users.secretary)
    page = client.get(f"/alliance/meetings/{meeting.pk}/").content.decode()
    form = page[page.index(f'action="/alliance/meetings/{meeting.pk}/cancel/"') :]
    button = form[: form.index("</button>")]
    assert 'data-confirm="确定取消这次会议吗？取消后无法恢复，所有受邀人都会收到通知。"' in button
