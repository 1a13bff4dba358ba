"""The customer portal (web UI) at /portal: server-rendered pages (Jinja2) and a small
vanilla script, over the same services as the APIs. See docs/portal.md."""
