"""OneDiffusion Studio: every OneDiffusion task in the browser. ``python app.py --help`` lists the flags.

The same launcher as the installed ``onediffusion-studio`` command and ``python -m ui`` (ui/cli.py).
"""

from ui.cli import main

if __name__ == "__main__":
    main()
