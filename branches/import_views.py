"""Admin pages for importing party members and households (the pages themselves
are the kernel's, portal/imports/views.py): who may import, the URLs and the
Import menu."""

from django.http import Http404
from django.urls import path, reverse_lazy
from django.utils.translation import gettext_lazy
from wagtail import hooks
from wagtail.admin.menu import Menu, MenuItem, SubmenuMenuItem

from branches.household_import import HOUSEHOLDS, household_import
from branches.member_import import MEMBERS, member_import
from portal.imports.views import ImportPage, ImportView, example_download
from portal.roles import user_scope


def _may_add(permission: str):
    def may_import(user) -> bool:
        """District administrators, coordinators and secretaries who may add these
        records; building group leaders and everyone else may not."""
        if not getattr(user, "is_authenticated", False):
            return False
        scope = user_scope(user)
        return user.has_perm(permission) and (scope.is_district or bool(scope.paths))

    return may_import


def _page(kind: str, label, permission: str, importer, index_url_name: str) -> ImportPage:
    return ImportPage(
        kind=kind,
        label=label,
        may_import=_may_add(permission),
        importer=importer,
        index_url_name=index_url_name,
        url_name="branches_import",
        example_url_name="branches_import_example",
        url_args=(kind,),
    )


KINDS = {
    MEMBERS: _page(
        MEMBERS,
        gettext_lazy("Import party members"),
        "branches.add_member",
        member_import,
        "members:index",
    ),
    HOUSEHOLDS: _page(
        HOUSEHOLDS,
        gettext_lazy("Import households"),
        "branches.add_household",
        household_import,
        "households:index",
    ),
}


class TreeImportView(ImportView):
    def get_page(self, *, kind) -> ImportPage:
        if kind not in KINDS:
            raise Http404
        return KINDS[kind]


def import_example_download(request, kind, fmt):
    if kind not in KINDS:
        raise Http404
    return example_download(KINDS[kind], fmt)


# --- Admin registration ----------------------------------------------------------------


@hooks.register("register_admin_urls")
def register_import_urls():
    return [
        path("import/<str:kind>/", TreeImportView.as_view(), name="branches_import"),
        path(
            "import/<str:kind>/example.<str:fmt>",
            import_example_download,
            name="branches_import_example",
        ),
    ]


class ImportMenuItem(MenuItem):
    def __init__(self, kind: str, label, order: int):
        self.kind = kind
        super().__init__(
            label,
            reverse_lazy("branches_import", args=[kind]),
            name=f"import-{kind}",
            icon_name="upload",
            order=order,
        )

    def is_shown(self, request):
        return KINDS[self.kind].may_import(request.user)


@hooks.register("register_admin_menu_item")
def register_import_menu_item():
    return SubmenuMenuItem(
        gettext_lazy("Import"),
        Menu(
            items=[
                ImportMenuItem(MEMBERS, gettext_lazy("Party members"), 100),
                ImportMenuItem(HOUSEHOLDS, gettext_lazy("Households"), 200),
            ]
        ),
        name="import",
        icon_name="upload",
        order=160,
    )
