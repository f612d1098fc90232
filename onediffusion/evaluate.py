"""Alias kept for old commands: ``python -m onediffusion.evaluate`` runs ``python -m onediffusion.mini.evaluate``."""

import runpy

if __name__ == "__main__":
    runpy.run_module("onediffusion.mini.evaluate", run_name="__main__", alter_sys=True)
