"""``Client(asynchronous=True)``: the blocking methods become awaitables.

The client's machinery is the same in both modes (a Rust connection and an event thread); in
asynchronous mode a blocking call runs in a worker thread of the event loop
(``asyncio.to_thread``), so ``await client.gather(futures)`` never blocks the loop.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

__all__ = ["awaitable_if_async"]


def awaitable_if_async(owner: Callable[[Any], Any]):
    """Decorate a blocking method: when ``owner(self).asynchronous`` it returns a coroutine."""

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            if getattr(owner(self), "asynchronous", False):
                return asyncio.to_thread(method, self, *args, **kwargs)
            return method(self, *args, **kwargs)

        return wrapper

    return decorate


#: for methods of the client itself
client_method = awaitable_if_async(lambda self: self)
#: for methods of objects holding a ``client`` (futures)
future_method = awaitable_if_async(lambda self: self.client)
