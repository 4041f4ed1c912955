"""The admin's building blocks for records in the organisation tree, used by every
app's admin: list, edit, delete, history and usage views limited to the user's
scope (portal/roles.py), the grid, branch and building filters with the user's
own choices, the private-data column, and ``ScopedViewSet``."""

import django_filters
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.panels import FieldPanel, ObjectList
from wagtail.admin.ui.tables import Column
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet

from branches.choosers import household_chooser_viewset
from branches.forms import PrivateRecordForm, pages_in_scope
from branches.models import Building, GridBranchPage, GridPage
from portal.roles import can_access, user_scope, visible_to

# --- Scoped views -----------------------------------------------------------------


class ScopedIndexView(generic.IndexView):
    list_select_related = ()

    def get_base_queryset(self):
        qs = super().get_base_queryset()
        if self.list_select_related:
            qs = qs.select_related(*self.list_select_related)
        return visible_to(self.request.user, qs)


class InScopeObjectMixin:
    """A record outside the user's scope is refused (403). Wagtail's views differ in
    their get_object() signatures (edit: ``queryset=None``; history, usage: none), so
    the arguments are passed on as given."""

    def get_object(self, *args, **kwargs):
        obj = super().get_object(*args, **kwargs)
        if not can_access(self.request.user, obj):
            raise PermissionDenied
        return obj


class ScopedEditView(InScopeObjectMixin, generic.EditView):
    pass


class ScopedDeleteView(InScopeObjectMixin, generic.DeleteView):
    pass


class ScopedHistoryView(InScopeObjectMixin, generic.HistoryView):
    pass


class ScopedUsageView(InScopeObjectMixin, generic.UsageView):
    pass


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


# --- Viewsets -----------------------------------------------------------------------------


class ScopedViewSet(ModelViewSet):
    index_view_class = ScopedIndexView
    edit_view_class = ScopedEditView
    delete_view_class = ScopedDeleteView
    history_view_class = ScopedHistoryView
    usage_view_class = ScopedUsageView
    copy_view_enabled = False
    list_per_page = 50
    list_select_related = ()
    form_class = PrivateRecordForm

    def get_index_view_kwargs(self, **kwargs):
        return super().get_index_view_kwargs(list_select_related=self.list_select_related, **kwargs)

    # Fields edited with a chooser (a searchable modal) instead of a long select.
    chooser_fields = ()

    def get_edit_handler(self):
        panels = [
            FieldPanel(name, widget=household_chooser_viewset.widget_class)
            if name in self.chooser_fields
            else FieldPanel(name)
            for name in self.form_fields
        ]
        return ObjectList(panels, base_form_class=self.form_class).bind_to_model(self.model)
