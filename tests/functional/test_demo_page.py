"""The demo page in a real headless browser (Debian's chromium + chromedriver, driven by selenium) against
`python -m local.serve`: a photo dropped in, every face boxed on it, each face's best match listed, and the
boxes found in a screenshot by their colour."""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.demo import demo_url
from tests.conftest import ANNA, ANNA_SMILING, BEN, photo, side_by_side
from tests.functional.serve_process import KEY_ID, SECRET, Served, serve

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / ".cache" / "demo-page.png"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")
BOX = (0x00, 0xFF, 0x66)  # demo.js's colour of a searched face's box

selenium = pytest.importorskip("selenium", reason="selenium (requirements-dev.txt) is not installed")
pytestmark = pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                reason="no headless browser: apt-get install chromium chromium-driver (.ci/run does)")


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serve() as running:
        client = running.client()
        client.create_collection(CollectionId="demo")
        for name, external in ((ANNA, "anna"), (BEN, "ben")):
            client.index_faces(CollectionId="demo", Image={"Bytes": photo(name)}, ExternalImageId=external)
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM  # type: ignore[assignment]
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1400,1000", "--force-device-scale-factor=1"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def wait_for_status(driver, text: str, timeout: float = 60) -> str:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(lambda d: text in d.find_element(By.ID, "status").text)
    return str(driver.find_element(By.ID, "status").text)


def box_pixel_share(screenshot: Path, canvas: dict, box: dict, inset: float) -> float:
    """The share of pixels of the box colour along the box's top and left edges (inset 0) or on a line
    `inset` of the box inside them (the face itself)."""
    from PIL import Image

    image = Image.open(screenshot).convert("RGB")
    left = canvas["x"] + (box["Left"] + inset * box["Width"]) * canvas["width"]
    top = canvas["y"] + (box["Top"] + inset * box["Height"]) * canvas["height"]
    width, height = box["Width"] * canvas["width"], box["Height"] * canvas["height"]
    steps = [t / 40 for t in range(4, 36)]  # along each edge, away from the corners and the number label
    points = [(left + width * t, top) for t in steps] + [(left, top + height * t) for t in steps]

    def is_box(x: float, y: float) -> bool:
        near = [image.getpixel((round(x) + dx, round(y) + dy)) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
        return any(all(abs(c - e) <= 40 for c, e in zip(pixel, BOX, strict=True)) for pixel in near)  # type: ignore[arg-type]

    return sum(is_box(x, y) for x, y in points) / len(points)


def test_a_dropped_photo_shows_every_face_boxed_with_its_best_match(served, browser, tmp_path):
    from selenium.webdriver.common.by import By

    group = tmp_path / "group.jpg"
    group.write_bytes(side_by_side(ANNA_SMILING, BEN))
    browser.get(demo_url(served.url, KEY_ID, SECRET, "us-east-1") + "&collection=demo")
    wait_for_status(browser, "collections")
    assert "#" not in browser.current_url  # the keys leave the address bar once read
    browser.find_element(By.ID, "file").send_keys(str(group))
    assert wait_for_status(browser, "searched in demo") == "2 faces searched in demo"

    faces = browser.find_elements(By.CSS_SELECTOR, "#faces li.face")
    best = [face.find_element(By.CSS_SELECTOR, "tr.match").text for face in faces]
    result = browser.execute_script("return window.demo.lastResult")
    lefts = [face["BoundingBox"]["Left"] for face in result["SearchedFaces"]]
    by_position = [text for _, text in sorted(zip(lefts, best, strict=True))]
    assert by_position[0].startswith("anna ") and by_position[1].startswith("ben ")
    assert all(float(text.split()[1]) >= 80 for text in best)
    attributes = [face.find_element(By.CSS_SELECTOR, ".attributes").text for face in faces]
    assert all("age " in text and "yaw " in text for text in attributes)  # Attributes=ALL, shown per face

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOT))
    canvas = browser.execute_script(
        "const r = document.getElementById('canvas').getBoundingClientRect();"
        "return {x: r.left, y: r.top, width: r.width, height: r.height};")
    for face in result["SearchedFaces"]:
        assert box_pixel_share(SCREENSHOT, canvas, face["BoundingBox"], inset=0) > 0.8  # the box is drawn...
        assert box_pixel_share(SCREENSHOT, canvas, face["BoundingBox"], inset=0.3) < 0.1  # ...around the face


def test_a_wrong_secret_is_refused_by_the_service_and_shown(served, browser):
    browser.get("about:blank")  # a new fragment alone would not reload the page
    browser.get(demo_url(served.url, KEY_ID, "not-the-secret", "us-east-1"))
    assert "InvalidSignatureException" in wait_for_status(browser, "Exception")


def test_make_serve_prints_the_pages_link(served):
    assert demo_url(served.url, KEY_ID, SECRET, "us-east-1") in served.banner


def test_the_page_is_static_and_holds_no_keys(served):
    with urllib.request.urlopen(served.url + "/demo", timeout=10) as page:
        html = page.read().decode()
        assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert KEY_ID not in html and SECRET not in html
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(served.url + "/demo/../.cache/dev-keys.json", timeout=10)
    assert missing.value.code in (400, 404)
    request = urllib.request.Request(served.url + "/", data=b"{}", method="POST",
                                     headers={"X-Amz-Target": "RekognitionService.ListCollections",
                                              "Content-Type": "application/x-amz-json-1.1"})
    with pytest.raises(urllib.error.HTTPError) as unsigned:
        urllib.request.urlopen(request, timeout=10)
    assert unsigned.value.code == 400 and b"MissingAuthenticationTokenException" in unsigned.value.read()
