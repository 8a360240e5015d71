"""Send and receive Postmark email from Django, configured at run time in the admin."""

__version__ = "0.1.0.dev0"
