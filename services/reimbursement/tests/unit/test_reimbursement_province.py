"""Reimbursement reads the province's terms for manual claims from the province file's
`[reimbursement]` section at start (deploy/provinces)."""

from __future__ import annotations

from pathlib import Path

import pytest

from yidi_events.province import PROVINCES, ProvinceFileError
from yidi_events.settings import ServiceSettings
from yidi_reimbursement.bootstrap import create
from yidi_reimbursement.settings import province_terms


def _terms_of(tmp_path: Path, text: str) -> object:
    province = tmp_path / "province.toml"
    province.write_text(text, encoding="utf-8")
    return province_terms(ServiceSettings(province_file=province))


@pytest.mark.parametrize("name", ["sandbox", "national", "jiangsu"])
def test_the_shipped_provinces_give_domain_s_terms(name: str) -> None:
    # DOMAIN.md section 6 (Jiangsu 2022): acceptance 5, review 10, payment 20 working days; no
    # source names another amount than the sandbox's 10,000.00 yuan for a second reviewer.
    terms = province_terms(ServiceSettings(province_file=PROVINCES / f"{name}.toml"))
    assert (terms.acceptance_days, terms.review_days, terms.payment_days) == (5, 10, 20)
    assert terms.two_reviewers_above == 1_000_000


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("review_days = 0", r"\[reimbursement\] review_days: at least 1, not 0$"),
        ("payment_days = -1", r"\[reimbursement\] payment_days"),
        ("acceptance_days = 'five'", r"\[reimbursement\] acceptance_days"),
        ("two_reviewers_above = 100.5", r"\[reimbursement\] two_reviewers_above"),
        ("two_reviewers_above = -1", r"\[reimbursement\] two_reviewers_above: .*at least 0"),
        ("reveiw_days = 10", r"\[reimbursement\] reveiw_days is not a setting"),
    ],
)
def test_a_wrong_value_stops_the_service_naming_the_key(
    tmp_path: Path, text: str, named: str
) -> None:
    with pytest.raises(ProvinceFileError, match=named):
        _terms_of(tmp_path, f"[reimbursement]\n{text}\n")


def test_the_service_is_built_with_the_province_file_s_terms(tmp_path: Path) -> None:
    province = tmp_path / "province.toml"
    province.write_text("[reimbursement]\nreview_days = 3\n", encoding="utf-8")
    app = create(ServiceSettings(province_file=province))
    assert (app.state.claims.terms.review_days, app.state.claims.terms.payment_days) == (3, 20)
    province.write_text("[reimbursement]\nreview_days = 0\n", encoding="utf-8")
    with pytest.raises(ProvinceFileError, match=r"\[reimbursement\] review_days"):
        create(ServiceSettings(province_file=province))
