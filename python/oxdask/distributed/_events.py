"""Structured events kept by the scheduler: ``Client.log_event``/``get_events`` and
``subscribe_topic``/``unsubscribe_topic`` (mixed into ``Client``), ``get_worker().log_event``.

The events live in the scheduler's process (``Client._call_scheduler``), per topic, the last
``distributed.admin.low-level-log-length`` of each. A subscribed client runs one thread that
asks the scheduler for events newer than the last it saw, the call waiting there until one
comes (or a second passes), so handlers run moments after an event is logged.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import inspect
import itertools
import pickle
import threading
import time
from typing import Any

from oxdask.distributed._async import client_method

__all__ = ["ClientEvents"]

#: Seconds one wait for new events lasts in the scheduler before the subscriber asks again.
POLL_SECONDS = 1.0


# -- in the scheduler ---------------------------------------------------------------------------
class _Broker:
    def __init__(self, maxlen: int) -> None:
        self.topics: dict[str, collections.deque] = {}
        self.maxlen = maxlen
        self.seq = itertools.count(1)
        self.last = 0


def _broker(ctx) -> _Broker:
    broker = ctx.state.get("events")
    if broker is None:
        from oxdask import config

        maxlen = int(config.get("distributed.admin.low-level-log-length", 1000) or 1000)
        broker = ctx.state["events"] = _Broker(maxlen)
    return broker


def _publish(ctx, topics: list[str], msg: Any) -> None:
    event = (time.time(), msg)
    with ctx.condition:
        broker = _broker(ctx)
        for name in topics:
            seq = broker.last = next(broker.seq)
            queue = broker.topics.get(name)
            if queue is None:
                queue = broker.topics[name] = collections.deque(maxlen=broker.maxlen)
            queue.append((seq, event))
        ctx.condition.notify_all()


def _events(ctx, topic: str | None):
    with ctx.condition:
        broker = _broker(ctx)
        if topic is not None:
            return tuple(e for _, e in broker.topics.get(topic, ()))
        return {name: tuple(e for _, e in q) for name, q in broker.topics.items() if q}


def _last_seq(ctx) -> int:
    with ctx.condition:
        return _broker(ctx).last


def _wait_events(ctx, topics: list[str], since: int, timeout: float) -> tuple[int, list]:
    """``(last event number, [(topic, event), ...])``: the events of ``topics`` after
    number ``since``, waiting up to ``timeout`` seconds for one."""
    deadline = time.monotonic() + timeout
    with ctx.condition:
        broker = _broker(ctx)
        while True:
            found = [
                (seq, name, event)
                for name in topics
                for seq, event in broker.topics.get(name, ())
                if seq > since
            ]
            left = deadline - time.monotonic()
            if found or left <= 0:
                found.sort(key=lambda item: item[0])
                return broker.last, [(name, event) for _, name, event in found]
            ctx.condition.wait(left)


# -- in the client ------------------------------------------------------------------------------
def _topics(topic) -> list[str]:
    if isinstance(topic, str):
        return [topic]
    if isinstance(topic, list | tuple | set) and topic and all(isinstance(t, str) for t in topic):
        return list(topic)
    raise TypeError(f"topic must be a string or a list of strings, not {topic!r}")


class _Subscriber:
    """One client's thread delivering the events of its subscribed topics to handlers."""

    def __init__(self, client, topic: str, handler) -> None:
        self.client = client
        self.handlers: dict[str, Any] = {topic: handler}
        self.lock = threading.Lock()
        self.since = client._call_scheduler(_last_seq, _context=True)
        self.thread = threading.Thread(target=self._loop, name="oxdask-events", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        client = self.client
        while True:
            with self.lock:  # stop (and unregister) only with no handler left
                if not self.handlers or client._closed or client._lost:
                    if client.__dict__.get("_event_subscriber") is self:
                        del client._event_subscriber
                    return
                topics = list(self.handlers)
            try:
                self.since, events = client._call_scheduler(
                    _wait_events, topics, self.since, POLL_SECONDS,
                    _context=True, _timeout=POLL_SECONDS + 30,
                )  # fmt: skip
            except Exception:  # the scheduler is busy or going: ask again shortly
                time.sleep(0.2)
                continue
            for topic, event in events:
                handler = self.handlers.get(topic)
                if handler is None:
                    continue
                with contextlib.suppress(Exception):  # a handler must not end delivery
                    result = handler(event)
                    if inspect.isawaitable(result):
                        asyncio.run(_awaited(result))


async def _awaited(result):
    return await result


class ClientEvents:
    """``Client`` methods for the scheduler's structured events."""

    @client_method
    def log_event(self, topic, msg) -> None:
        """Record ``msg`` (any picklable value) under ``topic`` (a name or a list of names)
        at the scheduler, with the time."""
        topics = _topics(topic)
        try:
            pickle.dumps(msg, protocol=5)
        except Exception as e:
            raise TypeError(f"Message must be picklable. Got {type(msg)=} instead: {e}") from e
        self._call_scheduler(_publish, topics, msg, _context=True)

    @client_method
    def get_events(self, topic: str | None = None):
        """The events of ``topic`` as ``((timestamp, msg), ...)``, oldest first; without a
        topic, ``{topic: events}`` of every topic that has some."""
        if topic is not None and not isinstance(topic, str):
            raise TypeError(f"topic must be a string or None, not {topic!r}")
        return self._call_scheduler(_events, topic, _context=True)

    def subscribe_topic(self, topic: str, handler) -> None:
        """Call ``handler((timestamp, msg))`` (a function or coroutine function) for every
        event logged under ``topic`` from now on, on a thread of this client."""
        if not isinstance(topic, str):
            raise TypeError(f"topic must be a string, not {topic!r}")
        if not callable(handler):
            raise TypeError(f"handler must be callable, not {handler!r}")
        subscriber = self.__dict__.get("_event_subscriber")
        if subscriber is not None:
            with subscriber.lock:
                if self.__dict__.get("_event_subscriber") is subscriber:
                    subscriber.handlers[topic] = handler
                    return
        self._event_subscriber = _Subscriber(self, topic, handler)

    def unsubscribe_topic(self, topic: str) -> None:
        """Stop calling the handler of ``topic`` (``ValueError`` if there is none)."""
        subscriber = self.__dict__.get("_event_subscriber")
        if subscriber is None or topic not in subscriber.handlers:
            raise ValueError(f"No event handler known for topic {topic}.")
        with subscriber.lock:
            subscriber.handlers.pop(topic, None)
