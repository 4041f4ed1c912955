"""Absolute links in templates, from PUBLIC_BASE_URL (see portal/links.py)."""

from django import template

from portal import links

register = template.Library()


@register.filter
def absolute(path):
    """``{{ path|absolute }}``: the path on the public site."""
    return links.absolute_url(path)


@register.filter
def webcal(path):
    """``{{ path|webcal }}``: the path on the public site as a ``webcal://``
    address, which phones open in their calendar app."""
    return "webcal://" + links.absolute_url(path).split("://", 1)[-1]


@register.filter
def link_own_urls(text):
    """``{{ text|link_own_urls }}``: escaped, addresses on this site made links."""
    return links.link_own_urls(text)


@register.filter
def local_link(url):
    """``{{ url|local_link }}``: the URL if it is safe in an ``href``, else ``""``."""
    return links.local_link(url)
