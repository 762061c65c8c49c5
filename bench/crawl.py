"""Crawl throughput with every koubei pipeline on, against a bare Scrapy spider.

``python -m bench crawl [--quick]``. A fixture site serves N shop reviews (JD comment API shape,
10 per page, ``N/250`` products). The measured run is the real ``shop_json`` source through
``crawl_sources`` (parsing, time parsing, brand matching, Document validation, de-dup, landing
JSONL with atomic rename, incremental state, health). The baseline is a bare spider fetching the
same page URLs and only decoding the JSON, in the same run with the same Scrapy settings. Both
use Scrapy's own ``elapsed_time_seconds`` (process start-up excluded); the ratio is
items/s(full) ÷ items/s(bare), the median over rounds that pair the two back to back. Target
≥ 0.7. Items per CPU-second of the crawler process is printed too: on a shared, loaded machine
it is steadier than wall time.

``python -m bench crawl --charset`` times instead the check a page labelled GBK or Big5 gets
(:func:`~koubei.crawlers.spiders._body.chinese_label_lies`: is the label the other family's?)
against one decode of the same body under its label, in the same run: a page of about 540 KB
built from the committed crawled passages (``tests/crawlers/spiders/pages/charset_passages.txt``)
in GBK and in Big5.
"""

from __future__ import annotations

import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

PAGE_SIZE = 10
# Shared by both runs, so the ratio measures koubei's work, not Scrapy tuning (CONCURRENT_ITEMS
# is koubei's default; Scrapy's 100 costs the bare spider 100 asyncio tasks per response).
SETTINGS: dict[str, Any] = {
    "CONCURRENT_ITEMS": 4,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "ROBOTSTXT_OBEY": False,
    "LOG_LEVEL": "WARNING",
}


def make_pages(items: int) -> tuple[dict[tuple[str, int], bytes], list[str]]:
    """Page bodies keyed by (product id, page), newest first, and the product ids."""
    per_product = 250 if items >= 2500 else 100
    products = [str(200000 + i) for i in range(max(1, items // per_product))]
    t0 = datetime(2026, 11, 24, 12, 0)
    pages: dict[tuple[str, int], bytes] = {}
    n_pages = per_product // PAGE_SIZE
    for p_index, product in enumerate(products):
        for page in range(n_pages):
            comments = []
            for k in range(PAGE_SIZE):
                seq = page * PAGE_SIZE + k
                comments.append(
                    {
                        "id": 10**9 + p_index * 10**5 + seq,
                        "content": f"鲜牧纯牛奶第{seq}次回购，口感醇厚，物流很快，包装完好",
                        "creationTime": (t0 - timedelta(minutes=seq)).strftime("%Y-%m-%d %H:%M:%S"),
                        "score": 5 - seq % 5,
                        "nickname": f"j***{seq % 10}",
                        "referenceId": product,
                        "referenceName": "鲜牧 纯牛奶 250ml*12盒",
                        "usefulVoteCount": seq % 7,
                        "replies": [],
                    }
                )
            body = {"maxPage": n_pages, "productCommentSummary": {}, "comments": comments}
            pages[(product, page)] = json.dumps(body, ensure_ascii=False).encode()
    return pages, products


def serve(pages: dict[tuple[str, int], bytes]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            q = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            body = pages.get((q.get("productId", ""), int(q.get("page", 0))), b'{"comments":[]}')
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def bare_worker(url_file: str, out_file: str) -> int:
    """Subprocess body: fetch every URL with a spider that only decodes JSON."""
    import scrapy
    from scrapy.crawler import CrawlerProcess

    urls = Path(url_file).read_text().split()

    class BareSpider(scrapy.Spider):
        name = "bare"

        async def start(self) -> AsyncIterator[Any]:
            for url in urls:
                yield scrapy.Request(url)

        def parse(self, response: Any, **kwargs: Any) -> Any:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("bare/items", len(json.loads(response.text)["comments"]))

    process = CrawlerProcess(
        {**SETTINGS, "TELNETCONSOLE_ENABLED": False, "REMOTE_CONTROL_ENABLED": False}
    )
    crawler = process.create_crawler(BareSpider)
    process.crawl(crawler)
    cpu_started = time.process_time()
    process.start()
    cpu = time.process_time() - cpu_started
    assert crawler.stats is not None
    stats = crawler.stats.get_stats()
    Path(out_file).write_text(
        json.dumps(
            {
                "items": stats.get("bare/items", 0),
                "elapsed": stats["elapsed_time_seconds"],
                "cpu": cpu,
            }
        )
    )
    return 0


def run_bare(urls: list[str], tmp: Path) -> tuple[int, float, float]:
    url_file, out_file = tmp / "urls.txt", tmp / "bare.json"
    url_file.write_text("\n".join(urls))
    subprocess.run(
        [sys.executable, "-m", "bench.crawl", "--bare-worker", str(url_file), str(out_file)],
        check=True,
        stderr=subprocess.DEVNULL,
    )
    result = json.loads(out_file.read_text())
    return int(result["items"]), float(result["elapsed"]), float(result["cpu"])


def run_full(base_url: str, products: list[str], tmp: Path, n: int) -> tuple[int, float, float]:
    from koubei.config import BrandsConfig, Source
    from koubei.crawlers.runner import crawl_sources

    os.environ["KOUBEI_HOME"] = str(tmp / f"home{n}")  # fresh state: every item is new
    brands = BrandsConfig.model_validate({"brands": [{"name": "鲜牧", "exclude": ["鲜牧场"]}]})
    source = Source(
        name="bench",
        platform="shop_json",
        base_url=base_url,
        product_ids=products,
        max_pages=1000,
        concurrency_per_domain=8,
        obey_robots=False,
    )
    [report] = crawl_sources([source], brands, run_id="bench", settings=SETTINGS)
    if report.status != "ok":
        raise RuntimeError(f"bench crawl not ok: {report}")
    return report.items, float(report.stats["elapsed_s"]), float(report.stats["cpu_s"])


PASSAGES = (
    Path(__file__).resolve().parent.parent / "tests/crawlers/spiders/pages/charset_passages.txt"
)


def charset_check() -> int:
    """Time ``chinese_label_lies`` against one decode under the label (medians of 30 pairs)."""
    from koubei.cjk_charset import gb_or_big5
    from koubei.crawlers.spiders._body import chinese_label_lies

    lines = PASSAGES.read_text(encoding="utf-8").splitlines()
    rows = [line.split("\t", 1) for line in lines if line and not line.startswith("#")]
    for script, label, codec in (("simp", "gbk", "gbk"), ("trad", "big5", "big5hkscs")):
        text = "".join(f"<p>{t}</p>" for s, t in rows if s == script)
        body = ("<html><body>" + text * (540_000 // len(text.encode(codec)) + 1)).encode(codec)
        gb_or_big5(body)  # the common characters' set is built once per process, not timed
        # Back to back, 30 times, so the shared machine's load falls on both alike.
        pairs = [
            (
                _seconds(functools.partial(chinese_label_lies, body, label)),
                _seconds(functools.partial(body.decode, codec)),
            )
            for _ in range(30)
        ]
        check = statistics.median(c for c, _ in pairs)
        decode = statistics.median(d for _, d in pairs)
        print(
            f"{label} page of {len(body) / 1000:.0f} KB: label check {check * 1000:.2f} ms, "
            f"one decode {decode * 1000:.2f} ms, ratio {check / decode:.1f}"
        )
    return 0


def _seconds(call: Any) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    if argv[:1] == ["--bare-worker"]:
        return bare_worker(argv[1], argv[2])
    if "--charset" in argv:
        return charset_check()
    quick = "--quick" in argv
    items, rounds = (500, 1) if quick else (5000, 5)
    pages, products = make_pages(items)
    server = serve(pages)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    from koubei.crawlers.spiders.shop_json import ShopJsonSpider

    spider = ShopJsonSpider.__new__(ShopJsonSpider)
    spider.source = type("S", (), {"base_url": base})()  # only page_url's base is needed
    urls = [spider.page_url(product, page) for (product, page) in pages]
    full_rates, bare_rates, ratios, cpu_ratios = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="koubei-bench-") as tmp:
        for n in range(rounds):  # alternate so machine noise hits both alike
            bare_items, bare_s, bare_cpu = run_bare(urls, Path(tmp))
            full_items, full_s, full_cpu = run_full(base, products, Path(tmp), n)
            cpu_ratios.append((full_items / full_cpu) / (bare_items / bare_cpu))
            bare_rates.append(bare_items / bare_s)
            full_rates.append(full_items / full_s)
            ratios.append(full_rates[-1] / bare_rates[-1])
            print(
                f"round {n + 1}: bare {bare_items} items in {bare_s:.2f}s "
                f"({bare_rates[-1]:.0f}/s); full {full_items} items in {full_s:.2f}s "
                f"({full_rates[-1]:.0f}/s); ratio {ratios[-1]:.2f}; CPU s bare {bare_cpu:.2f} "
                f"full {full_cpu:.2f} (ratio {cpu_ratios[-1]:.2f})",
                flush=True,
            )
    server.shutdown()
    full, bare = statistics.median(full_rates), statistics.median(bare_rates)
    # Each round pairs a bare and a full run back to back; the median of the paired ratios
    # is robust to the load of a shared machine drifting between rounds.
    ratio = statistics.median(ratios)
    print(
        f"items: {items}  full pipeline: {full:.0f} items/s  bare spider: {bare:.0f} items/s "
        f"(medians)  ratio: {ratio:.2f} (median of paired rounds; target >= 0.7)  "
        f"items per CPU-second ratio: {statistics.median(cpu_ratios):.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
