"""The organisation tree (public Wagtail pages) and its private records."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.contrib.routable_page.models import RoutablePageMixin, path
from wagtail.fields import RichTextField
from wagtail.models import Page

from portal.crypto import EncryptedTextField, KeyedHashField
from portal.masking import mask_address, mask_id_number, mask_phone
from portal.validators import validate_id_number, validate_mobile


class Gender(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


# --- Public pages ---------------------------------------------------------------


PUBLICATIONS = ["portal.NoticePage", "portal.NewsPage", "portal.ActivityPage"]


class OrgPage(RoutablePageMixin, Page):
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
        from branches.selectors import org_page_public_context

        context = super().get_context(request, *args, **kwargs)
        context.update(org_page_public_context(page=self))
        return context

    @path("notices/", name="publications")
    def publications(self, request):
        from portal.selectors import publication_listing

        return self.render(
            request,
            context_overrides=publication_listing(request, unit=self),
            template="portal/publication_list.html",
        )

    @path("calendar/", name="calendar")
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


# --- Private records (admin only, never public pages) ----------------------------


class Building(models.Model):
    branch = models.ForeignKey(
        GridBranchPage, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="buildings"
    )
    building_group = models.ForeignKey(
        BuildingGroupPage,
        verbose_name=_("building group"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="buildings",
    )
    estate = models.CharField(_("estate"), max_length=100)
    name = models.CharField(_("building"), max_length=50)

    class Meta:
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        ordering = ["estate", "name"]
        constraints = [
            models.UniqueConstraint(fields=["branch", "estate", "name"], name="unique_building")
        ]

    def __str__(self):
        return f"{self.estate}{self.name}"


class CareTag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        verbose_name = _("care tag")
        verbose_name_plural = _("care tags")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Household(models.Model):
    building = models.ForeignKey(
        Building, verbose_name=_("building"), on_delete=models.PROTECT, related_name="households"
    )
    room = models.CharField(_("unit and room"), max_length=30)
    address = EncryptedTextField(_("address"))
    address_hash = KeyedHashField(source="address")
    head_name = models.CharField(_("head of household"), max_length=50)
    phone = EncryptedTextField(_("phone"), blank=True, validators=[validate_mobile])
    phone_hash = KeyedHashField(source="phone")
    care_tags = models.ManyToManyField(CareTag, verbose_name=_("care tags"), blank=True)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        constraints = [
            models.UniqueConstraint(fields=["building", "room"], name="unique_household_room")
        ]

    def __str__(self):
        return f"{self.building} {self.room} · {self.head_name}"

    @property
    def address_masked(self):
        return mask_address(self.address)

    @property
    def phone_masked(self):
        return mask_phone(self.phone)


class Resident(models.Model):
    household = models.ForeignKey(
        Household, verbose_name=_("household"), on_delete=models.CASCADE, related_name="residents"
    )
    name = models.CharField(_("full name"), max_length=50)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    relation = models.CharField(_("relation to head"), max_length=20, blank=True)
    id_number = EncryptedTextField(_("ID number"), blank=True, validators=[validate_id_number])
    id_number_hash = KeyedHashField(source="id_number")
    phone = EncryptedTextField(_("phone"), blank=True, validators=[validate_mobile])
    phone_hash = KeyedHashField(source="phone")

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")

    def __str__(self):
        return self.name

    @property
    def id_number_masked(self):
        return mask_id_number(self.id_number)

    @property
    def phone_masked(self):
        return mask_phone(self.phone)


class PartyPost(models.TextChoices):
    SECRETARY = "secretary", _("Secretary")
    DEPUTY_SECRETARY = "deputy_secretary", _("Deputy secretary")
    COMMITTEE_MEMBER = "committee_member", _("Committee member")
    GROUP_LEADER = "group_leader", _("Group leader")
    CENTRAL_HOUSEHOLD_HEAD = "central_household_head", _("Central household head")
    DEMO_POST_HOLDER = "demo_post_holder", _("Demonstration-post holder")


class Member(models.Model):
    class Status(models.TextChoices):
        FULL = "full", _("Full member")
        PROBATIONARY = "probationary", _("Probationary member")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="member",
    )
    name = models.CharField(_("full name"), max_length=50, db_index=True)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    id_number = EncryptedTextField(_("ID number"), validators=[validate_id_number])
    id_number_hash = KeyedHashField(source="id_number")
    phone = EncryptedTextField(_("mobile number"), blank=True, validators=[validate_mobile])
    phone_hash = KeyedHashField(source="phone")
    join_date = models.DateField(_("date joined the Party"), null=True, blank=True)
    status = models.CharField(
        _("member category"), max_length=12, choices=Status.choices, default=Status.FULL
    )
    employed_elsewhere = models.BooleanField(_("employed elsewhere (在职党员)"), default=False)
    employer = models.CharField(_("employer"), max_length=100, blank=True)
    branch = models.ForeignKey(
        GridBranchPage,
        verbose_name=_("home branch"),
        on_delete=models.PROTECT,
        related_name="members",
    )
    building_group = models.ForeignKey(
        BuildingGroupPage,
        verbose_name=_("building group"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )
    household = models.ForeignKey(
        Household,
        verbose_name=_("household"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )
    party_posts = models.JSONField(_("party posts"), default=list, blank=True)
    public_badge = models.BooleanField(
        _("show a public role badge (党员亮身份)"),
        default=False,
        help_text=_("Only members who opt in appear on public pages."),
    )
    badge_title = models.CharField(_("public badge title"), max_length=50, blank=True)

    # The district's standard badge titles, shown in the reader's language; any
    # other title is the unit's own wording and is shown as written.
    STANDARD_BADGES = {
        "党员示范岗": _("Party member demonstration post"),
        "党员先锋岗": _("Party member vanguard post"),
        "党员责任区": _("Party member responsibility area"),
        "党员志愿服务岗": _("Party member volunteer post"),
        "党员中心户": _("Party member central household"),
    }

    class Meta:
        verbose_name = _("party member")
        verbose_name_plural = _("party members")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["id_number_hash"],
                condition=~models.Q(id_number_hash=""),
                name="unique_member_id_number",
            )
        ]

    def __str__(self):
        return self.name

    @property
    def badge_label(self) -> str:
        """The public badge title as the reader reads it ("" when none)."""
        return str(self.STANDARD_BADGES.get(self.badge_title, self.badge_title))

    @property
    def id_number_masked(self):
        return mask_id_number(self.id_number)

    @property
    def phone_masked(self):
        return mask_phone(self.phone)

    @property
    def party_posts_display(self):
        labels = dict(PartyPost.choices)
        return "、".join(str(labels.get(p, p)) for p in self.party_posts)


class CentralHousehold(models.Model):
    """党员中心户: a member's household that keeps in touch with its neighbours."""

    member = models.OneToOneField(
        Member,
        verbose_name=_("head (member)"),
        on_delete=models.CASCADE,
        related_name="central_household",
    )
    household = models.ForeignKey(
        Household,
        verbose_name=_("the member's household"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    contact_households = models.ManyToManyField(
        Household,
        verbose_name=_("contact households"),
        blank=True,
        related_name="central_households",
    )

    class Meta:
        verbose_name = _("central household")
        verbose_name_plural = _("central households")

    def __str__(self):
        return f"{self.member.name} · {self.household.building}"


class HouseholdVisit(models.Model):
    central_household = models.ForeignKey(
        CentralHousehold,
        verbose_name=_("central household"),
        on_delete=models.CASCADE,
        related_name="visits",
    )
    household = models.ForeignKey(
        Household,
        verbose_name=_("household visited"),
        on_delete=models.CASCADE,
        related_name="visits",
    )
    visited_on = models.DateField(_("visited on"))
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("household visit")
        verbose_name_plural = _("household visits")
        ordering = ["-visited_on", "-id"]

    def __str__(self):
        return f"{self.visited_on} {self.household}"


# Branch meetings (三会一课) live in their own module; importing them here
# registers them with the app.
from branches.meetings import (  # noqa: E402, F401
    Attendance,
    Meeting,
    MeetingPhoto,
    MeetingReminder,
    MeetingSeries,
)
