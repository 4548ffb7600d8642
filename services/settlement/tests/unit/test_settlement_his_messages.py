"""Every refusal a HIS request can meet is told in Chinese (his/messages.py), naming the national
field and the rule: a rule added anywhere the gateway reaches without a Chinese text fails here.

What the gateway reaches is found in the code, not listed by hand: the modules imported, directly
or not, by the gateway and its transactions and by each owner's forwarded-HIS entrypoint, and in
them every rule code a refusal is raised with (DomainError and its kinds, the edge's `refuse`,
HisAuthError's rule, a helper's `rule=`). A rule built at run time is named in DYNAMIC, so a new
one fails here until it is listed with its expansions.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from yidi_events.kernel import DomainError
from yidi_settlement.his.fields import error_text
from yidi_settlement.his.messages import TEXTS, placeholders, sentence
from yidi_settlement.his.owned import OWNED

ROOT = Path(__file__).resolve().parents[4]
STARTS = (
    "services/settlement/src/yidi_settlement/his/gateway.py",
    "services/settlement/src/yidi_settlement/his/transactions.py",
    "services/filing/src/yidi_filing/entrypoints/his_api.py",
    "services/audit/src/yidi_audit/entrypoints/his.py",
    "services/reconciliation/src/yidi_reconciliation/entrypoints/his.py",
    "services/clearing/src/yidi_clearing/entrypoints/his.py",
)
# Imported by the audit context for their settings types only: their decisions (cases, tickets,
# complaints, investigations) are agency commands no forwarded HIS command runs.
NOT_REACHED = (
    "services/audit/src/yidi_audit/domain/cases.py",
    "services/audit/src/yidi_audit/domain/complaints.py",
    "services/audit/src/yidi_audit/domain/investigation.py",
    "services/audit/src/yidi_audit/domain/tickets.py",
    # Imported with filing's settings: checks the province file at start, before any request.
    "services/filing/src/yidi_filing/domain/province_rules.py",
)
# Rules built at run time: (module, the rule expression) -> every rule it can be.
DYNAMIC: dict[tuple[str, str], tuple[str, ...]] = {
    ("services/filing/src/yidi_filing/domain/filing.py", "f'filing.{field}_required'"): (
        "filing.reviewer_required",
        "filing.reason_required",
    ),
    (
        "services/settlement/src/yidi_settlement/his/forwarder.py",
        "f'{owned.owner}.refused'",
    ): tuple(f"{owned.owner}.refused" for owned in OWNED.values()),
    (
        "services/settlement/src/yidi_settlement/his/forwarder.py",
        "str(error.get('rule') or f'{owned.owner}.refused')",
    ): tuple(f"{owned.owner}.refused" for owned in OWNED.values()),
    # The owner's own rule passes through: the owner's modules are scanned themselves.
    # A route's admission refuses with auth.kind / auth.role, or the refusal the route names:
    # the forwarded route (the one the HIS reaches) names his.gateway_only.
    ("libs/events/src/yidi_events/auth/agency.py", "rule"): (
        "auth.kind",
        "auth.role",
        "his.gateway_only",
    ),
}
# A parameter handed on: its callers name the rule (`rule=` keywords, `_refuse(...)`, found below).
PASSED_ON = {
    ("services/audit/src/yidi_audit/domain/guards.py", "rule"),
    ("services/settlement/src/yidi_settlement/his/envelope.py", "rule"),
    ("services/settlement/src/yidi_settlement/domain/eligibility.py", "f'eligibility.{rule}'"),
}
RAISERS = {"DomainError", "Conflict", "NotFound", "Forbidden"}
# The shared libraries under libs/ (the benefit engine's refusals reach the HIS too).
LIBS = {"yidi_events": "events", "yidi_benefits": "benefits"}


def _file_of(module: str) -> Path | None:
    parts = module.split(".")
    if parts[0] in LIBS:
        base = ROOT / "libs" / LIBS[parts[0]] / "src"
    elif parts[0].startswith("yidi_"):
        base = ROOT / "services" / parts[0].removeprefix("yidi_") / "src"
    else:
        return None
    path = base.joinpath(*parts)
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _reached() -> set[Path]:
    seen: set[Path] = set()
    todo = [ROOT / start for start in STARTS]
    skipped = {ROOT / path for path in NOT_REACHED}
    while todo:
        path = todo.pop()
        if path in seen or path in skipped:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_text())):
            modules: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            todo.extend(found for m in modules if (found := _file_of(m)) is not None)
    return seen


def _constants(tree: ast.Module) -> dict[str, str]:
    return {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name) and isinstance(node.value.value, str)
    }


def _name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _rule_expressions(call: ast.Call) -> Iterator[tuple[ast.expr, str]]:
    """The rule expressions of one call, each with the prefix the callee puts before it."""
    name = _name(call)
    keyword = next((k.value for k in call.keywords if k.arg == "rule"), None)
    if name in RAISERS and call.args:
        yield call.args[0], ""
    elif name == "refuse":  # his/envelope.py: the rule is the third argument, his.format if none
        if len(call.args) >= 3:
            yield call.args[2], ""
    elif name == "_refuse" and call.args:  # domain/eligibility.py
        yield call.args[0], "eligibility."
    elif keyword is not None and not isinstance(keyword, ast.Attribute):
        yield keyword, ""  # `exc.rule` re-tells a rule raised elsewhere (a log line)


def reachable_rules() -> dict[str, str]:
    """Every rule code a HIS request can be refused with -> where it is raised."""
    files = _reached()
    trees = {path: ast.parse(path.read_text()) for path in files}
    everywhere: dict[str, str] = {}
    for tree in trees.values():
        everywhere.update(_constants(tree))
    rules: dict[str, str] = {"his.format": "his/envelope.py refuse()", "his.auth": "HisAuthError"}
    unknown: list[str] = []
    for path, tree in sorted(trees.items()):
        where = str(path.relative_to(ROOT))
        local = {**everywhere, **_constants(tree)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            for expr, prefix in _rule_expressions(node):
                if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
                    rules.setdefault(prefix + expr.value, f"{where}:{node.lineno}")
                elif isinstance(expr, ast.Name) and expr.id in local:
                    rules.setdefault(prefix + local[expr.id], f"{where}:{node.lineno}")
                elif (where, ast.unparse(expr)) in PASSED_ON:
                    continue
                elif (where, ast.unparse(expr)) in DYNAMIC:
                    for rule in DYNAMIC[(where, ast.unparse(expr))]:
                        rules.setdefault(rule, f"{where}:{node.lineno}")
                else:
                    unknown.append(f"{where}:{node.lineno}: {ast.unparse(expr)}")
    assert not unknown, f"rules built at run time, to be listed in DYNAMIC: {unknown}"
    return rules


def test_the_scan_finds_the_rules_of_every_layer_the_his_reaches() -> None:
    """The scan itself: a sample from the edge, settlement's domain, eligibility's helper, the
    auth profiles and each forwarded owner, so an empty scan cannot pass the test below."""
    rules = reachable_rules()
    for expected in (
        "his.required",
        "his.amount",
        "his.auth.replay",
        "settlement.total_mismatch",
        "visit.settled",
        "eligibility.no_filing",
        "eligibility.direct_settlement_suspended",
        "filing.promise_lock",
        "filing.reason_required",
        "his.encounter_unknown",
        "reconciliation.file_unknown",
        "clearing.totals_mismatch",
        "clearing.refused",
        "policy.format",
    ):
        assert expected in rules, expected


def test_every_rule_the_his_can_meet_has_a_chinese_text() -> None:
    missing = {rule: where for rule, where in reachable_rules().items() if rule not in TEXTS}
    assert not missing, f"rules without a Chinese text in his/messages.py: {missing}"


_LATIN_WORD = re.compile(r"[A-Za-z]{4,}")
# Latin words a Chinese sentence may carry: protocol names and codes a hospital's staff know.
_ALLOWED_LATIN = {
    "JSON",
    "multipart",
    "form",
    "data",
    "boundary",
    "Unix",
    "nonce",
    "HMAC",
    "yyyy",
    "YYYYMM",
    "infno",
    "yidi",
}


@pytest.mark.parametrize("rule", sorted(TEXTS))
def test_each_text_is_a_chinese_sentence_whose_detail_quotes_only_values(rule: str) -> None:
    text = TEXTS[rule]
    base, *details = (text,) if isinstance(text, str) else text
    assert re.search(r"[\u4e00-\u9fff]", base), rule
    assert not placeholders(base), f"{rule}: the sentence itself quotes no value"
    said = base + re.sub(r"\{\w+\}", "", "".join(details))
    words = set(_LATIN_WORD.findall(said)) - _ALLOWED_LATIN
    assert not words, f"{rule}: English left in the sentence: {words}"
    assert sentence(rule) == base, f"{rule}: without its values a refusal says the sentence only"
    for detail in details:
        assert placeholders(detail), f"{rule}: a detail quotes a value"
        values = {key: 100 if key.endswith("_fen") else "X" for key in placeholders(detail)}
        assert sentence(rule, values).startswith(base + "，"), rule


def test_a_refusal_from_the_edge_says_the_value_received() -> None:
    refusal = DomainError(
        "his.amount", "medfee_sumamt must be a yuan amount", field="medfee_sumamt", values={}
    )
    assert error_text(refusal) == (
        "medfee_sumamt：金额格式不正确，应为以元为单位、最多两位小数的数值（his.amount）"
    )
    refusal.values["value"] = "12.345"
    assert error_text(refusal) == (
        "medfee_sumamt：金额格式不正确，应为以元为单位、最多两位小数的数值，收到 12.345"
        "（his.amount）"
    )


def test_money_is_told_in_yuan_with_two_decimals() -> None:
    refusal = DomainError(
        "settlement.total_mismatch",
        "differs",
        field="total_fee",
        values={"declared_fen": 5, "computed_fen": 12340},
    )
    assert error_text(refusal, "2207") == (
        "medfee_sumamt：费用总额与明细合计不符，申报 0.05 元，明细合计 123.40 元"
        "（settlement.total_mismatch）"
    )
