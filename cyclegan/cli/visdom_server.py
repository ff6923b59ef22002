"""Start a visdom server for watching training, bound to 127.0.0.1 unless asked otherwise.

`cyclegan-visdom --port 8097` serves visdom from the locally staged JavaScript/CSS assets and
never runs visdom's own CDN download step, so it works on machines without internet. Stage the
assets once with `bash scripts/stage_visdom_assets.sh` (it reads ASSETS below).
"""
import argparse
import os
import sys
from pathlib import Path

from cyclegan.cli import main_guard
from cyclegan.errors import UserError

DEFAULT_PORT = 8097
MATHJAX = "js/mathjax/2.7.5"

# (npm package@version, path inside the package tarball, target under visdom/static/).
# Targets are the names visdom's build.py download_scripts() writes; a trailing "/" copies a folder.
ASSETS = [
    ("jquery@3.1.1", "dist/jquery.min.js", "js/jquery.min.js"),
    ("bootstrap@3.3.7", "dist/js/bootstrap.min.js", "js/bootstrap.min.js"),
    ("bootstrap@3.3.7", "dist/css/bootstrap.min.css", "css/bootstrap.min.css"),
    ("bootstrap@3.3.7", "dist/fonts/glyphicons-halflings-regular.eot", "fonts/glyphicons-halflings-regular.eot"),
    ("bootstrap@3.3.7", "dist/fonts/glyphicons-halflings-regular.woff2", "fonts/glyphicons-halflings-regular.woff2"),
    ("bootstrap@3.3.7", "dist/fonts/glyphicons-halflings-regular.woff", "fonts/glyphicons-halflings-regular.woff"),
    ("bootstrap@3.3.7", "dist/fonts/glyphicons-halflings-regular.ttf", "fonts/glyphicons-halflings-regular.ttf"),
    ("bootstrap@3.3.7", "dist/fonts/glyphicons-halflings-regular.svg", "fonts/glyphicons-halflings-regular.svg"),
    # visdom's download check looks for this literal name (the URL fragment became part of it)
    ("bootstrap@3.3.7", "dist/fonts/glyphicons-halflings-regular.svg",
     "fonts/glyphicons-halflings-regular.svg#glyphicons_halflingsregular"),
    ("react@16.2.0", "umd/react.production.min.js", "js/react-react.min.js"),
    ("react-dom@16.2.0", "umd/react-dom.production.min.js", "js/react-dom.min.js"),
    ("react-modal@3.1.10", "dist/react-modal.min.js", "js/react-modal.min.js"),
    ("plotly.js-dist-min@2.11.1", "plotly.min.js", "js/plotly-plotly.min.js"),
    ("sjcl@1.0.7", "sjcl.js", "js/sjcl.js"),
    ("layout-bin-packer@1.4.0", "dist/layout-bin-packer.js.map", "js/layout-bin-packer.js.map"),
    ("layout-bin-packer@1.4.0", "dist/layout-bin-packer.js", "js/layout_bin_packer.js"),
    ("d3@3.5.17", "d3.min.js", "js/d3.v3.min.js"),
    ("d3-selection-multi@1.0.1", "build/d3-selection-multi.js", "js/d3-selection-multi.v1.js"),
    ("save-svg-as-png@1.4.17", "lib/saveSvgAsPng.js", "js/saveSvgAsPng.js"),
    ("react-resizable@1.4.6", "css/styles.css", "css/react-resizable-styles.css"),
    ("react-grid-layout@0.16.3", "css/styles.css", "css/react-grid-layout-styles.css"),
    ("classnames@2.2.5", "index.js", "fonts/classnames"),
    ("mathjax@2.7.5", "MathJax.js", f"{MATHJAX}/MathJax.js"),
    ("mathjax@2.7.5", "config/Safe.js", f"{MATHJAX}/config/Safe.js"),
    ("mathjax@2.7.5", "config/TeX-AMS-MML_HTMLorMML.js", f"{MATHJAX}/config/TeX-AMS-MML_HTMLorMML.js"),
    ("mathjax@2.7.5", "extensions/Safe.js", f"{MATHJAX}/extensions/Safe.js"),
    ("mathjax@2.7.5", "jax/input/TeX/", f"{MATHJAX}/jax/input/TeX/"),
    ("mathjax@2.7.5", "jax/element/", f"{MATHJAX}/jax/element/"),
    ("mathjax@2.7.5", "jax/output/SVG/", f"{MATHJAX}/jax/output/SVG/"),
]


def visdom_static_dir():
    """The installed visdom package's static/ folder (where the server serves files from)."""
    try:
        import visdom
    except ImportError as exc:
        raise UserError("visdom is not installed: run `pip install visdom` "
                        "(see docs/watching-training.md)") from exc
    return Path(visdom.__file__).resolve().parent / "static"


def visdom_version():
    import visdom
    return visdom.__version__


def missing_assets(static_dir=None):
    """Target files from ASSETS that are not staged, plus version.built if it is stale."""
    static_dir = Path(static_dir) if static_dir else visdom_static_dir()
    missing = [dst for _, _, dst in ASSETS if not (static_dir / dst.rstrip("/")).exists()]
    built = static_dir / "version.built"
    if not built.is_file() or built.read_text().strip() != visdom_version():
        missing.append("version.built")
    return missing


def print_manifest():
    """One asset per line, tab separated, for scripts/stage_visdom_assets.sh."""
    print(f"STATIC\t{visdom_static_dir()}\t{visdom_version()}")
    for spec, src, dst in ASSETS:
        print(f"{spec}\t{src}\t{dst}")


def build_parser():
    p = argparse.ArgumentParser(
        prog="cyclegan-visdom",
        description="Start a visdom server for the training display (127.0.0.1 only by default).")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to listen on (default 8097)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind; pass 0.0.0.0 explicitly to let other hosts connect")
    p.add_argument("--env_path", default=None,
                   help="folder where visdom saves environments (default: visdom's ~/.visdom/)")
    p.add_argument("--allow_missing_assets", action="store_true",
                   help="start even when the JS/CSS assets are not staged (the page will be blank)")
    p.add_argument("--manifest", action="store_true", help=argparse.SUPPRESS)
    return p


def serve(port, host="127.0.0.1", env_path=None):
    """Run visdom's tornado app on host:port; blocks until interrupted."""
    import logging

    from tornado import ioloop
    from visdom.server.app import Application
    from visdom.server.defaults import DEFAULT_ENV_PATH

    env_path = env_path or DEFAULT_ENV_PATH
    os.makedirs(env_path, exist_ok=True)
    logging.getLogger().setLevel(logging.WARNING)
    app = Application(port=port, base_url="", env_path=env_path, readonly=False,
                      user_credential=None, use_frontend_client_polling=False,
                      eager_data_loading=False)
    app.listen(port, address=host, max_buffer_size=1024 ** 3)
    shown = "localhost" if host in ("127.0.0.1", "localhost") else host
    print(f"visdom is running: open http://{shown}:{port}", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: bound to {host}; anyone who can reach this port can see and change "
              "the plots (visdom has no login here)", file=sys.stderr, flush=True)
    ioloop.IOLoop.current().start()


@main_guard
def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.manifest:
        print_manifest()
        return 0
    if not 1 <= args.port <= 65535:
        parser.error(f"--port {args.port}: must be between 1 and 65535")
    missing = missing_assets()
    if missing:
        msg = (f"visdom's page assets are not staged in {visdom_static_dir()} "
               f"({len(missing)} missing, e.g. {missing[0]}). Run `bash scripts/stage_visdom_assets.sh` "
               "(needs npm and access to the npm registry).")
        if not args.allow_missing_assets:
            raise UserError(msg + " Or pass --allow_missing_assets to serve the API only.")
        print("warning: " + msg, file=sys.stderr, flush=True)
    try:
        serve(args.port, args.host, args.env_path)
    except OSError as exc:
        raise UserError(f"cannot listen on {args.host}:{args.port}: {exc}") from exc
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
