"""Share one source's crawl between worker processes through Redis (``KOUBEI_SCHEDULER=redis``).

scrapy-redis's scheduler keys its queue and dupe filter by spider name, which here is the
*platform*: two sources of one platform would share a queue, and with ``SCHEDULER_PERSIST`` the
fingerprints of yesterday's run would filter every start request of today's. This scheduler keys
both by source and run id (``koubei:crawl:<source>:<run_id>:...``), so the workers of one run
share them and the next run starts clean.

A landing file is the commit point of a worker (a killed crawl leaves only a ``.part``), so a
request popped from the shared queue is also recorded, atomically, in the worker's
``processing:<worker>`` set, and forgotten only once the worker has closed with reason
``finished`` and its landing file is written. A worker restarted under the same
``KOUBEI_WORKER`` after a crash first puts its predecessor's requests back into the queue: it
re-fetches what the dead process had taken and rewrites the same landing file, so every item
lands exactly once.

A worker whose queue is empty keeps polling for ``KOUBEI_REDIS_IDLE_S`` seconds before closing,
since other workers may still add requests (Scrapy polls a scheduler that reports pending
requests every 5 s).

A worker killed and never restarted must not take its requests with it. Each live worker holds
a lease, ``alive:<worker>``, renewed while Scrapy polls it and expiring ``KOUBEI_REDIS_LEASE_S``
seconds (default 30) after its process died. A worker whose queue ran dry marks itself
``done:<worker>`` and stays open while another worker that is not done still holds taken
requests; once that worker's lease has expired it puts them back into the queue, atomically,
and fetches them itself. Their items land in its file: the dead worker's ``.part`` never did.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

import redis
from scrapy.crawler import Crawler
from scrapy.http import Request
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.misc import load_object
from scrapy.utils.request import request_from_dict
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.scheduler import Scheduler

from koubei.crawlers.health import STAT_PREFIX
from koubei.errors import KoubeiError

DEFAULT_IDLE_S = 10.0
DEFAULT_LEASE_S = 30.0  # well above Scrapy's 5 s polling of a live worker's scheduler
DEFAULT_TTL_S = 7 * 24 * 3600  # a finished run's keys linger this long, then Redis drops them

# Fingerprint and enqueue in one step: a worker killed between the two must not leave a request
# that counts as seen but is in no queue.
_ENQUEUE = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
  return 1
end
return 0
"""
# Pop the best request and note it as taken by this worker, in one step.
_POP = """
local top = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #top == 0 then return false end
redis.call('ZREM', KEYS[1], top[1])
redis.call('ZADD', KEYS[2], top[2], top[1])
return top[1]
"""


DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
SCHEDULERS = ("local", "redis")


class RedisUnavailable(KoubeiError):
    """``KOUBEI_SCHEDULER``/``REDIS_URL`` are invalid, or Redis does not answer."""


class RunKeysLost(redis.RedisError):
    """Redis answers, but the run's keys are gone: handled as Redis stopping mid-crawl."""


def check_shared_queue(
    settings: Mapping[str, Any], environ: Mapping[str, str] = os.environ
) -> None:
    """Before any crawler process starts: the scheduler variables are valid and Redis answers.

    Without this, a typo in ``KOUBEI_SCHEDULER`` crawled with a private queue in every process
    (each page fetched once per worker), and an unreachable or malformed ``REDIS_URL`` failed
    inside Scrapy's engine start, which swallows it: the crawl reported ``empty``, exit 0.

    Raises
    ------
    RedisUnavailable
        Naming the variable, its value (credentials hidden) and what to fix.
    """
    mode = environ.get("KOUBEI_SCHEDULER", "").strip() or "local"
    if mode not in SCHEDULERS:
        raise RedisUnavailable(
            f"KOUBEI_SCHEDULER={environ['KOUBEI_SCHEDULER']!r}: expected 'redis' (share the "
            "source's queue through REDIS_URL) or unset/'local'"
        )
    scheduler = settings.get("SCHEDULER")
    if mode != "redis" or (scheduler and scheduler != f"{__name__}.RedisScheduler"):
        return
    if environ.get("KOUBEI_REDIS_URL") and not environ.get("REDIS_URL"):
        # The name koubei's other variables would suggest; read nowhere, it crawled against
        # the default Redis (or refused it as down) with the intended URL silently unused.
        raise RedisUnavailable(
            "KOUBEI_REDIS_URL is set but not read: Redis's URL is REDIS_URL "
            "(export REDIS_URL=redis://host:6379/0 and unset KOUBEI_REDIS_URL)"
        )
    for name, default, least in (
        ("KOUBEI_REDIS_IDLE_S", DEFAULT_IDLE_S, 0),
        ("KOUBEI_REDIS_LEASE_S", DEFAULT_LEASE_S, 1),
    ):
        value = str(settings.get(name, environ.get(name, default)))
        try:
            seconds = float(value)
        except ValueError:
            seconds = float("nan")
        if not seconds >= least:  # also NaN
            raise RedisUnavailable(
                f"{name}={value!r}: expected seconds (a number, {least} or more)"
            )
    url = str(settings.get("REDIS_URL") or environ.get("REDIS_URL") or DEFAULT_REDIS_URL)
    shown, secret = _hide_credentials(url)
    if re.search(r"[/?#]", secret):
        # urllib ends the host at the first '/', '?' or '#': the password's rest was read as the
        # database or the port, and shown in the message, the password with it.
        raise RedisUnavailable(
            f"REDIS_URL={shown!r}: its credentials hold '/', '?' or '#', which end the host "
            "part of a URL; percent-encode them (%2F, %3F, %23)"
        )
    database = re.match(r"^rediss?://[^/]*(?:/(.*))?$", url)
    if database and database.group(1) and not database.group(1).isdigit():
        raise RedisUnavailable(
            f"REDIS_URL={shown!r}: database {database.group(1)!r} is not a number "
            "(redis://host:6379/0)"
        )
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
    except ValueError as exc:
        raise RedisUnavailable(
            f"REDIS_URL={shown!r}: {_scrub(str(exc), secret)} (e.g. redis://127.0.0.1:6379/0)"
        ) from None
    try:
        client.ping()
    except redis.AuthenticationError as exc:
        # It answered, and refused the credentials: "does not answer ... start redis-server"
        # sent the operator to start a server that was running.
        raise RedisUnavailable(
            f"REDIS_URL={shown!r}: Redis answered but refused its credentials "
            f"({_scrub(str(exc), secret)}); put the password it requires in REDIS_URL "
            "(redis://:PASSWORD@host:6379/0, or redis://USER:PASSWORD@... for an ACL user)"
        ) from None
    except redis.RedisError as exc:
        raise RedisUnavailable(
            f"REDIS_URL={shown!r}: Redis does not answer ({_scrub(str(exc), secret)}); "
            "start redis-server or fix REDIS_URL, or unset KOUBEI_SCHEDULER to crawl with one "
            "process"
        ) from None
    finally:
        client.close()


def _hide_credentials(url: str) -> tuple[str, str]:
    """``url`` as shown in messages, everything between ``//`` and the *last* ``@`` hidden, and
    what was hidden. Hiding up to the first ``@`` (or only when no ``/`` came before it) showed
    the rest of a password holding ``@`` or ``/``."""
    match = re.match(r"^([a-z][a-z0-9+.-]*://)(.*)@", url, re.IGNORECASE | re.DOTALL)
    if match is None:
        return url, ""
    return f"{match.group(1)}***@{url[match.end() :]}", match.group(2)


def _scrub(text: str, secret: str) -> str:
    """``text`` without the credentials or any piece of them (a parser's message may quote
    the part of a password it took for a port). A user name shorter than 6 characters is
    left: an ACL user ``user`` made Redis's "invalid username-password pair or user is
    disabled" read "invalid ***name-password pair or *** is disabled"."""
    user, _, password = secret.partition(":")
    pieces = {secret, *re.split(r"[:/?#@]", password)}
    if len(user) >= 6:
        pieces |= set(re.split(r"[/?#@]", user))
    for piece in sorted(pieces, key=len, reverse=True):
        if len(piece) >= 2:
            text = text.replace(piece, "***")
    return text


# Put back the requests of a worker whose lease expired (its process died), in one step: two
# survivors must not both take them, and a live worker's requests are never taken, nor those of
# one that had run dry (``done``) and closed.
_RECLAIM_EXPIRED = """
if redis.call('EXISTS', KEYS[3]) == 1 or redis.call('EXISTS', KEYS[4]) == 1 then return 0 end
local count = redis.call('ZCARD', KEYS[2])
if count > 0 then
  redis.call('ZUNIONSTORE', KEYS[1], 2, KEYS[1], KEYS[2], 'AGGREGATE', 'MIN')
  redis.call('DEL', KEYS[2])
end
return count
"""


def run_key(source: str, run_id: str) -> str:
    """The Redis key prefix shared by every worker of one source's run."""
    return f"koubei:crawl:{source}:{run_id}"


class RedisScheduler(Scheduler):
    """scrapy-redis's scheduler, keyed per source and run, with crash-safe pops."""

    crawler: Crawler
    worker: str
    idle_s: float
    lease_s: float
    ttl_s: int
    # Why Redis was given up on for this crawl (None while it answers): every later call
    # returns at once instead of failing again inside Scrapy's engine loop.
    redis_error: str | None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedisScheduler:
        instance: RedisScheduler = super().from_crawler(crawler)
        settings = crawler.settings
        instance.crawler = crawler
        instance.worker = str(settings.get("KOUBEI_WORKER") or "0")
        instance.idle_s = settings.getfloat("KOUBEI_REDIS_IDLE_S", DEFAULT_IDLE_S)
        instance.lease_s = settings.getfloat("KOUBEI_REDIS_LEASE_S", DEFAULT_LEASE_S)
        instance.ttl_s = settings.getint("KOUBEI_REDIS_TTL_S", DEFAULT_TTL_S)
        instance.redis_error = None
        return instance

    def open(self, spider: Any) -> None:
        self.spider = spider
        prefix = run_key(spider.source.name, spider.run_id)
        # The queue class %-formats its key with the spider name; escape a literal '%'.
        self.queue = load_object(self.queue_cls)(
            server=self.server,
            spider=spider,
            key=f"{prefix}:requests".replace("%", "%%"),
            serializer=self.serializer,
        )
        debug = spider.settings.getbool("DUPEFILTER_DEBUG")
        self.df = RFPDupeFilter(self.server, key=f"{prefix}:dupefilter", debug=debug)
        self.prefix = prefix
        self.processing_key = f"{prefix}:processing:{self.worker}"
        self._enqueue = self.server.register_script(_ENQUEUE)
        self._pop = self.server.register_script(_POP)
        self._reclaim_expired = self.server.register_script(_RECLAIM_EXPIRED)
        # The run's token: the first worker sets it, every worker keeps it. Redis restarted
        # without its data (no persistence) drops it with the queue, the dupe filter and the
        # taken requests; the workers then saw an empty queue and finished "ok", their queued
        # pages never fetched and the crawl state saved past them.
        self.run_token_key = f"{prefix}:run"
        self.renewed, self.last_busy = 0.0, time.monotonic()
        try:
            reclaimed = self._open_run()
        except (redis.ResponseError, UnicodeDecodeError) as exc:
            # A run key of the wrong kind (WRONGTYPE) or a token that is no text: this raised
            # out of Scrapy's start-up, a traceback and `closed_shutdown`, naming no key.
            self._redis_lost(exc, opening=True)
            return
        if reclaimed:
            self._inc("scheduler/reclaimed/redis", reclaimed)
        spider.logger.info(
            "redis scheduler key=%s worker=%s queued=%d reclaimed=%d",
            prefix,
            self.worker,
            len(self.queue),
            reclaimed,
        )

    def _open_run(self) -> int:
        """Join the run (its token, this worker's lease) and put back what this worker's
        previous process took; returns how many."""
        self.server.set(self.run_token_key, uuid.uuid4().hex, nx=True)
        token = self.server.get(self.run_token_key)
        self.run_token = token.decode() if isinstance(token, bytes) else str(token)
        self.renew_lease()
        self.server.delete(f"{self.prefix}:done:{self.worker}")
        if self.flush_on_start:
            self.flush()
        return self.reclaim()

    def reclaim(self) -> int:
        """Put back the requests a previous process of this worker took; returns how many."""
        pipe = self.server.pipeline(transaction=True)
        pipe.zcard(self.processing_key)
        pipe.zunionstore(self.queue.key, [self.queue.key, self.processing_key], aggregate="MIN")
        pipe.delete(self.processing_key)
        count, _, _ = pipe.execute()
        return int(count)

    def renew_lease(self) -> None:
        """Keep ``alive:<worker>`` for ``lease_s``; renewed a few times per lease, not per call.

        Each renewal also checks that the run's keys are still there (:meth:`check_run`).
        """
        now = time.monotonic()
        if now - self.renewed >= self.lease_s / 3:
            self.server.set(f"{self.prefix}:alive:{self.worker}", 1, px=int(self.lease_s * 1000))
            self.check_run()
            self.renewed = now

    def check_run(self) -> None:
        """Raise :class:`RunKeysLost` if the run's token is gone or another one replaced it."""
        token = self.server.get(self.run_token_key)
        token = token.decode() if isinstance(token, bytes) else token
        if token != self.run_token:
            raise RunKeysLost(
                "the run's keys are gone from Redis (restarted without its data, or flushed): "
                "its queue, dupe filter and taken requests are lost"
            )

    def reclaim_expired(self) -> int:
        """Put back the taken requests of every worker whose lease expired; returns how many."""
        count = 0
        for key in self._other_processing_keys():
            worker = key.rsplit(":", 1)[1]
            alive, done = f"{self.prefix}:alive:{worker}", f"{self.prefix}:done:{worker}"
            count += int(self._reclaim_expired(keys=[self.queue.key, key, alive, done]))
        if count:
            self._inc("scheduler/reclaimed/redis", count)
            self.spider.logger.warning(
                "redis scheduler worker=%s put back %d request(s) of a worker whose lease expired",
                self.worker,
                count,
            )
        return count

    def _other_processing_keys(self) -> list[str]:
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", self.prefix) + ":processing:*"
        keys = self.server.scan_iter(match=pattern, count=1000)
        names = [k.decode() if isinstance(k, bytes) else str(k) for k in keys]
        return [k for k in names if k != self.processing_key]

    def _others_in_flight(self) -> bool:
        """Another worker, not done, holds taken requests (working, or dead with a live lease)."""
        for key in self._other_processing_keys():
            worker = key.rsplit(":", 1)[1]
            if not self.server.exists(f"{self.prefix}:done:{worker}") and self.server.zcard(key):
                return True
        return False

    def close(self, reason: str) -> None:
        try:
            self._close(reason)
        except redis.RedisError as exc:  # the run's keys expire or are reclaimed later
            self.spider.logger.warning("redis scheduler: keys not tidied at close (%s)", exc)

    def _close(self, reason: str) -> None:
        assert self.crawler.stats is not None
        landed = self.crawler.stats.get_value(f"{STAT_PREFIX}landing_file")
        if reason == "finished" and landed:
            self.server.delete(self.processing_key)  # this worker's items are in its landing file
        self.server.delete(f"{self.prefix}:alive:{self.worker}")
        if not self.persist:
            self.flush()
            self.server.expire(self.run_token_key, self.ttl_s)
            return
        for key in (self.queue.key, self.df.key, self.processing_key, self.run_token_key):
            self.server.expire(key, self.ttl_s)
        self.server.expire(f"{self.prefix}:done:{self.worker}", self.ttl_s)

    def flush(self) -> None:
        self.df.clear()
        self.queue.clear()
        self.server.delete(self.processing_key)

    # Redis stopping mid-crawl: the errors surfaced inside Scrapy's engine loop, which logged
    # them and kept polling, so the crawl hung until the runner killed it after 30 minutes and
    # nothing it had fetched landed. Now the crawl closes at once: what it fetched lands, the
    # crawl state is kept (as for a lost page), and the health says why.
    def enqueue_request(self, request: Request) -> bool:
        if self.redis_error:
            return False
        try:
            return self._enqueue_request(request)
        except redis.RedisError as exc:
            self._redis_lost(exc)
            return False

    def next_request(self) -> Request | None:
        if self.redis_error:
            return None
        try:
            return self._next_request()
        except redis.RedisError as exc:
            self._redis_lost(exc)
            return None

    def has_pending_requests(self) -> bool:
        if self.redis_error:
            return False
        try:
            return self._has_pending_requests()
        except redis.RedisError as exc:
            self._redis_lost(exc)
            return False

    def _redis_lost(self, exc: Exception, *, opening: bool = False) -> None:
        if self.redis_error:
            return
        self.redis_error = str(exc)
        lost = isinstance(exc, RunKeysLost)
        # A key of the run holding another kind of value (a hand edit, another program's key
        # under this name): Redis answers, so "stopped answering" sent the operator to the server.
        damaged = isinstance(exc, UnicodeDecodeError) or "WRONGTYPE" in str(exc)
        kind = "redis_data_lost" if lost else "redis_damaged" if damaged else "redis_unavailable"
        self._inc(f"{STAT_PREFIX}errors/{kind}")
        self.spider.pages_lost = getattr(self.spider, "pages_lost", 0) + 1
        self.spider.logger.error(
            "redis scheduler worker=%s: %s (%s); closing this crawl, "
            "what it fetched lands and its crawl state is kept",
            self.worker,
            "Redis lost this run's keys"
            if lost
            else f"a key of this run ({self.prefix}:*) holds a value of another kind: delete "
            f"the run's keys (redis-cli --scan --pattern '{self.prefix}:*' | xargs redis-cli "
            "del) or crawl with another --run-id"
            if damaged
            else "Redis stopped answering",
            exc,
        )
        if opening:  # the engine is not running yet: it finds no request and closes
            return
        engine = self.crawler.engine
        assert engine is not None
        deferred_from_coro(engine.close_spider_async(reason="redis_unavailable"))

    def _enqueue_request(self, request: Request) -> bool:
        # The bytes scrapy-redis's queue writes (its own encoder is private), made from
        # Scrapy's public request dict and the queue's serializer (picklecompat unless set),
        # so a queue entry either of them wrote reads the same
        data = self.queue.serializer.dumps(request.to_dict(spider=self.spider))
        score = -request.priority
        if request.dont_filter:
            self.server.execute_command("ZADD", self.queue.key, score, data)
        else:
            fingerprint = self.df.request_fingerprint(request)
            if not self._enqueue(
                keys=[self.df.key, self.queue.key], args=[fingerprint, score, data]
            ):
                self.df.log(request, self.spider)
                return False
        self._inc("scheduler/enqueued/redis")
        return True

    def _next_request(self) -> Request | None:
        self.renew_lease()
        request = None
        while request is None:
            data = self._pop(keys=[self.queue.key, self.processing_key])
            if data is None and self.reclaim_expired():
                data = self._pop(keys=[self.queue.key, self.processing_key])
            if data is None:
                self.check_run()  # an empty queue: drained, or lost with the run's keys
                return None
            request = self._decode(data)
        if self.last_busy < 0:  # it had marked itself done; work came back
            self.server.delete(f"{self.prefix}:done:{self.worker}")
        self.last_busy = time.monotonic()
        self._inc("scheduler/dequeued/redis")
        return request

    def _decode(self, data: bytes) -> Request | None:
        """The request ``data`` holds, or None for a queue entry that holds none (garbage, a
        value cut short, another program's): it raised out of the scheduler into Scrapy's
        engine, a traceback each time. Named and dropped; counted as a lost page, so the crawl
        state is kept and the next run fetches again whatever it was."""
        try:
            request: Request = request_from_dict(
                self.queue.serializer.loads(data), spider=self.spider
            )
        except Exception as exc:  # unpickling foreign bytes raises anything
            self.server.zrem(self.processing_key, data)
            self._inc(f"{STAT_PREFIX}errors/redis_bad_request")
            self.spider.pages_lost = getattr(self.spider, "pages_lost", 0) + 1
            self.spider.logger.error(
                "redis scheduler worker=%s: an entry of %s is no request (%d bytes, %r...: "
                "%s: %s); dropped, the crawl state is kept",
                self.worker,
                self.queue.key,
                len(data),
                data[:40],
                type(exc).__name__,
                str(exc)[:200],
            )
            return None
        return request

    def _has_pending_requests(self) -> bool:
        # Other workers may still add requests: an empty queue means "done" only after a while,
        # and only once no other worker that is not done holds taken requests (it may die, and
        # its requests come back here when its lease expires).
        self.renew_lease()
        if len(self.queue) > 0:
            return True
        self.check_run()
        if self.last_busy >= 0 and time.monotonic() - self.last_busy < self.idle_s:
            return True
        if self.last_busy >= 0:
            self.server.set(f"{self.prefix}:done:{self.worker}", 1)
            self.last_busy = -1.0
        return self._others_in_flight()

    def _inc(self, key: str, count: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(key, count)
