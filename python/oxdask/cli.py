"""The ``oxdask`` command line: ``oxdask scheduler``, ``oxdask worker ADDRESS`` and
``oxdask config``."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

__all__ = ["main"]


def _terminate_as_interrupt(*_args) -> None:
    raise KeyboardInterrupt


def scheduler_main(argv: list[str]) -> int:
    """``oxdask scheduler [--host --port --dashboard-port --tls-* ...]``: print the address,
    serve."""
    from oxdask import _core, config
    from oxdask.distributed import _deploy_flags, security
    from oxdask.distributed._scheduler_ext import SchedulerExtension

    p = argparse.ArgumentParser(prog="oxdask scheduler", description="Start an oxdask scheduler.")
    p.add_argument("--host", default=None, help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8786)
    p.add_argument("--dashboard-port", type=int, default=8787)
    p.add_argument("--dashboard-address", default=None, help="':PORT' of the dashboard (:8787)")
    p.add_argument("--no-dashboard", action="store_true", help="no dashboard")
    p.add_argument(
        "--scheduler-file", default=None, help="write the address to this JSON file (for clients)"
    )
    _deploy_flags.add_scheduler(p)
    security.add_cli_arguments(p)
    args = p.parse_args(argv)
    dash = None if args.no_dashboard else args.dashboard_port
    if args.dashboard_address is not None and not args.no_dashboard:
        from oxdask.distributed.cluster import _dashboard_port

        try:
            dash = _dashboard_port(args.dashboard_address)
        except ValueError as e:
            print(f"oxdask scheduler: {e}", file=sys.stderr)
            return 1
    try:
        tls, token = security.from_cli(args)
        _deploy_flags.check_protocol(args.protocol, tls is not None)
        host = _deploy_flags.listen_host(args, "127.0.0.1")
        idle_timeout = _deploy_flags.duration(args.idle_timeout, "--idle-timeout")
        sched = _core.Scheduler(
            host,
            args.port,
            dash,
            token,
            tls=tls,
            insecure=args.insecure,
            allowed_failures=int(config.get("distributed.scheduler.allowed-failures", 3)),
            extension=(extension := SchedulerExtension()),
        )
        extension.set_connection(sched.address, token, tls)
    except (OSError, ValueError) as e:
        print(f"oxdask scheduler: {e}", file=sys.stderr)
        return 1
    print(f"Scheduler at: {sched.address}", flush=True)
    if args.scheduler_file:
        import json

        tmp = args.scheduler_file + ".tmp"
        with open(tmp, "w") as f:  # written whole, then renamed: readers never see half
            json.dump({"address": sched.address, "type": "Scheduler"}, f)
        os.replace(tmp, args.scheduler_file)
    if sched.http_address:
        print(f"Dashboard at: {sched.http_address}/status", flush=True)
    idle = None
    if idle_timeout is not None:
        idle = _deploy_flags.IdleWatch(idle_timeout, sched.address, token, tls)
    signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        while True:
            time.sleep(0.2)
            if idle is not None and idle.expired():
                print(f"Scheduler closing after being idle for {args.idle_timeout}", flush=True)
                break
    except KeyboardInterrupt:
        pass
    finally:
        sched.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``oxdask`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(
            "usage: oxdask {scheduler,worker,config} [options]   "
            "(oxdask COMMAND --help for details)"
        )
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "scheduler":
        return scheduler_main(rest)
    if command == "worker":
        from oxdask.distributed.worker import main as worker_main

        signal.signal(signal.SIGTERM, _terminate_as_interrupt)
        code = worker_main(rest)
        from oxdask.distributed.worker import _exit

        _exit(code)  # the process ends here, without finalizing (see _exit)
    if command == "config":
        from oxdask._config_cli import main as config_main

        return config_main(rest)
    expected = "expected 'scheduler', 'worker' or 'config'"
    print(f"oxdask: unknown command {command!r} ({expected})", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
