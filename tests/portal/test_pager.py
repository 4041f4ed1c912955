"""The shared pager (portal/pager.html) keeps the filter on every page: its
"Next" link, followed as a browser follows it, shows page 2 of the same list."""

import datetime as dt
import html
import re
from urllib.parse import urljoin

from django.core.paginator import Paginator
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from alliance.models import ActionItem, Alliance, Kind, Partner, Project
from branches.models import GridPage
from portal.models import InboxMessage
from portal.publishing import NewsPage, NoticePage
from tests.alliance.test_meetings import action, alliance, convene, past_meeting  # noqa: F401
from tests.alliance.test_partners import make_need, make_partner, make_resource, rebuild
from tests.factories import add_page, make_duty, make_member, make_shift, publish
from tests.volunteers.test_request_views import new_request, worker  # noqa: F401 (fixture)
from volunteers.duties.services import credit_post
from volunteers.models import CheckIn, Offer, ServiceRequest, Shift


def next_link(body: str) -> str:
    """The href of the page's 下一页 link, exactly as rendered."""
    links = re.findall(r'<a\b[^>]*href="([^"]+)"[^>]*>\s*下一页', body)
    assert links, "the page has a 下一页 link"
    return html.unescape(links[-1])


def follow(client, url, params=None):
    """Page 1 of ``url`` with ``params``, then the page its 下一页 link leads to
    (resolved against the page's URL as a browser does)."""
    first = client.get(url, params or {})
    assert first.status_code == 200
    link = next_link(first.content.decode())
    assert not link.startswith("??")
    second = client.get(urljoin(url, link))
    assert second.status_code == 200
    return first.content.decode(), second.content.decode()


def titles(body: str) -> list[str]:
    return re.findall(r'class="pub-item__title"><a href="[^"]*">([^<]+)</a>', body)


def test_the_pager_link_is_a_query_string_with_the_filter():
    request = RequestFactory().get("/x/", {"kind": "news", "page": "1"})
    items = Paginator(range(45), 20).get_page(1)
    body = render_to_string("portal/pager.html", {"items": items}, request=request)
    assert 'href="?kind=news&amp;page=2"' in body
    assert "??" not in body


def test_page_two_of_a_filtered_notice_listing(client, tree):
    now = timezone.now()
    for n in range(25):
        publish(tree.branch_a, NewsPage(title=f"动态{n:02d}"), at=now - dt.timedelta(hours=n))
    publish(tree.branch_a, NoticePage(title="一则通知"), at=now)
    url = tree.branch_a.url + "notices/"
    first = client.get(url, {"kind": "news"})
    link = next_link(first.content.decode())
    assert link.startswith("?") and not link.startswith("??")
    second = client.get(url + link).content.decode()
    shown = re.findall(r'class="pub-item__title"><a href="[^"]*">([^<]+)</a>', second)
    assert shown == [f"动态{n:02d}" for n in range(20, 25)]  # the news only, page 2


def test_page_two_of_a_filtered_request_list(client, tree, worker):  # noqa: F811
    for n in range(23):
        new_request(worker, tree.grid3a, title=f"需求{n:02d}")
    for n in range(10):  # other requests the filter leaves out
        new_request(
            worker, tree.grid3a, title=f"关怀{n:02d}", category=ServiceRequest.Category.OTHER
        )
    client.force_login(worker)
    first = client.get("/requests/", {"category": "elderly"})
    link = next_link(first.content.decode())
    assert link.startswith("?category=elderly") and "page=2" in link
    second = client.get("/requests/" + link).content.decode()
    assert "第 2 页，共 2 页" in second
    assert sum(f"需求{n:02d}" in second for n in range(23)) == 3
    assert "关怀" not in second


# --- Every paginated list: page 2 keeps the filter -----------------------------------------


def test_page_two_of_a_filtered_site_search(client, tree, users):
    for n in range(25):
        add_page(
            tree.grid3b, GridPage(title=f"和谐家园{n:02d}微网格", slug=f"hx{n:02d}", level="micro")
        )
    for n in range(3):  # the same word in another type, which the facet leaves out
        make_duty(tree, title=f"和谐家园楼道清理{n}")
    rebuild()
    client.force_login(users.district)
    first, second = follow(client, "/search/", {"q": "和谐家园", "type": "unit"})
    assert "type=unit" in next_link(first) and "q=" in next_link(first)
    shown = [
        re.sub(r"</?mark>", "", t)
        for t in re.findall(r'class="search-hit__title"><a[^>]*>(.*?)</a>', second)
    ]
    on_first = [
        re.sub(r"</?mark>", "", t)
        for t in re.findall(r'class="search-hit__title"><a[^>]*>(.*?)</a>', first)
    ]
    assert len(on_first) == 20 and len(shown) == 5
    assert sorted(on_first + shown) == [f"和谐家园{n:02d}微网格" for n in range(25)]
    assert "楼道清理" not in second


def test_page_two_of_a_filtered_admin_search(client, tree, users):
    for n in range(25):
        add_page(
            tree.grid3b, GridPage(title=f"和谐家园{n:02d}微网格", slug=f"hx{n:02d}", level="micro")
        )
    for n in range(3):
        make_duty(tree, title=f"和谐家园楼道清理{n}")
    rebuild()
    client.force_login(users.district)
    url = reverse("search_admin")
    first, second = follow(client, url, {"q": "和谐家园", "type": "unit"})
    assert "type=unit" in next_link(first)
    rows = re.findall(r"<tr><td>(?:<a[^>]*>)?(.*?)(?:</a>)?</td>", second)
    shown = [re.sub(r"</?mark>", "", t) for t in rows]
    assert len(shown) == 5 and all(t.startswith("和谐家园") and t.endswith("微网格") for t in shown)
    assert "楼道清理" not in second


def test_page_two_of_filtered_alliance_needs(client, tree, users):
    for n in range(23):
        make_need(tree, title=f"助餐需求{n:02d}", kind=Kind.VOLUNTEERS)
    for n in range(5):
        make_need(tree, title=f"场地需求{n:02d}", kind=Kind.VENUE)
    client.force_login(users.district)
    first, second = follow(client, reverse("alliance_needs"), {"kind": "volunteers"})
    assert "kind=volunteers" in next_link(first)
    assert sorted(titles(second)) == [f"助餐需求{n:02d}" for n in range(3)]
    assert "场地需求" not in second


def test_page_two_of_filtered_alliance_resources(client, tree, users):
    unit = make_partner("幸福里实验小学", branches=[tree.branch_a])
    for n in range(23):
        make_resource(unit, f"志愿者队伍{n:02d}", kind=Kind.VOLUNTEERS)
    for n in range(5):
        make_resource(unit, f"礼堂场地{n:02d}", kind=Kind.VENUE)
    client.force_login(users.secretary)
    first, second = follow(client, reverse("alliance_resources"), {"kind": "volunteers"})
    assert "kind=volunteers" in next_link(first)
    assert sorted(titles(second)) == [f"志愿者队伍{n:02d}" for n in range(3)]
    assert "礼堂场地" not in second


def test_page_two_of_filtered_alliance_projects(client, tree, users):
    need = make_need(tree)
    for n in range(23):
        Project.objects.create(title=f"助餐项目{n:02d}", need=need, status=Project.Status.ACTIVE)
    for n in range(5):
        Project.objects.create(title=f"已结项目{n:02d}", need=need, status=Project.Status.DONE)
    client.force_login(users.secretary)
    first, second = follow(client, reverse("alliance_projects"), {"status": "active"})
    assert "status=active" in next_link(first)
    assert sorted(titles(second)) == [f"助餐项目{n:02d}" for n in range(3)]
    assert "已结项目" not in second


def test_page_two_of_filtered_partner_units(client, tree, users):
    for n in range(23):
        make_partner(f"共建学校{n:02d}", kind=Partner.Kind.SCHOOL, branches=[tree.branch_a])
    for n in range(5):
        make_partner(f"共建企业{n:02d}", kind=Partner.Kind.ENTERPRISE, branches=[tree.branch_a])
    client.force_login(users.secretary)
    first, second = follow(client, reverse("alliance_partners"), {"kind": "school"})
    assert "kind=school" in next_link(first)
    assert titles(second) == [f"共建学校{n:02d}" for n in range(20, 23)]  # by name
    assert "共建企业" not in second


def test_page_two_of_past_joint_meetings(client, users, alliance):  # noqa: F811
    for n in range(23):
        past_meeting(alliance, users.secretary, days_ago=30 + n, title=f"往期联席会议{n:02d}")
    for n in range(3):  # upcoming meetings, which "past" leaves out
        convene(
            alliance, users.secretary, start_in=dt.timedelta(days=3 + n), title=f"下期联席会议{n}"
        )
    client.force_login(users.secretary)
    first, second = follow(client, reverse("meeting_list"), {"when": "past"})
    assert "when=past" in next_link(first)
    assert titles(second) == [f"往期联席会议{n:02d}" for n in range(20, 23)]  # latest first
    assert "下期联席会议" not in second


def test_page_two_of_the_open_shifts(client, tree, users):
    for n in range(23):
        make_shift(make_duty(tree, title=f"楼道清理{n:02d}"), start_in=dt.timedelta(days=1 + n))
    past = make_duty(tree, title="已结束的值守")  # a past shift is never listed
    make_shift(past, start_in=dt.timedelta(days=-1))
    hidden = make_duty(tree, title="未发布的岗位", published=False)
    make_shift(hidden, start_in=dt.timedelta(days=1))
    client.force_login(users.volunteer)
    first, second = follow(client, reverse("volunteer_shifts"))
    assert titles(second) == [f"楼道清理{n:02d}" for n in range(20, 23)]  # soonest first
    assert "已结束的值守" not in first + second and "未发布的岗位" not in first + second


def test_page_two_of_my_notices(client, tree, users):
    now = timezone.now()
    for n in range(23):
        publish(tree.branch_a, NoticePage(title=f"支部通知{n:02d}"), at=now - dt.timedelta(hours=n))
    publish(tree.branch_b, NoticePage(title="别的支部的通知"), at=now)
    client.force_login(users.member)
    first, second = follow(client, reverse("my_notices"))
    assert titles(second) == [f"支部通知{n:02d}" for n in range(20, 23)]
    assert "别的支部的通知" not in first + second


def test_page_two_of_my_inbox(client, users):
    now = timezone.now()
    for n in range(23):
        message = InboxMessage.objects.create(user=users.member, subject=f"提醒{n:02d}", body="…")
        InboxMessage.objects.filter(pk=message.pk).update(created_at=now - dt.timedelta(hours=n))
    InboxMessage.objects.create(user=users.volunteer, subject="别人的消息", body="…")
    client.force_login(users.member)
    first, second = follow(client, reverse("my_inbox"))
    shown = re.findall(r'class="pub-item__title">([^<]+)</h3>', second)
    assert shown == [f"提醒{n:02d}" for n in range(20, 23)]
    assert "别人的消息" not in first + second


def test_page_two_of_my_task_history(client, tree, users, worker):  # noqa: F811
    now = timezone.now()
    for n in range(23):
        sr = new_request(worker, tree.grid3a, title=f"已谢绝的任务{n:02d}")
        offer = Offer.objects.create(
            request=sr, user=users.volunteer, status=Offer.Status.DECLINED, expires_at=now
        )
        Offer.objects.filter(pk=offer.pk).update(offered_at=now - dt.timedelta(hours=n))
    sr = new_request(worker, tree.grid3a, title="别人的任务")
    Offer.objects.create(
        request=sr, user=users.member, status=Offer.Status.DECLINED, expires_at=now
    )
    client.force_login(users.volunteer)
    first, second = follow(client, reverse("my_tasks"))
    assert titles(second) == [f"已谢绝的任务{n:02d}" for n in range(20, 23)]
    assert "别人的任务" not in first + second


def test_page_two_of_my_service_record_for_a_year(client, tree, users):
    year = timezone.localtime().year - 1  # a whole past year: ?year= is the filter

    def served(title, starts_at):
        shift = Shift.objects.create(
            duty=make_duty(tree, title=title),
            starts_at=starts_at,
            ends_at=starts_at + dt.timedelta(hours=1),
            capacity=2,
        )
        record = CheckIn.objects.create(
            shift=shift,
            user=users.volunteer,
            checked_in_at=shift.starts_at,
            checked_out_at=shift.ends_at,
            verified_at=shift.ends_at,
            in_method="organiser",
        )
        credit_post(check_in=record)

    june = timezone.make_aware(dt.datetime(year, 6, 1, 9))
    for n in range(53):  # 50 to a page
        served(f"服务记录{n:02d}", june + dt.timedelta(days=n))
    served("前年的服务", june - dt.timedelta(days=365))
    client.force_login(users.volunteer)
    first, second = follow(client, reverse("my_service"), {"year": year})
    assert f"year={year}" in next_link(first)
    rows = r'<tr data-row><td>[^<]*</td><td><a href="[^"]*">([^<]+)</a>'
    shown, on_first = re.findall(rows, second), re.findall(rows, first)
    assert len(on_first) == 50 and len(shown) == 3
    assert sorted(on_first + shown) == [f"服务记录{n:02d}" for n in range(53)]
    assert "前年的服务" not in first + second


def test_page_two_of_a_branchs_read_receipts(client, tree, users):
    notice = publish(tree.district, NoticePage(title="全区通知", requires_receipt=True))
    for n in range(53):
        make_member(branch=tree.branch_a, name=f"甲成员{n:02d}")
    for n in range(5):
        make_member(branch=tree.branch_b, name=f"乙成员{n:02d}")
    client.force_login(users.district)
    url = reverse("notice_receipts", args=[notice.pk])
    first, second = follow(client, url, {"branch": tree.branch_a.pk})
    assert f"branch={tree.branch_a.pk}" in next_link(first)
    shown = re.findall(r"<tr><td>([^<]+)</td>", second)
    assert len(re.findall(r"<tr><td>([^<]+)</td>", first)) == 50
    # branch A's 54 members (赵敏 of the users fixture too), by name: the last four
    assert sorted(shown) == sorted([f"甲成员{n:02d}" for n in range(50, 53)] + ["赵敏"])
    assert "乙成员" not in second


def test_page_two_of_the_admin_request_records(client, tree, users, worker):  # noqa: F811
    for n in range(53):
        new_request(worker, tree.grid3a, title=f"需求{n:02d}")
    for n in range(5):
        new_request(
            worker, tree.grid3a, title=f"关怀{n:02d}", category=ServiceRequest.Category.OTHER
        )
    client.force_login(users.district)
    first, second = follow(client, reverse("volunteer_requests"), {"category": "elderly"})
    assert "category=elderly" in next_link(first)
    assert sum(f"需求{n:02d}" in second for n in range(53)) == 3
    assert "关怀" not in second


def test_page_two_of_the_follow_up_board_for_one_alliance(client, tree, users, alliance):  # noqa: F811
    today = timezone.localdate()
    meeting = past_meeting(alliance, users.secretary)
    for n in range(53):
        item = action(meeting, f"督办事项{n:02d}", owner_branch=tree.branch_a)
        ActionItem.objects.filter(pk=item.pk).update(due_on=today - dt.timedelta(days=60 - n))
    other = Alliance.objects.create(name="光明路共建联盟", unit=tree.branch_a)
    elsewhere = past_meeting(other, users.secretary, title="别的联盟的会议")
    item = action(elsewhere, "别的联盟的事项", owner_branch=tree.branch_a)
    ActionItem.objects.filter(pk=item.pk).update(due_on=today - dt.timedelta(days=90))
    client.force_login(users.secretary)
    first, second = follow(client, reverse("alliance_followup"), {"alliance": alliance.pk})
    assert f"alliance={alliance.pk}" in next_link(first)
    shown = re.findall(r'data-testid="board-item"><a href="[^"]*">([^<]+)</a>', second)
    assert shown == [f"督办事项{n:02d}" for n in range(50, 53)]  # the latest due last
    assert "别的联盟" not in second
