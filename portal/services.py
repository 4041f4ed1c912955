"""Writes for accounts and roles."""

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from wagtail.models import (
    GroupApprovalTask,
    GroupPagePermission,
    Page,
    Workflow,
    WorkflowPage,
    WorkflowTask,
)

from portal.audit import audit_record
from portal.models import AuditEntry, Role, RoleAssignment

# Model permissions each role gets through one shared group per role.
BRANCH_RECORDS = [
    "building",
    "household",
    "resident",
    "member",
    "centralhousehold",
    "householdvisit",
    "meeting",
    "attendance",
]
ROLE_MODEL_PERMISSIONS = {
    Role.DISTRICT_ADMIN: {
        "branches": [*BRANCH_RECORDS, "caretag"],
        "volunteers": [
            "duty",
            "shift",
            "signup:view",
            "skill",
            "pointrule:view,change",
            "communityregistration:view,change",
        ],
        "portal": ["auditentry:view", "roleassignment"],
        "alliance": ["partner", "agreement", "alliance"],
    },
    Role.GRID_COORDINATOR: {
        "branches": BRANCH_RECORDS,
        "volunteers": ["duty", "shift", "signup:view", "communityregistration:view,change"],
        "alliance": ["partner:view", "agreement:view"],
    },
    Role.BRANCH_SECRETARY: {
        "branches": BRANCH_RECORDS,
        "volunteers": ["duty", "shift", "signup:view", "communityregistration:view,change"],
        "alliance": ["partner:view", "agreement:view"],
    },
    Role.GROUP_LEADER: {
        "branches": [
            "building:view",
            "household:view,change",
            "resident:view,change",
            "member:view",
            "householdvisit:view,add",
            "meeting:view",
            "attendance:view",
        ],
    },
    # Grid workers use the admin for their grid's dispatch records (board, import).
    Role.GRID_WORKER: {},
    Role.CENTRAL_HOUSEHOLD_HEAD: {
        "branches": ["household:view", "centralhousehold:view", "householdvisit:view,add"],
    },
}
# Page permissions a scoped role holds on its own unit (inherited by the subtree).
ROLE_PAGE_PERMISSIONS = {
    Role.DISTRICT_ADMIN: ["add_page", "change_page", "publish_page", "lock_page", "unlock_page"],
    Role.GRID_COORDINATOR: ["add_page", "change_page", "publish_page"],
    Role.BRANCH_SECRETARY: ["add_page", "change_page", "publish_page"],
    Role.GROUP_LEADER: ["change_page"],
}


def _model_permissions(spec: dict) -> list[Permission]:
    perms = []
    for app_label, entries in spec.items():
        for entry in entries:
            model, _, actions = entry.partition(":")
            actions = actions.split(",") if actions else ["view", "add", "change", "delete"]
            for action in actions:
                perms.append(
                    Permission.objects.get(
                        content_type__app_label=app_label, codename=f"{action}_{model}"
                    )
                )
    return perms


def _role_group(role: str) -> Group:
    group = Group.objects.get_or_create(name=f"role:{role}")[0]
    # Set every time, so roles granted before a release gain its new permissions.
    perms = _model_permissions(ROLE_MODEL_PERMISSIONS.get(role, {}))
    perms.append(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    group.permissions.set(perms)
    return group


def _unit_group(role: str, page: Page) -> Group:
    """One small group per (role, unit) holding that unit's page permissions:
    a secretary has a handful of page-permission rows, however big the tree."""
    group, created = Group.objects.get_or_create(name=f"unit:{role}:{page.pk}")
    if created:
        codenames = ROLE_PAGE_PERMISSIONS[role]
        for perm in Permission.objects.filter(
            content_type__app_label="wagtailcore", codename__in=codenames
        ):
            GroupPagePermission.objects.create(group=group, page=page, permission=perm)
    return group


def _admin_roles():
    return set(ROLE_MODEL_PERMISSIONS)


@transaction.atomic
def role_assign(*, user, role: str, page: Page | None = None, by=None) -> RoleAssignment:
    """Give ``user`` a role at a unit; idempotent."""
    if role == Role.DISTRICT_ADMIN and page is None:
        page = Page.objects.filter(depth=2).first()
    assignment, created = RoleAssignment.objects.get_or_create(user=user, role=role, page=page)
    if role in _admin_roles():
        user.groups.add(_role_group(role))
    if role in ROLE_PAGE_PERMISSIONS and page is not None:
        user.groups.add(_unit_group(role, page))
    if created:
        audit_record(
            actor=by,
            action=AuditEntry.Action.ROLE_GRANT,
            obj=assignment,
            detail=f"{user.username} {role} {page.pk if page else ''}",
        )
    return assignment


@transaction.atomic
def role_revoke(*, assignment: RoleAssignment, by=None) -> None:
    user, role, page = assignment.user, assignment.role, assignment.page
    audit_record(
        actor=by,
        action=AuditEntry.Action.ROLE_REVOKE,
        obj=assignment,
        detail=f"{user.username} {role} {page.pk if page else ''}",
    )
    assignment.delete()
    if page is not None and role in ROLE_PAGE_PERMISSIONS:
        user.groups.remove(*Group.objects.filter(name=f"unit:{role}:{page.pk}"))
    if not RoleAssignment.objects.filter(user=user, role=role).exists():
        user.groups.remove(*Group.objects.filter(name=f"role:{role}"))


# --- District notice board ---------------------------------------------------------
# Coordinators and secretaries may propose district-wide notices: they can add
# notices on the board (and edit their own, which is what Wagtail's add right
# gives) but not publish; the district approval workflow on the board sends
# every proposal to the district administrators.
BOARD_PROPOSERS = (Role.GRID_COORDINATOR, Role.BRANCH_SECRETARY)
DISTRICT_WORKFLOW = "区级审核 District approval"


def district_workflow() -> Workflow:
    workflow, created = Workflow.objects.get_or_create(name=DISTRICT_WORKFLOW)
    if created:
        task = GroupApprovalTask.objects.create(name="区级审核 District approval")
        task.groups.set([_role_group(Role.DISTRICT_ADMIN)])
        WorkflowTask.objects.create(workflow=workflow, task=task, sort_order=0)
    return workflow


@transaction.atomic
def notice_board_setup(*, board: Page) -> None:
    """Idempotent: the proposers' add right on the board and the workflow."""
    add = Permission.objects.get(content_type__app_label="wagtailcore", codename="add_page")
    for role in BOARD_PROPOSERS:
        GroupPagePermission.objects.get_or_create(
            group=_role_group(role), page=board, permission=add
        )
    WorkflowPage.objects.get_or_create(page=board, defaults={"workflow": district_workflow()})
