"""Fixtures of the voices tests: the demo's accounts and study, and a source with a Vietnamese transcript."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.utils import translation

from voicescount.accounts.demo import create_demo_accounts
from voicescount.accounts.models import Organisation
from voicescount.collection.packages_load import load_study
from voicescount.demo import load as demo_load
from voicescount.voices import services

TRANSCRIPT = (
    "Thảo luận nhóm phụ nữ, xã miền núi.\n"
    "Chị Nguyễn Thị Lan, 45 tuổi, ở thôn Đồng Tâm kể: năm ngoái con gái tôi phải nghỉ học vì nhà xa trường.\n"
    "Muốn hỏi thêm thì gọi chị ấy số 0912 345 678.\n"
    "Nhiều chị em nói trạm y tế chỉ mở buổi sáng, người cao tuổi phải đi bộ hai tiếng.\n"
)


@pytest.fixture(autouse=True)
def _english():
    """Messages are checked in English (the site's default language is Vietnamese)."""
    with translation.override("en"):
        yield


@pytest.fixture
def users(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    create_demo_accounts()
    return {u.username: u for u in get_user_model().objects.all()}


@pytest.fixture
def study(users):
    organisation = Organisation.objects.get(slug=demo_load.ORGANISATION)
    return load_study(demo_load.PACKAGE, organisation=organisation).study


@pytest.fixture
def source(study, users):
    return services.create_source(
        users["analyst"],
        study,
        title="FGD women 1",
        method="focus_group",
        held_on=dt.date(2026, 5, 4),
        language="vi",
        text=TRANSCRIPT,
        default_consent="verbatim",
        participant_groups={"WOMEN": 8, "EM": 5},
        facilitator="Youth union staff",
    )


def span(text: str, words: str) -> tuple[int, int]:
    """Offsets of ``words`` in ``text``."""
    start = text.index(words)
    return start, start + len(words)
