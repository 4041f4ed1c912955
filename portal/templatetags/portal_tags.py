"""Template helpers for the public site shell and the organisation pages."""

from decimal import Decimal

from django import template
from django.conf import settings
from django.template.defaultfilters import floatformat
from django.urls import reverse, translate_url
from django.utils.html import format_html, linebreaks
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext
from wagtail.rich_text import expand_db_html

from portal import names

register = template.Library()


@register.simple_tag(takes_context=True)
def language_switch_next(context):
    """The current page's URL in the default language, for set_language's ``next``.

    set_language runs at an unprefixed URL, so it resolves ``next`` with the default
    language active and then reverses it in the chosen one; handing it the
    default-language URL lands the user on the same page in either language.
    """
    request = context.get("request")
    if request is None:
        return "/"
    return translate_url(request.get_full_path(), settings.LANGUAGE_CODE)


@register.simple_tag(takes_context=True)
def language_url(context, language):
    """The current page's URL in ``language``: a plain link (no form, so no CSRF
    cookie), since the language is in the path (``/en/…``)."""
    request = context.get("request")
    if request is None:
        return "/"
    return translate_url(request.get_full_path(), language)


@register.filter
def unit_kind(page):
    """What kind of unit a page is, in the active language: a grid's level (and
    the kind of a dedicated grid), otherwise the page type's name."""
    level_display = getattr(page, "get_level_display", None)
    if level_display is not None:
        label = str(level_display())
        if getattr(page, "dedicated_kind", ""):
            label = f"{label} · {page.get_dedicated_kind_display()}"
        return label
    return str(page._meta.verbose_name)


@register.simple_tag
def localized_intro(page):
    """The unit's introduction: the English text when English is active and one
    was written, otherwise the (Chinese) rich text."""
    if (get_language() or "").startswith("en") and getattr(page, "intro_en", ""):
        return mark_safe(linebreaks(page.intro_en, autoescape=True))
    return mark_safe(expand_db_html(page.intro or ""))


@register.filter
def model_name(obj):
    """The model's lower-case name, e.g. for a CSS class per page type."""
    return obj._meta.model_name


@register.filter
def person_name(user):
    """A person's name by the one rule of ``portal.names`` (family name first)."""
    return names.person_name(user)


@register.filter
def one_decimal(value):
    """Hours and points as every page, export and PDF shows them: one decimal,
    rounded half up, in the active language's number format (``12345.5``;
    ``12,345.5`` in English). Nothing (None) shows as 0.0."""
    return floatformat(value if value not in (None, "") else 0, "1g")


@register.filter
def minutes_to_hours(minutes):
    """Minutes as hours by the rule of ``one_decimal`` (``90`` → ``1.5``)."""
    return one_decimal(Decimal(int(minutes or 0)) / 60)


@register.simple_tag
def breadcrumbs(*trail):
    """The breadcrumb trail: pairs of a step's URL and its label, then the current
    page's title. A URL is a URL name, or a path (a step whose URL takes
    arguments: ``{% url … as step %}``, ``{% pageurl … as step %}``); an empty
    one shows the label without a link::

        {% breadcrumbs "me" _("My page") "alliance_needs" _("Needs list") need.title %}
    """
    *steps, current = trail
    if len(steps) % 2:
        raise template.TemplateSyntaxError("breadcrumbs takes (url, label) pairs, then a title")
    items = []
    for href, label in zip(steps[::2], steps[1::2], strict=True):
        href = str(href or "")
        if not href:
            items.append(format_html("<li>{}</li>", label))
            continue
        url = href if "/" in href else reverse(href)
        items.append(format_html('<li><a href="{}">{}</a></li>', url, label))
    return format_html(
        '<nav class="breadcrumbs" aria-label="{}"><ol>{}<li aria-current="page">{}</li></ol></nav>',
        gettext("Breadcrumb"),
        mark_safe("".join(items)),  # each item escaped by format_html
        current,
    )


@register.simple_tag(takes_context=True)
def page_breadcrumbs(context, page, current):
    """The breadcrumb trail of a page in the tree: its units below the tree root,
    outermost first and each linked, then ``current`` ("" for the district home,
    which has none)."""
    request = context.get("request")
    # The pages routing loaded on the way here (OrgPage.route), else a query.
    routed = getattr(request, "routed_pages", {})
    paths = [page.path[:end] for end in range(2 * page.steplen, len(page.path), page.steplen)]
    if all(path in routed for path in paths):
        ancestors = [routed[path] for path in paths if routed[path].live]
    else:
        ancestors = page.get_ancestors().filter(depth__gte=2).live().specific().order_by("depth")
    steps = []
    for ancestor in ancestors:
        steps += [
            ancestor.get_url(request),
            getattr(ancestor, "display_title", "") or ancestor.title,
        ]
    return breadcrumbs(*steps, current) if steps else ""


@register.simple_tag
def status_tag(obj, field="status", testid=""):
    """A record's state as a coloured tag (``.status-tag--<value>`` in site.css):
    ``{% status_tag need %}``, ``{% status_tag minutes "state" testid="minutes-state" %}``."""
    value = getattr(obj, field)
    label = getattr(obj, f"get_{field}_display")()
    test = format_html(' data-testid="{}"', testid) if testid else ""
    return format_html('<span class="status-tag status-tag--{}"{}>{}</span>', value, test, label)
