"""Default notification texts, installed by a data migration (and by `notifications.demo.seed`).

Per event and language: an e-mail subject and body, and one short text used for SMS and the
in-app message on the status page. Admins edit the installed rows; this file is only the seed.
`install_default_templates` never overwrites an existing row.
"""

import re

SIGN_EN = "\n\nRefundloop customer care"
SIGN_ZH = "\n\nRefundloop 客户服务"

DEFAULTS = {
    "received": {
        "en": ("We received your refund request {{ reference }}",
               "Hello,\n\nwe received your refund request {{ reference }} for {{ amount }} {{ currency }}.\n"
               "You can follow every step here: {{ status_url }}" + SIGN_EN,
               "Refund {{ reference }} received. Track it: {{ status_url }}"),
        "zh-hans": ("我们已收到您的退款申请 {{ reference }}",
                    "您好：\n\n我们已收到您的退款申请 {{ reference }}，金额 {{ amount }} {{ currency }}。\n"
                    "您可以在此查看每一步进度：{{ status_url }}" + SIGN_ZH,
                    "退款 {{ reference }} 已受理。查看进度：{{ status_url }}"),
    },
    "info_needed": {
        "en": ("We need information for refund {{ reference }}",
               "Hello,\n\nto continue with refund {{ reference }} we need: {{ needed }}.\n"
               "Please add it here: {{ status_url }}" + SIGN_EN,
               "Refund {{ reference }}: we need {{ needed }}. Add it: {{ status_url }}"),
        "zh-hans": ("退款 {{ reference }} 需要您补充信息",
                    "您好：\n\n为继续处理退款 {{ reference }}，我们需要：{{ needed }}。\n"
                    "请在此补充：{{ status_url }}" + SIGN_ZH,
                    "退款 {{ reference }} 需要补充：{{ needed }}。请访问：{{ status_url }}"),
    },
    "approved": {
        "en": ("Your refund {{ reference }} is approved",
               "Hello,\n\nyour refund {{ reference }} of {{ amount }} {{ currency }} is approved and will be sent "
               "to {{ channel }} shortly.\nDetails: {{ status_url }}" + SIGN_EN,
               "Refund {{ reference }} approved. Details: {{ status_url }}"),
        "zh-hans": ("您的退款 {{ reference }} 已批准",
                    "您好：\n\n您的退款 {{ reference }}（{{ amount }} {{ currency }}）已批准，"
                    "将很快退回至 {{ channel }}。\n详情：{{ status_url }}" + SIGN_ZH,
                    "退款 {{ reference }} 已批准。详情：{{ status_url }}"),
    },
    "rejected": {
        "en": ("Your refund request {{ reference }} was declined",
               "Hello,\n\nwe are sorry: your refund request {{ reference }} was declined.\n"
               "If you think this is wrong, reply to this message or contact us; the details are here: "
               "{{ status_url }}" + SIGN_EN,
               "Refund {{ reference }} was declined. Details: {{ status_url }}"),
        "zh-hans": ("您的退款申请 {{ reference }} 未获批准",
                    "您好：\n\n很抱歉，您的退款申请 {{ reference }} 未获批准。\n"
                    "如有异议，请回复本邮件或联系我们；详情：{{ status_url }}" + SIGN_ZH,
                    "退款 {{ reference }} 未获批准。详情：{{ status_url }}"),
    },
    "payout_sent": {
        "en": ("Your refund {{ reference }} is on its way",
               "Hello,\n\nwe sent {{ amount }} {{ currency }} to {{ channel }} for refund {{ reference }}.\n"
               "{% if eta_from %}Expected arrival: {{ eta_from }} – {{ eta_to }}.\n{% endif %}"
               "Track it: {{ status_url }}" + SIGN_EN,
               "Refund {{ reference }} sent{% if eta_from %}, expected {{ eta_from }}–{{ eta_to }}{% endif %}. "
               "{{ status_url }}"),
        "zh-hans": ("您的退款 {{ reference }} 已发出",
                    "您好：\n\n我们已将退款 {{ reference }}（{{ amount }} {{ currency }}）退回至 {{ channel }}。\n"
                    "{% if eta_from %}预计到账：{{ eta_from }} – {{ eta_to }}。\n{% endif %}"
                    "查看进度：{{ status_url }}" + SIGN_ZH,
                    "退款 {{ reference }} 已发出{% if eta_from %}，预计 {{ eta_from }}–{{ eta_to }} 到账{% endif %}。"
                    "{{ status_url }}"),
    },
    "refunded": {
        "en": ("Your refund {{ reference }} is complete",
               "Hello,\n\nyour refund {{ reference }} of {{ amount }} {{ currency }} is complete.\n"
               "Details: {{ status_url }}" + SIGN_EN,
               "Refund {{ reference }} complete. {{ status_url }}"),
        "zh-hans": ("您的退款 {{ reference }} 已完成",
                    "您好：\n\n您的退款 {{ reference }}（{{ amount }} {{ currency }}）已完成。\n"
                    "详情：{{ status_url }}" + SIGN_ZH,
                    "退款 {{ reference }} 已完成。{{ status_url }}"),
    },
    "payout_failed": {
        "en": ("We could not complete refund {{ reference }}",
               "Hello,\n\nthe payment provider returned refund {{ reference }} to us.\n"
               "Next steps: {{ next_steps }}\nDetails: {{ status_url }}" + SIGN_EN,
               "Refund {{ reference }} could not be completed. Next steps: {{ status_url }}"),
        "zh-hans": ("退款 {{ reference }} 未能完成",
                    "您好：\n\n支付机构退回了退款 {{ reference }}。\n"
                    "后续步骤：{{ next_steps }}\n详情：{{ status_url }}" + SIGN_ZH,
                    "退款 {{ reference }} 未能完成。后续步骤：{{ status_url }}"),
    },
    "delay": {
        "en": ("Refund {{ reference }} is taking longer than planned",
               "Hello,\n\nwe are sorry: refund {{ reference }} is taking longer than we promised. "
               "We are on it and will tell you as soon as it moves.\nTrack it: {{ status_url }}" + SIGN_EN,
               "Sorry, refund {{ reference }} is taking longer than planned. {{ status_url }}"),
        "zh-hans": ("退款 {{ reference }} 处理时间较预期延长",
                    "您好：\n\n很抱歉，退款 {{ reference }} 的处理时间超出了我们的承诺。"
                    "我们正在加紧处理，有进展会第一时间通知您。\n查看进度：{{ status_url }}" + SIGN_ZH,
                    "抱歉，退款 {{ reference }} 处理时间较预期延长。{{ status_url }}"),
    },
    "feedback_request": {
        "en": ("How did we do with refund {{ reference }}?",
               "Hello,\n\nyour refund {{ reference }} has arrived. Would you rate how we handled it (1–5)? "
               "It takes ten seconds: {{ status_url }}" + SIGN_EN,
               "Refund {{ reference }} arrived. Rate us: {{ status_url }}"),
        "zh-hans": ("退款 {{ reference }} 的处理您满意吗？",
                    "您好：\n\n您的退款 {{ reference }} 已到账。请为我们的处理打分（1–5），只需十秒：{{ status_url }}"
                    + SIGN_ZH,
                    "退款 {{ reference }} 已到账。请为我们打分：{{ status_url }}"),
    },
    "status_link": {
        "en": ("Your refund status link ({{ reference }})",
               "Hello,\n\nhere is the link to follow refund {{ reference }}: {{ status_url }}\n"
               "If you did not ask for it, you can ignore this message." + SIGN_EN,
               "Refund {{ reference }}: {{ status_url }}"),
        "zh-hans": ("您的退款进度链接（{{ reference }}）",
                    "您好：\n\n这是查看退款 {{ reference }} 进度的链接：{{ status_url }}\n"
                    "如果这不是您本人的请求，请忽略本邮件。" + SIGN_ZH,
                    "退款 {{ reference }}：{{ status_url }}"),
    },
}

# Events that go over SMS too (the short text). In-app gets every customer event except the link.
SMS_EVENTS = {"info_needed", "payout_sent", "payout_failed", "rejected", "refunded"}
EMAIL_ONLY_EVENTS = {"status_link"}


# The in-app text is the SMS text without its last sentence (the link): it is shown on the page itself.
_LINK_SENTENCE = re.compile(r"\s*[^。.!！]*\{\{ status_url \}\}\s*$")


def default_rows():
    """(event, channel, language, subject, body) for every default template."""
    for event, languages in DEFAULTS.items():
        for language, (subject, body, short) in languages.items():
            yield event, "email", language, subject, body
            if event not in EMAIL_ONLY_EVENTS:
                yield event, "in_app", language, "", _LINK_SENTENCE.sub("", short)
                yield event, "sms", language, "", short


def install_default_templates(get_model) -> int:
    """Create missing default templates; never overwrite an edited one. Returns how many were created."""
    Template = get_model("notifications", "NotificationTemplate")
    created = 0
    for event, channel, language, subject, body in default_rows():
        _, was_created = Template.objects.get_or_create(
            event=event, channel=channel, language=language, defaults={"subject": subject, "body": body})
        created += int(was_created)
    return created
