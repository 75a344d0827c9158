"""Each normaliser: what it accepts, what it returns, and the problem it names otherwise."""
from __future__ import annotations

import pytest

from connector.flows import normalize as norm


@pytest.mark.parametrize("raw,expected", [
    ("Ada.Lovelace@Example.COM", "ada.lovelace@example.com"),
    ("  bob@acme.io ", "bob@acme.io"),
])
def test_email_is_validated_and_lower_cased(raw, expected):
    assert norm.email(raw) == expected


@pytest.mark.parametrize("raw", ["bob@", "no-at-sign", "two@@signs.com", ""])
def test_bad_email_is_a_problem(raw):
    with pytest.raises(ValueError):
        norm.email(raw)


@pytest.mark.parametrize("raw,country,expected", [
    ("(415) 555-0132", "US", "+14155550132"),
    ("+44 20 7946 0958", None, "+442079460958"),
    ("089 1234567", "DE", "+49891234567"),
    ("+1 415 555 0132", "DE", "+14155550132"),  # an explicit + wins over the default country
])
def test_phone_becomes_e164(raw, country, expected):
    assert norm.phone(raw, country) == expected


@pytest.mark.parametrize("raw,country", [("12", "US"), ("call me", "US"), ("415 555 0132", None)])
def test_bad_phone_is_a_problem(raw, country):
    with pytest.raises(ValueError, match="phone"):
        norm.phone(raw, country)


@pytest.mark.parametrize("raw,expected", [
    ("DE", "DE"), ("deu", "DE"), ("Germany", "DE"), ("United States", "US"), ("USA", "US"), ("UK", "GB"),
    ("Côte d'Ivoire", "CI"),
])
def test_country_accepts_names_and_codes(raw, expected):
    assert norm.country(raw) == expected


def test_unknown_country_is_a_problem():
    with pytest.raises(ValueError, match="not a known country"):
        norm.country("Atlantis")


@pytest.mark.parametrize("raw,country,expected", [
    ("US-CA", None, "US-CA"), ("CA", "US", "US-CA"), ("California", "US", "US-CA"),
    ("Bayern", "DE", "DE-BY"), ("BY", "DE", "DE-BY"), ("ON", "CA", "CA-ON"),
])
def test_subdivision_becomes_iso_3166_2(raw, country, expected):
    assert norm.subdivision(raw, country) == expected


def test_unknown_subdivision_is_a_problem():
    with pytest.raises(ValueError, match="not a region of US"):
        norm.subdivision("Narnia", "US")


@pytest.mark.parametrize("raw,expected", [
    ("https://www.Acme.com/contact?x=1", "acme.com"), ("acme.co.uk", "acme.co.uk"),
    ("jane@sales.acme.com", "sales.acme.com"), ("http://acme.com:8080", "acme.com"),
])
def test_domain_from_url_website_or_email(raw, expected):
    assert norm.domain(raw) == expected


def test_free_mail_is_nobodys_company_domain():
    assert norm.company_domain("jane@gmail.com") is None
    assert norm.company_domain("jane@acme.com") == "acme.com"
    with pytest.raises(ValueError):
        norm.domain("not a website")


@pytest.mark.parametrize("raw,expected", [
    ("Acme, Inc.", "acme"), ("ACME Corporation", "acme"), ("Umbrella GmbH", "umbrella"),
    ("The Widget Co. Ltd", "widget"), ("Société Générale S.A.", "societe generale"), ("AT&T", "at and t"),
])
def test_company_key_strips_case_punctuation_and_legal_suffixes(raw, expected):
    assert norm.company_key(raw) == expected


@pytest.mark.parametrize("raw,expected", [("ada", "Ada"), ("LOVELACE", "Lovelace"), ("McDonald", "McDonald"),
                                          ("o'neil", "O'Neil")])
def test_title_case_only_for_single_case_names(raw, expected):
    assert norm.title(raw) == expected
