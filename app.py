"""OneDiffusion Studio: every OneDiffusion task in the browser, over one cached pipeline.

    python app.py                              # the published model, or the demo model offline
    python app.py --model ./my-checkpoint      # a local folder in the published layout
    ONEDIFFUSION_MODEL=owner/name python app.py --port 7861 --share

The model comes from --model, else $ONEDIFFUSION_MODEL, else lehduong/OneDiffusion. When it cannot be
loaded the app falls back to the bundled demo model and says so in a banner at the top of the page.
"""

from __future__ import annotations

import argparse
import logging
import os

from onediffusion.loading import PUBLISHED_MODEL
from ui import Settings, Studio, build_demo, launch_options
from ui.loader import DTYPES


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=os.environ.get("ONEDIFFUSION_MODEL") or PUBLISHED_MODEL,
                        help="hub id or local folder (default: $ONEDIFFUSION_MODEL or %(default)s)")  # fmt: skip
    parser.add_argument("--device", default=None, help="cuda, cuda:1, mps or cpu (default: the best available)")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default=None,
                        help="precision (default: bfloat16 on CUDA, float32 on CPU)")  # fmt: skip
    parser.add_argument("--offload", action="store_true", help="keep idle parts in CPU memory (less GPU memory)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        help="address to listen on; 0.0.0.0 to accept other machines (Docker, Spaces)")  # fmt: skip
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link (off by default)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    studio = Studio(Settings(model=args.model, device=args.device, dtype=args.dtype, offload=args.offload))
    info = studio.load()
    if info.is_fallback:
        print(f"\nCould not load {info.requested}: {info.fallback_reason}\nUsing the demo model: {info.description}\n")
    demo = build_demo(studio)
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, **launch_options())


if __name__ == "__main__":
    main()
