"""semsearch's service layer: the FastAPI app (``service.app.create_app``), the CLI and the settings."""
