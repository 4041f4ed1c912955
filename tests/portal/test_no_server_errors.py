"""Every URL pattern of the site (the Wagtail admin's, ours, allauth's, the
i18n ones) answers a GET without a server error: with the ids of real records
and with absurd ids (0, -1, a number too big for any integer column, text where
the converter allows it), as the district administrator, a secretary and a
member. The patterns are read from the resolver, so a new URL is walked without
anyone adding it here; a new URL whose ids cannot be guessed is reported."""

import datetime as dt
import io
import re

import pytest
from django.db import transaction
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

HUGE = "99999999999999999999"
# Absurd values by what a parameter's pattern matches (digits, or any text); a
# value the pattern refuses cannot reach the view, so it is not tried.
ABSURD = {"digits": ["0", HUGE], "text": ["0", "-1", HUGE, "abc"]}

# Walked by nobody, each for a reason.
SKIPPED = {
    "wagtailadmin_logout": "signs the walker out (GET logs out)",
    "account_logout": "signs the walker out",
    "wagtailadmin_error_test": "Wagtail's deliberate error page (/admin/failwhale/) for testing "
    "error reports",
}

# Parameters for which the test data holds no record: only the absurd ids are
# walked (the valid one is a plausible id that may or may not exist).
NO_RECORD = {
    "session_id": "Wagtail's editing sessions are made by the editor's JavaScript",
    "uploaded_file_id": "Wagtail's multiple-upload scratch files",
    "restriction_id": "no password-restricted document",
    "page_view_restriction_id": "no password-restricted page",
    "uidb64": "Wagtail's own password reset (allauth's is the one in use)",
    "token": "a password-reset token",
}


def _walk(patterns, namespaces=(), prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = namespaces + ((entry.namespace,) if entry.namespace else ())
            yield from _walk(entry.url_patterns, ns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            name = ":".join(namespaces + (entry.name,)) if entry.name else None
            yield name, prefix + str(entry.pattern), entry


def _params(entry) -> list[tuple[str, str]]:
    """(parameter, "digits" or "text") of one pattern, in order."""
    converters = getattr(entry.pattern, "converters", None)
    if converters:
        return [
            (name, "digits" if conv.regex == "[0-9]+" else "text")
            for name, conv in converters.items()
        ]
    regex = entry.pattern.regex
    if regex.groupindex:
        return [(name, "text") for name in regex.groupindex]
    return [(str(i), "text") for i in range(regex.groups)]


def _view_model(entry):
    func = entry.callback
    model = (getattr(func, "view_initkwargs", None) or {}).get("model")
    if model is None:
        model = getattr(getattr(func, "view_class", None), "model", None)
    return model if isinstance(model, type) else None


@pytest.fixture
def world(tree, users, members):
    """A record of every kind a URL names, in branch A (the secretary's and the
    member's branch), made by the demo data's services and the factories."""
    from django.contrib.auth.models import Group
    from django.core.files.base import ContentFile
    from PIL import Image as PILImage
    from wagtail.contrib.redirects.models import Redirect
    from wagtail.documents import get_document_model
    from wagtail.images import get_image_model
    from wagtail.models import Collection, Task, Workflow

    from alliance.action_items.services import action_to_project
    from alliance.minutes.versions import minutes_verify_url
    from alliance.models import (
        ActionItem,
        ActionProgress,
        AgendaItem,
        Agreement,
        Invitation,
        JointMeeting,
        Milestone,
        MinutesVersion,
        Need,
        Partner,
        Resource,
    )
    from branches import demo
    from branches.models import CentralHousehold, HouseholdVisit, Meeting, Resident
    from portal.audit import audit_record
    from portal.models import AuditEntry, CalendarToken, WorkerBeat
    from portal.publishing import NoticeBoardPage, NoticePage
    from tests.factories import make_household
    from volunteers.models import CheckIn, CommunityRegistration, Offer, ServiceRequest, Shift
    from volunteers.registration.services import registration_submit

    now = timezone.now()
    # A background worker that beats, as in a running portal (/readyz reads it).
    WorkerBeat.objects.create(
        worker_id="worker-1", backend_name="scheduled", started_at=now, seen_at=now
    )
    demo.demo_publishing(district=tree.district, branch=tree.branch_a, now=now)
    for step in demo.demo_steps():  # what volunteering and the alliance add
        step(branch=tree.branch_a, now=now)

    household = make_household(building=tree.building_a)
    Resident.objects.create(household=household, name="李娜", gender="F")
    central = CentralHousehold.objects.create(member=members.a_public, household=household)
    HouseholdVisit.objects.create(
        central_household=central, household=household, visited_on=dt.date(2026, 1, 5)
    )
    audit_record(
        actor=users.district, action=AuditEntry.Action.REVEAL, obj=members.a_public, field="phone"
    )
    registration_submit(
        member=members.a_private, branch=tree.branch_a, employer="区教育局", address="幸福里3号楼"
    )
    action = ActionItem.objects.order_by("pk").first()
    project = action_to_project(action=action, by=users.secretary)
    Milestone.objects.create(project=project, title="排班表定稿")
    document = get_document_model().objects.create(
        title="会议材料", file=ContentFile(b"%PDF-1.4 test", name="agenda.pdf")
    )
    png = io.BytesIO()
    PILImage.new("RGB", (8, 8), "red").save(png, "PNG")
    image = get_image_model().objects.create(
        title="活动照片", file=ContentFile(png.getvalue(), name="photo.png")
    )
    Redirect.objects.create(old_path="/old-notice", redirect_link="/")
    calendar = CalendarToken.objects.create(user=users.member)
    # A notice waiting in a workflow, for the workflow views.
    board = NoticeBoardPage.objects.get()
    notice = NoticePage(title="待审通知", owner=users.district, live=False)
    board.add_child(instance=notice)
    notice.save_revision(user=users.district)
    workflow_state = board.get_workflow().start(notice, users.district)
    task_state = workflow_state.current_task_state
    receipt_notice = NoticePage.objects.filter(requires_receipt=True).first()
    minutes_version = MinutesVersion.objects.order_by("pk").first()
    meeting = JointMeeting.objects.filter(minutes__isnull=False).order_by("pk").first()
    verify_path = minutes_verify_url(minutes_version.minutes, minutes_version.number)
    verify_token = verify_path.rstrip("/").rsplit("/", 1)[-1]

    page = receipt_notice
    by_param = {
        "page_id": page.pk,
        "parent_page_id": tree.branch_a.pk,
        "page_to_move_id": page.pk,
        "destination_id": tree.branch_a.pk,
        "revision_id": page.latest_revision.pk,
        "task_state_id": task_state.pk,
        "workflow_state_id": workflow_state.pk,
        "task_id": task_state.task_id,
        "document_id": document.pk,
        "doc_id": document.pk,
        "image_id": image.pk,
        "collection_id": Collection.get_first_root_node().pk,
        "redirect_id": Redirect.objects.get().pk,
        "meeting_id": meeting.pk,
        "item_pk": AgendaItem.objects.filter(meeting=meeting).first().pk,
        "milestone_pk": Milestone.objects.get().pk,
        "invitation_pk": Invitation.objects.filter(meeting=meeting).first().pk,
        "number": minutes_version.number,
        "year": timezone.localdate().year,
        "content_type_app_name": "portal",
        "content_type_model_name": "noticepage",
        "app_label": "portal",
        "app_name": "portal",
        "model_name": "noticepage",
        "action_name": "approve",
        "action": "approve",
        "object_id": str(page.pk),
        "filter_spec": "original",
        "kind": "members",
        "fmt": "xlsx",
        "code": "ABC123",
        "page_pk": page.pk,
        "offer_pk": Offer.objects.order_by("pk").first().pk,
        "workflow_pk": Workflow.objects.first().pk,
        "uidb64": "MQ",
        "token": "abc-123",
        "session_id": 1,
        "uploaded_file_id": 1,
        "restriction_id": 1,
        "page_view_restriction_id": 1,
        "revision_id_a": "earliest",
        "revision_id_b": "latest",
        "key": "abc",
        "uidb36": "1",
    }
    # Plain "pk" of views that name no model, by URL name.
    pk_by_name = {
        "wagtailadmin_api:pages:detail": page.pk,
        "wagtailadmin_api:pages:action": page.pk,
        "wagtailadmin_api:documents:detail": document.pk,
        "wagtailadmin_api:images:detail": image.pk,
        "wagtailadmin_pages:revisions_compare": page.pk,
        "wagtailadmin_workflows:enable": Workflow.objects.first().pk,
        "wagtailadmin_workflows:edit_task": Task.objects.first().pk,
        "wagtailadmin_workflows:enable_task": Task.objects.first().pk,
        "wagtailadmin_workflows:usage": Workflow.objects.first().pk,
        "wagtailadmin_workflows:usage_results": Workflow.objects.first().pk,
        "wagtailadmin_workflows:disable": Workflow.objects.first().pk,
        "wagtailadmin_workflows:disable_task": Task.objects.first().pk,
        "wagtailadmin_workflows:edit": Workflow.objects.first().pk,
        "wagtailadmin_collections:edit": Collection.get_first_root_node().pk,
        "wagtailadmin_collections:delete": Collection.get_first_root_node().pk,
        "wagtaildocs_chooser:chosen": document.pk,
        "wagtailimages_chooser:chosen": image.pk,
        "wagtailsettings:edit": 1,
        "wagtailsettings:preview_on_edit": 1,
        "wagtailusers_groups:edit": Group.objects.first().pk,
        "registrations:slip": CommunityRegistration.objects.get().pk,
        "branches_private": members.a_public.pk,
        "meeting_attendance": Meeting.objects.order_by("pk").first().pk,
        "volunteer_signup_sheet": Shift.objects.order_by("pk").first().pk,
        "volunteer_walk_in": Shift.objects.order_by("pk").first().pk,
        "volunteer_check_in_correct": CheckIn.objects.order_by("pk").first().pk,
        "volunteer_check_in_verify": CheckIn.objects.order_by("pk").first().pk,
        "alliance_agreement_file": Agreement.objects.order_by("pk").first().pk,
        "alliance_partner": Partner.objects.order_by("pk").first().pk,
        "alliance_resource_edit": Resource.objects.order_by("pk").first().pk,
        "alliance_resource_withdraw": Resource.objects.order_by("pk").first().pk,
        "alliance_need": Need.objects.order_by("pk").first().pk,
        "alliance_need_match": Need.objects.order_by("pk").first().pk,
        "alliance_minutes_verify": minutes_version.minutes_id,
        "alliance_action_evidence": ActionProgress.objects.order_by("pk").first().pk,
    }
    for name in ("alliance_project", "alliance_milestone_add", "alliance_milestone_done",
                 "alliance_project_status"):  # fmt: skip
        pk_by_name[name] = project.pk
    for name in ("alliance_action", "alliance_action_request", "alliance_action_project"):
        pk_by_name[name] = action.pk
    prefixes = {
        "volunteer_": Shift.objects.filter(starts_at__gt=now).order_by("pk").first().pk,
        "request_": ServiceRequest.objects.order_by("pk").first().pk,
        "task_": Offer.objects.order_by("pk").first().pk,
        "meeting_": meeting.pk,
    }
    for name, _route, entry in _walk(get_resolver().url_patterns):
        if name and name not in pk_by_name and ("pk", "digits") in _params(entry):
            for prefix, pk in prefixes.items():
                if name.startswith(prefix):
                    pk_by_name[name] = pk
    by_name_param = {
        ("member_calendar_feed", "token"): calendar.token,
        ("alliance_minutes_verify", "token"): verify_token,
        ("wagtaildocs_serve", "0"): document.pk,
        ("wagtaildocs_serve", "1"): "agenda.pdf",
        ("wagtail_serve", "0"): tree.branch_a.url.strip("/") + "/",
        ("wagtailsettings:edit", "app_name"): "wagtailcore",
        ("wagtailsettings:edit", "model_name"): "site",
        ("wagtail_bulk_action", "app_label"): "wagtailcore",
        ("wagtail_bulk_action", "model_name"): "page",
        ("wagtail_bulk_action", "action"): "delete",
        ("wagtailadmin_tag_model_autocomplete", "app_name"): "portal",
        ("wagtailadmin_tag_model_autocomplete", "model_name"): "noticepage",
        ("wagtailadmin_editing_sessions:ping", "app_label"): "wagtailcore",
        ("wagtailadmin_editing_sessions:ping", "model_name"): "page",
        ("branches_private", "model_name"): "member",
    }

    def valid(name, param, entry):
        """A value naming a real record, or None when the data has none."""
        if (name, param) in by_name_param:
            return by_name_param[name, param]
        if param == "pk" and name in pk_by_name:
            return pk_by_name[name]
        if param == "pk":
            model = _view_model(entry)
            if model is not None:
                obj = model._default_manager.order_by("pk").first()
                return obj.pk if obj is not None else None
        return by_param.get(param)

    return valid


def _fill(route: str, values: dict) -> str | None:
    """The path of an unnamed pattern: its converters filled in, its plain
    regex pieces (``^admin/x/``) taken literally; None for a real regex."""
    if route == "admin/^.*/$":
        return "/admin/no-such-page/"
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route)
    path = path.replace("^", "").replace("$", "")
    if re.search(r"[\\()\[\]*+?|]", path):
        return None
    return "/" + path


def _walk_site(client, valid) -> tuple[list[str], list[str], int]:
    """GET every pattern with valid and absurd values; return the failures
    (``status url exception``), the patterns that could not be walked, and the count."""
    client.raise_request_exception = False
    failures, unwalkable, count = [], [], 0
    for name, route, entry in _walk(get_resolver().url_patterns):
        if name in SKIPPED:
            continue
        params = _params(entry)
        values = {}
        for param, kind in params:
            values[param] = valid(name, param, entry)
            if values[param] is None:
                # No record of this kind in the data: walk a made-up id and
                # the absurd ones, and list the pattern.
                values[param] = 1 if kind == "digits" else "abc"
                if param not in NO_RECORD:
                    unwalkable.append(f"{route} ({name}: no record for {param})")
        variants = [values]
        for param, kind in params:
            for absurd in ABSURD[kind]:
                variants.append({**values, param: absurd})
        if name is None:
            urls = [_fill(route, variant) for variant in variants]
            if urls[0] is None:
                unwalkable.append(f"{route} (unnamed regex)")
            urls = [url for url in urls if url is not None]
        else:
            urls = []
            for variant in variants:
                positional = all(p.isdigit() for p in variant)
                try:
                    if positional:
                        urls.append(reverse(name, args=[variant[p] for p in sorted(variant)]))
                    else:
                        urls.append(reverse(name, kwargs=variant))
                except NoReverseMatch:
                    continue  # the converter refuses this value: the view never sees it
        for url in dict.fromkeys(urls):
            count += 1
            savepoint = transaction.savepoint()
            try:
                response = client.get(url)
            finally:
                transaction.savepoint_rollback(savepoint)
            if response.status_code >= 500:
                exc = getattr(response, "exc_info", None)
                why = f"{exc[0].__name__}: {exc[1]}" if exc else ""
                failures.append(f"{response.status_code} {url} {why}"[:300])
    return failures, unwalkable, count


@pytest.mark.parametrize("role", ["district", "secretary", "member"])
def test_no_url_answers_with_a_server_error(client, users, world, role):
    client.force_login(getattr(users, role))
    failures, unwalkable, count = _walk_site(client, world)
    assert count > 500
    assert not failures, (
        f"{len(failures)} of {count} URLs failed:\n"
        + "\n".join(failures)
        + "\n(walked without a real record: "
        + "; ".join(unwalkable)
        + ")"
    )


def test_the_walk_reaches_the_admin_and_the_portal(client, users, world):
    """The walk is not empty: it covers the admin's records, the i18n patterns
    and Wagtail's own views."""
    routes = [route for _name, route, _entry in _walk(get_resolver().url_patterns)]
    for expected in ("admin/members/usage/<int:pk>/", "me/", "alliance/meetings/<int:pk>/",
                     "admin/pages/<int:page_id>/edit/", "accounts/login/"):  # fmt: skip
        assert expected in routes
    assert any(re.search(r"history/<int:pk>/$", r) for r in routes)
