"""Granting and revoking roles: page rights follow the role's unit."""

from wagtail.models import GroupPagePermission

from portal.models import AuditEntry, RoleAssignment
from tests.factories import activate_totp


def test_district_admin_grants_a_secretary_role_that_opens_the_branch(client, tree, users):
    client.force_login(users.district)
    response = client.post(
        "/admin/roles/new/",
        {"user": users.volunteer.pk, "role": "branch_secretary", "page": tree.branch_b.pk},
    )
    assert response.status_code == 302
    assert GroupPagePermission.objects.filter(
        group__user=users.volunteer, page=tree.branch_b
    ).exists()
    activate_totp(users.volunteer)
    client.force_login(users.volunteer)
    assert client.get(f"/admin/pages/{tree.branch_b.pk}/edit/").status_code == 200
    assert client.get(f"/admin/pages/{tree.branch_a.pk}/edit/").status_code == 302


def test_a_role_on_the_wrong_kind_of_unit_is_refused(client, tree, users):
    client.force_login(users.district)
    response = client.post(
        "/admin/roles/new/",
        {"user": users.volunteer.pk, "role": "branch_secretary", "page": tree.grid2.pk},
    )
    assert response.status_code == 200
    assert not RoleAssignment.objects.filter(user=users.volunteer, role="branch_secretary").exists()


def test_revoking_a_role_removes_its_page_rights_and_is_audited(client, tree, users):
    assignment = RoleAssignment.objects.get(user=users.secretary, role="branch_secretary")
    client.force_login(users.district)
    response = client.post(f"/admin/roles/delete/{assignment.pk}/")
    assert response.status_code == 302
    assert not GroupPagePermission.objects.filter(group__user=users.secretary).exists()
    assert AuditEntry.objects.filter(action=AuditEntry.Action.ROLE_REVOKE).exists()
    client.force_login(users.secretary)
    assert client.get(f"/admin/pages/{tree.branch_a.pk}/edit/").status_code == 302


def test_every_app_registers_who_sees_its_records():
    """One entry point answers "who may see this record" for every app's records:
    portal.roles.visible_to, with each app's rules from its visibility.py."""
    from portal.roles import VISIBILITY

    assert {
        "branches.member",
        "branches.meeting",
        "volunteers.servicerequest",
        "volunteers.communityregistration",
        "alliance.partner",
        "alliance.need",
        "alliance.project",
        "alliance.jointmeeting",
    } <= set(VISIBILITY)
