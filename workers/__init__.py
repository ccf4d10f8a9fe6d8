"""Celery workers: the app configured from the console's Settings, the job runtime and tasks."""
