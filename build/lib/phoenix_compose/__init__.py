"""phoenix-compose: render, validate and run the Phoenix Hydra stack on Podman Compose."""

__version__ = "0.1.0"
