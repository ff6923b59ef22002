"""Serving the demo with uvicorn until SIGINT or SIGTERM; the app's shutdown removes its temporary folder
(and, should uvicorn stop another way, the same cleanup runs when serve returns)."""
import signal
import sys

import uvicorn

from ..errors import UserError
from .app import LOOPBACK, create_app


def serve(config, port=7860, log_level="info", log=None):
    """Run the demo on config.host:port until stopped; returns 0 after a clean stop."""
    log = log or (lambda text: print(text, file=sys.stderr, flush=True))
    app = create_app(config, log)
    demo = app.state.demo
    models = demo.models()
    log(f"cyclegan-demo: http://{'[' + config.host + ']' if ':' in config.host else config.host}:{port}/ on "
        f"{demo.engine.device_label}; {len(models)} model(s) under {config.checkpoints_dir}; temporary folder "
        f"{demo.root}")
    if config.host not in LOOPBACK:
        log(f"cyclegan-demo: warning: listening on {config.host}: anyone who can reach this machine can run jobs "
            f"on it (the default, 127.0.0.1, allows only this machine)")
    server = uvicorn.Server(uvicorn.Config(app, host=config.host, port=port, log_level=log_level,
                                           timeout_graceful_shutdown=3, server_header=False))
    stops = []
    # uvicorn handles the signals while it serves and raises them again once it has shut down; these handlers
    # take that second delivery, so a stop by signal ends with status 0 instead of a traceback or a kill.
    previous = {s: signal.signal(s, lambda sig, frame: stops.append(sig)) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run()
    except SystemExit:
        if server.started:
            raise
        raise UserError(f"cannot listen on {config.host}:{port} (the line above says why); choose another --port "
                        f"or stop what holds it") from None
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        demo.close()
    if stops:
        log(f"cyclegan-demo: stopped by {signal.Signals(stops[0]).name}")
    return 0 if server.started else 1
