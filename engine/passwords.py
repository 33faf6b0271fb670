"""The password policy, checked wherever a password is set (registration, the admin pages,
``zhitongche user``, the change-password page).

A password is accepted when it is long enough — at least 12 characters, or a passphrase of at
least 4 words separated by spaces, or at least 8 Chinese characters — is not the user name
(nor contains it), is not in a small list of common passwords (also with digits or symbols
added before or after), and is not a few characters repeated nor a run such as ``abcdefghijkl``. At most 256 characters.
Demo users (``zhitongche run --demo``) are the one exception: their published password is
set without this check, on purpose.
"""

from __future__ import annotations

import re
import secrets
import string

from .errors import InvalidRequest

MIN_LENGTH = 12
MIN_WORDS = 4
MIN_CJK = 8
MAX_LENGTH = 256
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_RUNS = (
    "abcdefghijklmnopqrstuvwxyz",
    "01234567890123456789",
    "98765432109876543210",
    "qwertyuiopasdfghjklzxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm",
)  # runs on the alphabet, keyboard
_AFFIX = string.digits + string.punctuation + " "

# lower case; checked with digits and symbols stripped from both ends too
COMMON = frozenset(
    [
        "123456",
        "1234567",
        "12345678",
        "123456789",
        "1234567890",
        "12345678910",
        "123456789012",
        "1234567890123",
        "0123456789",
        "111111",
        "11111111",
        "111111111111",
        "000000",
        "00000000",
        "000000000000",
        "666666",
        "888888",
        "88888888",
        "123123",
        "123321",
        "654321",
        "987654321",
        "9876543210",
        "112233",
        "121212",
        "123abc",
        "abc123",
        "abcdef",
        "abcdefg",
        "abcdefgh",
        "abcd1234",
        "a1b2c3",
        "a1b2c3d4",
        "1q2w3e",
        "1q2w3e4r",
        "1q2w3e4r5t",
        "1q2w3e4r5t6y",
        "1qaz2wsx",
        "1qaz2wsx3edc",
        "1qazxsw2",
        "zaq12wsx",
        "qazwsx",
        "qazwsxedc",
        "qazwsxedcrfv",
        "qwerty",
        "qwertyui",
        "qwertyuiop",
        "qwertyuiopas",
        "qwerty123",
        "qwe123",
        "qweasd",
        "qweasdzxc",
        "asdfgh",
        "asdfghjk",
        "asdfghjkl",
        "zxcvbn",
        "zxcvbnm",
        "1234qwer",
        "qwer1234",
        "password",
        "passw0rd",
        "p@ssw0rd",
        "p@ssword",
        "password1",
        "password12",
        "password123",
        "password1234",
        "passwordpassword",
        "mypassword",
        "secret",
        "letmein",
        "welcome",
        "welcome1",
        "welcome123",
        "admin",
        "admin123",
        "admin1234",
        "administrator",
        "root",
        "toor",
        "changeme",
        "changeit",
        "default",
        "guest",
        "user",
        "test",
        "test123",
        "testing",
        "iloveyou",
        "loveyou",
        "sunshine",
        "princess",
        "dragon",
        "monkey",
        "football",
        "baseball",
        "superman",
        "batman",
        "master",
        "shadow",
        "trustno1",
        "hello",
        "hello123",
        "helloworld",
        "whatever",
        "starwars",
        "freedom",
        "woaini",
        "woaini1314",
        "woaini520",
        "5201314",
        "1314520",
        "520520",
        "woaiwojia",
        "aini1314",
        "iloveyou1314",
        "wodemima",
        "mima",
        "mima123",
        "mima1234",
        "zhang",
        "wang",
        "li",
        "liu",
        "chen",
        "yang",
        "huang",
        "zhao",
        "zhou",
        "wu",
        "123456abc",
        "abc123456",
        "zhitongche",
        "zhitongche123",
        "zhitongche2024",
        "zhitongche2025",
        "zhitongche2026",
        "chaoyang",
        "chaoyang123",
        "chaoyangshi",
        "shujishizhang",
        "shizhang",
        "shuji",
        "zhengfu",
        "gongzuozu",
        "zhengwu",
        "yingshang",
        "yingshangju",
        "qwertyuiopasdfghjkl",
        "1234567890qwerty",
        "correcthorsebatterystaple",
        "correct",
        "horse",
        "battery",
        "staple",
        "the",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "the",
        "lazy",
        "dog",
    ]
) | frozenset(
    {
        "correct horse battery staple",
        "the quick brown fox",
        "i love you",
        "let me in",
        "我爱你",
        "我爱你一生一世",
        "朝阳市直通车",
        "书记市长直通车",
        "书记市长直通车系统",
        "密码",
        "密码密码密码密码",
        "一二三四五六七八",
        "一二三四五六七八九十",
    }
)


def problem(password: str, username: str | None = None) -> str | None:
    """The code of the first rule ``password`` breaks, or None when it is acceptable:
    ``password_short``, ``password_long``, ``password_username``, ``password_common``."""
    password = password or ""
    if len(password) > MAX_LENGTH:
        return "password_long"
    words = [w for w in password.split() if len(w) >= 2]
    cjk = len(_CJK.findall(password))
    if len(password) < MIN_LENGTH and len(words) < MIN_WORDS and cjk < MIN_CJK:
        return "password_short"
    lowered = password.casefold()
    name = (username or "").strip().casefold()
    if len(name) >= 3 and (name in lowered or lowered in name or name[::-1] in lowered):
        return "password_username"
    squeezed = " ".join(lowered.split())
    candidates = {
        squeezed,
        squeezed.replace(" ", ""),
        squeezed.strip(_AFFIX),
        squeezed.lstrip(_AFFIX),
        squeezed.rstrip(_AFFIX),
    }
    if (
        candidates & COMMON
        or len(set(lowered.replace(" ", ""))) <= 3
        or any(c and c in run for c in candidates for run in _RUNS)
    ):
        return "password_common"
    return None


MESSAGES = {
    "password_short": f"password: at least {MIN_LENGTH} characters, or a passphrase of {MIN_WORDS} words "
    f"separated by spaces, or {MIN_CJK} Chinese characters",
    "password_long": f"password: at most {MAX_LENGTH} characters",
    "password_username": "password: must not contain the user name",
    "password_common": "password: too common, choose another",
}


def check(password: str, username: str | None = None, field: str = "password") -> None:
    """Raise InvalidRequest(field=``field``, code=…) when ``password`` breaks the policy."""
    code = problem(password, username)
    if code is not None:
        raise InvalidRequest(MESSAGES[code], field=field, code=code)


def generate() -> str:
    """A random password that meets the policy (about 120 bits), for new accounts and resets."""
    while True:
        candidate = secrets.token_urlsafe(15)
        if problem(candidate) is None:
            return candidate


__all__ = ["problem", "check", "generate", "MESSAGES", "MIN_LENGTH", "MIN_WORDS", "MIN_CJK", "MAX_LENGTH"]
