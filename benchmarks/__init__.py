"""Speed and memory benchmarks for OneDiffusion: transformer step, whole pipeline, peak memory.

    python -m benchmarks.run --device cpu --sizes tiny,medium --cases t2i1024,cond512,mv4x512

Models are built in-process with random weights at the shapes of each size preset (timing does
not depend on weight values), so nothing is downloaded. See benchmarks/RESULTS.md.
"""
