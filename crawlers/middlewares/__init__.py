"""Downloader middlewares: per-source access (UA, cookie, proxy) and polite retries."""
