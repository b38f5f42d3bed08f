"""Native engine of oxdask (Rust). Keep this surface small: one call per graph, not per task."""

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Literal, Protocol, Self, TypeAlias, final

from typing_extensions import Buffer

_Key: TypeAlias = Hashable

__all__ = [
    "AdaptivePolicy",
    "Blockwise",
    "ClientConnection",
    "CycleError",
    "Frame",
    "Gather",
    "KeyEvent",
    "Progress",
    "Scheduler",
    "ShufflePeers",
    "ShuffleStore",
    "TreeReduce",
    "WireTasks",
    "borrowed_bytes",
    "buffer_pool",
    "buffer_pool_activate",
    "buffer_pool_drain",
    "buffer_pool_stats",
    "check_tls",
    "cull",
    "dashboard_asset",
    "dumps_plain",
    "encode_tasks",
    "get",
    "get_dependencies",
    "graph_tasks",
    "loads_plain",
    "order",
    "random_block",
    "rejoin",
    "run_nanny",
    "run_worker_blocking",
    "secede",
    "temporary_pki",
    "validate",
    "watch_transitions",
]

# TLS settings: (CA, certificate, key or None when in the certificate's PEM); each a file path
# or PEM text.
_Tls: TypeAlias = tuple[str, str, str | None]

class CycleError(RuntimeError):
    """The task graph has a cycle; the message lists its keys."""

@final
class Frame:
    """Received bytes exposed through the buffer protocol (writable, not copied)."""

    def __len__(self) -> int: ...

@final
class Progress:
    """Counters of one running computation, readable from another thread."""

    def __new__(cls) -> Self: ...
    @property
    def done(self) -> int:
        """Tasks finished so far (fused chains count once)."""
    @property
    def total(self) -> int:
        """Tasks in the computation after optimization; 0 until it starts."""

@final
class Blockwise:
    """A compact layer: ``(name, *block_index) -> func(*args, **kwargs)`` for every output block.

    ``args`` is a sequence of ``(value, ind)`` pairs: ``ind=None`` passes ``value`` unchanged;
    otherwise ``value`` is the name of a blocked input whose dimensions carry the integer labels
    ``ind`` and ``numblocks[value]`` blocks. Labels not in ``out_ind`` are contracted: the task
    receives a list of blocks (nested per contracted label). Inputs with one block along a label
    are broadcast. ``new_axes`` gives block counts of labels found in no input.
    """

    def __new__(
        cls,
        name: str,
        func: Callable[..., Any],
        out_ind: Sequence[int],
        args: Sequence[tuple[Any, Sequence[int] | None]],
        numblocks: Mapping[str, Sequence[int]],
        kwargs: Mapping[str, Any] | None = None,
        new_axes: Mapping[int, int] | None = None,
    ) -> Self: ...
    @property
    def name(self) -> str: ...
    @property
    def numblocks(self) -> list[int]:
        """Number of output blocks per output dimension."""
    def __len__(self) -> int:
        """Number of tasks the layer expands to."""

@final
class TreeReduce:
    """A compact layer reducing the blocks of ``input`` along ``axes`` in a tree.

    Level after level, ``combine`` receives nested lists (one nesting per reduced axis, in
    ``axes`` order) of at most ``split_every[i]`` blocks along ``axes[i]``; the last level calls
    ``aggregate`` instead. Intermediate keys are ``(f"{name}-partial{level}", *index)``; output
    keys are ``(name, *index)`` with the reduced axes dropped, or kept as a single block when
    ``keepdims``. Axes not reduced keep their blocks.

    ``inline`` (a ``Blockwise`` layer named ``input`` with ``numblocks`` blocks): the first
    level computes its input blocks itself, with that layer's function, instead of reading
    them from tasks of their own.
    """

    def __new__(
        cls,
        name: str,
        input: str,
        numblocks: Sequence[int],
        axes: Sequence[int],
        split_every: Sequence[int],
        combine: Callable[[list[Any]], Any],
        aggregate: Callable[[list[Any]], Any],
        keepdims: bool = False,
        inline: Blockwise | None = None,
    ) -> Self: ...
    @property
    def name(self) -> str: ...
    @property
    def numblocks(self) -> list[int]:
        """Number of output blocks per output dimension."""
    def __len__(self) -> int:
        """Number of tasks over all levels."""

@final
class Gather:
    """A compact layer assembling every output block from pieces of blocks of ``input``.

    ``sources[d][i]`` lists the input blocks along dimension ``d`` that output block ``i``
    (along ``d``) takes pieces of. Output block ``(i, j, ...)`` is
    ``func(blocks, pieces[0][i], pieces[1][j], ...)`` where ``blocks`` nests the input blocks
    ``sources[0][i] x sources[1][j] x ...``, one list level per dimension. Keys are
    ``(name, *index)``, without the dimensions in ``dropped`` (each must have one output
    block). Raises ``ValueError`` naming the block when a source is out of range.
    """

    def __new__(
        cls,
        name: str,
        input: str,
        in_numblocks: Sequence[int],
        sources: Sequence[Sequence[Sequence[int]]],
        func: Callable[..., Any],
        pieces: Sequence[Sequence[Any]],
        dropped: Sequence[int] | None = None,
    ) -> Self: ...
    @property
    def name(self) -> str: ...
    @property
    def numblocks(self) -> list[int]:
        """Number of output blocks per dimension of the keys."""
    def __len__(self) -> int:
        """Number of tasks."""

@final
class ShuffleStore:
    """The pieces of one engine shuffle between its cut and assemble tasks.

    Pieces stay Python objects up to ``memory_limit`` bytes; beyond, the output partition
    holding the most is pickled with the caller's ``dump`` into an unnamed temporary file in
    ``directory``. Pushing a piece for an (input, output) pair that has one replaces it.
    """

    def __new__(cls, npartitions: int, memory_limit: int, directory: str) -> Self: ...
    def push(
        self, input: int, output: int, piece: Any, nbytes: int, dump: Callable[[Any], bytes]
    ) -> None:
        """Add ``piece`` (of ``nbytes``) of input partition ``input`` for ``output``."""
    def take(self, output: int) -> list[tuple[int, Any, bool]]:
        """Output partition ``output``'s pieces in input order as ``(input, piece, pickled)``
        (``pickled``: the bytes ``dump`` made); the partition is empty afterwards."""
    @property
    def in_memory(self) -> int: ...
    @property
    def spilled(self) -> int: ...

@final
class ShufflePeers:
    """Given to a distributed worker's host at start-up: its tasks take shuffle pieces from
    other workers through it."""

    @property
    def address(self) -> str:
        """This worker's address."""
    @property
    def memory_limit(self) -> int:
        """The worker's memory limit in bytes (0: none)."""
    def take(
        self, addresses: list[str], shuffle: str, partition: int
    ) -> list[tuple[int, Frame, list[Frame]]]:
        """Output ``partition`` of ``shuffle`` from every worker in ``addresses`` (at once,
        the GIL released), as ``(input, pickle stream, buffers)``; they forget it.
        ``ConnectionError`` names every worker that failed."""
    def drop(self, addresses: list[str], shuffle: str) -> None:
        """Tell every worker in ``addresses`` to forget ``shuffle`` (does not wait)."""

def borrowed_bytes() -> int:
    """Bytes this process has copied straight from other processes' memory: the large buffers
    same-machine peers lent it instead of sending them through a socket."""

def buffer_pool(limit: int) -> bool:
    """Let NumPy arrays of 256 KiB and more reuse freed buffers of about their size, keeping
    at most ``limit`` bytes of them (freed after a second unused). Takes effect in the
    contexts of threads that call ``buffer_pool_activate`` (a worker's task threads). Returns
    False where unavailable (NumPy before 1.22, not Linux)."""

def buffer_pool_activate() -> bool:
    """Allocate NumPy arrays of the calling thread's context through the buffer pool (if
    installed; returns whether it is)."""

def buffer_pool_drain() -> None:
    """Free every buffer the pool keeps."""

def buffer_pool_stats() -> dict[str, int]:
    """``blocks`` and ``bytes`` kept, ``hits`` and ``misses`` of large requests."""

def random_block(
    key: int, starts: Sequence[int], stops: Sequence[int], shape: Sequence[int], uniform: bool
) -> Frame:
    """Block ``starts..stops`` of a chunking-independent random array of ``shape``: 8-byte
    mixed words (``uniform=False``) or uniform doubles in [0, 1), read with
    ``numpy.frombuffer``. ``ValueError`` names an axis whose bounds are wrong."""

def get(
    dsk: Mapping[_Key, Any],
    keys: Sequence[_Key],
    *,
    layers: Sequence[Blockwise | TreeReduce | Gather] | None = None,
    num_workers: int = 1,
    optimize: bool = True,
    fuse: bool = True,
    pretask: Callable[[_Key], None] | None = None,
    posttask: Callable[[_Key, Any], None] | None = None,
    progress: Progress | None = None,
    submit: Callable[[Callable[..., Any], tuple[Any, ...], dict[str, Any] | None], Any]
    | None = None,
) -> tuple[list[Any], dict[str, int]]:
    """Build, validate, cull (``optimize``), fuse (``fuse``), order and run a graph.

    ``keys`` is a flat list of wanted keys; results come back in the same order, with counters
    ``{"tasks", "graph_tasks", "peak_held"}``. ``num_workers`` threads run tasks (1: only the
    calling thread). ``submit``, if given, replaces every call ``func(*args, **kwargs)``.
    """

def order(dsk: Mapping[_Key, Any], keys: Sequence[_Key] | None = None) -> dict[_Key, int]:
    """Static execution priority of every task (lower first), as ``dask.order.order``."""

def get_dependencies(dsk: Mapping[_Key, Any]) -> dict[_Key, set[_Key]]:
    """The keys each task depends on."""

def cull(dsk: Mapping[_Key, Any], keys: Sequence[_Key]) -> dict[_Key, Any]:
    """The sub-graph needed for ``keys``."""

def validate(dsk: Mapping[_Key, Any], keys: Sequence[_Key] | None = None) -> None:
    """Raise on a cycle, a missing dependency, a bad key or a missing requested key."""

def graph_tasks(
    dsk: Mapping[_Key, Any],
    keys: Sequence[_Key],
    *,
    layers: Sequence[Blockwise | TreeReduce | Gather] | None = None,
    external: Sequence[_Key] = ...,
    share_large: bool = False,
) -> list[tuple[_Key, Any, list[_Key]]]:
    """``(key, task, dependency keys)`` of every task needed for ``keys``, compact layers
    expanded into plain task tuples. Cheap literal values are written into the rebuilt tasks
    that use them. ``external`` keys stand for data held elsewhere: never returned nor
    inlined, only depended on. ``share_large``: a literal of 64 KiB or more in rebuilt tasks
    (an in-memory array read by every block) becomes one task ``"literal-<token>"`` of its
    own, listed first, which the tasks using it depend on."""

@final
class Scheduler:
    """A distributed scheduler running on this process's IO threads."""

    def __new__(
        cls,
        host: str = "127.0.0.1",
        port: int = 0,
        dashboard_port: int | None = None,
        token: str | None = None,
        worker_saturation: float = 1.1,
        tls: _Tls | None = None,
        insecure: bool = False,
        allowed_failures: int = 3,
        extension: _SchedulerExtension | None = None,
    ) -> Self: ...
    @property
    def address(self) -> str:
        """``tcp://host:port`` for clients and workers."""
    @property
    def http_address(self) -> str | None:
        """``http://host:port`` of the JSON state endpoint (``/json/state``)."""
    @property
    def running(self) -> bool: ...
    def close(self) -> None:
        """Close every worker connection and stop listening."""

_SubmitOptions: TypeAlias = tuple[
    int,  # priority
    list[str] | None,  # worker restrictions
    bool,  # allow_other_workers
    list[tuple[str, float]],  # resources
    int,  # retries
]

@final
class WireTasks:
    """Tasks in their wire form, for :meth:`ClientConnection.submit` (which takes them)."""

    def __len__(self) -> int: ...

def encode_tasks(
    tasks: list[tuple[_Key, Any, list[_Key]]],
    head: Callable[[Callable[..., Any]], tuple[int, str]],
    dumps: Callable[[Any], tuple[int | None, bytes]],
    options: _SubmitOptions,
) -> WireTasks:
    """The wire form of ``(key, task, deps)`` triples. A task whose arguments are plain values
    and keys (None, bool, int, float, str, bytes, tuples and lists of them) is written here
    (payload tag ``N``); ``head(func)`` gives a head function's ``(id, name)``, once per
    function. Any other task goes through ``dumps(task) -> (function id, payload)``."""

def dumps_plain(obj: Any) -> bytes | None:
    """The ``N`` payload of ``obj``, or None when it holds anything but plain values."""

def loads_plain(payload: bytes) -> Any:
    """The value of an ``N`` payload; ValueError if it is malformed."""

@final
class KeyEvent:
    """A report about a key (or the connection)."""

    @property
    def kind(self) -> Literal["memory", "erred", "cancelled", "lost", "closed"]: ...
    @property
    def key(self) -> _Key | None: ...
    @property
    def nbytes(self) -> int | None: ...
    @property
    def type_name(self) -> str | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def reason(self) -> str | None: ...
    def exception(self) -> BaseException | None:
        """The exception an erred key raises."""

@final
class ClientConnection:
    """A client's connection to a scheduler (and, for data, to workers)."""

    def __new__(
        cls,
        address: str,
        token: str | None = None,
        timeout: float = 10.0,
        tls: _Tls | None = None,
    ) -> Self: ...
    def submit(
        self,
        tasks: WireTasks,
        wanted: list[_Key],
        functions: list[tuple[int, bytes]],
        released: list[_Key] = ...,
    ) -> None:
        """One frame: ``released`` keys first, then new functions, then the tasks."""
    def release(self, keys: list[_Key]) -> None: ...
    def cancel(self, keys: list[_Key]) -> None: ...
    def retry(self, keys: list[_Key]) -> None:
        """Run these erred keys again, with the erred dependencies behind them."""
    def scattered(self, worker: str, keys: list[tuple[_Key, int]]) -> None: ...
    def wait_events(self, timeout: float, pending: int = 1) -> bool:
        """Wait up to ``timeout`` seconds until reports are queued; whether some are. A thread
        waiting for many (``pending``) results takes them in bursts."""
    def listen_events(self, timeout: float) -> bool:
        """The event thread's ``wait_events``: woken only while no thread is ``waiting``."""
    def waiting(self, start: bool) -> None:
        """A thread starts or stops waiting for futures (it takes reports itself)."""
    def next_events(self, timeout: float) -> list[KeyEvent]:
        """Key reports received within ``timeout`` seconds."""
    def who_has(self, keys: list[_Key], timeout: float) -> list[tuple[_Key, list[str]]]: ...
    def info(self, timeout: float) -> str: ...
    def dashboard(self, path: str, timeout: float) -> str:
        """A dashboard view as JSON text (``"task-stream?since=0"``, ``"progress"``...)."""
    def memory(
        self,
        op: str,
        timeout: float,
        keys: list[_Key] | None = None,
        workers: list[str] | None = None,
        interval: float = 2.0,
    ) -> str:
        """Active memory management as JSON (``{"pending": n, "amm": running}``): ``op`` is
        ``"rebalance"``, ``"run_once"``, ``"start"``, ``"stop"`` or ``"status"``."""
    def why(self, key: _Key, timeout: float) -> str:
        """The scheduler's account of the task for ``key``."""
    def run(self, call: bytes, timeout: float) -> list[tuple[str, bytes, bool]]: ...
    def call(self, call: bytes, timeout: float) -> tuple[bytes, bool]:
        """Run a pickled call in the scheduler's process: ``(pickled result or error, ok)``."""
    def retire_workers(self, workers: list[str], timeout: float) -> None: ...
    def restart_workers(self, workers: list[str], timeout: float) -> None: ...
    def get_data(
        self, address: str, keys: list[_Key], timeout: float
    ) -> tuple[list[tuple[_Key, Frame, list[Frame]]], list[_Key]]: ...
    def put_data(
        self,
        address: str,
        values: list[tuple[_Key, Buffer, list[Buffer]]],
        timeout: float,
    ) -> None: ...
    def worker_ends(self, address: str, seconds: float) -> None:
        """Tell the scheduler that the worker at ``address`` ends in ``seconds``."""
    def close(self) -> None: ...

class _SchedulerExtension(Protocol):
    def call(self, client: int, data: bytes) -> tuple[bytes, bool]: ...
    def client_left(self, client: int) -> None: ...

class _WorkerHost(Protocol):
    def execute(
        self, key: _Key, payload: bytes, fid: int | None, fblob: bytes | None, dep_keys: list[_Key],
        values: list[Any], inline: bool,
    ) -> tuple[Any, int, str, bytes | None]: ...  # fmt: skip
    def serialize(self, value: Any) -> tuple[Buffer, list[Buffer]]: ...
    def deserialize(self, stream: Frame, buffers: list[Frame]) -> tuple[Any, int]: ...
    def dump_error(self, exc: BaseException) -> tuple[bytes, bytes, str]: ...
    def run(self, call: bytes) -> tuple[bytes, bool]: ...

@final
class AdaptivePolicy:
    """When to act on the scheduler's adaptive target: up at once, down after ``wait_count``
    checks and ``window`` seconds asking for fewer; scale-up paused after launch failures."""

    def __new__(
        cls, minimum: int, maximum: int, wait_count: int = 3, window: float = 0.0
    ) -> Self: ...
    def step(self, now: float, target: int, current: int) -> tuple[Any, ...]:
        """``("up", n)``, ``("down", n)``, ``("hold", None)`` or ``("paused", until, reason)``."""
    def launch_failed(self, now: float) -> None: ...
    def launched(self) -> None: ...

def watch_transitions(on: bool) -> None:
    """Ask this process's schedulers for every task transition (their extension's
    ``transitions(batch)``), or stop."""

def dashboard_asset(name: str) -> str | None:
    """The dashboard file ``name`` as served under ``/static/``."""

def run_nanny(
    command: list[str],
    scheduler: str,
    token: str | None = None,
    tls: _Tls | None = None,
    memory_limit: int = 0,
    terminate: float | None = None,
) -> int:
    """Run the worker ``command`` under a nanny until it closes normally; the exit code."""

def run_worker_blocking(
    scheduler: str,
    host: _WorkerHost,
    *,
    nthreads: int = 1,
    memory_limit: int = 0,
    memory: tuple[float | None, float | None, float | None, float | None] | None = None,
    local_directory: str | None = None,
    name: str | None = None,
    resources: list[tuple[str, float]] | None = None,
    listen: str | None = None,
    token: str | None = None,
    tls: _Tls | None = None,
) -> tuple[str, str]:
    """Run a worker until the scheduler closes it, Ctrl-C, or its memory passes the terminate
    threshold; returns ``(how, reason)``, ``how`` being ``"closed"``, ``"shutdown"`` or
    ``"memory"``. ``memory`` is ``(target, spill, pause, terminate)``, fractions of
    ``memory_limit`` or None (off)."""

def secede() -> None:
    """The task running on this thread leaves its worker's thread count (another task thread
    takes its place). ``ValueError`` outside a task running on a worker."""

def rejoin() -> None:
    """Wait (without the GIL) until the worker has a thread for this seceded task again (or
    stops). Nothing if the task did not secede."""

def temporary_pki() -> tuple[str, str, str]:
    """A new throw-away CA and a certificate it signed: ``(ca_pem, cert_pem, key_pem)``."""

def check_tls(ca: str, cert: str, key: str | None) -> None:
    """Raise ``OSError`` naming the file if TLS settings do not load."""
