"""What the pages show, decided once and pure: money in yuan, masked certificate numbers, the
Chinese names of the services' codes, and deadlines counted in working days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from yidi_events.kernel.calendar import WorkingCalendar

# The regions an officer meets in the sandbox and the province; any other code is shown as is.
REGIONS = {
    "320000": "江苏省中心",
    "320100": "南京市",
    "320200": "无锡市",
    "320500": "苏州市",
    "321300": "宿迁市",
    "611000": "商洛市",
}

FILING_STATUS = {
    "pending": "待审核",
    "approved": "已批准",
    "rejected": "已驳回",
    "cancelled": "已撤销",
}
FILING_KIND = {
    "long_term": "长期异地",
    "referral": "转诊转院",
    "other_temporary": "其他临时外出就医",
    "emergency": "急诊抢救",
}
LONG_TERM_TYPE = {
    "retiree_resettled": "异地安置退休",
    "long_term_resident": "异地长期居住",
    "resident_worker": "常驻异地工作",
}
REVIEW_REASON = {
    "filing.referral_without_opinion": "转诊缺少转诊意见",
    "filing.referral_opinion_not_designated": "转诊意见非指定机构出具",
    "filing.long_term_without_documents": "长期异地未提供证明材料",
}
CASE_STATUS = {
    "open": "待处理",
    "confirmed": "已确认违规",
    "dismissed": "已排除",
}
LINE_STATUS = {
    "pending": "待确认",
    "confirmed": "已确认",
    "disputed": "有争议",
}
DISPUTE_STATUS = {"open": "争议中", "accepted": "已接受", "reversed": "已冲正"}
TICKET_STATUS = {"raised": "待答复", "replied": "已答复，待确认", "confirmed": "已确认"}
COMPLAINT_STATUS = {
    "received": "已收到",
    "acknowledged": "已受理",
    "resolved": "已办结",
    "notified": "已告知投诉人",
}
OVERDUE_KIND = {
    "ticket": "工单",
    "complaint": "投诉",
    "investigation": "协查",
    "case": "稽核案件",
}
ROLES = {
    "clerk": "窗口经办",
    "reviewer": "备案审核",
    "reconciler": "对账确认",
    "approver": "清算审批",
    "auditor": "稽核",
    "hospital_admin": "定点机构管理",
    "reimbursement": "零星报销审核",
    "treasurer": "财务",
    "operator": "运维",
}
RULES = {
    # The refusals an officer meets on these pages, in their words; others show the service's.
    "clearing.four_eyes": "四眼原则：同一审批人不能两次审批，须由另一位审批人完成第二次审批。",
    "clearing.centre_only": "只有省中心可以执行此操作。",
    "reconciliation.already_confirmed": "本机构已确认过该日对账单。",
    "filing.not_pending": "该备案已不是待审核状态。",
    "auth.role": "您的角色无权执行此操作。",
    "auth.kind": "您的账号类型无权执行此操作。",
}


def label(table: dict[str, str], code: str | None) -> str:
    """The Chinese name of `code`, or the code itself when the table does not know it (a new
    status must still show, not vanish)."""
    if code is None:
        return ""
    return table.get(code, code)


def region_name(code: str | None) -> str:
    if code is None:
        return ""
    name = REGIONS.get(code)
    return f"{name}（{code}）" if name else code


def yuan(fen: int | None) -> str:
    """Fen shown as yuan with two decimals and thousands separators, exactly (no float)."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def fen_of_yuan(text: str) -> int:
    """An amount typed in yuan ("1,234.5") as fen; more than two decimals is an error, not a
    rounding."""
    value = Decimal(text.replace(",", "").strip())
    fen = value * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"{text!r} has more than two decimals")
    return int(fen)


def mask_certificate(number: str | None) -> str:
    """A certificate number with all but its first 3 and last 4 characters hidden (the national
    rule for showing an ID number on screen); short numbers keep only their last character."""
    if not number:
        return ""
    if len(number) <= 7:
        return "*" * (len(number) - 1) + number[-1]
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def mask_name(name: str | None) -> str:
    """A person's name with the given name hidden: 张建国 -> 张**."""
    if not name:
        return ""
    return name[0] + "*" * (len(name) - 1)


@dataclass(frozen=True)
class Due:
    deadline: date
    working_days_left: int
    """Working days from today to the deadline; negative when it has passed."""

    @property
    def text(self) -> str:
        if self.working_days_left > 0:
            return f"剩 {self.working_days_left} 个工作日"
        if self.working_days_left == 0:
            return "今日到期"
        return f"已超期 {-self.working_days_left} 个工作日"

    @property
    def overdue(self) -> bool:
        return self.working_days_left < 0


def due(deadline: date, today: date, calendar: WorkingCalendar) -> Due:
    if deadline >= today:
        return Due(deadline, calendar.working_days_between(today, deadline))
    return Due(deadline, -calendar.working_days_between(deadline, today))


def previous_period(today: date) -> str:
    """The month a clearing statement is made for in `today`'s month: the one before it."""
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


# Column names of the lists shown as they come from a service (flags, tickets, complaints,
# catalogue, certifications); a field not named here is shown by its own name.
COLUMNS = {
    "agency": "机构",
    "net": "净额（分）",
    "owed": "应缴（分）",
    "received": "已到账（分）",
    "outstanding": "未到账（分）",
    "disbursed": "已拨付（分）",
    "disbursable_now": "当前可拨付（分）",
    "late": "逾期",
    "remittances": "到账记录",
    "visit_region": "就医地",
    "catalogue_code": "目录编码",
    "effective_from": "生效日期",
    "effective_to": "失效日期",
    "name": "名称",
    "item_class": "项目类别",
    "self_pay_ratio": "自付比例",
    "price_cap": "限价",
    "list_type": "目录类别",
    "flag_id": "疑点号",
    "rule_id": "规则",
    "person_id": "人员编号",
    "settlement_id": "结算号",
    "case_id": "案件号",
    "raised_on": "发现日期",
    "ticket_id": "工单号",
    "kind": "类别",
    "subject": "事由",
    "status": "状态",
    "raised_by": "发起方",
    "receiver_region": "接收方",
    "reply_by": "答复期限",
    "complaint_id": "投诉号",
    "channel": "渠道",
    "summary": "摘要",
    "received_on": "收到日期",
    "certificate_id": "认定号",
    "disease_code": "病种编码",
    "disease_name": "病种名称",
    "valid_from": "开始日期",
    "valid_to": "结束日期",
    "evidence_institution": "诊断机构",
}


def waits_for(day: dict[str, Any], officer_region: str, is_centre: bool) -> bool:
    """A day waits for this officer's agency: issued, not closed, party to it, not yet confirmed
    by it. The centre is party to no day (it oversees): every open issued day is shown."""
    if not day.get("issued") or day.get("closed"):
        return False
    if is_centre:
        return True
    parties = (day["insured_region"], day["visit_region"])
    return officer_region in parties and officer_region not in day.get("confirmed_by", [])


def close_due(day: dict[str, Any]) -> date:
    """The date reconciliation says the day's month must be closed by (its own rule)."""
    return date.fromisoformat(day["deadline"])


def table(title: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A list shown as the service gives it: its columns are the first row's fields."""
    columns = list(rows[0].keys()) if rows else []
    return {"title": title, "columns": columns, "rows": rows}
