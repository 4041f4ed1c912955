"""Partner units, alliances and agreements in the admin (district administrators).

Partner units carry their contacts inline (a contact's mobile number is
write-only: the form shows it masked and keeps it when left empty), the
branches and grids they co-build with, and their agreements with the signed
file as a Wagtail document. Coordinators and secretaries see, read-only, the
partner units co-building with their units and those units' agreements."""

import django_filters
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, ObjectList
from wagtail.admin.ui.tables import Column
from wagtail.admin.views import generic
from wagtail.admin.viewsets.base import ViewSetGroup
from wagtail.admin.viewsets.model import ModelViewSet

from alliance.models import Agreement, Alliance, Partner, PartnerContact
from alliance.partners.selectors import partners_visible_to
from branches.models import GridPage
from portal.admin_forms import PrivateRecordForm
from portal.models import Role


class ContactForm(PrivateRecordForm):
    """One contact of a unit: the account is one of the partner-contact accounts
    not yet linked to another unit (a short list, not every user)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields.get("user")
        if field is not None:
            taken = PartnerContact.objects.filter(user__isnull=False).exclude(pk=self.instance.pk)
            field.queryset = (
                field.queryset.filter(role_assignments__role=Role.PARTNER_CONTACT)
                .exclude(pk__in=taken.values("user"))
                .distinct()
                .order_by("username")
            )
            field.help_text = _(
                "An account with the partner contact role; with it, this person "
                "signs in to keep the unit's profile and resources."
            )


class ContactsPanel(InlinePanel):
    """The contacts inline, each with the write-only phone form."""

    def get_form_options(self):
        options = super().get_form_options()
        options["formsets"][self.relation_name]["form"] = ContactForm
        return options


class PartnerForm(WagtailAdminModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        grids = self.fields.get("grids")
        if grids is not None:
            # Micro-grids (thousands) are served through their third-level grid.
            grids.queryset = grids.queryset.exclude(level=GridPage.Level.MICRO).order_by("path")
        branches = self.fields.get("branches")
        if branches is not None:
            branches.queryset = branches.queryset.order_by("path")


class ScopedPartnerIndexView(generic.IndexView):
    """The district sees every unit; coordinators and secretaries those
    co-building with their units."""

    partner_field = None

    def get_base_queryset(self):
        qs = super().get_base_queryset()
        visible = partners_visible_to(self.request.user)
        if self.partner_field is None:
            return qs.filter(pk__in=visible.values("pk"))
        return qs.filter(**{f"{self.partner_field}__in": visible.values("pk")}).select_related(
            self.partner_field
        )


class PartnerIndexView(ScopedPartnerIndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().annotate(contact_count=Count("contacts"))


class AgreementIndexView(ScopedPartnerIndexView):
    partner_field = "partner"


class ScopedInspectView(generic.InspectView):
    partner_field = None

    def get_object(self, queryset=None):
        obj = super().get_object(queryset)
        partner = obj if self.partner_field is None else getattr(obj, self.partner_field)
        if not partners_visible_to(self.request.user).filter(pk=partner.pk).exists():
            raise PermissionDenied
        return obj


class AgreementInspectView(ScopedInspectView):
    partner_field = "partner"


class PartnerViewSet(ModelViewSet):
    model = Partner
    icon = "group"
    menu_label = _("Partner units")
    index_view_class = PartnerIndexView
    inspect_view_class = ScopedInspectView
    inspect_view_enabled = True
    # The inspect view shows the public profile; contacts' phones stay out.
    inspect_view_fields = ["name", "kind", "intro", "address", "branches", "grids", "created_at"]
    copy_view_enabled = False
    list_per_page = 50
    list_display = [
        "name",
        "kind",
        "address",
        Column("contact_count", label=_("Contacts"), sort_key="contact_count"),
    ]
    list_filter = ["kind"]
    search_fields = ["name", "intro", "address"]
    list_export = ["name", "kind", "address", "intro"]
    export_filename = "partner-units"
    form_class = PartnerForm

    def get_edit_handler(self):
        panels = [
            FieldRowPanel([FieldPanel("name"), FieldPanel("kind")]),
            FieldPanel("intro"),
            FieldPanel("address"),
            FieldPanel("branches"),
            FieldPanel("grids"),
            ContactsPanel(
                "contacts",
                label=_("Contacts"),
                panels=[
                    FieldRowPanel([FieldPanel("name"), FieldPanel("title")]),
                    FieldRowPanel([FieldPanel("phone"), FieldPanel("user")]),
                ],
            ),
        ]
        return ObjectList(panels, base_form_class=self.form_class).bind_to_model(Partner)


class AgreementFilterSet(WagtailFilterSet):
    partner__kind = django_filters.ChoiceFilter(
        label=_("type of partner unit"), choices=Partner.Kind.choices
    )

    class Meta:
        model = Agreement
        fields = []


class AgreementViewSet(ModelViewSet):
    model = Agreement
    icon = "doc-full"
    menu_label = _("Partnership agreements")
    index_view_class = AgreementIndexView
    inspect_view_class = AgreementInspectView
    inspect_view_enabled = True
    copy_view_enabled = False
    list_per_page = 50
    # The foreign key has no verbose name of its own (a label change would be a
    # migration): the column and the filter are named here.
    list_display = [
        "title",
        Column("partner", label=_("partner unit")),
        "starts_on",
        "ends_on",
        "signed_on",
    ]
    filterset_class = AgreementFilterSet
    search_fields = ["title", "partner__name", "commitments"]
    list_export = ["title", "partner", "starts_on", "ends_on", "signed_on", "commitments"]
    export_filename = "partnership-agreements"
    panels = [
        FieldPanel("partner"),
        FieldPanel("title"),
        FieldRowPanel([FieldPanel("starts_on"), FieldPanel("ends_on"), FieldPanel("signed_on")]),
        FieldPanel("commitments"),
        FieldPanel("signed_file"),
    ]


class AllianceViewSet(ModelViewSet):
    model = Alliance
    icon = "site"
    menu_label = _("Alliances")
    copy_view_enabled = False
    list_display = ["name", "unit"]
    search_fields = ["name"]
    list_export = ["name", "unit"]
    export_filename = "alliances"
    panels = [
        FieldPanel("name"),
        FieldPanel("unit"),
        FieldPanel("branches"),
        FieldPanel("partners"),
    ]


class AllianceGroup(ViewSetGroup):
    menu_label = _("Co-building alliance")
    menu_icon = "group"
    menu_order = 170
    items = (
        PartnerViewSet("partners"),
        AgreementViewSet("agreements"),
        AllianceViewSet("alliances"),
    )


@hooks.register("register_admin_viewset")
def register_alliance_admin():
    return AllianceGroup()
