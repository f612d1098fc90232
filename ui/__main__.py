"""``python -m ui [flags]``: the app, as ``onediffusion-studio`` and ``python app.py`` start it."""

from ui.cli import main

if __name__ == "__main__":
    main()
