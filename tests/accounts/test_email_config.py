"""How password reset mail is sent, read from the environment (config.email)."""

from __future__ import annotations

import pytest

from voicescount import config
from voicescount.config import ConfigurationError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    monkeypatch.delenv(config.ENV_EMAIL_URL, raising=False)
    monkeypatch.delenv(config.ENV_EMAIL_FROM, raising=False)


def test_development_prints_mail_on_the_console():
    email = config.email(production=False)
    assert email.backend == config.EMAIL_BACKENDS["console"] and email.can_send


def test_production_without_a_mail_server_sends_nothing_and_says_so():
    email = config.email(production=True)
    assert email.backend == config.EMAIL_BACKENDS["dummy"] and not email.can_send


def test_an_smtp_url_with_starttls(monkeypatch):
    monkeypatch.setenv(config.ENV_EMAIL_URL, "smtp+tls://mailer%40example.org:p%3Ass@mail.example.org:587")
    monkeypatch.setenv(config.ENV_EMAIL_FROM, "VoicesCount <noreply@example.org>")
    email = config.email(production=True)
    assert email.backend == config.EMAIL_BACKENDS["smtp"] and email.can_send
    assert (email.host, email.port, email.username, email.password) == (
        "mail.example.org",
        587,
        "mailer@example.org",
        "p:ss",
    )
    assert email.use_tls and not email.use_ssl and email.sender == "VoicesCount <noreply@example.org>"


@pytest.mark.parametrize(
    ("url", "port", "tls", "ssl"), [("smtp+ssl://h", 465, False, True), ("smtp://h", 25, False, False)]
)
def test_default_ports_and_encryption(monkeypatch, url, port, tls, ssl):
    monkeypatch.setenv(config.ENV_EMAIL_URL, url)
    email = config.email(production=False)
    assert (email.port, email.use_tls, email.use_ssl) == (port, tls, ssl)


def test_console_can_be_chosen_in_production(monkeypatch):
    monkeypatch.setenv(config.ENV_EMAIL_URL, "console:")
    assert config.email(production=True).backend == config.EMAIL_BACKENDS["console"]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mail.example.org", "must start with smtp"),
        ("imap://mail.example.org", "must start with smtp"),
        ("smtp+tls://", "names no mail server"),
        ("smtp+tls://mail.example.org:port", "port that is not a number"),
    ],
)
def test_a_wrong_url_says_what_is_expected(monkeypatch, url, says):
    monkeypatch.setenv(config.ENV_EMAIL_URL, url)
    with pytest.raises(ConfigurationError, match=says):
        config.email(production=False)


def test_production_smtp_needs_a_sender(monkeypatch):
    monkeypatch.setenv(config.ENV_EMAIL_URL, "smtp+tls://mail.example.org")
    with pytest.raises(ConfigurationError, match=config.ENV_EMAIL_FROM):
        config.email(production=True)
