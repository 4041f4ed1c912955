"""The admin's building blocks for records in the organisation tree, used by every
app's admin beside the kernel's scoped views (portal/admin_views.py): the grid,
branch and building filters with the user's own choices, and the private-data
column."""

import django_filters
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.ui.tables import Column

from branches.models import Building, GridBranchPage, GridPage
from branches.visibility import pages_in_scope
from portal.roles import user_scope, visible_to

# --- Filters ------------------------------------------------------------------------


def grid_choices(request):
    if request is None:
        return GridPage.objects.none()
    # Branches sit under third-level grids and have their own filter; grids of
    # levels 1 and 2 are the useful roll-ups (and keep the select short).
    qs = GridPage.objects.filter(level__in=[GridPage.Level.FIRST, GridPage.Level.SECOND]).order_by(
        "path"
    )
    return pages_in_scope(request.user, qs) if not _is_district(request) else qs


def branch_choices(request):
    if request is None:
        return GridBranchPage.objects.none()
    return pages_in_scope(request.user, GridBranchPage.objects.order_by("path"))


def building_choices(request):
    if request is None:
        return Building.objects.none()
    return visible_to(request.user, Building.objects.order_by("estate", "name"))


def _is_district(request):
    return user_scope(request.user).is_district


class TreeFilterSet(WagtailFilterSet):
    """Filter by grid (any level), branch and building; choices are the user's scope."""

    branch_field = "branch"
    grid = django_filters.ModelChoiceFilter(
        label=_("Grid"), queryset=grid_choices, method="filter_grid"
    )
    branch = django_filters.ModelChoiceFilter(
        label=_("Branch"), queryset=branch_choices, method="filter_branch"
    )

    def filter_grid(self, queryset, name, value):
        return queryset.filter(**{f"{self.branch_field}__path__startswith": value.path})

    def filter_branch(self, queryset, name, value):
        return queryset.filter(**{self.branch_field: value})


# --- Columns --------------------------------------------------------------------------


class PrivateLinkColumn(Column):
    """A link to the audited page that shows one record's full private values."""

    cell_template_name = "branches/admin/private_link_cell.html"

    def get_value(self, instance):
        return reverse("branches_private", args=[instance._meta.model_name, instance.pk])


PRIVATE = PrivateLinkColumn("private", label=_("Private data"))
