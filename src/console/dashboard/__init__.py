"""The Flet dashboard, mounted inside the FastAPI app."""
