"""The kept record of a night's validation: GX's result as JSON and a self-contained HTML page.

The page needs no CDN (GX's own Data Docs pull CSS/JS from one and render unstyled offline).
"""

from __future__ import annotations

import html
import json
from typing import Any

from catalog_ml.lake import Lake
from catalog_ml.validation.reasons import reason_counts
from catalog_ml.validation.validate import ValidationOutcome

STYLE = """body{font:14px system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;
text-align:left}th{background:#f3f3f3}.ok{color:#18794e}.bad{color:#c4320a;font-weight:600}"""


def folder(night: str) -> str:
    return f"validation/{night}"


def render_html(outcome: ValidationOutcome) -> str:
    night = outcome.night.isoformat()
    rows = "".join(
        f"<tr><td>{html.escape(str(e['field']))}</td><td>{html.escape(str(e['rule']))}</td>"
        f"<td>{html.escape(e['expectation'])}</td>"
        f"<td class={'ok' if e['success'] else 'bad'}>{'pass' if e['success'] else 'FAIL'}</td>"
        f"<td>{e['unexpected_count']}</td></tr>" for e in outcome.expectations)
    reasons = reason_counts(outcome.rejected)
    reason_rows = "".join(f"<tr><td>{html.escape(r)}</td><td>{n}</td></tr>"
                          for r, n in reasons.most_common())
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>Validation {night}</title><style>{STYLE}</style></head><body>
<h1>Dump validation, night {night}</h1>
<p>Source: {html.escape(outcome.source_file)}<br>Rows received: {outcome.rows_received};
accepted: {len(outcome.accepted)}; quarantined: {len(outcome.rejected)}
({outcome.reject_share:.1%}).</p>
<h2>Expectations</h2><table><tr><th>field</th><th>rule</th><th>expectation</th>
<th>result</th><th>rows failing</th></tr>{rows}</table>
<h2>Quarantine reasons</h2><table><tr><th>reason</th><th>rows</th></tr>{reason_rows}</table>
</body></html>"""


def save_report(lake: Lake, outcome: ValidationOutcome) -> str:
    night = outcome.night.isoformat()
    lake.write_file(f"{folder(night)}/gx_result.json",
                    json.dumps(outcome.gx_result, default=str).encode())
    return lake.write_file(f"{folder(night)}/report.html", render_html(outcome).encode())


def save_gate_failure(lake: Lake, night: str, message: str) -> str:
    payload: dict[str, Any] = {"night": night, "success": False, "error": message}
    return lake.write_file(f"{folder(night)}/gate_failure.json", json.dumps(payload).encode())
