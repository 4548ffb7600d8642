"""Filing reads the province's rules from the province file's `[filing]` section at start
(deploy/provinces): the review deadline, a temporary filing's least validity, the promise lock,
the months a 补办 after a self-paid discharge is accepted within."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from filing_testkit import CLERK, NANJING, ZHANG, enrolled_zhang

from yidi_events.contracts.filing import FilingChannel, FilingKind
from yidi_events.province import PROVINCES, ProvinceFileError
from yidi_events.settings import ServiceSettings
from yidi_filing.app import filings
from yidi_filing.app.settings import SettingsBook
from yidi_filing.bootstrap import create, settings_book
from yidi_filing.domain.events import FilingSubmitted
from yidi_filing.domain.filing import SubmitFiling


def _book(tmp_path: Path, text: str) -> SettingsBook:
    province = tmp_path / "province.toml"
    province.write_text(text, encoding="utf-8")
    return settings_book(ServiceSettings(province_file=province))


@pytest.mark.parametrize(
    ("name", "review_days"),
    [("sandbox", 2), ("national", 2), ("jiangsu", 1)],  # Jiangsu 2022 第9条: one working day
)
def test_the_shipped_provinces(name: str, review_days: int) -> None:
    book = settings_book(ServiceSettings(province_file=PROVINCES / f"{name}.toml"))
    rules = book.of("320500")
    assert rules.review_working_days == review_days
    assert (rules.temporary_min_months, rules.promise_lock_months) == (6, 6)
    assert rules.self_paid_refiling_months is None  # no source names a limit


async def test_a_province_s_review_deadline_is_the_one_a_filing_waits_for(
    tmp_path: Path,
) -> None:
    book = _book(tmp_path, "[filing]\nreview_working_days = 5\n")
    s = await enrolled_zhang(book.of("320500"))
    referral = SubmitFiling(
        filing_id="f-referral",
        person_id=ZHANG,
        kind=FilingKind.REFERRAL,
        channel=FilingChannel.COUNTER,
        visit_region=NANJING,
        destination_institution="H32010000001",
        diagnosis="I21.0",  # off the unconditional catalogue, no opinion: a reviewer decides
    )
    await filings.submit(s.ctx, CLERK, referral)
    [submitted] = s.events("filing-f-referral")
    assert isinstance(submitted, FilingSubmitted)
    # Submitted Monday 2 March 2026: five working days are 3, 4, 5, 6 and 9 March.
    assert submitted.review_due == date(2026, 3, 9)


def test_a_province_may_limit_the_self_paid_refiling(tmp_path: Path) -> None:
    book = _book(tmp_path, "[filing]\nself_paid_refiling_months = 3\n")
    assert book.of("321300").self_paid_refiling_months == 3
    # each place's own settings still come from its configuration (Shangluo: the whole city)
    assert book.of("611000").referral_whole_city_allowed is True
    assert book.of("321300").referral_whole_city_allowed is False
    assert book.of("611000").self_paid_refiling_months == 3


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("review_working_days = 0", r"\[filing\] review_working_days: at least 1, not 0$"),
        ("review_working_days = -2", r"\[filing\] review_working_days"),
        ("review_working_days = 'two'", r"\[filing\] review_working_days"),
        ("review_workingdays = 2", r"\[filing\] review_workingdays is not a setting"),
        # 医保发〔2022〕22号: a temporary filing is valid at least 6 months
        ("temporary_min_months = 3", r"\[filing\] temporary_min_months: .*at least 6"),
        ("self_paid_refiling_months = 0", r"\[filing\] self_paid_refiling_months"),
        ("referring_institutions = ['H1']", r"\[filing\] referring_institutions is set per"),
    ],
)
def test_a_wrong_value_stops_the_service_naming_the_key(
    tmp_path: Path, text: str, named: str
) -> None:
    with pytest.raises(ProvinceFileError, match=named):
        _book(tmp_path, f"[filing]\n{text}\n")


def test_the_service_is_built_with_the_province_file_s_rules(tmp_path: Path) -> None:
    province = tmp_path / "province.toml"
    province.write_text(
        '[filing]\nreview_working_days = 4\n[clearing]\nprovincial_centre = "330000"\n',
        encoding="utf-8",
    )
    app = create(ServiceSettings(province_file=province, sandbox=True))
    assert app.state.filing.settings.of("320500").review_working_days == 4
    assert app.state.identity.centre_region == "330000"  # centre users are Zhejiang's
    province.write_text("[filing]\nreview_working_days = 0\n", encoding="utf-8")
    with pytest.raises(ProvinceFileError, match=r"\[filing\] review_working_days"):
        create(ServiceSettings(province_file=province, sandbox=True))
