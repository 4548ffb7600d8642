"""The 13xx catalogue downloads (spec: 目录下载) and the 9102 download of their files.

A 13xx answer names a file (file_qury_no, filename, dld_end_time) holding the catalogue versions
newer than the `ver` the HIS sent; the HIS then fetches it through 9102 as a zip of one TXT file,
tab-separated, no header, the columns in the spec's order (9102 重点说明 2). The file number
carries the catalogue and the two version bounds, so 9102 rebuilds the very same file: versions are
the committing transactions' ids and a file only ever spans transactions that had all ended
(adapters/lookups.py), so nothing can appear in it afterwards. Reconciliation's file numbers
(lowercase hex) never start with the prefix ours carry, which is how 9102 is routed.

Each row's 版本号 is the version to send back as `ver` (the HIS keeps the largest it has); a
version platform's `v0000` (or `0`) asks for everything. A catalogue we hold no data for answers
an empty file, as a platform with no new versions does.
"""

from __future__ import annotations

import base64
import io
import re
import zipfile
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from yidi_events.kernel import business_date
from yidi_settlement.domain.catalogue_versions import PublishedVersion
from yidi_settlement.his.envelope import HisEnvelope, node, quoted, refuse, required, text
from yidi_settlement.his.hospital_checks import section
from yidi_settlement.his.typed import spec_outputs

# The catalogue files the spec lists for 定点医疗机构, by the list types (list_type) of the
# catalogue this platform holds that each carries; () is a catalogue we hold no data for.
CATALOGUE_FILES: Mapping[str, tuple[str, ...]] = {
    "1301": ("101",),  # 西药中成药
    "1302": ("102",),  # 中药饮片
    "1303": ("103",),  # 医疗机构制剂
    "1305": ("201",),  # 医疗服务项目
    "1306": ("301",),  # 医用耗材
    "1306A": ("301",),
    "1307": (),  # 疾病与诊断
    "1308": (),  # 手术操作
    "1309": (),  # 门诊慢特病种
    "1310": (),  # 按病种付费病种
    "1311": (),  # 日间手术治疗病种
    "1313": (),  # 肿瘤形态学
    "1314": (),  # 中医疾病
    "1315": (),  # 中医证候
    "1320": ("106",),  # 中药配方颗粒
    "1321": (),  # 医疗服务项目（新）: the new item format, which the platform does not hold
    "1322": (),  # 体外诊断试剂 ...
    "1323": (),
    "1324": (),
    "1325": (),
    "1326": (),
    "1327": (),
}
DOWNLOAD_INFNO = "9102"
FILE_PREFIX = "CAT"
FILE_DAYS = 7  # how long the answer says the file may be fetched (it never changes)
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_NUMBER = re.compile(rf"^{FILE_PREFIX}(?P<infno>\w+?)-(?P<after>[0-9a-z]+)-(?P<before>[0-9a-z]+)$")
_COLUMN = re.compile(r"第(\d+)列[：:]([^第]+)")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # a fixed stamp: the same versions make the same bytes

# Spec column names -> what a published version fills them with; every other column is empty.
_CODE = ("医疗目录编码", "中药配方颗粒代码")
_NAME = (
    "药品商品名",
    "药品通用名",
    "单味药名称",
    "医疗服务项目名称",
    "耗材名称",
    "中药配方颗粒名称",
)
_FROM = ("开始日期", "生效时间")
_TO = ("结束日期", "失效时间")
_RECORD = ("唯一记录号", "数据唯一记录号")
_VERSION = ("版本号", "版本名称")
_VALID = ("有效标志",)
_CLASS = ("国家医保药品目录甲乙类标识",)


def _base36(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = _DIGITS[rest] + digits
        if number == 0:
            return digits


def file_number(infno: str, after: int, before: int) -> str:
    return f"{FILE_PREFIX}{infno}-{_base36(after)}-{_base36(before)}"


def read_file_number(number: str) -> tuple[str, int, int] | None:
    """(infno, after, before) of one of our catalogue file numbers; None for anyone else's."""
    found = _NUMBER.match(number)
    if found is None or found["infno"] not in CATALOGUE_FILES:
        return None
    return found["infno"], int(found["after"], 36), int(found["before"], 36)


def version_asked(payload: Mapping[str, Any]) -> int:
    """The `ver` a 13xx request sends: the largest version the HIS holds (v0000 at first)."""
    value = required(node(payload), "ver")
    digits = value[1:] if value[:1] in ("v", "V") else value
    if not digits.isdigit():
        raise refuse(
            "ver",
            f"ver must be a version this platform sent (digits, or v0000 for everything), "
            f"got {value!r}",
            "his.version_invalid",
            value=quoted(value),
        )
    return int(digits)


def download_number(envelope: HisEnvelope) -> str | None:
    """The file number a 9102 request names, as sent (None if it names none)."""
    return text(section(envelope.input, "fsDownloadIn"), "file_qury_no", required=False)


def is_catalogue_download(envelope: HisEnvelope) -> bool:
    """A 9102 for one of our catalogue files (else it is reconciliation's)."""
    if envelope.infno != DOWNLOAD_INFNO:
        return False
    number = download_number(envelope)
    return number is not None and number.startswith(FILE_PREFIX)


@cache
def columns(infno: str) -> tuple[str, ...]:
    """The file's columns in the spec's order (its `filename` description lists them)."""
    fields = spec_outputs()[infno]["outputs"][""]
    note = next(f.get("note", "") for f in fields if f["code"] == "filename")
    return tuple(name.strip() for _, name in sorted(_COLUMN.findall(note), key=lambda c: int(c[0])))


def _day(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def row(infno: str, version: PublishedVersion) -> list[str]:
    item = version.item
    values: dict[str, str] = {}
    values.update(dict.fromkeys(_CODE, item.catalogue_code))
    values.update(dict.fromkeys(_NAME, item.name))
    values.update(dict.fromkeys(_FROM, _day(item.effective_from)))
    values.update(dict.fromkeys(_TO, _day(item.effective_to)))
    values.update(dict.fromkeys(_RECORD, f"{item.catalogue_code}-{item.effective_from:%Y%m%d}"))
    values.update(dict.fromkeys(_VERSION, str(version.txid)))
    values.update(dict.fromkeys(_VALID, "1"))
    values.update(dict.fromkeys(_CLASS, item.item_class.value))
    return [values.get(name, "") for name in columns(infno)]


def rows(infno: str, versions: list[PublishedVersion]) -> list[list[str]]:
    wanted = CATALOGUE_FILES[infno]
    return [row(infno, v) for v in versions if v.item.list_type in wanted]


def _cell(value: str) -> str:
    # a tab or line break inside a value would break the row apart
    return " ".join(value.split()) if any(c in value for c in "\t\r\n") else value


def zipped(number: str, table: list[list[str]]) -> bytes:
    body = "".join("\t".join(_cell(c) for c in cells) + "\n" for cells in table)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo(f"{number}.txt", _ZIP_TIME), body.encode("utf-8"))
    return buffer.getvalue()


def file_answer(infno: str, after: int, before: int, count: int, now: datetime) -> dict[str, Any]:
    """The 13xx output (no node): the file to fetch with 9102."""
    number = file_number(infno, after, before)
    return {
        "file_qury_no": number,
        "filename": f"{number}.zip",
        "dld_end_time": (business_date(now) + timedelta(days=FILE_DAYS)).isoformat(),
        "data_cnt": count,
    }


def download_answer(number: str, table: list[list[str]]) -> dict[str, Any]:
    """The 9102 answer files.py streams as the zip itself."""
    return {
        "file_qury_no": number,
        "filename": f"{number}.zip",
        "file": base64.b64encode(zipped(number, table)).decode("ascii"),
    }
