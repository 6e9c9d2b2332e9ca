"""The auditor report as a PDF: the HTML report rendered by WeasyPrint with the print CSS and the PDF limits
(grouped and capped, so a 100k-pod cluster stays a document of bounded length), with the complete canonical
JSON result attached as `netpol-audit.json`.

Owns the WeasyPrint call only: nothing is fetched (the URL fetcher refuses every URL; the document is
self-contained) and the output depends on the result alone (dates come from the scan time, never the clock),
so the same result gives the same PDF. WeasyPrint writes it as PDF/A-3b, the archival variant that allows an
embedded file (the JSON is attached with AFRelationship Source); conformance is WeasyPrint's, not re-checked
here with a validator such as veraPDF.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import warnings
from typing import Any

from scanner.errors import AuditError, InputError
from scanner.render import json_out
from scanner.render.html import render_document
from scanner.render.report_model import JSON_ATTACHMENT, PDF_LIMITS

log = logging.getLogger(__name__)

PDF_VARIANT = "pdf/a-3b"
DEB_PACKAGES = ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0", "fonts-dejavu-core")


def _scan_time(result: dict[str, Any]) -> dt.datetime:
    """The scan start as a naive UTC datetime (WeasyPrint writes attachment dates with a literal Z)."""
    raw = str((result.get("run") or {}).get("started_at") or "")
    try:
        t = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return dt.datetime(1970, 1, 1)
    if t.tzinfo is not None:
        t = t.astimezone(dt.UTC).replace(tzinfo=None)
    return t


def _weasyprint() -> Any:
    try:
        import weasyprint
        import weasyprint.urls
    except OSError as e:  # pango/harfbuzz missing: WeasyPrint fails at import
        raise AuditError(f"PDF reports need the Debian packages {' '.join(DEB_PACKAGES)} ({e})") from None
    return weasyprint


def render_pdf_bytes(result: dict[str, Any]) -> bytes:
    """The PDF report as bytes."""
    weasyprint = _weasyprint()
    HTML, Attachment, URLFetcher = weasyprint.HTML, weasyprint.Attachment, weasyprint.urls.URLFetcher

    html = render_document(result, PDF_LIMITS, script=False)
    no_fetch = URLFetcher(allowed_protocols=(), allow_redirects=False, timeout=1)  # every URL is refused
    when = _scan_time(result)
    attachment = Attachment(file_obj=io.BytesIO(json_out.render(result).encode()), url_fetcher=no_fetch,
                            name=JSON_ATTACHMENT, description="netpol-audit scan result (canonical JSON)",
                            created=when, modified=when, relationship="Source")
    document = HTML(string=html, base_url=None, url_fetcher=no_fetch, media_type="print").render()
    log.debug("PDF report: %d pages", len(document.pages))
    with warnings.catch_warnings():
        # WeasyPrint 70 opens its sRGB profile for PDF/A without closing it (weasyprint/pdf/__init__.py);
        # only that one ResourceWarning is silenced, anything else still warns.
        warnings.filterwarnings("ignore", message=r"unclosed file .*sRGB2014\.icc", category=ResourceWarning)
        out: bytes = document.write_pdf(attachments=[attachment], pdf_variant=PDF_VARIANT)
    return out


def render_pdf(result: dict[str, Any], path: str) -> None:
    """Write the PDF report to `path`."""
    data = render_pdf_bytes(result)
    try:
        with open(path, "wb") as fh:
            fh.write(data)
    except OSError as e:
        raise InputError(f"cannot write: {e.strerror or e}", file=path) from None
