"""1101 per institution: a bucket of `burst` answers, refilled at `rate` a second; other
institutions and other transactions are not touched."""

from __future__ import annotations

import pytest

from yidi_events.kernel import DomainError
from yidi_settlement.domain.eligibility import Voucher, certificate_presented, check_voucher
from yidi_settlement.his.rate_limit import RateLimiter


class Ticks:
    def __init__(self) -> None:
        self.at = 100.0

    def __call__(self) -> float:
        return self.at


def test_a_burst_then_the_refill_rate_then_a_clean_refusal() -> None:
    ticks = Ticks()
    limiter = RateLimiter(rate_per_s=0.5, burst=3, now=ticks)
    for _ in range(3):
        limiter.take("H1", "1101")
    with pytest.raises(DomainError) as caught:
        limiter.take("H1", "1101")
    assert caught.value.rule == "his.rate_limited"
    assert caught.value.values["fixmedins_code"] == "H1"
    assert caught.value.values["wait"] == "2.0"  # one token at 0.5 a second
    limiter.take("H2", "1101")  # another institution has its own bucket
    limiter.take("H1", "2201")  # only the person query is limited
    ticks.at += 2.0  # one token back
    limiter.take("H1", "1101")
    with pytest.raises(DomainError):
        limiter.take("H1", "1101")
    ticks.at += 3600  # a full bucket, never more than burst
    for _ in range(3):
        limiter.take("H1", "1101")
    with pytest.raises(DomainError):
        limiter.take("H1", "1101")


@pytest.mark.parametrize("number", ["32050000000000000001", "320500195603120111", "EV-TOKEN"])
def test_an_e_voucher_cannot_be_verified_here_so_a_bare_person_number_binds_nothing(
    number: str,
) -> None:
    with pytest.raises(DomainError) as caught:
        check_voucher(Voucher(voucher_type="01", voucher_no=number))
    assert caught.value.rule == "eligibility.voucher_e_token"


def test_a_card_presents_its_number_and_must_be_the_persons_card() -> None:
    card = Voucher(voucher_type="03", voucher_no="32050019560312011x", card_serial="SC1")
    assert certificate_presented(card, card_serial="SC1") == "32050019560312011X"
    with pytest.raises(DomainError) as caught:
        certificate_presented(card, card_serial="SC2")
    assert caught.value.rule == "eligibility.identity_mismatch"
    id_card = Voucher(voucher_type="02", voucher_no="320500195603120111")
    assert certificate_presented(id_card, card_serial=None) == "320500195603120111"
