"""Alias kept for old commands: ``python -m onediffusion.training`` runs ``python -m onediffusion.mini.training``."""

import runpy

if __name__ == "__main__":
    runpy.run_module("onediffusion.mini.training", run_name="__main__", alter_sys=True)
