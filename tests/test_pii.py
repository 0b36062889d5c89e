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


# Chinese personal data: mainland mobile numbers, resident ID card numbers, data written
# against Chinese characters without spaces.

def check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2, computed here for the test (not the module's own function)."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]  # 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, ...
    value = (12 - sum(int(d) * w for d, w in zip(first17, weights)) % 11) % 11
    return "X" if value == 10 else str(value)


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


# A made-up number: area 110105, born 1990-03-07, sequence 123 (not a real person's).
ID_17 = "11010519900307123"
ID_NUMBER = ID_17 + check_character(ID_17)


@pytest.mark.parametrize("number", [
    "13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678", "+86-138-1234-5678",
    "+8613812345678", "86 13812345678", "0086 139 0000 1234",
])
def test_chinese_mobile_numbers_are_phone_numbers_also_without_spaces_around(number):
    assert find(f"电话{number}联系") == [("phone", number)]
    assert find(f"请拨打{number}。") == [("phone", number)]


def test_a_mobile_number_with_its_country_code_is_not_taken_for_a_card_number():
    # one of 138 1234 567x whose digits with the 86 pass the Luhn check, as a card number's would
    number = next(f"+86 138 1234 567{d}" for d in "0123456789" if luhn_valid(f"861381234567{d}"))
    assert find(f"Call {number} now.") == [("phone", number)]
    assert find(f"联系{number}。") == [("phone", number)]


def test_id_card_numbers_are_checked_by_their_check_character_and_date():
    assert find(f"身份证号{ID_NUMBER}，住址不详。") == [("id_card", ID_NUMBER)]
    assert find(f"ID {ID_NUMBER.lower()} on file") == [("id_card", ID_NUMBER.lower())]
    wrong = ID_17 + str((int(check_character(ID_17).replace("X", "10")) + 1) % 10)
    assert find(f"身份证号{ID_NUMBER}或{wrong}") == [("id_card", ID_NUMBER)]
    # a correct check character, but no 30 February
    no_date = "11010519900230123"
    no_date += check_character(no_date)
    assert find(f"身份证号{ID_NUMBER}或{no_date}") == [("id_card", ID_NUMBER)]


def test_an_ordinary_18_digit_number_is_not_an_id_card_number():
    order = "202403150000123456"
    assert check_character(order[:17]) != order[17] and not luhn_valid(order)
    assert find(f"订单号{order}已发货，身份证{ID_NUMBER}") == [("id_card", ID_NUMBER)]
    assert find(f"Order {order} shipped.") == []


def test_personal_data_against_chinese_characters_is_found_alone():
    assert find("邮箱ana.lee@example.org联系") == [("email", "ana.lee@example.org")]
    assert find("卡号4111111111111111已冻结，日期2024-03-15") == [("card", "4111111111111111")]


def test_redact_chinese_numbers():
    source = "客服电话13812345678，工作日接听。"
    assert redact("客服电话+86 138 1234 5678。", source) == ("客服电话+86 138 1234 5678。", [])
    assert redact("客服电话13900001234。", source) == ("客服电话[phone]。", ["phone"])
    assert redact(f"他的身份证号是{ID_NUMBER}。", source) == ("他的身份证号是[id_card]。", ["id_card"])
    assert redact(f"身份证号{ID_NUMBER}", f"身份证号{ID_NUMBER}") == (f"身份证号{ID_NUMBER}", [])
