"""Service certificates (志愿服务证明) and the community registration slip
(在职党员到社区报到证): issuing, the PDFs, the member's download and the public
verification page its QR code opens."""

import datetime as dt
import re
import shutil
import subprocess

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from tests.factories import NOW, make_duty, make_user
from volunteers.certificates import certificate_issue, certificate_verify_url
from volunteers.models import (
    Certificate,
    CheckIn,
    CommunityRegistration,
    CreditEvent,
    ServiceLedger,
    Shift,
)
from volunteers.pdf import certificate_pdf
from volunteers.registration.pdf import registration_slip_pdf

YEAR = timezone.localtime(NOW).year
ADDRESS = "幸福里小区3号楼2单元501"

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdffonts") is None,
    reason="poppler-utils (pdftotext, pdffonts) is not installed: cannot read the PDF text",
)


def pdf_text(content: bytes, tmp_path) -> str:
    """The PDF's text with the whitespace pdftotext puts between cells and lines removed."""
    path = tmp_path / "doc.pdf"
    path.write_bytes(content)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True).stdout
    return re.sub(r"\s+", "", out.decode())


def credit(user, *, count=1, minutes=120, year=YEAR, title="楼道清理", tree):
    """``count`` credited check-ins for ``user`` and the ledger that sums them."""
    duty = make_duty(tree, title=title)
    shifts = Shift.objects.bulk_create(
        Shift(
            duty=duty,
            starts_at=NOW - dt.timedelta(hours=3 * (i + 1)),
            ends_at=NOW - dt.timedelta(hours=3 * (i + 1)) + dt.timedelta(minutes=minutes),
            capacity=5,
        )
        for i in range(count)
    )
    check_ins = CheckIn.objects.bulk_create(
        CheckIn(
            shift=shift,
            user=user,
            checked_in_at=shift.starts_at,
            checked_out_at=shift.ends_at,
            in_method=CheckIn.Method.QR,
            out_method=CheckIn.Method.QR,
        )
        for shift in shifts
    )
    CreditEvent.objects.bulk_create(
        CreditEvent(
            user=user,
            check_in=check_in,
            revision=0,
            kind=CreditEvent.Kind.CREDIT,
            year=year,
            minutes=minutes,
            points=2,
            services=1,
        )
        for check_in in check_ins
    )
    ledger, _ = ServiceLedger.objects.get_or_create(user=user, year=year)
    ledger.minutes += minutes * count
    ledger.shifts += count
    ledger.save()
    return check_ins


@pytest.fixture
def registration(tree, users):
    """赵敏 (home branch A) registered with branch B's community, approved."""
    return CommunityRegistration.objects.create(
        member=users.own_member,
        branch=tree.branch_b,
        employer="区财政局",
        address=ADDRESS,
        skills="法律咨询、政策宣讲",
        status=CommunityRegistration.Status.APPROVED,
        decided_by=users.secretary_b,
        decided_at=NOW,
    )


# --- issuing -----------------------------------------------------------------------------


def test_no_credited_service_is_refused_with_a_message(users):
    with pytest.raises(ValidationError, match="没有已记录的志愿服务"):
        certificate_issue(user=users.member, year=YEAR)
    assert not Certificate.objects.exists()


def test_a_reversed_year_is_refused(tree, users):
    (check_in,) = credit(users.member, tree=tree)
    CreditEvent.objects.create(
        user=users.member, check_in=check_in, revision=0, kind=CreditEvent.Kind.REVERSAL,
        year=YEAR, minutes=-120, points=-2, services=-1,
    )  # fmt: skip
    with pytest.raises(ValidationError):
        certificate_issue(user=users.member, year=YEAR)


def test_unchanged_totals_reuse_the_certificate(tree, users):
    credit(users.member, count=3, tree=tree)
    first = certificate_issue(user=users.member, year=YEAR)
    assert (first.name, first.minutes, first.shifts, first.hours) == ("赵敏", 360, 3, 6.0)
    assert certificate_issue(user=users.member, year=YEAR) == first
    assert Certificate.objects.count() == 1


def test_changed_totals_get_a_new_certificate(tree, users):
    credit(users.member, tree=tree)
    first = certificate_issue(user=users.member, year=YEAR)
    credit(users.member, minutes=90, tree=tree, title="敬老服务")
    second = certificate_issue(user=users.member, year=YEAR)
    assert second != first and second.code != first.code
    assert (second.minutes, second.shifts) == (210, 2)


def test_a_volunteer_without_a_member_record_is_named_by_account(tree):
    volunteer = make_user("lina", first_name="娜", last_name="李")
    credit(volunteer, tree=tree)
    assert certificate_issue(user=volunteer, year=YEAR).name


# --- the certificate PDF -----------------------------------------------------------------


@needs_poppler
def test_certificate_pdf_shows_name_hours_and_title_in_an_embedded_font(tree, users, tmp_path):
    credit(users.member, count=3, minutes=90, tree=tree)
    certificate = certificate_issue(user=users.member, year=YEAR)
    content = certificate_pdf(certificate, certificate_verify_url(certificate))
    assert content.startswith(b"%PDF")
    text = pdf_text(content, tmp_path)
    assert "志愿服务证明" in text
    assert "赵敏" in text
    assert f"{YEAR}年度在本区参加志愿服务3次，累计服务时长4.5小时" in text
    assert certificate.code in text
    assert "扫码核验真伪" in text
    assert "楼道清理" in text and "幸福里网格党支部" in text
    fonts = subprocess.run(
        ["pdffonts", str(tmp_path / "doc.pdf")], capture_output=True, check=True, text=True
    ).stdout
    rows = [row.split() for row in fonts.splitlines()[2:]]
    # One font, the shipped CJK one, and it is embedded (the "emb" column).
    assert rows and all("WenQuanYi" in row[0] and row[-5] == "yes" for row in rows), fonts


@needs_poppler
def test_certificate_with_300_services_runs_over_several_pages(tree, users, tmp_path):
    credit(users.member, count=300, minutes=60, tree=tree)
    certificate = certificate_issue(user=users.member, year=YEAR)
    content = certificate_pdf(certificate, certificate_verify_url(certificate))
    text = pdf_text(content, tmp_path)
    pages = re.findall(r"共(\d+)页", text)
    assert pages and int(pages[0]) >= 3
    assert "累计服务时长300.0小时" in text
    assert "以上列出前200项，等300项志愿服务" in text


@needs_poppler
def test_reversed_services_are_not_listed(tree, users, tmp_path):
    credit(users.member, tree=tree)
    (reversed_one,) = credit(users.member, tree=tree, title="撤销的服务")
    CreditEvent.objects.create(
        user=users.member,
        check_in=reversed_one,
        revision=0,
        kind=CreditEvent.Kind.REVERSAL,
        year=YEAR,
        minutes=-120,
        points=-2,
        services=-1,
    )
    ServiceLedger.objects.filter(user=users.member).update(minutes=120, shifts=1)
    certificate = certificate_issue(user=users.member, year=YEAR)
    text = pdf_text(certificate_pdf(certificate, certificate_verify_url(certificate)), tmp_path)
    assert "楼道清理" in text
    assert "撤销的服务" not in text


def test_verify_url_is_absolute_and_opens_the_verification_page(tree, users, client, settings):
    settings.PUBLIC_BASE_URL = "https://tongxin.example.cn/"
    credit(users.member, tree=tree)
    certificate = certificate_issue(user=users.member, year=YEAR)
    url = certificate_verify_url(certificate)
    assert url == f"https://tongxin.example.cn/verify/{certificate.code}/"
    response = client.get(url.removeprefix("https://tongxin.example.cn"))
    assert response.status_code == 200
    assert "证书真实有效" in response.content.decode()


# --- the registration slip ---------------------------------------------------------------


@needs_poppler
def test_slip_names_both_branches_and_masks_the_address(registration, tmp_path):
    content = registration_slip_pdf(registration)
    text = pdf_text(content, tmp_path)
    assert "在职党员到社区报到证" in text
    assert "赵敏" in text
    assert "幸福里网格党支部" in text  # home branch
    assert "光明路网格党支部" in text and "光明路三级网格" in text  # community and its grid
    assert "区财政局" in text and "法律咨询" in text
    assert "幸福里小区****" in text
    assert "3号楼2单元501" not in text
    assert f"BD-{YEAR}-{registration.pk:06d}" in text
    assert "社区党组织（盖章）" in text
    assert re.findall(r"共(\d+)页", text) == ["1"]


# --- the download ------------------------------------------------------------------------


def test_download_needs_an_account(client):
    response = client.get(reverse("volunteer_certificate", args=[YEAR]))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_member_downloads_their_certificate(tree, users, client):
    credit(users.member, count=2, tree=tree)
    credit(users.volunteer, count=5, tree=tree, title="他人的服务")
    client.force_login(users.member)
    response = client.get(reverse("volunteer_certificate", args=[YEAR]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="certificate-{YEAR}.pdf"'
    assert response.content.startswith(b"%PDF")
    certificate = Certificate.objects.get()
    assert (certificate.user, certificate.shifts) == (users.member, 2)


def test_download_for_a_year_without_service_goes_back_with_a_message(users, client):
    client.force_login(users.member)
    response = client.get(reverse("volunteer_certificate", args=[YEAR - 3]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("my_service")
    assert "暂不能开具志愿服务证明" in response.content.decode()
    assert not Certificate.objects.exists()


# --- the public verification page --------------------------------------------------------


def test_verify_page_shows_the_masked_name_and_totals_only(tree, users, client):
    credit(users.member, count=3, minutes=90, tree=tree)
    certificate = certificate_issue(user=users.member, year=YEAR)
    response = client.get(reverse("certificate_verify", args=[certificate.code]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "证书真实有效" in page
    assert "赵*" in page and "赵敏" not in page
    assert "4.5 小时" in page and "3 次" in page and str(YEAR) in page
    assert "幸福里" not in page and "楼道清理" not in page
    assert "已被替代" not in page


def test_forged_code_is_not_found(client, db):
    response = client.get(reverse("certificate_verify", args=["forged-code-123"]))
    assert response.status_code == 404
    assert "未找到该证书" in response.content.decode()


def test_superseded_certificate_says_so(tree, users, client):
    credit(users.member, tree=tree)
    old = certificate_issue(user=users.member, year=YEAR)
    credit(users.member, tree=tree, title="敬老服务")
    new = certificate_issue(user=users.member, year=YEAR)
    old_page = client.get(reverse("certificate_verify", args=[old.code])).content.decode()
    assert "证书真实有效" in old_page and "已被替代" in old_page
    new_page = client.get(reverse("certificate_verify", args=[new.code])).content.decode()
    assert "已被替代" not in new_page


def test_verify_page_query_budget(tree, users, client, django_assert_max_num_queries):
    credit(users.member, tree=tree)
    certificate = certificate_issue(user=users.member, year=YEAR)
    with django_assert_max_num_queries(3):
        assert client.get(reverse("certificate_verify", args=[certificate.code])).status_code == 200


@needs_poppler
@pytest.mark.parametrize(
    "language,footer", [("en", ("Page1of1", "made")), ("zh-hans", ("第1页/共1页", "生成于"))]
)
def test_the_page_footer_speaks_the_documents_language(tree, users, tmp_path, language, footer):
    credit(users.member, count=1, tree=tree)
    certificate = certificate_issue(user=users.member, year=YEAR)
    with translation.override(language):
        text = pdf_text(certificate_pdf(certificate, certificate_verify_url(certificate)), tmp_path)
    assert all(part in text for part in footer), text
    other = ("第1页", "生成于") if language == "en" else ("Page1of", "made")
    assert not any(part in text for part in other), text
