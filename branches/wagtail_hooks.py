"""Private records in the Wagtail admin: every list, form and export is limited to
the user's scope, and private values appear only masked."""

import django_filters
from django.urls import path
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.ui.tables import Column
from wagtail.admin.viewsets.base import ViewSetGroup

from branches import (
    import_views,  # noqa: F401  (import admin URLs and the Import menu)
    receipts,
    views,
)
from branches.admin_base import (
    PRIVATE,
    TreeFilterSet,
    building_choices,
)
from branches.choosers import household_chooser_viewset
from branches.forms import (
    CentralHouseholdForm,
    HouseholdVisitForm,
    MemberForm,
    UniqueIdNumberMixin,
)
from branches.models import (
    Building,
    CentralHousehold,
    Household,
    HouseholdVisit,
    Member,
    Resident,
)
from portal.admin_forms import PrivateRecordForm
from portal.admin_views import ScopedViewSet

# --- Filters ------------------------------------------------------------------------


class MemberFilterSet(TreeFilterSet):
    class Meta:
        model = Member
        fields = ["status", "employed_elsewhere", "public_badge"]


class BuildingFilterSet(TreeFilterSet):
    class Meta:
        model = Building
        fields = []


class HouseholdFilterSet(TreeFilterSet):
    branch_field = "building__branch"
    building = django_filters.ModelChoiceFilter(label=_("Building"), queryset=building_choices)

    class Meta:
        model = Household
        fields = ["care_tags"]


class ResidentFilterSet(TreeFilterSet):
    branch_field = "household__building__branch"

    class Meta:
        model = Resident
        fields = ["gender"]


# --- Viewsets -----------------------------------------------------------------------------


class MemberViewSet(ScopedViewSet):
    model = Member
    form_class = MemberForm
    icon = "user"
    menu_label = _("Party members")
    list_display = [
        "name",
        "gender",
        "status",
        "branch",
        "building_group",
        Column("id_number_masked", label=_("ID number")),
        Column("phone_masked", label=_("Mobile number")),
        PRIVATE,
    ]
    list_select_related = ("branch", "building_group")
    filterset_class = MemberFilterSet
    search_fields = ["name", "employer"]
    list_export = [
        "name",
        "gender",
        "birth_date",
        "id_number_masked",
        "phone_masked",
        "join_date",
        "status",
        "employed_elsewhere",
        "employer",
        "branch",
        "building_group",
        "party_posts_display",
        "public_badge",
    ]
    export_headings = {
        "id_number_masked": _("ID number"),
        "phone_masked": _("Mobile number"),
        "party_posts_display": _("party posts"),
    }
    export_filename = "members"
    form_fields = [
        "name",
        "gender",
        "birth_date",
        "id_number",
        "phone",
        "join_date",
        "status",
        "employed_elsewhere",
        "employer",
        "branch",
        "building_group",
        "household",
        "party_posts",
        "public_badge",
        "badge_title",
    ]


class BuildingViewSet(ScopedViewSet):
    model = Building
    icon = "home"
    menu_label = _("Buildings")
    list_display = ["estate", "name", "branch", "building_group"]
    list_select_related = ("branch", "building_group")
    filterset_class = BuildingFilterSet
    search_fields = ["estate", "name"]
    list_export = ["estate", "name", "branch", "building_group"]
    export_filename = "buildings"
    form_fields = ["branch", "building_group", "estate", "name"]


class HouseholdViewSet(ScopedViewSet):
    model = Household
    icon = "group"
    menu_label = _("Households")
    list_display = [
        "building",
        "room",
        "head_name",
        Column("address_masked", label=_("address")),
        Column("phone_masked", label=_("phone")),
        PRIVATE,
    ]
    list_select_related = ("building",)
    filterset_class = HouseholdFilterSet
    search_fields = ["head_name", "room"]
    list_export = ["building", "room", "head_name", "address_masked", "phone_masked"]
    export_headings = {"address_masked": _("address"), "phone_masked": _("phone")}
    export_filename = "households"
    form_fields = ["building", "room", "address", "head_name", "phone", "care_tags"]


class ResidentForm(UniqueIdNumberMixin, PrivateRecordForm):
    pass


class ResidentViewSet(ScopedViewSet):
    model = Resident
    form_class = ResidentForm
    icon = "user"
    menu_label = _("Residents")
    list_display = [
        "name",
        "gender",
        "household",
        "relation",
        Column("id_number_masked", label=_("ID number")),
        Column("phone_masked", label=_("phone")),
        PRIVATE,
    ]
    list_select_related = ("household__building",)
    filterset_class = ResidentFilterSet
    search_fields = ["name"]
    list_export = ["name", "gender", "household", "relation", "id_number_masked", "phone_masked"]
    export_headings = {"id_number_masked": _("ID number"), "phone_masked": _("phone")}
    export_filename = "residents"
    chooser_fields = {"household": household_chooser_viewset}
    form_fields = ["household", "name", "gender", "birth_date", "relation", "id_number", "phone"]


class CentralHouseholdViewSet(ScopedViewSet):
    model = CentralHousehold
    icon = "home"
    menu_label = _("Central households")
    list_display = ["member", "household"]
    list_select_related = ("member", "household__building")
    search_fields = ["member__name"]
    list_export = ["member", "household"]
    export_filename = "central-households"
    form_class = CentralHouseholdForm
    chooser_fields = {"household": household_chooser_viewset}
    form_fields = ["member", "household", "contact_households"]


class HouseholdVisitViewSet(ScopedViewSet):
    model = HouseholdVisit
    icon = "date"
    menu_label = _("Household visits")
    list_display = ["visited_on", "household", "central_household"]
    list_select_related = (
        "household__building",
        "central_household__member",
        "central_household__household__building",
    )
    list_export = ["visited_on", "household", "central_household", "note"]
    export_filename = "household-visits"
    form_class = HouseholdVisitForm
    form_fields = ["central_household", "household", "visited_on", "note"]


class OrganisationGroup(ViewSetGroup):
    menu_label = _("Organisation")
    menu_icon = "site"
    menu_order = 150

    def __init__(self):
        # Imported here: branches.meeting_admin builds on this module's views.
        from branches.meeting_admin import MeetingViewSet

        self.items = (*self.items, MeetingViewSet("meetings"))
        super().__init__()

    items = (
        MemberViewSet("members"),
        BuildingViewSet("buildings"),
        HouseholdViewSet("households"),
        ResidentViewSet("residents"),
        CentralHouseholdViewSet("central_households"),
        HouseholdVisitViewSet("household_visits"),
    )


@hooks.register("register_admin_viewset")
def register_organisation():
    return OrganisationGroup()


@hooks.register("register_admin_viewset")
def register_household_chooser():
    return household_chooser_viewset


@hooks.register("register_admin_urls")
def register_private_urls():
    from branches.meeting_admin import admin_urls as meeting_urls

    return [
        *meeting_urls,
        path(
            "private/<str:model_name>/<int:pk>/",
            views.private_values,
            name="branches_private",
        ),
    ]


@hooks.register("register_admin_urls")
def register_compliance_urls():
    from branches.compliance_views import compliance_urls

    return compliance_urls  # /admin/compliance/


@hooks.register("register_admin_menu_item")
def register_compliance_menu_item():
    from branches.compliance_views import compliance_menu_item

    return compliance_menu_item()


@hooks.register("register_admin_urls")
def register_receipt_urls():
    return receipts.admin_urls


@hooks.register("register_page_listing_more_buttons")
def receipts_listing_button(page, user, next_url=None):
    yield from receipts.receipts_button(page, user)


@hooks.register("register_page_header_buttons")
def receipts_header_button(page, user, view_name=None, next_url=None):
    yield from receipts.receipts_button(page, user)
