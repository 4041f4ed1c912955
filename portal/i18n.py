"""The two languages. Both languages of a label, for what is indexed or stored
once and read in either: the search index holds a record's categories and kinds
in Chinese and in English, so that 志愿 and "volunteer" both find a volunteer
activity. And the language a person reads, for what is written to them once and
kept (inbox messages, emails): ``in_language_of(user)``."""

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.utils import translation


def language_of(user) -> str:
    """The language ``user`` reads: the one they last chose with the site's
    language switch or on the admin's account page, else the site's (Chinese)."""
    try:
        language = user.wagtail_userprofile.preferred_language
    except ObjectDoesNotExist:
        language = ""
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def in_language_of(user):
    """Write to ``user`` in their language, whoever's request (or the background
    worker) is writing: ``with in_language_of(user): notify_on_commit(user, …)``."""
    return translation.override(language_of(user))


def remember_language(user, language: str) -> None:
    """Keep ``language`` as ``user``'s choice (one profile the admin shares)."""
    from wagtail.users.models import UserProfile

    if language not in dict(settings.LANGUAGES):
        return
    profile = UserProfile.get_for_user(user)
    if profile.preferred_language != language:
        profile.preferred_language = language
        profile.save(update_fields=["preferred_language"])


def in_every_language(label) -> str:
    """``label`` (a lazy translation) in each of the site's languages, each once:
    ``"志愿服务 Volunteer activity"``."""
    if not label:
        return ""
    texts = []
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            text = str(label)
        if text not in texts:
            texts.append(text)
    return " ".join(texts)


def choice_in_every_language(obj, field_name: str) -> str:
    """The label of ``obj``'s choice in ``field_name``, in every language."""
    field = obj._meta.get_field(field_name)
    return in_every_language(dict(field.flatchoices).get(getattr(obj, field_name)))


def in_site_language(label) -> str:
    """``label`` in the site's own language (Chinese), whatever is active."""
    if not label:
        return ""
    with translation.override(settings.LANGUAGE_CODE):
        return str(label)


def in_other_languages(label) -> str:
    """``label`` in the site's other languages (English), where it differs."""
    if not label:
        return ""
    site, texts = in_site_language(label), []
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            text = str(label)
        if text != site and text not in texts:
            texts.append(text)
    return " ".join(texts)
