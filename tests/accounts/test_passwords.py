"""The password policy: 12 characters or a passphrase, not the user name, not a common password."""

from __future__ import annotations

import pytest

from engine import passwords
from engine.errors import InvalidRequest


@pytest.mark.parametrize(
    "password",
    [
        "tall pines by the river",  # a passphrase
        "red fox tea cup",  # four short words
        "我们一起去看海的那边",  # eight Chinese characters or more
        "Tr0ub4dor&3xyz",
        "x7#Lq9!mV2@p",  # twelve characters
    ],
)
def test_good_passwords_are_accepted(password):
    assert passwords.problem(password, "wg.city") is None
    passwords.check(password, "wg.city")


@pytest.mark.parametrize(
    "password, code",
    [
        ("", "password_short"),
        ("zhitongche", "password_short"),  # the demo password
        ("Short1!", "password_short"),
        ("red fox tea", "password_short"),  # three words are not a passphrase
        ("朝阳直通车", "password_short"),
        ("wg.city-2026-spring", "password_username"),
        ("WG.CITY.forever!", "password_username"),
        ("ytic.gw-reversed!", "password_username"),
        ("password1234", "password_common"),
        ("Password!2024", "password_common"),
        ("zhitongche2026!", "password_common"),
        ("123456789012", "password_common"),
        ("qwertyuiopas", "password_common"),
        ("abcdefghijklm", "password_common"),
        ("aaaaaaaaaaaaaaaa", "password_common"),
        ("abababababababab", "password_common"),
        ("woaini1314!!!!!!", "password_common"),
        ("correct horse battery staple", "password_common"),
        ("x" * 257, "password_long"),
    ],
)
def test_bad_passwords_are_refused_with_their_reason(password, code):
    assert passwords.problem(password, "wg.city") == code
    with pytest.raises(InvalidRequest) as caught:
        passwords.check(password, "wg.city", field="new")
    assert caught.value.details == {"field": "new", "code": code}


def test_generated_passwords_meet_the_policy_and_differ():
    made = {passwords.generate() for _ in range(20)}
    assert len(made) == 20 and all(passwords.problem(p) is None and len(p) >= 20 for p in made)
