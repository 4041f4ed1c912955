"""What branches, grids and the district publish: notices (通知公告), news
(工作动态) and activities (活动) as Wagtail pages under the unit they belong to,
and the district notice board whose notices need district approval."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel
from wagtail.contrib.table_block.blocks import TableBlock
from wagtail.documents.blocks import DocumentChooserBlock
from wagtail.fields import StreamField
from wagtail.images.blocks import ImageChooserBlock
from wagtail.models import Page

from portal.listing import publication_listing
from portal.page_cache import CHILDREN, cached_page
from portal.restrictions import ViewRestrictionsReadOnce, public

UNIT_PAGE_TYPES = [
    "branches.DistrictPage",
    "branches.GridPage",
    "branches.GridBranchPage",
    "branches.BuildingGroupPage",
]


class Kind(models.TextChoices):
    NOTICE = "notice", _("Notice")
    NEWS = "news", _("News")
    ACTIVITY = "activity", _("Activity")


class BodyBlock(blocks.StreamBlock):
    text = blocks.RichTextBlock(
        label=_("Text"), features=["h2", "h3", "bold", "italic", "link", "ol", "ul", "hr"]
    )
    image = ImageChooserBlock(label=_("Image"))
    attachment = DocumentChooserBlock(label=_("Attachment"))
    table = TableBlock(label=_("Table"))

    class Meta:
        template = "portal/blocks/body.html"


# What a listing loads of each item.
LIST_FIELDS = (
    "id",
    "title",
    "url_path",
    "path",
    "depth",
    "kind",
    "summary",
    "pinned",
    "first_published_at",
    "last_published_at",
    "cover",
)


class PublicationPage(ViewRestrictionsReadOnce, Page):
    """Fields every notice, news item and activity has, in one table, so a
    listing of all three is one query in one order."""

    kind = models.CharField(_("category"), max_length=10, choices=Kind.choices, editable=False)
    summary = models.TextField(_("summary"), max_length=300, blank=True)
    cover = models.ForeignKey(
        "wagtailimages.Image",
        verbose_name=_("cover image"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = StreamField(BodyBlock(), verbose_name=_("body"), blank=True)
    pinned = models.BooleanField(
        _("pinned"), default=False, help_text=_("Pinned items stay at the top of listings.")
    )

    is_creatable = False
    parent_page_types = UNIT_PAGE_TYPES
    subpage_types = []
    template = "portal/publication_page.html"
    content_panels = Page.content_panels + [
        FieldPanel("summary"),
        FieldPanel("cover"),
        FieldPanel("body"),
    ]
    KIND = ""

    class Meta:
        verbose_name = _("publication")
        indexes = [models.Index(fields=["kind", "pinned"])]

    def save(self, *args, **kwargs):
        self.kind = self.KIND
        return super().save(*args, **kwargs)

    @cached_page()
    def serve(self, request, *args, **kwargs):
        return super().serve(request, *args, **kwargs)

    @classmethod
    def under(cls, unit: Page):
        """Live, public items anywhere under a unit, pinned first, newest first."""
        return (
            public(cls.objects.live())
            .descendant_of(unit)
            .select_related("cover")
            .only(*LIST_FIELDS)
            .order_by("-pinned", "-first_published_at", "-id")
        )

    @classmethod
    def listing(cls, request, unit: Page) -> dict:
        """The context of a unit's listing page (see ``publication_listing``)."""
        return {"unit": unit, **publication_listing(request, cls.under(unit), kinds=Kind.choices)}


class NoticePage(PublicationPage):
    requires_receipt = models.BooleanField(
        _("requires read receipt"),
        default=False,
        help_text=_("Members are asked to confirm they have read it; the secretary sees who has."),
    )

    template = "portal/publication_page.html"
    KIND = Kind.NOTICE
    parent_page_types = UNIT_PAGE_TYPES + ["portal.NoticeBoardPage"]
    content_panels = PublicationPage.content_panels + [
        FieldRowPanel([FieldPanel("pinned"), FieldPanel("requires_receipt")]),
    ]

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")

    def serve(self, request, *args, **kwargs):
        """Opening a notice signed in marks it read; a POST confirms the receipt."""
        from django.contrib import messages
        from django.shortcuts import redirect

        request.notice_read = None
        if request.user.is_authenticated and not getattr(request, "is_preview", False):
            confirm = request.method == "POST" and self.requires_receipt
            request.notice_read = notice_read_record(
                notice=self, user=request.user, confirm=confirm
            )
            if confirm:
                messages.success(request, _("Thank you: your read receipt is recorded."))
                return redirect(self.get_url(request))
        return super().serve(request, *args, **kwargs)

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["receipt"] = getattr(request, "notice_read", None)
        return context


class NewsPage(PublicationPage):
    template = "portal/publication_page.html"
    KIND = Kind.NEWS

    class Meta:
        verbose_name = _("news item")
        verbose_name_plural = _("news")


class ActivityPage(PublicationPage):
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    place = models.CharField(_("place"), max_length=200)
    capacity_note = models.CharField(
        _("capacity"), max_length=100, blank=True, help_text=_("e.g. 限30人, 额满即止")
    )
    signup_url = models.URLField(_("sign-up link"), blank=True)

    template = "portal/publication_page.html"
    KIND = Kind.ACTIVITY
    content_panels = PublicationPage.content_panels + [
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("starts_at"), FieldPanel("ends_at")]),
                FieldPanel("place"),
                FieldPanel("capacity_note"),
                FieldPanel("signup_url"),
            ],
            heading=_("When and where"),
        )
    ]

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")

    def clean(self):
        from django.core.exceptions import ValidationError

        super().clean()
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": _("The end must be after the start.")})


class NoticeBoardPage(Page):
    """区级通知公告: district-wide notices proposed by coordinators and secretaries.
    The district approval workflow is assigned here, so these (and only these)
    go through district approval before they are published."""

    parent_page_types = ["branches.DistrictPage"]
    subpage_types = ["portal.NoticePage"]
    max_count = 1
    template = "portal/notice_board_page.html"

    class Meta:
        verbose_name = _("district notice board")

    @cached_page(CHILDREN)
    def serve(self, request, *args, **kwargs):
        return super().serve(request, *args, **kwargs)

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context.update(PublicationPage.listing(request, self))
        return context


class NoticeRead(models.Model):
    """A member has opened (and, where asked, confirmed) a notice."""

    notice = models.ForeignKey(NoticePage, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notice_reads"
    )
    read_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["notice", "user"], name="unique_notice_read")
        ]

    def __str__(self):
        return f"{self.user} · {self.notice_id}"


def notice_read_record(*, notice: NoticePage, user, confirm=False) -> NoticeRead:
    """Mark a notice read by ``user`` (once); ``confirm`` also records the receipt."""
    read, _created = NoticeRead.objects.get_or_create(notice=notice, user=user)
    if confirm and read.confirmed_at is None:
        read.confirmed_at = timezone.now()
        read.save(update_fields=["confirmed_at"])
    return read
