"""The worker this process runs, if any: its scheduler and credentials (``get_client`` inside
a task reads them). A module of its own: ``oxdask.distributed.worker`` also runs as
``__main__`` in worker processes, where its globals are another module's."""

worker: dict = {}
