"""Scoped admin: Wagtail's generic list, edit, delete, history and usage views and
a ``ModelViewSet`` that show a user only the records their scope allows
(portal/roles.py) and refuse any other with 403. Every app's admin of private
records is a ``ScopedViewSet``."""

from django.core.exceptions import PermissionDenied
from wagtail.admin.panels import FieldPanel, ObjectList
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet

from portal.admin_forms import PrivateRecordForm
from portal.roles import can_access, visible_to


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

    # Fields edited with a chooser (a searchable modal) instead of a long select:
    # {field name: chooser viewset}.
    chooser_fields: dict = {}

    def get_edit_handler(self):
        panels = [
            FieldPanel(name, widget=self.chooser_fields[name].widget_class)
            if name in self.chooser_fields
            else FieldPanel(name)
            for name in self.form_fields
        ]
        return ObjectList(panels, base_form_class=self.form_class).bind_to_model(self.model)
