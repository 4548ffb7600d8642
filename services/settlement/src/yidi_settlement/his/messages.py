"""What a hospital is told, in Chinese, for each rule a HIS request can meet.

Domain code refuses in English and domain names (the agency APIs answer with the same errors);
the HIS interface answers in Chinese, so the sentence is chosen here, at the edge, by the rule
code. A figure the hospital needs (the value received, a limit, the expected total) travels as
`DomainError.values` and is put into the sentence; an English message is never shown.

An entry is a sentence, or a sentence and details quoting values: each detail is said only when
every value it names came with the refusal (an owner service may not send them). A key ending in
`_fen` is money, told in yuan; `expected` is a kind of value (TYPE_WORDS). A rule missing here still answers a Chinese sentence naming it;
tests/unit/test_settlement_his_messages.py fails on any rule the HIS can reach without one.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from yidi_events.kernel.errors import Value

Text = str | tuple[str, ...]  # a sentence, or a sentence and its details

TYPE_WORDS: Mapping[str, str] = {
    "string": "字符串",
    "object": "JSON 对象",
    "list": "数组",
    "number": "数值",
    "date": "日期 yyyy-MM-dd",
    "amount": "以元为单位、最多两位小数的金额",
    "integer": "整数",
    "flag": "0、1 或空",
    "base64": "文件内容的 base64 文本或字节数组",
}

TEXTS: Mapping[str, Text] = {
    # --- the envelope and the input node (his/envelope.py, his/inputs.py, his/files.py) ---
    "his.format": "报文格式不正确",
    "his.required": "必填项为空或缺失",
    "his.type": ("数据类型不正确", "应为{expected}"),
    "his.time": ("时间格式不正确，应为 yyyy-MM-dd HH:mm:ss", "收到 {value}"),
    "his.date": ("日期格式不正确，应为 yyyy-MM-dd", "收到 {value}"),
    "his.region": ("行政区划代码应为 6 位数字", "收到 {value}"),
    "his.amount": ("金额格式不正确，应为以元为单位、最多两位小数的数值", "收到 {value}"),
    "his.number": ("数值格式不正确，应为有限的十进制数", "收到 {value}"),
    "his.number_range": (
        "数值超出允许的范围或精度",
        "整数部分最多 {digits} 位、小数最多 {places} 位",
        "收到 {value}",
    ),
    "his.code": ("代码值不在允许范围内", "收到 {value}，允许 {allowed}"),
    "his.json": "不是合法的 JSON",
    "his.length": ("长度超过上限", "最多 {limit} 个字符"),
    "his.body_size": ("请求报文过大", "上限 {limit} 字节"),
    "his.depth": ("JSON 嵌套层数超过上限", "最多 {limit} 层"),
    "his.integer_range": ("整数超出 64 位整数的范围", "收到 {value}"),
    "his.not_finite": ("数值须为有限的十进制数，不接受非数（NaN）或无穷大", "收到 {value}"),
    "his.zip_limit": (
        "上传的 zip 文件解压后过大或压缩比异常，未解压即拒绝",
        "压缩比 {ratio} 倍",
        "解压后 {size} 字节",
        "含 {members} 个文件",
        "上限为压缩比 {max_ratio} 倍、解压后 {max_size} 字节",
    ),
    "his.multipart": "multipart/form-data 报文格式不正确（缺少 boundary 或某部分缺少头部）",
    "his.input": "入参缺少应有的节点",
    "his.input_invalid": "入参节点应为 JSON 对象",
    "his.field_required": "必填项为空或缺失",
    "his.field_missing": "必填项为空或缺失",
    "his.field_invalid": ("字段值格式不正确", "应为{expected}", "收到 {value}"),
    "his.month_invalid": ("年月格式不正确，应为 YYYYMM", "收到 {value}"),
    "his.count_invalid": ("数量应为非负整数", "收到 {value}"),
    "his.amount_invalid": ("金额格式不正确，应为以元为单位、最多两位小数的数值", "收到 {value}"),
    "his.encounter_unknown": ("没有与当前就诊 ID 对应的就诊信息", "收到 {value}"),
    "his.encounters_empty": "没有需要分析的就诊信息",
    "his.dictionary_unknown": ("不是接口规范代码表中的字典类型", "收到 {value}"),
    "his.period_reversed": "结束时间早于开始时间",
    "his.file_unknown": ("文件查询号不是本平台生成的文件", "收到 {value}"),
    "his.page_invalid": ("页码和本页数据量应为 1 到 9999 之间的整数", "收到 {value}"),
    "his.version_invalid": (
        "版本号须为本平台下发的版本（数字，或 v0000 表示全部）",
        "收到 {value}",
    ),
    "his.card_sn": "使用社会保障卡（03）就诊时卡识别码必填",
    "his.med_type_inpatient": ("住院登记须使用住院类医疗类别（2 开头）", "收到 {value}"),
    "his.med_type_outpatient": ("门诊挂号不能使用住院类医疗类别", "收到 {value}"),
    "his.fee_lines": "费用明细不能为空",
    "his.item_code": "费用明细须填写医疗目录编码或医药机构目录编码",
    "his.negative": ("费用明细的单价不能为负数", "明细流水号 {line}"),
    "his.one_visit": "一次上传的费用明细须属于同一就诊、同一人员",
    # --- who sent it (his/auth.py, his/signatures.py, yidi_events.auth.his) ---
    "his.auth": "身份认证未通过",
    "his.auth.header": "缺少认证请求头",
    "his.auth.profile": "缺少认证请求头：须按 TIF（x-tif-*）、CSB（_api_*）或报文 HMAC（x-yidi-*）之一签名",
    "his.auth.credential": ("接入凭证未登记", "凭证 {identity} 未登记为医保接口的接入凭证"),
    "his.auth.signature": ("签名校验不通过", "请按 {profile} 签名规则重新计算"),
    "his.auth.timestamp": ("时间戳格式不正确", "应为 Unix 时间的{unit}（纯数字），收到 {value}"),
    "his.auth.window": (
        "时间戳超出允许的时间窗口",
        "与服务器时间相差 {off} 秒，允许 {window} 秒",
    ),
    "his.auth.nonce": ("随机数（nonce）长度不正确", "应为 {low} 至 {high} 个字符"),
    "his.auth.replay": "该时间戳与随机数（nonce）已使用过，重放的请求被拒绝",
    "his.institution_mismatch": (
        "报文的定点机构编号与签名的机构不一致",
        "报文 {given}，签名机构 {signed}",
    ),
    "his.path_infno": ("请求路径的交易编号与报文 infno 不一致", "路径 {path}，报文 {infno}"),
    # --- the gateway ---
    "his.unknown_infno": ("本平台不提供该交易", "交易编号 {infno}"),
    # --- retail pharmacies (his/institutions.py, 2101/2102/2103) ---
    "his.institution_kind": (
        "本机构类别不能办理该交易：定点零售药店只能办理药店结算（2101/2102/2103），"
        "定点医疗机构不能办理药店结算",
        "交易编号 {infno}",
        "机构 {fixmedins_code}",
    ),
    "his.med_type_pharmacy": ("药店购药的医疗类别应为 41（定点药店购药）", "收到 {value}"),
    "his.rate_limited": (
        "本机构查询人员信息（1101）过于频繁，本次未予应答，请稍后再试",
        "机构 {fixmedins_code}",
        "上限为每秒 {rate} 次、连续 {burst} 次",
        "约 {wait} 秒后可再查询",
    ),
    "his.busy": "平台正忙或并发请求同时修改了相同记录，本次未做任何变更，请以相同报文重新发送",
    "his.msgid_reused": "该报文 ID 已被本机构用于另一笔不同的请求",
    "his.msgid_reversed": "该报文 ID 对应的交易已被 2601 冲正，不能再次使用",
    "his.message_reused": "该报文 ID 已为另一人员上传过转诊备案",
    "his.owner_unreachable": ("负责该交易的服务暂无应答，请稍后重试", "交易编号 {infno}"),
    "his.not_owned": "负责的服务不处理该交易",
    "his.command_invalid": "交易入参不符合负责服务的要求",
    "his.gateway_only": "仅医保接口网关可转发医院交易",
    "his.visit_region": ("就医地医保区划与定点机构所在地不一致", "机构所在地 {expected}"),
    "his.insured_region": ("参保地医保区划与人员的参保地不一致", "人员参保地 {expected}"),
    "his.insurance_type": ("险种类型与人员或本次就诊的险种不一致", "应为 {expected}"),
    "filing.referral_not_designated": (
        "该机构不是参保地登记的转诊转院定点机构，转诊备案（2501）不予受理"
        "（转入机构也不能为自己出具转诊意见）",
        "机构 {institution}",
        "参保地 {insured_region}",
    ),
    "filing.refused": "备案服务拒绝了该交易",
    "audit.refused": "审核服务拒绝了该交易",
    "reconciliation.refused": "对账服务拒绝了该交易",
    "clearing.refused": "清算服务拒绝了该交易",
    # --- eligibility (domain/eligibility.py) ---
    "eligibility.hospital_not_networked": (
        "该定点机构未开通跨省异地就医直接结算",
        "机构 {institution}",
    ),
    "eligibility.hospital_suspended": ("该定点机构的异地直接结算已暂停", "机构 {institution}"),
    "eligibility.department_suspended": (
        "该定点机构此科室的异地直接结算已暂停（稽核决定）",
        "机构 {institution}，科室 {department}",
    ),
    "eligibility.local_visit": (
        "参保地与就医地属同一统筹地区，请按本地就医结算，不走异地结算",
        "参保地 {insured_region}",
    ),
    "eligibility.voucher_e_token": (
        "医保电子凭证（01）须为电子凭证中心签发的令牌，本平台无法核验；"
        "人员编号或证件号码不是就诊凭证，请读取身份证（02）或社会保障卡（03）"
    ),
    "eligibility.identity_mismatch": "人证（人卡）不符：所持凭证与参保人员不一致",
    "eligibility.person_deceased": ("参保人员已登记死亡，不能结算", "死亡日期 {death_date}"),
    "eligibility.benefits_terminated": "参保人员医保待遇已终止",
    "eligibility.benefits_suspended": "参保人员医保待遇已暂停",
    "eligibility.direct_settlement_suspended": (
        "参保人员的异地直接结算已暂停（稽核决定）",
        "暂停至 {until}",
    ),
    "eligibility.no_filing": (
        "未办理覆盖该就医地和定点机构的有效异地就医备案，请先备案或按急诊登记",
        "就医地 {region}，机构 {institution}，就诊日期 {date}",
    ),
    # --- visits and settlement (domain/visit.py, dates.py, engine.py, app/visits.py) ---
    "visit.not_found": ("就诊记录不存在、已撤销或不属于本机构", "就诊 ID {visit_id}"),
    "visit.person_mismatch": "就诊记录属于其他人员",
    "visit.already_registered": "该就诊已登记",
    "visit.settled": ("该就诊已结算，请先撤销结算", "结算 ID {settlement_id}"),
    "visit.return_without_original": "负数明细为退费，须填写所退的原费用明细流水号",
    "visit.returned_line_not_found": ("所退的原明细不是本次就诊已上传的收费明细", "原明细 {line}"),
    "visit.returned_line_settled": (
        "所退的原明细已结算，请先撤销该结算再退费",
        "原明细 {line}，结算 ID {settlement_id}",
    ),
    "visit.return_item": "退费明细的医疗目录编码须与原明细一致",
    "settlement.fee_line_product": (
        "费用明细金额须等于数量乘以单价（允许 1 分的舍入差）",
        "明细流水号 {line}",
        "金额 {amount_fen}，数量 {quantity}，单价 {price} 元",
    ),
    "visit.return_sign": "退费明细的数量和金额须为负数",
    "visit.return_exceeds_charge": (
        "退费超过原明细尚未退还的数量或金额",
        "原明细 {line} 尚余数量 {quantity}、金额 {left_fen} 元",
    ),
    "visit.interim_not_inpatient": "只有住院可以中途结算",
    "visit.interim_after_discharge": "已出院的住院须做出院结算，不能再中途结算",
    "visit.charge_batch_not_found": ("本次就诊没有该收费批次的费用明细", "收费批次 {batch}"),
    "visit.fee_line_settled": (
        "费用明细已结算，不能撤销；请先撤销结算",
        "明细 {line}，结算 ID {settlement_id}",
    ),
    "reversal.cancellation_not_reversible": (
        "撤销结算之后就诊已有变化（明细、出院或新的结算），不能冲正该撤销，请重新结算"
    ),
    "reversal.person_moved": "撤销结算之后人员的年度累计或个人账户已有变动，不能冲正该撤销，请重新结算",
    "reversal.account_balance": (
        "个人账户余额不足以恢复原结算的账户支付，不能冲正该撤销",
        "余额 {balance_fen} 元，原结算账户支付 {paid_fen} 元",
    ),
    "visit.not_discharged": "住院须先办理出院（2402）再结算",
    "visit.no_fee_lines": "该就诊没有可结算的费用明细",
    "visit.fee_line_not_found": ("费用明细不在该就诊下", "明细流水号 {fee_line_no}"),
    "visit.duplicate_fee_line": ("费用明细流水号重复上传", "明细流水号 {fee_line_no}"),
    "visit.not_inpatient": "只有住院就诊可以办理出院",
    "visit.already_discharged": "患者已办理出院",
    "visit.fee_lines_changed": "预结算后费用明细已变更，请重新预结算",
    "visit.settlement_not_found": ("结算 ID 不是该就诊当前的结算", "结算 ID {settlement_id}"),
    "visit.date_in_future": ("日期晚于当前日期", "收到 {day}，最晚 {latest}"),
    "visit.date_before_admission": ("日期早于入院日期", "收到 {day}，入院 {admitted_on}"),
    "settlement.total_mismatch": (
        "费用总额与明细合计不符",
        "申报 {declared_fen}，明细合计 {computed_fen}",
    ),
    "settlement.not_found": ("结算记录不存在或不属于本机构", "结算 ID {settlement_id}"),
    "settlement.no_policy": "参保地没有在该日期有效的该险种待遇政策",
    "settlement.policy_not_in_force": "参保地待遇政策在结算日期未生效",
    "settlement.policy_year": "累计信息的政策年度与结算日期不符",
    "settlement.cancel_policy_year": "跨政策年度的结算不能按当前年度累计撤销",
    "settlement.policy_person_group": "参保地待遇政策未规定该人员类别的统筹基金支付比例",
    "settlement.scheme_not_covered": "参保地待遇政策不支付该医疗类别",
    "settlement.person_category": "人员类别代码不是已知的类别",
    "settlement.fee_line_amount": "费用明细金额不能为负数",
    "reversal.not_reversible": (
        "该交易不能通过 2601 冲正，请使用其对应的撤销交易",
        "原交易 {infno}",
    ),
    "reversal.person_mismatch": "原交易结算的是其他人员",
    "person.not_found": (
        "未找到该参保人员（参保地尚未发布其参保信息，或凭证不符）",
        "凭证 {voucher}",
    ),
    "catalogue.not_found": ("医疗目录编码不在就医地目录中", "编码 {code}"),
    "catalogue.unmapped_item": (
        "医药机构目录项目未与医保目录对照，请先上传对照（3301）",
        "项目 {code}",
    ),
    "catalogue.mapping_not_found": "医药机构目录项目没有对照关系",
    "catalogue.self_pay_ratio": "自付比例应在 0 到 1 之间",
    "catalogue.price_cap": "限价不能为负数",
    "catalogue.effective_to": "失效日期早于生效日期",
    "hospital.not_found": "定点机构未在本平台登记",
    "institution.not_found": "没有符合该编号或名称的定点医药机构",
    "settlement_list.no_settlement": ("该结算不是本次就诊有效的结算", "结算 ID {settlement_id}"),
    "hospital.already_registered": "定点机构已登记",
    "hospital.level": "医院等级应为 1、2 或 3",
    "hospital.region": "区划代码不正确",
    "hospital.his_secret": "HIS 接入密钥至少 16 个字符",
    "hospital.gateway_credential": "接入凭证须为 1 至 200 个非空字符",
    "policy.format": "待遇政策文件格式不正确",
    "clock.backwards": "业务时钟不能回拨",
    "clock.out_of_range": "业务时钟超出允许范围",
    "auth.role": "没有办理该业务的权限",
    "auth.region": "无权办理其他统筹地区的业务",
    "auth.kind": "该业务仅限经办人员办理",
    # --- the chassis' operator API: imported beside the gateway, never answered to a HIS ---
    "admin.no_projection": "没有该投影",
    "admin.rebuild_running": "该投影正在重建，请稍后再试",
    "admin.broker_unavailable": "消息服务暂不可用，请稍后再试",
    # --- referral filing, forwarded to filing (2501/2502) ---
    "filing.not_found": "未找到该人员的该备案",
    "filing.hospital_own_only": "医疗机构只能撤销本机构上传的转诊备案",
    "filing.already_submitted": "该备案已提交",
    "filing.diagnosis_required": "转诊备案须填写诊断",
    "filing.not_active": "备案状态不允许该操作",
    "filing.expired": ("备案已过有效期，请重新备案", "有效期至 {valid_to}"),
    "filing.change_not_allowed": "该类备案不能变更，请撤销后重新备案",
    "filing.person_mismatch": "备案属于其他人员",
    "filing.carried_over_counter_only": "历史备案转入只能由经办窗口办理",
    "filing.carried_over_begin": "历史转入的备案须填写开始日期",
    "filing.person_deceased": "参保人员已登记死亡，不能备案",
    "filing.person_not_active": "参保人员的参保状态不是正常参保，不能备案",
    "filing.benefits_terminated": "参保人员医保待遇已终止，不能备案",
    "filing.long_term_type": "长期备案类型填写不正确",
    "filing.promise_long_term_only": "只有长期备案可以采用个人承诺制",
    "filing.channel": "医疗机构只能办理转诊和急诊备案",
    "filing.local_visit": "就医地即参保地，无需办理异地就医备案",
    "filing.referral_destination": "按参保地规定，转诊备案须指定一家转入医疗机构",
    "filing.destination_not_allowed": "该类备案覆盖就医地全部联网机构，不应指定转入机构",
    "filing.admission_required": "急诊备案须填写入院日期",
    "filing.admission_in_future": "入院日期晚于当前日期",
    "filing.retroactive_after_discharge": "出院已结算，请改为回参保地手工报销",
    "filing.retroactive_needs_admission": "开始日期早于今天的补办备案仅限仍在住院的人员，须填写入院日期",
    "filing.retroactive_before_admission": "补办备案的开始日期不能早于入院日期",
    # 补办 after a self-paid discharge (出院自费结算后补办备案, 医保发〔2022〕22号 §二(四))
    "filing.discharge_date_not_allowed": "出院日期仅用于出院自费结算后的补办备案，请标明自费出院或不填出院日期",
    "filing.self_paid_carried_over": "历史备案转入不属于出院自费结算后的补办备案",
    "filing.self_paid_needs_admission": "出院自费结算后的补办备案须填写入院日期",
    "filing.self_paid_needs_discharge": "出院自费结算后的补办备案须填写出院日期",
    "filing.discharge_in_future": "出院日期晚于当前日期；住院期间请于出院结算前备案并直接结算",
    "filing.discharge_before_admission": "出院日期早于入院日期",
    "filing.self_paid_too_late": "出院自费结算后的补办备案已超过参保地规定的期限",
    "filing.self_paid_begin_after_admission": "出院自费结算后的补办备案须自入院日期起生效",
    "filing.validity_too_short": (
        "临时备案的有效期短于规定的最短期限",
        "结束日期不得早于 {earliest}",
    ),
    "filing.long_term_end_date": "长期备案在变更前一直有效，不应填写结束日期",
    "filing.promise_lock": ("承诺制备案在锁定期内不能变更或撤销", "{unlocks} 起方可办理"),
    "filing.not_pending": "只有待审核的备案可以审核",
    "filing.visit_region": "就医地区划代码不正确或缺失（长期备案变更须填写新的就医地）",
    "filing.reviewer_required": "审核人必填",
    "filing.reason_required": "原因必填",
    "person.not_enrolled": "未找到该参保人员",
    "person.id_format": "人员编号格式不正确",
    "person.name": "姓名长度不正确",
    "person.category": "人员类别应为 4 位代码（如 1101 在职、1201 退休）",
    "person.civil_servant_resident": "公务员医疗补助仅适用于职工基本医疗保险（310）",
    "person.gender": "性别代码不正确（1 男、2 女、0 未知、9 未说明）",
    "person.birth_date": "出生日期不能晚于今天",
    "person.negative_balance": "个人账户余额不能为负数",
    "person.card_serial": "卡识别码过长",
    "person.death_date": "死亡日期应在出生日期与今天之间",
    "person.certificate_mismatch": "出生日期或性别与身份证号码不一致",
    "person.insured_region": "参保地区划代码应为 6 位数字",
    "person.duplicate_enrolment": "该证件已参加基本医疗保险",
    "person.certificate_type": "证件类型必填",
    "person.certificate_format": "证件号码格式不正确",
    "person.certificate_checksum": "身份证号码校验位错误，可能录入有误",
    "person.already_enrolled": "该人员已参保登记",
    "person.enrolment_terminated": "已终止的参保关系不能变更状态",
    "person.insufficient_balance": "个人账户余额不足",
    "person.death_in_future": "死亡日期不能晚于今天",
    "person.death_before_birth": "死亡日期早于出生日期",
    "person.benefits_not_suspended": "参保人员的待遇未被暂停",
    "person.audit_suspension_unknown": "该稽核案件未暂停该人员的待遇",
    "person.deceased": "参保人员已登记死亡，只接受更正",
    "person.benefits_terminated": "参保人员医保待遇已终止，不能再变更",
    "person.reason_required": "原因必填",
    "person.amount": "金额应为正数",
    "person.suspension_period": "暂停的结束日期早于开始日期",
    "person.case_required": "稽核案件编号必填",
    "person_year.below_zero": "年度累计不能小于零",
    "person_year.duplicate_local_settlement": "该本地结算已记入年度累计",
    "person_year.future_date": "结算日期晚于今天",
    "person_year.ledger_gap": "年度累计记录不连续",
    "person_year.local_settlement_id": "本地结算 ID 必填",
    "person_year.policy_year": "结算日期不在该政策年度内",
    "policy.backdated": "待遇政策的生效日期早于已发布的版本",
    "policy.wrong_book": "待遇政策不属于该参保地和险种",
    # --- pre- and in-event analysis, forwarded to audit (3101/3102) ---
    "audit.analysis.bad_request": "事前事中分析入参不正确",
    # --- hospital reconciliation, forwarded (3201/3202, 9101/9102) ---
    "reconciliation.detail_invalid": "对账明细无法核对，请检查明细文件",
    "reconciliation.detail_missing": "须填写已上传文件的查询号或直接提供明细",
    "reconciliation.file_too_large": ("上传文件过大", "上限 {limit} 字节"),
    "reconciliation.file_unknown": "未找到本机构的该文件",
    "reconciliation.file_expired": ("文件已超过可下载期限", "可下载至 {until}"),
    "reconciliation.duplicate_row": (
        "同一结算 ID 在明细文件中出现两次，每笔结算只能列一次",
        "结算 ID {settlement_id}，第 {lines} 行",
    ),
    "reconciliation.date_range": "对账开始日期晚于结束日期",
    "reconciliation.count_negative": "结算笔数不能为负数",
    "reconciliation.scope_incomplete": "总额对账须填写完整的对账范围",
    "reconciliation.insurance_type_unknown": "险种类型既不是职工也不是居民医保，不能对账",
    "reconciliation.record_invalid": "结算记录不完整（缺少结算 ID 或原结算 ID）",
    # --- hospital clearing applications, forwarded (3203/3204/3205A) ---
    "clearing.application_unknown": "清算申请不存在",
    "clearing.already_applied": (
        "本机构该月该清算类别已申请清算，如需重新申请请先撤销",
        "清算申请 {application_id}",
    ),
    "clearing.not_reconciled": "该月该清算类别尚未对账，请先对账",
    "clearing.withdraw_not_allowed": "只有已申请（10）状态的清算申请可以撤销",
    "clearing.status_unknown": "清算状态代码不正确",
    "clearing.illegal_transition": "清算申请当前状态不允许该变更",
    "clearing.reason_required": "须填写原因",
    "clearing.totals_mismatch": (
        "清算申请金额与对账结果不符，请先对账",
        "申请 {claimed}，对账 {reconciled}",
    ),
    "clearing.same_agency": "参保地与就医地经办机构相同，本地结算不参与机构间清算",
    "clearing.deduction_amount": "扣款金额应为正数",
    "clearing.insurance_type": "险种类型应为 310（职工）或 390（居民）",
    "clearing.agency_invalid": "经办机构区划代码不正确",
    "clearing.period_invalid": "清算期格式不正确",
    "clearing.period_open": "清算期尚未结束，次月 1 日起方可清算",
    "clearing.calendar_invalid": "清算日历不正确",
    "clearing.days_still_closing": "经办机构仍可确认该月日对账，截止日后方可生成清算明细",
    "clearing.payment_required": "清算申请须登记拨付（金额及银行流水号）后方为已拨付（60）",
    # Clearing's read adapter pages its lists too (the HIS gets its lists whole, but the rule is
    # in a module the HIS path imports).
    "paging.cursor_invalid": "分页游标无效，请不带游标重新查询",
    "clearing.already_paid": "该清算申请已拨付",
    "clearing.payment_amount": "拨付金额与审核确定的应付金额不一致",
    "clearing.bank_reference_required": "须填写银行流水号",
    "ledger.too_few_lines": "记账凭证至少需要两条分录",
    "ledger.unbalanced": "记账凭证借贷不平衡",
    "ledger.line_invalid": "每条分录须且仅须借方或贷方一方为正数",
    # --- chronic and special diseases: certificates forwarded to filing (2503/2504), and the
    # chronic-disease visit (med type 14, yidi_benefits chronic.py, engine.py) ---
    "chronic.disease_code": "门慢门特病种目录代码不正确（应为 1 到 30 位的国家病种代码）",
    "chronic.disease_name": "门慢门特病种名称为空",
    "chronic.evidence_required": "须填写鉴定定点医药机构",
    "chronic.evidence_date": "医院鉴定日期晚于今天",
    "chronic.validity": "结束日期早于开始日期",
    "chronic.already_certified": (
        "该人员该病种已有有效的慢特病备案，如需重新备案请先撤销",
        "病种 {disease_code}，备案流水号 {certificate_id}",
    ),
    "chronic.not_found": "该人员没有此待遇申报明细流水号的慢特病备案",
    "chronic.hospital_own_only": "医药机构只能撤销本机构上传的慢特病备案",
    "chronic.reason_required": "须填写撤销原因",
    "settlement.chronic_disease_required": "门诊慢特病就诊须在挂号或就诊信息上传时填写病种编码",
    "settlement.chronic_not_certified": (
        "该人员在就诊日期没有该门诊慢特病病种的有效备案，不能按门诊慢特病结算",
        "病种 {disease_code}",
        "就诊日期 {visit_date}",
    ),
    "settlement.chronic_disease_not_covered": (
        "参保地待遇政策未规定该门诊慢特病病种的支付标准",
        "病种 {disease_code}",
    ),
}

_GENERIC = "请求不符合业务规则，未予办理"


def _money(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d} 元"


def _shown(key: str, value: Value) -> str:
    if key.endswith("_fen") and isinstance(value, int):
        return _money(value)
    if key == "expected":
        return TYPE_WORDS.get(str(value), str(value))
    return str(value)


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def sentence(rule: str, values: Mapping[str, Value] | None = None) -> str:
    """The Chinese sentence for a rule: its text and each detail whose values all came with the
    refusal; a rule without a text gets the generic sentence."""
    text = TEXTS.get(rule, _GENERIC)
    if isinstance(text, str):
        return text
    base, *details = text
    given = values or {}
    shown = {key: _shown(key, value) for key, value in given.items()}
    said = [detail.format_map(shown) for detail in details if placeholders(detail) <= shown.keys()]
    return "，".join([base, *said])
