"""The versions of a joint meeting's minutes: the full content that every save
and change of state stores as a numbered ``MinutesVersion`` (so what was
circulated, commented on and approved stays retrievable), and the signed token
in the printed minutes' QR code that names one version (``minutes_verify_url``)."""

from collections import defaultdict
from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import translation

from alliance.models import ActionItem, Minutes, MinutesVersion
from alliance.names import person_name
from portal.links import absolute_url

VERIFY_SALT = "alliance.minutes.verify"


# --- Content and versions -------------------------------------------------------------------


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def minutes_content(minutes: Minutes) -> dict[str, Any]:
    """The full content of the minutes as it is now, as stored in a version:
    the meeting, the summary and, per agenda item, its discussion, resolutions
    and action items."""
    meeting = minutes.meeting
    entries = list(minutes.entries.select_related("agenda_item__proposer_partner"))
    actions = defaultdict(list)
    for action in (
        ActionItem.objects.filter(meeting=meeting)
        .select_related("owner_partner", "owner_branch", "owner__partner_contact", "owner__member")
        .order_by("due_on", "id")
    ):
        actions[action.agenda_item_id].append(
            {
                "id": action.pk,
                "title": action.title,
                "owner_unit": str(action.owner_partner or action.owner_branch or ""),
                "owner_partner": action.owner_partner_id,
                "owner_branch": action.owner_branch_id,
                "owner": action.owner_id,
                "owner_name": person_name(action.owner),
                "due_on": _iso(action.due_on),
                "expected_result": action.expected_result,
                "status": action.status,
            }
        )
    return {
        "meeting": {
            "title": meeting.title,
            "starts_at": _iso(meeting.starts_at),
            "ends_at": _iso(meeting.ends_at),
            "place": meeting.place,
        },
        "summary": minutes.summary,
        "items": [
            {
                "agenda_item": entry.agenda_item_id,
                "title": entry.agenda_item.title,
                "proposer": str(entry.agenda_item.proposer_partner or ""),
                "discussion": entry.discussion,
                "resolutions": resolution_lines(entry.resolutions),
                "actions": actions.get(entry.agenda_item_id, []),
            }
            for entry in entries
        ],
    }


def version_store(*, minutes: Minutes, by) -> MinutesVersion:
    """Number the minutes' next version, save them and keep their full content
    as that version (the caller holds the row locked)."""
    minutes.version += 1
    minutes.save()
    return MinutesVersion.objects.create(
        minutes=minutes,
        number=minutes.version,
        state=minutes.state,
        content=minutes_content(minutes),
        author=by,
    )


def resolution_lines(text: str) -> list[str]:
    """The resolutions, one a line, without blank lines."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


# --- Verification of printed minutes --------------------------------------------------------


def verify_token(minutes: Minutes, number: int) -> str:
    """A signed token naming the minutes and one of their versions."""
    return signing.dumps([minutes.pk, number], salt=VERIFY_SALT)


def verify_token_version(minutes_id: int, token: str) -> int | None:
    """The version number ``token`` vouches for, if it is genuine and for these minutes."""
    try:
        pk, number = signing.loads(token, salt=VERIFY_SALT)
    except (signing.BadSignature, TypeError, ValueError):
        return None
    return number if pk == minutes_id else None


def minutes_verify_url(minutes: Minutes, number: int | None = None) -> str:
    """The absolute address the printed minutes' QR code points to."""
    number = minutes.version if number is None else number
    with translation.override(settings.LANGUAGE_CODE):
        path = reverse("alliance_minutes_verify", args=[minutes.pk, verify_token(minutes, number)])
    return absolute_url(path)
