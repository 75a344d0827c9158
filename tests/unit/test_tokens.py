"""Signed links: tampering, wrong purpose and expiry are refused."""
from datetime import timedelta

import pytest

from connector.core.errors import TokenError
from connector.core.tokens import Tokens


def test_token_round_trips_until_it_expires(clock):
    tokens = Tokens("s" * 32)
    token = tokens.make("offer", 42, expires_at=clock.now() + timedelta(minutes=5), nonce="n1")
    assert tokens.read(token, "offer", now=clock.now()) == (42, "n1")
    with pytest.raises(TokenError, match="expired"):
        tokens.read(token, "offer", now=clock.now() + timedelta(minutes=5, seconds=1))


def test_tampered_or_foreign_tokens_are_refused(clock):
    tokens = Tokens("s" * 32)
    token = tokens.make("offer", 42, expires_at=clock.now() + timedelta(minutes=5))
    with pytest.raises(TokenError, match="not valid"):
        tokens.read(token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "offer", now=clock.now())
    with pytest.raises(TokenError, match="not valid here"):
        tokens.read(token, "feedback", now=clock.now())
    with pytest.raises(TokenError, match="not valid"):
        Tokens("t" * 32).read(token, "offer", now=clock.now())
