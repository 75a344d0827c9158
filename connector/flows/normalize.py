"""Field normalisers: e-mail, E.164 phone, ISO country/subdivision, company domain and key, names.

Each takes a raw value and returns the canonical one, or raises ValueError with a short problem
that the mapper reports against the field. Lookups that are pure functions of their input are cached.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email

FREE_MAIL = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "ymail.com",
    "outlook.com", "hotmail.com", "hotmail.co.uk", "hotmail.fr", "live.com", "msn.com", "aol.com",
    "icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com", "gmx.de", "gmx.net", "gmx.com",
    "web.de", "mail.com", "zoho.com", "yandex.com", "yandex.ru", "mail.ru", "qq.com", "163.com",
    "126.com", "naver.com", "fastmail.com", "hey.com", "t-online.de", "orange.fr", "free.fr",
})

LEGAL_SUFFIXES = frozenset({
    "inc", "incorporated", "llc", "llp", "lp", "ltd", "limited", "corp", "corporation", "co", "company",
    "gmbh", "ag", "kg", "plc", "sa", "sas", "sarl", "srl", "spa", "bv", "nv", "oy", "ab", "as", "aps",
    "pty", "pte", "kk", "se", "oyj", "group", "holdings",
})

COUNTRY_ALIASES = {"uk": "GB", "usa": "US", "u.s.": "US", "u.s.a.": "US", "united states of america": "US",
                   "england": "GB", "scotland": "GB", "wales": "GB", "great britain": "GB", "holland": "NL",
                   "south korea": "KR", "korea": "KR", "russia": "RU", "uae": "AE"}

_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)
_SPACES = re.compile(r"\s+")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@lru_cache(maxsize=65536)
def email(value: str) -> str:
    """A syntactically valid address, lower-cased (no DNS look-ups)."""
    text = str(value).strip()
    if not text:
        raise ValueError("is empty")
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"is not a valid e-mail address ({exc})") from None
    return result.normalized.lower()


@lru_cache(maxsize=65536)
def phone(value: str, default_country: str | None = None) -> str:
    """E.164 (+14155550123); numbers without a + are read in `default_country`."""
    text = str(value).strip()
    if not text:
        raise ValueError("is empty")
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else (default_country or None))
    except phonenumbers.NumberParseException:
        hint = "" if default_country or text.startswith("+") else " (no country code and no default_country)"
        raise ValueError(f"is not a phone number{hint}") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=4096)
def country(value: str) -> str:
    """ISO 3166-1 alpha-2 code from a code (alpha-2/alpha-3) or an English name."""
    text = str(value).strip()
    if not text:
        raise ValueError("is empty")
    alias = COUNTRY_ALIASES.get(text.lower())
    if alias:
        return alias
    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        raise ValueError(f"{text!r} is not a known country") from None


@lru_cache(maxsize=256)
def _subdivisions(alpha2: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for sub in pycountry.subdivisions.get(country_code=alpha2) or ():
        table[sub.code.lower()] = sub.code
        table[sub.code.split("-", 1)[1].lower()] = sub.code
        table[sub.name.lower()] = sub.code
        table[_fold(sub.name)] = sub.code
    return table


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


@lru_cache(maxsize=16384)
def subdivision(value: str, country_code: str | None = None) -> str:
    """ISO 3166-2 code ('US-CA') from 'US-CA', 'CA' or 'California' (the latter two need the country)."""
    text = str(value).strip()
    if not text:
        raise ValueError("is empty")
    if "-" in text and len(text) <= 6:
        code_country = text.split("-", 1)[0].upper()
        found = _subdivisions(code_country).get(text.lower()) if len(code_country) == 2 else None
        if found:
            return found
    if not country_code:
        raise ValueError(f"{text!r} needs a country to be read as a region")
    table = _subdivisions(country_code.upper())
    found = table.get(text.lower()) or table.get(_fold(text))
    if not found:
        raise ValueError(f"{text!r} is not a region of {country_code}")
    return found


@lru_cache(maxsize=65536)
def domain(value: str) -> str:
    """The host of a URL, website or e-mail address: lower-case, no scheme, 'www.', port or path."""
    text = str(value).strip().lower()
    if "@" in text and "/" not in text:
        text = text.rsplit("@", 1)[1]
    text = _SCHEME.sub("", text)
    text = text.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0].strip(".")
    if text.startswith("www."):
        text = text[4:]
    if not _HOST.match(text):
        raise ValueError(f"{value!r} has no usable domain")
    return text


def company_domain(value: str) -> str | None:
    """Like `domain`, but None for free-mail providers (gmail.com is nobody's company)."""
    host = domain(value)
    return None if host in FREE_MAIL else host


@lru_cache(maxsize=65536)
def company_key(name: str) -> str:
    """Company name for matching: lower-case, accents and punctuation removed, legal suffixes dropped."""
    words = _SPACES.sub(" ", _PUNCT.sub(" ", _fold(str(name)).replace(".", "").replace("&", " and "))).split()
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    if len(words) > 1 and words[0] == "the":
        words.pop(0)
    return " ".join(words)


def title(value: str) -> str:
    """Title-case names typed all in lower or upper case; leave mixed case (McDonald, DeVries) alone."""
    text = _SPACES.sub(" ", str(value).strip())
    if text.islower() or text.isupper():
        return text.title()
    return text


NORMALISERS = ("email", "phone", "country", "subdivision", "domain", "company_domain", "title",
               "lower", "upper", "strip", "events")
