"""Household chooser for admin forms: a searchable, paginated modal limited to the
user's scope, instead of a select with every household of the district."""

from django import forms
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms.choosers import BaseFilterForm
from wagtail.admin.views.generic import chooser as chooser_views
from wagtail.admin.viewsets.chooser import ChooserViewSet

from branches.models import Household
from portal.roles import can_access, visible_to


class HouseholdFilterForm(BaseFilterForm):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(
            attrs={"placeholder": _("Head of household, estate, building or room")}
        ),
    )

    def filter(self, objects):
        objects = super().filter(objects)
        query = (self.cleaned_data.get("q") or "").strip()
        if query:
            self.is_searching = True
            self.search_query = query
            objects = objects.filter(
                Q(head_name__icontains=query)
                | Q(room__icontains=query)
                | Q(building__estate__icontains=query)
                | Q(building__name__icontains=query)
            )
        return objects


class ScopedListMixin:
    filter_form_class = HouseholdFilterForm

    def get_object_list(self):
        return visible_to(self.request.user, Household.objects.select_related("building"))


class HouseholdChooseView(ScopedListMixin, chooser_views.ChooseView):
    pass


class HouseholdChooseResultsView(ScopedListMixin, chooser_views.ChooseResultsView):
    pass


class HouseholdChosenView(chooser_views.ChosenView):
    def get_object(self, pk):
        obj = super().get_object(pk)
        if not can_access(self.request.user, obj):
            raise PermissionDenied
        return obj


class HouseholdChooserViewSet(ChooserViewSet):
    model = Household
    icon = "group"
    choose_one_text = _("Choose a household")
    choose_another_text = _("Choose another household")
    choose_view_class = HouseholdChooseView
    choose_results_view_class = HouseholdChooseResultsView
    chosen_view_class = HouseholdChosenView
    create_action_label = None
    per_page = 20


household_chooser_viewset = HouseholdChooserViewSet("household_chooser")
