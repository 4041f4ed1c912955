"""Private records of the tree (admin only, never public pages): buildings,
households and residents, party members, central households and their visits."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.crypto import EncryptedTextField, KeyedHashField
from portal.masking import mask_address, mask_id_number, mask_phone
from portal.validators import validate_id_number, validate_mobile


class Gender(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


# --- Private records (admin only, never public pages) ----------------------------


class Building(models.Model):
    branch = models.ForeignKey(
        "branches.GridBranchPage",
        verbose_name=_("branch"),
        on_delete=models.PROTECT,
        related_name="buildings",
    )
    building_group = models.ForeignKey(
        "branches.BuildingGroupPage",
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
        "branches.GridBranchPage",
        verbose_name=_("home branch"),
        on_delete=models.PROTECT,
        related_name="members",
    )
    building_group = models.ForeignKey(
        "branches.BuildingGroupPage",
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
