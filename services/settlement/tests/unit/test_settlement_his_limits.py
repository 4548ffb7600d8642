"""What a caller cannot make the gateway do: inflate, recurse, overflow, or price a line past the
cap with a vanishing quantity. Each refusal is a his.* or domain rule (so an envelope, never a
500), decided before the expensive step."""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace
from decimal import Decimal

import pytest

from yidi_benefits.line_split import check_line_amount
from yidi_benefits.model import FeeLine
from yidi_events.kernel import DomainError
from yidi_settlement.his.envelope import parse_envelope
from yidi_settlement.his.inputs import number, registration
from yidi_settlement.his.limits import MAX_DEPTH, check_zip

ENVELOPE = (
    b'{"infno":"1101","msgid":"M1","mdtrtarea_admvs":"320100","fixmedins_code":"H1","input":%s}'
)


def refused(body: bytes) -> str:
    with pytest.raises(DomainError) as caught:
        parse_envelope(body)
    return caught.value.rule


def test_nesting_past_the_limit_is_refused_before_the_parser_recurses() -> None:
    # 100000 levels would blow Python's recursion limit in json.loads (an HTTP 500 before).
    deep = b"[" * 100_000 + b"]" * 100_000
    assert refused(ENVELOPE % (b'{"data":' + deep + b"}")) == "his.depth"
    # the same nesting inside a string input (older clients) is measured too
    assert refused(ENVELOPE % (b'"' + b"[" * 1000 + b'"')) == "his.depth"


def test_nesting_at_the_limit_and_brackets_inside_strings_are_accepted() -> None:
    # the envelope is level 1, input level 2: MAX_DEPTH - 2 more levels fit
    inner = b"[" * (MAX_DEPTH - 2) + b"]" * (MAX_DEPTH - 2)
    assert parse_envelope(ENVELOPE % (b'{"data":' + inner[1:-1] + b"}")).infno == "1101"
    brackets = b'{"memo":"' + b"[{" * 1000 + b'\\"' + b'"}'
    assert parse_envelope(ENVELOPE % brackets).input["memo"].startswith("[{[{")


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        (b"18446744073709551616", "his.integer_range"),  # 2^64
        (b"-9223372036854775809", "his.integer_range"),  # -2^63 - 1
        (b"9" * 5000, "his.integer_range"),  # past Python's own 4300-digit limit
        (b"NaN", "his.not_finite"),
        (b"Infinity", "his.not_finite"),
        (b"-Infinity", "his.not_finite"),
    ],
)
def test_numbers_outside_what_the_interface_carries_are_refused(value: bytes, rule: str) -> None:
    assert refused(ENVELOPE % (b'{"data":{"n":' + value + b"}}")) == rule


def test_a_64_bit_integer_and_a_decimal_are_kept_exactly() -> None:
    envelope = parse_envelope(ENVELOPE % b'{"data":{"n":18446744073709551615,"p":4.52}}')
    assert envelope.input["data"] == {"n": 2**64 - 1, "p": Decimal("4.52")}


def _zip(content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("detail.txt", content)
    return buffer.getvalue()


def test_a_zip_bomb_is_refused_from_its_directory() -> None:
    # 40 MB of zeros deflates about 1000 times (to ~40 KB): over the 250x ratio
    with pytest.raises(DomainError) as caught:
        check_zip(_zip(bytes(40 * 1024 * 1024)))
    assert caught.value.rule == "his.zip_limit"


def test_a_zip_whose_directory_claims_400_mb_is_refused_without_inflating() -> None:
    small = bytearray(_zip(b"1\t2\t3\n"))
    # patch the central directory's uncompressed size (offset 24 in its entry) to 400 MB
    central = small.rfind(b"PK\x01\x02")
    small[central + 24 : central + 28] = (400 * 1024 * 1024).to_bytes(4, "little")
    assert len(small) < 4096
    with pytest.raises(DomainError) as caught:
        check_zip(bytes(small))
    assert caught.value.rule == "his.zip_limit"
    assert caught.value.values["size"] == 400 * 1024 * 1024


def test_an_ordinary_detail_file_and_a_non_zip_pass_to_reconciliation() -> None:
    rows = (f"S{n}\tV{n}\tP{n % 7}\t{n}.00\t{n * 4 // 5}.00\t0.00\t0\n" for n in range(5000))
    check_zip(_zip("".join(rows).encode()))
    check_zip(b"not a zip: reconciliation says so in its own words")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cnt", "1e-999999999"),
        ("cnt", "1E+999999999"),
        ("cnt", "0.00001"),  # cnt has 4 places
        ("pric", "1.0000001"),  # pric has 6
        ("pric", "12345678901"),  # 11 digits before the point
    ],
)
def test_quantities_and_prices_are_bounded_in_scale_and_magnitude(field: str, value: str) -> None:
    with pytest.raises(DomainError) as caught:
        number(field, value)
    assert caught.value.rule == "his.number_range"


def test_trailing_zeros_and_a_zero_with_any_exponent_are_ordinary_numbers() -> None:
    assert number("cnt", "1.50000000000") == Decimal("1.5")
    assert number("cnt", "0E-999999999") == 0
    assert number("pric", Decimal("999999.999999")) == Decimal("999999.999999")


def fee(quantity: str, price: str, amount: int) -> FeeLine:
    return FeeLine(
        fee_line_no="7",
        catalogue_code="X",
        quantity=Decimal(quantity),
        unit_price=Decimal(price),
        amount=amount,
    )


@pytest.mark.parametrize(
    ("quantity", "price", "amount"),
    [
        ("3", "4.52", 1356),  # 13.56 yuan exactly
        ("3", "0.333333", 100),  # 0.999999 yuan: 99.9999 fen, rounded up to 1.00
        ("3", "0.333333", 99),  # truncated to 0.99: still within a fen
        ("-2", "10.00", -2000),  # a return line
    ],
)
def test_an_amount_within_a_fen_of_quantity_times_price_passes(
    quantity: str, price: str, amount: int
) -> None:
    check_line_amount(fee(quantity, price, amount))


def test_an_amount_that_is_not_quantity_times_price_names_the_three_figures() -> None:
    # 0.0001 x 500 yuan = 0.05 yuan; the line claims 500.00: the cap-evasion shape
    with pytest.raises(DomainError) as caught:
        check_line_amount(fee("0.0001", "500", 50000))
    assert caught.value.rule == "settlement.fee_line_product"
    assert caught.value.values == {
        "line": "7",
        "amount_fen": 50000,
        "quantity": "0.0001",
        "price": "500",
    }
    # 2 x 10.00 = 20.00; 20.02 is two fen off
    with pytest.raises(DomainError):
        check_line_amount(fee("2", "10.00", 2002))


def test_a_json_string_inside_the_input_is_held_to_the_same_limits() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    data = {
        "psn_no": "P1",
        "insutype": "310",
        "begntime": "2026-03-10 09:00:00",
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": "320500195603120111",
        "exp_content": deep,
    }
    envelope = parse_envelope(ENVELOPE % b"{}")
    with pytest.raises(DomainError) as caught:
        registration(replace(envelope, infno="2201", input={"data": data}))
    assert (caught.value.rule, caught.value.field) == ("his.depth", "exp_content")
