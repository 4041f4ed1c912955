"""Pages link back where their reader came from: a notice to "我的通知", the
private-data page to its record."""

from django.urls import reverse

from portal.publishing import NoticePage
from tests.factories import make_member, publish


def test_a_notice_links_back_to_my_notices_for_a_signed_in_member(client, tree, users):
    notice = publish(tree.branch_a, NoticePage(title="关于缴纳党费的通知"))
    client.force_login(users.member)
    page = client.get(notice.url).content.decode()
    assert f'href="{reverse("my_notices")}"' in page and "我的通知" in page
    client.logout()
    assert f'href="{reverse("my_notices")}"' not in client.get(notice.url).content.decode()


def test_the_private_data_page_links_back_to_its_record(client, tree, users):
    member = make_member(branch=tree.branch_a, name="陈静")
    client.force_login(users.secretary)
    page = client.get(f"/admin/private/member/{member.pk}/").content.decode()
    assert 'data-testid="back-to-record"' in page
    assert f'href="/admin/members/edit/{member.pk}/"' in page
