"""One module per page family; each exports ``routes`` (Starlette routes), which
``monitor.web.app`` mounts in order."""
