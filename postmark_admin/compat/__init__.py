"""Names that code written for other Postmark clients imports, over postmark_admin's own classes."""
