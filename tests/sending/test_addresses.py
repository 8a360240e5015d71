"""postmark_admin.sending.addresses: the regex fast path must read every address exactly as getaddresses() does."""

from __future__ import annotations

import random
from email.utils import getaddresses

import pytest

from postmark_admin.exceptions import PostmarkInvalidMessage
from postmark_admin.sending.addresses import (
    _SIMPLE,
    ParsedAddress,
    count_mailboxes,
    join_addresses,
    parse_addresses,
    split_mailboxes,
)

CASES = [
    # (text, taken by the fast path)
    ("a@example.com", True),
    ("<a@example.com>", True),
    ("Customer 1 <c1@example.com>", True),
    ("Customer 1<c1@example.com>", True),
    (" Customer 1  <c1@example.com> ", True),
    ("\tAnn\t<ann@example.com>\t", True),
    ("a.b+c_d%e@sub-1.example.co.uk", True),
    ("x@localhost", True),
    ("A  B <a@example.com>", False),
    ("a@example.com>", False),
    ("<a@example.com", False),
    ("J. Smith <j@example.com>", False),
    ('"Doe, Jane" <jane@example.com>', False),
    ("a@example.com, b@example.com", False),
    ("Ann (work) <ann@example.com>", False),
    ("Jürgen <j@example.com>", False),
    ("user@bücher.example", False),
    ("Bob <<a@example.com>>", False),
    ("a@b@c", False),
    ("no-at-sign", False),
    ("A <a@example.com> trailing", False),
]


@pytest.mark.parametrize(("text", "fast"), CASES)
def test_split_mailboxes_agrees_with_getaddresses(text, fast):
    assert split_mailboxes(text) == getaddresses([text])
    assert (_SIMPLE.fullmatch(text) is not None) is fast


def test_split_mailboxes_agrees_on_generated_strings():
    # Strings made of the pieces that decide the parse; thousands of them take the fast path.
    pieces = [
        "a",
        "Z9",
        " ",
        "  ",
        "\t",
        ".",
        "@",
        "<",
        ">",
        "-",
        "_",
        "+",
        "%",
        "b.c",
        "@ex.am",
        "Bo b ",
        "<q@r.s>",
    ]
    generator = random.Random(2)
    fast = 0
    for _ in range(30_000):
        text = "".join(generator.choice(pieces) for _ in range(generator.randint(1, 7)))
        fast += _SIMPLE.fullmatch(text) is not None
        assert split_mailboxes(text) == getaddresses([text]), text
    assert fast > 500


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["Ann <ann@example.com>"], [ParsedAddress("Ann", "ann@example.com")]),
        (
            ["a@example.com, B <b@example.com>", ""],
            [ParsedAddress("", "a@example.com"), ParsedAddress("B", "b@example.com")],
        ),
        (["  "], []),
    ],
)
def test_parse_addresses(values, expected):
    assert parse_addresses(values, "To") == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("a@example.com\nBcc: x@example.com", "line breaks"),
        ("no-at-sign", "Invalid To address"),
        ("jürgen@example.com", "only ASCII"),
    ],
)
def test_parse_addresses_refuses(text, words):
    with pytest.raises(PostmarkInvalidMessage, match=words):
        parse_addresses([text], "To")


@pytest.mark.parametrize(
    ("address", "formatted"),
    [
        (ParsedAddress("", "a@example.com"), "a@example.com"),
        (ParsedAddress("Ann", "a@example.com"), "Ann <a@example.com>"),
        (ParsedAddress("Doe, Jane", "j@example.com"), '"Doe, Jane" <j@example.com>'),
        (ParsedAddress('Say "hi"', "q@example.com"), '"Say \\"hi\\"" <q@example.com>'),
        (ParsedAddress("", "u@bücher.example"), "u@xn--bcher-kva.example"),
    ],
)
def test_format(address, formatted):
    assert address.format() == formatted


def test_join_and_count():
    joined = join_addresses([ParsedAddress("A", "a@example.com"), ParsedAddress("", "b@example.com")])
    assert joined == "A <a@example.com>, b@example.com"
    assert count_mailboxes(joined) == 2


def test_memoized_parse_refuses_every_time_with_the_field_asked_for():
    # Refusals are not memoized: the second call names its own field.
    with pytest.raises(PostmarkInvalidMessage, match="Invalid To address"):
        parse_addresses(["no-at-sign"], "To")
    with pytest.raises(PostmarkInvalidMessage, match="Invalid Cc address"):
        parse_addresses(["no-at-sign"], "Cc")


def test_memoized_parse_returns_equal_results_and_a_fresh_list():
    first = parse_addresses(["Ann <a@example.com>"], "From")
    first.append(ParsedAddress("", "extra@example.com"))
    assert parse_addresses(["Ann <a@example.com>"], "From") == [ParsedAddress("Ann", "a@example.com")]
