"""Headless Chromium renders the digest's HTML at phone (375 px) and desktop (1000 px) widths:
a screenshot per width is saved under test-artifacts/, nothing overflows horizontally and every
section is visible, for the sample digest and for one full of hostile, long and right-to-left text.

The digest itself carries no script. A *test copy* gets a small measuring script before
``</body>`` that writes its findings into the DOM, which ``--dump-dom`` prints. The copy is
shown in an ``<iframe srcdoc>`` exactly ``width`` pixels wide (headless Chromium does not
lay out a ``--dump-dom`` window narrower than 500 px), as tall as needed so that no
scrollbar takes room; the screenshots are of the real digest in a window of that width.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html import escape
from pathlib import Path

import pytest

from digest_data import DEV_NOW, DEV_TZ, NOW, TZ, dev_corpus_store, hostile_store, sample_store
from offerwatch.daemon.digest.build import build_digest
from offerwatch.daemon.digest.render import render_html

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
SECTIONS = ("header", "attention", "signals", "quiet", "pipeline", "footer")
WIDTHS = (375, 1000)

MEASURE = """<script>
(function () {
  var r = {scrollWidth: document.documentElement.scrollWidth, bodyScrollWidth: document.body.scrollWidth,
           innerWidth: window.innerWidth, sections: {}, wide: [],
           height: Math.ceil(document.documentElement.getBoundingClientRect().height)};
  %s.forEach(function (id) {
    var e = document.getElementById(id);
    if (!e) { r.sections[id] = null; return; }
    var b = e.getBoundingClientRect(), cs = getComputedStyle(e);
    r.sections[id] = {left: b.left, right: b.right, width: b.width, height: b.height,
                      visible: b.width > 0 && b.height > 0 && cs.visibility !== 'hidden' && cs.display !== 'none'};
  });
  document.querySelectorAll('body *').forEach(function (e) {
    var b = e.getBoundingClientRect();
    if (b.width > 0 && (b.right > window.innerWidth + 0.5 || b.left < -0.5) && r.wide.length < 10)
      r.wide.push(e.tagName + (e.id ? '#' + e.id : '') + ' ' + Math.round(b.left) + '..' + Math.round(b.right));
  });
  var host = window.parent && window.parent !== window ? window.parent.document : document;
  var out = host.createElement('pre');
  out.id = 'offerwatch-measure';
  out.textContent = JSON.stringify(r);
  host.body.appendChild(out);
})();
</script>""" % json.dumps(list(SECTIONS))


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


def find_chromium() -> str:
    """The Chromium binary; skips the test where it is missing (fails in CI, which installs it)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not found:
        reason = "headless Chromium is not installed (Debian: apt-get install chromium)"
        if _in_ci():
            pytest.fail(reason + "; CI must install it: see .ci/run", pytrace=False)
        pytest.skip(reason)
    return found


@pytest.fixture(scope="module")
def chromium() -> str:
    return find_chromium()


def run_chromium(binary: str, profile: Path, width: int, url: str, *args: str) -> str:
    cmd = [
        binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-extensions", "--hide-scrollbars", f"--user-data-dir={profile}", f"--window-size={width},2000",
        *args, url,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, f"chromium failed ({proc.returncode}): {proc.stderr[-2000:]}"
    return proc.stdout


def measure(binary: str, tmp_path: Path, html: str, width: int) -> dict:
    copy = html.replace("</body>", MEASURE + "\n</body>")
    page = tmp_path / f"measure-{width}.html"
    page.write_text(
        '<!DOCTYPE html><html><body style="margin:0">'
        f'<iframe style="border:0;width:{width}px;height:40000px" srcdoc="{escape(copy, quote=True)}"></iframe>'
        "</body></html>",
        encoding="utf-8",
    )
    dom = run_chromium(binary, tmp_path / f"profile-m{width}", 1200, page.as_uri(), "--dump-dom")
    m = re.search(r'<pre id="offerwatch-measure">(.*?)</pre>', dom, re.S)
    assert m, f"the measuring script did not run: {dom[-500:]}"
    return json.loads(m.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"'))


def check_layout(result: dict, width: int) -> None:
    assert result["innerWidth"] == width, result
    assert result["scrollWidth"] <= result["innerWidth"], f"horizontal overflow at {width}px: {result}"
    assert result["wide"] == [], f"elements overflow at {width}px: {result['wide']}"
    for name in SECTIONS:
        box = result["sections"][name]
        assert box is not None, f"section {name} missing"
        assert box["visible"] and box["height"] >= 20, f"section {name} not visible at {width}px: {box}"
        assert box["left"] >= 0 and box["right"] <= width, f"section {name} cut off at {width}px: {box}"
    if width >= 650:  # the layout is 600 px wide at most
        assert result["sections"]["attention"]["width"] <= 600


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from conftest import DEV_CORPUS, need_folder

    store, _ = sample_store()
    sample = render_html(build_digest(store, now=NOW, tz=TZ))
    store.close()
    store, _ = hostile_store(many=500)
    hostile = render_html(build_digest(store, now=NOW, tz=TZ))
    store.close()
    store = dev_corpus_store(need_folder(DEV_CORPUS), tmp_path_factory.mktemp("dev"))
    dev = render_html(build_digest(store, now=DEV_NOW, tz=DEV_TZ))
    store.close()
    return {"digest": sample, "digest-hostile": hostile, "digest-dev": dev}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ["digest-dev", "digest", "digest-hostile"])
def test_renders_without_horizontal_overflow_and_every_section_visible(
    chromium: str, pages: dict[str, str], tmp_path: Path, name: str, width: int
) -> None:
    html = pages[name]
    assert "<script" not in html.lower()  # the real digest has none; only the test copy does
    check_layout(measure(chromium, tmp_path, html, width), width)
    # the screenshot, of the real digest (no measuring script), kept as an artefact
    ARTIFACTS.mkdir(exist_ok=True)
    page = tmp_path / f"{name}.html"
    page.write_text(html, encoding="utf-8")
    shot = ARTIFACTS / f"{name}-{width}.png"
    shot.unlink(missing_ok=True)
    run_chromium(chromium, tmp_path / f"profile-s{width}", width, page.as_uri(), f"--screenshot={shot}")
    assert shot.is_file() and shot.stat().st_size > 10_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_measurement_catches_an_overflow(chromium: str, pages: dict[str, str], tmp_path: Path) -> None:
    """The harness itself: a 700 px element in a copy of the digest is reported at 375 px."""
    broken = pages["digest"].replace('<td id="quiet"', '<td id="quiet"><div style="width:700px">wide</div>', 1)
    result = measure(chromium, tmp_path, broken, 375)
    assert result["innerWidth"] == 375 and result["scrollWidth"] > 375 and result["wide"]
