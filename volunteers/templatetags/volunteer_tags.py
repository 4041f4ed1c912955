"""Template tags of the volunteers app for pages elsewhere (e.g. "我的主页")."""

from django import template

from volunteers.dispatch.selectors import open_offers

register = template.Library()


@register.simple_tag
def open_offer_count(user) -> int:
    """How many offers wait for ``user``'s answer (the badge on "我的任务")."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return open_offers(user).count()
