import pytest

from summarizer.pii import find, redact


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Mail ana.lee@example.org now.", [("email", "ana.lee@example.org")]),
        ("Call +44 20 7946 0958 today.", [("phone", "+44 20 7946 0958")]),
        ("Call (0161) 496 0000.", [("phone", "(0161) 496 0000")]),
        ("Card 4111 1111 1111 1111 was used.", [("card", "4111 1111 1111 1111")]),
        ("SSN 078-05-1120 on file.", [("ssn", "078-05-1120")]),
        ("Pay to GB82 WEST 1234 5698 7654 32.", [("iban", "GB82 WEST 1234 5698 7654 32")]),
        ("She lives at 221 Baker Street now.", [("address", "221 Baker Street")]),
    ],
)
def test_finds_personal_data(text, expected):
    assert find(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "In 2019 2020 and 2021 prices rose.",
        "It happened on 12.05.2020 at noon.",
        "The firm paid 3,500,000 crowns to 12 people.",
        "Order 4111 1111 1111 1112 is not a valid card number.",
        "Chapter 12 begins on page 345.",
    ],
)
def test_ordinary_numbers_are_not_personal_data(text):
    assert find(text) == []


def test_redact_compares_numbers_by_digits():
    source = "The office number is 0161-496-0000."
    assert redact("Call 0161 496 0000.", source) == ("Call 0161 496 0000.", [])
    assert redact("Call 0161 496 0001.", source) == ("Call [phone].", ["phone"])
    assert redact("Call 0161 496 0000.", source, redact_all=True) == ("Call [phone].", ["phone"])
