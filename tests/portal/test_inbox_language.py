"""Messages are written in the language their reader chose, whoever wrote them:
a secretary working in Chinese, a partner in English, or the background worker
(reminders, expiries), which speaks neither. The choice is the language switch
(or the admin's account page, the same profile); it is kept when a signed-in
person switches, and set when someone signs up on the English site."""

import ast
import re
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.db.models.signals import post_save
from django.utils import translation
from wagtail.users.models import UserProfile

from portal.i18n import language_of
from portal.models import InboxMessage
from portal.notify import notify_on_commit
from tests.factories import make_user
from tests.portal.test_languages import (
    CJK,
    WORD,
    _chinese_leaks,
    _english_leaks,
    proper_names,
    visible_text,
)

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)


def _demo_read_in(reader: str, writer: str, capture) -> None:
    """The demo loaded (and the due work run) while ``writer`` is the active
    language, by accounts that all chose ``reader``; every message delivered."""
    User = get_user_model()

    def choose(sender, instance, created, raw=False, **kwargs):
        if created and not raw:
            UserProfile.objects.update_or_create(
                user=instance, defaults={"preferred_language": reader}
            )

    post_save.connect(choose, sender=User, dispatch_uid="reader-language")
    try:
        with translation.override(writer), capture(execute=True):
            call_command("load_demo", stdout=StringIO())
        from portal.scheduling import run_due_work

        with translation.override(writer), capture(execute=True):
            run_due_work.call()
    finally:
        post_save.disconnect(sender=User, dispatch_uid="reader-language")


@pytest.mark.parametrize("reader,writer", [("en", "zh-hans"), ("zh-hans", "en")])
def test_every_demo_message_reads_in_its_readers_language(
    client, reader, writer, django_capture_on_commit_callbacks
):
    _demo_read_in(reader, writer, django_capture_on_commit_callbacks)
    messages = InboxMessage.objects.select_related("user")
    assert messages.count() >= 5
    found = proper_names()
    names = re.compile("|".join(re.escape(name) for name in found if CJK.search(name)))
    names_words = {w.lower() for w in WORD.findall("\n".join(found))}
    names_words |= {u.username.lower() for u in get_user_model().objects.all()}
    leaks = {}
    inbox = "/en/me/inbox/" if reader == "en" else "/me/inbox/"
    for user in {m.user for m in messages}:
        client.force_login(user)
        response = client.get(inbox)
        assert response.status_code == 200
        text = visible_text(response.content.decode())
        for message in user.inbox.all():
            # The inbox lists each message (its subject), and links open the page
            # in the reader's language.
            assert message.subject in text
            if message.url.startswith("/") and reader == "en":
                assert message.url.startswith("/en/"), message.url
        found_leaks = (
            _english_leaks(text, names) if reader == "en" else _chinese_leaks(text, names_words)
        )
        for leak in found_leaks:
            leaks.setdefault(leak, set()).add(user.username)
    assert not leaks, leaks


def test_the_language_switch_keeps_a_signed_in_readers_choice(client):
    user = make_user("reader")
    client.force_login(user)
    assert language_of(user) == "zh-hans"
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/me/"})
    assert response.status_code == 302
    assert response["Location"] == "/en/me/"
    user.refresh_from_db()
    assert language_of(get_user_model().objects.get(pk=user.pk)) == "en"

    with translation.override("zh-hans"), translation.override(language_of(user)):
        notification = notify_on_commit(user, subject="s", body="b", url="/me/tasks/")
    assert notification.url == "/en/me/tasks/"

    # Switching back is kept too; a language the site does not have changes nothing.
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/en/me/"})
    assert UserProfile.get_for_user(user).preferred_language == "zh-hans"
    client.post("/i18n/setlang/", {"language": "xx", "next": "/me/"})
    assert UserProfile.get_for_user(user).preferred_language == "zh-hans"


def test_the_switch_changes_no_account_when_signed_out(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert not UserProfile.objects.filter(preferred_language="en").exists()


def test_the_switch_only_answers_a_post(client):
    assert client.get("/i18n/setlang/?language=en").status_code == 405


@pytest.mark.parametrize("prefix,language", [("/en", "en"), ("", "zh-hans")])
def test_signing_up_chooses_the_sites_language(client, prefix, language):
    cache.clear()
    response = client.post(
        f"{prefix}/accounts/signup/",
        {
            "phone": "13700009999",
            "password1": "Tongxin-Str0ng-pw",
            "password2": "Tongxin-Str0ng-pw",
        },
    )
    assert response.status_code == 302
    user = get_user_model().objects.get()
    assert UserProfile.get_for_user(user).preferred_language == language


def test_every_message_is_written_inside_its_readers_language():
    """Each ``notify_on_commit(person, …)`` in the code sits in a
    ``with in_language_of(person):`` block for the same person."""
    unguarded = []
    for path in sorted(ROOT.glob("*/**/*.py")):
        if any(
            part in {"tests", "bench", "migrations"} or part.startswith(".") for part in path.parts
        ):
            continue
        source = path.read_text()
        if "notify_on_commit(" not in source:
            continue
        tree = ast.parse(source)
        guarded = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.With):
                for item in node.items:
                    call = item.context_expr
                    if (
                        isinstance(call, ast.Call)
                        and getattr(call.func, "id", "") == "in_language_of"
                    ):
                        reader = ast.unparse(call.args[0])
                        for inner in ast.walk(node):
                            guarded.add((id(inner), reader))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "notify_on_commit":
                reader = ast.unparse(node.args[0])
                if (id(node), reader) not in guarded:
                    unguarded.append(f"{path.relative_to(ROOT)}:{node.lineno} ({reader})")
    assert unguarded == []
