"""``vidquant explore``'s page in a real (headless) Chromium, driven by selenium with key presses
on the sliders and the source picker."""

from __future__ import annotations

from pathlib import Path

import pytest

# The picture an <img> shows, read back through a canvas: width, height and a pixel checksum.
PIXELS_JS = """
const img = arguments[0];
const canvas = document.createElement("canvas");
canvas.width = img.naturalWidth;
canvas.height = img.naturalHeight;
const context = canvas.getContext("2d");
context.drawImage(img, 0, 0);
const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
let sum = 0;
for (let i = 0; i < data.length; i++) sum = (sum * 31 + data[i]) >>> 0;
return [canvas.width, canvas.height, sum];
"""


def wait_shown(driver, key: str) -> None:
    """Wait until the page shows ``"source|k|frame|method"`` (pictures and figures)."""
    from selenium.webdriver.support.ui import WebDriverWait

    def shown(d) -> bool:
        return d.execute_script("return document.body.dataset.shown") == key

    try:
        WebDriverWait(driver, 30, poll_frequency=0.05).until(shown)
    except Exception:
        state = driver.execute_script(
            "return [document.body.dataset.shown, document.getElementById('status').textContent]"
        )
        pytest.fail(f"the page never showed {key}: it shows {state}")


def press(driver, element_id: str, *keys: str) -> None:
    """Focus an element without clicking it (a click would move a slider) and press keys:
    real key events, so the page gets its input events as from a user."""
    from selenium.webdriver.common.action_chains import ActionChains

    driver.execute_script("document.getElementById(arguments[0]).focus()", element_id)
    ActionChains(driver).send_keys(*keys).perform()


def text(driver, element_id: str) -> str:
    return driver.find_element("id", element_id).text


def pixels(driver, element_id: str) -> list:
    return driver.execute_script(PIXELS_JS, driver.find_element("id", element_id))


def psnr(driver) -> float:
    return float(text(driver, "psnr").split()[0])


def test_page_k_slider_updates_picture_and_figures(browser, serve, photo: Path) -> None:
    from selenium.webdriver.common.keys import Keys

    explorer = serve(photo, k=8)
    browser.get(explorer.url)
    wait_shown(browser, "0|8|0|minibatch")
    assert text(browser, "k-value") == "8" and text(browser, "time-value") == "still image"
    assert not browser.find_element("id", "time").is_displayed()
    assert not browser.find_element("id", "source-picker").is_displayed()  # one source
    before = (psnr(browser), pixels(browser, "quantized"), text(browser, "size"))
    assert before[1][:2] == [160, 120] and text(browser, "colours").endswith("→ 8")

    press(browser, "k", *[Keys.ARROW_RIGHT] * 8)  # eight input events, k 9..16
    wait_shown(browser, "0|16|0|minibatch")
    assert text(browser, "k-value") == "16" and text(browser, "colours").endswith("→ 16")
    after = (psnr(browser), pixels(browser, "quantized"), text(browser, "size"))
    assert after[0] > before[0], (before, after)
    assert after[1] != before[1] and after[2] != before[2]

    press(browser, "k", Keys.HOME)
    wait_shown(browser, "0|2|0|minibatch")
    assert psnr(browser) < before[0] and text(browser, "colours").endswith("→ 2")
    assert pixels(browser, "original") == pixels(browser, "original")  # the original stays


def test_page_time_picker_and_method_on_a_video(browser, serve, clip: Path) -> None:
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    explorer = serve(clip, k=16)
    browser.get(explorer.url)
    wait_shown(browser, "0|16|0|minibatch")
    assert text(browser, "time-value") == "1 / 24 · 0.00 s"
    first = pixels(browser, "original")

    press(browser, "time", Keys.END)
    wait_shown(browser, "0|16|23|minibatch")
    assert text(browser, "time-value") == "24 / 24 · 1.92 s"
    assert pixels(browser, "original") != first
    assert "frame 24" in text(browser, "original-caption")
    assert "the video stream's mean per frame" in text(browser, "source-size")

    browser.find_element("id", "prev-frame").click()
    wait_shown(browser, "0|16|22|minibatch")
    Select(browser.find_element("id", "method")).select_by_value("mediancut")
    wait_shown(browser, "0|16|22|mediancut")
    assert "mediancut" in text(browser, "quantized-caption")


def test_page_source_picker(browser, serve, photo: Path, second: Path, truncated: Path) -> None:
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait

    explorer = serve([photo, second, truncated], k=8)
    browser.get(explorer.url)
    wait_shown(browser, "0|8|0|minibatch")
    assert browser.find_element("id", "source-picker").is_displayed()
    assert text(browser, "source-value") == "1 / 3" and text(browser, "name") == "photo.png"
    before = (pixels(browser, "original"), text(browser, "colours").split("→")[0])

    Select(browser.find_element("id", "source")).select_by_visible_text("second.png")
    wait_shown(browser, "1|8|0|minibatch")
    assert text(browser, "source-value") == "2 / 3" and text(browser, "name") == "second.png"
    original = pixels(browser, "original")
    assert original[:2] == [120, 90] and original != before[0]
    assert text(browser, "colours").split("→")[0] != before[1]
    quantized = pixels(browser, "quantized")

    press(browser, "k", *[Keys.ARROW_RIGHT] * 4)
    wait_shown(browser, "1|12|0|minibatch")
    assert pixels(browser, "quantized") != quantized and text(browser, "colours").endswith("→ 12")
    assert pixels(browser, "original") == original

    # a file that cannot be read: its error on the page, and the others still work
    browser.find_element("id", "next-source").click()
    WebDriverWait(browser, 30).until(lambda d: d.find_element("id", "source-error").is_displayed())
    assert "image file is truncated" in text(browser, "source-error")
    assert not browser.find_element("id", "pictures").is_displayed()
    assert text(browser, "psnr") == "–" and browser.find_element("id", "next-source").get_property(
        "disabled"
    )
    browser.find_element("id", "prev-source").click()
    wait_shown(browser, "1|12|0|minibatch")
    assert not browser.find_element("id", "source-error").is_displayed()
