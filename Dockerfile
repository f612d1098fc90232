# OneDiffusion Studio as a Hugging Face Docker Space, or on any machine with an NVIDIA GPU:
#   docker build -t onediffusion-studio .
#   docker run --gpus all -p 7860:7860 onediffusion-studio            # then open http://localhost:7860
#   docker run --gpus all -p 7860:7860 -e ONEDIFFUSION_MODEL=/models/mine -v /data/mine:/models/mine onediffusion-studio
# Mount a volume on /home/user/.cache to keep downloaded weights between runs.

# The CUDA runtime itself comes with the PyTorch wheels; the base image brings the driver hooks.
FROM nvidia/cuda:12.8.1-base-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# Spaces run containers as uid 1000, which Ubuntu's stock 'ubuntu' user holds: it makes way for ours.
RUN (userdel -r ubuntu 2>/dev/null || true) && useradd --create-home --uid 1000 user
USER user
ENV HOME=/home/user \
    VIRTUAL_ENV=/home/user/venv \
    PATH=/home/user/venv/bin:$PATH \
    HF_HOME=/home/user/.cache/huggingface \
    GRADIO_SERVER_NAME=0.0.0.0 \
    GRADIO_SERVER_PORT=7860 \
    GRADIO_ANALYTICS_ENABLED=False
WORKDIR /home/user/app

RUN python3 -m venv "$VIRTUAL_ENV"
COPY --chown=user requirements.txt .
RUN pip install -r requirements.txt
COPY --chown=user . .

EXPOSE 7860
CMD ["python", "app.py"]
