"""Complete in both languages: a walk of the site as each role, in English and in
Chinese, finds no text of the other language outside proper names.

The demo data is loaded once (``load_demo``), then every front-end page (the
portal's views, one Wagtail page of each type with its sub-pages, a record of
each kind) and the main admin pages are requested in both languages. The
visible text of each page (tags, scripts and styles stripped; placeholders,
titles, labels and button values kept) is checked:

- in English, no Chinese character outside the proper names taken from the
  database: unit and page titles, people's names, addresses, what users wrote
  (duties, requests, meetings, minutes, …) — and their masked forms;
- in Chinese, no English word outside the same data (usernames, e-mails, what
  users wrote) and a short list of brand names, codes and units.

Words a page shows because the *system* wrote them (role badges, categories,
statuses, inbox messages, notes of a change of state) are not proper names and
are never allowed."""

import json
import re
import zoneinfo
from html.parser import HTMLParser
from io import StringIO

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import models
from django.urls import reverse
from django.utils import translation
from wagtail.models import Page

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
WORD = re.compile(r"[A-Za-z][A-Za-z'’]*[A-Za-z]|[A-Za-z]")

# English words a Chinese page may show: names of products and formats, codes.
ENGLISH_ALLOWED = {
    word.lower()
    for word in (
        "Tongxin Wagtail PDF Excel xlsx csv QR TOTP iCalendar ics WeChat Email e-mail "
        "URL ID IP API OK CSV XLSX RRULE FREQ WEEKLY MONTHLY DAILY BYDAY HTML JPG JPEG "
        "PNG WebP GIF SVG Word PowerPoint OpenDocument MB KB GB px AM PM UTC GMT Asia "
        "Shanghai English EN Google Authenticator Microsoft Django allauth OAuth"
    ).split()
}
# Wagtail 8.0.1 writes these in its templates without gettext (the admin's
# search button, the header's "Actions" landmark, and the page search results'
# "1-6 of 6 None"): no catalogue can translate them.
WAGTAIL_UNTRANSLATABLE = {"search", "actions", "none"}
# The time zones of the account page are named in English by the tz database.
ENGLISH_ALLOWED |= {
    word.lower()
    for zone in zoneinfo.available_timezones()
    for word in re.findall(r"[A-Za-z]+", zone)
}

# Fields whose text the system writes (labels, categories, messages): never proper names.
NOT_PROPER_NAMES = {
    ("branches", "member", "badge_title"),
    ("portal", "inboxmessage", "subject"),
    ("portal", "inboxmessage", "body"),
    ("portal", "notification", "subject"),
    ("portal", "notification", "body"),
    ("portal", "notification", "last_error"),
}
APPS = ("portal", "branches", "volunteers", "alliance", "wagtailcore", "auth", "account")

ROLES = (
    None,
    "member",
    "volunteer",
    "partner",
    "gridworker",
    "secretary",
    "coordinator",
    "district",
)
ADMIN_ROLES = ("secretary", "coordinator", "district")


class _Text(HTMLParser):
    """The text a person sees: text nodes outside script/style/template, and the
    attributes shown to them (placeholder, title, alt, aria-label, button values)."""

    HIDDEN = {"script", "style", "template", "noscript"}
    SHOWN_ATTRS = {"placeholder", "title", "alt", "aria-label"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.hidden, self.hidden_tags = [], 0, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        # Search snippets are excerpts of what users wrote, cut mid-word.
        if (
            tag in self.HIDDEN
            or "hidden" in attrs
            or "search-hit__snippet" in (attrs.get("class") or "")
        ):
            self.hidden += 1
            self.hidden_tags.append(tag)
        for name in self.SHOWN_ATTRS:
            if attrs.get(name):
                self.parts.append(attrs[name])
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.parts.append(attrs["value"])

    def handle_endtag(self, tag):
        if self.hidden_tags and tag == self.hidden_tags[-1]:
            self.hidden_tags.pop()
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(re.sub(r"</?(?:mark|em|strong|b)>", "", html))
    return "\n".join(part.strip() for part in parser.parts if part.strip())


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def proper_names() -> list[str]:
    """Everything people and units are called and what users wrote, from the
    database, with the masked forms pages show (``赵*``, ``幸福里小区****``)."""
    from portal.masking import mask_address, mask_name

    # The language switcher names each language in itself.
    values = {"中文", *(name for _code, name in settings.LANGUAGES)}
    for model in apps.get_models():
        if model._meta.app_label not in APPS or model._meta.proxy:
            continue
        fields = [
            f
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField | models.JSONField)
            and (model._meta.app_label, model._meta.model_name, f.name) not in NOT_PROPER_NAMES
            and not f.choices
        ]
        if not fields:
            continue
        for row in model._default_manager.values_list(*[f.attname for f in fields]):
            for value in row:
                for text in _strings(value if not isinstance(value, str) else [value]):
                    if text.startswith("[") or text.startswith("{"):
                        try:
                            text = " ".join(_strings(json.loads(text)))
                        except ValueError:
                            pass
                    for part in re.split(r"<[^>]+>|\n", text):
                        if part.strip():
                            values.update({part.strip(), mask_name(part.strip())})
                            values.add(mask_address(part.strip()).rstrip("*"))
    return sorted(values, key=len, reverse=True)


def _english_leaks(text: str, names: re.Pattern) -> list[str]:
    """Chinese runs of an English page once the proper names are taken out."""
    if not CJK.search(text):
        return []
    return sorted(set(CJK.findall(names.sub(" ", text))))


def _chinese_leaks(text: str, names_words: set[str], admin: bool = False) -> list[str]:
    """English words of a Chinese page that are neither data nor allowed."""
    text = re.sub(r"https?://\S+|\S+@\S+|/[\w/.\-?=&]+", " ", text)
    leaks = set()
    for word in WORD.findall(text):
        lower = word.lower()
        if len(word) == 1 or lower in ENGLISH_ALLOWED or lower in names_words:
            continue
        if admin and lower in WAGTAIL_UNTRANSLATABLE:
            continue
        leaks.add(word)
    return sorted(leaks)


def front_paths() -> list[str]:
    """One page of each kind on the site (the paths without the /en/ prefix)."""
    from alliance.models import ActionItem, JointMeeting, Need, Partner, Project
    from volunteers.models import ServiceRequest, Shift

    names = [
        "me",
        "my_notices",
        "my_inbox",
        "my_service",
        "my_registration",
        "my_tasks",
        "volunteer_shifts",
        "request_list",
        "request_new",
        "alliance_partners",
        "alliance_my_unit",
        "alliance_needs",
        "alliance_resources",
        "alliance_projects",
        "meeting_list",
        "alliance_followup",
        "account_login",
        "account_signup",
        "account_reset_password",
        "account_change_password",
        "mfa_index",
    ]
    paths = [reverse(name) for name in names]
    paths.append(reverse("search") + "?q=%E5%BF%97%E6%84%BF")  # 志愿
    paths.append(reverse("search") + "?q=volunteer")
    by_name = {
        "volunteer_shift": Shift.objects.order_by("-starts_at").first(),
        "alliance_partner": Partner.objects.order_by("pk").first(),
        "alliance_need": Need.objects.order_by("pk").first(),
        "alliance_project": Project.objects.order_by("pk").first(),
        "meeting_detail": JointMeeting.objects.order_by("starts_at").first(),
        "alliance_action": ActionItem.objects.order_by("pk").first(),
    }
    for name, obj in by_name.items():
        if obj is not None:
            paths.append(reverse(name, args=[obj.pk]))
    for req in ServiceRequest.objects.order_by("pk"):
        paths.append(reverse("request_detail", args=[req.pk]))
    meeting = JointMeeting.objects.filter(minutes__isnull=False).order_by("pk").first()
    if meeting is not None:
        paths.append(reverse("alliance_minutes", args=[meeting.pk]))
    seen_types = set()
    for page in Page.objects.live().filter(depth__gt=1).specific().order_by("path"):
        kind = type(page).__name__
        if kind in seen_types and kind != "GridPage":
            continue
        if kind == "GridPage" and sum(1 for k in seen_types if k.startswith("GridPage")) > 3:
            continue
        seen_types.add(kind if kind != "GridPage" else f"GridPage{page.pk}")
        url = page.get_url()
        if not url:
            continue
        paths.append(url)
        if hasattr(page, "reverse_subpage"):
            paths += [url + "notices/", url + "calendar/"]
    return list(dict.fromkeys(paths))


def admin_paths() -> list[str]:
    from branches.models import GridBranchPage, Member

    branch = GridBranchPage.objects.order_by("path").first()
    member = Member.objects.order_by("pk").first()
    paths = [
        "/admin/",
        "/admin/pages/",
        f"/admin/pages/{branch.pk}/",
        f"/admin/pages/{branch.pk}/edit/",
        f"/admin/pages/{branch.get_parent().pk}/",
        "/admin/pages/search/?q=%E5%85%9A",
        "/admin/account/",
        f"/admin/members/edit/{member.pk}/",
        "/admin/compliance/",
        "/admin/records-search/?q=%E5%BF%97%E6%84%BF",
        "/admin/volunteering/requests/dashboard/",
        "/admin/volunteering/requests/records/",
        "/admin/volunteering/report/",
        "/admin/reports/site-history/",
        "/admin/workflows/list/",
        "/admin/documents/",
        "/admin/images/",
        "/admin/users/",
    ]
    for index in ("members", "buildings", "households", "residents", "central_households",
                  "meetings", "duties", "point_rules", "registrations", "partners", "agreements",
                  "alliances", "roles", "audit"):  # fmt: skip
        paths.append(reverse(f"{index}:index"))
    return paths


@pytest.fixture
def demo(db):
    call_command("load_demo", stdout=StringIO())
    users = {u.username: u for u in get_user_model().objects.all()}
    return users


def _walk(client, paths, *, english: bool, admin: bool):
    """(path, response text) of every path that answers 200 with HTML. The admin
    speaks the language of the user's profile (their choice on the account page)."""
    if admin:
        from wagtail.users.models import UserProfile

        user = get_user_model().objects.get(pk=client.session["_auth_user_id"])
        profile = UserProfile.get_for_user(user)
        profile.preferred_language = "en" if english else "zh-hans"
        profile.save()
    for path in paths:
        url = path if admin or not english else "/en" + path
        headers = {"HTTP_ACCEPT_LANGUAGE": "en" if english else "zh-hans"}
        response = client.get(url, **headers)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        yield url, visible_text(response.content.decode())
    if admin:
        # A message the admin left for the next page ("you do not have permission")
        # is read in the admin's language: take it before switching languages.
        client.get("/admin/")


def test_every_page_speaks_one_language(client, demo):
    found = proper_names()
    names = re.compile("|".join(re.escape(name) for name in found if CJK.search(name)))
    names_words = {w.lower() for w in WORD.findall("\n".join(found))} | {u.lower() for u in demo}
    front, admin = front_paths(), admin_paths()
    leaks: dict[str, set[str]] = {}
    walked = 0
    for role in ROLES:
        client.logout()
        if role is not None:
            client.force_login(demo[role])
        for english in (True, False):
            walks = [(front, False)]
            if role in ADMIN_ROLES:
                walks.append((admin, True))
            for paths, is_admin in walks:
                for url, text in _walk(client, paths, english=english, admin=is_admin):
                    walked += 1
                    found = (
                        _english_leaks(text, names)
                        if english
                        else _chinese_leaks(text, names_words, admin=is_admin)
                    )
                    for leak in found:
                        where = f"{'en' if english else 'zh'} {url}"
                        leaks.setdefault(leak, set()).add(f"{role or 'anonymous'} {where}")
    translation.activate("zh-hans")
    assert walked > 300
    report = "\n".join(
        f"{leak!r}: {len(where)}× e.g. {sorted(where)[0]}" for leak, where in sorted(leaks.items())
    )
    assert not leaks, f"{len(leaks)} strings of the other language:\n{report}"


def test_units_keep_their_names_in_english(client, demo):
    """A unit with no English name of its own is called by its (Chinese) name
    at /en/, never by a made-up code such as "Grid 01"."""
    from branches.models import GridBranchPage, GridPage

    for model in (GridPage, GridBranchPage):
        page = model.objects.live().order_by("path").first()
        with translation.override("zh-hans"):  # the path without a language prefix
            path = page.get_url()
        response = client.get("/en" + path)
        heading = re.search(r"<h1[^>]*>(.*?)</h1>", response.content.decode(), re.S).group(1)
        assert page.title in heading


def test_english_words_find_records_by_their_kind(client, demo):
    """Kinds and categories are indexed in both languages: "volunteer" at /en/
    finds the volunteer activities that 志愿 finds at /."""
    for url in ("/en/search/?q=volunteer", "/search/?q=%E5%BF%97%E6%84%BF"):
        response = client.get(url)
        assert response.status_code == 200
        assert "search-hit__title" in response.content.decode(), url
