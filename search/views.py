import logging
from datetime import datetime, time

from django import forms
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.models import Page

from search.query import PER_PAGE, search
from search.registry import search_types

logger = logging.getLogger("tongxin.search")


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=10_000)
    type = forms.MultipleChoiceField(label=_("Record type"), required=False, choices=())
    grid = forms.IntegerField(required=False, widget=forms.HiddenInput)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    page = forms.IntegerField(required=False, min_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = [(t.name, t.label) for t in search_types()]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned


def _aware(day, at):
    return timezone.make_aware(datetime.combine(day, at)) if day else None


def search_view(request, template="search/search.html"):
    """The portal's search page: phone-friendly, facets as filters, paginated."""
    form = SearchForm(request.GET or None)
    context = {"form": form, "labels": {t.name: t.label for t in search_types()}}
    if form.is_valid() and form.cleaned_data.get("q", "").strip():
        data = form.cleaned_data
        grid = Page.objects.filter(pk=data["grid"]).first() if data.get("grid") else None
        try:
            result = search(
                user=request.user,
                text=data["q"],
                doc_types=tuple(data["type"]),
                grid_path=grid.path if grid else "",
                date_from=_aware(data.get("date_from"), time.min),
                date_to=_aware(data.get("date_to"), time.max),
                page=data.get("page") or 1,
            )
        except Exception:  # the search service is down: say so, keep the page
            logger.exception("search failed")
            context["unavailable"] = True
            return render(request, template, context, status=503)
        # A paginator over the total gives the usual page links; the backend
        # already returned just this page's hits.
        paginator = Paginator(range(result.results.total), PER_PAGE)
        context.update(
            result=result,
            grid=grid,
            page_obj=paginator.get_page(result.page) if result.results.total else None,
            selected_types=set(data["type"]),
        )
    return render(request, template, context)
