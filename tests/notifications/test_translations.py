"""The shipped zh-hans catalogue: every non-fuzzy msgid is translated, with the same placeholders."""

import re
from pathlib import Path

from django.conf import settings
from django.utils import translation

PO = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\{ ?\w+ ?\}\}")


def _unquote(lines: list[str]) -> str:
    return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', "\n".join(lines)))


def catalogue_entries(text: str):
    """(msgid, msgstr, flags) of every entry except the header, with plural forms joined."""
    entries, current, field = [], None, None
    for line in text.splitlines() + [""]:
        if not line.strip():
            if current and current["msgid"] is not None:
                entries.append(current)
            current, field = None, None
            continue
        current = current or {"msgid": None, "msgstr": [], "flags": "", "id_lines": [], "str_lines": {}}
        if line.startswith("#,"):
            current["flags"] += line
        elif line.startswith("#"):
            continue
        elif line.startswith("msgid_plural"):
            field = ("id", 1)
        elif line.startswith("msgid "):
            field = ("id", 0)
            current["id_lines"] = [line]
            current["msgid"] = ""
        elif line.startswith("msgstr"):
            field = ("str", line.split(" ", 1)[0])
            current["str_lines"][field[1]] = [line]
        elif line.startswith('"') and field:
            (current["id_lines"] if field[0] == "id" else current["str_lines"][field[1]]).append(line)
    result = []
    for entry in entries:
        msgid = _unquote(entry["id_lines"])
        if not msgid:
            continue  # header
        msgstrs = [_unquote(lines) for lines in entry["str_lines"].values()]
        result.append((msgid, msgstrs, entry["flags"]))
    return result


def test_catalogue_has_no_untranslated_strings():
    entries = catalogue_entries(PO.read_text(encoding="utf-8"))
    assert len(entries) > 100
    untranslated = [msgid for msgid, msgstrs, flags in entries
                    if "fuzzy" not in flags and (not msgstrs or not all(s.strip() for s in msgstrs))]
    assert not untranslated, f"{len(untranslated)} msgids without a zh-hans translation: {untranslated[:20]}"


def test_translations_keep_their_placeholders():
    wrong = [msgid for msgid, msgstrs, flags in catalogue_entries(PO.read_text(encoding="utf-8"))
             if "fuzzy" not in flags and any(
                 sorted(PLACEHOLDER.findall(s.replace(" ", ""))) != sorted(PLACEHOLDER.findall(msgid.replace(" ", "")))
                 for s in msgstrs if s)]
    assert not wrong, wrong


def test_customer_strings_render_in_chinese():
    from refunds.customer.progress import PLAIN_WORDS
    from refunds.lifecycle import State

    with translation.override("zh-hans"):
        assert str(PLAIN_WORDS[State.IN_REVIEW]) == "我们的团队正在审核您的申请。"
