"""Login names and new accounts (pure): one key per name however it is typed, invisible
characters refused, what no account may be refused by field."""

from __future__ import annotations

import pytest

from yidi_events.kernel import Conflict, DomainError
from yidi_filing.domain.accounts import (
    Account,
    NewUser,
    check_new_user,
    decide_register,
    username_key,
)


@pytest.mark.parametrize(
    "typed",
    ["alice", "Alice", "ALICE", " alice", "alice ", "ａｌｉｃｅ", "ＡＬＩＣＥ", "\talice\n"],
)
def test_every_spelling_of_a_name_has_one_key(typed: str) -> None:
    assert username_key(typed) == "alice"


@pytest.mark.parametrize(
    "hidden",
    [
        "ali\u200bce",  # zero-width space
        "alice\u200d",  # zero-width joiner
        "\ufeffalice",  # byte-order mark
        "ali\u00adce",  # soft hyphen
        "ali\u2060ce",  # word joiner
        "ali ce",  # inner space
        "ali\u3000ce",  # ideographic space
        "ali\x00ce",
    ],
)
def test_a_name_with_an_invisible_or_space_character_is_refused(hidden: str) -> None:
    with pytest.raises(DomainError) as refused:
        username_key(hidden)
    assert (refused.value.rule, refused.value.field) == ("identity.username", "username")


@pytest.mark.parametrize("bad", ["a", "", ".alice", "a" * 65, "alice!", "张三"])
def test_a_name_outside_the_alphabet_or_length_is_refused(bad: str) -> None:
    with pytest.raises(DomainError, match="2 to 64"):
        username_key(bad)


CENTRE = "320000"  # the sandbox province file's provincial centre


def _user(**changes: object) -> NewUser:
    base: dict[str, object] = {
        "username": "nj.clerk",
        "display_name": "窗口",
        "region": "320100",
        "kind": "agency",
        "roles": ("clerk",),
        "password": "twelve-chars",
    }
    return NewUser(**{**base, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "person"}, "kind"),
        ({"kind": "service"}, "roles"),  # a service account holds service roles only
        ({"roles": ("his",)}, "roles"),  # and no agency user holds one
        ({"region": "32010"}, "region"),
        ({"kind": "centre", "region": "320100"}, "region"),
        ({"roles": ()}, "roles"),
        ({"roles": ("root",)}, "roles"),
        ({"password": "eleven-char"}, "password"),
    ],
)
def test_what_no_account_may_be_is_refused_by_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(DomainError) as refused:
        check_new_user(_user(**changes), CENTRE)
    assert refused.value.field == field


def test_centre_users_are_of_the_province_file_s_centre() -> None:
    centre = _user(kind="centre", region="330000", roles=("operator",))
    assert check_new_user(centre, "330000") == "nj.clerk"  # Zhejiang's centre, say
    with pytest.raises(DomainError, match="region 320000") as refused:
        check_new_user(centre, "320000")
    assert (refused.value.rule, refused.value.field) == ("identity.region", "region")


def test_an_account_is_opened_once_and_the_event_holds_no_password() -> None:
    user = _user(username="NJ.Clerk", roles=("clerk", "clerk"))
    key = check_new_user(user, CENTRE)
    [opened] = decide_register(Account(), user, key=key, user_id="U1", registered_by="U0")
    assert (opened.username, opened.roles, opened.registered_by) == ("nj.clerk", ("clerk",), "U0")
    assert "twelve-chars" not in repr(opened)
    with pytest.raises(Conflict):
        decide_register(Account("U1"), user, key=key, user_id="U2", registered_by="U0")
