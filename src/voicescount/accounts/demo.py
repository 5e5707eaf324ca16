"""Demo organisations and users for ``voicescount demo`` (clearly fictitious; never for production)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from voicescount.accounts.models import Coalition, Membership, Organisation, Role

DEMO_PASSWORD = "voicescount-demo"

DEMO_COALITION = {
    "slug": "vn-demo-coalition",
    "name": "Liên minh các tổ chức xã hội vì SDG (demo)",
    "name_en": "CSO coalition for the SDGs (demo)",
    "country_code": "VN",
}
DEMO_ORGANISATIONS = [
    (
        "community-dev-centre",
        "Trung tâm Phát triển Cộng đồng (demo)",
        "Community Development Centre (demo)",
        "cso",
    ),
    ("youth-network", "Mạng lưới Thanh niên vì SDG (demo)", "Youth Network for the SDGs (demo)", "cso"),
    ("statistics-office", "Cơ quan Thống kê (demo)", "Statistics Office (demo)", "nso"),
]
# username, organisation slug, role, superuser
DEMO_USERS = [
    ("admin", "community-dev-centre", Role.COALITION_ADMIN, True),
    ("coordinator", "community-dev-centre", Role.COORDINATOR, False),
    ("analyst", "community-dev-centre", Role.ANALYST, False),
    ("enumerator", "community-dev-centre", Role.ENUMERATOR, False),
    ("youth-coordinator", "youth-network", Role.COORDINATOR, False),
    ("nso-reviewer", "community-dev-centre", Role.NSO_REVIEWER, False),
]


DEMO_EMAIL_DOMAIN = "example.org"  # reserved for examples (RFC 2606): no mail ever reaches anyone


def demo_email(username: str) -> str:
    """The demo user's e-mail address, at a domain that can receive no mail."""
    return f"{username}@{DEMO_EMAIL_DOMAIN}"


@dataclass(frozen=True)
class DemoUser:
    username: str
    role_label: str
    organisation_name: str


@transaction.atomic
def create_demo_accounts() -> list[DemoUser]:
    """Create (or refresh) the demo coalition, organisations and users. Idempotent."""
    coalition, _ = Coalition.objects.update_or_create(slug=DEMO_COALITION["slug"], defaults=DEMO_COALITION)
    orgs = {}
    for slug, name, name_en, kind in DEMO_ORGANISATIONS:
        orgs[slug], _ = Organisation.objects.update_or_create(
            slug=slug, defaults={"name": name, "name_en": name_en, "kind": kind, "coalition": coalition}
        )
    User = get_user_model()
    created = []
    for username, org_slug, role, superuser in DEMO_USERS:
        user, _ = User.objects.get_or_create(username=username)
        user.email = demo_email(username)  # lets the password reset be tried (the mail goes to the console)
        user.is_staff = superuser
        user.is_superuser = superuser
        user.set_password(DEMO_PASSWORD)
        user.save()
        Membership.objects.get_or_create(user=user, organisation=orgs[org_slug], role=role)
        created.append(DemoUser(username, Role(role).label, orgs[org_slug].name_en))
    return created
