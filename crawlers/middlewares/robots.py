"""Scrapy's robots.txt middleware, with the rules given to every request that waited for them.

Scrapy 2.19's ``RobotsTxtMiddleware.robot_parser`` has every request to a host whose
robots.txt is still being fetched await one ``Deferred``. The first waiter's callback returns
None, so the Deferred hands None ("no rules") to the rest, and they are let through: the pages
of a new host asked together (a source's ``urls``, the due pages of a feed) were fetched
though robots.txt disallowed them (4 of 6 in a test), whatever ``ROBOTSTXT_OBEY`` said. Once
the Deferred has fired, the middleware's own table holds the host's rules (None when
robots.txt could not be fetched: everything allowed, as Scrapy decides), and that is what each
waiter is given here. A subclass, not a copy: the fetch, the parser and the counting stay
Scrapy's.
"""

from __future__ import annotations

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.http import Request
from scrapy.robotstxt import RobotParser
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred


class EveryWaiterRobotsTxtMiddleware(RobotsTxtMiddleware):
    async def robot_parser(self, request: Request) -> RobotParser | None:
        parser = await super().robot_parser(request)
        settled = getattr(self, "_parsers", {}).get(urlparse_cached(request).netloc, parser)
        return parser if isinstance(settled, Deferred) else settled
