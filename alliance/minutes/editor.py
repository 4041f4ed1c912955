"""The minutes editor on the site: per agenda item its discussion, resolutions
and action rows (the existing ones and blank ones to fill in), built from the
database or from what was posted (so nothing typed is lost on an error), the
choices of owner unit and person, and ``minutes_save``'s arguments from the
posted form (``save_arguments``)."""

from alliance.minutes.permissions import owner_people, owner_units
from alliance.models import ActionItem
from alliance.names import person_name

# Blank action rows offered per agenda item in the editor.
NEW_ROWS = 2
# People offered as the person responsible.
MAX_PEOPLE = 200


def people_choices(meeting):
    """Whom an action item may be given to, as (id, name) choices."""
    people = owner_people(meeting).select_related("partner_contact", "member")
    return [(str(u.pk), person_name(u)) for u in people[:MAX_PEOPLE]]


def unit_choices(meeting):
    """The units an action item may be given to: ``p<id>`` partners, ``b<id>`` branches."""
    partners, branches = owner_units(meeting)
    return [(f"p{p.pk}", p.name) for p in partners] + [(f"b{b.pk}", b.title) for b in branches]


def _row(prefix, *, action=None, data=None, errors=None):
    """One action row of the editor, from the database or from what was posted."""
    if data is not None:
        get = lambda name: data.get(f"{prefix}-{name}", "")  # noqa: E731
        return {
            "prefix": prefix,
            "id": action.pk if action else None,
            "title": get("title"),
            "unit": get("unit"),
            "owner": get("owner"),
            "due_on": get("due_on"),
            "expected_result": get("expected_result"),
            "delete": bool(get("delete")),
            "errors": errors or [],
        }
    unit = ""
    if action is not None:
        unit = (
            f"p{action.owner_partner_id}"
            if action.owner_partner_id
            else f"b{action.owner_branch_id}"
        )
    return {
        "prefix": prefix,
        "id": action.pk if action else None,
        "title": action.title if action else "",
        "unit": unit,
        "owner": str(action.owner_id or "") if action else "",
        "due_on": action.due_on.isoformat() if action else "",
        "expected_result": action.expected_result if action else "",
        "delete": False,
        "errors": errors or [],
    }


def editor_rows(minutes, data=None, errors=None, comments=None):
    """Per agenda item: the entry and its action rows (existing + blank)."""
    errors = errors or {}
    actions = {}
    for action in ActionItem.objects.filter(meeting_id=minutes.meeting_id).order_by("due_on", "id"):
        actions.setdefault(action.agenda_item_id, []).append(action)
    rows = []
    for entry in minutes.entries.select_related("agenda_item"):
        item = entry.agenda_item
        existing = [
            _row(f"action-{a.pk}", action=a, data=data, errors=errors.get(f"action-{a.pk}"))
            for a in actions.get(item.pk, [])
        ]
        blank = [
            _row(f"new-{item.pk}-{n}", data=data, errors=errors.get(f"new-{item.pk}-{n}"))
            for n in range(NEW_ROWS)
        ]
        rows.append(
            {
                "entry": entry,
                "item": item,
                "discussion": data.get(f"discussion-{item.pk}", "") if data else entry.discussion,
                "resolutions": data.get(f"resolutions-{item.pk}", "")
                if data
                else entry.resolutions,
                "actions": existing,
                "new_actions": blank,
                "open_new": any(r["title"] or r["errors"] for r in blank),
                "comments": (comments or {}).get(item.pk, []),
            }
        )
    return rows


def _posted_action(data, prefix, **extra) -> dict:
    unit = data.get(f"{prefix}-unit", "")
    return {
        "key": prefix,
        "title": data.get(f"{prefix}-title", ""),
        "owner_partner": unit[1:] if unit.startswith("p") else None,
        "owner_branch": unit[1:] if unit.startswith("b") else None,
        "owner": data.get(f"{prefix}-owner") or None,
        "due_on": data.get(f"{prefix}-due_on", ""),
        "expected_result": data.get(f"{prefix}-expected_result", ""),
        "delete": bool(data.get(f"{prefix}-delete")),
        **extra,
    }


def save_arguments(minutes, data) -> dict:
    """The ``minutes_save`` arguments from the posted editor."""
    entries, actions = {}, []
    item_ids = list(minutes.entries.values_list("agenda_item_id", flat=True))
    for item_id in item_ids:
        entries[item_id] = {
            "discussion": data.get(f"discussion-{item_id}", ""),
            "resolutions": data.get(f"resolutions-{item_id}", ""),
        }
    for action_id in ActionItem.objects.filter(meeting_id=minutes.meeting_id).values_list(
        "pk", flat=True
    ):
        if f"action-{action_id}-title" in data:
            actions.append(_posted_action(data, f"action-{action_id}", id=action_id))
    for item_id in item_ids:
        for n in range(NEW_ROWS):
            prefix = f"new-{item_id}-{n}"
            fields = ("title", "unit", "owner", "due_on", "expected_result")
            if any(data.get(f"{prefix}-{f}", "").strip() for f in fields):
                actions.append(_posted_action(data, prefix, agenda_item=item_id))
    return {"summary": data.get("summary", ""), "entries": entries, "actions": actions}
