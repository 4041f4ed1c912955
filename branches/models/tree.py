"""The organisation tree: the district, grids, grid party branches and building
party groups as public Wagtail pages, and what each unit's public page shows."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import Resolver404
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.contrib.routable_page.models import RoutablePageMixin, path
from wagtail.fields import RichTextField
from wagtail.models import Page

from branches.models.people import Member
from portal.page_cache import BADGES, CHILDREN, EVENTS, cached_page
from portal.publishing import PublicationPage
from portal.restrictions import ViewRestrictionsReadOnce, public

# --- Public pages ---------------------------------------------------------------


PUBLICATIONS = ["portal.NoticePage", "portal.NewsPage", "portal.ActivityPage"]


class OrgPage(ViewRestrictionsReadOnce, RoutablePageMixin, Page):
    """Fields every unit of the tree shows the public, and the unit's listing of
    what is published under it (``notices/``)."""

    title_en = models.CharField(_("English name"), max_length=255, blank=True)
    area = models.CharField(_("area covered"), max_length=255, blank=True)
    leader_public_name = models.CharField(
        _("leader's public name"),
        max_length=50,
        blank=True,
        help_text=_("How the secretary or leader is shown to the public, e.g. 王书记."),
    )
    contact_hours = models.CharField(_("contact hours"), max_length=100, blank=True)
    intro = RichTextField(
        _("introduction"), blank=True, features=["bold", "italic", "link", "ol", "ul"]
    )
    intro_en = models.TextField(_("English introduction"), blank=True)

    content_panels = Page.content_panels + [
        FieldPanel("title_en"),
        MultiFieldPanel(
            [FieldPanel("area"), FieldPanel("leader_public_name"), FieldPanel("contact_hours")],
            heading=_("Public contact"),
        ),
        FieldPanel("intro"),
        FieldPanel("intro_en"),
    ]

    class Meta:
        abstract = True

    @property
    def display_title(self):
        if self.title_en and (get_language() or "").startswith("en"):
            return self.title_en
        return self.title

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context.update(org_page_public_context(page=self))
        return context

    def route(self, request, path_components):
        """Find the page a path names with one query for the whole path and one
        per page type, where Wagtail asks two per level; the same answer: at
        each level a unit's own routes (``notices/``…) come before its
        children, and unpublished units on the way are passed through. The
        pages on the path are kept for the breadcrumbs (``routed_pages``)."""
        if not path_components:
            return super().route(request, path_components)
        prefixes = [
            self.url_path + "".join(f"{slug}/" for slug in path_components[:depth])
            for depth in range(1, len(path_components) + 1)
        ]
        found = {
            page.url_path: page
            for page in Page.objects.filter(url_path__in=prefixes).specific().defer_streamfields()
        }
        routed = getattr(request, "routed_pages", None) or {self.path: self}
        page, rest = self, list(path_components)
        for prefix in prefixes:
            if isinstance(page, OrgPage) and page.has_route(rest):
                break
            page = found.get(prefix)
            if page is None:
                raise Http404
            routed[page.path] = page
            rest = rest[1:]
        request.routed_pages = routed
        return (
            super(OrgPage, page).route(request, rest)
            if isinstance(page, OrgPage)
            else (page.route(request, rest))
        )

    def has_route(self, path_components) -> bool:
        """Whether the rest of a path is one of this unit's own routes."""
        try:
            self.resolve_subpage("/" + "".join(f"{slug}/" for slug in path_components))
        except (Http404, Resolver404):
            return False
        return bool(path_components)

    def get_cached_paths(self):
        """What a proxy in front purges when the page is published (see the README)."""
        return ["/", "/notices/", "/calendar/", "/calendar/ics/"]

    @path("")
    @cached_page(CHILDREN, BADGES)
    def index_route(self, request, *args, **kwargs):
        return super().index_route(request, *args, **kwargs)

    @path("notices/", name="publications")
    @cached_page(CHILDREN)
    def publications(self, request):
        """The unit's publications, filtered and paged; none of the unit page's
        own parts (latest items, child units, badges), which the listing does not show."""
        context = super().get_context(request)
        context.update(PublicationPage.listing(request, self))
        return TemplateResponse(request, "portal/publication_list.html", context)

    @path("calendar/", name="calendar")
    @cached_page(CHILDREN, EVENTS)
    def calendar(self, request):
        """The unit's upcoming public meetings and activities, by day."""
        from django.shortcuts import render

        from portal.calendars import calendar_page_context

        context = calendar_page_context(self, request)
        context.update(page=self, self=self)
        return render(request, "branches/calendar.html", context)

    # Wagtail serves only paths of letters, digits, "-" and "_" segments (no
    # dot), so the feed is "calendar/ics/"; the download is named *.ics.
    @path("calendar/ics/", name="calendar_ics")
    @cached_page(CHILDREN, EVENTS)
    def calendar_ics(self, request):
        """The same public events as an iCalendar feed to subscribe to."""
        from django.http import HttpResponse

        from portal.calendars import unit_calendar_ics

        response = HttpResponse(
            unit_calendar_ics(self, request), content_type="text/calendar; charset=utf-8"
        )
        response["Content-Disposition"] = f'inline; filename="calendar-{self.pk}.ics"'
        return response


class DistrictPage(OrgPage):
    """The district home: root of the organisation tree and the site's home page."""

    parent_page_types = ["wagtailcore.Page"]
    subpage_types = ["branches.GridPage", "portal.NoticeBoardPage", *PUBLICATIONS]
    max_count = 1
    template = "branches/district_page.html"

    class Meta:
        verbose_name = _("district")
        verbose_name_plural = _("districts")


class GridPage(OrgPage):
    class Level(models.TextChoices):
        FIRST = "1", _("First-level grid")
        SECOND = "2", _("Second-level grid")
        THIRD = "3", _("Third-level grid")
        MICRO = "micro", _("Micro-grid")
        DEDICATED = "dedicated", _("Dedicated grid")

    class DedicatedKind(models.TextChoices):
        SCHOOL = "school", _("School")
        HOSPITAL = "hospital", _("Hospital")
        PARK = "park", _("Park")
        MARKET = "market", _("Market")
        OTHER = "other", _("Other")

    level = models.CharField(_("level"), max_length=10, choices=Level.choices, db_index=True)
    dedicated_kind = models.CharField(
        _("dedicated grid kind"), max_length=10, choices=DedicatedKind.choices, blank=True
    )
    code = models.CharField(_("grid code"), max_length=32, blank=True, db_index=True)

    parent_page_types = ["branches.DistrictPage", "branches.GridPage"]
    subpage_types = ["branches.GridPage", "branches.GridBranchPage", *PUBLICATIONS]
    template = "branches/grid_page.html"

    content_panels = OrgPage.content_panels + [
        MultiFieldPanel(
            [FieldPanel("level"), FieldPanel("dedicated_kind"), FieldPanel("code")],
            heading=_("Grid"),
        )
    ]

    # Which levels may sit directly under which.
    ALLOWED_PARENT_LEVELS = {
        Level.FIRST: {None},
        Level.SECOND: {Level.FIRST},
        Level.THIRD: {Level.SECOND},
        Level.MICRO: {Level.THIRD},
        Level.DEDICATED: {None, Level.FIRST, Level.SECOND, Level.THIRD, Level.MICRO},
    }

    class Meta:
        verbose_name = _("grid")
        verbose_name_plural = _("grids")

    def clean(self):
        super().clean()
        if self.level == self.Level.DEDICATED and not self.dedicated_kind:
            raise ValidationError(
                {"dedicated_kind": _("Choose what kind of dedicated grid this is.")}
            )
        if self.level != self.Level.DEDICATED and self.dedicated_kind:
            raise ValidationError({"dedicated_kind": _("Only dedicated grids have a kind.")})
        parent = self.get_parent().specific if self.depth else None
        if parent is not None:
            parent_level = parent.level if isinstance(parent, GridPage) else None
            if parent_level not in self.ALLOWED_PARENT_LEVELS.get(self.level, set()):
                raise ValidationError({"level": _("A grid of this level cannot sit here.")})


class GridBranchPage(OrgPage):
    """网格党支部: one per third-level grid."""

    parent_page_types = ["branches.GridPage"]
    subpage_types = ["branches.BuildingGroupPage", *PUBLICATIONS]
    template = "branches/grid_branch_page.html"

    class Meta:
        verbose_name = _("grid party branch")
        verbose_name_plural = _("grid party branches")

    def clean(self):
        super().clean()
        parent = self.get_parent().specific if self.depth else None
        if parent is None:
            return
        if not isinstance(parent, GridPage) or parent.level != GridPage.Level.THIRD:
            raise ValidationError(_("A grid party branch belongs under a third-level grid."))
        siblings = GridBranchPage.objects.child_of(parent)
        if self.pk:
            siblings = siblings.exclude(pk=self.pk)
        if siblings.exists():
            raise ValidationError(_("This grid already has a party branch."))


class BuildingGroupPage(OrgPage):
    """楼栋党小组."""

    parent_page_types = ["branches.GridBranchPage"]
    subpage_types = PUBLICATIONS
    template = "branches/building_group_page.html"

    class Meta:
        verbose_name = _("building party group")
        verbose_name_plural = _("building party groups")


# --- What a unit's public page shows --------------------------------------------

PUBLIC_BADGE_LIMIT = 60
CHILDREN_PAGE_SIZE = 50
LATEST_PUBLICATIONS = 5


def public_badge_members(*, page) -> QuerySet[Member]:
    """Members of this unit who opted in to a public role badge. Only public
    fields are loaded; nothing private leaves the database."""
    qs = Member.objects.filter(public_badge=True)
    if isinstance(page, GridBranchPage):
        qs = qs.filter(branch=page)
    elif isinstance(page, BuildingGroupPage):
        qs = qs.filter(building_group=page)
    else:
        return Member.objects.none()
    return qs.only("id", "name", "badge_title", "party_posts").order_by("name", "id")[
        :PUBLIC_BADGE_LIMIT
    ]


def org_page_public_context(*, page) -> dict:
    """What a public unit page shows besides its own fields: live child units
    (bounded) and opted-in members."""
    children = (
        public(Page.objects.child_of(page).live())
        .type(GridPage, GridBranchPage, BuildingGroupPage)
        .specific()
        .order_by("path")
    )
    return {
        "latest_publications": list(PublicationPage.under(page)[:LATEST_PUBLICATIONS]),
        "child_units": children[:CHILDREN_PAGE_SIZE],
        "child_unit_count": children.count(),
        "badge_members": list(public_badge_members(page=page)),
    }
