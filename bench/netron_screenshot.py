#!/usr/bin/env python3
"""Netron's first view of a model, as a 1400x900 screenshot (for bench/readability_bench.py
--netron): Netron's web app from the `netron` package, the file chosen through its file
input, shot once its graph is drawn. Run with a Python that has netron and playwright:
    ../peer-venv/bin/python bench/netron_screenshot.py MODEL OUT.png"""
import http.server
import os
import socketserver
import sys
import threading
import time

import netron
from playwright.sync_api import sync_playwright

SITE = os.path.dirname(netron.__file__)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--enable-unsafe-swiftshader"]


class Quiet(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **k):
        super().__init__(*a, directory=SITE, **k)

    def log_message(self, *a):
        pass


def main(model, out, timeout=300):
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        page = b.new_page(viewport={"width": 1400, "height": 900})
        page.on("dialog", lambda d: d.accept())   # the 'large graph' question: go on
        page.goto(f"http://127.0.0.1:{srv.server_address[1]}/index.html")
        page.wait_for_selector("#open-file-dialog", state="attached", timeout=60000)
        try:   # the telemetry notice holds the page until answered
            page.get_by_text("Accept").first.click(timeout=8000)
        except Exception:
            pass
        page.set_input_files("#open-file-dialog", model)
        t = time.time()
        while time.time() - t < timeout:
            if page.locator("#canvas .node").count() > 0 and "spinner" not in (page.get_attribute("body", "class") or ""):
                break
            time.sleep(0.1)
        time.sleep(0.5)
        page.screenshot(path=out)
        b.close()
    srv.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
