"""Absolute links: one setting, ``PUBLIC_BASE_URL`` (``https://tongxin.example.org``),
is the address of the site wherever a link leaves the browser — QR codes on
printed certificates and minutes, check-in QR codes, messages and emails,
calendar feeds. Nothing builds an absolute URL from the request's host or from
a hard-coded ``127.0.0.1:8000``: the request may come through a proxy under
another name, and mail and PDFs are often made by a background task with no
request at all.

Wagtail's own absolute links follow the same setting: ``WAGTAILADMIN_BASE_URL``
is set from it (portal/settings/base.py) and ``sync_default_site`` keeps the
default Wagtail ``Site``'s host name and port equal to it (run after every
``migrate``), so ``page.full_url`` — e.g. in the workflow approval email — is
right too.
"""

import re
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.urls import translate_url
from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

DEFAULT_PORTS = {"http": 80, "https": 443}


def base_url() -> str:
    """The site's public address without a trailing slash."""
    return (getattr(settings, "PUBLIC_BASE_URL", "") or "").rstrip("/")


def absolute_url(path: str) -> str:
    """``path`` (``/verify/abc/``, as ``reverse`` or ``page.url`` give it) on the
    public site. An already absolute URL is returned unchanged."""
    path = str(path or "")
    if urlsplit(path).scheme:
        return path
    return f"{base_url()}/{path.lstrip('/')}"


def in_language(url: str, language: str) -> str:
    """``url`` (a path or an address on this site, in either language) as the
    page in ``language``: ``/me/tasks/`` → ``/en/me/tasks/`` for English. A URL
    that is not one of the site's language-prefixed pages is returned unchanged."""
    url = str(url or "")
    written_in = translation.get_language_from_path(urlsplit(url).path) or settings.LANGUAGE_CODE
    with translation.override(written_in):
        return translate_url(url, language)


def rebase_url(url: str) -> str:
    """``url`` (absolute, perhaps built from a request's host name) moved onto the
    public site: its path, query and fragment on ``PUBLIC_BASE_URL``. Anything
    but an http(s) address is returned unchanged."""
    bits = urlsplit(str(url or ""))
    if bits.scheme not in DEFAULT_PORTS:
        return url
    return absolute_url(urlunsplit(("", "", bits.path or "/", bits.query, bits.fragment)))


def page_full_url(page, request=None) -> str | None:
    """A Wagtail page's absolute URL on the public site (``None`` if the page is
    not routable). Uses the page's own path, so it follows ``PUBLIC_BASE_URL``
    whatever the Site record says; ``request`` only caches the site root paths."""
    parts = page.get_url_parts(request)
    if parts is None:
        return None
    return absolute_url(parts[2])


def site_host_and_port(url: str | None = None) -> tuple[str, int] | None:
    """The (host name, port) Wagtail's ``Site`` needs for ``url`` to be its
    ``root_url``; ``None`` if ``url`` is not an absolute http(s) address."""
    bits = urlsplit(url if url is not None else base_url())
    if bits.scheme not in DEFAULT_PORTS or not bits.hostname:
        return None
    try:
        port = bits.port or DEFAULT_PORTS[bits.scheme]
    except ValueError:
        return None
    return bits.hostname, port


def sync_default_site(**kwargs) -> None:
    """Give the default Wagtail site the host name and port of ``PUBLIC_BASE_URL``
    (a ``post_migrate`` receiver; also safe to call directly). Wagtail derives
    the scheme from the port (443 → https), so an https address on another port
    keeps its host name and port but is shown as http by Wagtail's own links."""
    from wagtail.models import Site

    target = site_host_and_port()
    migrated = kwargs.get("apps")
    if target is None or (migrated is not None and not _has_sites(migrated)):
        return
    hostname, port = target
    using = kwargs.get("using", "default")
    site = Site.objects.using(using).filter(is_default_site=True).first()
    if site is None or (site.hostname, site.port) == (hostname, port):
        return
    if Site.objects.using(using).filter(hostname=hostname, port=port).exclude(pk=site.pk).exists():
        return  # another site already answers there: leave the set-up alone
    site.hostname, site.port = hostname, port
    site.save(using=using, update_fields=["hostname", "port"])


def _has_sites(migrated_apps) -> bool:
    """Whether the migrated state has Wagtail's sites (not after ``migrate wagtailcore zero``)."""
    try:
        migrated_apps.get_model("wagtailcore", "Site")
    except LookupError:
        return False
    return True


# Characters of a URL as it is written in running text: stops at spaces, quotes,
# angle brackets and any non-ASCII character (Chinese punctuation: “，。）”).
_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&()*+,;=%]+")
_TRAILING = ".,;:!?)]"


def link_own_urls(text: str) -> SafeString:
    """``text`` escaped, with every address on this site (``PUBLIC_BASE_URL``)
    made a link. Other addresses stay plain text: message bodies carry text
    people typed (titles, reasons), and the inbox must not turn those into
    links to elsewhere."""
    text = str(text or "")
    own = base_url() + "/"
    out, last = [], 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        if not (url + "/").startswith(own):
            continue
        start = match.start()
        out.append(escape(text[last:start]))
        out.append(f'<a href="{escape(url)}">{escape(url)}</a>')
        last = start + len(url)
    out.append(escape(text[last:]))
    return mark_safe("".join(out))


def local_link(url: str) -> str:
    """A stored message link, if it is safe to put in an ``href``: a path on this
    site (``/me/registration/``) or an address under ``PUBLIC_BASE_URL``;
    otherwise ``""``."""
    url = str(url or "")
    if url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    if (url + "/").startswith(base_url() + "/") and urlsplit(url).scheme in DEFAULT_PORTS:
        return url
    return ""
