"""From Postmark's POST to a stored event and a signal: views, auth, normalization, inbound, storage."""
